package sim

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// NetworkConfig is the message fault model. Every random decision has its own stream per
// sender ("net/latency/<from>", "net/drop/<from>", "net/dup/<from>", "net/delay/<from>"), so
// changing one rate does not shift the draws of the others. A stream is not drawn from while
// its rate is 0 (or, for latency, while LatencyMin == LatencyMax). A duplicate's latency and
// long delay are drawn from "net/dup/<from>". The streams are keyed by virtual instant (see
// Env.Rand): the fate of a message depends on its sender, its send time and the sender's
// earlier sends at that instant, not on the traffic before it.
type NetworkConfig struct {
	LatencyMin, LatencyMax Time    // per message, uniform in [min, max]; reordering comes from this
	DropRate               float64 // per message
	DuplicateRate          float64 // per message: a second copy with its own latency
	LongDelayRate          float64 // per message copy: extra delay uniform in (0, LongDelayMax]
	LongDelayMax           Time
	// Ordered makes every link deliver in send order, as a TCP connection does: a message's
	// arrival is held back to the latest arrival scheduled before it on the same link (loss,
	// duplication and delay still apply). For systems whose real transport is ordered.
	Ordered bool
	// MaxInFlight bounds the messages in flight; a message beyond it is dropped and counted in
	// Stats.Dropped.InFlightLimit (0 = DefaultMaxInFlight).
	MaxInFlight int
	// MaxMessageBytes: a larger message panics, since it is a bug in the sender
	// (0 = DefaultMaxMessageBytes).
	MaxMessageBytes int
}

// Defaults used when the corresponding NetworkConfig field is zero.
const (
	DefaultMaxInFlight     = 100_000
	DefaultMaxMessageBytes = 16 << 20
)

// Network is the simulated network: the fault model plus a connectivity matrix over all nodes
// in which each direction of each link is up or down. All links are up initially.
//
// Links are checked twice: at send time (a message sent over a cut link is dropped at once)
// and at delivery time (a link cut while a message is in flight drops it on arrival). The
// second check models a partition as "nothing crosses while it lasts", which is what fault
// schedules and the liveness check assume; a message never sneaks across a cut that
// started after it was sent.
type Network struct {
	sim *Sim
	cfg NetworkConfig
	// cut[from][to] is true when the link from -> to is down (the zero value is "up").
	cut [][]bool
	// lastArrival[from][to] is the latest arrival scheduled on the link (Ordered only).
	lastArrival [][]Time
	// dropNext[from][to] is true when the next message sent from -> to is to be dropped.
	dropNext [][]bool
	// Per-sender streams, indexed by NodeID.
	latencyRand, dropRand, dupRand, longDelayRand []*Rand
}

func (n *Network) init(s *Sim, cfg NetworkConfig) {
	n.sim = s
	n.SetConfig(cfg)
}

func (n *Network) addNode() {
	for from := range n.cut {
		n.cut[from] = append(n.cut[from], false)
	}
	n.cut = append(n.cut, make([]bool, len(n.cut)+1))
	for from := range n.lastArrival {
		n.lastArrival[from] = append(n.lastArrival[from], 0)
	}
	n.lastArrival = append(n.lastArrival, make([]Time, len(n.cut)))
	for from := range n.dropNext {
		n.dropNext[from] = append(n.dropNext[from], false)
	}
	n.dropNext = append(n.dropNext, make([]bool, len(n.cut)))
	from := strconv.Itoa(len(n.cut) - 1)
	stream := func(concern string) *Rand {
		return newInstantRand(n.sim.cfg.Seed, "net/"+concern+"/"+from, &n.sim.now)
	}
	n.latencyRand = append(n.latencyRand, stream("latency"))
	n.dropRand = append(n.dropRand, stream("drop"))
	n.dupRand = append(n.dupRand, stream("dup"))
	n.longDelayRand = append(n.longDelayRand, stream("delay"))
}

// Config returns the configuration in force, with defaults filled in.
func (n *Network) Config() NetworkConfig { return n.cfg }

// SetConfig replaces the fault model from now on (messages in flight keep their schedule).
// It panics on an invalid configuration.
func (n *Network) SetConfig(c NetworkConfig) {
	if c.LatencyMin < 0 || c.LatencyMax < c.LatencyMin {
		panic(fmt.Sprintf("sim: NetworkConfig latency [%v, %v] must satisfy 0 <= min <= max", c.LatencyMin, c.LatencyMax))
	}
	for _, rate := range []float64{c.DropRate, c.DuplicateRate, c.LongDelayRate} {
		if !(rate >= 0 && rate <= 1) {
			panic(fmt.Sprintf("sim: NetworkConfig rate %v must be in [0, 1]", rate))
		}
	}
	if c.LongDelayMax < 0 || (c.LongDelayRate > 0 && c.LongDelayMax == 0) {
		panic("sim: NetworkConfig.LongDelayMax must be positive when LongDelayRate > 0")
	}
	if c.MaxInFlight < 0 || c.MaxMessageBytes < 0 {
		panic("sim: NetworkConfig.MaxInFlight and MaxMessageBytes must not be negative")
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	n.cfg = c
}

func (n *Network) checkNode(id NodeID) {
	if id < 0 || int(id) >= len(n.cut) {
		panic(fmt.Sprintf("sim: network: unknown node %d (have %d nodes)", id, len(n.cut)))
	}
}

// SetLink sets one direction of one link.
func (n *Network) SetLink(from, to NodeID, up bool) {
	n.checkNode(from)
	n.checkNode(to)
	n.cut[from][to] = !up
	var upBit uint64
	if up {
		upBit = 1
	}
	n.sim.fold(codeLink, from, uint64(uint32(to)), upBit)
	if n.sim.cfg.Trace != nil {
		state := "down"
		if up {
			state = "up"
		}
		n.sim.emit(KernelNode, "link", fmt.Sprintf("%s->%s %s", n.sim.nodes[from].name, n.sim.nodes[to].name, state))
	}
}

// Link reports whether messages from -> to can pass.
func (n *Network) Link(from, to NodeID) bool {
	n.checkNode(from)
	n.checkNode(to)
	return !n.cut[from][to]
}

// Partition cuts, in both directions, every link between nodes of different listed groups.
// It changes nothing else: links inside a group, and all links of nodes listed in no group,
// keep their current state (call Heal first for a fresh partition). A node listed twice panics.
func (n *Network) Partition(groups ...[]NodeID) {
	groupOf := make([]int, len(n.cut)) // 0: not listed, else group index + 1
	for g, group := range groups {
		for _, id := range group {
			n.checkNode(id)
			if groupOf[id] != 0 {
				panic(fmt.Sprintf("sim: Partition lists node %d in two groups", id))
			}
			groupOf[id] = g + 1
		}
	}
	for from := range n.cut {
		for to := range n.cut[from] {
			if groupOf[from] != 0 && groupOf[to] != 0 && groupOf[from] != groupOf[to] {
				n.cut[from][to] = true
			}
		}
	}
	n.foldMatrix(func() string { return "partition " + n.formatGroups(groups) })
}

// Isolate cuts every link to and from id (its link to itself stays up).
func (n *Network) Isolate(id NodeID) {
	n.checkNode(id)
	for other := range n.cut {
		if NodeID(other) != id {
			n.cut[id][other] = true
			n.cut[other][id] = true
		}
	}
	n.foldMatrix(func() string { return "isolate " + n.sim.nodes[id].name })
}

// DropNext drops the next message sent from -> to (at its send, whatever the link state and
// the random fault model decide for it; their draws are made as usual). Asking twice before
// that message is sent still drops one message.
func (n *Network) DropNext(from, to NodeID) {
	n.checkNode(from)
	n.checkNode(to)
	n.dropNext[from][to] = true
	n.sim.fold(codeLink, from, uint64(uint32(to)), dropNextCode)
	if n.sim.cfg.Trace != nil {
		n.sim.emit(KernelNode, "link", fmt.Sprintf("%d->%d drops its next message", from, to))
	}
}

// dropNextCode is what DropNext folds in place of SetLink's up bit.
const dropNextCode = 2

// Heal brings every link up and cancels every pending DropNext.
func (n *Network) Heal() {
	for from := range n.cut {
		clear(n.cut[from])
		clear(n.dropNext[from])
	}
	n.foldMatrix(func() string { return "heal" })
}

// foldMatrix folds the whole matrix into the trace hash after a bulk change; what describes the
// change for the trace.
func (n *Network) foldMatrix(what func() string) {
	h := uint64(fnvOffset64)
	for from := range n.cut {
		for to, cut := range n.cut[from] {
			if cut {
				h = (h ^ uint64(from)<<32 ^ uint64(to)) * fnvPrime64
			}
		}
	}
	n.sim.fold(codeLink, KernelNode, h, uint64(len(n.cut)))
	if n.sim.cfg.Trace != nil {
		n.sim.emit(KernelNode, "link", what())
	}
}

func (n *Network) formatGroups(groups [][]NodeID) string {
	var b strings.Builder
	for g, group := range groups {
		if g > 0 {
			b.WriteString(" | ")
		}
		for i, id := range group {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n.sim.nodes[id].name)
		}
	}
	return b.String()
}

// String shows the matrix: row = sender, column = receiver, '.' up, 'x' cut.
func (n *Network) String() string {
	width := len(strconv.Itoa(len(n.cut)))
	if width < 2 {
		width = 2
	}
	pad := func(s string) string { return strings.Repeat(" ", width-len(s)) + s }
	var b strings.Builder
	b.WriteString("from\\to")
	for to := range n.cut {
		b.WriteByte(' ')
		b.WriteString(pad(strconv.Itoa(to)))
	}
	b.WriteByte('\n')
	for from := range n.cut {
		b.WriteString(strings.Repeat(" ", len("from\\to")-width))
		b.WriteString(pad(strconv.Itoa(from)))
		for to := range n.cut[from] {
			b.WriteByte(' ')
			if n.cut[from][to] {
				b.WriteString(pad("x"))
			} else {
				b.WriteString(pad("."))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// send is Env.Send after the liveness check.
//
// Every random decision about a message is drawn before any of them is acted on, and whether
// a stream is drawn from depends only on its own rate, so that changing one fault's rate (or
// cutting a link) never shifts another fault's draws for later messages.
func (n *Network) send(from, to NodeID, payload []byte) {
	s := n.sim
	if to < 0 || int(to) >= len(n.cut) {
		panic(fmt.Sprintf("sim: node %d sent to unknown node %d (have %d nodes)", from, to, len(n.cut)))
	}
	if len(payload) > n.cfg.MaxMessageBytes {
		panic(fmt.Sprintf("sim: node %d sent a %d-byte message to node %d; the limit is %d bytes (NetworkConfig.MaxMessageBytes)",
			from, len(payload), to, n.cfg.MaxMessageBytes))
	}
	s.stats.MessagesSent++
	s.stats.BytesSent += int64(len(payload))

	latencyRand, longDelayRand, dropRand, dupRand := n.latencyRand[from], n.longDelayRand[from], n.dropRand[from], n.dupRand[from]
	delay := n.latency(latencyRand)
	if n.cfg.LongDelayRate > 0 && longDelayRand.Chance(n.cfg.LongDelayRate) {
		delay += longDelayRand.Between(1, n.cfg.LongDelayMax)
	}
	dropped := n.cfg.DropRate > 0 && dropRand.Chance(n.cfg.DropRate)
	duplicateDelay := Time(-1)
	if n.cfg.DuplicateRate > 0 && dupRand.Chance(n.cfg.DuplicateRate) {
		// The copy's own latency and long delay come from the duplicate stream, so that
		// duplicating does not shift the latency and long-delay streams.
		duplicateDelay = n.latency(dupRand)
		if n.cfg.LongDelayRate > 0 && dupRand.Chance(n.cfg.LongDelayRate) {
			duplicateDelay += dupRand.Between(1, n.cfg.LongDelayMax)
		}
	}

	switch {
	case n.cut[from][to]:
		n.dropAtSend(from, to, payload, &s.stats.Dropped.Partition, "partition")
		return
	case n.dropNext[from][to]:
		n.dropNext[from][to] = false
		n.dropAtSend(from, to, payload, &s.stats.Dropped.Injected, "drop-next")
		return
	case dropped:
		n.dropAtSend(from, to, payload, &s.stats.Dropped.Random, "random")
		return
	}
	n.schedule(from, to, payload, delay, false)
	if duplicateDelay >= 0 {
		s.stats.MessagesDuplicated++
		n.schedule(from, to, payload, duplicateDelay, true)
	}
}

// latency draws one message latency from r (no draw when the latency is fixed).
func (n *Network) latency(r *Rand) Time {
	if n.cfg.LatencyMax > n.cfg.LatencyMin {
		return r.Between(n.cfg.LatencyMin, n.cfg.LatencyMax)
	}
	return n.cfg.LatencyMin
}

func (n *Network) dropAtSend(from, to NodeID, payload []byte, cause *int64, why string) {
	n.dropAtSendCopy(from, to, payload, cause, why, false)
}

func (n *Network) dropAtSendCopy(from, to NodeID, payload []byte, cause *int64, why string, isCopy bool) {
	s := n.sim
	s.countDrop(cause)
	if s.cfg.Trace != nil {
		n.emitMessage(to, "drop", n.describeMessage(from, payload)+" (at send: "+why+")",
			&message{payload: payload, from: from, to: to, copy: isCopy, ordinal: s.stats.MessagesSent, sentAt: s.now})
	}
}

// emitMessage traces a delivery or drop of m.
func (n *Network) emitMessage(node NodeID, kind, detail string, m *message) {
	s := n.sim
	s.cfg.Trace(TraceEvent{Seq: s.stats.Events, At: s.now, Node: node, Kind: kind, Detail: detail,
		From: m.from, Msg: m.ordinal, SentAt: m.sentAt, Copy: m.copy, Payload: m.payload})
}

// schedule queues one copy of a message.
func (n *Network) schedule(from, to NodeID, payload []byte, delay Time, isCopy bool) {
	s := n.sim
	if s.inFlight >= n.cfg.MaxInFlight {
		n.dropAtSendCopy(from, to, payload, &s.stats.Dropped.InFlightLimit, "in-flight limit "+strconv.Itoa(n.cfg.MaxInFlight), isCopy)
		return
	}
	at := s.now + delay
	if n.cfg.Ordered {
		// Equal arrival times keep send order: events of one instant run in insertion order.
		at = max(at, n.lastArrival[from][to])
		n.lastArrival[from][to] = at
	}
	copied := make([]byte, len(payload))
	copy(copied, payload)
	slot := s.allocMessage(message{payload: copied, from: from, to: to, epoch: s.nodes[to].crashes,
		copy: isCopy, ordinal: s.stats.MessagesSent, sentAt: s.now})
	s.push(event{at: at, slot: slot}, eventMessage)
	s.inFlight++
}

// arrive executes a message event: deliver it, hold it for a paused target, or drop it.
func (n *Network) arrive(ev *event) {
	s := n.sim
	m := &s.messages[ev.slot]
	ns := s.nodes[m.to]
	if ns.up && ns.crashes == m.epoch && ns.paused && !s.cfg.PauseDropsMessages &&
		ns.heldMessages < s.cfg.PauseQueueLimit {
		s.inFlight--
		ns.held = append(ns.held, *ev) // delivered (or dropped) for real at Resume
		ns.heldMessages++
		return
	}
	s.inFlight--
	traced := *m
	from, to, payload, epoch := m.from, m.to, m.payload, m.epoch
	s.freeMessage(ev.slot)
	s.countEvent()
	var cause *int64
	var why string
	switch {
	case !ns.up || ns.crashes != epoch:
		cause, why = &s.stats.Dropped.Crashed, "target crashed"
	case ns.paused:
		cause, why = &s.stats.Dropped.Paused, "target paused"
		if !s.cfg.PauseDropsMessages {
			why = "pause queue full (" + strconv.Itoa(s.cfg.PauseQueueLimit) + ")"
		}
	case n.cut[from][to]:
		cause, why = &s.stats.Dropped.Partition, "link cut in flight"
	}
	if cause != nil {
		s.countDrop(cause)
		s.fold(codeDrop, to, uint64(uint32(from)), hashBytes(payload))
		if s.cfg.Trace != nil {
			n.emitMessage(to, "drop", n.describeMessage(from, payload)+" ("+why+")", &traced)
		}
		return
	}
	s.stats.MessagesDelivered++
	s.fold(codeDeliver, to, uint64(uint32(from)), hashBytes(payload))
	if s.cfg.Trace != nil {
		n.emitMessage(to, "deliver", n.describeMessage(from, payload), &traced)
	}
	ns.node.Receive(from, payload)
}

func (n *Network) describeMessage(from NodeID, payload []byte) string {
	s := n.sim
	var what string
	if s.cfg.Describe != nil {
		what = s.cfg.Describe(payload)
	} else {
		what = strconv.Itoa(len(payload)) + " bytes"
	}
	return "from " + s.nodes[from].name + ": " + what
}

// hashBytes is a fast non-cryptographic hash of a payload, 8 bytes per step.
func hashBytes(p []byte) uint64 {
	h := uint64(len(p)) * 0x9e3779b97f4a7c15
	for len(p) >= 8 {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(p))*0xff51afd7ed558ccd, 29)
		p = p[8:]
	}
	for _, c := range p {
		h = (h ^ uint64(c)) * fnvPrime64
	}
	return mix64(h)
}
