package scenarios

// The MIT 6.5840 Raft tests (labs 3A-3D, 2023-2025 versions of raft/test_test.go) as scripted
// scenarios named raft/<Test>. Each script does what the real-time test does: the same cluster
// size, faults, loops, iteration counts, checks and timeouts, but on virtual time, so a run
// takes milliseconds of wall time and replays exactly from its seed. Where the lab versions
// differ, the 2025 version is followed, with one exception: a restarted server is reconnected
// by itself (the 2023/2024 start1+connect) rather than by reconnecting the whole group (a 2025
// tester quirk that would also silently heal the churn tests' other disconnections).
//
// Translation rules:
//   - time.Sleep(d) becomes c.Sleep(d) (inside a task, t.Sleep(d)); RaftElectionTimeout is
//     labElectionTimeout (1 s of virtual time).
//   - rand.Int() and friends draw from the script's own stream c.Rand().
//   - goroutines become c.Go tasks; a wait for them (sync.WaitGroup, a
//     channel receive) becomes waitUntil, which lets virtual time pass until they have finished.
//   - ts.srvs[i].Raft() == nil (a crashed server) is !c.Up(i); ShutdownServer is c.Crash;
//     restart / start1+connect is labRestart.
//   - checks on log indexes count commands only, since this raft's leaders also log a no-op
//     (see commandNumberRange).

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

const (
	// labElectionTimeout is the tester's RaftElectionTimeout: the generous bound it allows
	// solutions for electing a leader.
	labElectionTimeout = 1000 * sim.Millisecond
	// labSnapshotInterval is SnapShotInterval: servers snapshot every this many applied entries.
	labSnapshotInterval = 10
	// labMaxLogSizeBytes is MAXLOGSIZE: the snapshot tests fail if any server's persisted raft
	// state reaches it.
	labMaxLogSizeBytes = 2000
	// taskWaitLimit bounds how long a script waits for its tasks to finish. The original waits
	// forever (until the go test timeout); every task here ends within a few seconds of virtual
	// time, so hitting this bound is a failure of the system under test, reported as such.
	taskWaitLimit = 60 * sim.Second
	// taskPollInterval is how often a waiting script looks at its tasks again.
	taskPollInterval = 1 * sim.Millisecond
)

func init() {
	registerScript("raft/InitialElection", "6.5840 3A, 3 servers: a leader is elected, terms agree and stay put without failures",
		&Script{Nodes: 3, Run: raftInitialElection})
	registerScript("raft/ReElection", "6.5840 3A, 3 servers: leader and quorum disconnections; a leader only when a quorum is connected",
		&Script{Nodes: 3, Run: raftReElection})
	registerScript("raft/ManyElections", "6.5840 3A, 7 servers: 9 rounds of disconnecting 3 random servers; a leader always emerges",
		&Script{Nodes: 7, Run: raftManyElections})
	registerScript("raft/BasicAgree", "6.5840 3B, 3 servers: three commands commit at indexes 1, 2, 3",
		&Script{Nodes: 3, Run: raftBasicAgree})
	registerScript("raft/RPCBytes", "6.5840 3B, 3 servers: ten 5000-byte commands are each sent to each peer about once",
		&Script{Nodes: 3, Run: raftRPCBytes})
	registerScript("raft/FollowerFailure", "6.5840 3B, 3 servers: agreement survives one disconnected follower, stops with two",
		&Script{Nodes: 3, Run: raftFollowerFailure})
	registerScript("raft/LeaderFailure", "6.5840 3B, 3 servers: a new leader commits after the leader disconnects; nothing commits with two gone",
		&Script{Nodes: 3, Run: raftLeaderFailure})
	registerScript("raft/FailAgree", "6.5840 3B, 3 servers: a disconnected follower rejoins and agreement continues",
		&Script{Nodes: 3, Run: raftFailAgree})
	registerScript("raft/FailNoAgree", "6.5840 3B, 5 servers: nothing commits with 3 of 5 disconnected; agreement after repair",
		&Script{Nodes: 5, Run: raftFailNoAgree})
	registerScript("raft/ConcurrentStarts", "6.5840 3B, 3 servers: five concurrent Start()s on the leader all commit",
		&Script{Nodes: 3, Run: raftConcurrentStarts})
	registerScript("raft/Rejoin", "6.5840 3B, 3 servers: a partitioned leader with uncommitted entries rejoins and is overruled",
		&Script{Nodes: 3, Run: raftRejoin})
	registerScript("raft/Backup", "6.5840 3B, 5 servers: leader backs up quickly over 50-entry divergent follower logs",
		&Script{Nodes: 5, Run: raftBackup})
	registerScript("raft/Count", "6.5840 3B, 3 servers: RPC counts for an election, 10 agreements and 1 s of idleness are not too high",
		&Script{Nodes: 3, Run: raftCount, SUTs: []string{sut.DefaultName},
			Needs: "the lab's RPC budget, sized for one append per entry per follower; etcd-io/raft also sends commit-index appends and exceeds it"})
	registerScript("raft/Persist1", "6.5840 3C, 3 servers: state survives crash and restart of all servers, the leader, and a follower",
		&Script{Nodes: 3, Run: raftPersist1})
	registerScript("raft/Persist2", "6.5840 3C, 5 servers: 5 rounds of crashing a minority and then a majority, restarting in turns",
		&Script{Nodes: 5, Run: raftPersist2})
	registerScript("raft/Persist3", "6.5840 3C, 3 servers: partitioned leader and one follower crash, leader restarts",
		&Script{Nodes: 3, Run: raftPersist3})
	registerScript("raft/Figure8", "6.5840 3C, 5 servers: 1000 rounds of Start() then crashing the leader soon after (Figure 8 of the paper)",
		&Script{Nodes: 5, Run: raftFigure8})
	registerScript("raft/UnreliableAgree", "6.5840 3C, 5 servers, unreliable network: 245 concurrent agreements",
		&Script{Nodes: 5, Unreliable: true, Run: raftUnreliableAgree})
	registerScript("raft/Figure8Unreliable", "6.5840 3C, 5 servers, unreliable network with long reordering: 1000 rounds of Start() and leader disconnections",
		&Script{Nodes: 5, Unreliable: true, Run: raftFigure8Unreliable, SUTs: []string{sut.DefaultName},
			Needs: "labrpc's reordering network, where a delayed RPC is overtaken by later ones; over ordered links (etcd-io/raft's TCP streams) the lab's long delays stall whole links and its 10-second agreement bound is missed"})
	registerScript("raft/ReliableChurn", "6.5840 3C, 5 servers: 3 concurrent clients while servers disconnect, crash and restart at random",
		&Script{Nodes: 5, Run: raftChurn})
	registerScript("raft/UnreliableChurn", "6.5840 3C, 5 servers, unreliable network: 3 concurrent clients while servers disconnect, crash and restart at random",
		&Script{Nodes: 5, Unreliable: true, Run: raftChurn})
	registerScript("raft/SnapshotBasic", "6.5840 3D, 3 servers: 30 rounds of enough commands to snapshot; log size stays bounded",
		&Script{Nodes: 3, Snapshot: true, Run: func(c *Cluster) { raftSnapCommon(c, false, false) }})
	registerScript("raft/SnapshotInstall", "6.5840 3D, 3 servers: a disconnected follower falls behind the snapshot and catches up by InstallSnapshot",
		&Script{Nodes: 3, Snapshot: true, Run: func(c *Cluster) { raftSnapCommon(c, true, false) }})
	registerScript("raft/SnapshotInstallUnreliable", "6.5840 3D, 3 servers, unreliable network: InstallSnapshot to disconnected followers",
		&Script{Nodes: 3, Snapshot: true, Unreliable: true, Run: func(c *Cluster) { raftSnapCommon(c, true, false) }})
	registerScript("raft/SnapshotInstallCrash", "6.5840 3D, 3 servers: a crashed follower restarts behind the snapshot and catches up",
		&Script{Nodes: 3, Snapshot: true, Run: func(c *Cluster) { raftSnapCommon(c, false, true) }})
	registerScript("raft/SnapshotInstallUnCrash", "6.5840 3D, 3 servers, unreliable network: crashed followers restart behind the snapshot",
		&Script{Nodes: 3, Snapshot: true, Unreliable: true, Run: func(c *Cluster) { raftSnapCommon(c, false, true) }})
	registerScript("raft/SnapshotAllCrash", "6.5840 3D, 3 servers, unreliable network: all servers crash and restart from snapshot plus log tail",
		&Script{Nodes: 3, Snapshot: true, Unreliable: true, Run: raftSnapshotAllCrash})
	registerScript("raft/SnapshotInit", "6.5840 3D, 3 servers, unreliable network: a restarted server keeps its snapshot across the next persist",
		&Script{Nodes: 3, Snapshot: true, Unreliable: true, Run: raftSnapshotInit})
}

// randInt is rand.Int(): a non-negative int from the script's stream.
func randInt(c *Cluster) int { return int(c.Rand().Uint64() >> 1) }

// randInt31 is rand.Int31().
func randInt31(c *Cluster) int { return int(c.Rand().Uint64() >> 33) }

// randMs is rand.Int63() % n milliseconds.
func randMs(c *Cluster, n int) sim.Time { return sim.Time(c.Rand().Intn(n)) * sim.Millisecond }

// labRestart is the tester's restart(i): a fresh server from the crashed one's disk, connected.
func labRestart(c *Cluster, i int) {
	c.Restart(i)
	c.Connect(i)
}

// crashAll and restartAll are the tester's Shutdown() and StartServers().
func crashAll(c *Cluster) {
	for i := 0; i < c.N(); i++ {
		c.Crash(i)
	}
}

func restartAll(c *Cluster) {
	for i := 0; i < c.N(); i++ {
		labRestart(c, i)
	}
}

// The raft package's leaders append a no-op entry when they take office (as etcd's and the
// Raft thesis's do, so that a leader can commit entries of earlier terms and serve reads); the
// 6.5840 Raft appends none, and its tests expect the n-th command at log index n. Scripts keep
// the tests' checks on command numbers (the n-th command, counting commands only) by
// translating a raft index with the applied entries the cluster recorded. Entries not applied
// anywhere yet are of unknown type (a command or a no-op), so for an index above them the
// command number is known as a range, and the check fails only when no value in the range is
// the one expected.

// commandNumberRange returns the smallest and largest possible command number of the entry at
// raftIndex, if it is a command.
func commandNumberRange(c *Cluster, raftIndex uint64) (lowest, highest uint64) {
	var commands, unknown uint64
	for i := uint64(1); i < raftIndex; i++ {
		_, command, _, applied := c.recorder.Entry(i)
		switch {
		case !applied:
			unknown++
		case command:
			commands++
		}
	}
	return commands + 1, commands + unknown + 1
}

// expectCommandNumber fails the script unless the command at raftIndex can be the want-th
// command (the tests' "got index %v but expected %v").
func expectCommandNumber(c *Cluster, raftIndex uint64, want uint64) {
	if lowest, highest := commandNumberRange(c, raftIndex); want < lowest || want > highest {
		c.Fatalf("got index %v but expected %v (raft index %d holds command number %d..%d; raft indexes count leader no-ops too)",
			lowest, want, raftIndex, lowest, highest)
	}
}

// committedCommands is how many commands (not no-ops) have been applied by some server.
func committedCommands(c *Cluster) uint64 {
	var commands uint64
	for i := uint64(1); i <= c.recorder.MaxIndex(); i++ {
		if _, command, _, applied := c.recorder.Entry(i); applied && command {
			commands++
		}
	}
	return commands
}

// checkNoAgreement is the tester's checkNoAgreement.
func checkNoAgreement(c *Cluster, index uint64) {
	if n, _ := c.NCommitted(index); n > 0 {
		c.Fatalf("%v committed but no majority", n)
	}
}

// waitUntil stands for blocking until goroutines finish (wg.Wait, a channel receive): virtual
// time passes, so tasks and servers run, until done() holds. The first look is at the same
// instant (tasks started now run first), later ones every taskPollInterval.
func waitUntil(c *Cluster, what string, done func() bool) {
	c.Sleep(0)
	for waited := sim.Time(0); !done(); waited += taskPollInterval {
		if waited >= taskWaitLimit {
			c.Fatalf("%s: still not done after %v of virtual time", what, taskWaitLimit)
		}
		c.Sleep(taskPollInterval)
	}
}

func raftInitialElection(c *Cluster) {
	// is a leader elected?
	c.CheckOneLeader()

	// sleep a bit to avoid racing with followers learning of the election, then check that
	// all peers agree on the term.
	c.Sleep(50 * sim.Millisecond)
	term1 := c.CheckTerms()
	if term1 < 1 {
		c.Fatalf("term is %v, but should be at least 1", term1)
	}

	// does the leader+term stay the same if there is no network failure? (The original only
	// prints a warning when the term changed.)
	c.Sleep(2 * labElectionTimeout)
	c.CheckTerms()

	// there should still be a leader.
	c.CheckOneLeader()
}

func raftReElection(c *Cluster) {
	servers := c.N()
	leader1 := c.CheckOneLeader()

	// if the leader disconnects, a new one should be elected.
	c.Disconnect(leader1)
	c.CheckOneLeader()

	// if the old leader rejoins, that shouldn't disturb the new leader, and the old leader
	// should switch to follower.
	c.Connect(leader1)
	leader2 := c.CheckOneLeader()

	// if there's no quorum, no new leader should be elected.
	c.Disconnect(leader2)
	c.Disconnect((leader2 + 1) % servers)
	c.Sleep(2 * labElectionTimeout)

	// check that the one connected server does not think it is the leader.
	c.CheckNoLeader()

	// if a quorum arises, it should elect a leader.
	c.Connect((leader2 + 1) % servers)
	c.CheckOneLeader()

	// re-join of last node shouldn't prevent leader from existing.
	c.Connect(leader2)
	c.CheckOneLeader()
}

func raftManyElections(c *Cluster) {
	servers := c.N()
	c.CheckOneLeader()

	const iters = 10
	for ii := 1; ii < iters; ii++ {
		// disconnect three nodes
		i1 := c.Rand().Intn(servers)
		i2 := c.Rand().Intn(servers)
		i3 := c.Rand().Intn(servers)
		c.Disconnect(i1)
		c.Disconnect(i2)
		c.Disconnect(i3)

		// either the current leader should still be alive, or the remaining four should
		// elect a new one.
		c.CheckOneLeader()

		c.Connect(i1)
		c.Connect(i2)
		c.Connect(i3)
	}
	c.CheckOneLeader()
}

func raftBasicAgree(c *Cluster) {
	servers := c.N()
	const iters = 3
	for index := 1; index < iters+1; index++ {
		if committedCommands(c) >= uint64(index) {
			c.Fatalf("some have committed before Start()")
		}
		xindex := c.One(index*100, servers, false)
		expectCommandNumber(c, xindex, uint64(index))
	}
}

// raftRPCBytes checks, by counting the bytes of RPCs, that each command is sent to each peer
// just once.
func raftRPCBytes(c *Cluster) {
	servers := c.N()
	c.One(99, servers, false)
	bytes0 := c.BytesTotal()

	const iters = 10
	const commandBytes = 5000 // tester.Randstring(5000)
	var sent int64
	for index := 2; index < iters+2; index++ {
		cmd := randInt(c)
		xindex := c.OneSized(cmd, commandBytes, servers, false)
		expectCommandNumber(c, xindex, uint64(index))
		sent += commandBytes
	}

	bytes1 := c.BytesTotal()
	got := bytes1 - bytes0
	expected := int64(servers) * sent
	if got > expected+50000 {
		c.Fatalf("too many RPC bytes; got %v, expected %v", got, expected)
	}
}

// raftFollowerFailure tests just the failure of followers.
func raftFollowerFailure(c *Cluster) {
	servers := c.N()
	c.One(101, servers, false)

	// disconnect one follower from the network.
	leader1 := c.CheckOneLeader()
	c.Disconnect((leader1 + 1) % servers)

	// the leader and remaining follower should be able to agree despite the disconnected
	// follower.
	c.One(102, servers-1, false)
	c.Sleep(labElectionTimeout)
	c.One(103, servers-1, false)

	// disconnect the remaining follower
	leader2 := c.CheckOneLeader()
	c.Disconnect((leader2 + 1) % servers)
	c.Disconnect((leader2 + 2) % servers)

	// submit a command.
	index, _, ok := c.Start(leader2, 104)
	if !ok {
		c.Fatalf("leader rejected Start()")
	}
	expectCommandNumber(c, index, 4)

	c.Sleep(2 * labElectionTimeout)

	// check that command 104 did not commit.
	checkNoAgreement(c, index)
}

// raftLeaderFailure tests just the failure of leaders.
func raftLeaderFailure(c *Cluster) {
	servers := c.N()
	c.One(101, servers, false)

	// disconnect the first leader.
	leader1 := c.CheckOneLeader()
	c.Disconnect(leader1)

	// the remaining followers should elect a new leader.
	c.One(102, servers-1, false)
	c.Sleep(labElectionTimeout)
	c.One(103, servers-1, false)

	// disconnect the new leader.
	leader2 := c.CheckOneLeader()
	c.Disconnect(leader2)

	// submit a command to each server.
	for i := 0; i < servers; i++ {
		c.Start(i, 104)
	}

	c.Sleep(2 * labElectionTimeout)

	// check that command 104 did not commit: nothing was applied after command 103.
	if n := committedCommands(c); n > 3 {
		c.Fatalf("%v committed but no majority", n-3)
	}
}

// raftFailAgree tests that a follower participates after disconnect and re-connect.
func raftFailAgree(c *Cluster) {
	servers := c.N()
	c.One(101, servers, false)

	// disconnect one follower from the network.
	leader := c.CheckOneLeader()
	c.Disconnect((leader + 1) % servers)

	// the leader and remaining follower should be able to agree despite the disconnected
	// follower.
	c.One(102, servers-1, false)
	c.One(103, servers-1, false)
	c.Sleep(labElectionTimeout)
	c.One(104, servers-1, false)
	c.One(105, servers-1, false)

	// re-connect
	c.Connect((leader + 1) % servers)

	// the full set of servers should preserve previous agreements, and be able to agree on
	// new commands.
	c.One(106, servers, true)
	c.Sleep(labElectionTimeout)
	c.One(107, servers, true)
}

func raftFailNoAgree(c *Cluster) {
	servers := c.N()
	c.One(10, servers, false)

	// 3 of 5 followers disconnect
	leader := c.CheckOneLeader()
	c.Disconnect((leader + 1) % servers)
	c.Disconnect((leader + 2) % servers)
	c.Disconnect((leader + 3) % servers)

	index, _, ok := c.Start(leader, 20)
	if !ok {
		c.Fatalf("leader rejected Start()")
	}
	expectCommandNumber(c, index, 2)

	c.Sleep(2 * labElectionTimeout)

	if n, _ := c.NCommitted(index); n > 0 {
		c.Fatalf("%v committed but no majority", n)
	}

	// repair
	c.Connect((leader + 1) % servers)
	c.Connect((leader + 2) % servers)
	c.Connect((leader + 3) % servers)

	// the disconnected majority may have chosen a leader from among their own ranks,
	// forgetting index 2.
	leader2 := c.CheckOneLeader()
	index2, _, ok2 := c.Start(leader2, 30)
	if !ok2 {
		c.Fatalf("leader2 rejected Start()")
	}
	// (The range check: the command number of index2 can be 2 or 3.)
	if lowest, highest := commandNumberRange(c, index2); highest < 2 || lowest > 3 {
		c.Fatalf("unexpected index %v (raft index %d)", lowest, index2)
	}

	c.One(1000, servers, true)
}

func raftConcurrentStarts(c *Cluster) {
	servers := c.N()
	success := false
loop:
	for try := 0; try < 5; try++ {
		if try > 0 {
			// give solution some time to settle
			c.Sleep(3 * sim.Second)
		}

		leader := c.CheckOneLeader()
		_, term, ok := c.Start(leader, 1)
		if !ok {
			// leader moved on really quickly
			continue
		}

		const iters = 5
		// is collects the indexes of the Start()s that succeeded in term, in the order the
		// goroutines delivered them on the original's channel.
		var is []uint64
		finished := 0
		for ii := 0; ii < iters; ii++ {
			c.Go(fmt.Sprintf("start-%d", 100+ii), func(t *Task) {
				defer func() { finished++ }()
				i, term1, ok := c.Start(leader, 100+ii)
				if term1 != term || !ok {
					return
				}
				is = append(is, i)
			})
		}
		waitUntil(c, "concurrent Start() goroutines", func() bool { return finished == iters })

		for j := 0; j < servers; j++ {
			if t, _ := c.GetState(j); t != term {
				// term changed -- can't expect low RPC counts
				continue loop
			}
		}

		failed := false
		var cmds []int
		for _, index := range is {
			cmd := c.Wait(index, servers, term)
			if cmd == -1 {
				// peers have moved on to later terms so we can't expect all Start()s to
				// have succeeded
				failed = true
				break
			}
			cmds = append(cmds, cmd)
		}
		if failed {
			continue
		}

		for ii := 0; ii < iters; ii++ {
			x := 100 + ii
			found := false
			for _, cmd := range cmds {
				if cmd == x {
					found = true
				}
			}
			if !found {
				c.Fatalf("cmd %v missing in %v", x, cmds)
			}
		}

		success = true
		break
	}

	if !success {
		c.Fatalf("term changed too often")
	}
}

func raftRejoin(c *Cluster) {
	servers := c.N()
	c.One(101, servers, true)

	// leader network failure
	leader1 := c.CheckOneLeader()
	c.Disconnect(leader1)

	// make old leader try to agree on some entries
	c.Start(leader1, 102)
	c.Start(leader1, 103)
	c.Start(leader1, 104)

	// new leader commits, also for index=2
	c.One(103, 2, true)

	// new leader network failure
	leader2 := c.CheckOneLeader()
	c.Disconnect(leader2)

	// old leader connected again
	c.Connect(leader1)

	c.One(104, 2, true)

	// all together now
	c.Connect(leader2)

	c.One(105, servers, true)
}

func raftBackup(c *Cluster) {
	servers := c.N()
	c.One(randInt(c), servers, true)

	// put leader and one follower in a partition
	leader1 := c.CheckOneLeader()
	c.Disconnect((leader1 + 2) % servers)
	c.Disconnect((leader1 + 3) % servers)
	c.Disconnect((leader1 + 4) % servers)

	// submit lots of commands that won't commit
	for i := 0; i < 50; i++ {
		c.Start(leader1, randInt(c))
	}

	c.Sleep(labElectionTimeout / 2)

	c.Disconnect((leader1 + 0) % servers)
	c.Disconnect((leader1 + 1) % servers)

	// allow other partition to recover
	c.Connect((leader1 + 2) % servers)
	c.Connect((leader1 + 3) % servers)
	c.Connect((leader1 + 4) % servers)

	// lots of successful commands to new group.
	for i := 0; i < 50; i++ {
		c.One(randInt(c), 3, true)
	}

	// now another partitioned leader and one follower
	leader2 := c.CheckOneLeader()
	other := (leader1 + 2) % servers
	if leader2 == other {
		other = (leader2 + 1) % servers
	}
	c.Disconnect(other)

	// lots more commands that won't commit
	for i := 0; i < 50; i++ {
		c.Start(leader2, randInt(c))
	}

	c.Sleep(labElectionTimeout / 2)

	// bring original leader back to life,
	for i := 0; i < servers; i++ {
		c.Disconnect(i)
	}
	c.Connect((leader1 + 0) % servers)
	c.Connect((leader1 + 1) % servers)
	c.Connect(other)

	// lots of successful commands to new group.
	for i := 0; i < 50; i++ {
		c.One(randInt(c), 3, true)
	}

	// now everyone
	for i := 0; i < servers; i++ {
		c.Connect(i)
	}
	c.One(randInt(c), servers, true)
}

func raftCount(c *Cluster) {
	servers := c.N()
	rpcs := func() int { return c.RPCTotal() }

	leader := c.CheckOneLeader()

	total1 := rpcs()
	if total1 > 30 || total1 < 1 {
		c.Fatalf("too many or few RPCs (%v) to elect initial leader", total1)
	}

	var total2 int
	success := false
loop:
	for try := 0; try < 5; try++ {
		if try > 0 {
			// give solution some time to settle
			c.Sleep(3 * sim.Second)
		}

		leader = c.CheckOneLeader()
		total1 = rpcs()

		const iters = 10
		starti, term, ok := c.Start(leader, 1)
		if !ok {
			// leader moved on really quickly
			continue
		}

		var cmds []int
		for i := 1; i < iters+2; i++ {
			x := randInt31(c)
			cmds = append(cmds, x)
			index1, term1, ok := c.Start(leader, x)
			if term1 != term {
				// Term changed while starting
				continue loop
			}
			if !ok {
				// No longer the leader, so term has changed
				continue loop
			}
			if starti+uint64(i) != index1 {
				c.Fatalf("Start() failed: leader %v put the command at index %v, expected %v",
					leader, index1, starti+uint64(i))
			}
		}

		for i := 1; i < iters+1; i++ {
			cmd := c.Wait(starti+uint64(i), servers, term)
			if cmd != cmds[i-1] {
				if cmd == -1 {
					// term changed -- try again
					continue loop
				}
				c.Fatalf("wrong value %v committed for index %v; expected %v", cmd, starti+uint64(i), cmds)
			}
		}

		failed := false
		total2 = 0
		for j := 0; j < servers; j++ {
			if t, _ := c.GetState(j); t != term {
				// term changed -- can't expect low RPC counts; keep going to update total2
				failed = true
			}
		}
		total2 = rpcs()
		if failed {
			continue loop
		}

		if total2-total1 > (iters+1+3)*3 {
			c.Fatalf("too many RPCs (%v) for %v entries", total2-total1, iters)
		}

		success = true
		break
	}

	if !success {
		c.Fatalf("term changed too often")
	}

	c.Sleep(labElectionTimeout)

	total3 := rpcs()
	if total3-total2 > 3*20 {
		c.Fatalf("too many RPCs (%v) for 1 second of idleness", total3-total2)
	}
}

func raftPersist1(c *Cluster) {
	servers := c.N()
	c.One(11, servers, true)

	crashAll(c)
	restartAll(c)

	c.One(12, servers, true)

	leader1 := c.CheckOneLeader()
	c.Crash(leader1)
	labRestart(c, leader1)

	c.One(13, servers, true)

	leader2 := c.CheckOneLeader()
	c.Crash(leader2)

	index14 := c.One(14, servers-1, true)

	labRestart(c, leader2)

	// wait for leader2 to join before killing i3 (the original waits for index 4, the index of
	// command 14; startTerm 0 is the original's -1: no term check)
	c.Wait(index14, servers, 0)

	i3 := (c.CheckOneLeader() + 1) % servers
	c.Crash(i3)

	c.One(15, servers-1, true)

	labRestart(c, i3)

	c.One(16, servers, true)
}

func raftPersist2(c *Cluster) {
	servers := c.N()
	index := 1
	for iters := 0; iters < 5; iters++ {
		c.One(10+index, servers, true)
		index++

		leader1 := c.CheckOneLeader()

		c.Crash((leader1 + 1) % servers)
		c.Crash((leader1 + 2) % servers)

		c.One(10+index, servers-2, true)
		index++

		c.Crash((leader1 + 0) % servers)
		c.Crash((leader1 + 3) % servers)
		c.Crash((leader1 + 4) % servers)

		labRestart(c, (leader1+1)%servers)
		labRestart(c, (leader1+2)%servers)

		c.Sleep(labElectionTimeout)

		labRestart(c, (leader1+3)%servers)

		c.One(10+index, servers-2, true)
		index++

		labRestart(c, (leader1+4)%servers)
		labRestart(c, (leader1+0)%servers)
	}

	c.One(1000, servers, true)
}

func raftPersist3(c *Cluster) {
	servers := c.N()
	c.One(101, 3, true)

	leader := c.CheckOneLeader()
	c.Disconnect((leader + 2) % servers)

	c.One(102, 2, true)

	c.Crash((leader + 0) % servers)
	c.Crash((leader + 1) % servers)
	c.Connect((leader + 2) % servers)
	labRestart(c, (leader+0)%servers)

	c.One(103, 2, true)

	labRestart(c, (leader+1)%servers)

	c.One(104, servers, true)
}

// figure8Pause is the pause between a round's Start()s and its fault: with probability 1/10 up
// to half an election timeout (long enough for the leader to commit), otherwise under 13 ms
// (so the leader most likely fails before committing).
func figure8Pause(c *Cluster) sim.Time {
	if c.Rand().Intn(1000) < 100 {
		return randMs(c, int(labElectionTimeout/sim.Millisecond)/2)
	}
	return randMs(c, 13)
}

// raftFigure8 tests the scenarios of Figure 8 of the extended Raft paper. Each iteration asks
// a leader, if there is one, to insert a command in the Raft log. If there is a leader, that
// leader will fail quickly with a high probability (perhaps without committing the command),
// or crash after a while with low probability (most likely committing the command). If the
// number of alive servers isn't enough to form a majority, perhaps start a new server. The
// leader in a new term may try to finish replicating log entries that haven't been committed
// yet.
func raftFigure8(c *Cluster) {
	servers := c.N()
	c.One(randInt(c), 1, true)

	nup := servers
	for iters := 0; iters < 1000; iters++ {
		leader := -1
		for i := 0; i < servers; i++ {
			if c.Up(i) {
				if _, _, ok := c.Start(i, randInt(c)); ok {
					leader = i
				}
			}
		}

		c.Sleep(figure8Pause(c))

		if leader != -1 {
			c.Crash(leader)
			nup--
		}

		if nup < 3 {
			s := c.Rand().Intn(servers)
			if !c.Up(s) {
				labRestart(c, s)
				nup++
			}
		}
	}

	for i := 0; i < servers; i++ {
		if !c.Up(i) {
			labRestart(c, i)
		}
	}

	c.One(randInt(c), servers, true)
}

func raftUnreliableAgree(c *Cluster) {
	servers := c.N()
	running := 0
	for iters := 1; iters < 50; iters++ {
		for j := 0; j < 4; j++ {
			cmd := 100*iters + j
			running++
			c.Go(fmt.Sprintf("one-%d", cmd), func(t *Task) {
				defer func() { running-- }()
				c.One(cmd, 1, true)
			})
		}
		c.One(iters, 1, true)
	}

	c.SetReliable(true)

	waitUntil(c, "concurrent one() goroutines", func() bool { return running == 0 })

	c.One(100, servers, true)
}

func raftFigure8Unreliable(c *Cluster) {
	servers := c.N()
	c.One(randInt(c)%10000, 1, true)

	nup := servers
	for iters := 0; iters < 1000; iters++ {
		if iters == 200 {
			c.SetLongReordering(true)
		}
		leader := -1
		for i := 0; i < servers; i++ {
			_, _, ok := c.Start(i, randInt(c)%10000)
			if ok && c.Connected(i) {
				leader = i
			}
		}

		c.Sleep(figure8Pause(c))

		if leader != -1 && c.Rand().Intn(1000) < int(labElectionTimeout/sim.Millisecond)/2 {
			c.Disconnect(leader)
			nup--
		}

		if nup < 3 {
			s := c.Rand().Intn(servers)
			if !c.Connected(s) {
				c.Connect(s)
				nup++
			}
		}
	}

	for i := 0; i < servers; i++ {
		if !c.Connected(i) {
			c.Connect(i)
		}
	}

	c.One(randInt(c)%10000, servers, true)
}

// raftChurn is internalChurn: three clients keep submitting commands to whoever accepts them
// while servers are disconnected, crashed and restarted at random; afterwards every value a
// client saw committed must still be in the log.
// The reliable and unreliable versions differ only in the Script's network.
func raftChurn(c *Cluster) {
	servers := c.N()
	stop := false

	// clientValues[me] is what client me saw committed; nil until the client has finished
	// (the original sends its result on a channel when it returns).
	const ncli = 3
	clientValues := make([][]int, ncli)
	clientDone := make([]bool, ncli)
	client := func(me int) func(t *Task) {
		return func(t *Task) {
			values := []int{}
			for !stop {
				x := randInt(c)
				index := uint64(0)
				ok := false
				for i := 0; i < servers; i++ {
					// try them all, maybe one of them is a leader
					if c.Up(i) {
						if index1, _, ok1 := c.Start(i, x); ok1 {
							ok = ok1
							index = index1
						}
					}
				}
				if ok {
					// maybe leader will commit our value, maybe not. but don't wait forever.
					for _, toMs := range []sim.Time{10, 20, 50, 100, 200} {
						if nd, cmd := c.NCommitted(index); nd > 0 {
							if cmd == x {
								values = append(values, x)
							}
							break
						}
						t.Sleep(toMs * sim.Millisecond)
					}
				} else {
					t.Sleep(sim.Time(79+me*17) * sim.Millisecond)
				}
			}
			clientValues[me] = values
			clientDone[me] = true
		}
	}
	for i := 0; i < ncli; i++ {
		c.Go(fmt.Sprintf("client-%d", i), client(i))
	}

	for iters := 0; iters < 20; iters++ {
		if c.Rand().Intn(1000) < 200 {
			i := c.Rand().Intn(servers)
			c.Disconnect(i)
		}

		if c.Rand().Intn(1000) < 500 {
			i := c.Rand().Intn(servers)
			if !c.Up(i) {
				c.Restart(i)
			}
			c.Connect(i)
		}

		if c.Rand().Intn(1000) < 200 {
			i := c.Rand().Intn(servers)
			if c.Up(i) {
				c.Crash(i)
			}
		}

		// Make crash/restart infrequent enough that the peers can often keep up, but not so
		// infrequent that everything has settled down from one change to the next. Pick a
		// value smaller than the election timeout, but not hugely smaller.
		c.Sleep(labElectionTimeout * 7 / 10)
	}

	c.Sleep(labElectionTimeout)
	c.SetReliable(true)
	for i := 0; i < servers; i++ {
		if !c.Up(i) {
			c.Restart(i)
		}
		c.Connect(i)
	}

	stop = true
	var values []int
	waitUntil(c, "churn clients", func() bool {
		for _, done := range clientDone {
			if !done {
				return false
			}
		}
		return true
	})
	for i := 0; i < ncli; i++ {
		if clientValues[i] == nil {
			c.Fatalf("client failed")
		}
		values = append(values, clientValues[i]...)
	}

	c.Sleep(labElectionTimeout)

	lastIndex := c.One(randInt(c), servers, true)

	// really is the set of commands in the log (the original keeps a slice and searches it
	// for each value; a set gives the same answer without the quadratic cost).
	really := make(map[int]bool, lastIndex)
	for index := uint64(1); index <= lastIndex; index++ {
		really[c.Wait(index, servers, 0)] = true
	}

	for _, v := range values {
		if !really[v] {
			c.Fatalf("didn't find a value: %v was committed to a client but is not in the log", v)
		}
	}
}

// checkLogSize is the snapshot tests' bound on every server's persisted raft state.
func checkLogSize(c *Cluster) {
	for i := 0; i < c.N(); i++ {
		if size := c.LogSize(i); size >= labMaxLogSizeBytes {
			c.Fatalf("Log size too large: server %d persists %d bytes of raft state (limit %d)", i, size, labMaxLogSizeBytes)
		}
	}
}

// raftSnapCommon is snapcommon: 30 rounds of sending enough commands to make the servers
// snapshot, optionally with a follower or the leader disconnected or crashed meanwhile, so that
// it comes back behind the others' snapshots.
func raftSnapCommon(c *Cluster, disconnect, crash bool) {
	const iters = 30
	servers := c.N()

	c.One(randInt(c), servers, true)
	leader1 := c.CheckOneLeader()

	for i := 0; i < iters; i++ {
		victim := (leader1 + 1) % servers
		sender := leader1
		if i%3 == 1 {
			sender = (leader1 + 1) % servers
			victim = leader1
		}

		if disconnect {
			c.Disconnect(victim)
			c.One(randInt(c), servers-1, true)
		}
		if crash {
			c.Crash(victim)
			c.One(randInt(c), servers-1, true)
		}

		// perhaps send enough to get a snapshot
		nn := labSnapshotInterval/2 + c.Rand().Intn(labSnapshotInterval)
		for i := 0; i < nn; i++ {
			c.Start(sender, randInt(c))
		}

		// let applier threads catch up with the Start()'s
		if !disconnect && !crash {
			// make sure all followers have caught up, so that an InstallSnapshot RPC isn't
			// required for TestSnapshotBasic3D().
			c.One(randInt(c), servers, true)
		} else {
			c.One(randInt(c), servers-1, true)
		}

		checkLogSize(c)
		if disconnect {
			// reconnect a follower, who maybe behind and needs to receive a snapshot to
			// catch up.
			c.Connect(victim)
			c.One(randInt(c), servers, true)
			leader1 = c.CheckOneLeader()
		}
		if crash {
			labRestart(c, victim)
			c.One(randInt(c), servers, true)
			leader1 = c.CheckOneLeader()
		}
	}
}

// raftSnapshotAllCrash checks that servers persist their snapshots and restart from the
// snapshot along with the tail of the log.
func raftSnapshotAllCrash(c *Cluster) {
	servers := c.N()
	const iters = 5

	c.One(randInt(c), servers, true)

	for i := 0; i < iters; i++ {
		// perhaps enough to get a snapshot
		nn := labSnapshotInterval/2 + c.Rand().Intn(labSnapshotInterval)
		for i := 0; i < nn; i++ {
			c.One(randInt(c), servers, true)
		}

		index1 := c.One(randInt(c), servers, true)

		// crash all
		crashAll(c)
		restartAll(c)

		index2 := c.One(randInt(c), servers, true)
		if index2 < index1+1 {
			c.Fatalf("index decreased from %v to %v", index1, index2)
		}
	}
}

// raftSnapshotInit checks that servers initialize their in-memory copy of the snapshot on
// restart, so that later writes of their persistent state don't lose it.
func raftSnapshotInit(c *Cluster) {
	servers := c.N()
	c.One(randInt(c), servers, true)

	// enough ops to make a snapshot
	nn := labSnapshotInterval + 1
	for i := 0; i < nn; i++ {
		c.One(randInt(c), servers, true)
	}

	crashAll(c)
	restartAll(c)

	// a single op, to get something to be written back to persistent storage.
	c.One(randInt(c), servers, true)

	crashAll(c)
	restartAll(c)

	// do another op to trigger potential bug
	c.One(randInt(c), servers, true)
}
