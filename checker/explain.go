package checker

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// minimizeChecksMax bounds the Porcupine searches spent on shrinking an illegal key's history
// to a small explanation (the explanation is then larger, and says so).
const minimizeChecksMax = 256

// shrinkIllegal returns a sub-history of an illegal key history that is still illegal, and
// what stopped shrinking early, if anything (the gravest: memory, time, then work limits). Only removals that keep the sub-history a
// proof of the original's illegality are tried (each is sound because a linearization of the
// bigger history, restricted to what is kept, would linearize the kept operations):
//   - cutting a suffix of operations that all start after every kept operation returned;
//   - cutting a prefix ending just before a Put that overlaps no other operation: every
//     linearization orders the prefix before the Put, whose value replaces the prefix's effect;
//   - dropping a completed Get or a completed failed CAS: these change no state.
//
// Both cuts are found by binary search, since illegality is monotone in the cut. Other writes
// are kept, because dropping a write can make a legal history illegal. The result is ordered
// by call time.
func shrinkIllegal(keyHistory []porcupine.Operation, b bounds) ([]porcupine.Operation, stopReason) {
	ops := sortedByCall(keyHistory)
	checksLeft := minimizeChecksMax
	stop := notStopped
	// isIllegal treats a search stopped by a bound as "not shown illegal", which keeps more
	// operations: safe.
	isIllegal := func(candidate []porcupine.Operation) bool {
		if checksLeft == 0 {
			stop = max(stop, stoppedBySteps)
			return false
		}
		checksLeft--
		r := search(candidate, false, b)
		stop = max(stop, r.stop)
		return r.verdict == porcupine.Illegal
	}

	// Valid cut lengths: a prefix of length n can be kept alone when every operation after it
	// was called after every operation in it returned.
	var cutLengths []int
	maxReturn := int64(-1 << 63)
	for i := range ops {
		maxReturn = max(maxReturn, ops[i].Return)
		if i+1 == len(ops) || maxReturn < ops[i+1].Call {
			cutLengths = append(cutLengths, i+1)
		}
	}
	// The full history (the last cut) is known to be illegal.
	low, high := 0, len(cutLengths)-1
	for low < high {
		middle := (low + high) / 2
		if isIllegal(ops[:cutLengths[middle]]) {
			high = middle
		} else {
			low = middle + 1
		}
	}
	ops = ops[:cutLengths[high]]

	// Valid starts: a Put that overlaps no other operation resets the value whatever came
	// before it, so the operations before it can be dropped.
	starts := []int{0} // the whole history, known illegal
	maxReturn = int64(-1 << 63)
	for i := range ops {
		in := ops[i].Input.(kvInput)
		isolated := i > 0 && maxReturn < ops[i].Call && (i+1 == len(ops) || ops[i].Return < ops[i+1].Call)
		if isolated && in.Kind == OpPut && !ops[i].Output.(kvOutput).Pending {
			starts = append(starts, i)
		}
		maxReturn = max(maxReturn, ops[i].Return)
	}
	// Illegality is monotone here too: find the latest start whose suffix is still illegal.
	low, high = 0, len(starts)-1
	for low < high {
		middle := (low + high + 1) / 2
		if isIllegal(ops[starts[middle]:]) {
			low = middle
		} else {
			high = middle - 1
		}
	}
	ops = ops[starts[low]:]

	for i := 0; i < len(ops); {
		in := ops[i].Input.(kvInput)
		out := ops[i].Output.(kvOutput)
		stateless := !out.Pending && (in.Kind == OpGet || (in.Kind == OpCAS && !out.OK))
		if !stateless {
			i++
			continue
		}
		candidate := make([]porcupine.Operation, 0, len(ops)-1)
		candidate = append(candidate, ops[:i]...)
		candidate = append(candidate, ops[i+1:]...)
		if isIllegal(candidate) {
			ops = candidate
		} else {
			i++
		}
	}
	return ops, stop
}

// explainIllegal says in words why witness (an illegal history of one key, ordered by call
// time) is not linearizable: the longest order Porcupine found that respects real time and the
// model, and why none of the operations that could come next fits after it. note says why
// shrinking stopped early ("" if it did not).
func explainIllegal(key string, witness []porcupine.Operation, keyOperations int, note string, b bounds, format func(int64) string) string {
	var text strings.Builder
	fmt.Fprintf(&text, "key %q: no order of these %d operations agrees with both real time and a single copy of the key's value:\n", key, len(witness))
	listOperations(&text, witness, format)
	if r := search(witness, true, b); r.verdict == porcupine.Illegal {
		text.WriteString(explainLongestOrder(witness, longestPartial(r.info), format))
	} else {
		fmt.Fprintf(&text, "(the explanation's %s was hit before the longest valid order of these operations could be computed)\n", r.stop.boundName())
	}
	if len(witness) < keyOperations {
		fmt.Fprintf(&text, "These %d of the key's %d operations are enough to show the violation; the others are later operations, earlier ones whose effect a lone put replaced, or reads not needed to show it.", len(witness), keyOperations)
	}
	if note != "" {
		if len(witness) < keyOperations {
			text.WriteString(" ")
		}
		text.WriteString(note)
	}
	if len(witness) < keyOperations || note != "" {
		text.WriteString("\n")
	}
	return text.String()
}

// explainUnexplained lists an illegal key's operations without shrinking or explaining them
// (Options.ExplainTimeout < 0). Describe calls it, so that a check with the explanation off
// returns as soon as it has the verdict.
func explainUnexplained(key string, ops []Op, format func(int64) string) string {
	var text strings.Builder
	fmt.Fprintf(&text, "key %q: no order of its %d operations agrees with both real time and a single copy of the key's value (the explanation is switched off, so they are not shrunk to a smaller set, and the key is the first found illegal: when several are, another run may name another):\n", key, len(ops))
	for i, op := range ops {
		if i == explainOpsListedMax {
			fmt.Fprintf(&text, "  ... and %d more (the visualization shows them all)\n", len(ops)-i)
			break
		}
		fmt.Fprintf(&text, "  [%d] %s\n", i+1, describeOp(op, format))
	}
	return text.String()
}

// explainOpsListedMax bounds how many operations a description lists.
const explainOpsListedMax = 200

func listOperations(text *strings.Builder, operations []porcupine.Operation, format func(int64) string) {
	for i, op := range operations {
		if i == explainOpsListedMax {
			fmt.Fprintf(text, "  ... and %d more (the visualization shows them all)\n", len(operations)-i)
			break
		}
		fmt.Fprintf(text, "  [%d] %s\n", i+1, describeOperationLine(op, format))
	}
}

// shrinkNote says why shrinking stopped early, or "" if it did not.
func shrinkNote(stop stopReason, o Options) string {
	switch stop {
	case stoppedByTime:
		return fmt.Sprintf("Shrinking stopped at its time budget of %v, with this set: a smaller one may exist.", o.ExplainTimeout)
	case stoppedByMemory:
		return fmt.Sprintf("Shrinking stopped at the memory budget of %s, with this set: a smaller one may exist.", formatBytes(o.MemoryBudgetBytes))
	case stoppedBySteps:
		return "Shrinking stopped at its work limit, with this set: a smaller one may exist."
	}
	return ""
}

// sortedByCall returns a copy of operations ordered by call time, then return time.
func sortedByCall(operations []porcupine.Operation) []porcupine.Operation {
	ops := append([]porcupine.Operation(nil), operations...)
	sort.SliceStable(ops, func(a, b int) bool {
		if ops[a].Call != ops[b].Call {
			return ops[a].Call < ops[b].Call
		}
		return ops[a].Return < ops[b].Return
	})
	return ops
}

// longestPartial returns the longest partial linearization (operation indices), the
// lexicographically smallest among equally long ones so that the choice is deterministic.
func longestPartial(info porcupine.LinearizationInfo) []int {
	partitions := info.PartialLinearizations()
	if len(partitions) == 0 {
		return nil
	}
	var best []int
	for _, partial := range partitions[0] {
		if best == nil || len(partial) > len(best) || (len(partial) == len(best) && lexLess(partial, best)) {
			best = partial
		}
	}
	return best
}

func lexLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func explainLongestOrder(witness []porcupine.Operation, order []int, format func(int64) string) string {
	var b strings.Builder
	value := ""
	linearized := make([]bool, len(witness))
	if len(order) == 0 {
		b.WriteString("No operation can take effect first (the key starts missing, reading as \"\").\n")
	} else {
		labels := make([]string, len(order))
		for i, id := range order {
			ok, next := applyKV(value, witness[id].Input.(kvInput), witness[id].Output.(kvOutput))
			if !ok {
				panic("checker: Porcupine's partial linearization does not replay on the KV model")
			}
			value = next
			linearized[id] = true
			labels[i] = fmt.Sprintf("[%d]", id+1)
		}
		fmt.Fprintf(&b, "The longest valid order is %s, leaving the value %s.\n", strings.Join(labels, " "), describeValue(value))
	}

	// Operations that could take effect next: not yet linearized, and called no later than the
	// earliest return among the operations not yet linearized (intervals are closed).
	earliestReturn := int64(pendingReturnNs)
	mustGoFirst := -1
	for i, op := range witness {
		if !linearized[i] && op.Return < earliestReturn {
			earliestReturn, mustGoFirst = op.Return, i
		}
	}
	if mustGoFirst < 0 {
		return b.String()
	}
	var reasons []string
	for i, op := range witness {
		if linearized[i] || op.Call > earliestReturn {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("[%d] %s", i+1, whyNotNext(value, op)))
	}
	fmt.Fprintf(&b, "Next, [%d] must take effect by its return at %s, but no operation that could come next fits: %s.\n",
		mustGoFirst+1, format(earliestReturn), strings.Join(reasons, "; "))
	return b.String()
}

// whyNotNext says why op cannot take effect when the key holds value.
func whyNotNext(value string, op porcupine.Operation) string {
	in := op.Input.(kvInput)
	out := op.Output.(kvOutput)
	if ok, _ := applyKV(value, in, out); ok {
		return fmt.Sprintf("%s could take effect, but no order continuing with it completes", in.Kind)
	}
	switch in.Kind {
	case OpGet:
		return fmt.Sprintf("get returned %s but the value was %s", describeValue(out.Value), describeValue(value))
	case OpCAS:
		if out.OK {
			return fmt.Sprintf("cas reported swapped, but the value was %s, not the expected %s", describeValue(value), describeValue(in.Expected))
		}
		return fmt.Sprintf("cas reported not swapped, but the value was the expected %s", describeValue(value))
	}
	return fmt.Sprintf("%s cannot take effect", in.Kind)
}

// describeOperationLine renders one operation with its client and times.
func describeOperationLine(op porcupine.Operation, format func(int64) string) string {
	in := op.Input.(kvInput)
	out := op.Output.(kvOutput)
	s := fmt.Sprintf("c%d %s, called at %s", in.Client, describeCall(in, out), format(op.Call))
	if out.Pending {
		return s + ", outcome never learned"
	}
	return s + ", returned at " + format(op.Return)
}

// Label is the call as explanations write it, with its outcome: `get("k") -> "v"`,
// `append("k", "x")`, `cas("k", "a" -> "b") -> swapped`, `put("k", "v") pending`.
func (op Op) Label() string {
	in := kvInput{Kind: op.Kind, Key: op.Key, Value: op.Value, Expected: op.Expected, Client: op.Client}
	return describeCall(in, kvOutput{Value: op.Output, OK: op.OK, Pending: op.Pending})
}

// describeOp renders a caller's Op in one line.
func describeOp(op Op, format func(int64) string) string {
	s := fmt.Sprintf("c%d %s, called at %s", op.Client, op.Label(), format(op.Call))
	if op.Pending {
		return s + ", outcome never learned"
	}
	return s + ", returned at " + format(op.Return)
}

// timeFormat renders Call and Return times as o.TimeUnit says.
func (o Options) timeFormat() func(int64) string {
	unit := o.withDefaults().TimeUnit
	return func(t int64) string {
		switch {
		case t == pendingReturnNs:
			return "never"
		case unit < 0:
			return strconv.FormatInt(t, 10)
		case t > math.MaxInt64/int64(unit) || t < math.MinInt64/int64(unit):
			return fmt.Sprintf("%d x %v", t, unit)
		}
		return formatNs(t * int64(unit))
	}
}

// formatNs renders virtual nanoseconds as seconds the way the simulator's traces do:
// "12.345678s" for whole microseconds, otherwise with nanosecond digits.
func formatNs(ns int64) string {
	if ns == pendingReturnNs {
		return "never"
	}
	sign := ""
	magnitude := uint64(ns)
	if ns < 0 {
		sign = "-"
		magnitude = -magnitude
	}
	const nanosPerSecond = 1_000_000_000
	seconds, fraction := magnitude/nanosPerSecond, magnitude%nanosPerSecond
	if fraction%1000 == 0 {
		return fmt.Sprintf("%s%d.%06ds", sign, seconds, fraction/1000)
	}
	return fmt.Sprintf("%s%d.%09ds", sign, seconds, fraction)
}
