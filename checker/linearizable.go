package checker

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the outcome of a linearizability check. The zero value is Unknown, so a result
// that was never filled in does not read as a pass.
type Verdict uint8

const (
	// Unknown: no key was found illegal, and some key's search hit the time bound or the
	// memory budget before it was decided. It is not a pass.
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

// Options bound a check and say how to describe it. The zero value checks with the default
// bounds; a negative bound switches that bound off.
type Options struct {
	// Timeout bounds the wall time of the verdict: when it is hit before any key is found
	// illegal, the verdict is Unknown. 0: DefaultTimeout.
	Timeout time.Duration
	// ExplainTimeout bounds the wall time spent after an Illegal verdict on explaining it:
	// shrinking the illegal key's operations to a small witness and finding the longest order
	// of them that works. When it is hit, the explanation says so and shows the witness it
	// had. 0: DefaultExplainTimeout; negative: no explanation (the witness is every operation
	// of the key).
	ExplainTimeout time.Duration
	// MemoryBudgetBytes bounds how much the Go heap may grow during the check (verdict and
	// explanation): past it the searches stop and, if no key was found illegal, the verdict
	// is Unknown with Reason "memory bound". The heap is sampled every 1024 steps of each
	// search; it is the whole process's heap, garbage not yet collected included.
	// 0: DefaultMemoryBudgetBytes.
	MemoryBudgetBytes int64
	// TimeUnit is what one unit of Call and Return is, for descriptions: with a unit, times are
	// written in seconds; negative: the times have no unit and are written as given.
	// 0: time.Nanosecond (the harness's virtual nanoseconds).
	TimeUnit time.Duration
}

// Default bounds of a check (see Options).
const (
	DefaultTimeout           = 10 * time.Second
	DefaultExplainTimeout    = time.Second
	DefaultMemoryBudgetBytes = 4 << 30
)

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ExplainTimeout == 0 {
		o.ExplainTimeout = DefaultExplainTimeout
	}
	if o.MemoryBudgetBytes == 0 {
		o.MemoryBudgetBytes = DefaultMemoryBudgetBytes
	}
	if o.TimeUnit == 0 {
		o.TimeUnit = time.Nanosecond
	}
	return o
}

// LinResult is the outcome of Check.
type LinResult struct {
	Verdict Verdict
	// Key: for Illegal, the illegal key reported (see Check); for Unknown, the first key in
	// sorted order whose search hit a bound.
	Key string
	// Reason: for Unknown, which bound was hit: ReasonTimeBound or ReasonMemoryBound.
	Reason string
	// Ops: for Illegal, operations of Key that on their own are already not linearizable,
	// ordered by call time: a small such subset (see Describe). Only removals that cannot
	// invent a violation are made: operations after the violation, operations before a put
	// that overlaps no other operation, and reads not needed to show it.
	Ops []Op
	// Keys and Operations are the sizes checked: distinct keys, and operations after pending
	// Gets were dropped.
	Keys, Operations int
	// Elapsed is the wall time of the whole check, ExplainElapsed the part of it spent on
	// explaining an Illegal verdict; the verdict took the difference.
	Elapsed, ExplainElapsed time.Duration

	options Options
	// viewOperations are what a visualization draws: the operations of Key (Illegal,
	// Unknown), or the whole history (Ok).
	viewOperations []porcupine.Operation
	// illegalSteps is the number of Porcupine steps that proved Key illegal.
	illegalSteps int64
	// explanation says in words why Ops are not linearizable (Illegal; "" when the
	// explanation is off, and Describe lists Ops).
	explanation string
	// cutNote says that a bound made the choice of the illegal key reported uncertain.
	cutNote string
}

// searchesInFlightMax bounds how many keys are searched at once. Keys are searched side by
// side, as Porcupine searches partitions, so that one key that takes long does not hold up the
// others; they share the GOMAXPROCS threads.
const searchesInFlightMax = 256

// shrinkStepsFactor and shrinkStepsMin give each search made while shrinking a witness a step
// budget: a candidate whose search needs more than this is treated as not shown illegal (so it
// keeps more operations: safe), at the same point on every run.
const (
	shrinkStepsFactor = 2
	shrinkStepsMin    = 100_000
)

// Check checks history for linearizability against the KV model, one key at a time, with
// Porcupine, within the bounds of o.
//
// The verdict is Illegal as soon as some key is proven illegal: keys are searched side by side,
// so one key whose search takes long does not hold up the verdict on another. It is Unknown
// only when no key is illegal and some key's search hit the time bound or the memory budget.
//
// The report is the same for the same history: when several keys are illegal, the one reported
// is the one whose proof takes Porcupine's search the fewest steps (then the first in sorted
// order), whichever search finishes first in wall time. Settling that is part of the
// explanation: after the verdict, the other searches go on, under the explanation's budget,
// only until they pass that many steps. Only a bound hit before it is settled (said in
// Describe) or while shrinking can make two runs differ. With the explanation off, the key
// reported is the first found.
//
// A malformed operation (see Op.Validate) is an error: an *InputError naming its index.
func Check(history []Op, o Options) (LinResult, error) {
	start := time.Now()
	o = o.withDefaults()
	for i, op := range history {
		if err := op.Validate(); err != nil {
			var inputErr *InputError
			if errors.As(err, &inputErr) {
				inputErr.Index = i
			}
			return LinResult{}, err
		}
	}
	all := toPorcupine(history)
	keys, perKey := splitByKey(all)
	result := LinResult{Keys: len(keys), Operations: len(all), options: o}
	memory := newMemoryBudget(o.MemoryBudgetBytes)
	verdictBounds := bounds{memory: memory}
	if o.Timeout > 0 {
		verdictBounds.deadline = start.Add(o.Timeout)
	}

	settle := o.ExplainTimeout // settling which illegal key to report is part of explaining
	if settle < 0 {
		settle = -1
	}
	d := decideKeys(perKey, verdictBounds, settle)
	switch {
	case d.illegal >= 0:
		result.Verdict = Illegal
		result.Key = keys[d.illegal]
		result.viewOperations = perKey[d.illegal]
		result.illegalSteps = d.illegalSteps
		explainStart := d.verdictAt
		witness := perKey[d.illegal]
		var note string
		if o.ExplainTimeout > 0 {
			explainBounds := bounds{deadline: explainStart.Add(o.ExplainTimeout), memory: memory,
				stepsMax: fixedSteps(shrinkStepsFactor*d.illegalSteps + shrinkStepsMin)}
			var stop stopReason
			witness, stop = shrinkIllegal(perKey[d.illegal], explainBounds)
			note = shrinkNote(stop, o)
			result.explanation = explainIllegal(result.Key, witness, len(perKey[d.illegal]), note, explainBounds, o.timeFormat())
		} else {
			witness = sortedByCall(witness)
		}
		if d.cut {
			result.cutNote = fmt.Sprintf("(Another key may have an illegal history with a shorter proof: the %s was hit before that was settled, so another run may report another key.)\n", d.cutReason)
		}
		result.Ops = fromPorcupine(history, witness)
		result.ExplainElapsed = time.Since(explainStart)
	case d.stopped >= 0:
		result.Verdict = Unknown
		result.Key = keys[d.stopped]
		result.Reason = d.stop.unknownReason()
		result.viewOperations = perKey[d.stopped]
	default:
		result.Verdict = Ok
		result.viewOperations = all
	}
	result.Elapsed = time.Since(start)
	return result, nil
}

// decision is what the searches of all keys found.
type decision struct {
	illegal      int       // index of the key reported illegal; -1: none
	illegalSteps int64     // steps of its proof
	verdictAt    time.Time // when the first key was proven illegal
	stopped      int       // first key (sorted order) stopped by the time or memory bound; -1: none
	stop         stopReason
	// cut: an illegal key was found, but some search was stopped by a bound before it could
	// rule out a shorter proof, so the choice of key may differ between runs; cutReason names
	// the bound.
	cut       bool
	cutReason string
}

// decideKeys searches every key's operations side by side. The verdict is Illegal as soon as
// one key is proven illegal (verdictAt); the other searches then go on for at most settle, and
// only as far as they could still find a shorter proof (see Check), to settle which key to
// report. settle < 0: they stop at once, and the key reported is the one found first.
func decideKeys(perKey [][]porcupine.Operation, b bounds, settle time.Duration) decision {
	stepsMax := fixedSteps(math.MaxInt64)
	b.stepsMax = stepsMax
	results := make([]searchResult, len(perKey))
	d := decision{illegal: -1, stopped: -1}
	var found sync.Mutex // guards d's illegal key, and halted
	halted := false      // every search was told to stop: stepsMax stays 0
	firstIllegal := make(chan struct{})
	decide := func(i int) {
		r := search(perKey[i], false, b)
		results[i] = r
		if r.verdict != porcupine.Illegal {
			return
		}
		found.Lock()
		defer found.Unlock()
		if d.illegal < 0 {
			d.verdictAt = time.Now()
			close(firstIllegal)
		}
		if d.illegal < 0 || r.steps < d.illegalSteps || (r.steps == d.illegalSteps && i < d.illegal) {
			d.illegal, d.illegalSteps = i, r.steps
			// A search that passes r.steps cannot have a shorter proof. One that stops at
			// exactly r.steps with a smaller index could tie, and is let finish.
			if !halted {
				stepsMax.Store(r.steps)
			}
		}
	}
	halt := func() {
		found.Lock()
		defer found.Unlock()
		halted = true
		stepsMax.Store(0)
	}

	settleCut := false
	if len(perKey) == 1 {
		decide(0) // no goroutine to hand the one search over to, nothing to settle
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			slots := make(chan struct{}, searchesInFlightMax)
			var searches sync.WaitGroup
			for i := range perKey {
				slots <- struct{}{}
				searches.Add(1)
				go func() {
					defer func() {
						<-slots
						searches.Done()
					}()
					decide(i)
				}()
			}
			searches.Wait()
		}()
		select {
		case <-done:
		case <-firstIllegal:
			if settle < 0 {
				halt()
				break
			}
			select {
			case <-done:
			case <-time.After(settle):
				halt()
				settleCut = true
			}
		}
		<-done
	}

	for i, r := range results {
		if (r.stop == stoppedByTime || r.stop == stoppedByMemory) && d.stopped < 0 {
			d.stopped, d.stop = i, r.stop
		}
	}
	switch {
	case d.illegal < 0:
	case d.stopped >= 0:
		d.cut, d.cutReason = true, d.stop.unknownReason()
	case settleCut:
		d.cut, d.cutReason = true, "explanation's time budget"
	}
	return d
}

// toPorcupine converts a validated history, dropping pending Gets. Metadata holds the index of
// the operation in history, to map explanations back to the caller's records.
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
		if op.Pending && op.Kind == OpGet {
			continue // a read whose result nobody saw constrains nothing
		}
		returnAt := op.Return
		row := op.Client
		if op.Pending {
			returnAt = pendingReturnNs
			row = pendingRow
			pendingRow++
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
			Return:   returnAt,
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

// visualizationInfo returns what WriteVisualization draws: for Illegal the illegal key's
// search again, with Porcupine's partial linearizations, stopped at the step that proved it;
// for Unknown the key that hit a bound, searched again for visualizeUnknownBound;
// for Ok the whole history with its linearization, under the verdict's time bound.
func (r LinResult) visualizationInfo() (porcupine.Model, porcupine.LinearizationInfo) {
	o := r.options.withDefaults()
	if r.Verdict == Ok {
		_, info := porcupine.CheckOperationsVerbose(KVModel(), r.viewOperations, max(o.Timeout, 0))
		return KVModel(), info
	}
	b := bounds{memory: newMemoryBudget(o.MemoryBudgetBytes), deadline: time.Now().Add(visualizeUnknownBound)}
	if r.Verdict == Illegal {
		b.deadline = time.Time{}
		if o.Timeout > 0 {
			b.deadline = time.Now().Add(o.Timeout)
		}
		b.stepsMax = fixedSteps(r.illegalSteps)
	}
	return singleKeyModel(), search(r.viewOperations, true, b).info
}

// Describe says in plain words what the check found. For Illegal it lists the explaining
// operations (client, kind, arguments, output, call and return times) and why no order of
// them works, e.g. that a get returned "x" when the value could only be "y".
func (r LinResult) Describe() string {
	switch r.Verdict {
	case Ok:
		return fmt.Sprintf("linearizable: %d operations on %d keys checked in %v", r.Operations, r.Keys, r.Elapsed.Round(time.Millisecond))
	case Illegal:
		explanation := r.explanation
		if explanation == "" {
			explanation = explainUnexplained(r.Key, r.Ops, r.options.timeFormat())
		}
		return "not linearizable: " + explanation + r.cutNote
	default:
		if r.Key == "" {
			return fmt.Sprintf("unknown: the check of %d operations on %d keys did not finish", r.Operations, r.Keys)
		}
		bound := fmt.Sprintf("time bound of %v", r.options.Timeout)
		if r.Reason == ReasonMemoryBound {
			bound = fmt.Sprintf("memory bound of %s", formatBytes(r.options.MemoryBudgetBytes))
		}
		return fmt.Sprintf("unknown: the %s was hit after %v while checking key %q (%d operations); no key was found illegal, but this is not a pass",
			bound, r.Elapsed.Round(time.Millisecond), r.Key, len(r.viewOperations))
	}
}

// formatBytes renders a byte count in MiB or GiB.
func formatBytes(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
