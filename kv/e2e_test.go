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
)

// kvRun is a whole KV cluster on the simulator: raft servers with KV services, clerks, the
// shared history, and the online raft monitor.
type kvRun struct {
	t        *testing.T
	s        *sim.Sim
	hist     *History
	mon      *monitor.Monitor
	servers  []sim.NodeID
	hosts    []*simhost.Server // current incarnation per server
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
}

func newKVRun(t *testing.T, o runOptions) *kvRun {
	t.Helper()
	r := &kvRun{t: t, nServers: o.servers, mon: monitor.New(o.servers)}
	r.s = sim.New(sim.Config{Seed: o.seed, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond}})
	r.hist = NewHistory(r.s.Now)
	for i := 0; i < o.servers; i++ {
		r.servers = append(r.servers, sim.NodeID(i))
	}
	r.hosts = make([]*simhost.Server, o.servers)
	hostCfg := simhost.Config{
		Peers:             r.servers,
		NewService:        NewService(o.server),
		MaxRaftStateBytes: o.maxRaftStateBytes,
		Observer:          r.mon,
		Clock:             r.s.Now,
	}
	hostFactory := hostCfg.Factory()
	for i := 0; i < o.servers; i++ {
		r.s.AddNode(fmt.Sprintf("kv%d", i), func(id sim.NodeID) sim.Node {
			h := hostFactory(id).(*simhost.Server)
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
	for id := 0; id < o.servers+o.clerks; id++ {
		r.s.Start(sim.NodeID(id))
	}
	return r
}

func (r *kvRun) leader() int {
	for i, h := range r.hosts {
		if r.s.IsUp(sim.NodeID(i)) && h.Status().Role == 3 /* raft.Leader */ {
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

func toCheckerOps(records []Record) []checker.Op {
	kinds := map[string]checker.OpKind{"get": checker.OpGet, "put": checker.OpPut, "append": checker.OpAppend, "cas": checker.OpCAS}
	ops := make([]checker.Op, len(records))
	for i, rec := range records {
		ops[i] = checker.Op{
			Client: rec.Client, Kind: kinds[rec.Kind], Key: rec.Key, Value: rec.Value, Expected: rec.Expected,
			Output: rec.Output, OK: rec.OK, Call: int64(rec.Call), Return: int64(rec.Return), Pending: rec.Pending,
		}
	}
	return ops
}

// checkNoDuplicateTokens is an exactly-once check that needs no search: every generated value
// is unique and ends with ';', so no value read may contain a piece twice.
func checkNoDuplicateTokens(records []Record) error {
	for _, rec := range records {
		if rec.Kind != "get" || rec.Pending {
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
	res := checker.CheckLinearizable(toCheckerOps(records), 10*time.Second)
	if res.Verdict != checker.Ok {
		r.t.Fatalf("history of %d calls is %v: %s", len(records), res.Verdict, res.Describe())
	}
}

func TestEndToEndWithFaults(t *testing.T) {
	seeds := 2
	if !testing.Short() {
		seeds = 4
	}
	modes := []ReadMode{ReadIndex, ReadLog}
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
			if completed < 100 {
				t.Fatalf("only %d calls completed", completed)
			}
			snapshots := int64(0)
			for _, h := range r.hosts {
				snapshots += h.Stats().Snapshots + h.Stats().Installs
			}
			if snapshots == 0 {
				t.Fatalf("no snapshot was taken with MaxRaftStateBytes 4000")
			}
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
		if rec.Kind == "cas" {
			if rec.OK {
				swapped++
			} else {
				failedCAS++
			}
		}
		if rec.Kind != "get" && len(rec.Value) < 16 {
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
