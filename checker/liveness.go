package checker

import (
	"fmt"
	"strings"
)

// LivenessResult says whether the service recovered after its last fault healed.
type LivenessResult struct {
	OK     bool
	Reason string // in plain words, when not OK
	// Late are the operations judged late (stuck or slow), in history order, for pages
	// that mark them.
	Late []Op
}

// livenessReasonsMax bounds how many late operations a reason lists (it says how many more).
const livenessReasonsMax = 5

// CheckLiveness checks recovery after the last fault healed at healAt (virtual ns), within
// bound (virtual ns):
//   - a leader must have been elected within bound: leaderSeenAfterHeal (the first time a
//     leader was seen at or after healAt; -1 if none) must be in [healAt, healAt+bound];
//   - every operation outstanding at healAt (called at or before it) must have completed by
//     healAt+bound;
//   - every operation called after healAt and before healAt+bound must have completed within
//     bound of its call. One of these still pending is not judged: the history cannot tell
//     whether the run lasted long enough for it, so the caller should stop issuing calls at
//     healAt or run until at least healAt+2*bound.
//
// The run must have lasted until at least healAt+bound. Operations called at or after
// healAt+bound are not judged.
func CheckLiveness(history []Op, healAt, bound, leaderSeenAfterHeal int64) LivenessResult {
	if bound < 0 {
		panic(fmt.Sprintf("checker: CheckLiveness with negative bound %d", bound))
	}
	if leaderSeenAfterHeal != -1 && leaderSeenAfterHeal < healAt {
		panic(fmt.Sprintf("checker: CheckLiveness: leader seen at %s, before the heal at %s; pass the first leader seen at or after the heal, or -1",
			formatNs(leaderSeenAfterHeal), formatNs(healAt)))
	}
	deadline := healAt + bound
	var problems []string
	if leaderSeenAfterHeal == -1 {
		problems = append(problems, fmt.Sprintf("no leader was elected after the last fault healed at %s", formatNs(healAt)))
	} else if leaderSeenAfterHeal > deadline {
		problems = append(problems, fmt.Sprintf("the first leader after the last fault healed at %s was elected at %s, later than the bound of %s",
			formatNs(healAt), formatNs(leaderSeenAfterHeal), formatNs(bound)))
	}

	var late []string
	var lateOps []Op
	lateCount := 0
	for _, op := range history {
		if op.Call >= deadline {
			continue
		}
		var lateness string
		if op.Call <= healAt {
			switch {
			case op.Pending:
				lateness = fmt.Sprintf("was outstanding when the last fault healed at %s and never completed (due by %s)", formatNs(healAt), formatNs(deadline))
			case op.Return > deadline:
				lateness = fmt.Sprintf("was outstanding when the last fault healed at %s and completed only at %s (due by %s)", formatNs(healAt), formatNs(op.Return), formatNs(deadline))
			}
		} else if !op.Pending && op.Return-op.Call > bound {
			lateness = fmt.Sprintf("was called after the last fault healed and took %s, more than the bound of %s", formatNs(op.Return-op.Call), formatNs(bound))
		}
		if lateness == "" {
			continue
		}
		lateCount++
		lateOps = append(lateOps, op)
		if len(late) < livenessReasonsMax {
			late = append(late, describeOp(op, formatNs)+": "+lateness)
		}
	}
	if lateCount > 0 {
		noun := "operations"
		if lateCount == 1 {
			noun = "operation"
		}
		s := fmt.Sprintf("%d %s did not complete in time after the last fault healed: %s", lateCount, noun, strings.Join(late, "; "))
		if lateCount > len(late) {
			s += fmt.Sprintf("; and %d more", lateCount-len(late))
		}
		problems = append(problems, s)
	}
	if len(problems) == 0 {
		return LivenessResult{OK: true}
	}
	return LivenessResult{Reason: "liveness: " + strings.Join(problems, "; "), Late: lateOps}
}
