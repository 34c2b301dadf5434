package raft

import (
	"reflect"
	"slices"
	"testing"
)

// Ready/Advance contract, persistence, and restart from Persisted alone.

// MustSync whenever the term, the vote or the log changed; a commit-only change is
// reported (HardStateChanged) without a sync.
func TestMustSyncRules(t *testing.T) {
	n := newTestNode(1, 3)
	n.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 1})
	rd := takeReady(n)
	if !rd.MustSync || !rd.HardStateChanged || rd.HardState != (HardState{Term: 1, Vote: 2}) {
		t.Fatalf("vote: %+v", rd)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Type != MsgVoteResp || rd.Messages[0].Reject {
		t.Fatalf("the vote reply must travel in the Ready that persists the vote: %v", rd.Messages)
	}
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1, 1)})
	if rd = takeReady(n); !rd.MustSync || len(rd.Entries) != 2 || rd.HardStateChanged {
		t.Fatalf("append: %+v", rd)
	}
	n.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 1, Index: 2, Commit: 2})
	if rd = takeReady(n); rd.MustSync || !rd.HardStateChanged || rd.HardState.Commit != 2 || len(rd.CommittedEntries) != 2 {
		t.Fatalf("commit only: %+v", rd)
	}
	n.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 1, Index: 2, Commit: 2})
	if rd = takeReady(n); rd.MustSync || rd.HardStateChanged || len(rd.Messages) != 1 {
		t.Fatalf("nothing changed: %+v", rd)
	}
	if n.HasReady() {
		t.Fatalf("HasReady with nothing to do")
	}
}

// Ready must be followed by Advance; input between them goes to the next Ready and does
// not disturb the outstanding one.
func TestReadyAdvanceContract(t *testing.T) {
	n := newTestNode(1, 3)
	mustPanic(t, "Advance without an outstanding Ready", n.Advance)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1)})
	rd := n.Ready()
	if n.HasReady() {
		t.Fatalf("HasReady true while a Ready is outstanding")
	}
	mustPanic(t, "Ready called again before Advance", func() { n.Ready() })
	first := slices.Clone(rd.Messages)
	// A simulated fsync is pending: more input arrives.
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Index: 1, LogTerm: 1, Entries: []Entry{{Term: 1, Index: 2}}, Commit: 2})
	n.Tick()
	if !reflect.DeepEqual(rd.Messages, first) || len(rd.Entries) != 1 {
		t.Fatalf("outstanding Ready changed: %v", rd.Messages)
	}
	n.Advance()
	if !n.HasReady() {
		t.Fatalf("input after Ready is lost")
	}
	rd2 := takeReady(n)
	if len(rd2.Entries) != 1 || rd2.Entries[0].Index != 2 || len(rd2.CommittedEntries) != 2 || len(rd2.Messages) != 1 {
		t.Fatalf("second Ready %+v", rd2)
	}
}

// A node restarted from what its host persisted has the same term, vote, log and commit,
// and delivers the committed entries again for the service to re-apply.
func TestRestartFromPersisted(t *testing.T) {
	c := newCluster(t, 3)
	c.campaign(1)
	c.flush()
	for _, v := range []string{"a", "b", "c"} {
		c.propose(1, v)
	}
	c.flush()
	for _, id := range []int{1, 2, 3} {
		before := c.node(id).Status()
		beforeLog := slices.Clone(c.node(id).log.entries)
		c.crash(id)
		p := c.peer(id)
		d := p.durable.clone()
		n := New(p.cfg, Persisted{HardState: d.hs, Snapshot: d.snap, Entries: d.ents})
		st := n.Status()
		if st.Term != before.Term || st.Vote != before.Vote || st.LastIndex != before.LastIndex ||
			!reflect.DeepEqual(n.log.entries, beforeLog) || st.Role != Follower || st.Applied != 0 {
			t.Fatalf("node %d restarted as %+v, was %+v", id, st, before)
		}
		// The commit index is persisted lazily: at most what it was.
		if st.Commit > before.Commit {
			t.Fatalf("node %d restarted with commit %d > %d", id, st.Commit, before.Commit)
		}
		rd := takeReady(n)
		if uint64(len(rd.CommittedEntries)) != st.Commit {
			t.Fatalf("node %d re-delivers %d committed entries, want %d", id, len(rd.CommittedEntries), st.Commit)
		}
		c.restart(id)
	}
	if !c.converge(100) {
		t.Fatalf("no convergence after restarting everyone")
	}
}

// A persisted commit index beyond the durable log (writes lost in a crash) is clamped; the
// fresh Persisted is a fresh node even though Vote is 0 in it.
func TestRestartEdgeCases(t *testing.T) {
	n := New(testConfig(1, 3), Persisted{HardState: HardState{Term: 2, Vote: 1, Commit: 9}, Entries: entsWithTerms(1, 2)})
	if n.commit != 2 {
		t.Fatalf("commit %d, want clamped to 2", n.commit)
	}
	n = New(testConfig(1, 3), Persisted{})
	if n.vote != None || n.term != 0 {
		t.Fatalf("fresh node vote %d term %d", n.vote, n.term)
	}
	// Only a lost HardState (the vote-no-persist bug) leaves entries of a newer term.
	n = New(testConfig(1, 3), Persisted{HardState: HardState{Term: 1, Vote: 2}, Entries: entsWithTerms(1, 3)})
	if n.term != 3 || n.vote != None {
		t.Fatalf("term %d vote %d, want 3 and None", n.term, n.vote)
	}
}

// Corrupt persisted state and invalid configurations are refused loudly.
func TestNewRejectsInvalidInput(t *testing.T) {
	mustPanic(t, "corrupt persisted log", func() {
		New(testConfig(1, 3), Persisted{HardState: HardState{Term: 2}, Entries: []Entry{{Term: 1, Index: 1}, {Term: 1, Index: 3}}})
	})
	mustPanic(t, "corrupt persisted log", func() {
		New(testConfig(1, 3), Persisted{HardState: HardState{Term: 2}, Entries: []Entry{{Term: 2, Index: 1}, {Term: 1, Index: 2}}})
	})
	mustPanic(t, "corrupt persisted log", func() {
		New(testConfig(1, 3), Persisted{HardState: HardState{Term: 2}, Snapshot: Snapshot{Index: 5, Term: 2}, Entries: []Entry{{Term: 2, Index: 5}}})
	})
	mustPanic(t, "not a peer", func() {
		New(testConfig(1, 3), Persisted{HardState: HardState{Term: 2, Vote: 7}})
	})
	bad := []func(*Config){
		func(c *Config) { c.Rand = nil },
		func(c *Config) { c.Peers = []int{2, 3} },
		func(c *Config) { c.Peers = []int{1, 2, 2} },
		func(c *Config) { c.HeartbeatTicks = 0 },
		func(c *Config) { c.ElectionTicks = c.HeartbeatTicks },
		func(c *Config) { c.Bug = bugCount },
	}
	for i, mod := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("config #%d accepted", i)
				}
			}()
			cfg := testConfig(1, 3)
			mod(&cfg)
			New(cfg, Persisted{})
		}()
	}
}

// Status and Term report the log and the snapshot base.
func TestStatusAndTerm(t *testing.T) {
	n := New(testConfig(1, 3), Persisted{HardState: HardState{Term: 3, Vote: 2, Commit: 6},
		Snapshot: Snapshot{Index: 4, Term: 2, Data: []byte("s")}, Entries: []Entry{{Term: 2, Index: 5}, {Term: 3, Index: 6}}})
	want := Status{ID: 1, Role: Follower, Term: 3, Vote: 2, Lead: None, Commit: 6, Applied: 4,
		FirstIndex: 5, LastIndex: 6, SnapshotIndex: 4, SnapshotTerm: 2}
	if got := n.Status(); got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		index uint64
		term  uint64
		ok    bool
	}{{3, 0, false}, {4, 2, true}, {5, 2, true}, {6, 3, true}, {7, 0, false}} {
		if term, ok := n.Term(tt.index); term != tt.term || ok != tt.ok {
			t.Errorf("Term(%d) = %d %v, want %d %v", tt.index, term, ok, tt.term, tt.ok)
		}
	}
	rd := takeReady(n)
	if len(rd.CommittedEntries) != 2 || rd.CommittedEntries[0].Index != 5 {
		t.Fatalf("committed after snapshot: %v", rd.CommittedEntries)
	}
}

// Messages not addressed to the node, or from strangers, are ignored.
func TestStepIgnoresForeignMessages(t *testing.T) {
	n := newTestNode(1, 3)
	n.Step(Message{Type: MsgApp, From: 2, To: 3, Term: 4})
	n.Step(Message{Type: MsgApp, From: 9, To: 1, Term: 4})
	n.Step(Message{Type: MsgApp, From: 1, To: 1, Term: 4})
	n.Step(Message{Type: messageTypeCount, From: 2, To: 1, Term: 4})
	if n.term != 0 || n.HasReady() {
		t.Fatalf("foreign message changed the node: %+v", n.Status())
	}
}

// Every bounded queue reports hitting its limit instead of silently losing work: messages
// beyond maxPendingMessages and reads beyond maxPendingReads are counted, and committed
// entries beyond maxCommittedEntriesPerReady come in the next Ready.
func TestLimitsReported(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	for range maxPendingMessages/2 + 10 { // two heartbeats per tick, no Ready taken
		n.Tick()
	}
	if st := n.Status(); st.MessagesDropped != 20 || len(n.msgs) != maxPendingMessages {
		t.Fatalf("dropped %d with %d queued, want 20 and %d", st.MessagesDropped, len(n.msgs), maxPendingMessages)
	}
	takeReady(n)
	for i := range maxPendingReads + 3 {
		if ok := n.ReadIndex(uint64(i)); ok != (i < maxPendingReads) {
			t.Fatalf("read %d accepted=%v", i, ok)
		}
	}
	if st := n.Status(); st.ReadsDropped != 3 {
		t.Fatalf("reads dropped %d, want 3", st.ReadsDropped)
	}

	f := newTestNode(1, 3)
	const count = maxCommittedEntriesPerReady + 100
	ents := make([]Entry, count)
	for i := range ents {
		ents[i] = Entry{Term: 1, Index: uint64(i + 1)}
	}
	f.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: ents, Commit: count})
	rd := takeReady(f)
	if len(rd.CommittedEntries) != maxCommittedEntriesPerReady || !f.HasReady() {
		t.Fatalf("first Ready applies %d (HasReady %v)", len(rd.CommittedEntries), f.HasReady())
	}
	if rd = takeReady(f); len(rd.CommittedEntries) != 100 || rd.CommittedEntries[0].Index != maxCommittedEntriesPerReady+1 {
		t.Fatalf("second Ready applies %d", len(rd.CommittedEntries))
	}
}
