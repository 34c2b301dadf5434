package monitor

import (
	"strings"
	"testing"

	"github.com/raftsim/raftsim/internal/rapidchecks"
	"pgregory.net/rapid"
)

// entry is (term, digest) for building logs in tests.
type entry struct{ term, digest uint64 }

// appendLog appends entries to node's log from index from on.
func appendLog(m *Monitor, node int, from uint64, entries ...entry) {
	for i, e := range entries {
		m.LogAppended(node, from+uint64(i), e.term, e.digest)
	}
}

// elect makes node leader of term the way a host reports it: durable term, then leadership.
func elect(m *Monitor, node int, term uint64) {
	m.PersistedTerm(node, term)
	m.BecameLeader(node, term)
}

func expectViolation(t *testing.T, m *Monitor, property string, messageParts ...string) {
	t.Helper()
	v := m.Violation()
	if v == nil {
		t.Fatalf("no violation, want %s", property)
	}
	if v.Property != property {
		t.Fatalf("violation %s (%s), want %s", v.Property, v.Message, property)
	}
	for _, part := range messageParts {
		if !strings.Contains(v.Message, part) {
			t.Errorf("message %q lacks %q", v.Message, part)
		}
	}
}

func expectNoViolation(t *testing.T, m *Monitor) {
	t.Helper()
	if v := m.Violation(); v != nil {
		t.Fatalf("unexpected violation %s: %s", v.Property, v.Message)
	}
}

func TestElectionSafety(t *testing.T) {
	t.Run("two leaders in one term", func(t *testing.T) {
		m := New(5)
		m.SetNow(1234)
		elect(m, 1, 4)
		elect(m, 3, 4)
		expectViolation(t, m, PropertyElectionSafety, "election safety: nodes 1 and 3 both leader in term 4")
		if v := m.Violation(); v.At != 1234 || v.Node != 3 || v.OtherNode != 1 || v.Term != 4 {
			t.Fatalf("violation fields %+v", *v)
		}
	})
	t.Run("one leader per term", func(t *testing.T) {
		m := New(5)
		elect(m, 1, 4)
		m.BecameLeader(1, 4) // reported again: still one leader
		elect(m, 3, 5)
		elect(m, 1, 6)
		expectNoViolation(t, m)
	})
}

func TestLogMatching(t *testing.T) {
	t.Run("same index and term, different commands", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb})
		appendLog(m, 1, 1, entry{1, 0xa}, entry{1, 0xbad})
		expectViolation(t, m, PropertyLogMatching, "nodes 0 and 1", "index 2", "term 1", "different commands")
	})
	t.Run("same entry, different logs before it", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{2, 0xc})
		appendLog(m, 1, 1, entry{2, 0xbad}, entry{2, 0xc})
		expectViolation(t, m, PropertyLogMatching, "index 2", "differ before it")
	})
	t.Run("a node holding two entries for one index and term", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb})
		m.LogTruncated(0, 2)
		appendLog(m, 0, 2, entry{1, 0xbad})
		expectViolation(t, m, PropertyLogMatching, "s0 has held two different entries at index 2 in term 1")
	})
	t.Run("diverging uncommitted tails in different terms", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{2, 0xb})
		appendLog(m, 1, 1, entry{1, 0xa}, entry{3, 0xc}) // another leader's entry at index 2
		appendLog(m, 2, 1, entry{1, 0xa}, entry{2, 0xb}, entry{2, 0xd})
		// node 0 is overwritten by the leader of term 3
		m.LogTruncated(0, 2)
		appendLog(m, 0, 2, entry{3, 0xc})
		expectNoViolation(t, m)
	})
	t.Run("entries after a snapshot are compared with full logs", func(t *testing.T) {
		m := New(3)
		elect(m, 0, 1)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb}, entry{1, 0xc})
		m.Committed(0, 2)
		m.SnapshotInstalled(1, 2, 1) // from the leader
		appendLog(m, 1, 3, entry{1, 0xbad})
		expectViolation(t, m, PropertyLogMatching, "index 3")
	})
}

func TestLeaderCompleteness(t *testing.T) {
	setup := func() *Monitor {
		m := New(3)
		elect(m, 0, 1)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb}, entry{1, 0xc})
		appendLog(m, 1, 1, entry{1, 0xa}, entry{1, 0xb}, entry{1, 0xc})
		m.Committed(0, 3)
		return m
	}
	t.Run("new leader lacks a committed entry", func(t *testing.T) {
		m := setup()
		appendLog(m, 2, 1, entry{1, 0xa})
		elect(m, 2, 2)
		expectViolation(t, m, PropertyLeaderCompleteness, "s2 became leader in term 2 without the entry committed at index 2", "its log ends at index 1")
	})
	t.Run("new leader holds another entry at a committed index", func(t *testing.T) {
		m := setup()
		appendLog(m, 2, 1, entry{1, 0xa}, entry{1, 0xb})
		m.PersistedTerm(2, 2)
		appendLog(m, 2, 3, entry{2, 0xe}) // written by no real leader of term 2: part of the bug
		elect(m, 2, 3)
		expectViolation(t, m, PropertyLeaderCompleteness, "holding an entry of term 2 at index 3", "term 1")
	})
	t.Run("up-to-date leader", func(t *testing.T) {
		m := setup()
		elect(m, 1, 2)
		expectNoViolation(t, m)
	})
	t.Run("leader whose snapshot covers the committed entries", func(t *testing.T) {
		m := setup()
		m.SnapshotInstalled(2, 3, 1)
		elect(m, 2, 2)
		expectNoViolation(t, m)
	})
	t.Run("stale leader of an earlier term need not hold later commits", func(t *testing.T) {
		m := New(3)
		elect(m, 0, 5)
		appendLog(m, 0, 1, entry{5, 0xa})
		appendLog(m, 1, 1, entry{5, 0xa})
		m.Committed(0, 1)
		// node 2 wins term 3 with votes granted long ago, delivered late
		m.BecameLeader(2, 3)
		expectNoViolation(t, m)
	})
}

func TestStateMachineSafety(t *testing.T) {
	t.Run("different commands applied at one index", func(t *testing.T) {
		m := New(3)
		m.Applied(0, 1, 1, 0xa)
		m.Applied(1, 1, 1, 0xb)
		expectViolation(t, m, PropertyStateMachineSafety, "nodes 0 and 1 applied different commands at index 1")
	})
	t.Run("different entries committed at one index", func(t *testing.T) {
		m := New(3)
		elect(m, 0, 1)
		appendLog(m, 0, 1, entry{1, 0xa})
		m.Committed(0, 1)
		appendLog(m, 1, 1, entry{2, 0xb}) // a stale tail: fine until committed
		expectNoViolation(t, m)
		m.Committed(1, 1) // commit without checking the log matches the leader's
		expectViolation(t, m, PropertyStateMachineSafety, "s1 committed index 1", "s0 had committed an entry of term 1")
	})
	t.Run("committed entry overwritten after a truncation", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb})
		m.Committed(0, 2)
		m.LogTruncated(0, 2)
		appendLog(m, 0, 2, entry{2, 0xc})
		expectViolation(t, m, PropertyStateMachineSafety, "s0 committed index 2")
	})
	t.Run("applied entry differs from the committed one", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa})
		m.Committed(0, 1)
		m.Applied(1, 1, 1, 0xbad)
		expectViolation(t, m, PropertyStateMachineSafety, "s1 applied at index 1")
	})
	t.Run("snapshot contradicts a committed entry", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb})
		m.Committed(0, 2)
		m.SnapshotInstalled(1, 2, 2)
		expectViolation(t, m, PropertyStateMachineSafety, "snapshot ending at index 2 in term 2")
	})
	t.Run("same commands applied everywhere", func(t *testing.T) {
		m := New(3)
		appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb})
		m.Committed(0, 2)
		for node := 0; node < 3; node++ {
			m.Applied(node, 1, 1, 0xa)
			m.Applied(node, 2, 1, 0xb)
		}
		expectNoViolation(t, m)
	})
}

func TestCommitMonotonic(t *testing.T) {
	m := New(3)
	appendLog(m, 0, 1, entry{1, 0xa}, entry{1, 0xb}, entry{1, 0xc})
	m.Committed(0, 3)
	m.Committed(0, 3)
	m.Restarted(0) // a new incarnation starts from its recovered state
	m.Committed(0, 1)
	expectNoViolation(t, m)
	m.Committed(0, 0)
	expectViolation(t, m, PropertyCommitMonotonic, "s0's commit index went back from 1 to 0")
}

func TestAppliedMonotonic(t *testing.T) {
	m := New(3)
	m.Applied(0, 1, 1, 0xa)
	m.Applied(0, 2, 1, 0xb)
	m.Applied(0, 5, 1, 0xe) // after a snapshot install: a jump is fine
	m.Restarted(0)
	m.Applied(0, 1, 1, 0xa) // replay from the start after a restart
	expectNoViolation(t, m)
	m.Applied(0, 1, 1, 0xa)
	expectViolation(t, m, PropertyAppliedMonotonic, "s0 applied index 1 after index 1")
}

func TestTermMonotonic(t *testing.T) {
	m := New(3)
	m.PersistedTerm(2, 5)
	m.PersistedTerm(2, 5)
	m.Restarted(2)
	m.PersistedTerm(2, 6)
	expectNoViolation(t, m)
	m.Restarted(2)
	m.PersistedTerm(2, 4) // the disk lost a term: across restarts too
	expectViolation(t, m, PropertyTermMonotonic, "s2 persisted term 4 after term 6")
}

func TestOnViolationCalledOnceWithTheFirst(t *testing.T) {
	m := New(3)
	var seen []Violation
	m.OnViolation(func(v Violation) { seen = append(seen, v) })
	m.SetNow(7)
	elect(m, 0, 1)
	elect(m, 1, 1)
	m.SetNow(8)
	m.PersistedTerm(0, 0)
	if len(seen) != 1 || seen[0].Property != PropertyElectionSafety || seen[0].At != 7 {
		t.Fatalf("callbacks %+v", seen)
	}
	if v := m.Violation(); v == nil || *v != seen[0] {
		t.Fatalf("Violation() %+v", v)
	}
}

func TestHostContractViolationsPanic(t *testing.T) {
	cases := map[string]func(m *Monitor){
		"node out of range":        func(m *Monitor) { m.BecameLeader(3, 1) },
		"gap in appends":           func(m *Monitor) { m.LogAppended(0, 2, 1, 1) },
		"index zero":               func(m *Monitor) { m.Applied(0, 0, 1, 1) },
		"truncate into a snapshot": func(m *Monitor) { m.SnapshotInstalled(0, 5, 1); m.LogTruncated(0, 3) },
		"older snapshot":           func(m *Monitor) { m.SnapshotInstalled(0, 5, 1); m.SnapshotInstalled(0, 3, 1) },
		"index beyond the limit":   func(m *Monitor) { m.SnapshotInstalled(0, maxTrackedIndex+1, 1) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(New(3))
		})
	}
}

// TestSnapshotsAndRestarts drives compaction, InstallSnapshot over a divergent log and
// recovery after a restart through a correct evolution: nothing may be flagged.
func TestSnapshotsAndRestarts(t *testing.T) {
	m := New(3)
	elect(m, 0, 2)
	appendLog(m, 0, 1, entry{2, 1}, entry{2, 2}, entry{2, 3}, entry{2, 4})
	appendLog(m, 1, 1, entry{2, 1}, entry{2, 2}, entry{2, 3}, entry{2, 4})
	appendLog(m, 2, 1, entry{1, 99}) // stale tail from term 1
	m.LogTruncated(2, 1)
	appendLog(m, 2, 1, entry{2, 1}, entry{2, 2})
	m.Committed(0, 4)
	m.Committed(1, 3)
	for i := uint64(1); i <= 3; i++ {
		m.Applied(0, i, 2, i)
	}
	m.SnapshotInstalled(0, 3, 2) // compaction: entry 4 kept
	appendLog(m, 0, 5, entry{2, 5})
	// node 2 receives the leader's snapshot and discards its log
	m.SnapshotInstalled(2, 3, 2)
	m.LogTruncated(2, 4)
	appendLog(m, 2, 4, entry{2, 4}, entry{2, 5})
	m.Committed(2, 5)
	// node 0 restarts from its snapshot and log
	m.Restarted(0)
	m.SnapshotInstalled(0, 3, 2)
	appendLog(m, 0, 4, entry{2, 4}, entry{2, 5})
	m.Committed(0, 4)
	m.Applied(0, 4, 2, 4)
	elect(m, 2, 3)
	expectNoViolation(t, m)
}

// TestSnapshotOverDivergentLog: a follower whose stale tail conflicts with the snapshot's last
// entry must discard its log; keeping the tail on top of the snapshot is flagged.
func TestSnapshotOverDivergentLog(t *testing.T) {
	setup := func() *Monitor {
		m := New(3)
		elect(m, 2, 1)
		appendLog(m, 2, 1, entry{1, 1}, entry{1, 2}, entry{1, 3}, entry{1, 4}) // uncommitted
		elect(m, 0, 2)
		appendLog(m, 0, 1, entry{1, 1}, entry{2, 5}, entry{2, 6}, entry{2, 7})
		appendLog(m, 1, 1, entry{1, 1}, entry{2, 5}, entry{2, 6}, entry{2, 7})
		m.Committed(0, 3)
		m.SnapshotInstalled(0, 3, 2)
		m.SnapshotInstalled(2, 3, 2) // node 2 held (3, term 1): not the snapshot's entry
		return m
	}
	t.Run("tail discarded", func(t *testing.T) {
		m := setup()
		m.LogTruncated(2, 4)
		appendLog(m, 2, 4, entry{2, 7})
		m.Committed(2, 4)
		expectNoViolation(t, m)
	})
	t.Run("tail kept", func(t *testing.T) {
		m := setup()
		m.Committed(2, 3)
		expectViolation(t, m, PropertyLogMatching, "s2", "index 4 in term 1")
	})
}

// genEntry is an entry of the simulated correct cluster below.
type genEntry struct{ term, digest uint64 }

type genNode struct {
	log     []genEntry // log[i] is index i+1; entries up to base are compacted but kept here
	base    uint64
	commit  uint64
	applied uint64
	term    uint64
}

// correctCluster evolves Raft logs the way a correct implementation does (leaders hold every
// committed entry, followers copy the leader's log with consistency checks and truncate only on
// conflict, commits follow the Figure 8 rule, snapshots cover applied entries, restarts recover
// everything that was synced) and reports each step to the monitor.
type correctCluster struct {
	m           *Monitor
	nodes       []genNode
	leader      int // -1: none
	maxTerm     uint64
	matchLen    []uint64 // per node: prefix of its log known equal to the current leader's
	truth       []genEntry
	digestCount uint64
	// electAnyNode plants a bug: any node can win an election, even one lacking committed
	// entries.
	electAnyNode bool
}

func (c *correctCluster) elect(t *rapid.T) {
	var candidates []int
	for i := range c.nodes {
		if c.electAnyNode || hasPrefix(c.nodes[i].log, c.truth) {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		t.Fatal("no node holds every committed entry")
	}
	leader := rapid.SampledFrom(candidates).Draw(t, "candidate")
	c.maxTerm++
	for i := range c.nodes {
		if i == leader || rapid.Bool().Draw(t, "voter persists the term") {
			c.nodes[i].term = c.maxTerm
			c.m.PersistedTerm(i, c.maxTerm)
		}
		c.matchLen[i] = 0
	}
	c.m.BecameLeader(leader, c.maxTerm)
	if c.electAnyNode {
		lacksCommitted := !hasPrefix(c.nodes[leader].log, c.truth)
		if v := c.m.Violation(); lacksCommitted != (v != nil) {
			t.Fatalf("node %d lacking committed entries: %v; violation: %+v", leader, lacksCommitted, v)
		} else if v != nil && v.Property != PropertyLeaderCompleteness {
			t.Fatalf("violation %s, want %s: %s", v.Property, PropertyLeaderCompleteness, v.Message)
		}
	}
	c.leader = leader
	c.matchLen[leader] = uint64(len(c.nodes[leader].log))
}

func (c *correctCluster) appendEntry(t *rapid.T) {
	if c.leader < 0 {
		return
	}
	n := &c.nodes[c.leader]
	c.digestCount++
	e := genEntry{term: n.term, digest: c.digestCount * 0x9e3779b97f4a7c15}
	n.log = append(n.log, e)
	c.m.LogAppended(c.leader, uint64(len(n.log)), e.term, e.digest)
	c.matchLen[c.leader] = uint64(len(n.log))
}

func (c *correctCluster) replicate(t *rapid.T) {
	if c.leader < 0 {
		return
	}
	leader := &c.nodes[c.leader]
	f := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "follower")
	if f == c.leader {
		return
	}
	follower := &c.nodes[f]
	if follower.term < leader.term {
		follower.term = leader.term
		c.m.PersistedTerm(f, leader.term)
	}
	// Mostly what a real leader sends (from the follower's match or log end up to the leader's
	// last entry, or a little less), sometimes any stale or reordered request.
	last := uint64(len(leader.log))
	upTo := last - min(last, rapid.Uint64Range(0, 2).Draw(t, "entries held back"))
	var prev uint64
	switch rapid.IntRange(0, 2).Draw(t, "request kind") {
	case 0:
		prev = min(c.matchLen[f], upTo)
	case 1:
		prev = min(uint64(len(follower.log)), upTo)
	default:
		upTo = rapid.Uint64Range(0, last).Draw(t, "stale entries up to")
		prev = rapid.Uint64Range(0, upTo).Draw(t, "stale previous index")
	}
	if prev < leader.base {
		c.installSnapshot(f)
		return
	}
	// Consistency check on (prev, term of prev).
	if prev > uint64(len(follower.log)) || (prev > follower.base && follower.log[prev-1].term != leader.log[prev-1].term) {
		return // rejected
	}
	for i := max(prev, follower.base) + 1; i <= upTo; i++ {
		want := leader.log[i-1]
		if i <= uint64(len(follower.log)) {
			if follower.log[i-1].term == want.term {
				continue
			}
			follower.log = follower.log[:i-1]
			c.m.LogTruncated(f, i)
		}
		follower.log = append(follower.log, want)
		c.m.LogAppended(f, i, want.term, want.digest)
	}
	c.matchLen[f] = max(c.matchLen[f], upTo)
	if commit := min(leader.commit, upTo); commit > follower.commit {
		follower.commit = commit
		c.m.Committed(f, commit)
	}
}

func (c *correctCluster) installSnapshot(f int) {
	leader := &c.nodes[c.leader]
	follower := &c.nodes[f]
	base := leader.base
	if follower.base >= base {
		return // stale
	}
	baseTerm := leader.log[base-1].term
	held := base <= uint64(len(follower.log)) && follower.log[base-1].term == baseTerm
	c.m.SnapshotInstalled(f, base, baseTerm)
	if held {
		follower.base = base
	} else {
		if uint64(len(follower.log)) > base {
			c.m.LogTruncated(f, base+1)
		}
		follower.log = append([]genEntry(nil), leader.log[:base]...)
		follower.base = base
	}
	c.matchLen[f] = max(c.matchLen[f], base)
	if base > follower.commit {
		follower.commit = base
		c.m.Committed(f, base)
	}
	follower.applied = max(follower.applied, base)
}

func (c *correctCluster) commit(t *rapid.T) {
	if c.leader < 0 {
		return
	}
	leader := &c.nodes[c.leader]
	for index := uint64(len(leader.log)); index > leader.commit; index-- {
		if leader.log[index-1].term != leader.term {
			break // Figure 8: count replicas only for entries of the leader's term
		}
		replicas := 0
		for i := range c.nodes {
			if c.matchLen[i] >= index {
				replicas++
			}
		}
		if 2*replicas > len(c.nodes) {
			leader.commit = index
			c.m.Committed(c.leader, index)
			if index > uint64(len(c.truth)) {
				c.truth = append([]genEntry(nil), leader.log[:index]...)
			}
			return
		}
	}
}

func (c *correctCluster) apply(t *rapid.T) {
	i := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "node")
	n := &c.nodes[i]
	for count := rapid.IntRange(1, 4).Draw(t, "entries to apply"); count > 0 && n.applied < n.commit; count-- {
		n.applied++
		e := n.log[n.applied-1]
		c.m.Applied(i, n.applied, e.term, e.digest)
	}
}

func (c *correctCluster) snapshot(t *rapid.T) {
	i := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "node")
	n := &c.nodes[i]
	if n.applied <= n.base {
		return
	}
	n.base = n.applied
	c.m.SnapshotInstalled(i, n.base, n.log[n.base-1].term)
}

func (c *correctCluster) restart(t *rapid.T) {
	i := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "node")
	n := &c.nodes[i]
	c.m.Restarted(i)
	c.m.PersistedTerm(i, n.term)
	if n.base > 0 {
		c.m.SnapshotInstalled(i, n.base, n.log[n.base-1].term)
	}
	for index := n.base + 1; index <= uint64(len(n.log)); index++ {
		e := n.log[index-1]
		c.m.LogAppended(i, index, e.term, e.digest)
	}
	n.commit, n.applied = n.base, n.base
	if n.base > 0 {
		c.m.Committed(i, n.base)
	}
	if i == c.leader {
		c.leader = -1
	}
}

func hasPrefix(log, prefix []genEntry) bool {
	if len(log) < len(prefix) {
		return false
	}
	for i := range prefix {
		if log[i] != prefix[i] {
			return false
		}
	}
	return true
}

// TestCorrectEvolutionsNeverFlagged: random correct cluster histories raise no violation.
func TestCorrectEvolutionsNeverFlagged(t *testing.T) {
	rapidchecks.Set(t, 100) // the coverage checks below need the full 100, -short too
	committedHistories := 0
	rapid.Check(t, func(t *rapid.T) {
		c := newCluster(t, false)
		c.m.OnViolation(func(v Violation) { t.Fatalf("violation in a correct history: %s: %s", v.Property, v.Message) })
		c.run(t)
		if len(c.truth) > 0 {
			committedHistories++
		}
	})
	if committedHistories < 20 {
		t.Fatalf("only %d generated histories committed anything: the generator exercises too little", committedHistories)
	}
}

// TestElectionsOfIncompleteLeadersFlagged: with elections open to any node, the monitor flags
// leader completeness exactly when the new leader lacks a committed entry.
func TestElectionsOfIncompleteLeadersFlagged(t *testing.T) {
	rapidchecks.Set(t, 100) // the coverage checks below need the full 100, -short too
	flagged := 0
	rapid.Check(t, func(t *rapid.T) {
		c := newCluster(t, true)
		c.run(t)
		if c.m.Violation() != nil {
			flagged++
		}
	})
	if flagged < 10 {
		t.Fatalf("only %d histories elected an incomplete leader: the generator exercises too little", flagged)
	}
}

func newCluster(t *rapid.T, electAnyNode bool) *correctCluster {
	size := rapid.IntRange(1, 5).Draw(t, "nodes")
	return &correctCluster{m: New(size), nodes: make([]genNode, size), leader: -1, matchLen: make([]uint64, size), electAnyNode: electAnyNode}
}

// run takes random steps until the step budget or the first violation.
func (c *correctCluster) run(t *rapid.T) {
	steps := rapid.IntRange(100, 600).Draw(t, "steps")
	for step := 0; step < steps && c.m.Violation() == nil; step++ {
		// rapid favours small draws: the most useful actions get the small rolls.
		switch roll := rapid.IntRange(0, 99).Draw(t, "action"); {
		case c.leader < 0 || roll >= 97:
			c.elect(t)
		case roll < 30:
			c.replicate(t)
		case roll < 55:
			c.appendEntry(t)
		case roll < 70:
			c.commit(t)
		case roll < 83:
			c.apply(t)
		case roll < 90:
			c.snapshot(t)
		case roll < 95:
			c.restart(t)
		default:
			c.leader = -1 // steps down, e.g. partitioned away
		}
	}
}

// BenchmarkLogAppended measures the monitor's cost per LogAppended in steady replication: a
// leader and four followers append each entry, and the leader commits every 16 entries.
func BenchmarkLogAppended(b *testing.B) {
	const nodes = 5
	m := New(nodes)
	elect(m, 0, 1)
	index := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for calls := 0; calls < b.N; {
		index++
		for node := 0; node < nodes; node++ {
			m.LogAppended(node, index, 1, index*0x9e3779b97f4a7c15)
		}
		calls += nodes
		if index%16 == 0 {
			for node := 0; node < nodes; node++ {
				m.Committed(node, index)
			}
		}
		if index%4096 == 0 {
			for node := 0; node < nodes; node++ {
				m.SnapshotInstalled(node, index-16, 1) // compaction bounds the views
			}
		}
	}
	b.StopTimer()
	if v := m.Violation(); v != nil {
		b.Fatal(v.Message)
	}
}

// Two replicas with different state digests at one applied index fail state-divergence;
// equal digests, and digests at different indices, do not.
func TestStateDivergence(t *testing.T) {
	m := New(3)
	m.StateApplied(0, 1, 0xaa)
	m.StateApplied(1, 1, 0xaa)
	m.StateApplied(1, 2, 0xbb)
	if v := m.Violation(); v != nil {
		t.Fatalf("equal states reported: %+v", v)
	}
	m.StateApplied(2, 2, 0xbc)
	expectViolation(t, m, PropertyStateDivergence, "nodes 1 and 2", "index 2")
}
