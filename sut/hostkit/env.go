package hostkit

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// TickTag is the timer tag a host uses for its library's clock; service timer tags must have
// its bit (the top bit) clear.
const TickTag = 1 << 63

// Env is the part of sut.Host that only passes through to the node's sim.Env, with the checks
// that keep a service off the host's message tag and timer tags. A host embeds it and calls
// Bind at every start.
type Env struct {
	env   *sim.Env
	id    sim.NodeID
	peers []sim.NodeID
}

// Bind attaches e to one incarnation of a node of the cluster peers.
func (e *Env) Bind(env *sim.Env, peers []sim.NodeID) {
	e.env, e.id, e.peers = env, env.ID(), peers
}

// SimEnv is the node's sim.Env, for the host itself.
func (e *Env) SimEnv() *sim.Env { return e.env }

// ID returns this node's sim node id.
func (e *Env) ID() sim.NodeID { return e.id }

// Peers returns the consensus servers of the cluster; do not modify.
func (e *Env) Peers() []sim.NodeID { return e.peers }

// Now returns the node's local clock.
func (e *Env) Now() sim.Time { return e.env.Now() }

// Send sends a service payload; its first byte must not be sut.TagConsensus.
func (e *Env) Send(to sim.NodeID, payload []byte) {
	if len(payload) == 0 || payload[0] == sut.TagConsensus {
		panic(fmt.Sprintf("hostkit: node %d: service payloads must start with a tag other than %q", e.id, sut.TagConsensus))
	}
	e.env.Send(to, payload)
}

// SetTimer sets a service timer; Service.Timer(tag) is called when it fires. TickTag's bit is
// reserved for the host.
func (e *Env) SetTimer(after sim.Time, tag uint64) sim.TimerID {
	if tag&TickTag != 0 {
		panic(fmt.Sprintf("hostkit: node %d: service timer tag %#x uses the host's reserved top bit", e.id, tag))
	}
	return e.env.SetTimer(after, tag)
}

// CancelTimer cancels a service timer.
func (e *Env) CancelTimer(id sim.TimerID) { e.env.CancelTimer(id) }

// Rand returns the node's PRNG stream (shared with the library's election jitter).
func (e *Env) Rand() *sim.Rand { return e.env.Rand() }

// Tracing reports whether the run keeps a trace.
func (e *Env) Tracing() bool { return e.env.Tracing() }

// Logf adds a note to the trace.
func (e *Env) Logf(format string, args ...any) { e.env.Logf(format, args...) }
