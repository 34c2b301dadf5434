package sim_test

import (
	"encoding/binary"
	"fmt"

	"github.com/raftsim/raftsim/sim"
)

// probe is a scriptable test node: each hook is optional, and every incarnation is recorded in
// the owning harness so that tests can reach the current Node value.
type probe struct {
	harness *harness
	env     *sim.Env
}

// harness owns the hooks shared by all probes and a log of what they observed.
type harness struct {
	s         *sim.Sim
	probes    []*probe // current incarnation of each node
	onStart   func(p *probe)
	onReceive func(p *probe, from sim.NodeID, payload []byte)
	onTimer   func(p *probe, tag uint64)
	log       []string
}

func newHarness(cfg sim.Config, nodes int) *harness {
	h := &harness{s: sim.New(cfg)}
	h.probes = make([]*probe, nodes)
	for i := 0; i < nodes; i++ {
		h.s.AddNode(fmt.Sprintf("n%d", i), func(id sim.NodeID) sim.Node {
			p := &probe{harness: h}
			h.probes[id] = p
			return p
		})
	}
	return h
}

func (h *harness) startAll() {
	for i := range h.probes {
		h.s.Start(sim.NodeID(i))
	}
}

func (h *harness) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

func (p *probe) Start(env *sim.Env) {
	p.env = env
	if p.harness.onStart != nil {
		p.harness.onStart(p)
	}
}

func (p *probe) Receive(from sim.NodeID, payload []byte) {
	if p.harness.onReceive != nil {
		p.harness.onReceive(p, from, payload)
	}
}

func (p *probe) Timer(tag uint64) {
	if p.harness.onTimer != nil {
		p.harness.onTimer(p, tag)
	}
}

func encodeUint64(v uint64) []byte {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	return buf[:]
}

func decodeUint64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// chatterNode is the node of the determinism workload: it ticks on a jittered timer, sends
// messages of varying size to random peers, answers some of them, and persists a counter
// (synced only sometimes, so crashes lose some of it).
type chatterNode struct {
	env      *sim.Env
	nodes    int
	received uint64
	buf      []byte
}

func (c *chatterNode) Start(env *sim.Env) {
	c.env = env
	if saved := env.Disk().Read("received"); saved != nil {
		c.received = decodeUint64(saved)
	}
	env.SetTimer(env.Rand().Between(sim.Millisecond, 10*sim.Millisecond), 1)
}

func (c *chatterNode) Receive(from sim.NodeID, payload []byte) {
	c.received++
	c.env.Disk().Write("received", encodeUint64(c.received))
	c.env.Disk().Append("log", payload[:8])
	if c.env.Rand().Chance(0.3) {
		c.env.Disk().Sync()
	}
	if payload[8] == 0 { // a request: answer it
		c.send(from, 1)
	}
}

func (c *chatterNode) Timer(tag uint64) {
	peer := sim.NodeID(c.env.Rand().Intn(c.nodes))
	c.send(peer, 0)
	if c.env.Rand().Chance(0.1) {
		id := c.env.SetTimer(5*sim.Millisecond, 99)
		c.env.CancelTimer(id)
	}
	c.env.SetTimer(c.env.Rand().Between(sim.Millisecond, 10*sim.Millisecond), tag+1)
}

func (c *chatterNode) send(to sim.NodeID, kind byte) {
	size := 9 + c.env.Rand().Intn(200)
	c.buf = c.buf[:0]
	c.buf = binary.LittleEndian.AppendUint64(c.buf, c.received)
	c.buf = append(c.buf, kind)
	for len(c.buf) < size {
		c.buf = append(c.buf, byte(c.env.Rand().Uint64()))
	}
	c.env.Send(to, c.buf)
}

// workloadConfig exercises every part of the kernel: network faults, crashes and restarts,
// pauses, partitions, clock skew.
func workloadConfig(seed uint64) sim.Config {
	return sim.Config{
		Seed:    seed,
		MaxTime: 5 * sim.Second,
		Network: sim.NetworkConfig{
			LatencyMin:    sim.Millisecond,
			LatencyMax:    20 * sim.Millisecond,
			DropRate:      0.05,
			DuplicateRate: 0.05,
			LongDelayRate: 0.02,
			LongDelayMax:  200 * sim.Millisecond,
		},
	}
}

// runWorkload runs the determinism workload and returns the simulation after the run.
func runWorkload(cfg sim.Config) (*sim.Sim, sim.Result) {
	const nodes = 5
	s := sim.New(cfg)
	for i := 0; i < nodes; i++ {
		s.AddNode(fmt.Sprintf("n%d", i), func(sim.NodeID) sim.Node { return &chatterNode{nodes: nodes} })
	}
	for i := 0; i < nodes; i++ {
		s.Start(sim.NodeID(i))
	}
	faults := s.Rand("faults")
	var inject func()
	inject = func() {
		victim := sim.NodeID(faults.Intn(nodes))
		switch faults.Intn(5) {
		case 0:
			s.Crash(victim)
			s.After(faults.Between(0, 50*sim.Millisecond), "restart", func() { s.Restart(victim) })
		case 1:
			s.Pause(victim)
			s.After(faults.Between(0, 50*sim.Millisecond), "resume", func() { s.Resume(victim) })
		case 2:
			perm := faults.Perm(nodes)
			groupA := make([]sim.NodeID, 0, nodes)
			groupB := make([]sim.NodeID, 0, nodes)
			for i, id := range perm {
				if i < nodes/2 {
					groupA = append(groupA, sim.NodeID(id))
				} else {
					groupB = append(groupB, sim.NodeID(id))
				}
			}
			s.Net().Partition(groupA, groupB)
		case 3:
			s.Net().Heal()
		case 4:
			s.SetClockRate(victim, 0.8+0.4*faults.Float64())
		}
		s.After(faults.Between(10*sim.Millisecond, 100*sim.Millisecond), "fault", inject)
	}
	s.After(20*sim.Millisecond, "fault", inject)
	result := s.Run()
	return s, result
}
