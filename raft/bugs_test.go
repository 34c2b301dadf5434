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
	if v := findViolation(c, func() { runFigure8(t, c) }); !containsString(v, "state machine safety") {
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

func TestBugSnapshotOffset(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugSnapshotOffset} {
		// Snapshot at 5 (term 1), then 6@2 and 7@3.
		n := New(testConfig(1, 3), Persisted{HardState: HardState{Term: 3, Vote: None, Commit: 5},
			Snapshot: Snapshot{Index: 5, Term: 1, Data: []byte("s")}, Entries: []Entry{{Term: 2, Index: 6}, {Term: 3, Index: 7}}})
		n.cfg.Bug = bug
		takeReady(n)
		// The leader's entry 6 has term 3: the follower must reject prevLogIndex 6/term 3.
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, Index: 6, LogTerm: 3, Entries: []Entry{{Term: 3, Index: 7}, {Term: 3, Index: 8}}, Commit: 8})
		msgs := readMessages(n)
		if len(msgs) != 1 {
			t.Fatalf("%v: %v", bug, msgs)
		}
		if accepted := !msgs[0].Reject; accepted != (bug == BugSnapshotOffset) {
			t.Fatalf("%v: mismatching prevLogTerm accepted=%v", bug, accepted)
		}
		if bug == BugSnapshotOffset && n.commit != 8 {
			t.Fatalf("%v: commit %d: the stale entry 6 of term 2 is now committed", bug, n.commit)
		}
	}
}
