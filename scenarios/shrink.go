package scenarios

import (
	"fmt"
	"slices"

	"github.com/raftsim/raftsim/sim"
)

// ShrinkStats says how much a shrink removed and what it cost.
type ShrinkStats struct {
	Check                         string // the property that fails, before and after
	FaultsBefore, FaultsAfter     int
	OpsBefore, OpsAfter           int // operations the clients performed
	NodesBefore, NodesAfter       int
	ClientsBefore, ClientsAfter   int
	DurationBefore, DurationAfter int64 // ms
	SeedBefore, SeedAfter         uint64
	Runs                          int  // simulations executed
	RunLimitHit                   bool // shrinking stopped at maxShrinkRuns, not at a fixpoint
}

// maxShrinkRuns bounds the simulations one shrink may execute.
const maxShrinkRuns = 4000

// reseedTries is how many other seeds the reseed step tries for each smaller fault list.
const reseedTries = 32

// Shrink minimizes a failing schedule to a smaller one that fails the same check (the same
// property, not just any failure): fewer fault events, fewer clients and operations, a shorter
// duration, fewer nodes, a calmer network. It is deterministic: each candidate is a pure function
// of the current schedule, tried in a fixed order, and each run is a pure function of its
// schedule. The result still fails: every accepted step was a failing run.
//
// When no single fault or pair can go under the run's own seed, the shrinker reseeds: it tries
// each smaller fault list under up to reseedTries other seeds (the seed drives latencies,
// timeouts and the workload, not the faults) and continues from the first that fails the same
// check. A failure that needs a precise interleaving is often 1-minimal under its seed with
// many faults that only set up the timing; another seed can reach the same interleaving with
// fewer. The minimal schedule records its seed, so it replays like any other.
func Shrink(s *Schedule, opts Options) (*Schedule, ShrinkStats, error) {
	opts.Trace = nil
	opts.RecordDigests = false
	first, err := Execute(Spec{Scenario: s.Scenario, Seed: s.Seed, Bug: s.Bug, Schedule: s}, opts)
	if err != nil {
		return nil, ShrinkStats{}, err
	}
	if first.Status != Fail {
		return nil, ShrinkStats{}, fmt.Errorf("the run %s does not fail (verdict %s): nothing to shrink", first.Scenario, first.Status)
	}
	// A schedule with triggers shrinks as the schedule it executed: the faults its triggers
	// placed, each at its instant, which replays exactly and which every step below can
	// remove or shift like any other fault.
	sh := &shrinker{opts: opts, check: first.Check, panicMessage: panicMessage(first), cur: first.Schedule.Clone(), curOps: first.Ops}
	if !offlineCheck(first.Check) {
		// The check fails during the run, and a run that failed is not judged further, so the
		// offline checks could only turn a candidate that misses the target into another
		// miss: skip them.
		sh.opts.skipOfflineChecks = true
	}
	sh.st = ShrinkStats{Check: first.Check, FaultsBefore: len(sh.cur.Faults), OpsBefore: first.Ops,
		NodesBefore: s.Nodes, ClientsBefore: s.Workload.Clients, DurationBefore: s.DurationMs,
		SeedBefore: s.Seed, Runs: 1}
	sh.failurePoint(first.FailedAt)
	const maxPasses = 20
	for pass := 0; pass < maxPasses && !sh.st.RunLimitHit; pass++ {
		changed := sh.faults()
		changed = sh.shift(sh.edit) || changed
		changed = sh.duration() || changed
		changed = sh.workload() || changed
		changed = sh.nodes() || changed
		changed = sh.network() || changed
		changed = sh.config() || changed
		if !changed && !sh.reseed() {
			break
		}
	}
	st := &sh.st
	st.FaultsAfter, st.OpsAfter, st.SeedAfter = len(sh.cur.Faults), sh.curOps, sh.cur.Seed
	st.NodesAfter, st.ClientsAfter, st.DurationAfter = sh.cur.Nodes, sh.cur.Workload.Clients, sh.cur.DurationMs
	return sh.cur, sh.st, nil
}

// shrinker holds the smallest schedule found so far that fails the target check.
type shrinker struct {
	opts  Options
	check string
	// panicMessage is the message a CheckPanic failure must keep: a different panic is
	// another failure.
	panicMessage string
	cur          *Schedule
	curOps       int
	st           ShrinkStats
}

// try runs a candidate and adopts it if it fails the same check.
func (sh *shrinker) try(c *Schedule) bool {
	if sh.st.Runs >= maxShrinkRuns {
		sh.st.RunLimitHit = true
		return false
	}
	if c.Validate() != nil {
		return false
	}
	sh.st.Runs++
	r, err := Execute(Spec{Scenario: c.Scenario, Seed: c.Seed, Bug: c.Bug, Schedule: c}, sh.opts)
	if err != nil || r.Status != Fail || r.Check != sh.check || panicMessage(r) != sh.panicMessage {
		return false
	}
	sh.cur, sh.curOps = c, r.Ops
	return true
}

// edit tries a copy of the current schedule changed by f.
func (sh *shrinker) edit(f func(c *Schedule)) bool {
	c := sh.cur.Clone()
	f(c)
	return sh.try(c)
}

// faults removes fault events: every fault of one kind at once, the longest removable prefix
// (faults long before the failure rarely matter), then delta debugging: chunks of halving
// size, single events, and pairs.
func (sh *shrinker) faults() bool {
	changed := false
	for _, kind := range faultKinds {
		has := false
		for _, f := range sh.cur.Faults {
			has = has || f.Kind == kind
		}
		if has {
			changed = sh.edit(func(c *Schedule) {
				kept := c.Faults[:0]
				for _, f := range c.Faults {
					if f.Kind != kind {
						kept = append(kept, f)
					}
				}
				c.Faults = kept
			}) || changed
		}
	}
	// Binary search for a long prefix whose removal keeps the failure (not monotonic in
	// general, so this finds a good cut, not always the longest).
	for lo, hi := 0, len(sh.cur.Faults); lo < hi; {
		mid := (lo + hi + 1) / 2
		if sh.edit(func(c *Schedule) { c.Faults = c.Faults[mid:] }) {
			changed = true
			lo, hi = 0, len(sh.cur.Faults)
			continue
		}
		hi = mid - 1
	}
	for chunk := len(sh.cur.Faults) / 2; chunk >= 1; chunk /= 2 {
		for i := 0; i+chunk <= len(sh.cur.Faults); {
			if sh.edit(func(c *Schedule) { c.Faults = append(c.Faults[:i:i], c.Faults[i+chunk:]...) }) {
				changed = true
				continue // the next chunk now starts at i
			}
			i += chunk
		}
	}
	// A fault and the one that undoes it (crash and restart, partition and heal) are often
	// needed or not needed together: removing either alone changes the failure, removing
	// both does not. Try pairs once the list is short enough for that to be cheap.
	const maxPairFaults = 40
	for i := 0; len(sh.cur.Faults) <= maxPairFaults && i < len(sh.cur.Faults); i++ {
		for j := i + 1; j < len(sh.cur.Faults); j++ {
			if sh.edit(func(c *Schedule) {
				c.Faults = append(append(c.Faults[:i:i], c.Faults[i+1:j]...), c.Faults[j+1:]...)
			}) {
				changed = true
				j = i // the list changed: rescan the partners of i
			}
		}
	}
	return changed
}

// reseed removes one fault, then two, trying each smaller list under reseedTries other seeds
// (the current seed plus 1, 2, ...) and stopping at the first that fails the same check; then
// it tries shifting the faults earlier under other seeds. Pairs are tried only on short lists,
// where their number stays small.
func (sh *shrinker) reseed() bool {
	const maxPairFaults = 20
	n := len(sh.cur.Faults)
	withoutIndexes := func(skip ...int) func(c *Schedule) {
		return func(c *Schedule) {
			kept := c.Faults[:0]
			for i, f := range c.Faults {
				if !slices.Contains(skip, i) {
					kept = append(kept, f)
				}
			}
			c.Faults = kept
		}
	}
	for i := 0; i < n; i++ {
		if sh.editReseeded(withoutIndexes(i)) {
			return true
		}
	}
	for i := 0; n <= maxPairFaults && i < n; i++ {
		for j := i + 1; j < n; j++ {
			if sh.editReseeded(withoutIndexes(i, j)) {
				return true
			}
		}
	}
	return sh.shift(sh.editReseeded)
}

// editReseeded tries a copy of the current schedule changed by f under other seeds.
func (sh *shrinker) editReseeded(f func(c *Schedule)) bool {
	for k := uint64(1); k <= reseedTries && !sh.st.RunLimitHit; k++ {
		if sh.edit(func(c *Schedule) { f(c); c.Seed += k }) {
			return true
		}
	}
	return false
}

// failurePoint cuts the run short just after the failure became visible: faults after that
// instant cannot have caused it.
func (sh *shrinker) failurePoint(failedAt sim.Time) bool {
	target := int64(failedAt/sim.Millisecond) + 1
	if target >= sh.cur.DurationMs {
		return false
	}
	return sh.edit(func(c *Schedule) {
		c.DurationMs = target
		kept := c.Faults[:0]
		for _, f := range c.Faults {
			if f.AtMs < target {
				kept = append(kept, f)
			}
		}
		c.Faults = kept
	})
}

// shift moves every fault earlier, closing the calm stretch before the first one, and cuts the
// duration by as much: what a long calm prefix builds (a leader, some log) a short one builds
// too, and a shorter run makes every later step cheaper. edit is sh.edit, or sh.editReseeded
// in the reseed phase (moving the faults moves them against the run's timeouts and
// latencies, which another seed may line up again).
func (sh *shrinker) shift(edit func(func(c *Schedule)) bool) bool {
	if len(sh.cur.Faults) == 0 {
		return false
	}
	first := sh.cur.Faults[0].AtMs
	for _, startMs := range []int64{500, 1000, 2000, first / 2} {
		delta := first - startMs
		if startMs <= 0 || delta <= 0 {
			continue
		}
		if edit(func(c *Schedule) {
			for i := range c.Faults {
				c.Faults[i].shiftMs(delta)
			}
			c.DurationMs -= delta
		}) {
			return true
		}
	}
	return false
}

// duration cuts the fault phase short, as far as the last remaining fault allows.
func (sh *shrinker) duration() bool {
	changed := false
	for _, frac := range []int64{2, 4, 8} {
		target := sh.cur.DurationMs - sh.cur.DurationMs/frac
		last := int64(0)
		for _, f := range sh.cur.Faults {
			last = max(last, f.AtMs+1)
		}
		if target < last || target < 100 {
			continue
		}
		changed = sh.edit(func(c *Schedule) { c.DurationMs = target }) || changed
	}
	return changed
}

func (sh *shrinker) workload() bool {
	changed := false
	for sh.cur.Workload.Clients > 1 && sh.edit(func(c *Schedule) {
		c.Workload.Clients--
		kept := c.Faults[:0]
		for _, f := range c.Faults {
			if clients := slices.DeleteFunc(f.Clients, func(x int) bool { return x >= c.Workload.Clients }); f.Kind != FaultDropReply || len(clients) > 0 {
				f.Clients = clients
				kept = append(kept, f)
			}
		}
		c.Faults = kept
	}) {
		changed = true
	}
	// Cap each client's operations near what it performs, then halve and trim the cap while
	// the failure stays.
	if perClient := sh.curOps/sh.cur.Workload.Clients + 1; perClient < sh.cur.Workload.OpsPerClient {
		changed = sh.edit(func(c *Schedule) { c.Workload.OpsPerClient = perClient }) || changed
	}
	// Binary search for the smallest cap that still fails (the failure is not monotonic in the
	// cap, so this finds a small cap, not always the smallest).
	for lo := 1; lo < sh.cur.Workload.OpsPerClient; {
		mid := (lo + sh.cur.Workload.OpsPerClient) / 2
		if sh.edit(func(c *Schedule) { c.Workload.OpsPerClient = mid }) {
			changed = true
			continue
		}
		lo = mid + 1
	}
	// Fewer keys only when the offline checks judge each candidate: a failure the monitor
	// catches does not need them, and squeezing many concurrent clients onto one key makes the
	// history exponentially hard to check when the schedule is replayed without the bug (a
	// planted corpus file must pass there).
	if sh.cur.Workload.Keys > 1 && !sh.opts.skipOfflineChecks {
		changed = sh.edit(func(c *Schedule) { c.Workload.Keys = max(1, c.Workload.Keys/2) }) || changed
	}
	return changed
}

// nodes tries smaller clusters (odd sizes from 3 up), dropping faults that name nodes that no
// longer exist.
func (sh *shrinker) nodes() bool {
	for n := 3; n < sh.cur.Nodes; n += 2 {
		if sh.edit(func(c *Schedule) {
			c.Nodes = n
			kept := c.Faults[:0]
			for _, f := range c.Faults {
				if faultFits(f, n) {
					kept = append(kept, f)
				}
			}
			c.Faults = kept
		}) {
			return true
		}
	}
	return false
}

func faultFits(f Fault, n int) bool {
	for _, x := range f.Nodes {
		if x >= n {
			return false
		}
	}
	for _, g := range f.Groups {
		for _, x := range g {
			if x >= n {
				return false
			}
		}
	}
	for _, l := range f.Links {
		if l[0] >= n || l[1] >= n {
			return false
		}
	}
	return true
}

// network turns random message faults off, one kind at a time.
func (sh *shrinker) network() bool {
	changed := false
	if sh.cur.Network.Drop != 0 {
		changed = sh.edit(func(c *Schedule) { c.Network.Drop = 0 }) || changed
	}
	if sh.cur.Network.Duplicate != 0 {
		changed = sh.edit(func(c *Schedule) { c.Network.Duplicate = 0 }) || changed
	}
	if sh.cur.Network.LongDelay != 0 {
		changed = sh.edit(func(c *Schedule) { c.Network.LongDelay, c.Network.LongDelayMaxMs = 0, 0 }) || changed
	}
	return changed
}

// config returns options to their plain defaults where the failure does not need them:
// no snapshots, PreVote and CheckQuorum on.
func (sh *shrinker) config() bool {
	changed := false
	if sh.cur.MaxRaftStateBytes != -1 {
		changed = sh.edit(func(c *Schedule) { c.MaxRaftStateBytes = -1 }) || changed
	}
	if sh.cur.MaxEntriesPerMsg != 0 {
		changed = sh.edit(func(c *Schedule) { c.MaxEntriesPerMsg = 0 }) || changed
	}
	if sh.cur.DisablePreVote {
		changed = sh.edit(func(c *Schedule) { c.DisablePreVote = false }) || changed
	}
	if sh.cur.DisableCheckQuorum {
		changed = sh.edit(func(c *Schedule) { c.DisableCheckQuorum = false }) || changed
	}
	return changed
}

// panicMessage is the message of a CheckPanic failure ("" for any other result): what a
// shrunk run must panic with to be the same failure.
func panicMessage(r *Result) string {
	if r.Check != CheckPanic {
		return ""
	}
	return r.Message
}
