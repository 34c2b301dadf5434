package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftsim/raftsim/internal/suggest"
	"github.com/raftsim/raftsim/sim"
)

// Event-triggered faults. A timed fault lands on a protocol moment (just after a vote, between
// a proposal and its commit, while a new leader's first appends are on the wire) only by luck;
// a trigger waits for the moment and places its fault a seeded delay after it, as FoundationDB's
// BUGGIFY and etcd's failpoints put faults at code locations, but from outside the system under
// test: the events are what the harness observes through the seam (the servers' reports, the
// messages they send, the KV service's events), so triggers work on every SUT.
//
// Exact replay: a trigger decides only when and where its fault goes; the fault itself is an
// ordinary Fault, recorded in the executed schedule (Result.Schedule) at the instant it
// resolved to (AtNs), with the fault that undoes it. Such faults run first among the events of
// their instant (sim.AtFirst), in the run that placed them and in any replay of its schedule,
// so that replaying the executed schedule, which has no triggers left, repeats the run event
// for event; the shrinker removes and shifts them like any other fault.

// Trigger is one event-triggered fault generator of a Schedule.
type Trigger struct {
	// On are the protocol events it fires on (TriggerEvents): any of them.
	On []string `json:"on"`
	// Fault is what it does (TriggerFaults).
	Fault string `json:"fault"`
	// Target picks the node the fault hits (TriggerTargets).
	Target string `json:"target"`
	// Chance is the probability that one occurrence of the event fires the trigger while it is
	// armed.
	Chance float64 `json:"chance"`
	// The fault starts a delay drawn uniformly in (0, DelayMaxMs] after the event (0 means a
	// nanosecond: the first thing after the event's instant).
	DelayMaxMs float64 `json:"delay_max_ms"`
	// The fault holds for HoldMinMs..HoldMaxMs, then is undone (a crashed node restarts, a
	// paused one resumes, cut links come back, a clock runs true again).
	HoldMinMs float64 `json:"hold_min_ms"`
	HoldMaxMs float64 `json:"hold_max_ms"`
	// After its fault is undone, the trigger rests CooldownMs before it is armed again.
	CooldownMs float64 `json:"cooldown_ms"`
	// FromMs: the trigger is armed from this instant on (the cluster's first election).
	FromMs int64 `json:"from_ms"`
	// Max bounds the times it fires.
	Max int `json:"max"`
}

// The protocol events a trigger can fire on. Subject is the node where the event happens;
// some events also have a peer (the other end of a message) or a client.
const (
	EventLeaderElected  = "leader-elected"  // a node becomes leader (subject)
	EventLeaderLost     = "leader-lost"     // a leader becomes something else (subject)
	EventCampaign       = "campaign"        // a node becomes a (pre-)candidate (subject)
	EventVoteGranted    = "vote-granted"    // a (pre-)vote reply that grants is sent (subject: voter, peer: candidate)
	EventAppendRejected = "append-rejected" // a follower rejects an append (subject: follower, peer: leader)
	EventSnapshotSent   = "snapshot-sent"   // a leader sends a snapshot (subject: leader, peer: follower)
	EventSnapshot       = "snapshot"        // a node persists a snapshot, taken or installed (subject)
	EventTruncate       = "truncate"        // a node truncates its log (subject)
	EventProposal       = "proposal"        // a leader accepts a client's command (subject)
	EventCommit         = "commit"          // a node's commit index advances (subject)
	EventApply          = "apply"           // a node applies an entry (subject)
	EventRestart        = "restart"         // a node starts again from its disk (subject)
	EventClientRequest  = "client-request"  // a client's request is sent to a server (subject: server, client)
	EventClientReply    = "client-reply"    // a server's reply to a client is sent (subject: server, client)
	EventReadStarted    = "read-started"    // a leader starts a read round (subject)
	EventReadServed     = "read-served"     // a read is answered after its round (subject)
)

// TriggerEvents lists the events, in the order of their ids.
var TriggerEvents = []string{EventLeaderElected, EventLeaderLost, EventCampaign, EventVoteGranted,
	EventAppendRejected, EventSnapshotSent, EventSnapshot, EventTruncate, EventProposal, EventCommit,
	EventApply, EventRestart, EventClientRequest, EventClientReply, EventReadStarted, EventReadServed}

// messageEvents are the events seen in the messages the nodes send.
var messageEvents = []string{EventVoteGranted, EventAppendRejected, EventSnapshotSent, EventClientRequest, EventClientReply}

// What a trigger does to its target; each fault is undone after its hold.
const (
	TriggerCrash     = "crash"      // crash the target (losing unsynced writes), restart it
	TriggerCrashAll  = "crash-all"  // power cut: crash every server, restart them
	TriggerPause     = "pause"      // pause the target, resume it
	TriggerIsolate   = "isolate"    // cut every link of the target, restore them
	TriggerCut       = "cut"        // cut the target from the event's other node (or a drawn one)
	TriggerPartition = "partition"  // random halves with the target on a drawn side
	TriggerDropNext  = "drop-next"  // lose the target's next message to the event's other node (or to every server)
	TriggerDropReply = "drop-reply" // lose the target's next reply to the event's client (or to every client)
	TriggerClock     = "clock"      // run the target's clock at 0.5-0.7x or 1.5-2x
)

// TriggerFaults lists the trigger faults.
var TriggerFaults = []string{TriggerCrash, TriggerCrashAll, TriggerPause, TriggerIsolate, TriggerCut,
	TriggerPartition, TriggerDropNext, TriggerDropReply, TriggerClock}

// Trigger targets.
const (
	TargetSubject = "subject" // the node where the event happened
	TargetPeer    = "peer"    // the other node of the event's message (the subject when there is none)
	TargetLeader  = "leader"  // the leader when the trigger fires (none: the trigger does not fire)
	TargetOther   = "other"   // a node other than the subject, drawn
)

// TriggerTargets lists the targets.
var TriggerTargets = []string{TargetSubject, TargetPeer, TargetLeader, TargetOther}

// Limits on triggers.
const (
	maxTriggers          = 64
	maxTriggerFires      = 1000
	maxTriggerDelayMs    = 10_000
	maxTriggerHoldMs     = 60_000
	maxTriggerCooldownMs = 600_000
)

func validateTriggers(s *Schedule) error {
	if len(s.Triggers) > maxTriggers {
		return fmt.Errorf("triggers: %d triggers, at most %d allowed", len(s.Triggers), maxTriggers)
	}
	for i := range s.Triggers {
		if err := s.Triggers[i].validate(s, fmt.Sprintf("triggers[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(field, kind, value string, valid []string) error {
	if slices.Contains(valid, value) {
		return nil
	}
	return fmt.Errorf("%s: %q is not a %s%s; valid: %s", field, value, kind, suggest.Phrase(value, valid), strings.Join(valid, ", "))
}

func (t *Trigger) validate(s *Schedule, field string) error {
	if len(t.On) == 0 {
		return fmt.Errorf("%s.on: a trigger needs at least one event; valid: %s", field, strings.Join(TriggerEvents, ", "))
	}
	for i, ev := range t.On {
		if err := oneOf(fmt.Sprintf("%s.on[%d]", field, i), "trigger event", ev, TriggerEvents); err != nil {
			return err
		}
	}
	if err := oneOf(field+".fault", "trigger fault", t.Fault, TriggerFaults); err != nil {
		return err
	}
	if err := oneOf(field+".target", "trigger target", t.Target, TriggerTargets); err != nil {
		return err
	}
	switch {
	case !(t.Chance > 0 && t.Chance <= 1):
		return fmt.Errorf("%s.chance: %v must be in (0, 1]", field, t.Chance)
	case !(t.DelayMaxMs >= 0 && t.DelayMaxMs <= maxTriggerDelayMs):
		return fmt.Errorf("%s.delay_max_ms: %v is out of range 0..%d", field, t.DelayMaxMs, maxTriggerDelayMs)
	case !(t.HoldMinMs >= 0 && t.HoldMinMs <= t.HoldMaxMs && t.HoldMaxMs <= maxTriggerHoldMs):
		return fmt.Errorf("%s.hold_min_ms/hold_max_ms: need 0 <= min (%v) <= max (%v) <= %d", field, t.HoldMinMs, t.HoldMaxMs, maxTriggerHoldMs)
	case !(t.CooldownMs >= 0 && t.CooldownMs <= maxTriggerCooldownMs):
		return fmt.Errorf("%s.cooldown_ms: %v is out of range 0..%d", field, t.CooldownMs, maxTriggerCooldownMs)
	case t.FromMs < 0 || t.FromMs >= s.DurationMs:
		return fmt.Errorf("%s.from_ms: %d must be in [0, duration_ms=%d)", field, t.FromMs, s.DurationMs)
	case t.Max < 1 || t.Max > maxTriggerFires:
		return fmt.Errorf("%s.max: %d is out of range 1..%d", field, t.Max, maxTriggerFires)
	case t.Fault == TriggerDropReply && s.Workload.Clients == 0:
		return fmt.Errorf("%s.fault: %q needs clients (workload.clients is 0)", field, t.Fault)
	}
	return nil
}

// Name is how faults placed by the trigger are labelled: "<event>+<event>.../<fault>".
func (t *Trigger) Name() string { return strings.Join(t.On, "+") + "/" + t.Fault }

// eventID numbers TriggerEvents for the engine's tables.
type eventID int

func eventIndex(name string) eventID { return eventID(slices.Index(TriggerEvents, name)) }

// Event ids, for the watch's fast path.
var (
	evLeaderElected  = eventIndex(EventLeaderElected)
	evLeaderLost     = eventIndex(EventLeaderLost)
	evCampaign       = eventIndex(EventCampaign)
	evVoteGranted    = eventIndex(EventVoteGranted)
	evAppendRejected = eventIndex(EventAppendRejected)
	evSnapshotSent   = eventIndex(EventSnapshotSent)
	evSnapshot       = eventIndex(EventSnapshot)
	evTruncate       = eventIndex(EventTruncate)
	evProposal       = eventIndex(EventProposal)
	evCommit         = eventIndex(EventCommit)
	evApply          = eventIndex(EventApply)
	evRestart        = eventIndex(EventRestart)
	evClientRequest  = eventIndex(EventClientRequest)
	evClientReply    = eventIndex(EventClientReply)
	evReadStarted    = eventIndex(EventReadStarted)
	evReadServed     = eventIndex(EventReadServed)
)

// occurrence is one event as the watch saw it: where, and with whom (-1: nobody).
type occurrence struct {
	ev      eventID
	subject int
	peer    int // a server
	client  int // a client index
}

// triggerEngine fires a schedule's triggers during a run and records the faults they place.
type triggerEngine struct {
	r      *run
	s      *Schedule
	nem    *nemesis
	arms   []triggerArm
	byEv   [][]int // event id -> indexes of arms
	placed []Fault // in the order they were queued
	endAt  sim.Time
	// messages: some trigger fires on an event seen in messages.
	messages bool
}

type triggerArm struct {
	t       *Trigger
	rnd     *sim.Rand
	fired   int
	readyAt sim.Time
}

func newTriggerEngine(r *run, s *Schedule, nem *nemesis) *triggerEngine {
	if len(s.Triggers) == 0 {
		return nil
	}
	e := &triggerEngine{r: r, s: s, nem: nem, byEv: make([][]int, len(TriggerEvents)), endAt: ms(s.DurationMs)}
	for i := range s.Triggers {
		t := &s.Triggers[i]
		// Each trigger draws from a stream of its own, so that removing one keeps the
		// others' draws.
		e.arms = append(e.arms, triggerArm{t: t, rnd: sim.NewRand(s.Seed, fmt.Sprintf("triggers/%d/%s", i, t.Name())), readyAt: ms(t.FromMs)})
		for _, name := range t.On {
			ev := eventIndex(name)
			e.byEv[ev] = append(e.byEv[ev], i)
			e.messages = e.messages || slices.Contains(messageEvents, name)
		}
	}
	return e
}

// wants reports whether some trigger fires on ev (the watch skips work for the others).
func (e *triggerEngine) wants(ev eventID) bool { return e != nil && len(e.byEv[ev]) > 0 }

// happened offers one occurrence to the triggers that fire on it.
func (e *triggerEngine) happened(o occurrence) {
	if !e.wants(o.ev) {
		return
	}
	for _, i := range e.byEv[o.ev] {
		e.fire(&e.arms[i], o)
	}
}

func (e *triggerEngine) fire(a *triggerArm, o occurrence) {
	now := e.r.sim.Now()
	if a.fired >= a.t.Max || now < a.readyAt || !a.rnd.Chance(a.t.Chance) {
		return
	}
	at := now + max(1, a.rnd.Between(0, msf(a.t.DelayMaxMs)))
	hold := a.rnd.Between(msf(a.t.HoldMinMs), msf(a.t.HoldMaxMs))
	if at >= e.endAt {
		return
	}
	target := e.target(a, o)
	if target < 0 {
		return
	}
	faults := e.build(a, o, target, at, at+hold)
	if len(faults) == 0 {
		return
	}
	a.fired++
	a.readyAt = at + hold + msf(a.t.CooldownMs)
	for _, f := range faults {
		if f.at() >= e.endAt {
			continue // the final heal undoes it
		}
		f.Trigger = a.t.Name()
		e.placed = append(e.placed, f)
		e.r.sim.AtFirst(f.at(), "fault "+f.Kind, func() { e.nem.apply(f) })
	}
}

// target resolves the trigger's target for an occurrence, or -1.
func (e *triggerEngine) target(a *triggerArm, o occurrence) int {
	switch a.t.Target {
	case TargetPeer:
		if o.peer >= 0 {
			return o.peer
		}
		return o.subject
	case TargetLeader:
		// From the servers' own reports: the event may come from a server that is starting,
		// which cannot be asked for its status yet.
		return e.r.watch.leader()
	case TargetOther:
		if e.s.Nodes < 2 {
			return -1
		}
		x := a.rnd.Intn(e.s.Nodes - 1)
		if x >= o.subject {
			x++
		}
		return x
	}
	return o.subject
}

// faultAt is a Fault placed at instant t.
func faultAt(t sim.Time, kind string) Fault {
	return Fault{AtMs: int64(t / sim.Millisecond), AtNs: int64(t), Kind: kind}
}

// build returns the trigger's fault on target at `at` and the fault that undoes it at `end`.
func (e *triggerEngine) build(a *triggerArm, o occurrence, target int, at, end sim.Time) []Fault {
	n := e.s.Nodes
	pair := func(doKind, undoKind string, set func(f *Fault)) []Fault {
		do, undo := faultAt(at, doKind), faultAt(end, undoKind)
		set(&do)
		set(&undo)
		return []Fault{do, undo}
	}
	links := func(links [][2]int) func(f *Fault) { return func(f *Fault) { f.Links = links } }
	nodes := func(xs []int) func(f *Fault) { return func(f *Fault) { f.Nodes = xs } }
	if n < 2 && a.t.Fault != TriggerCrash && a.t.Fault != TriggerCrashAll && a.t.Fault != TriggerPause && a.t.Fault != TriggerClock {
		return nil // a one-node cluster has no links to cut
	}
	// other is the node at the other end of the event, or a drawn one.
	other := o.peer
	if other < 0 || other == target {
		other = o.subject
	}
	if other == target && n > 1 {
		other = (target + 1 + a.rnd.Intn(n-1)) % n
	}
	switch a.t.Fault {
	case TriggerCrash:
		if !e.r.sim.IsUp(sim.NodeID(target)) {
			return nil
		}
		return pair(FaultCrash, FaultRestart, nodes([]int{target}))
	case TriggerCrashAll:
		return pair(FaultCrash, FaultRestart, nodes(allNodes(n)))
	case TriggerPause:
		return pair(FaultPause, FaultResume, nodes([]int{target}))
	case TriggerIsolate:
		var cut [][2]int
		for x := 0; x < n; x++ {
			if x != target {
				cut = append(cut, [2]int{target, x}, [2]int{x, target})
			}
		}
		return pair(FaultLinkDown, FaultLinkUp, links(cut))
	case TriggerCut:
		return pair(FaultLinkDown, FaultLinkUp, links([][2]int{{target, other}, {other, target}}))
	case TriggerPartition:
		// The target and size-1 others on one side, the rest on the other.
		rest := a.rnd.Perm(n)
		size := 1 + a.rnd.Intn(n-1)
		side := []int{target}
		for _, x := range rest {
			if x != target && len(side) < size {
				side = append(side, x)
			}
		}
		var cut [][2]int
		for _, x := range side {
			for y := 0; y < n; y++ {
				if !slices.Contains(side, y) {
					cut = append(cut, [2]int{x, y}, [2]int{y, x})
				}
			}
		}
		return pair(FaultLinkDown, FaultLinkUp, links(cut))
	case TriggerDropNext:
		f := faultAt(at, FaultDropNext)
		if o.peer >= 0 && o.peer != target {
			f.Links = [][2]int{{target, o.peer}}
		} else {
			for x := 0; x < n; x++ {
				if x != target {
					f.Links = append(f.Links, [2]int{target, x})
				}
			}
		}
		return []Fault{f}
	case TriggerDropReply:
		if e.s.Workload.Clients == 0 {
			return nil
		}
		f := faultAt(at, FaultDropReply)
		f.Nodes = []int{target}
		if o.client >= 0 {
			f.Clients = []int{o.client}
		} else {
			f.Clients = allNodes(e.s.Workload.Clients)
		}
		return []Fault{f}
	case TriggerClock:
		rate := 0.5 + 0.2*a.rnd.Float64()
		if a.rnd.Chance(0.5) {
			rate = 1.5 + 0.5*a.rnd.Float64()
		}
		do, undo := faultAt(at, FaultClock), faultAt(end, FaultClock)
		do.Nodes, do.Rate = []int{target}, round3(rate)
		undo.Nodes, undo.Rate = []int{target}, 1
		return []Fault{do, undo}
	}
	panic("scenarios: validated trigger has fault " + a.t.Fault)
}

// executed returns the schedule the run executed: s without its triggers, with the faults they
// placed merged in by time (a placed fault after a listed fault of the same instant, as it was
// queued after it).
func (e *triggerEngine) executed(s *Schedule) *Schedule {
	out := s.Clone()
	out.Triggers = nil
	out.Faults = append(out.Faults, e.placed...)
	sortFaults(out.Faults)
	return out
}

// Swarm draws of triggers: how many a seed has, and the choices of each. Every field is drawn
// for every trigger, whatever the event and the fault, so that no combination is aimed at one
// bug: the generator knows protocol events and fault kinds, not the bugs. The weights favour
// the faults that change who can reach whom or what a node remembers (crashes, network cuts)
// over the milder ones, and the nodes at the centre of the event.
const (
	swarmMinTriggers     = 4
	swarmMaxTriggers     = 12
	swarmTriggerMaxFires = 8
	swarmTriggerFromMs   = 300
	swarmTriggerFromMax  = 3000
	swarmCooldownMinMs   = 100
	swarmCooldownMaxMs   = 3000
)

var (
	swarmTriggerFaultWeights = map[string]int{
		TriggerCrash: 3, TriggerIsolate: 2, TriggerPartition: 2, TriggerCut: 2, TriggerDropNext: 2,
		TriggerPause: 1, TriggerCrashAll: 1, TriggerDropReply: 1, TriggerClock: 1,
	}
	swarmTriggerTargetWeights = map[string]int{TargetSubject: 4, TargetLeader: 3, TargetPeer: 2, TargetOther: 1}
	// The delay bound, in multiples of the network's latency bound: none to a few latencies.
	swarmDelayLatencies = []float64{0, 0.5, 1, 2, 4}
)

// pickWeighted draws one of names (in their listed order) by weight.
func pickWeighted(g *faultGen, names []string, weights map[string]int) string {
	total := 0
	for _, n := range names {
		total += weights[n]
	}
	x := g.rnd.Intn(total)
	for _, n := range names {
		if x < weights[n] {
			return n
		}
		x -= weights[n]
	}
	panic("scenarios: pickWeighted out of range")
}

// genTriggers draws swarmMinTriggers..swarmMaxTriggers triggers for a schedule.
func genTriggers(g *faultGen) {
	k := swarmMinTriggers + g.rnd.Intn(swarmMaxTriggers-swarmMinTriggers+1)
	latencyMs := max(1, g.s.Network.LatencyMaxMs)
	for i := 0; i < k; i++ {
		t := Trigger{
			On:         []string{TriggerEvents[g.rnd.Intn(len(TriggerEvents))]},
			Fault:      pickWeighted(g, TriggerFaults, swarmTriggerFaultWeights),
			Target:     pickWeighted(g, TriggerTargets, swarmTriggerTargetWeights),
			Chance:     []float64{1, 0.5, 0.2, 0.05}[g.rnd.Intn(4)],
			DelayMaxMs: round3(latencyMs * swarmDelayLatencies[g.rnd.Intn(len(swarmDelayLatencies))]),
			CooldownMs: float64(g.betweenMs(swarmCooldownMinMs, swarmCooldownMaxMs)),
			FromMs:     g.betweenMs(swarmTriggerFromMs, swarmTriggerFromMax),
			Max:        1 + g.rnd.Intn(swarmTriggerMaxFires),
		}
		// A short hold (a blip: a process restarting at once, a link flickering) or a long
		// one (an outage that outlasts elections).
		if g.rnd.Chance(0.5) {
			t.HoldMinMs, t.HoldMaxMs = 1, 30
		} else {
			t.HoldMinMs, t.HoldMaxMs = 30, float64(g.betweenMs(300, 3000))
		}
		if t.Fault == TriggerDropReply && g.s.Workload.Clients == 0 {
			t.Fault = TriggerDropNext
		}
		g.s.Triggers = append(g.s.Triggers, t)
	}
}
