package scenarios

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/logapp"
)

// Script is a scripted scenario: a 6.5840 Raft test ported to virtual time.
type Script struct {
	Nodes      int
	Unreliable bool
	// Snapshot makes every server snapshot after every 10th applied index, as the lab's
	// applierSnap does.
	Snapshot bool
	Run      func(c *Cluster)
	// SUTs and Needs restrict the script to some systems under test (nil: all), and say why.
	SUTs  []string
	Needs string
}

// registerScript registers a scripted scenario.
func registerScript(name, description string, s *Script) {
	register(&Scenario{Name: name, Description: description, Script: s, SUTs: s.SUTs, Needs: s.Needs})
}

// Network models of the scripted cluster, after the lab's labrpc: a reliable network with small
// delays; an unreliable one that drops a tenth of messages and delays the rest up to 27 ms; and
// long reordering, which delays some messages by up to 2.2 s.
var (
	reliableNet   = sim.NetworkConfig{LatencyMin: 1 * sim.Millisecond, LatencyMax: 5 * sim.Millisecond}
	unreliableNet = sim.NetworkConfig{LatencyMin: 0, LatencyMax: 27 * sim.Millisecond, DropRate: 0.1}
)

const (
	// scriptMaxTime bounds one script's virtual time.
	scriptMaxTime = 30 * 60 * sim.Second
	// The lab's timing rules: at most ten heartbeats a second, and elections well within its
	// 5 s bound. With simhost's 10 ms tick: heartbeats every 100 ms, election timeouts of
	// 300-600 ms. (Workload scenarios use simhost's faster defaults.)
	labHeartbeatTicks = 10
	labElectionTicks  = 30
)

// Cluster is the scripted tests' view of a raft cluster, modelled on the lab's config.go:
// connect and disconnect servers, crash and restart them, start commands, and check elections
// and agreement. A failed check ends the script (Fatalf); so does a safety violation found by
// the online monitor.
type Cluster struct {
	*run
	n         int
	recorder  *logapp.Recorder
	connected []bool
	reliable  bool
	longReord bool
	rnd       *sim.Rand
	rpcs      int

	current *Task
	stops   []func()
	aborted bool
	end     sim.End
}

func runScript(sc *Scenario, seed uint64, target *sut.SUT, bug Bug, opts Options) (res *Result) {
	s := sc.Script
	maxTime := scriptMaxTime
	c := &Cluster{}
	*c = Cluster{
		run:       newRun(sc.Name, seed, target, bug, s.Nodes, reliableNet, maxTime, opts, c.countRPC),
		n:         s.Nodes,
		recorder:  logapp.New(s.Nodes),
		connected: make([]bool, s.Nodes),
		reliable:  !s.Unreliable,
	}
	c.rnd = c.sim.Rand("script")
	snapshotEvery := 0
	if s.Snapshot {
		snapshotEvery = labSnapshotInterval
	}
	c.addServers(s.Nodes, sut.Config{
		ElectionTicks: labElectionTicks, HeartbeatTicks: labHeartbeatTicks,
		Bug: bug.SUT, MaxRaftStateBytes: -1, NewService: c.recorder.Service(snapshotEvery),
	})
	c.applyNetwork()
	for i := 0; i < s.Nodes; i++ {
		c.sim.Start(sim.NodeID(i))
		c.connected[i] = true
	}
	c.applyLinks()
	until := sim.Time(opts.UntilMs) * sim.Millisecond
	if until > 0 {
		c.sim.At(until, "until", func() { c.sim.Stop(stopUntil) })
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(scriptAbort); !ok {
					c.panicFailure(p, debug.Stack())
					c.end = sim.EndStopped
				}
			}
		}()
		s.Run(c)
		c.checkRecorder()
	}()
	// End the tasks still sleeping; their unwinding must not run the simulation further.
	c.aborted = true
	for _, stop := range c.stops {
		stop()
	}
	if c.end == sim.EndStopped && c.sim.Now() == until && until > 0 && c.result.Status == Pass {
		c.result.stoppedEarly(until, "the script had not finished", CheckRaftTest)
	}
	end := c.end
	if end == 0 {
		end = sim.EndIdle
	}
	return c.finish(end)
}

// N is the number of servers.
func (c *Cluster) N() int { return c.n }

// Rand is the script's own PRNG stream.
func (c *Cluster) Rand() *sim.Rand { return c.rnd }

// Now is the current virtual time.
func (c *Cluster) Now() sim.Time { return c.sim.Now() }

// Fatalf fails the scenario with the script's own check and ends the script.
func (c *Cluster) Fatalf(format string, args ...any) {
	c.result.fail(CheckRaftTest, fmt.Sprintf(format, args...), c.sim.Now(), c.sim.Stats().Events)
	c.aborted = true
	c.sim.Stop("script failed")
	panic(scriptAbort{})
}

// checkRecorder fails the script when two servers applied different entries at one index
// (the lab's checkLogs), which the recorder notices as entries are applied.
func (c *Cluster) checkRecorder() {
	if err := c.recorder.Err(); err != nil {
		c.Fatalf("apply error: %v", err)
	}
}

func (c *Cluster) applyNetwork() {
	net := reliableNet
	if !c.reliable {
		net = unreliableNet
	}
	if c.longReord {
		// labrpc's long reordering delays two thirds of replies by 200 ms plus up to 2 s
		// (skewed low: about 700 ms on average). The kernel cannot tell replies from
		// requests, so a third of all messages get an extra delay averaging 700 ms.
		net.LongDelayRate, net.LongDelayMax = 0.33, 1400*sim.Millisecond
	}
	net.Ordered = c.sut.OrderedLinks
	c.sim.Net().SetConfig(net)
}

// applyLinks makes the connectivity matrix match connected[]: two servers talk iff both are
// connected (the lab's enable/disable of each end's outgoing and incoming links).
func (c *Cluster) applyLinks() {
	for a := 0; a < c.n; a++ {
		for b := 0; b < c.n; b++ {
			if a != b {
				c.sim.Net().SetLink(sim.NodeID(a), sim.NodeID(b), c.connected[a] && c.connected[b])
			}
		}
	}
}

// Disconnect cuts server i off from every other server.
func (c *Cluster) Disconnect(i int) { c.connected[i] = false; c.applyLinks() }

// Connect reconnects server i to the other connected servers.
func (c *Cluster) Connect(i int) { c.connected[i] = true; c.applyLinks() }

// Connected reports whether server i is connected.
func (c *Cluster) Connected(i int) bool { return c.connected[i] }

// Crash crashes server i (volatile state and unsynced writes lost) and disconnects it, as the
// lab's crash1 does.
func (c *Cluster) Crash(i int) {
	c.Disconnect(i)
	if c.sim.IsUp(sim.NodeID(i)) {
		c.sim.Crash(sim.NodeID(i))
	}
}

// Restart starts server i again from its disk (the lab's start1; it stays disconnected until
// Connect).
func (c *Cluster) Restart(i int) {
	if c.sim.IsUp(sim.NodeID(i)) {
		c.sim.Crash(sim.NodeID(i))
	}
	c.sim.Restart(sim.NodeID(i))
}

// SetReliable switches between the reliable and the unreliable network.
func (c *Cluster) SetReliable(reliable bool) { c.reliable = reliable; c.applyNetwork() }

// SetLongReordering switches long message delays on or off.
func (c *Cluster) SetLongReordering(on bool) { c.longReord = on; c.applyNetwork() }

// countRPC counts consensus requests as the lab's labrpc counts RPCs: a request and its reply
// are one RPC.
func (c *Cluster) countRPC(from, to sim.NodeID, payload []byte) {
	if len(payload) < 2 || payload[0] != sut.TagConsensus {
		return
	}
	if m, ok := c.sut.Describe(payload); ok && m.Kind.Request() {
		c.rpcs++
	}
}

// RPCTotal is the number of RPCs (raft requests) sent so far.
func (c *Cluster) RPCTotal() int { return c.rpcs }

// BytesTotal is the number of payload bytes sent so far.
func (c *Cluster) BytesTotal() int64 { return c.sim.Stats().BytesSent }

// LogSize is the size of server i's persisted raft state (0 while it is down).
func (c *Cluster) LogSize(i int) int {
	if srv := c.server(i); srv != nil {
		return srv.RaftStateBytes()
	}
	return 0
}

// GetState is rf.GetState() of server i (0, false while it is down).
func (c *Cluster) GetState(i int) (term uint64, isLeader bool) {
	srv := c.server(i)
	if srv == nil {
		return 0, false
	}
	st := srv.Status()
	return st.Term, st.Role == sut.Leader
}

// Up reports whether server i is running (not crashed).
func (c *Cluster) Up(i int) bool { return c.sim.IsUp(sim.NodeID(i)) }

// Start is rf.Start(cmd) on server i.
func (c *Cluster) Start(i int, cmd int) (index, term uint64, isLeader bool) {
	return c.startSized(i, cmd, 0)
}

// encodeCommand encodes a command number as log entry data padded to at least sizeBytes (the
// lab's large commands for RPCBytes); decodeCommand reads the number back.
func encodeCommand(cmd, sizeBytes int) []byte {
	data := strconv.AppendInt(nil, int64(cmd), 10)
	if len(data) < sizeBytes {
		data = append(data, '#')
		for len(data) < sizeBytes {
			data = append(data, 'x')
		}
	}
	return data
}

func decodeCommand(data string) (int, bool) {
	num, _, _ := strings.Cut(data, "#")
	v, err := strconv.Atoi(num)
	return v, err == nil
}

func (c *Cluster) startSized(i, cmd, sizeBytes int) (index, term uint64, isLeader bool) {
	srv := c.server(i)
	if srv == nil || c.sim.IsPaused(sim.NodeID(i)) {
		return 0, 0, false
	}
	return srv.Propose(encodeCommand(cmd, sizeBytes))
}

// NCommitted is how many servers applied an entry at index, and its command (-1 for none or a
// raft no-op); it fails the script if servers disagree.
func (c *Cluster) NCommitted(index uint64) (count int, cmd int) {
	c.checkRecorder()
	count, data := c.recorder.NCommitted(index)
	if count == 0 {
		return 0, -1
	}
	v, ok := decodeCommand(data)
	if !ok {
		return count, -1
	}
	return count, v
}

// CheckOneLeader waits for exactly one leader among the connected servers and returns it; two
// leaders in one term, or none after ten tries, fail the script.
func (c *Cluster) CheckOneLeader() int {
	for iters := 0; iters < 10; iters++ {
		c.Sleep(sim.Time(450+c.rnd.Intn(100)) * sim.Millisecond)
		leaders := map[uint64][]int{}
		lastTerm := uint64(0)
		for i := 0; i < c.n; i++ {
			if !c.connected[i] {
				continue
			}
			if term, isLeader := c.GetState(i); isLeader {
				leaders[term] = append(leaders[term], i)
				lastTerm = max(lastTerm, term)
			}
		}
		for term := uint64(0); term <= lastTerm; term++ {
			if len(leaders[term]) > 1 {
				c.Fatalf("term %d has %d (>1) leaders: %v", term, len(leaders[term]), leaders[term])
			}
		}
		if len(leaders[lastTerm]) == 1 {
			return leaders[lastTerm][0]
		}
	}
	c.Fatalf("expected one leader, got none")
	return -1
}

// CheckTerms checks that the connected servers agree on the term and returns it.
func (c *Cluster) CheckTerms() uint64 {
	term := uint64(0)
	for i := 0; i < c.n; i++ {
		if !c.connected[i] {
			continue
		}
		t, _ := c.GetState(i)
		if term == 0 {
			term = t
		} else if t != term {
			c.Fatalf("servers disagree on term: %d vs %d", term, t)
		}
	}
	return term
}

// CheckNoLeader checks that no connected server thinks it is leader.
func (c *Cluster) CheckNoLeader() {
	for i := 0; i < c.n; i++ {
		if !c.connected[i] {
			continue
		}
		if _, isLeader := c.GetState(i); isLeader {
			c.Fatalf("expected no leader among connected servers, but %d claims to be leader", i)
		}
	}
}

// One submits cmd to whichever server is leader, retrying for up to 10 s, and returns the index
// at which at least expectedServers applied it (the lab's one()). Without retry, one failed
// submission fails the script.
func (c *Cluster) One(cmd int, expectedServers int, retry bool) uint64 {
	return c.OneSized(cmd, 0, expectedServers, retry)
}

// OneSized is One with the command padded to sizeBytes of log entry data.
func (c *Cluster) OneSized(cmd, sizeBytes, expectedServers int, retry bool) uint64 {
	t0 := c.Now()
	starts := 0
	for c.Now()-t0 < 10*sim.Second {
		index := uint64(0)
		found := false
		for si := 0; si < c.n; si++ {
			starts = (starts + 1) % c.n
			if c.connected[starts] {
				if index1, _, ok := c.startSized(starts, cmd, sizeBytes); ok {
					index, found = index1, true
					break
				}
			}
		}
		if found {
			t1 := c.Now()
			for c.Now()-t1 < 2*sim.Second {
				nd, cmd1 := c.NCommitted(index)
				if nd > 0 && nd >= expectedServers && cmd1 == cmd {
					return index
				}
				c.Sleep(20 * sim.Millisecond)
			}
			if !retry {
				c.Fatalf("one(%d) failed to reach agreement", cmd)
			}
		} else {
			c.Sleep(50 * sim.Millisecond)
		}
	}
	c.Fatalf("one(%d) failed to reach agreement", cmd)
	return 0
}

// Wait waits for at least n servers to apply index and returns its command, or -1 if a server's
// term moved past startTerm (startTerm 0: never give up that way).
func (c *Cluster) Wait(index uint64, n int, startTerm uint64) int {
	to := 10 * sim.Millisecond
	for iters := 0; iters < 30; iters++ {
		nd, _ := c.NCommitted(index)
		if nd >= n {
			break
		}
		c.Sleep(to)
		if to < sim.Second {
			to *= 2
		}
		if startTerm > 0 {
			for i := 0; i < c.n; i++ {
				if t, _ := c.GetState(i); t > startTerm {
					return -1 // someone moved on; can no longer guarantee that we'll win
				}
			}
		}
	}
	nd, cmd := c.NCommitted(index)
	if nd < n {
		c.Fatalf("only %d decided for index %d; wanted %d", nd, index, n)
	}
	return cmd
}
