package sim

import (
	"fmt"
	"strconv"
)

// Env is a node's only door to the world: clock, network, timers, randomness, disk, trace.
// It is valid for one incarnation: once the node crashes, calls through it are ignored
// (SetTimer returns 0, Disk reads return nil).
type Env struct {
	sim         *Sim
	state       *nodeState
	id          NodeID
	incarnation uint32
	rand        *Rand
	disk        Disk
}

func (e *Env) live() bool {
	return e.state.up && e.state.incarnation == e.incarnation
}

// ID returns the node's id.
func (e *Env) ID() NodeID { return e.id }

// Now returns the node-local clock, which runs at the rate set by Sim.SetClockRate.
func (e *Env) Now() Time { return e.state.localTime(e.sim.now) }

// Send sends a copy of payload to node `to` through the network model. The caller may reuse
// payload as soon as Send returns.
func (e *Env) Send(to NodeID, payload []byte) {
	if !e.live() {
		return
	}
	if e.sim.cfg.OnSend != nil {
		e.sim.cfg.OnSend(e.id, to, payload)
	}
	e.sim.net.send(e.id, to, payload)
}

// SetTimer arranges for Timer(tag) to be called `after` from now, measured on the node-local
// clock. after must not be negative; 0 fires at this instant, after what is already queued.
func (e *Env) SetTimer(after Time, tag uint64) TimerID {
	if after < 0 {
		panic(fmt.Sprintf("sim: node %d SetTimer(%v, %d) with a negative delay", e.id, after, tag))
	}
	if !e.live() {
		return 0
	}
	s := e.sim
	slot, gen := s.allocTimer(e.id)
	t := &s.timers[slot]
	t.tag = tag
	t.epoch = e.incarnation
	s.push(event{at: s.now + e.state.globalDelay(after), slot: slot, gen: gen}, eventNodeTimer)
	return makeTimerID(slot, gen)
}

// CancelTimer cancels one of this node's timers: it never fires. Unknown ids, fired ids and
// other nodes' ids are a no-op.
func (e *Env) CancelTimer(id TimerID) {
	if !e.live() {
		return
	}
	s := e.sim
	slot, ok := s.liveTimerSlot(id)
	if !ok || s.timers[slot].owner != e.id {
		return
	}
	s.cancelSlot(slot)
}

// Rand returns this node's stream, keyed by virtual instant: what the node draws at time t
// depends only on (seed, node, t) and on its earlier draws at t, not on its history. Nodes do
// not shift each other's draws, and removing a fault early in a run does not reshuffle the
// draws of later instants. A node that needs a sequence instead (the k-th operation of a
// workload, whenever it happens) seeds a stream of its own from a draw of this one.
func (e *Env) Rand() *Rand {
	if e.rand == nil {
		e.rand = newInstantRand(e.sim.cfg.Seed, NodeStreamName(e.id), &e.sim.now)
	}
	return e.rand
}

// NodeStreamName is the name of the stream behind Env.Rand for a node (all incarnations).
func NodeStreamName(id NodeID) string {
	return "node/" + strconv.Itoa(int(id))
}

// Disk returns this node's disk.
func (e *Env) Disk() *Disk { return &e.disk }

// Tracing reports whether a trace sink is set; guard expensive Logf arguments with it.
func (e *Env) Tracing() bool { return e.sim.cfg.Trace != nil }

// Logf adds a note to the human-readable trace; it does nothing when not tracing. Notes are
// not part of the trace hash.
func (e *Env) Logf(format string, args ...any) {
	if e.sim.cfg.Trace == nil || !e.live() {
		return
	}
	e.sim.emit(e.id, "note", fmt.Sprintf(format, args...))
}
