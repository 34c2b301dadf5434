package checker

import (
	"math"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// A search is one Porcupine check of one key's operations, under bounds that Porcupine has no
// option for. They are enforced from inside the model's Step function, the only code of ours
// that runs during Porcupine's depth-first search: once a bound is hit, every further Step
// refuses, so the search backtracks to its root and returns within a few steps per operation,
// and its verdict is ignored. Refusing can only hide linearizations, never invent one, and a
// search whose Steps never refused is exactly Porcupine's own.
//
// Steps count the search's work. Porcupine's search is deterministic for a given sub-history
// (its order, its cache keyed by a fixed hash), so the number of Steps a search takes to reach
// its verdict is too; a step bound therefore stops a search at the same point on every run,
// which the time and memory bounds cannot promise.

// stopReason says why a search stopped before its verdict.
type stopReason uint8

const (
	notStopped      stopReason = iota
	stoppedBySteps             // its step bound: a shorter proof elsewhere, or a shrinking candidate's budget
	stoppedByTime              // the time bound
	stoppedByMemory            // the memory budget
)

// Unknown reasons (LinResult.Reason).
const (
	ReasonTimeBound   = "time bound"
	ReasonMemoryBound = "memory bound"
)

func (s stopReason) unknownReason() string {
	if s == stoppedByMemory {
		return ReasonMemoryBound
	}
	return ReasonTimeBound
}

// boundName names the bound that stopped an explanation's search.
func (s stopReason) boundName() string {
	switch s {
	case stoppedByTime:
		return "time budget"
	case stoppedByMemory:
		return "memory budget"
	}
	return "work limit"
}

// boundCheckSteps is how often (in Steps) a search reads the clock and the heap size: often
// enough that a bound is overshot by well under a millisecond of search, rarely enough that the
// reads (about 50 and 250 ns) cost under 1% of it.
const boundCheckSteps = 1024

// heapObjectsMetric is the Go heap's bytes in objects, live or not yet swept: what the process's
// memory follows, garbage included.
const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

// memoryBudget bounds how much the Go heap may grow while a check runs.
type memoryBudget struct {
	limitBytes uint64 // heap objects bytes at which searches stop
}

// newMemoryBudget starts a budget of budgetBytes over the heap as it is now (nil: no budget).
func newMemoryBudget(budgetBytes int64) *memoryBudget {
	if budgetBytes <= 0 {
		return nil
	}
	return &memoryBudget{limitBytes: heapObjectBytes() + uint64(budgetBytes)}
}

func heapObjectBytes() uint64 {
	sample := []metrics.Sample{{Name: heapObjectsMetric}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		panic("checker: runtime/metrics has no " + heapObjectsMetric)
	}
	return sample[0].Value.Uint64()
}

// bounds limit a search. A zero bounds does not limit it at all.
type bounds struct {
	deadline time.Time     // zero: no time bound
	memory   *memoryBudget // nil: no memory bound
	// stepsMax is read on every Step, so that another goroutine may lower it while the search
	// runs; nil: no step bound.
	stepsMax *atomic.Int64
}

func fixedSteps(steps int64) *atomic.Int64 {
	var max atomic.Int64
	max.Store(steps)
	return &max
}

// searchResult is the outcome of one search.
type searchResult struct {
	verdict porcupine.CheckResult // Ok or Illegal, or Unknown when stopped
	stop    stopReason
	steps   int64 // Steps taken (the refused one that stopped it included)
	info    porcupine.LinearizationInfo
}

// search checks one key's operations (already split per key) with Porcupine within b. verbose
// asks for Porcupine's partial linearizations, which the explanation and the visualization
// need and which cost extra work on every backtrack.
func search(operations []porcupine.Operation, verbose bool, b bounds) searchResult {
	stepsMax := int64(math.MaxInt64)
	var r searchResult
	model := singleKeyModel()
	// Step runs on Porcupine's goroutine; r is read only after Porcupine returned.
	model.Step = func(state, input, output interface{}) (bool, interface{}) {
		if r.stop != notStopped {
			return false, state
		}
		r.steps++
		if b.stepsMax != nil {
			stepsMax = b.stepsMax.Load()
		}
		if r.steps > stepsMax {
			r.stop = stoppedBySteps
			return false, state
		}
		if r.steps%boundCheckSteps == 0 {
			if !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
				r.stop = stoppedByTime
				return false, state
			}
			if b.memory != nil && heapObjectBytes() >= b.memory.limitBytes {
				r.stop = stoppedByMemory
				return false, state
			}
		}
		return stepKV(state, input, output)
	}
	if !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
		return searchResult{verdict: porcupine.Unknown, stop: stoppedByTime}
	}
	if verbose {
		r.verdict, r.info = porcupine.CheckOperationsVerbose(model, operations, 0)
	} else {
		r.verdict = porcupine.CheckOperationsTimeout(model, operations, 0)
	}
	if r.stop != notStopped {
		r.verdict = porcupine.Unknown
	}
	return r
}
