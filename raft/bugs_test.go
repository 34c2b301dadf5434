package raft

import (
	"fmt"
	"testing"
)

// Each planted bug changes the behaviour BUGS.md describes, and only when switched on:
// every test runs the same steps with BugNone and with the bug.

func TestBugVoteNoPersist(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugVoteNoPersist} {
		n := newTestNode(1, 3, withBug(bug))
		n.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 1})
		rd := takeReady(n)
		if len(rd.Messages) != 1 || rd.Messages[0].Reject {
			t.Fatalf("%v: vote not granted: %v", bug, rd.Messages)
		}
		asksToPersist := rd.MustSync && rd.HardStateChanged && rd.HardState.Vote == 2 && rd.HardState.Term == 1
		if asksToPersist != (bug == BugNone) {
			t.Fatalf("%v: Ready asks to persist the vote: %v (%+v)", bug, asksToPersist, rd)
		}
	}

	// The consequence: a voter that crashes after voting forgets its vote and votes again
	// in the same term, electing a second leader.
	scenario := func(bug Bug) string {
		c := newCluster(t, 3, withBug(bug))
		return findViolation(c, func() {
			c.isolate(3)
			c.campaign(1) // term 1; node 2 grants
			for c.leader() != 1 && len(c.inflight) > 0 {
				c.deliver(0)
			}
			if c.leader() != 1 {
				t.Fatalf("node 1 not elected")
			}
			c.cut[[2]int{1, 2}] = true // node 2 hears nothing more of term 1
			c.flush()
			c.crash(2)
			c.restart(2)
			c.heal()
			c.isolate(1)
			c.campaign(3) // term 1 again
			c.flush()
		})
	}
	if v := scenario(BugNone); v != "" {
		t.Fatalf("correct raft: %s", v)
	}
	if v := scenario(BugVoteNoPersist); !containsString(v, "both leaders of term 1") {
		t.Fatalf("vote-no-persist not caught: %q", v)
	}
}

func TestBugVoteNoLogCheck(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugVoteNoLogCheck} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 2, 2)}, withBug(bug))
		n.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 3, LogTerm: 1, Index: 5})
		msgs := readMessages(n)
		if granted := len(msgs) == 1 && !msgs[0].Reject; granted != (bug == BugVoteNoLogCheck) {
			t.Fatalf("%v: vote for a stale log granted=%v", bug, granted)
		}
	}
}

func TestBugVoteTwice(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugVoteTwice} {
		n := newTestNode(1, 3, withBug(bug))
		n.campaign() // term 1, votes for itself
		n.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Reject: true})
		n.Step(Message{Type: MsgVoteResp, From: 3, To: 1, Term: 1, Reject: true})
		takeReady(n)
		n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 1})
		msgs := readMessages(n)
		if votedTwice := len(msgs) == 1 && !msgs[0].Reject; votedTwice != (bug == BugVoteTwice) {
			t.Fatalf("%v: second vote in term 1 granted=%v", bug, votedTwice)
		}
	}
}

// vote-twice needs competing candidates and a delayed RequestVote. B and C run in term 2;
// D votes for B, which wins. D never hears from B and its pre-vote is rejected (its log is
// behind), so it steps down without a term change; C's request, delayed all along, then
// gets D's second vote of term 2: C becomes a second leader of term 2.
func TestBugVoteTwiceTwoLeaders(t *testing.T) {
	const d, b, cand = 1, 2, 3
	scenario := func(bug Bug) string {
		c := newCluster(t, 3, withBug(bug), func(cfg *Config) { cfg.PreVote = true })
		typeOf := func(w wireMsg) MessageType { m, _ := Unmarshal(w.data); return m.Type }
		delayed := func(w wireMsg) bool { return w.from == cand && w.to == d && typeOf(w) == MsgVote }
		bToD := func(w wireMsg) bool { return w.from == b && w.to == d && typeOf(w) == MsgApp }
		return findViolation(c, func() {
			c.load(d, Persisted{HardState: HardState{Term: 1, Vote: None}})
			c.load(b, Persisted{HardState: HardState{Term: 1, Vote: None}, Entries: entsWithTerms(1)})
			c.load(cand, Persisted{HardState: HardState{Term: 1, Vote: None}, Entries: entsWithTerms(1)})
			c.cut[[2]int{b, cand}] = true // C never hears of B: it stays a candidate
			for _, id := range []int{b, cand} {
				c.node(id).becomeCandidate() // term 2, skipping the pre-vote
				c.process(c.peer(id))
			}
			c.flushExcept(func(w wireMsg) bool { return delayed(w) || bToD(w) })
			if c.leader() != b {
				t.Fatalf("B not elected")
			}
			for range 2 * c.peer(d).cfg.ElectionTicks {
				if c.node(d).role == PreCandidate {
					break
				}
				c.tick(d)
			}
			c.flushExcept(func(w wireMsg) bool { return delayed(w) || bToD(w) })
			if st := c.node(d).Status(); st.Role != Follower || st.Term != 2 {
				t.Fatalf("D %+v, want a follower of term 2 after a failed pre-vote", st)
			}
			c.flushExcept(bToD) // C's delayed request arrives
		})
	}
	if v := scenario(BugNone); v != "" {
		t.Fatalf("correct raft: %s", v)
	}
	if v := scenario(BugVoteTwice); !containsString(v, "both leaders of term 2") {
		t.Fatalf("vote-twice not caught: %q", v)
	}
}

func TestBugTruncateAlways(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugTruncateAlways} {
		n := newTestNode(1, 3, withBug(bug))
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1, 1, 1)})
		// A delayed duplicate of an older, shorter AppendEntries.
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1)})
		want := uint64(3)
		if bug == BugTruncateAlways {
			want = 1
		}
		if got := n.log.lastIndex(); got != want {
			t.Fatalf("%v: last index %d, want %d", bug, got, want)
		}
	}
}

func TestBugCommitOldTerm(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugCommitOldTerm} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 2)}, withBug(bug))
		n.becomeCandidate()
		n.becomeLeader() // term 3, no-op at 3
		n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 3, Index: 2})
		want := uint64(0)
		if bug == BugCommitOldTerm {
			want = 2
		}
		if n.commit != want {
			t.Fatalf("%v: commit %d, want %d", bug, n.commit, want)
		}
	}
	// Figure 8: the entry committed by counting is later overwritten.
	c := newCluster(t, 5, withBug(BugCommitOldTerm))
	// Caught either when a node applies the overwriting entry, or earlier by the follower
	// that committed the old entry and is sent a different one (raft's own assertion).
	if v := findViolation(c, func() { runFigure8(t, c) }); !containsString(v, "state machine safety") &&
		!containsString(v, "leader completeness") {
		t.Fatalf("commit-old-term not caught in Figure 8: %q", v)
	}
}

func TestBugCommitNoMin(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugCommitNoMin} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 1, 2, 2)}, withBug(bug))
		// The leader of term 3 vouches for index 2 only; its commit index is 4.
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, LogTerm: 1, Index: 2, Commit: 4})
		want := uint64(2)
		if bug == BugCommitNoMin {
			want = 4
		}
		if n.commit != want {
			t.Fatalf("%v: commit %d, want %d", bug, n.commit, want)
		}
		// Same through a heartbeat, which vouches for index 1 only.
		h := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 1, 2, 2)}, withBug(bug))
		h.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 3, Index: 1, Commit: 3})
		if want = 1; bug == BugCommitNoMin {
			want = 3
		}
		if h.commit != want {
			t.Fatalf("%v: commit %d after heartbeat, want %d", bug, h.commit, want)
		}
	}
}

func TestBugMatchFromCurrent(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugMatchFromCurrent} {
		n := newTestNode(1, 3, withBug(bug))
		makeLeader(n) // no-op at 1
		for range 4 {
			n.Propose([]byte("x"))
		}
		takeReady(n)
		// Node 2 acknowledges only the first request (index 1): a delayed reply.
		n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 1})
		wantMatch, wantCommit := uint64(1), uint64(1)
		if bug == BugMatchFromCurrent {
			wantMatch, wantCommit = 5, 5 // commits entries only the leader holds
		}
		if n.progress[1].match != wantMatch || n.commit != wantCommit {
			t.Fatalf("%v: match %d commit %d, want %d and %d", bug, n.progress[1].match, n.commit, wantMatch, wantCommit)
		}
	}
}

func TestBugAckBeforeSync(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugAckBeforeSync} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 1, Vote: None}}, withBug(bug))
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1, 1)})
		rd := takeReady(n)
		if len(rd.Entries) != 2 || len(rd.Messages) != 1 || rd.Messages[0].Index != 2 {
			t.Fatalf("%v: %+v", bug, rd)
		}
		if rd.MustSync != (bug == BugNone) {
			t.Fatalf("%v: acknowledgement of entries with MustSync=%v", bug, rd.MustSync)
		}
	}

	// The consequence: the followers that acknowledged lose the entries in a crash, elect a
	// leader among themselves and overwrite what was committed and applied.
	scenario := func(bug Bug) string {
		c := newCluster(t, 3, withBug(bug))
		return findViolation(c, func() {
			c.campaign(1)
			c.flush()
			for i := range 3 {
				c.propose(1, fmt.Sprintf("v%d", i))
			}
			c.flush()
			c.crash(1)
			c.crash(2)
			c.crash(3)
			c.restart(2)
			c.restart(3)
			c.campaign(2)
			c.flush()
			c.propose(2, "overwrite")
			c.flush()
			c.restart(1)
			c.converge(100)
		})
	}
	if v := scenario(BugNone); v != "" {
		t.Fatalf("correct raft: %s", v)
	}
	if v := scenario(BugAckBeforeSync); !containsString(v, "state machine safety") {
		t.Fatalf("ack-before-sync not caught: %q", v)
	}
}

// snapshot-offset: a leader with a snapshot fills prevLogTerm from the entry before
// prevLogIndex, so a follower holding a stale entry at prevLogIndex (with that term)
// passes the consistency check, acknowledges, and the leader commits an index where the two
// logs differ.
func TestBugSnapshotOffset(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugSnapshotOffset} {
		// Leader: snapshot at 4 (term 2), entry 5@2, then its no-op 6@4.
		l := New(testConfig(1, 3), Persisted{HardState: HardState{Term: 3, Vote: None, Commit: 4},
			Snapshot: Snapshot{Index: 4, Term: 2, Data: []byte("s")}, Entries: []Entry{{Term: 2, Index: 5}}})
		l.cfg.Bug = bug
		l.becomeCandidate()
		l.becomeLeader()
		takeReady(l)
		// Follower 2 holds a stale 6@2 from the leader of term 2.
		f := New(testConfig(2, 3), Persisted{HardState: HardState{Term: 3, Vote: None, Commit: 4},
			Snapshot: Snapshot{Index: 4, Term: 2, Data: []byte("s")}, Entries: []Entry{{Term: 2, Index: 5}, {Term: 2, Index: 6}}})
		takeReady(f)
		l.progress[1].becomeProbe(7) // probe prevLogIndex 6
		l.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 4})
		msgs := readMessages(l)
		if len(msgs) != 1 || msgs[0].Type != MsgApp || msgs[0].Index != 6 {
			t.Fatalf("%v: probe %v", bug, msgs)
		}
		wantLogTerm := uint64(4)
		if bug == BugSnapshotOffset {
			wantLogTerm = 2 // the term of entry 5
		}
		if msgs[0].LogTerm != wantLogTerm {
			t.Fatalf("%v: prevLogTerm %d, want %d", bug, msgs[0].LogTerm, wantLogTerm)
		}
		f.Step(msgs[0])
		reply := readMessages(f)
		if accepted := len(reply) == 1 && !reply[0].Reject; accepted != (bug == BugSnapshotOffset) {
			t.Fatalf("%v: stale follower accepted=%v", bug, accepted)
		}
		l.Step(reply[0])
		if bug == BugSnapshotOffset {
			if ft, _ := f.Term(6); l.commit != 6 || ft != 2 {
				t.Fatalf("%v: leader commit %d, follower term at 6 %d", bug, l.commit, ft)
			}
		} else if l.commit != 4 {
			t.Fatalf("%v: commit %d without a real match", bug, l.commit)
		}
	}
}
