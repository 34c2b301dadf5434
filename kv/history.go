package kv

import (
	"fmt"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
)

// OpKind is the kind of a KV operation. It is the checker's: commands, the clients' histories
// and the linearizability check share one numbering (OpGet is 1; 0 is no kind).
type OpKind = checker.OpKind

// The KV operations.
const (
	OpGet    = checker.OpGet    // read a key ("" when missing)
	OpPut    = checker.OpPut    // set a key
	OpAppend = checker.OpAppend // append to a key's value (a missing key counts as "")
	OpCAS    = checker.OpCAS    // set a key to Value if its current value equals Expected
)

// Record is one client call as the client saw it: what it asked, what it was told, and when.
// Its Op is exactly what the linearizability checker takes (and its JSON form is a line of the
// checker's history format); times are global virtual time in nanoseconds (the run's clock, not
// a node's skewed clock), and Client is the clerk's sim node id. Op.OK is the CAS result; for
// other kinds it is true once the call returned.
type Record struct {
	checker.Op
	// GaveUp: the clerk stopped retrying the call at GaveUpAt (its attempt cap), so it stays
	// Pending; the call was no longer outstanding after that instant.
	GaveUp   bool
	GaveUpAt sim.Time
}

// String describes the call in one line, e.g. `client 4 append("k1", "4.7;") @1.2s..1.25s`.
func (r Record) String() string {
	args := fmt.Sprintf("%q", r.Key)
	switch r.Kind {
	case OpPut, OpAppend:
		args += fmt.Sprintf(", %q", r.Value)
	case OpCAS:
		args += fmt.Sprintf(", %q, %q", r.Expected, r.Value)
	}
	s := fmt.Sprintf("client %d %s(%s) @%v", r.Client, r.Kind, args, sim.Time(r.Call))
	if r.Pending {
		return s + " pending"
	}
	s += fmt.Sprintf("..%v", sim.Time(r.Return))
	switch r.Kind {
	case OpGet:
		s += fmt.Sprintf(" -> %q", r.Output)
	case OpCAS:
		s += fmt.Sprintf(" -> %v", r.OK)
	}
	return s
}

// CallID identifies a call recorded in a History.
type CallID int

// History collects the calls of every clerk of one run, in invocation order (the order in which
// the calls were made, which is the simulation's event order). It is append-only: a call is
// recorded Pending when invoked and completed in place when its reply arrives, so calls still in
// progress when the run stops are Pending in Records.
//
// One History is shared by all clerks of a run and outlives their incarnations; it is
// instrumentation owned by the harness, not state of any simulated node.
type History struct {
	records []Record
	// now returns the global virtual time used to stamp calls.
	now func() sim.Time
	// observe, when set, is told of every invocation, completion and give-up (SetObserver).
	observe func(id CallID, r Record)
}

// SetObserver has f told of every call as it is invoked, completed or given up, with the
// record as it stands then (instrumentation for traces and timelines: f must not affect the
// run).
func (h *History) SetObserver(f func(id CallID, r Record)) { h.observe = f }

func (h *History) notify(id CallID) {
	if h.observe != nil {
		h.observe(id, h.records[id])
	}
}

// NewHistory returns an empty history whose calls are stamped with now(), normally the run's
// global clock (Sim.Now), so that calls of clerks with skewed local clocks stay comparable.
func NewHistory(now func() sim.Time) *History {
	if now == nil {
		panic("kv: NewHistory needs a clock (e.g. the run's Sim.Now)")
	}
	return &History{now: now}
}

// Now returns the history's clock reading.
func (h *History) Now() sim.Time { return h.now() }

// Invoke records the start of a call and returns its id.
func (h *History) Invoke(client int, c *Command) CallID {
	h.records = append(h.records, Record{Op: checker.Op{
		Client:   client,
		Kind:     c.Kind,
		Key:      c.Key,
		Value:    c.Value,
		Expected: c.Expected,
		Call:     int64(h.now()),
		Pending:  true,
	}})
	id := CallID(len(h.records) - 1)
	h.notify(id)
	return id
}

// Complete records the outcome of call id, which must be pending. For a Get, output is the value
// read; for a CAS, ok is whether it swapped (ok is forced true for Put/Append).
func (h *History) Complete(id CallID, output string, ok bool) {
	r := &h.records[id]
	if !r.Pending {
		panic(fmt.Sprintf("kv: History.Complete of call %d (%s), which already completed", id, r))
	}
	r.Pending = false
	r.Return = int64(h.now())
	switch r.Kind {
	case OpGet:
		r.Output, r.OK = output, true
	case OpCAS:
		r.OK = ok
	default:
		r.OK = true
	}
	h.notify(id)
}

// GiveUp records that the clerk abandoned call id, which must be pending: its outcome stays
// unknown.
func (h *History) GiveUp(id CallID) {
	r := &h.records[id]
	if !r.Pending || r.GaveUp {
		panic(fmt.Sprintf("kv: History.GiveUp of call %d (%s), which is not outstanding", id, r))
	}
	r.GaveUp, r.GaveUpAt = true, h.now()
	h.notify(id)
}

// Outstanding returns the number of calls still in progress: pending and not given up.
func (h *History) Outstanding() int {
	n := 0
	for i := range h.records {
		if h.records[i].Pending && !h.records[i].GaveUp {
			n++
		}
	}
	return n
}

// Records returns the calls in invocation order. The slice is the history's own: read it, do
// not modify it.
func (h *History) Records() []Record { return h.records }

// Len returns the number of calls recorded.
func (h *History) Len() int { return len(h.records) }

// Pending returns the number of calls whose outcome is unknown.
func (h *History) Pending() int {
	n := 0
	for i := range h.records {
		if h.records[i].Pending {
			n++
		}
	}
	return n
}
