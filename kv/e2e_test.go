package kv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/checker/monitor"
	"github.com/raftsim/raftsim/raft/simhost"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// kvRun is a whole KV cluster on the simulator: raft servers with KV services, clerks, the
// shared history, and the online raft monitor.
type kvRun struct {
	t        *testing.T
	s        *sim.Sim
	hist     *History
	mon      *monitor.Monitor
	servers  []sim.NodeID
	hosts    []sut.Server // current incarnation per server
	clerks   []*Clerk
	nServers int
}

type runOptions struct {
	seed              uint64
	servers, clerks   int
	server            ServerConfig
	workload          Workload
	maxRaftStateBytes int
	clerk             ClerkConfig
	host              func(*sut.Config)
	// readers are extra clerks that only Get (same keys and pace as workload).
	readers int
}

func newKVRun(t *testing.T, o runOptions) *kvRun {
	t.Helper()
	r := &kvRun{t: t, nServers: o.servers, mon: monitor.New(o.servers)}
	r.s = sim.New(sim.Config{Seed: o.seed, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond}})
	r.hist = NewHistory(r.s.Now)
	for i := 0; i < o.servers; i++ {
		r.servers = append(r.servers, sim.NodeID(i))
	}
	r.hosts = make([]sut.Server, o.servers)
	hostCfg := sut.Config{
		Peers:             r.servers,
		NewService:        NewService(o.server),
		MaxRaftStateBytes: o.maxRaftStateBytes,
		Observer:          r.mon,
		Clock:             r.s.Now,
	}
	if o.host != nil {
		o.host(&hostCfg)
	}
	hostFactory := simhost.Factory(hostCfg)
	for i := 0; i < o.servers; i++ {
		r.s.AddNode(fmt.Sprintf("kv%d", i), func(id sim.NodeID) sim.Node {
			h := hostFactory(id).(sut.Server)
			r.hosts[id] = h
			return h
		})
	}
	clerkCfg := o.clerk
	clerkCfg.Servers, clerkCfg.History, clerkCfg.Workload = r.servers, r.hist, o.workload
	clerkFactory := clerkCfg.Factory()
	r.clerks = make([]*Clerk, o.clerks)
	for i := 0; i < o.clerks; i++ {
		k := i
		r.s.AddNode(fmt.Sprintf("clerk%d", i), func(id sim.NodeID) sim.Node {
			c := clerkFactory(id).(*Clerk)
			r.clerks[k] = c
			return c
		})
	}
	if o.readers > 0 {
		readerCfg := clerkCfg
		readerCfg.Workload.GetWeight, readerCfg.Workload.PutWeight, readerCfg.Workload.AppendWeight, readerCfg.Workload.CASWeight = 1, 0, 0, 0
		readerFactory := readerCfg.Factory()
		for i := 0; i < o.readers; i++ {
			k := len(r.clerks)
			r.clerks = append(r.clerks, nil)
			r.s.AddNode(fmt.Sprintf("reader%d", i), func(id sim.NodeID) sim.Node {
				c := readerFactory(id).(*Clerk)
				r.clerks[k] = c
				return c
			})
		}
	}
	for id := 0; id < r.s.NumNodes(); id++ {
		r.s.Start(sim.NodeID(id))
	}
	return r
}

func (r *kvRun) leader() int {
	for i, h := range r.hosts {
		if r.s.IsUp(sim.NodeID(i)) && h.Status().Role == sut.Leader {
			return i
		}
	}
	return -1
}

// scheduleFaults injects crashes, restarts and partitions between from and to, then heals
// everything at to.
func (r *kvRun) scheduleFaults(from, to sim.Time) {
	rnd := r.s.Rand("test/faults")
	n := r.nServers
	for at := from; at < to; at += rnd.Between(200*sim.Millisecond, 700*sim.Millisecond) {
		kind := rnd.Intn(5)
		victim := sim.NodeID(rnd.Intn(n))
		r.s.At(at, "test-fault", func() {
			switch kind {
			case 0: // crash a node (at most one down at a time)
				for i := 0; i < n; i++ {
					if !r.s.IsUp(sim.NodeID(i)) {
						r.s.Restart(sim.NodeID(i))
					}
				}
				r.s.Crash(victim)
			case 1: // isolate the leader
				if l := r.leader(); l >= 0 {
					r.s.Net().Isolate(sim.NodeID(l))
				}
			case 2: // a minority partition
				r.s.Net().Partition(r.servers[:n/2], r.servers[n/2:])
			case 3, 4:
				r.s.Net().Heal()
			}
		})
	}
	r.s.At(to, "test-heal", func() {
		r.s.Net().Heal()
		for i := 0; i < n; i++ {
			if !r.s.IsUp(sim.NodeID(i)) {
				r.s.Restart(sim.NodeID(i))
			}
		}
	})
}

// checkLinearizable checks the clients' records with the same call the harness makes.
func checkLinearizable(records []Record, timeout time.Duration) (checker.LinResult, error) {
	ops := make([]checker.Op, len(records))
	for i, rec := range records {
		ops[i] = rec.Op
	}
	return checker.Check(ops, checker.Options{Timeout: timeout})
}

// checkNoDuplicateTokens is an exactly-once check that needs no search: every generated value
// is unique and ends with ';', so no value read may contain a piece twice.
func checkNoDuplicateTokens(records []Record) error {
	for _, rec := range records {
		if rec.Kind != OpGet || rec.Pending {
			continue
		}
		seen := map[string]bool{}
		for _, tok := range strings.SplitAfter(rec.Output, ";") {
			if tok == "" {
				continue
			}
			if seen[tok] {
				return fmt.Errorf("%v: %q appears twice (a write took effect twice)", rec, tok)
			}
			seen[tok] = true
		}
	}
	return nil
}

func (r *kvRun) check(wantAllComplete bool) {
	r.t.Helper()
	if v := r.mon.Violation(); v != nil {
		r.t.Fatalf("raft monitor: %s", v.Message)
	}
	records := r.hist.Records()
	if len(records) == 0 {
		r.t.Fatal("no calls were made")
	}
	if wantAllComplete {
		if p := r.hist.Pending(); p != 0 {
			for _, rec := range records {
				if rec.Pending {
					r.t.Logf("pending: %v", rec)
				}
			}
			r.t.Fatalf("%d of %d calls did not complete", p, len(records))
		}
	}
	if err := checkNoDuplicateTokens(records); err != nil {
		r.t.Fatal(err)
	}
	res, err := checkLinearizable(records, 10*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	if res.Verdict != checker.Ok {
		r.t.Fatalf("history of %d calls is %v: %s", len(records), res.Verdict, res.Describe())
	}
}

func TestEndToEndWithFaults(t *testing.T) {
	seeds := sweepSeeds(4)
	modes := []ReadMode{ReadIndex, ReadLog}
	// A seed whose faults keep the cluster down most of the time may write too little to
	// snapshot; across the seeds, snapshots must happen.
	var snapshotsInAll int64
	defer func() {
		if snapshotsInAll == 0 && !t.Failed() {
			t.Errorf("no snapshot was taken in %d seeds with MaxRaftStateBytes 4000", seeds)
		}
	}()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		mode := modes[seed%2]
		t.Run(fmt.Sprintf("seed%d-%v", seed, mode), func(t *testing.T) {
			r := newKVRun(t, runOptions{
				seed: seed, servers: 3, clerks: 3,
				server: ServerConfig{ReadMode: mode},
				workload: Workload{Keys: 3, GetWeight: 3, PutWeight: 1, AppendWeight: 3, CASWeight: 1,
					ThinkMin: 5 * sim.Millisecond, ThinkMax: 30 * sim.Millisecond, StopAt: 4 * sim.Second},
				maxRaftStateBytes: 4000,
			})
			r.scheduleFaults(500*sim.Millisecond, 3500*sim.Millisecond)
			r.s.RunUntil(8 * sim.Second)
			r.check(true)
			var completed, gaveUp, sends int64
			for _, c := range r.clerks {
				st := c.Stats()
				completed += st.Completed
				gaveUp += st.GaveUp
				sends += st.Sends
			}
			if completed < 30 { // a floor against a stalled cluster: faults hold for 3 of the 4 s
				t.Fatalf("only %d calls completed", completed)
			}
			snapshots := int64(0)
			for _, h := range r.hosts {
				st := h.(*simhost.Server).Stats()
				snapshots += st.Snapshots + st.Installs
			}
			snapshotsInAll += snapshots
			t.Logf("%d calls completed, %d sends, %d gave up, %d snapshots/installs, %d events, %v virtual",
				completed, sends, gaveUp, snapshots, r.s.Stats().Events, r.s.Now())
		})
	}
}

// A fault-free run: every kind of call completes and the results are linearizable.
func TestEndToEndQuiet(t *testing.T) {
	r := newKVRun(t, runOptions{
		seed: 9, servers: 5, clerks: 4,
		workload: Workload{Keys: 2, ThinkMax: 10 * sim.Millisecond, MaxOps: 60, ValueBytes: 16},
	})
	r.s.RunUntil(10 * sim.Second)
	r.check(true)
	if n := r.hist.Len(); n != 4*60 {
		t.Fatalf("%d calls recorded, want 240", n)
	}
	var swapped, failedCAS int
	for _, rec := range r.hist.Records() {
		if rec.Kind == OpCAS {
			if rec.OK {
				swapped++
			} else {
				failedCAS++
			}
		}
		if rec.Kind != OpGet && len(rec.Value) < 16 {
			t.Fatalf("value %q shorter than ValueBytes 16", rec.Value)
		}
	}
	if swapped == 0 || failedCAS == 0 {
		t.Fatalf("CAS outcomes: %d swapped, %d failed; the workload should produce both", swapped, failedCAS)
	}
}

func TestEndToEndDeterministic(t *testing.T) {
	run := func() (uint64, int) {
		r := newKVRun(t, runOptions{
			seed: 77, servers: 3, clerks: 2,
			workload: Workload{Keys: 2, ThinkMax: 20 * sim.Millisecond, StopAt: 2 * sim.Second},
		})
		r.scheduleFaults(300*sim.Millisecond, 1500*sim.Millisecond)
		r.s.RunUntil(4 * sim.Second)
		return r.s.Hash(), r.hist.Len()
	}
	h1, n1 := run()
	h2, n2 := run()
	if h1 != h2 || n1 != n2 {
		t.Fatalf("same seed, different runs: hash %x/%x, calls %d/%d", h1, h2, n1, n2)
	}
}

// A clerk that cannot reach any server gives up after its attempt cap and records the call
// as pending.
func TestClerkGivesUp(t *testing.T) {
	r := newKVRun(t, runOptions{
		seed: 5, servers: 3, clerks: 1,
		workload: Workload{Keys: 1, PutWeight: 1, MaxOps: 2},
		clerk:    ClerkConfig{MaxAttempts: 4, RequestTimeout: 50 * sim.Millisecond},
	})
	r.s.Net().Isolate(3) // the clerk
	r.s.RunUntil(5 * sim.Second)
	st := r.clerks[0].Stats()
	if st.GaveUp != 2 || st.Sends != 8 || r.hist.Pending() != 2 {
		t.Fatalf("clerk stats %+v, pending %d: want 2 calls given up after 4 sends each", st, r.hist.Pending())
	}
}

// checkAppendOnly is a fast, exact linearizability check for histories of Appends and Gets only
// (unique values): a Get must contain every append that completed before it was called, no
// piece twice, only pieces of appends invoked before it returned, and must extend every Get
// that returned before it was called.
func checkAppendOnly(records []Record) error {
	if err := checkNoDuplicateTokens(records); err != nil {
		return err
	}
	byKey := map[string][]Record{}
	for _, rec := range records {
		if rec.Kind != OpGet && rec.Kind != OpAppend {
			return fmt.Errorf("checkAppendOnly given a %s", rec.Kind)
		}
		byKey[rec.Key] = append(byKey[rec.Key], rec)
	}
	for _, recs := range byKey {
		for _, g := range recs {
			if g.Kind != OpGet || g.Pending {
				continue
			}
			for _, o := range recs {
				switch {
				case o.Kind == OpAppend && !o.Pending && o.Return < g.Call && !strings.Contains(g.Output, o.Value):
					return fmt.Errorf("stale read: %v misses %v, which completed before it", g, o)
				case o.Kind == OpAppend && o.Call > g.Return && strings.Contains(g.Output, o.Value):
					return fmt.Errorf("%v sees %v, which started after it returned", g, o)
				case o.Kind == OpGet && !o.Pending && o.Return < g.Call && !strings.HasPrefix(g.Output, o.Output):
					return fmt.Errorf("read went back: %v, then %v", o, g)
				}
			}
		}
	}
	return nil
}

// The KV planted bugs are found end to end by the checks of a run, and the correct build passes
// the same runs.
func TestPlantedBugNoDedupEndToEnd(t *testing.T) {
	run := func(bug Bug, seed uint64) error {
		r := newKVRun(t, runOptions{
			seed: seed, servers: 3, clerks: 4,
			server: ServerConfig{Bug: bug},
			workload: Workload{Keys: 2, GetWeight: 2, AppendWeight: 3,
				ThinkMin: sim.Millisecond, ThinkMax: 10 * sim.Millisecond, StopAt: 4 * sim.Second},
			clerk: ClerkConfig{RequestTimeout: 100 * sim.Millisecond},
		})
		r.scheduleFaults(300*sim.Millisecond, 3500*sim.Millisecond)
		r.s.RunUntil(8 * sim.Second)
		return checkAppendOnly(r.hist.Records())
	}
	found := 0
	for seed := uint64(1); seed <= 4; seed++ {
		if err := run(BugNone, seed); err != nil {
			t.Fatalf("correct build, seed %d: %v", seed, err)
		}
		if err := run(BugNoDedup, seed); err != nil {
			found++
			t.Logf("no-dedup, seed %d: %v", seed, err)
		}
	}
	if found == 0 {
		t.Fatal("no-dedup was not detected in 4 seeds")
	}
}

func TestPlantedBugReadLocalEndToEnd(t *testing.T) {
	// A leader cut off from the other servers but not from the clients, with CheckQuorum off so
	// that it does not step down: a clerk that only reads keeps talking to it while the others
	// move to the new leader and write there.
	run := func(bug Bug, seed uint64) error {
		r := newKVRun(t, runOptions{
			seed: seed, servers: 3, clerks: 3, readers: 1,
			server: ServerConfig{Bug: bug},
			workload: Workload{Keys: 2, GetWeight: 2, AppendWeight: 3,
				ThinkMin: sim.Millisecond, ThinkMax: 10 * sim.Millisecond, StopAt: 3 * sim.Second},
			clerk: ClerkConfig{RequestTimeout: 100 * sim.Millisecond},
			host:  func(c *sut.Config) { c.DisableCheckQuorum = true },
		})
		r.s.RunUntil(sim.Second)
		l := sim.NodeID(r.leader())
		var others []sim.NodeID
		for _, id := range r.servers {
			if id != l {
				others = append(others, id)
			}
		}
		r.s.Net().Partition([]sim.NodeID{l}, others)
		r.s.RunUntil(2 * sim.Second)
		r.s.Net().Heal()
		r.s.RunUntil(5 * sim.Second)
		if v := r.mon.Violation(); v != nil {
			t.Fatalf("raft monitor: %s", v.Message)
		}
		return checkAppendOnly(r.hist.Records())
	}
	for seed := uint64(1); seed <= 2; seed++ {
		if err := run(BugNone, seed); err != nil {
			t.Fatalf("correct build, seed %d: %v", seed, err)
		}
		err := run(BugReadLocal, seed)
		if err == nil {
			t.Fatalf("read-local, seed %d: no stale read found", seed)
		}
		t.Logf("read-local, seed %d: %v", seed, err)
	}
}

func TestPlantedBugDedupNotInSnapshotEndToEnd(t *testing.T) {
	// Short clerk timeouts and long network delays put retried copies of a request in the log;
	// tiny snapshots and restarts make a server load a snapshot taken between two copies.
	run := func(bug Bug, seed uint64) error {
		r := newKVRun(t, runOptions{
			seed: seed, servers: 3, clerks: 4,
			server: ServerConfig{Bug: bug},
			workload: Workload{Keys: 2, GetWeight: 2, AppendWeight: 3,
				ThinkMin: sim.Millisecond, ThinkMax: 10 * sim.Millisecond, StopAt: 4 * sim.Second},
			clerk:             ClerkConfig{RequestTimeout: 30 * sim.Millisecond},
			maxRaftStateBytes: 300,
		})
		nw := r.s.Net().Config()
		nw.LongDelayRate, nw.LongDelayMax = 0.05, 100*sim.Millisecond
		r.s.Net().SetConfig(nw)
		r.scheduleFaults(300*sim.Millisecond, 3500*sim.Millisecond)
		r.s.RunUntil(8 * sim.Second)
		return checkAppendOnly(r.hist.Records())
	}
	// A sweep of seeds 1..40 exposed the bug in 5 with these settings; require one, and the
	// correct build to pass on the same seeds.
	found := 0
	for seed := uint64(1); seed <= 40 && found < 2; seed++ {
		err := run(BugDedupNotInSnapshot, seed)
		if err == nil {
			continue
		}
		found++
		t.Logf("dedup-not-in-snapshot, seed %d: %v", seed, err)
		if err := run(BugNone, seed); err != nil {
			t.Fatalf("correct build, seed %d: %v", seed, err)
		}
	}
	if found == 0 {
		t.Fatal("dedup-not-in-snapshot was not detected in 40 seeds")
	}
}
