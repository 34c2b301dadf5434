// Package sim is raftsim's deterministic discrete-event simulation kernel.
//
// A Sim owns virtual time, one event queue, every source of randomness (named streams derived
// from one seed), a simulated network (latency, drops, duplicates, long delays, partitions
// including one-way links) and one simulated disk per node (writes are lost on crash unless
// synced). It hosts anything that implements Node and knows nothing about Raft.
//
// A run is a pure function of (code, Config, seed): events at the same instant run in insertion
// order, nodes share no memory (messages are copied bytes), and every executed event is folded
// into a rolling 64-bit hash (Sim.Hash) so that two runs can be compared, in one process or
// across processes. The kernel is single-threaded; nothing in it may be called concurrently.
package sim

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// NodeID identifies a node. IDs are dense: 0..N-1 in the order of AddNode.
type NodeID int32

// KernelNode is the NodeID of trace events that belong to no node (kernel events).
const KernelNode NodeID = -1

// Node is what the kernel hosts (a raft server, a KV client...). A Factory builds a fresh Node
// value at every start and restart, so volatile state cannot survive a crash by construction.
type Node interface {
	Start(env *Env)                      // first call of each incarnation
	Receive(from NodeID, payload []byte) // payload is the receiver's own copy
	Timer(tag uint64)                    // a timer set with env.SetTimer fired
}

// Factory builds a fresh Node for one incarnation of node id.
type Factory func(id NodeID) Node

// TimerID identifies a pending timer or kernel event, for cancellation. The zero TimerID is
// never issued.
type TimerID uint64

// End says why Run or RunUntil returned.
type End int

const (
	EndIdle       End = iota // no event left
	EndStopped               // Stop was called
	EndTimeLimit             // the next event is after Config.MaxTime
	EndEventLimit            // Config.MaxEvents events were executed
	EndUntil                 // RunUntil: the next event is after the requested instant
)

func (e End) String() string {
	switch e {
	case EndIdle:
		return "idle"
	case EndStopped:
		return "stopped"
	case EndTimeLimit:
		return "time-limit"
	case EndEventLimit:
		return "event-limit"
	case EndUntil:
		return "until"
	}
	return "End(" + strconv.Itoa(int(e)) + ")"
}

// Config is the whole configuration of one run. The zero value is usable (seed 0, defaults).
type Config struct {
	Seed      uint64
	MaxEvents int64 // 0 = DefaultMaxEvents; hitting it ends Run with EndEventLimit
	MaxTime   Time  // 0 = no limit; the first event after it ends Run with EndTimeLimit
	Network   NetworkConfig
	// PauseDropsMessages false: messages to a paused node are held and delivered at Resume;
	// true: they are dropped. Timers of a paused node are always held.
	PauseDropsMessages bool
	// PauseQueueLimit bounds the messages held for one paused node (0 = DefaultPauseQueueLimit);
	// beyond it messages are dropped and counted in Stats.Dropped.Paused.
	PauseQueueLimit int
	Trace           func(TraceEvent)            // optional human-readable event log sink
	Describe        func(payload []byte) string // optional: how to show a message payload in the trace
	// RecordDigests keeps the hash after every executed event (Sim.Digests), to pinpoint the
	// first event at which two runs differ. It costs 8 bytes per event.
	RecordDigests bool
	// OnSend, when set, is shown every message a live node sends, before the network model
	// decides its fate: instrumentation for harnesses (counting RPCs by type, noticing
	// protocol events), never behaviour. It must not keep payload or call back into the Sim,
	// except to queue kernel events (At, AtFirst), which is how a harness reacts to what it
	// sees.
	OnSend func(from, to NodeID, payload []byte)
}

// Defaults used when the corresponding Config field is zero.
const (
	DefaultMaxEvents       int64 = 50_000_000
	DefaultPauseQueueLimit       = 10_000
)

// TraceEvent is one line of the human-readable trace. Seq is the ordinal of the executed event
// it belongs to (0 before the first event); Node is KernelNode for kernel events. Kind is one
// of "start", "crash", "restart", "pause", "resume", "clock", "deliver", "drop", "timer",
// "event", "note", "link", "write", "sync".
//
// The fields after Detail give the same facts in structured form, for recorders that decode
// them (timelines, JSON traces); none of them reaches the trace hash.
type TraceEvent struct {
	Seq    int64
	At     Time
	Node   NodeID
	Kind   string
	Detail string

	// Message events (deliver, drop): the sender, the send ordinal of the message (1 for
	// the first message sent in the run; a duplicate copy shares its original's), when it
	// was sent, whether this is the network's extra copy, and the payload, which is valid
	// only during the call. A drop at send has SentAt == At.
	From    NodeID
	Msg     int64
	SentAt  Time
	Copy    bool
	Payload []byte
	// Tag is the tag of a timer event.
	Tag uint64
	// Bytes is the size of a write; for a sync, how many files it made durable.
	Bytes int
	// File names the file of a write.
	File string
}

// Result is what Run and RunUntil report.
type Result struct {
	End        End
	StopReason string // the reason given to Stop, when End == EndStopped
	Now        Time
	Events     int64  // events executed since the run started (all Run calls)
	Hash       uint64 // rolling trace hash so far
}

// DropStats counts dropped messages by cause.
type DropStats struct {
	Partition     int64 // link down at send or at delivery time
	Random        int64 // NetworkConfig.DropRate
	Crashed       int64 // target down at delivery, or crashed since the message was sent
	Paused        int64 // target paused with PauseDropsMessages, or its pause queue full
	InFlightLimit int64 // NetworkConfig.MaxInFlight reached at send time
	Injected      int64 // Network.DropNext
}

// Stats are counters of one run.
type Stats struct {
	Events             int64 // executed events (cancelled timers are not events)
	MessagesSent       int64 // Send calls accepted from live nodes
	MessagesDelivered  int64
	MessagesDropped    int64 // total of Dropped
	Dropped            DropStats
	MessagesDuplicated int64 // extra copies created by NetworkConfig.DuplicateRate
	BytesSent          int64 // payload bytes of MessagesSent
	DiskBytesWritten   int64 // bytes passed to Disk.Write and Disk.Append
	DiskSyncs          int64
	TimersSet          int64 // node timers and kernel events scheduled
	TimersCancelled    int64
	MaxQueueLen        int // high-water mark of the event queue, cancelled entries included
}

// timerSlot backs one TimerID. A slot is live from allocation until it fires or is cancelled;
// freeing it bumps gen, which turns every queued event that still names the old generation
// into a no-op (lazy cancellation without searching the heap).
type timerSlot struct {
	fn    func() // kernel events only
	kind  string // kernel events only: the label given to At/After
	tag   uint64 // node timers only: passed to Node.Timer
	gen   uint32
	owner NodeID // KernelNode for At/After
	// epoch is the owner's incarnation when the timer was set: a timer of a crashed
	// incarnation never fires.
	epoch uint32
	live  bool
}

// message is a message in flight (queued or held for a paused node).
type message struct {
	payload []byte // the kernel's own copy, handed to the receiver
	from    NodeID
	to      NodeID
	// epoch is the target's crash count at send time: a crash drops everything that was in
	// flight to the node, even if it restarts before the message arrives.
	epoch uint32
	// copy marks the network's duplicate; ordinal (Stats.MessagesSent at the send) and sentAt
	// are for trace events only.
	copy    bool
	ordinal int64
	sentAt  Time
}

const clockRateOnePPB = 1_000_000_000

// nodeState is everything the kernel keeps about one node across its incarnations.
type nodeState struct {
	id      NodeID
	name    string
	factory Factory
	node    Node // nil while down
	started bool // Start has been called once
	up      bool
	paused  bool
	// incarnation is 0 before the first start and increments at every (re)start.
	incarnation  uint32
	crashes      uint32  // see message.epoch
	held         []event // events that arrived while paused, in arrival order
	heldMessages int
	// The node-local clock is piecewise linear: local = localBase + (now-globalBase)*rate,
	// with the rate in parts per billion so that scaling is exact integer arithmetic (floating
	// point could be fused differently on other architectures).
	clockRatePPB    uint64
	clockLocalBase  Time
	clockGlobalBase Time
	disk            diskStore
}

// Sim is one simulation run. Create it with New, register nodes with AddNode, start them, then
// Run.
type Sim struct {
	cfg       Config
	maxEvents int64
	now       Time
	nextSeq   uint64
	// nextFirstSeq numbers the events of AtFirst, below every sequence number of nextSeq.
	nextFirstSeq uint64
	queue        eventQueue

	timers     []timerSlot
	freeTimers []uint32
	// cancelledInQueue estimates the cancelled events still in the queue; when they dominate,
	// the queue is compacted. It only steers that optimisation, never behaviour.
	cancelledInQueue int

	messages     []message // messages in flight, indexed by event.slot
	freeMessages []uint32
	inFlight     int // message events in the queue

	nodes []*nodeState
	net   Network

	hash    uint64
	digests []uint64
	stats   Stats

	stopRequested bool
	stopReason    string
	running       bool

	streams map[string]*Rand // looked up by name only, never iterated
}

// New creates a simulation. It panics on an invalid configuration.
func New(cfg Config) *Sim {
	if cfg.MaxEvents < 0 || cfg.MaxTime < 0 || cfg.PauseQueueLimit < 0 {
		panic("sim: Config.MaxEvents, MaxTime and PauseQueueLimit must not be negative")
	}
	s := &Sim{cfg: cfg, maxEvents: cfg.MaxEvents, streams: make(map[string]*Rand), nextSeq: firstSeqLimit}
	if s.maxEvents == 0 {
		s.maxEvents = DefaultMaxEvents
	}
	if s.cfg.PauseQueueLimit == 0 {
		s.cfg.PauseQueueLimit = DefaultPauseQueueLimit
	}
	s.hash = mix64(cfg.Seed + splitMixIncrement)
	s.net.init(s, cfg.Network)
	return s
}

// Seed returns the run seed.
func (s *Sim) Seed() uint64 { return s.cfg.Seed }

// AddNode registers a node; it is not started. IDs are assigned densely in call order.
func (s *Sim) AddNode(name string, f Factory) NodeID {
	if f == nil {
		panic("sim: AddNode with a nil Factory")
	}
	if len(s.nodes) >= math.MaxInt32 {
		panic("sim: too many nodes")
	}
	id := NodeID(len(s.nodes))
	ns := &nodeState{id: id, name: name, factory: f, clockRatePPB: clockRateOnePPB}
	ns.disk.init()
	s.nodes = append(s.nodes, ns)
	s.net.addNode()
	return id
}

func (s *Sim) node(id NodeID) *nodeState {
	if id < 0 || int(id) >= len(s.nodes) {
		panic(fmt.Sprintf("sim: unknown node %d (have %d nodes)", id, len(s.nodes)))
	}
	return s.nodes[id]
}

// NodeName returns the name given to AddNode.
func (s *Sim) NodeName(id NodeID) string { return s.node(id).name }

// NumNodes returns the number of registered nodes.
func (s *Sim) NumNodes() int { return len(s.nodes) }

// Node returns the current Node value of id (nil while down), for inspection by checkers.
// Calling its methods directly would bypass the kernel; don't.
func (s *Sim) Node(id NodeID) Node { return s.node(id).node }

// NodeDisk returns a kernel handle on id's disk, valid across incarnations (for inspection
// and for fault injection). Nodes use Env.Disk instead.
func (s *Sim) NodeDisk(id NodeID) *Disk {
	ns := s.node(id)
	return &Disk{sim: s, node: ns, kernel: true}
}

// Start starts the first incarnation of id now: Factory(id), then Start(env).
// It panics if id was started before (use Restart).
func (s *Sim) Start(id NodeID) {
	ns := s.node(id)
	if ns.started {
		panic(fmt.Sprintf("sim: Start(%d %q): node was already started; use Restart", id, ns.name))
	}
	ns.started = true
	s.boot(ns, codeStart, "start")
}

// Crash stops id now: its Node value, pending timers, held events and unsynced disk writes
// are gone, and every message in flight to it is dropped when it arrives, even after a later
// restart. Crashing a node that is down does nothing.
func (s *Sim) Crash(id NodeID) {
	ns := s.node(id)
	if !ns.up {
		return
	}
	ns.up = false
	ns.paused = false
	ns.node = nil
	ns.crashes++
	for i := range ns.held {
		s.discardHeld(ns, &ns.held[i])
	}
	clear(ns.held)
	ns.held = ns.held[:0]
	ns.heldMessages = 0
	lostFiles := ns.disk.crash()
	s.fold(codeCrash, id, uint64(ns.incarnation), 0)
	if s.cfg.Trace != nil {
		s.emit(id, "crash", fmt.Sprintf("%s incarnation %d (%d files reverted to their synced contents)", ns.name, ns.incarnation, lostFiles))
	}
}

// Restart starts a new incarnation of id now: a fresh Node from the Factory whose Start(env)
// sees only the synced disk contents. Restarting a node that is up crashes it first.
func (s *Sim) Restart(id NodeID) {
	ns := s.node(id)
	if ns.up {
		s.Crash(id)
	}
	ns.started = true
	s.boot(ns, codeRestart, "restart")
}

func (s *Sim) boot(ns *nodeState, code uint64, kind string) {
	ns.incarnation++
	ns.up = true
	ns.paused = false
	env := &Env{sim: s, state: ns, id: ns.id, incarnation: ns.incarnation}
	env.disk = Disk{sim: s, node: ns, incarnation: ns.incarnation}
	s.fold(code, ns.id, uint64(ns.incarnation), 0)
	if s.cfg.Trace != nil {
		s.emit(ns.id, kind, fmt.Sprintf("%s incarnation %d", ns.name, ns.incarnation))
	}
	node := ns.factory(ns.id)
	if node == nil {
		panic(fmt.Sprintf("sim: Factory of node %d %q returned nil", ns.id, ns.name))
	}
	ns.node = node
	node.Start(env)
}

// Pause stops id from processing anything until Resume: its timers and (unless
// Config.PauseDropsMessages) messages are held. Pausing a node that is down or already paused
// does nothing.
func (s *Sim) Pause(id NodeID) {
	ns := s.node(id)
	if !ns.up || ns.paused {
		return
	}
	ns.paused = true
	s.fold(codePause, id, uint64(ns.incarnation), 0)
	if s.cfg.Trace != nil {
		s.emit(id, "pause", ns.name)
	}
}

// Resume ends a pause: the held events are queued again at the current instant, in the order
// they arrived, after anything already queued for this instant. Resuming a node that is not
// paused does nothing.
func (s *Sim) Resume(id NodeID) {
	ns := s.node(id)
	if !ns.paused {
		return
	}
	ns.paused = false
	s.fold(codeResume, id, uint64(len(ns.held)), 0)
	if s.cfg.Trace != nil {
		s.emit(id, "resume", fmt.Sprintf("%s: %d held events (%d messages)", ns.name, len(ns.held), ns.heldMessages))
	}
	for i := range ns.held {
		ev := ns.held[i]
		ev.at = s.now
		if ev.kind() == eventMessage {
			s.inFlight++
		}
		s.push(ev, ev.kind())
	}
	clear(ns.held)
	ns.held = ns.held[:0]
	ns.heldMessages = 0
}

// Bounds of SetClockRate: beyond them local time arithmetic could overflow and the fault is
// no longer a skew.
const (
	MinClockRate = 0.001
	MaxClockRate = 1000.0
)

// SetClockRate sets how fast id's local clock runs from now on: 1.0 is normal, 1.1 runs 10%
// fast (its timers fire sooner in global time). The local clock stays continuous. Timers that
// are already pending keep their global firing time.
func (s *Sim) SetClockRate(id NodeID, rate float64) {
	ns := s.node(id)
	if !(rate >= MinClockRate && rate <= MaxClockRate) {
		panic(fmt.Sprintf("sim: SetClockRate(%d, %v): rate must be in [%v, %v]", id, rate, MinClockRate, MaxClockRate))
	}
	ns.clockLocalBase = ns.localTime(s.now)
	ns.clockGlobalBase = s.now
	ns.clockRatePPB = uint64(math.Round(rate * clockRateOnePPB))
	s.fold(codeClock, id, ns.clockRatePPB, 0)
	if s.cfg.Trace != nil {
		s.emit(id, "clock", fmt.Sprintf("%s clock rate %v", ns.name, rate))
	}
}

// ClockRate returns id's clock rate as set by SetClockRate (rounded to parts per billion).
func (s *Sim) ClockRate(id NodeID) float64 {
	return float64(s.node(id).clockRatePPB) / clockRateOnePPB
}

// LocalTime returns id's local clock reading now (what Env.Now returns inside the node).
func (s *Sim) LocalTime(id NodeID) Time { return s.node(id).localTime(s.now) }

func (ns *nodeState) localTime(now Time) Time {
	elapsed := now - ns.clockGlobalBase
	if ns.clockRatePPB == clockRateOnePPB {
		return ns.clockLocalBase + elapsed
	}
	return ns.clockLocalBase + Time(mulDiv(uint64(elapsed), ns.clockRatePPB, clockRateOnePPB, false))
}

// globalDelay converts a local-clock delay into global time, rounding up so that a timer never
// fires before its local deadline.
func (ns *nodeState) globalDelay(local Time) Time {
	if ns.clockRatePPB == clockRateOnePPB {
		return local
	}
	return Time(mulDiv(uint64(local), clockRateOnePPB, ns.clockRatePPB, true))
}

func mulDiv(a, b, c uint64, roundUp bool) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		panic("sim: virtual time overflow while scaling by a clock rate")
	}
	quotient, remainder := bits.Div64(hi, lo, c)
	if roundUp && remainder != 0 {
		quotient++
	}
	if quotient > math.MaxInt64 {
		panic("sim: virtual time overflow while scaling by a clock rate")
	}
	return quotient
}

// IsUp reports whether id is started and not crashed (a paused node is up).
func (s *Sim) IsUp(id NodeID) bool { return s.node(id).up }

// IsPaused reports whether id is paused.
func (s *Sim) IsPaused(id NodeID) bool { return s.node(id).paused }

// Incarnation returns 0 before id's first start, then 1, 2, ... one per start or restart.
func (s *Sim) Incarnation(id NodeID) int { return int(s.node(id).incarnation) }

// Net returns the simulated network.
func (s *Sim) Net() *Network { return &s.net }

// Now returns the global virtual time.
func (s *Sim) Now() Time { return s.now }

// Rand returns the kernel-level stream named stream, derived from (seed, stream). Asking twice
// for the same name returns the same generator, which continues where it was.
func (s *Sim) Rand(stream string) *Rand {
	if r, ok := s.streams[stream]; ok {
		return r
	}
	r := NewRand(s.cfg.Seed, stream)
	s.streams[stream] = r
	return r
}

// Hash returns the rolling hash of every executed event so far.
func (s *Sim) Hash() uint64 { return s.hash }

// Digests returns the hash after each executed event (index i: after event i+1), when
// Config.RecordDigests is set; nil otherwise. The caller must not modify it.
func (s *Sim) Digests() []uint64 { return s.digests }

// Stats returns the run's counters.
func (s *Sim) Stats() Stats { return s.stats }

// At schedules fn at global time at (not before now), labelled kind in the trace and the hash.
// Use it for fault injection, workload and checks.
func (s *Sim) At(at Time, kind string, fn func()) TimerID { return s.at(at, kind, fn, false) }

func (s *Sim) at(at Time, kind string, fn func(), first bool) TimerID {
	if at < s.now {
		panic(fmt.Sprintf("sim: At(%v, %q) is in the past (now %v)", at, kind, s.now))
	}
	if fn == nil {
		panic(fmt.Sprintf("sim: At(%v, %q) with a nil func", at, kind))
	}
	slot, gen := s.allocTimer(KernelNode)
	s.timers[slot].fn = fn
	s.timers[slot].kind = kind
	ev := event{at: at, slot: slot, gen: gen}
	if first {
		s.pushSeq(ev, eventKernel, s.firstSeq())
	} else {
		s.push(ev, eventKernel)
	}
	return makeTimerID(slot, gen)
}

// AtFirst is At for an event that runs before every event queued for the same instant by At,
// After, a node or the network, whenever those were queued; events queued with AtFirst for one
// instant run in the order they were queued. A fault that a protocol event placed at an instant
// during a run is queued with AtFirst, both in that run (when it is queued, other events for
// that instant may already wait) and when its recorded schedule is replayed (where it is queued
// before everything): the two runs then execute the same events in the same order.
func (s *Sim) AtFirst(at Time, kind string, fn func()) TimerID { return s.at(at, kind, fn, true) }

// firstSeq returns the next sequence number of an AtFirst event.
func (s *Sim) firstSeq() uint64 {
	s.nextFirstSeq++
	if s.nextFirstSeq >= firstSeqLimit {
		panic("sim: AtFirst sequence numbers exhausted")
	}
	return s.nextFirstSeq
}

// After schedules fn d after now (d >= 0).
func (s *Sim) After(d Time, kind string, fn func()) TimerID {
	if d < 0 {
		panic(fmt.Sprintf("sim: After(%v, %q) with a negative delay", d, kind))
	}
	return s.At(s.now+d, kind, fn)
}

// Cancel cancels a kernel event or a node timer: it will never run. Unknown, fired and
// already cancelled ids are a no-op.
func (s *Sim) Cancel(id TimerID) {
	slot, ok := s.liveTimerSlot(id)
	if !ok {
		return
	}
	s.cancelSlot(slot)
}

// Stop makes Run return after the current event (or at once, if called between runs).
func (s *Sim) Stop(reason string) {
	s.stopRequested = true
	s.stopReason = reason
}

// Run executes events until none is left, Stop, Config.MaxTime or Config.MaxEvents.
// It can be called again to continue after EndStopped.
// Logf adds a kernel note (not tied to a node) to the human-readable trace; a no-op when no
// trace sink is set. Notes are not part of the trace hash.
func (s *Sim) Logf(format string, args ...any) {
	if s.cfg.Trace != nil {
		s.emit(KernelNode, "note", fmt.Sprintf(format, args...))
	}
}

func (s *Sim) Run() Result { return s.run(0, false) }

// RunUntil is Run that also returns, with EndUntil, when the next event is after t; Now then
// becomes t (also when the queue is empty: virtual time passes). Call it again to continue.
func (s *Sim) RunUntil(t Time) Result { return s.run(t, true) }

func (s *Sim) result(end End) Result {
	r := Result{End: end, Now: s.now, Events: s.stats.Events, Hash: s.hash}
	if end == EndStopped {
		r.StopReason = s.stopReason
	}
	return r
}

func (s *Sim) run(until Time, hasUntil bool) Result {
	if s.running {
		panic("sim: Run called from inside an event")
	}
	s.running = true
	defer func() { s.running = false }()
	maxTime := s.cfg.MaxTime
	for {
		if s.stopRequested {
			s.stopRequested = false
			return s.result(EndStopped)
		}
		if s.queue.len() == 0 {
			if hasUntil && until > s.now {
				s.now = until
				if maxTime > 0 && s.now > maxTime {
					s.now = maxTime
				}
			}
			return s.result(EndIdle)
		}
		next := s.queue.top()
		if !s.isLive(next) {
			s.discardTop()
			continue
		}
		// MaxTime ends the run unless RunUntil asked to stop earlier than it.
		if maxTime > 0 && next.at > maxTime && (!hasUntil || until >= maxTime) {
			if s.now < maxTime {
				s.now = maxTime
			}
			return s.result(EndTimeLimit)
		}
		if hasUntil && next.at > until {
			if until > s.now {
				s.now = until
			}
			return s.result(EndUntil)
		}
		if s.stats.Events >= s.maxEvents {
			return s.result(EndEventLimit)
		}
		ev := s.queue.pop()
		if ev.at < s.now {
			panic(fmt.Sprintf("sim: event at %v is before now %v", ev.at, s.now))
		}
		s.now = ev.at
		s.execute(&ev)
	}
}

// isLive reports whether a queued event still has an effect when it runs: not cancelled, and
// for node timers, the incarnation that set it is still the running one.
func (s *Sim) isLive(ev *event) bool {
	switch ev.kind() {
	case eventMessage:
		return true // a message always runs: it is delivered or visibly dropped
	case eventNodeTimer:
		t := &s.timers[ev.slot]
		if t.gen != ev.gen {
			return false
		}
		ns := s.nodes[t.owner]
		return ns.up && ns.incarnation == t.epoch
	case eventKernel:
		return s.timers[ev.slot].gen == ev.gen
	}
	panic(fmt.Sprintf("sim: queued event of unknown kind %d", ev.kind()))
}

// discardTop removes a dead timer event from the head of the queue without executing it.
func (s *Sim) discardTop() {
	ev := s.queue.pop()
	if s.timers[ev.slot].gen == ev.gen {
		// A timer of a crashed incarnation: its slot is still allocated.
		s.freeTimer(ev.slot)
	} else if s.cancelledInQueue > 0 {
		s.cancelledInQueue--
	}
}

// execute runs one event popped from the queue.
func (s *Sim) execute(ev *event) {
	switch ev.kind() {
	case eventKernel:
		t := &s.timers[ev.slot]
		fn, kind := t.fn, t.kind
		s.freeTimer(ev.slot)
		s.countEvent()
		s.fold(codeKernel, KernelNode, fnv1a64(kind), 0)
		if s.cfg.Trace != nil {
			s.emit(KernelNode, "event", kind)
		}
		fn()
	case eventNodeTimer:
		t := &s.timers[ev.slot]
		ns := s.nodes[t.owner]
		if ns.paused {
			ns.held = append(ns.held, *ev) // the slot stays allocated until it fires
			return
		}
		tag, epoch := t.tag, t.epoch
		s.freeTimer(ev.slot)
		s.countEvent()
		s.fold(codeTimer, ns.id, tag, uint64(epoch))
		if s.cfg.Trace != nil {
			s.cfg.Trace(TraceEvent{Seq: s.stats.Events, At: s.now, Node: ns.id, Kind: "timer", Detail: "tag " + strconv.FormatUint(tag, 10), Tag: tag})
		}
		ns.node.Timer(tag)
	case eventMessage:
		s.net.arrive(ev)
	default:
		panic(fmt.Sprintf("sim: executing event of unknown kind %d", ev.kind()))
	}
	s.afterEvent()
}

// countEvent counts the event being executed; it comes before the event's trace lines so that
// they carry its ordinal.
func (s *Sim) countEvent() { s.stats.Events++ }

func (s *Sim) afterEvent() {
	if s.cfg.RecordDigests && int64(len(s.digests)) < s.stats.Events {
		s.digests = append(s.digests, s.hash)
	}
}

// discardHeld forgets an event held for a paused node that crashed.
func (s *Sim) discardHeld(ns *nodeState, ev *event) {
	switch ev.kind() {
	case eventMessage:
		s.freeMessage(ev.slot)
		s.countDrop(&s.stats.Dropped.Crashed)
	case eventNodeTimer:
		if s.timers[ev.slot].gen == ev.gen {
			s.freeTimer(ev.slot)
		}
	default:
		panic(fmt.Sprintf("sim: node %d held an event of kind %d", ns.id, ev.kind()))
	}
}

// maxSeq keeps seq<<eventKindBits from overflowing. Sequence numbers below firstSeqLimit
// belong to AtFirst events, so that they sort before every other event of their instant.
const (
	maxSeq        = 1<<(64-eventKindBits) - 1
	firstSeqLimit = 1 << 40
)

// push queues ev with the next insertion sequence number.
func (s *Sim) push(ev event, kind eventKind) {
	s.nextSeq++
	if s.nextSeq > maxSeq {
		panic("sim: event sequence numbers exhausted")
	}
	s.pushSeq(ev, kind, s.nextSeq)
}

// pushSeq queues ev with sequence number seq.
func (s *Sim) pushSeq(ev event, kind eventKind, seq uint64) {
	if ev.at < s.now {
		panic(fmt.Sprintf("sim: event scheduled at %v, before now %v (time overflow?)", ev.at, s.now))
	}
	ev.seqKind = seq<<eventKindBits | uint64(kind)
	s.queue.push(ev)
	if n := s.queue.len(); n > s.stats.MaxQueueLen {
		s.stats.MaxQueueLen = n
	}
}

func makeTimerID(slot, gen uint32) TimerID {
	return TimerID(uint64(gen)<<32 | uint64(slot+1))
}

func (s *Sim) allocTimer(owner NodeID) (slot, gen uint32) {
	if n := len(s.freeTimers); n > 0 {
		slot = s.freeTimers[n-1]
		s.freeTimers = s.freeTimers[:n-1]
	} else {
		if len(s.timers) >= math.MaxUint32-1 {
			panic("sim: too many pending timers")
		}
		slot = uint32(len(s.timers))
		s.timers = append(s.timers, timerSlot{gen: 1})
	}
	t := &s.timers[slot]
	if t.live {
		panic("sim: allocated a timer slot that is still live")
	}
	t.live = true
	t.owner = owner
	s.stats.TimersSet++
	return slot, t.gen
}

func (s *Sim) freeTimer(slot uint32) {
	t := &s.timers[slot]
	if !t.live {
		panic("sim: freeing a timer slot that is not live")
	}
	t.live = false
	t.gen++ // every queued event naming the old generation is now dead
	t.fn = nil
	t.kind = ""
	t.tag = 0
	s.freeTimers = append(s.freeTimers, slot)
}

// liveTimerSlot decodes id and reports whether it names a live timer.
func (s *Sim) liveTimerSlot(id TimerID) (uint32, bool) {
	slotPlusOne := uint32(id)
	if slotPlusOne == 0 || int(slotPlusOne) > len(s.timers) {
		return 0, false
	}
	slot := slotPlusOne - 1
	t := &s.timers[slot]
	if !t.live || t.gen != uint32(id>>32) {
		return 0, false
	}
	return slot, true
}

// Compaction thresholds: rebuild the queue when cancelled entries are both numerous and the
// majority, so that re-armed timers (an election timeout reset on every heartbeat) cannot grow
// the queue without bound.
const (
	compactMinCancelled = 4096
)

func (s *Sim) cancelSlot(slot uint32) {
	s.freeTimer(slot)
	s.stats.TimersCancelled++
	s.cancelledInQueue++
	if s.cancelledInQueue >= compactMinCancelled && 2*s.cancelledInQueue > s.queue.len() {
		s.queue.retain(func(ev *event) bool {
			if s.isLive(ev) {
				return true
			}
			if s.timers[ev.slot].gen == ev.gen {
				s.freeTimer(ev.slot) // timer of a crashed incarnation
			}
			return false
		})
		s.cancelledInQueue = 0
	}
}

func (s *Sim) allocMessage(m message) uint32 {
	if n := len(s.freeMessages); n > 0 {
		slot := s.freeMessages[n-1]
		s.freeMessages = s.freeMessages[:n-1]
		s.messages[slot] = m
		return slot
	}
	if len(s.messages) >= math.MaxUint32 {
		panic("sim: too many messages in flight")
	}
	s.messages = append(s.messages, m)
	return uint32(len(s.messages) - 1)
}

func (s *Sim) freeMessage(slot uint32) {
	s.messages[slot] = message{}
	s.freeMessages = append(s.freeMessages, slot)
}

func (s *Sim) countDrop(cause *int64) {
	*cause++
	s.stats.MessagesDropped++
}

// Codes folded into the trace hash, one per kind of executed event or kernel action.
const (
	codeDeliver uint64 = iota + 1
	codeDrop
	codeTimer
	codeKernel
	codeStart
	codeCrash
	codeRestart
	codePause
	codeResume
	codeClock
	codeLink
)

// fold mixes one executed event (or kernel action) into the rolling hash. The hash depends on
// the order of folds, the time, and every argument.
func (s *Sim) fold(code uint64, node NodeID, a, b uint64) {
	h := s.hash
	h = (h ^ uint64(s.now)) * 0x9fb21c651e98df25
	h = (h ^ (code<<32 | uint64(uint32(node)))) * 0xc2b2ae3d27d4eb4f
	h = bits.RotateLeft64(h^a, 31) * 0x165667b19e3779f9
	h = mix64(h ^ b)
	s.hash = h
}

// emit sends one line to the trace sink; callers check Config.Trace first so that building
// the detail costs nothing when tracing is off.
func (s *Sim) emit(node NodeID, kind, detail string) {
	s.cfg.Trace(TraceEvent{Seq: s.stats.Events, At: s.now, Node: node, Kind: kind, Detail: detail})
}
