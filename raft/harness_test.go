package raft

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand"
	"slices"
	"testing"
)

// This file holds the test helpers: constructors for single nodes driven message by message,
// and an in-memory cluster (disks with separate write and sync, a network that can drop,
// duplicate, reorder and partition) that checks safety as it runs.

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

func idsBySize(size int) []int {
	ids := make([]int, size)
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// testConfig is a node of a cluster of `size` nodes with ids 1..size, with pre-vote and
// check-quorum off (the paper's protocol) unless a test turns them on.
func testConfig(id, size int) Config {
	return Config{
		ID: id, Peers: idsBySize(size), ElectionTicks: 10, HeartbeatTicks: 1,
		Rand: newRand(int64(id)),
	}
}

func newTestNode(id, size int, mods ...func(*Config)) *Node {
	return newTestNodeFrom(id, size, Persisted{}, mods...)
}

func newTestNodeFrom(id, size int, p Persisted, mods ...func(*Config)) *Node {
	cfg := testConfig(id, size)
	for _, mod := range mods {
		mod(&cfg)
	}
	return New(cfg, p)
}

func withBug(b Bug) func(*Config) { return func(c *Config) { c.Bug = b } }

func withPreVoteCheckQuorum(c *Config) { c.PreVote = true; c.CheckQuorum = true }

// entsWithTerms builds entries 1..len(terms) with the given terms.
func entsWithTerms(terms ...uint64) []Entry {
	ents := make([]Entry, len(terms))
	for i, t := range terms {
		ents[i] = Entry{Term: t, Index: uint64(i + 1), Data: []byte(fmt.Sprintf("e%d", i+1))}
	}
	return ents
}

// logOf returns the terms of a node's log after its snapshot.
func logTerms(n *Node) []uint64 {
	var terms []uint64
	for i := range n.log.entries {
		terms = append(terms, n.log.entries[i].Term)
	}
	return terms
}

// takeReady takes the pending Ready, advances, and returns it with its slices copied (the
// node reuses them after Advance).
func takeReady(n *Node) Ready {
	if !n.HasReady() {
		return Ready{}
	}
	rd := n.Ready()
	rd.Messages = slices.Clone(rd.Messages)
	rd.Entries = slices.Clone(rd.Entries)
	rd.CommittedEntries = slices.Clone(rd.CommittedEntries)
	rd.ReadStates = slices.Clone(rd.ReadStates)
	n.Advance()
	return rd
}

func readMessages(n *Node) []Message { return takeReady(n).Messages }

// sortMessages orders messages by destination then type, for comparisons.
func sortMessages(msgs []Message) []Message {
	slices.SortStableFunc(msgs, func(a, b Message) int {
		if a.To != b.To {
			return a.To - b.To
		}
		return int(a.Type) - int(b.Type)
	})
	return msgs
}

// makeLeader turns a fresh node into the leader of term+1 directly, then drains its Ready.
func makeLeader(n *Node) {
	n.becomeCandidate()
	if n.role != Leader { // a single node wins at once
		n.becomeLeader()
	}
	takeReady(n)
}

// acceptAndReply is the success reply of a follower that stored all of m's entries.
func acceptAndReply(m Message) Message {
	if m.Type != MsgApp {
		panic("acceptAndReply of " + m.Type.String())
	}
	return Message{Type: MsgAppResp, From: m.To, To: m.From, Term: m.Term, Index: m.Index + uint64(len(m.Entries))}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("expected a panic containing %q", want)
		}
		if s := fmt.Sprint(r); !containsString(s, want) {
			t.Fatalf("panic %q does not contain %q", s, want)
		}
	}()
	f()
}

func containsString(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------
// In-memory cluster

// diskState is what a node's disk holds.
type diskState struct {
	hs   HardState
	snap Snapshot
	ents []Entry
}

func (d *diskState) clone() diskState {
	return diskState{hs: d.hs, snap: d.snap, ents: slices.Clone(d.ents)}
}

// stateMachine is the service: a digest chained over every applied entry, so that two
// nodes agree on the digest at an index iff they applied the same entries up to it.
type stateMachine struct {
	applied uint64
	digest  uint64
}

func (sm *stateMachine) apply(e *Entry) {
	h := fnv.New64a()
	var buf [8 * 3]byte
	binary.LittleEndian.PutUint64(buf[0:], sm.digest)
	binary.LittleEndian.PutUint64(buf[8:], e.Index)
	binary.LittleEndian.PutUint64(buf[16:], e.Term)
	h.Write(buf[:])
	h.Write([]byte{byte(e.Type)})
	h.Write(e.Data)
	sm.digest = h.Sum64()
	sm.applied = e.Index
}

func (sm *stateMachine) encode() []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, sm.applied), sm.digest)
}

func decodeStateMachine(data []byte) stateMachine {
	if len(data) != 16 {
		panic(fmt.Sprintf("bad snapshot data length %d", len(data)))
	}
	return stateMachine{applied: binary.LittleEndian.Uint64(data), digest: binary.LittleEndian.Uint64(data[8:])}
}

type testPeer struct {
	id      int
	cfg     Config
	node    *Node // nil while crashed
	written diskState
	durable diskState // what survives a crash: the state at the last sync
	sm      stateMachine
	// lastCommit is the commit index seen in this incarnation (must not decrease).
	lastCommit uint64
	readStates []ReadState
}

type cluster struct {
	t     testing.TB
	peers []*testPeer // peers[id-1]
	// inflight holds encoded messages with their endpoints; delivery order is the caller's.
	inflight []wireMsg
	cut      map[[2]int]bool // cut[{from,to}]: that link drops everything
	// compactEvery: a node compacts its log when it applied this many entries past its
	// snapshot (0 = never).
	compactEvery uint64
	panicOnFail  bool

	// Safety records.
	digestAt      map[uint64]uint64 // index -> digest after applying it (first applier)
	leaderOf      map[uint64]int    // term -> the leader seen in it
	maxCommit     uint64            // highest commit index any node reached
	readRequired  map[uint64]uint64 // read ctx -> maxCommit when it was issued
	nextReadCtx   uint64
	proposals     int
	appliedCount  int
	messagesSent  int
	readsAnswered int
}

type wireMsg struct {
	from, to int
	data     []byte
}

func newCluster(t testing.TB, size int, mods ...func(*Config)) *cluster {
	c := &cluster{
		t: t, cut: map[[2]int]bool{},
		digestAt: map[uint64]uint64{}, leaderOf: map[uint64]int{}, readRequired: map[uint64]uint64{},
	}
	for id := 1; id <= size; id++ {
		cfg := testConfig(id, size)
		for _, mod := range mods {
			mod(&cfg)
		}
		p := &testPeer{id: id, cfg: cfg}
		p.node = New(cfg, Persisted{})
		p.written.hs.Vote = None
		p.durable.hs.Vote = None
		c.peers = append(c.peers, p)
	}
	return c
}

func (c *cluster) peer(id int) *testPeer { return c.peers[id-1] }
func (c *cluster) node(id int) *Node     { return c.peers[id-1].node }

// clusterFailure is the panic value of a safety violation when panicOnFail is set.
type clusterFailure struct{ msg string }

func (c *cluster) fail(format string, args ...any) {
	c.t.Helper()
	if c.panicOnFail {
		panic(clusterFailure{fmt.Sprintf(format, args...)})
	}
	c.t.Fatalf(format, args...)
}

// findViolation runs f and returns the first safety violation the cluster reported, or the
// first raft invariant assertion that fired ("" if none).
func findViolation(c *cluster, f func()) (violation string) {
	c.panicOnFail = true
	defer func() {
		c.panicOnFail = false
		if r := recover(); r != nil {
			switch v := r.(type) {
			case clusterFailure:
				violation = v.msg
			case string:
				// raft's own assertions are detections too (the sim host reports them).
				if !containsString(v, "raft: invariant violated") {
					panic(r)
				}
				violation = v
			default:
				panic(r)
			}
		}
	}()
	f()
	return ""
}

// process carries out every pending Ready of a node, as a host would.
func (c *cluster) process(p *testPeer) {
	for range 1000 {
		n := p.node
		if n == nil || !n.HasReady() {
			return
		}
		rd := n.Ready()
		// 1. persist
		if rd.Snapshot != nil {
			p.written.snap = *rd.Snapshot
			if len(rd.Entries) > 0 && rd.Entries[0].Index != rd.Snapshot.Index+1 {
				c.fail("node %d: Ready entries start at %d after snapshot %d", p.id, rd.Entries[0].Index, rd.Snapshot.Index)
			}
			p.written.ents = slices.Clone(rd.Entries)
		} else if len(rd.Entries) > 0 {
			first := rd.Entries[0].Index
			if first <= p.written.snap.Index || first > p.written.snap.Index+uint64(len(p.written.ents))+1 {
				c.fail("node %d: Ready entries start at %d, disk has (%d, %d]", p.id, first,
					p.written.snap.Index, p.written.snap.Index+uint64(len(p.written.ents)))
			}
			p.written.ents = append(p.written.ents[:first-p.written.snap.Index-1:first-p.written.snap.Index-1], rd.Entries...)
		}
		if rd.HardStateChanged {
			p.written.hs = rd.HardState
		}
		// 2. sync
		if rd.MustSync {
			p.durable = p.written.clone()
		}
		// 3. send
		for i := range rd.Messages {
			m := &rd.Messages[i]
			if m.From != p.id {
				c.fail("node %d sent a message from %d", p.id, m.From)
			}
			c.inflight = append(c.inflight, wireMsg{from: m.From, to: m.To, data: m.Marshal()})
			c.messagesSent++
		}
		// 4. apply
		if rd.InstallSnapshot {
			sm := decodeStateMachine(rd.Snapshot.Data)
			if sm.applied != rd.Snapshot.Index {
				c.fail("node %d: snapshot index %d holds state at %d", p.id, rd.Snapshot.Index, sm.applied)
			}
			if d, ok := c.digestAt[sm.applied]; ok && d != sm.digest {
				c.fail("node %d installed a snapshot at %d that differs from the applied state", p.id, sm.applied)
			}
			if sm.applied <= p.sm.applied {
				c.fail("node %d: installs snapshot at %d after applying %d", p.id, sm.applied, p.sm.applied)
			}
			p.sm = sm
		}
		for i := range rd.CommittedEntries {
			e := &rd.CommittedEntries[i]
			if e.Index != p.sm.applied+1 {
				c.fail("node %d applies index %d after %d", p.id, e.Index, p.sm.applied)
			}
			p.sm.apply(e)
			c.appliedCount++
			if d, ok := c.digestAt[e.Index]; !ok {
				c.digestAt[e.Index] = p.sm.digest
			} else if d != p.sm.digest {
				c.fail("state machine safety: node %d applied a different entry sequence at index %d (term %d, %q)",
					p.id, e.Index, e.Term, e.Data)
			}
		}
		for _, rs := range rd.ReadStates {
			req, ok := c.readRequired[rs.Context]
			if !ok {
				c.fail("node %d: ReadState for unknown read %d", p.id, rs.Context)
			}
			if rs.Index < req {
				c.fail("stale read: node %d read index %d for read %d issued when %d was committed",
					p.id, rs.Index, rs.Context, req)
			}
			p.readStates = append(p.readStates, rs)
			c.readsAnswered++
		}
		n.Advance()
		if c.compactEvery > 0 && p.sm.applied >= n.log.snapshot.Index+c.compactEvery {
			n.Compact(p.sm.applied, p.sm.encode())
		}
		c.checkNode(p)
	}
	c.fail("node %d: Ready loop did not settle", p.id)
}

// checkNode asserts the per-node safety properties after each step.
func (c *cluster) checkNode(p *testPeer) {
	st := p.node.Status()
	if st.Role == Leader {
		if l, ok := c.leaderOf[st.Term]; ok && l != p.id {
			c.fail("election safety: nodes %d and %d are both leaders of term %d", l, p.id, st.Term)
		}
		c.leaderOf[st.Term] = p.id
	}
	if st.Commit < p.lastCommit {
		c.fail("node %d: commit went back from %d to %d", p.id, p.lastCommit, st.Commit)
	}
	p.lastCommit = st.Commit
	c.maxCommit = max(c.maxCommit, st.Commit)
	if st.Applied > st.Commit || st.Commit > st.LastIndex {
		c.fail("node %d: applied %d, commit %d, last %d out of order", p.id, st.Applied, st.Commit, st.LastIndex)
	}
}

func (c *cluster) processAll() {
	for _, p := range c.peers {
		c.process(p)
	}
}

// deliver hands the i-th in-flight message to its destination (unless crashed or cut).
func (c *cluster) deliver(i int) {
	w := c.inflight[i]
	c.inflight = slices.Delete(c.inflight, i, i+1)
	p := c.peer(w.to)
	if p.node == nil || c.cut[[2]int{w.from, w.to}] {
		return
	}
	m, err := Unmarshal(w.data)
	if err != nil {
		c.fail("message from %d to %d does not decode: %v", w.from, w.to, err)
	}
	p.node.Step(m)
	c.process(p)
}

// flush delivers in-flight messages in FIFO order until none is left.
func (c *cluster) flush() {
	c.processAll()
	for steps := 0; len(c.inflight) > 0; steps++ {
		if steps > 100_000 {
			c.fail("flush did not quiesce")
		}
		c.deliver(0)
	}
}

// flushExcept is flush that leaves the messages matching hold in flight.
func (c *cluster) flushExcept(hold func(wireMsg) bool) {
	c.processAll()
	for steps := 0; ; steps++ {
		if steps > 100_000 {
			c.fail("flush did not quiesce")
		}
		i := slices.IndexFunc(c.inflight, func(w wireMsg) bool { return !hold(w) })
		if i < 0 {
			return
		}
		c.deliver(i)
	}
}

func (c *cluster) tick(id int) {
	p := c.peer(id)
	if p.node == nil {
		return
	}
	p.node.Tick()
	c.process(p)
}

// campaign makes a node start an election now (like etcd's MsgHup); leaders ignore it.
func (c *cluster) campaign(id int) {
	p := c.peer(id)
	if p.node == nil || p.node.role == Leader {
		return
	}
	p.node.campaign()
	c.process(p)
}

// load replaces a node by one restarted from the given durable state.
func (c *cluster) load(id int, ps Persisted) {
	p := c.peer(id)
	d := diskState{hs: ps.HardState, snap: ps.Snapshot, ents: slices.Clone(ps.Entries)}
	p.durable, p.written = d.clone(), d.clone()
	p.node = nil
	c.restart(id)
}

func (c *cluster) propose(id int, data string) (uint64, bool) {
	p := c.peer(id)
	if p.node == nil {
		return 0, false
	}
	index, _, ok := p.node.Propose([]byte(data))
	if ok {
		c.proposals++
	}
	c.process(p)
	return index, ok
}

func (c *cluster) readIndex(id int) bool {
	p := c.peer(id)
	if p.node == nil {
		return false
	}
	c.nextReadCtx++
	c.readRequired[c.nextReadCtx] = c.maxCommit
	ok := p.node.ReadIndex(c.nextReadCtx)
	c.process(p)
	return ok
}

func (c *cluster) crash(id int) {
	p := c.peer(id)
	p.node = nil
	p.written = p.durable.clone() // unsynced writes are lost
}

func (c *cluster) restart(id int) {
	p := c.peer(id)
	if p.node != nil {
		return
	}
	d := p.durable.clone()
	p.node = New(p.cfg, Persisted{HardState: d.hs, Snapshot: d.snap, Entries: d.ents})
	p.sm = stateMachine{}
	if d.snap.Index > 0 {
		p.sm = decodeStateMachine(d.snap.Data)
	}
	p.lastCommit = 0
	c.process(p)
}

func (c *cluster) isolate(id int) {
	for _, q := range c.peers {
		if q.id != id {
			c.cut[[2]int{id, q.id}] = true
			c.cut[[2]int{q.id, id}] = true
		}
	}
}

func (c *cluster) heal() { clear(c.cut) }

// leader returns the id of a live leader with the highest term, or 0.
func (c *cluster) leader() int {
	best, bestTerm := 0, uint64(0)
	for _, p := range c.peers {
		if p.node != nil && p.node.role == Leader && p.node.term >= bestTerm {
			best, bestTerm = p.id, p.node.term
		}
	}
	return best
}

// converge ticks every live node and delivers every message, round after round, until one
// leader has an entry of its term committed and its whole log replicated and committed on
// every live node. It reports false if maxRounds rounds were not enough.
func (c *cluster) converge(maxRounds int) bool {
	for range maxRounds {
		for _, p := range c.peers {
			c.tick(p.id)
		}
		c.flush()
		if c.converged() {
			return true
		}
	}
	return false
}

func (c *cluster) converged() bool {
	l := c.leader()
	if l == 0 {
		return false
	}
	ln := c.node(l)
	last := ln.log.lastIndex()
	if ln.commit != last || ln.log.mustTerm(last) != ln.term {
		return false
	}
	for _, p := range c.peers {
		if p.node == nil {
			continue
		}
		st := p.node.Status()
		if st.Term != ln.term || st.Lead != l || st.Commit != last || st.LastIndex != last || st.Applied != last {
			return false
		}
	}
	return true
}
