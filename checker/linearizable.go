package checker

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the outcome of a linearizability check. The zero value is Unknown, so a result
// that was never filled in does not read as a pass.
type Verdict uint8

const (
	// Unknown: the time bound was hit before every key was decided, and no key was found
	// illegal. It is not a pass.
	Unknown Verdict = iota
	// Ok: every key's sub-history is linearizable.
	Ok
	// Illegal: some key's sub-history is not linearizable.
	Illegal
)

// String returns "ok", "illegal" or "unknown".
func (v Verdict) String() string {
	switch v {
	case Ok:
		return "ok"
	case Illegal:
		return "illegal"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// LinResult is the outcome of CheckLinearizable.
type LinResult struct {
	Verdict Verdict
	// Key: for Illegal, the first key in sorted order whose sub-history is not linearizable;
	// for Unknown, the first key (in sorted order) whose check hit the time bound.
	Key string
	// Ops: for Illegal, operations of Key that on their own are already not linearizable,
	// ordered by call time: a small such subset (see Describe). Only removals that cannot
	// invent a violation are made: operations after the violation, operations before a put
	// that overlaps no other operation, and reads not needed to show it.
	Ops []Op
	// Keys and Operations are the sizes checked: distinct keys, and operations after pending
	// Gets were dropped.
	Keys, Operations int
	// Elapsed is the wall time of the check (offline; not part of any simulated behaviour).
	Elapsed time.Duration

	info porcupine.LinearizationInfo // kept for Visualize; see hasInfo
	// hasInfo says info covers the result's key (Illegal, and Unknown when that key's check
	// started). Otherwise WriteVisualization checks viewOperations again to draw them: the
	// whole history for Ok, the key that was never started for Unknown.
	hasInfo        bool
	viewOperations []porcupine.Operation
	// keyHistory is the operations of Key (Illegal, Unknown), which the visualization draws.
	keyHistory []porcupine.Operation
	timeout    time.Duration
	// keyOperations is the number of operations of Key (Illegal, Unknown).
	keyOperations int
	// explanation says in words why Ops are not linearizable (Illegal).
	explanation string
}

// minimizeChecksMax bounds the Porcupine runs spent on shrinking an illegal key's history to a
// small explanation (the explanation is then larger, and says so).
const minimizeChecksMax = 256

// minimizeCheckBoundUnlimited is the time bound of one shrinking run when the caller gave no
// time bound: shrinking is a courtesy and must not hang a run that is already known illegal.
const minimizeCheckBoundUnlimited = 2 * time.Second

// CheckLinearizable checks history for linearizability against the KV model, one key at a
// time, with Porcupine. timeout bounds the wall time of the whole check (<= 0: no bound).
//
// The same history always gives the same Verdict, Key and Ops when the time bound is not hit
// (Elapsed aside). Keys are checked in parallel on up to GOMAXPROCS goroutines; the verdict is
// read in sorted key order, so the first illegal key is reported whichever finishes first.
//
// It panics on malformed input: an unknown kind, a negative client id, or a completed
// operation that returns before it was called.
func CheckLinearizable(history []Op, timeout time.Duration) LinResult {
	start := time.Now()
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	remaining := func() (bound time.Duration, expired bool) {
		if timeout <= 0 {
			return 0, false // porcupine: 0 means no bound
		}
		left := time.Until(deadline)
		return left, left <= 0
	}

	all := toPorcupine(history)
	keys, perKey := splitByKey(all)
	result := LinResult{Keys: len(keys), Operations: len(all), timeout: timeout}

	type keyOutcome struct {
		verdict porcupine.CheckResult
		info    porcupine.LinearizationInfo
		ran     bool
	}
	outcomes := make([]keyOutcome, len(keys))
	var nextKey atomic.Int64
	var firstIllegal atomic.Int64 // keys after it need not be checked
	firstIllegal.Store(int64(len(keys)))
	model := singleKeyModel()
	workerCount := min(runtime.GOMAXPROCS(0), len(keys))
	var workers sync.WaitGroup
	for w := 0; w < workerCount; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				i := nextKey.Add(1) - 1
				if i >= int64(len(keys)) {
					return
				}
				if i > firstIllegal.Load() {
					continue
				}
				bound, expired := remaining()
				if expired {
					outcomes[i] = keyOutcome{verdict: porcupine.Unknown}
					continue
				}
				verdict, info := porcupine.CheckOperationsVerbose(model, perKey[i], bound)
				outcomes[i] = keyOutcome{verdict: verdict, info: info, ran: true}
				if verdict == porcupine.Illegal {
					for {
						current := firstIllegal.Load()
						if i >= current || firstIllegal.CompareAndSwap(current, i) {
							break
						}
					}
				}
			}
		}()
	}
	workers.Wait()

	result.Verdict = Ok
	firstUnknown := -1
	for i := range keys {
		switch outcomes[i].verdict {
		case porcupine.Illegal:
			result.Verdict = Illegal
			result.Key = keys[i]
			result.keyOperations = len(perKey[i])
			result.info = outcomes[i].info
			result.hasInfo = true
			result.keyHistory = perKey[i]
			witness, complete := shrinkIllegal(model, perKey[i], remaining)
			result.Ops = fromPorcupine(history, witness)
			result.explanation = explainIllegal(model, keys[i], witness, len(perKey[i]), complete, remaining)
			result.Elapsed = time.Since(start)
			return result
		case porcupine.Unknown:
			if firstUnknown < 0 {
				firstUnknown = i
			}
		}
	}
	if firstUnknown >= 0 {
		result.Verdict = Unknown
		result.Key = keys[firstUnknown]
		result.keyOperations = len(perKey[firstUnknown])
		result.info = outcomes[firstUnknown].info
		result.hasInfo = outcomes[firstUnknown].ran
		result.keyHistory = perKey[firstUnknown]
		if !result.hasInfo {
			result.viewOperations = perKey[firstUnknown]
		}
	} else {
		result.viewOperations = all
	}
	result.Elapsed = time.Since(start)
	return result
}

// toPorcupine converts the history, dropping pending Gets. Metadata holds the index of the
// operation in history, to map explanations back to the caller's records.
//
// Porcupine draws each client id on one row. A pending write lasts until +inf, so on its
// client's row it would hide every later call of that client (a clerk may give up on a call
// and go on); each pending write gets a row of its own after the clients' rows instead. Client
// ids do not affect the check.
func toPorcupine(history []Op) []porcupine.Operation {
	operations := make([]porcupine.Operation, 0, len(history))
	maxClient := 0
	for _, op := range history {
		maxClient = max(maxClient, op.Client)
	}
	pendingRow := maxClient + 1
	for i, op := range history {
		if op.Kind > OpCAS {
			panic(fmt.Sprintf("checker: history[%d] has unknown kind %d", i, op.Kind))
		}
		if op.Client < 0 {
			panic(fmt.Sprintf("checker: history[%d] has negative client id %d", i, op.Client))
		}
		if op.Pending && op.Kind == OpGet {
			continue // a read whose result nobody saw constrains nothing
		}
		returnNs := op.Return
		row := op.Client
		if op.Pending {
			returnNs = pendingReturnNs
			row = pendingRow
			pendingRow++
		} else if op.Return < op.Call {
			panic(fmt.Sprintf("checker: history[%d] (%s) returns at %s, before its call at %s",
				i, describeOp(op), formatNs(op.Return), formatNs(op.Call)))
		}
		output := kvOutput{OK: op.OK, Pending: op.Pending}
		if op.Kind == OpGet {
			output.Value = op.Output
		}
		operations = append(operations, porcupine.Operation{
			ClientId: row,
			Input:    kvInput{Kind: op.Kind, Key: op.Key, Value: op.Value, Expected: op.Expected, Client: op.Client},
			Call:     op.Call,
			Output:   output,
			Return:   returnNs,
			Metadata: i,
		})
	}
	return operations
}

// splitByKey groups operations per key, keys sorted, keeping history order within a key.
func splitByKey(operations []porcupine.Operation) (keys []string, perKey [][]porcupine.Operation) {
	indexOfKey := make(map[string]int)
	for _, op := range operations {
		key := op.Input.(kvInput).Key
		i, seen := indexOfKey[key]
		if !seen {
			i = len(keys)
			indexOfKey[key] = i
			keys = append(keys, key)
			perKey = append(perKey, nil)
		}
		perKey[i] = append(perKey[i], op)
	}
	// The slices are sorted together: sort a permutation, then apply it.
	unsortedKeys := keys
	keys = append([]string(nil), unsortedKeys...)
	sort.Strings(keys)
	sortedPerKey := make([][]porcupine.Operation, len(keys))
	for i, key := range keys {
		sortedPerKey[i] = perKey[indexOfKey[key]]
	}
	return keys, sortedPerKey
}

// fromPorcupine maps operations back to the caller's records, ordered by call time.
func fromPorcupine(history []Op, operations []porcupine.Operation) []Op {
	ops := make([]Op, len(operations))
	for i, operation := range operations {
		ops[i] = history[operation.Metadata.(int)]
	}
	return ops
}

// shrinkIllegal returns a sub-history of an illegal key history that is still illegal, and
// whether shrinking finished within its limits. Only removals that keep the sub-history a
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
func shrinkIllegal(model porcupine.Model, keyHistory []porcupine.Operation, remaining func() (time.Duration, bool)) ([]porcupine.Operation, bool) {
	ops := append([]porcupine.Operation(nil), keyHistory...)
	sort.SliceStable(ops, func(a, b int) bool {
		if ops[a].Call != ops[b].Call {
			return ops[a].Call < ops[b].Call
		}
		return ops[a].Return < ops[b].Return
	})
	checksLeft := minimizeChecksMax
	complete := true
	// isIllegal treats a time-out as "not shown illegal", which keeps more operations: safe.
	isIllegal := func(candidate []porcupine.Operation) bool {
		if checksLeft == 0 {
			complete = false
			return false
		}
		checksLeft--
		bound, expired := remaining()
		if expired {
			complete = false
			return false
		}
		if bound == 0 {
			bound = minimizeCheckBoundUnlimited
		}
		verdict := porcupine.CheckOperationsTimeout(model, candidate, bound)
		if verdict == porcupine.Unknown {
			complete = false
		}
		return verdict == porcupine.Illegal
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
	return ops, complete
}

// explainIllegal says in words why witness (an illegal history of one key, ordered by call
// time) is not linearizable: the longest order Porcupine found that respects real time and the
// model, and why none of the operations that could come next fits after it.
func explainIllegal(model porcupine.Model, key string, witness []porcupine.Operation, keyOperations int, shrinkComplete bool, remaining func() (time.Duration, bool)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "key %q: no order of these %d operations agrees with both real time and a single copy of the key's value:\n", key, len(witness))
	for i, op := range witness {
		fmt.Fprintf(&b, "  [%d] %s\n", i+1, describeOperationLine(op))
	}

	bound, expired := remaining()
	if bound == 0 && !expired {
		bound = minimizeCheckBoundUnlimited
	}
	var verdict porcupine.CheckResult = porcupine.Unknown
	var info porcupine.LinearizationInfo
	if !expired {
		verdict, info = porcupine.CheckOperationsVerbose(model, witness, bound)
	}
	if verdict == porcupine.Illegal {
		b.WriteString(explainLongestOrder(witness, longestPartial(info)))
	} else {
		b.WriteString("(the time bound was hit before the longest valid order of these operations could be computed)\n")
	}

	if len(witness) < keyOperations {
		fmt.Fprintf(&b, "These %d of the key's %d operations are enough to show the violation; the others are later operations, earlier ones whose effect a lone put replaced, or reads not needed to show it.", len(witness), keyOperations)
		if !shrinkComplete {
			b.WriteString(" Shrinking stopped at its limit: a smaller set may exist.")
		}
		b.WriteString("\n")
	}
	return b.String()
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

func explainLongestOrder(witness []porcupine.Operation, order []int) string {
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
		mustGoFirst+1, formatNs(earliestReturn), strings.Join(reasons, "; "))
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
func describeOperationLine(op porcupine.Operation) string {
	in := op.Input.(kvInput)
	out := op.Output.(kvOutput)
	s := fmt.Sprintf("c%d %s, called at %s", in.Client, describeCall(in, out), formatNs(op.Call))
	if out.Pending {
		return s + ", outcome never learned"
	}
	return s + ", returned at " + formatNs(op.Return)
}

// describeOp renders a caller's Op in one line.
func describeOp(op Op) string {
	in := kvInput{Kind: op.Kind, Key: op.Key, Value: op.Value, Expected: op.Expected, Client: op.Client}
	out := kvOutput{Value: op.Output, OK: op.OK, Pending: op.Pending}
	s := fmt.Sprintf("c%d %s, called at %s", op.Client, describeCall(in, out), formatNs(op.Call))
	if op.Pending {
		return s + ", outcome never learned"
	}
	return s + ", returned at " + formatNs(op.Return)
}

// Describe says in plain words what the check found. For Illegal it lists the explaining
// operations (client, kind, arguments, output, call and return times) and why no order of
// them works, e.g. that a get returned "x" when the value could only be "y".
func (r LinResult) Describe() string {
	switch r.Verdict {
	case Ok:
		return fmt.Sprintf("linearizable: %d operations on %d keys checked in %v", r.Operations, r.Keys, r.Elapsed.Round(time.Millisecond))
	case Illegal:
		if r.explanation != "" {
			return "not linearizable: " + r.explanation
		}
		var b strings.Builder
		fmt.Fprintf(&b, "not linearizable: key %q:\n", r.Key)
		for i, op := range r.Ops {
			fmt.Fprintf(&b, "  [%d] %s\n", i+1, describeOp(op))
		}
		return b.String()
	default:
		if r.Key == "" {
			return fmt.Sprintf("unknown: the check of %d operations on %d keys did not finish", r.Operations, r.Keys)
		}
		return fmt.Sprintf("unknown: the time bound of %v was hit after %v while checking key %q (%d operations); no key checked before it is illegal, but this is not a pass",
			r.timeout, r.Elapsed.Round(time.Millisecond), r.Key, r.keyOperations)
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
