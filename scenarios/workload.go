package scenarios

import (
	"fmt"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Workload runs: raft servers running the KV service, clerks driving a workload, the schedule's
// faults, then heal and the liveness phase, then the checks.

const (
	// CheckRaftStateSize is the lab's snapshot-size check: with snapshots on, no server's
	// persisted raft state may exceed raftStateSlack times MaxRaftStateBytes.
	CheckRaftStateSize = "raft-state-size"
	raftStateSlack     = 8
	// pollInterval is how often the harness looks for a leader and for the end of the workload
	// after the final heal.
	pollInterval = 10 * sim.Millisecond

	// Stop reasons of a workload run.
	stopWorkloadComplete = "workload complete"
	stopUntil            = "-until reached"
)

func ms(x int64) sim.Time    { return sim.Time(x) * sim.Millisecond }
func msf(x float64) sim.Time { return sim.Time(x * float64(sim.Millisecond)) }
func (n NetworkSpec) config() sim.NetworkConfig {
	return sim.NetworkConfig{
		LatencyMin: msf(n.LatencyMinMs), LatencyMax: msf(n.LatencyMaxMs),
		DropRate: n.Drop, DuplicateRate: n.Duplicate, LongDelayRate: n.LongDelay, LongDelayMax: msf(n.LongDelayMaxMs),
	}
}

func runSchedule(s *Schedule, target *sut.SUT, bug Bug, opts Options) *Result {
	healAt := ms(s.DurationMs)
	deadline := healAt + ms(s.LivenessBoundMs)
	net := s.Network.config()
	var w *watch
	var onSend func(from, to sim.NodeID, payload []byte)
	if needsMessages(s) {
		onSend = func(from, to sim.NodeID, payload []byte) { w.onSend(from, to, payload) }
	}
	net.Ordered = target.OrderedLinks
	r := newRun(s.Scenario, s.Seed, target, bug, s.Nodes, net, deadline, opts, onSend)
	r.result.Schedule = s
	r.result.Faults = len(s.Faults)
	w = newWatch(r, s)
	r.watch = w
	r.listeners = append(r.listeners, w)
	calm := net
	calm.DropRate, calm.DuplicateRate, calm.LongDelayRate = 0, 0, 0
	nem := newNemesis(r, s, calm)
	w.triggers = newTriggerEngine(r, s, nem)

	readMode, ok := kv.ParseReadMode(s.Workload.ReadMode)
	if !ok {
		panic("scenarios: validated schedule has read mode " + s.Workload.ReadMode)
	}
	r.addServers(s.Nodes, sut.Config{
		Bug: bug.SUT, MaxRaftStateBytes: s.MaxRaftStateBytes,
		DisablePreVote: s.DisablePreVote, DisableCheckQuorum: s.DisableCheckQuorum, MaxEntriesPerMsg: s.MaxEntriesPerMsg,
		Probe: w.probe,
		NewService: kv.NewService(kv.ServerConfig{ReadMode: readMode, Bug: bug.KV, Observer: r.kvObserver(), Probe: w.probe,
			StateApplied: w.stateApplied, CorruptRestore: opts.corruptRestore}),
	})
	history := kv.NewHistory(r.sim.Now)
	r.observeCalls(history)
	if s.Workload.Clients > 0 {
		wl := s.Workload
		factory := kv.ClerkConfig{
			Servers:  serverIDs(s.Nodes),
			History:  history,
			Probe:    w.probe,
			Workload: wl.kv(healAt),
		}.Factory()
		for c := 0; c < wl.Clients; c++ {
			r.sim.AddNode(fmt.Sprintf("c%d", c), factory)
		}
	}
	for id := 0; id < r.sim.NumNodes(); id++ {
		r.sim.Start(sim.NodeID(id))
	}

	for _, f := range s.Faults {
		f := f
		if f.AtNs != 0 {
			r.sim.AtFirst(f.at(), "fault "+f.Kind, func() { nem.apply(f) })
		} else {
			r.sim.At(f.at(), "fault "+f.Kind, func() { nem.apply(f) })
		}
	}
	leaderSeen := sim.Time(-1)
	var poll func()
	poll = func() {
		r.checkRaftStateSize(s)
		if leaderSeen < 0 && r.leader() >= 0 {
			leaderSeen = r.sim.Now()
		}
		if leaderSeen >= 0 && history.Outstanding() == 0 {
			if ok, _, _, _, _ := w.converged(); ok {
				r.sim.Stop(stopWorkloadComplete)
				return
			}
		}
		r.sim.After(pollInterval, "poll", poll)
	}
	r.sim.At(healAt, "heal all", func() {
		nem.healAll()
		poll()
	})
	if opts.UntilMs > 0 {
		r.sim.At(ms(opts.UntilMs), "until", func() { r.sim.Stop(stopUntil) })
	}

	res := r.runKernel(r.sim.Run)
	r.checkRaftStateSize(s)
	result := r.finish(res.End)
	if w.triggers != nil {
		result.Schedule = w.triggers.executed(s)
		result.Faults = len(result.Schedule.Faults)
	}
	nem.closeWindows("")
	result.Annotations = nem.anns
	if res.End == sim.EndStopped && res.StopReason == stopUntil {
		result.stoppedEarly(r.sim.Now(), "they need the whole history", CheckLinearizability, CheckLiveness)
	}
	records := history.Records()
	r.checkHistory(s, records, leaderSeen)
	if result.Status == Pass && res.End == sim.EndTimeLimit {
		// The run waited for the replicas to converge until its deadline.
		if ok, node, other, index, why := w.converged(); !ok {
			r.monitor.ReportStateDivergence(node, other, index, "state divergence: after the final heal and the liveness bound, the replicas did not converge: "+why)
		}
	}
	w.historyProbes(records)
	result.Probes = w.probesHit()
	return result
}

// offlineCheck reports whether check is one checkHistory runs after the run (the others fail
// during it: the safety monitor, raft's assertions, the raft state bound).
func offlineCheck(check string) bool {
	return check == CheckLinearizability || check == CheckLiveness
}

// checkHistory converts the clients' history for the checkers and runs the offline checks:
// linearizability, then liveness after the final heal. A run already failed, or cut short by
// -until, is not judged further: the checks would see a cut history.
func (r *run) checkHistory(s *Schedule, records []kv.Record, leaderSeen sim.Time) {
	result := r.result
	ops := make([]checker.Op, len(records))
	for i, rec := range records {
		// Clients are numbered from 0 (c0, c1...) after the servers' nodes, as their nodes are
		// named.
		op := rec.Op
		op.Client -= s.Nodes
		ops[i] = op
	}
	result.History, result.Ops = ops, len(ops)
	if result.Status == Fail || len(result.NotRun) > 0 || r.opts.skipOfflineChecks {
		return
	}
	// The same check, with the same default explanation and memory bounds, as `simrun check`
	// on this history.
	lin, err := checker.Check(ops, checker.Options{Timeout: r.opts.CheckTimeout, MemoryBudgetBytes: r.opts.CheckMemoryBytes})
	if err != nil {
		panic(fmt.Sprintf("scenarios: the clients recorded a malformed history: %v", err))
	}
	result.Lin = &lin
	result.LinVerdict = lin.Verdict.String()
	switch lin.Verdict {
	case checker.Illegal:
		at := sim.Time(0)
		if len(lin.Ops) > 0 {
			at = sim.Time(lin.Ops[len(lin.Ops)-1].Call)
		}
		result.fail(CheckLinearizability, lin.Describe(), at, -1)
	case checker.Unknown:
		result.Status = Inconclusive
		result.Message = fmt.Sprintf("the linearizability check hit its %s (%d operations over %d keys): %s",
			lin.Reason, lin.Operations, lin.Keys, lin.Describe())
	}
	healAt := ms(s.DurationMs)
	deadline := healAt + ms(s.LivenessBoundMs)
	live := checker.CheckLiveness(notAbandonedBy(records, ops, deadline), int64(healAt), int64(ms(s.LivenessBoundMs)), int64(leaderSeen))
	result.LivenessVerdict = "ok"
	if !live.OK {
		result.LivenessVerdict = "fail"
		result.Late = live.Late
		result.fail(CheckLiveness, live.Reason, deadline, -1)
	}
}

// notAbandonedBy leaves out the calls their clerk gave up on by t (the liveness deadline): a
// client that abandons a call after exhausting its attempts has stopped waiting for it, so
// liveness does not judge it, even when the last attempts fell just after the heal. A call
// still being retried at the deadline is judged, and so the check still catches a cluster that
// never recovers: every clerk's current call outlives its attempt cap's last few retries.
// (Linearizability still counts abandoned writes as writes that may have taken effect.)
func notAbandonedBy(records []kv.Record, ops []checker.Op, t sim.Time) []checker.Op {
	out := make([]checker.Op, 0, len(ops))
	for i, rec := range records {
		if rec.GaveUp && rec.GaveUpAt <= t {
			continue
		}
		out = append(out, ops[i])
	}
	return out
}

func serverIDs(n int) []sim.NodeID {
	ids := make([]sim.NodeID, n)
	for i := range ids {
		ids[i] = sim.NodeID(i)
	}
	return ids
}

// checkRaftStateSize fails the run if a live server's raft state outgrew its snapshot limit.
func (r *run) checkRaftStateSize(s *Schedule) {
	if s.MaxRaftStateBytes <= 0 {
		return
	}
	limit := raftStateSlack * s.MaxRaftStateBytes
	for i := range r.servers {
		if srv := r.server(i); srv != nil && srv.RaftStateBytes() > limit {
			r.result.fail(CheckRaftStateSize, fmt.Sprintf("server %d's raft state is %d bytes, more than %dx max_raft_state_bytes (%d): it does not snapshot",
				i, srv.RaftStateBytes(), raftStateSlack, s.MaxRaftStateBytes), r.sim.Now(), r.sim.Stats().Events)
			r.sim.Stop("raft state too large")
			return
		}
	}
}

// kv is the clerks' workload of w, stopping at stopAt.
func (w Workload) kv(stopAt sim.Time) kv.Workload {
	return kv.Workload{
		Keys: w.Keys, GetWeight: w.Get, PutWeight: w.Put, AppendWeight: w.Append, CASWeight: w.CAS,
		ThinkMin: msf(w.ThinkMinMs), ThinkMax: msf(w.ThinkMaxMs), MaxOps: w.OpsPerClient, StopAt: stopAt,
		HotKeyChance: w.HotKey, ReadAfterWrite: w.ReadAfterWrite, BurstOps: w.BurstOps, Roam: w.Roam,
	}
}

// genWorkloadShape switches the workload shapes on and off for a seed (swarm testing of the
// workload): contention on a hot key, reads right after writes, bursts after a leader change,
// and clients that roam. (Busier clients were tried: their histories take the
// linearizability checker past its time bound.)
func genWorkloadShape(g *faultGen) {
	w := &g.s.Workload
	if g.rnd.Chance(0.3) {
		w.HotKey = round3(0.3 + 0.5*g.rnd.Float64())
	}
	if g.rnd.Chance(0.3) {
		w.ReadAfterWrite = round3(0.3 + 0.7*g.rnd.Float64())
	}
	if g.rnd.Chance(0.3) {
		w.BurstOps = 5 + g.rnd.Intn(26)
	}
	w.Roam = g.rnd.Chance(0.2)
}
