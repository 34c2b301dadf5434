package scenarios

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/raftsim/raftsim/checker/monitor"
	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Execute runs one spec to the end and checks it. The error is for bad names and unsupported
// combinations only; whatever the run finds is in the Result.
func Execute(spec Spec, opts Options) (*Result, error) {
	sutName := spec.SUT
	if sutName == "" && spec.Schedule != nil {
		sutName = spec.Schedule.SUT
	}
	target, err := lookupRunnable(sutName)
	if err != nil {
		return nil, err
	}
	bug, err := LookupBug(spec.Bug, target)
	if err != nil {
		return nil, err
	}
	if spec.Schedule != nil {
		if err := spec.Schedule.Validate(); err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		s := spec.Schedule.Clone()
		s.Bug, s.SUT = spec.Bug, sutField(target)
		return finishRecording(opts, runSchedule(s, target, bug, opts)), nil
	}
	sc, err := Lookup(spec.Scenario)
	if err != nil {
		return nil, err
	}
	if !sc.Supports(target.Name) {
		return nil, fmt.Errorf("scenario %s does not run on -sut %s (it needs %s); it supports: %s",
			sc.Name, target.Name, sc.Needs, strings.Join(sc.SUTs, ", "))
	}
	if sc.Script != nil {
		return finishRecording(opts, runScript(sc, spec.Seed, target, bug, opts)), nil
	}
	s := sc.Schedule(spec.Seed)
	s.Bug, s.SUT = spec.Bug, sutField(target)
	return finishRecording(opts, runSchedule(s, target, bug, opts)), nil
}

// lookupRunnable resolves an SUT name that this binary can run.
func lookupRunnable(name string) (*sut.SUT, error) {
	target, err := sut.Lookup(name)
	if err != nil {
		return nil, err
	}
	if !target.Runs() {
		return nil, fmt.Errorf("system under test %s is built by the Go module in %s, not by this binary (simrun runs it there)", target.Name, target.Module)
	}
	return target, nil
}

// sutField is what a schedule records of its SUT: nothing for the default, so that schedules of
// raftsim runs stay as they were.
func sutField(target *sut.SUT) string {
	if target.Name == sut.DefaultName {
		return ""
	}
	return target.Name
}

// run is what every kind of run shares: the kernel, the system under test, the online safety
// monitor fed by its servers, and the result being built.
type run struct {
	sim     *sim.Sim
	sut     *sut.SUT
	monitor *monitor.Monitor
	result  *Result
	servers []sut.Server // the live incarnation of each consensus server (nil while down)
	opts    Options
	// listeners hear the servers' reports after the monitor (added before addServers).
	listeners []sut.Observer
	// watch is a workload run's observer of itself (nil in scripted runs).
	watch *watch
}

func newRun(scenario string, seed uint64, target *sut.SUT, bug Bug, nodes int, net sim.NetworkConfig, maxTime sim.Time, opts Options, onSend func(from, to sim.NodeID, payload []byte)) *run {
	maxEvents := opts.MaxEvents
	if maxEvents == 0 {
		maxEvents = DefaultMaxEvents
	}
	r := &run{sut: target, opts: opts, result: &Result{Scenario: scenario, Seed: seed, SUT: target.Name, Bug: bug.Name, SafetyVerdict: "ok"}}
	trace := r.startRecording(opts)
	r.sim = sim.New(sim.Config{
		Seed: seed, MaxEvents: maxEvents, MaxTime: maxTime, Network: net,
		Trace: trace, Describe: r.describePayload, RecordDigests: opts.RecordDigests, OnSend: onSend,
	})
	r.monitor = monitor.New(nodes)
	r.monitor.OnViolation(func(v monitor.Violation) {
		r.result.SafetyVerdict = v.Property
		r.result.fail(v.Property, v.Message, r.sim.Now(), r.sim.Stats().Events)
		r.sim.Stop("safety violation: " + v.Property)
	})
	r.servers = make([]sut.Server, nodes)
	return r
}

// addServers registers the consensus servers as nodes 0..n-1, running the run's SUT.
func (r *run) addServers(n int, cfg sut.Config) {
	cfg.Peers = serverIDs(n)
	cfg.Observer = sut.Tee(append([]sut.Observer{r.monitor}, r.listeners...)...)
	cfg.Clock = r.sim.Now
	factory, err := r.sut.Factory(cfg)
	if err != nil {
		panic(fmt.Sprintf("scenarios: %v", err)) // configurations come from validated schedules
	}
	for i := 0; i < n; i++ {
		id := r.sim.AddNode(fmt.Sprintf("s%d", i), func(id sim.NodeID) sim.Node {
			srv := factory(id)
			r.servers[id] = srv
			return srv
		})
		if int(id) != i {
			panic("scenarios: servers must be the first nodes added")
		}
	}
}

// server returns the live incarnation of server i, or nil when it is down.
func (r *run) server(i int) sut.Server {
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
		if st.Role == sut.Leader && st.Term >= bestTerm {
			best, bestTerm = i, st.Term
		}
	}
	return best
}

// Checks that a panic during a run fails: raft's own invariant assertions (a panic that starts
// with "raft: invariant violated": the planted bug broke an invariant the code asserts before
// any observer saw the consequence), and any other panic raised while a node, host or harness
// callback handled an event (a finding against the system under test, or a defect of the
// harness; either way the run is named, replayable and shrinkable).
const (
	CheckRaftInvariant = "raft-invariant"
	CheckPanic         = "panic"
)

// runKernel runs the simulation, turning a panic into the run's failure (the kernel is left
// mid-event and is not run again).
func (r *run) runKernel(run func() sim.Result) (res sim.Result) {
	defer func() {
		if p := recover(); p != nil {
			check := r.panicFailure(p, debug.Stack())
			res = sim.Result{End: sim.EndStopped, StopReason: check, Now: r.sim.Now()}
		}
	}()
	return run()
}

// panicFailure records a recovered panic as the run's failure and returns its check.
func (r *run) panicFailure(p any, stack []byte) string {
	msg := fmt.Sprint(p)
	if err, ok := p.(error); ok {
		msg = err.Error()
	}
	check := CheckPanic
	if strings.HasPrefix(msg, "raft: invariant violated") {
		check = CheckRaftInvariant
	}
	r.result.SafetyVerdict = check
	r.result.fail(check, msg, r.sim.Now(), r.sim.Stats().Events)
	if check == CheckPanic {
		r.result.PanicStack = string(stack)
	}
	return check
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

// describePayload shows a message in the trace: consensus messages as the SUT decodes them,
// the KV service's by kv, anything else by its tag.
func (r *run) describePayload(p []byte) string {
	if len(p) > 0 && p[0] == sut.TagConsensus {
		if m, ok := r.sut.Describe(p); ok {
			return m.Text
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
