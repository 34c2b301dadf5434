package scenarios

import (
	"fmt"
	"strings"

	"github.com/raftsim/raftsim/checker/monitor"
	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/raft/simhost"
	"github.com/raftsim/raftsim/sim"
)

// Execute runs one spec to the end and checks it. The error is for bad names only; whatever
// the run finds is in the Result.
func Execute(spec Spec, opts Options) (*Result, error) {
	bug, err := LookupBug(spec.Bug)
	if err != nil {
		return nil, err
	}
	if spec.Schedule != nil {
		if err := spec.Schedule.Validate(); err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		s := spec.Schedule.Clone()
		s.Bug = spec.Bug
		return runSchedule(s, bug, opts), nil
	}
	sc, err := Lookup(spec.Scenario)
	if err != nil {
		return nil, err
	}
	if sc.Script != nil {
		return runScript(sc, spec.Seed, bug, opts), nil
	}
	s := sc.Schedule(spec.Seed)
	s.Bug = spec.Bug
	return runSchedule(s, bug, opts), nil
}

// run is what every kind of run shares: the kernel, the online safety monitor fed by the raft
// servers, and the result being built.
type run struct {
	sim     *sim.Sim
	monitor *monitor.Monitor
	result  *Result
	servers []*simhost.Server // the live incarnation of each raft server (nil while down)
	opts    Options
}

func newRun(scenario string, seed uint64, bug Bug, nodes int, net sim.NetworkConfig, maxTime sim.Time, opts Options, onSend func(from, to sim.NodeID, payload []byte)) *run {
	maxEvents := opts.MaxEvents
	if maxEvents == 0 {
		maxEvents = DefaultMaxEvents
	}
	r := &run{opts: opts, result: &Result{Scenario: scenario, Seed: seed, Bug: bug.Name, SafetyVerdict: "ok"}}
	r.sim = sim.New(sim.Config{
		Seed: seed, MaxEvents: maxEvents, MaxTime: maxTime, Network: net,
		Trace: opts.Trace, Describe: describePayload, RecordDigests: opts.RecordDigests, OnSend: onSend,
	})
	r.monitor = monitor.New(nodes)
	r.monitor.OnViolation(func(v monitor.Violation) {
		r.result.SafetyVerdict = v.Property
		r.result.fail(v.Property, v.Message, r.sim.Now(), r.sim.Stats().Events)
		r.sim.Stop("safety violation: " + v.Property)
	})
	r.servers = make([]*simhost.Server, nodes)
	return r
}

// addServers registers the raft servers as nodes 0..n-1 (raft id == node id).
func (r *run) addServers(n int, cfg simhost.Config) {
	cfg.Peers = make([]sim.NodeID, n)
	for i := range cfg.Peers {
		cfg.Peers[i] = sim.NodeID(i)
	}
	cfg.Observer = r.monitor
	cfg.Clock = r.sim.Now
	factory := cfg.Factory()
	for i := 0; i < n; i++ {
		id := r.sim.AddNode(fmt.Sprintf("server%d", i), func(id sim.NodeID) sim.Node {
			srv := factory(id).(*simhost.Server)
			r.servers[id] = srv
			return srv
		})
		if int(id) != i {
			panic("scenarios: servers must be the first nodes added")
		}
	}
}

// server returns the live incarnation of server i, or nil when it is down.
func (r *run) server(i int) *simhost.Server {
	if !r.sim.IsUp(sim.NodeID(i)) {
		return nil
	}
	return r.servers[i]
}

// leader returns a live server that is leader in the highest term any live server knows, or -1.
func (r *run) leader() int {
	best, bestTerm := -1, uint64(0)
	for i := range r.servers {
		srv := r.server(i)
		if srv == nil || r.sim.IsPaused(sim.NodeID(i)) {
			continue
		}
		st := srv.Status()
		if st.Role == raft.Leader && st.Term >= bestTerm {
			best, bestTerm = i, st.Term
		}
	}
	return best
}

// CheckRaftInvariant names a failure found by one of raft's own assertions (a panic that
// starts with "raft: invariant violated"): the planted bug broke an invariant the code asserts
// before any observer saw the consequence.
const CheckRaftInvariant = "raft-invariant"

// raftInvariantPanic reports whether a recovered panic value is a raft invariant assertion.
func raftInvariantPanic(p any) (string, bool) {
	var msg string
	switch v := p.(type) {
	case string:
		msg = v
	case error:
		msg = v.Error()
	default:
		return "", false
	}
	return msg, strings.HasPrefix(msg, "raft: invariant violated")
}

// runKernel runs the simulation, turning a raft invariant assertion into a failed run (the
// kernel is left mid-event and is not run again). Any other panic is a bug of the harness or
// host and is not hidden.
func (r *run) runKernel(run func() sim.Result) (res sim.Result) {
	defer func() {
		if p := recover(); p != nil {
			r.invariantFailure(p)
			res = sim.Result{End: sim.EndStopped, StopReason: CheckRaftInvariant, Now: r.sim.Now()}
		}
	}()
	return run()
}

// invariantFailure records a raft invariant panic as the run's failure, or re-panics.
func (r *run) invariantFailure(p any) {
	msg, ok := raftInvariantPanic(p)
	if !ok {
		panic(p)
	}
	r.result.SafetyVerdict = CheckRaftInvariant
	r.result.fail(CheckRaftInvariant, msg, r.sim.Now(), r.sim.Stats().Events)
}

// finish fills in the counters every result reports.
func (r *run) finish(end sim.End) *Result {
	res := r.result
	st := r.sim.Stats()
	res.VirtualTime, res.Events, res.Messages, res.End = r.sim.Now(), st.Events, st.MessagesSent, end
	res.Hash = r.sim.Hash()
	if r.opts.RecordDigests {
		res.Digests = r.sim.Digests()
	}
	if end == sim.EndEventLimit {
		res.fail(CheckEventLimit, fmt.Sprintf("the run executed its limit of %d events by %s without finishing: a message or timer storm, or a limit set too low",
			res.Events, res.VirtualTime), res.VirtualTime, res.Events)
	}
	return res
}

// describePayload shows a message in the trace: raft messages decoded, others by their tag.
func describePayload(p []byte) string {
	if len(p) > 0 && p[0] == simhost.TagRaft {
		if m, err := raft.Unmarshal(p[1:]); err == nil {
			return m.String()
		}
	}
	if desc, ok := kv.DescribePayload(p); ok {
		return desc
	}
	if len(p) == 0 {
		return "empty payload"
	}
	return fmt.Sprintf("%d-byte payload tagged %q", len(p), p[0])
}
