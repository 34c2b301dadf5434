package simhost

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/checker/monitor"
	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/hostkit"
	"github.com/raftsim/raftsim/sut/logapp"
)

// cluster is a raft-only test cluster in the style of the 6.5840 Raft test harness: LogServices
// record what every node applies, the online monitor watches what the hosts persist, and the
// helpers (checkOneLeader, one) work in virtual time.
type cluster struct {
	t       *testing.T
	s       *sim.Sim
	n       int
	servers []*Server // current incarnation of each node
	rec     *logapp.Recorder
	mon     *monitor.Monitor
	cfg     sut.Config
}

func newCluster(t *testing.T, n int, seed uint64, tweak func(*sut.Config, *sim.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, n: n, rec: logapp.New(n), mon: monitor.New(n), servers: make([]*Server, n)}
	simCfg := sim.Config{Seed: seed, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond}}
	peers := make([]sim.NodeID, n)
	for i := range peers {
		peers[i] = sim.NodeID(i)
	}
	c.cfg = sut.Config{Peers: peers, NewService: c.rec.Service(0), Observer: c.mon}
	if tweak != nil {
		tweak(&c.cfg, &simCfg)
	}
	c.s = sim.New(simCfg)
	c.cfg.Clock = c.s.Now
	factory := Factory(c.cfg)
	for i := 0; i < n; i++ {
		c.s.AddNode(fmt.Sprintf("raft%d", i), func(id sim.NodeID) sim.Node {
			srv := factory(id).(*Server)
			c.servers[id] = srv
			return srv
		})
	}
	for i := 0; i < n; i++ {
		c.s.Start(sim.NodeID(i))
	}
	return c
}

func (c *cluster) checkSafe() {
	c.t.Helper()
	if v := c.mon.Violation(); v != nil {
		c.t.Fatalf("monitor: %s (at %v)", v.Message, sim.Time(v.At))
	}
	if err := c.rec.Err(); err != nil {
		c.t.Fatalf("applied logs disagree: %v", err)
	}
}

func (c *cluster) run(d sim.Time) {
	c.t.Helper()
	c.s.RunUntil(c.s.Now() + d)
	c.checkSafe()
}

func (c *cluster) up(i int) bool { return c.s.IsUp(sim.NodeID(i)) && !c.s.IsPaused(sim.NodeID(i)) }

// leader returns the up node that is leader in the highest term, failing on two leaders in a term.
func (c *cluster) leader() int {
	c.t.Helper()
	byTerm := map[uint64]int{}
	best, bestTerm := -1, uint64(0)
	for i := 0; i < c.n; i++ {
		if !c.up(i) {
			continue
		}
		st := c.servers[i].RaftStatus()
		if st.Role != raft.Leader {
			continue
		}
		if other, dup := byTerm[st.Term]; dup {
			c.t.Fatalf("term %d has two leaders: %d and %d", st.Term, other, i)
		}
		byTerm[st.Term] = i
		if st.Term > bestTerm {
			best, bestTerm = i, st.Term
		}
	}
	return best
}

// checkOneLeader waits (virtual time) until one leader exists and returns it.
func (c *cluster) checkOneLeader() int {
	c.t.Helper()
	for iter := 0; iter < 10; iter++ {
		c.run(500 * sim.Millisecond)
		if l := c.leader(); l >= 0 {
			return l
		}
	}
	c.t.Fatalf("no leader elected within 5s of virtual time")
	return -1
}

// one proposes cmd at whichever node is leader and waits until at least expected nodes applied
// it, retrying with a new leader if the entry is lost; it returns the index (6.5840's one()).
func (c *cluster) one(cmd string, expected int, retry bool) uint64 {
	c.t.Helper()
	deadline := c.s.Now() + 10*sim.Second
	start := 0
	for c.s.Now() < deadline {
		index := uint64(0)
		for k := 0; k < c.n; k++ {
			start = (start + 1) % c.n
			if c.up(start) {
				if i, _, ok := c.servers[start].Propose([]byte(cmd)); ok {
					index = i
					break
				}
			}
		}
		if index == 0 {
			c.run(50 * sim.Millisecond)
			continue
		}
		for t1 := c.s.Now(); c.s.Now() < t1+2*sim.Second; {
			c.run(10 * sim.Millisecond)
			if count, data := c.rec.NCommitted(index); count >= expected && data == cmd {
				return index
			}
		}
		if !retry {
			c.t.Fatalf("one(%q) failed to reach agreement on %d nodes", cmd, expected)
		}
	}
	c.t.Fatalf("one(%q) failed to reach agreement on %d nodes within 10s", cmd, expected)
	return 0
}

func TestInitialElection(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			c := newCluster(t, n, 1, nil)
			l := c.checkOneLeader()
			term := c.servers[l].RaftStatus().Term
			// With no faults the leader stays: no term changes for 2s.
			c.run(2 * sim.Second)
			if l2 := c.leader(); l2 != l || c.servers[l2].RaftStatus().Term != term {
				t.Fatalf("leader changed without faults: %d in term %d, then %d in term %d", l, term, l2, c.servers[l2].RaftStatus().Term)
			}
			for i := 0; i < n; i++ {
				if st := c.servers[i].RaftStatus(); st.Term != term || st.Lead != l {
					t.Fatalf("node %d: term %d lead %d, want term %d lead %d", i, st.Term, st.Lead, term, l)
				}
			}
		})
	}
}

func TestReElectionAfterLeaderIsolated(t *testing.T) {
	c := newCluster(t, 3, 2, nil)
	l1 := c.checkOneLeader()
	c.s.Net().Isolate(sim.NodeID(l1))
	c.run(sim.Second)
	l2 := c.leader()
	if l2 < 0 || l2 == l1 {
		// The isolated old leader steps down (CheckQuorum), so the only leader is a new one.
		t.Fatalf("after isolating leader %d the leader is %d", l1, l2)
	}
	c.s.Net().Heal()
	c.run(sim.Second)
	if l3 := c.checkOneLeader(); l3 != l2 {
		// PreVote: the healed node cannot disrupt the stable leader.
		t.Fatalf("healing node %d deposed leader %d (now %d)", l1, l2, l3)
	}
}

func TestBasicAgree(t *testing.T) {
	c := newCluster(t, 3, 3, nil)
	c.checkOneLeader()
	prev := uint64(0)
	for i := 0; i < 10; i++ {
		index := c.one(fmt.Sprintf("cmd%d", i), 3, false)
		if index <= prev {
			t.Fatalf("command %d committed at index %d, not after %d", i, index, prev)
		}
		prev = index
	}
}

func TestFailAgreeWithFollowerPartitioned(t *testing.T) {
	c := newCluster(t, 3, 4, nil)
	l := c.checkOneLeader()
	c.one("a", 3, false)
	f := (l + 1) % 3
	c.s.Net().Isolate(sim.NodeID(f))
	c.one("b", 2, false)
	c.one("c", 2, false)
	c.s.Net().Heal()
	c.one("d", 3, true)
	if count, _ := c.rec.NCommitted(c.one("e", 3, true)); count != 3 {
		t.Fatalf("rejoined follower did not catch up")
	}
}

func TestCrashRestartMinority(t *testing.T) {
	c := newCluster(t, 5, 5, nil)
	l := c.checkOneLeader()
	c.one("before", 5, false)
	crashed := []int{(l + 1) % 5, (l + 2) % 5}
	for _, i := range crashed {
		c.s.Crash(sim.NodeID(i))
	}
	for i := 0; i < 5; i++ {
		c.one(fmt.Sprintf("during%d", i), 3, true)
	}
	for _, i := range crashed {
		c.s.Restart(sim.NodeID(i))
	}
	c.run(10 * sim.Millisecond)
	for _, i := range crashed {
		if got := c.servers[i].Stats().RecoveredEntries; got == 0 {
			t.Errorf("restarted node %d recovered no entries from its disk", i)
		}
	}
	c.one("after", 5, true)
}

func TestCrashRestartAll(t *testing.T) {
	c := newCluster(t, 3, 6, nil)
	c.checkOneLeader()
	var last uint64
	for i := 0; i < 5; i++ {
		last = c.one(fmt.Sprintf("x%d", i), 3, false)
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 3; i++ {
			c.s.Crash(sim.NodeID(i))
		}
		c.run(100 * sim.Millisecond)
		for i := 0; i < 3; i++ {
			c.s.Restart(sim.NodeID(i))
		}
		c.run(sim.Millisecond)
		for i := 0; i < 3; i++ {
			st := c.servers[i].RaftStatus()
			if st.LastIndex < last || st.Term == 0 {
				t.Fatalf("round %d: node %d restarted with log up to %d, term %d; want at least index %d (durable state lost)",
					round, i, st.LastIndex, st.Term, last)
			}
		}
		// Committed entries come back through Ready after the restart and are re-applied
		// identically (the recorder checks every re-apply against the first).
		index := c.one(fmt.Sprintf("after-restart%d", round), 3, true)
		if index <= last {
			t.Fatalf("round %d: new command at index %d does not follow the recovered log (%d)", round, index, last)
		}
		last = index
	}
	if c.rec.Applies() < int64(3*last) {
		t.Fatalf("only %d applies for %d indices on 3 nodes: restarted nodes did not re-apply", c.rec.Applies(), last)
	}
}

func TestSnapshotInstallToLaggingNode(t *testing.T) {
	c := newClusterWithService(t, 3, 7, 10, 0)
	l := c.checkOneLeader()
	c.one("first", 3, false)
	lag := (l + 1) % 3
	c.s.Net().Isolate(sim.NodeID(lag))
	for i := 0; i < 50; i++ {
		c.one(fmt.Sprintf("v%d", i), 2, true)
	}
	if st := c.servers[c.leader()].RaftStatus(); st.SnapshotIndex < 40 {
		t.Fatalf("leader's snapshot index %d, want >= 40 after 50 commands with a snapshot every 10", st.SnapshotIndex)
	}
	c.s.Net().Heal()
	c.one("last", 3, true)
	if c.servers[lag].Stats().Installs == 0 {
		t.Fatalf("lagging node %d caught up without installing a snapshot", lag)
	}
	// The lagging node restarts from the installed snapshot.
	c.s.Crash(sim.NodeID(lag))
	c.s.Restart(sim.NodeID(lag))
	c.run(sim.Millisecond)
	if st := c.servers[lag].RaftStatus(); st.SnapshotIndex < 40 {
		t.Fatalf("restarted node %d recovered snapshot index %d", lag, st.SnapshotIndex)
	}
	c.one("after-restart", 3, true)
}

// newClusterWithService builds a cluster whose LogServices snapshot every snapshotEvery
// entries, and whose hosts compact past maxRaftStateBytes.
func newClusterWithService(t *testing.T, n int, seed uint64, snapshotEvery, maxRaftStateBytes int) *cluster {
	var rec *logapp.Recorder
	c := newCluster(t, n, seed, func(cfg *sut.Config, _ *sim.Config) {
		rec = logapp.New(n)
		cfg.NewService = rec.Service(snapshotEvery)
		cfg.MaxRaftStateBytes = maxRaftStateBytes
	})
	c.rec = rec
	return c
}

func TestMaxRaftStateBytesCompacts(t *testing.T) {
	const maxBytes = 2000
	c := newClusterWithService(t, 3, 8, 0, maxBytes)
	c.checkOneLeader()
	for i := 0; i < 200; i++ {
		c.one(fmt.Sprintf("payload-%03d-%s", i, strings.Repeat("z", 30)), 3, true)
	}
	for i := 0; i < 3; i++ {
		srv := c.servers[i]
		// One Ready's worth of entries may sit above the limit until applied.
		if srv.RaftStateBytes() > 2*maxBytes {
			t.Errorf("node %d: raft state %d bytes, limit %d", i, srv.RaftStateBytes(), maxBytes)
		}
		if srv.RaftStatus().SnapshotIndex == 0 || srv.Stats().Snapshots == 0 {
			t.Errorf("node %d never compacted", i)
		}
	}
	// Everything still recovers after a full restart.
	for i := 0; i < 3; i++ {
		c.s.Crash(sim.NodeID(i))
		c.s.Restart(sim.NodeID(i))
	}
	c.one("after", 3, true)
}

func TestRecoverFromGarbageTail(t *testing.T) {
	c := newCluster(t, 3, 9, nil)
	l := c.checkOneLeader()
	for i := 0; i < 5; i++ {
		c.one(fmt.Sprintf("g%d", i), 3, false)
	}
	victim := (l + 1) % 3
	c.s.Crash(sim.NodeID(victim))
	disk := c.s.NodeDisk(sim.NodeID(victim))
	before := disk.Size(hostkit.LogFile)
	disk.Append(hostkit.LogFile, []byte("\x10\x00\x00\x00\xde\xad\xbe\xefhalf-written rec"))
	disk.Sync()
	c.s.Restart(sim.NodeID(victim))
	c.run(sim.Millisecond)
	st := c.servers[victim].Stats()
	if st.DiscardedBytes == 0 || st.RecoveredEntries < 5 {
		t.Fatalf("restart over a garbage tail: discarded %d bytes, recovered %d entries", st.DiscardedBytes, st.RecoveredEntries)
	}
	if got := disk.Size(hostkit.LogFile); got != before {
		t.Fatalf("log file is %d bytes after recovery, want the %d valid bytes", got, before)
	}
	c.one("after-garbage", 3, true)
}

// A lossy, reordering network with crashes and partitions: the monitor and the recorder must
// see no disagreement, and the cluster must make progress once the faults stop.
func TestUnreliableWithCrashes(t *testing.T) {
	seeds := 6
	if n, err := strconv.Atoi(os.Getenv("RAFTSIM_SEEDS")); err == nil && n > 0 {
		seeds = n // long sweeps on demand
	}
	for seed := uint64(100); seed < 100+uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := newClusterWithService(t, 5, seed, 7, 0)
			nw := c.s.Net().Config()
			nw.DropRate, nw.DuplicateRate, nw.LongDelayRate, nw.LongDelayMax = 0.1, 0.05, 0.05, 200*sim.Millisecond
			c.s.Net().SetConfig(nw)
			r := c.s.Rand("test/faults")
			for step := 0; step < 40; step++ {
				for k := 0; k < 3; k++ {
					if i := r.Intn(5); c.up(i) {
						c.servers[i].Propose([]byte(fmt.Sprintf("s%d.%d", step, k)))
					}
				}
				switch r.Intn(6) {
				case 0:
					c.s.Crash(sim.NodeID(r.Intn(5)))
				case 1:
					for i := 0; i < 5; i++ {
						if !c.s.IsUp(sim.NodeID(i)) {
							c.s.Restart(sim.NodeID(i))
						}
					}
				case 2:
					p := r.Perm(5)
					cut := 1 + r.Intn(4)
					var a, b []sim.NodeID
					for k, i := range p {
						if k < cut {
							a = append(a, sim.NodeID(i))
						} else {
							b = append(b, sim.NodeID(i))
						}
					}
					c.s.Net().Partition(a, b)
				case 3:
					c.s.Net().Heal()
				}
				c.run(r.Between(10*sim.Millisecond, 300*sim.Millisecond))
			}
			c.s.Net().Heal()
			c.s.Net().SetConfig(sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond})
			for i := 0; i < 5; i++ {
				if !c.s.IsUp(sim.NodeID(i)) {
					c.s.Restart(sim.NodeID(i))
				}
			}
			c.one("final", 5, true)
		})
	}
}

func TestDeterministicHash(t *testing.T) {
	hash := func() uint64 {
		c := newClusterWithService(t, 3, 42, 5, 0)
		c.checkOneLeader()
		for i := 0; i < 20; i++ {
			c.one(fmt.Sprint(i), 3, true)
		}
		c.s.Crash(1)
		c.run(300 * sim.Millisecond)
		c.s.Restart(1)
		c.one("end", 3, true)
		return c.s.Hash()
	}
	if a, b := hash(), hash(); a != b {
		t.Fatalf("same seed, different trace hashes: %x and %x", a, b)
	}
}

// garbageSender sends a raft-tagged payload that does not decode, and one whose sender field
// lies, to node 0.
type garbageSender struct{}

func (garbageSender) Start(env *sim.Env) {
	env.Send(0, []byte{sut.TagConsensus, 0xff, 0xff, 0xff})
	m := raft.Message{Type: raft.MsgHeartbeat, From: 2, To: 0, Term: 1000}
	env.Send(0, m.MarshalTo([]byte{sut.TagConsensus}))
}
func (garbageSender) Receive(sim.NodeID, []byte) {}
func (garbageSender) Timer(uint64)               {}

func TestBadRaftMessagesAreDropped(t *testing.T) {
	c := newCluster(t, 3, 10, nil)
	c.checkOneLeader()
	g := c.s.AddNode("garbage", func(sim.NodeID) sim.Node { return garbageSender{} })
	c.s.Start(g)
	c.run(100 * sim.Millisecond)
	if got := c.servers[0].Stats().BadMessages; got != 2 {
		t.Fatalf("node 0 counted %d bad messages, want 2", got)
	}
	if st := c.servers[0].RaftStatus(); st.Term >= 1000 {
		t.Fatalf("a message with a forged sender changed node 0's term to %d", st.Term)
	}
}

// The raft planted bug reaches raft: ack-before-sync makes followers skip fsyncs.
func TestRaftBugIsThreadedThrough(t *testing.T) {
	syncs := func(bug raft.Bug) int64 {
		c := newCluster(t, 3, 11, func(cfg *sut.Config, _ *sim.Config) {
			if bug != raft.BugNone {
				cfg.Bug = bug.String()
			}
			cfg.Observer = nil
		})
		l := c.checkOneLeader()
		for i := 0; i < 20; i++ {
			c.one(fmt.Sprint(i), 3, true)
		}
		var total int64
		for i := 0; i < 3; i++ {
			if i != l {
				total += c.servers[i].Stats().Syncs
			}
		}
		return total
	}
	correct, buggy := syncs(raft.BugNone), syncs(raft.BugAckBeforeSync)
	if buggy >= correct {
		t.Fatalf("followers synced %d times with ack-before-sync, %d times without", buggy, correct)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := sut.Config{Peers: []sim.NodeID{0, 1, 2}, NewService: logapp.New(3).Service(0)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]sut.Config{
		"no peers":      {NewService: ok.NewService},
		"no service":    {Peers: ok.Peers},
		"dup peers":     {Peers: []sim.NodeID{0, 0}, NewService: ok.NewService},
		"heartbeat big": {Peers: ok.Peers, NewService: ok.NewService, ElectionTicks: 2, HeartbeatTicks: 2},
	}
	for name, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
	}
}
