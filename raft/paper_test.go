package raft

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// Tests of the rules of Figure 2 and sections 5.1-5.4 of the Raft paper, one rule per test,
// driving single nodes message by message (after etcd-io/raft's raft_paper_test.go).

// Section 5.1: a server that sees a larger term adopts it, and a candidate or leader reverts
// to follower.
func TestUpdateTermFromMessage(t *testing.T) {
	for _, role := range []Role{Follower, Candidate, Leader} {
		for _, mt := range []MessageType{MsgApp, MsgHeartbeat, MsgAppResp, MsgVoteResp} {
			t.Run(role.String()+"/"+mt.String(), func(t *testing.T) {
				n := newTestNode(1, 3)
				switch role {
				case Candidate:
					n.becomeCandidate()
				case Leader:
					makeLeader(n)
				}
				n.Step(Message{Type: mt, From: 2, To: 1, Term: 5})
				if n.term != 5 || n.role != Follower {
					t.Fatalf("term %d role %v, want 5 Follower", n.term, n.role)
				}
				wantLead := None
				if mt == MsgApp || mt == MsgHeartbeat {
					wantLead = 2
				}
				if n.lead != wantLead {
					t.Fatalf("lead %d, want %d", n.lead, wantLead)
				}
			})
		}
	}
}

// Section 5.1: a request with a stale term is rejected (here: it changes nothing; with
// pre-vote or check-quorum the stale leader is told the newer term).
func TestRejectStaleTermMessage(t *testing.T) {
	for _, protective := range []bool{false, true} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}})
		if protective {
			n.cfg.CheckQuorum = true
		}
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1), Commit: 1})
		n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 1})
		if n.term != 2 || n.vote != None || n.log.lastIndex() != 0 || n.commit != 0 || n.lead != None {
			t.Fatalf("stale messages changed state: %+v", n.Status())
		}
		msgs := readMessages(n)
		if !protective {
			if len(msgs) != 0 {
				t.Fatalf("unexpected replies %v", msgs)
			}
			continue
		}
		want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 2}}
		if !reflect.DeepEqual(msgs, want) {
			t.Fatalf("replies %v, want %v", msgs, want)
		}
	}
}

// Section 5.2: servers start as followers.
func TestStartAsFollower(t *testing.T) {
	n := newTestNode(1, 3)
	if st := n.Status(); st.Role != Follower || st.Term != 0 || st.Vote != None || st.Lead != None {
		t.Fatalf("fresh node %+v", st)
	}
}

// Section 5.2: a leader sends heartbeats (AppendEntries without entries) to all followers
// every heartbeat interval, carrying its commit index and the follower's match index (the
// prevLogIndex the follower may commit up to).
func TestLeaderBcastBeat(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	for range 10 {
		n.Propose([]byte("x"))
	}
	takeReady(n)
	n.Tick() // HeartbeatTicks = 1
	var beats []Message
	for _, m := range readMessages(n) {
		if m.Type == MsgHeartbeat {
			beats = append(beats, m)
		}
	}
	want := []Message{
		{Type: MsgHeartbeat, From: 1, To: 2, Term: 1},
		{Type: MsgHeartbeat, From: 1, To: 3, Term: 1},
	}
	if !reflect.DeepEqual(sortMessages(beats), want) {
		t.Fatalf("heartbeats %v, want %v", beats, want)
	}
}

// Section 5.2: a follower (or candidate) that hears nothing for an election timeout
// increments its term, votes for itself and requests votes from all others in parallel.
func TestNonleaderStartElection(t *testing.T) {
	for _, role := range []Role{Follower, Candidate} {
		t.Run(role.String(), func(t *testing.T) {
			n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 1, Vote: None}, Entries: entsWithTerms(1, 1)})
			if role == Candidate {
				n.becomeCandidate() // term 2, no majority
			}
			startTerm := n.term
			takeReady(n)
			for range 2 * n.cfg.ElectionTicks {
				n.Tick()
			}
			if n.term != startTerm+1 || n.role != Candidate || n.vote != 1 {
				t.Fatalf("term %d role %v vote %d, want term %d Candidate vote 1", n.term, n.role, n.vote, startTerm+1)
			}
			rd := takeReady(n)
			if !rd.MustSync || !rd.HardStateChanged || rd.HardState.Term != startTerm+1 || rd.HardState.Vote != 1 {
				t.Fatalf("new term and vote not persisted before the requests: %+v", rd)
			}
			want := []Message{
				{Type: MsgVote, From: 1, To: 2, Term: startTerm + 1, LogTerm: 1, Index: 2},
				{Type: MsgVote, From: 1, To: 3, Term: startTerm + 1, LogTerm: 1, Index: 2},
			}
			if got := sortMessages(rd.Messages); !reflect.DeepEqual(got, want) {
				t.Fatalf("messages %v, want %v", got, want)
			}
		})
	}
}

// Section 5.2: a candidate wins with votes from a majority, returns to follower when a
// majority rejects, and otherwise stays a candidate.
func TestLeaderElectionInOneRoundRPC(t *testing.T) {
	tests := []struct {
		size  int
		votes map[int]bool
		want  Role
	}{
		{1, nil, Leader},
		{3, map[int]bool{2: true, 3: true}, Leader},
		{3, map[int]bool{2: true}, Leader},
		{5, map[int]bool{2: true, 3: true, 4: true, 5: true}, Leader},
		{5, map[int]bool{2: true, 3: true}, Leader},
		{3, map[int]bool{2: false, 3: false}, Follower},
		{5, map[int]bool{2: false, 3: false, 4: false}, Follower},
		{5, map[int]bool{2: true, 3: false, 4: false, 5: false}, Follower},
		{3, nil, Candidate},
		{5, map[int]bool{2: true}, Candidate},
		{5, map[int]bool{2: false, 3: false}, Candidate},
	}
	for i, tt := range tests {
		n := newTestNode(1, tt.size)
		n.campaign()
		for id := 2; id <= tt.size; id++ {
			if vote, ok := tt.votes[id]; ok {
				n.Step(Message{Type: MsgVoteResp, From: id, To: 1, Term: n.term, Reject: !vote})
			}
		}
		if n.role != tt.want || n.term != 1 {
			t.Errorf("#%d: role %v term %d, want %v term 1", i, n.role, n.term, tt.want)
		}
	}
}

// Section 5.2: each server votes for at most one candidate per term, first come first served.
func TestFollowerVote(t *testing.T) {
	tests := []struct {
		vote, candidate int
		wantReject      bool
	}{
		{None, 2, false},
		{None, 3, false},
		{2, 2, false},
		{3, 3, false},
		{2, 3, true},
		{3, 2, true},
	}
	for i, tt := range tests {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 1, Vote: tt.vote}})
		n.Step(Message{Type: MsgVote, From: tt.candidate, To: 1, Term: 1})
		want := []Message{{Type: MsgVoteResp, From: 1, To: tt.candidate, Term: 1, Reject: tt.wantReject}}
		if got := readMessages(n); !reflect.DeepEqual(got, want) {
			t.Errorf("#%d: %v, want %v", i, got, want)
		}
	}
}

// Section 5.2: a candidate that receives AppendEntries from a leader with a term at least
// its own returns to follower.
func TestCandidateFallback(t *testing.T) {
	for _, term := range []uint64{1, 2} {
		n := newTestNode(1, 3)
		n.campaign()
		if n.role != Candidate {
			t.Fatalf("role %v", n.role)
		}
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: term})
		if n.role != Follower || n.term != term || n.lead != 2 {
			t.Fatalf("term %d: role %v term %d lead %d", term, n.role, n.term, n.lead)
		}
		if term == 1 && n.vote != 1 {
			t.Fatalf("term %d: vote %d; a step-down without term change must keep the vote", term, n.vote)
		}
	}
}

// Section 5.2: election timeouts are chosen randomly from [ElectionTicks, 2*ElectionTicks).
func TestElectionTimeoutRandomized(t *testing.T) {
	for _, role := range []Role{Follower, Candidate} {
		n := newTestNode(1, 3)
		et := n.cfg.ElectionTicks
		seen := map[int]bool{}
		for range 50 * et {
			if role == Follower {
				n.becomeFollower(n.term+1, 2)
			} else {
				n.becomeCandidate()
			}
			takeReady(n)
			ticks := 0
			for len(readMessages(n)) == 0 {
				n.Tick()
				ticks++
				if ticks > 2*et {
					t.Fatalf("%v: no election after %d ticks", role, ticks)
				}
			}
			if ticks < et || ticks >= 2*et {
				t.Fatalf("%v: election after %d ticks, outside [%d, %d)", role, ticks, et, 2*et)
			}
			seen[ticks] = true
		}
		for d := et; d < 2*et; d++ {
			if !seen[d] {
				t.Errorf("%v: timeout %d never drawn", role, d)
			}
		}
	}
}

// Section 5.2: randomized timeouts make it unlikely that several followers time out at once.
func TestElectionTimeoutNonconflict(t *testing.T) {
	nodes := []*Node{}
	for id := 1; id <= 5; id++ {
		nodes = append(nodes, newTestNode(id, 5))
	}
	conflicts := 0
	for round := range 1000 {
		for _, n := range nodes {
			n.becomeFollower(uint64(round+1), None)
			takeReady(n)
		}
		timeouts := 0
		for timeouts == 0 {
			for _, n := range nodes {
				n.Tick()
				if len(readMessages(n)) > 0 {
					timeouts++
				}
			}
		}
		if timeouts > 1 {
			conflicts++
		}
	}
	if conflicts > 300 {
		t.Fatalf("%d of 1000 rounds had simultaneous timeouts", conflicts)
	}
}

// Figure 2, Leaders: upon election, send AppendEntries to each server; here it carries the
// leader's no-op, appended (and persisted) in its new term.
func TestLeaderSendsNoopOnElection(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 1, Vote: None}, Entries: entsWithTerms(1)})
	n.campaign()
	takeReady(n)
	n.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: 2})
	if n.role != Leader {
		t.Fatalf("role %v", n.role)
	}
	rd := takeReady(n)
	noop := []Entry{{Term: 2, Index: 2, Type: EntryNoop}}
	if !reflect.DeepEqual(rd.Entries, noop) || !rd.MustSync {
		t.Fatalf("Ready entries %v (sync %v), want the no-op", rd.Entries, rd.MustSync)
	}
	want := []Message{
		{Type: MsgApp, From: 1, To: 2, Term: 2, Index: 1, LogTerm: 1, Entries: noop},
		{Type: MsgApp, From: 1, To: 3, Term: 2, Index: 1, LogTerm: 1, Entries: noop},
	}
	if got := sortMessages(rd.Messages); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
}

// Section 5.3: the leader appends a proposal to its log (to be persisted) and sends it in
// parallel, with the index and term of the entry before it.
func TestLeaderStartReplication(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	commitNoop(n)
	li := n.log.lastIndex()
	index, term, ok := n.Propose([]byte("some data"))
	if !ok || index != li+1 || term != 1 {
		t.Fatalf("Propose = %d %d %v", index, term, ok)
	}
	rd := takeReady(n)
	wantEnts := []Entry{{Term: 1, Index: li + 1, Data: []byte("some data")}}
	if !reflect.DeepEqual(rd.Entries, wantEnts) || !rd.MustSync {
		t.Fatalf("Ready entries %v MustSync %v, want %v and sync", rd.Entries, rd.MustSync, wantEnts)
	}
	want := []Message{
		{Type: MsgApp, From: 1, To: 2, Term: 1, Index: li, LogTerm: 1, Entries: wantEnts, Commit: li},
		{Type: MsgApp, From: 1, To: 3, Term: 1, Index: li, LogTerm: 1, Entries: wantEnts, Commit: li},
	}
	if got := sortMessages(rd.Messages); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
}

// commitNoop has both followers acknowledge the leader's no-op, and drains the Ready.
func commitNoop(n *Node) {
	for id := 2; id <= len(n.peers); id++ {
		n.Step(Message{Type: MsgAppResp, From: id, To: n.id, Term: n.term, Index: n.log.lastIndex()})
	}
	takeReady(n)
	if n.commit != n.log.lastIndex() {
		panic("noop not committed")
	}
}

// Section 5.3: once an entry is replicated on a majority the leader commits and applies it,
// and tells followers the new commit index in later AppendEntries.
func TestLeaderCommitEntry(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	commitNoop(n)
	li := n.log.lastIndex()
	n.Propose([]byte("some data"))
	for _, m := range readMessages(n) {
		n.Step(acceptAndReply(m))
	}
	if n.commit != li+1 {
		t.Fatalf("commit %d, want %d", n.commit, li+1)
	}
	rd := takeReady(n)
	want := []Entry{{Term: 1, Index: li + 1, Data: []byte("some data")}}
	if !reflect.DeepEqual(rd.CommittedEntries, want) {
		t.Fatalf("committed %v, want %v", rd.CommittedEntries, want)
	}
	n.Propose([]byte("more"))
	for _, m := range readMessages(n) {
		if m.Type != MsgApp || m.Commit != li+1 {
			t.Fatalf("message %v does not carry commit %d", m, li+1)
		}
	}
}

// Section 5.3: an entry is committed once the leader replicated it on a majority.
func TestLeaderAcknowledgeCommit(t *testing.T) {
	tests := []struct {
		size      int
		acceptors map[int]bool
		wantAck   bool
	}{
		{1, nil, true},
		{3, nil, false},
		{3, map[int]bool{2: true}, true},
		{3, map[int]bool{2: true, 3: true}, true},
		{5, nil, false},
		{5, map[int]bool{2: true}, false},
		{5, map[int]bool{2: true, 3: true}, true},
		{5, map[int]bool{2: true, 3: true, 4: true}, true},
		{5, map[int]bool{2: true, 3: true, 4: true, 5: true}, true},
	}
	for i, tt := range tests {
		n := newTestNode(1, tt.size)
		makeLeader(n)
		commitNoop(n)
		li := n.log.lastIndex()
		n.Propose([]byte("some data"))
		for _, m := range readMessages(n) {
			if tt.acceptors[m.To] {
				n.Step(acceptAndReply(m))
			}
		}
		if got := n.commit > li; got != tt.wantAck {
			t.Errorf("#%d: committed %v, want %v", i, got, tt.wantAck)
		}
	}
}

// Section 5.3: committing an entry commits all preceding entries, including those of
// earlier leaders.
func TestLeaderCommitPrecedingEntries(t *testing.T) {
	for i, terms := range [][]uint64{{}, {2}, {1, 1}, {1, 2}} {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(terms...)})
		n.becomeCandidate() // term 3
		n.becomeLeader()
		n.Propose([]byte("some data"))
		var gotIdx []uint64
		for range 3 {
			rd := takeReady(n)
			for _, e := range rd.CommittedEntries {
				gotIdx = append(gotIdx, e.Index)
			}
			for _, m := range rd.Messages {
				// Followers already hold the old entries: acknowledge whatever is sent.
				if m.Type == MsgApp {
					n.Step(acceptAndReply(m))
				}
			}
		}
		li := uint64(len(terms))
		want := []uint64{}
		for j := uint64(1); j <= li+2; j++ {
			want = append(want, j)
		}
		if !slices.Equal(gotIdx, want) {
			t.Errorf("#%d: committed %v, want %v", i, gotIdx, want)
		}
	}
}

// Section 5.3: a follower applies entries once it learns they are committed, up to the last
// new entry.
func TestFollowerCommitEntry(t *testing.T) {
	tests := []struct {
		ents   []Entry
		commit uint64
	}{
		{entsWithTerms(1), 1},
		{entsWithTerms(1, 1), 2},
		{entsWithTerms(1, 1), 1},
	}
	for i, tt := range tests {
		n := newTestNode(1, 3)
		n.becomeFollower(1, 2)
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: tt.ents, Commit: tt.commit})
		if n.commit != tt.commit {
			t.Errorf("#%d: commit %d, want %d", i, n.commit, tt.commit)
		}
		rd := takeReady(n)
		if !reflect.DeepEqual(rd.CommittedEntries, tt.ents[:tt.commit]) {
			t.Errorf("#%d: committed %v, want %v", i, rd.CommittedEntries, tt.ents[:tt.commit])
		}
		if !reflect.DeepEqual(rd.Entries, tt.ents) || !rd.MustSync {
			t.Errorf("#%d: entries %v (sync %v) not persisted", i, rd.Entries, rd.MustSync)
		}
	}
}

// Section 5.3: a follower refuses AppendEntries whose prevLogIndex/prevLogTerm it does not
// hold, with the fast backtracking hint.
func TestFollowerCheckMsgApp(t *testing.T) {
	tests := []struct {
		term, index        uint64
		wantReject         bool
		wantIndex          uint64
		wantCT, wantCIndex uint64
	}{
		{0, 0, false, 0, 0, 0}, // match with the empty prefix
		{1, 1, false, 1, 0, 0}, // match with the committed entry
		{2, 2, false, 2, 0, 0}, // match with the uncommitted entry
		{3, 2, true, 2, 2, 2},  // term mismatch at 2: conflicting term 2 starts at 2
		{3, 3, true, 3, 0, 3},  // log too short: its length + 1
	}
	for i, tt := range tests {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None, Commit: 1}, Entries: entsWithTerms(1, 2)})
		n.becomeFollower(2, 2)
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 2, LogTerm: tt.term, Index: tt.index, Commit: 1})
		want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 2, Index: tt.wantIndex, Reject: tt.wantReject,
			ConflictTerm: tt.wantCT, ConflictIndex: tt.wantCIndex}}
		if got := readMessages(n); !reflect.DeepEqual(got, want) {
			t.Errorf("#%d: %v, want %v", i, got, want)
		}
	}
}

// Section 5.3: a follower deletes an existing entry only when it conflicts with a new one
// (same index, different term), with all that follow, and appends entries not yet in its
// log.
func TestFollowerAppendEntries(t *testing.T) {
	tests := []struct {
		index, term uint64
		ents        []Entry
		wantTerms   []uint64
		wantUnstab  []Entry
	}{
		{2, 2, []Entry{{Term: 3, Index: 3}}, []uint64{1, 2, 3}, []Entry{{Term: 3, Index: 3}}},
		{1, 1, []Entry{{Term: 3, Index: 2}, {Term: 4, Index: 3}}, []uint64{1, 3, 4}, []Entry{{Term: 3, Index: 2}, {Term: 4, Index: 3}}},
		{0, 0, []Entry{{Term: 1, Index: 1}}, []uint64{1, 2}, nil},
		{0, 0, []Entry{{Term: 3, Index: 1}}, []uint64{3}, []Entry{{Term: 3, Index: 1}}},
	}
	for i, tt := range tests {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None},
			Entries: []Entry{{Term: 1, Index: 1}, {Term: 2, Index: 2}}})
		n.becomeFollower(2, 2)
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 2, LogTerm: tt.term, Index: tt.index, Entries: tt.ents})
		if got := logTerms(n); !slices.Equal(got, tt.wantTerms) {
			t.Errorf("#%d: log terms %v, want %v", i, got, tt.wantTerms)
		}
		rd := takeReady(n)
		if !reflect.DeepEqual(rd.Entries, tt.wantUnstab) {
			t.Errorf("#%d: Ready entries %v, want %v", i, rd.Entries, tt.wantUnstab)
		}
		if rd.MustSync != (len(tt.wantUnstab) > 0) {
			t.Errorf("#%d: MustSync %v", i, rd.MustSync)
		}
	}
}

// Figure 7: whatever the follower's log (missing, extra or conflicting entries), the
// leader brings it into agreement with its own.
func TestLeaderSyncFollowerLog(t *testing.T) {
	leaderTerms := []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}
	followers := [][]uint64{
		{1, 1, 1, 4, 4, 5, 5, 6, 6},             // (a) missing one
		{1, 1, 1, 4},                            // (b) missing many
		{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},       // (c) one extra of term 6
		{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},    // (d) extra of term 7
		{1, 1, 1, 4, 4, 4, 4},                   // (e) conflicting term 4 tail
		{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},       // (f) terms 2 and 3 never committed
		{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3},    // longer (f)
		{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6, 6},    // extra of the leader's term
		{1, 1, 1, 4, 4, 5, 5, 5, 5, 5, 5, 5},    // conflicting within
		{1, 1, 1, 4, 4, 5, 5, 6, 7, 7, 7, 7},    // conflicting late
		{1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2},    // long conflicting of an old term
		{},                                      // empty
		{1, 1, 1, 4, 4, 5, 5, 6, 6, 6},          // identical
		{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6, 6, 6}, // extra
	}
	for i, fTerms := range followers {
		c := newCluster(t, 3)
		c.load(1, Persisted{HardState: HardState{Term: 7, Vote: None}, Entries: entsWithTerms(leaderTerms...)})
		// Node 3 votes for the leader; node 2 holds the follower log under test.
		c.load(2, Persisted{HardState: HardState{Term: 7, Vote: None}, Entries: entsWithTerms(fTerms...)})
		c.load(3, Persisted{HardState: HardState{Term: 7, Vote: None}})
		c.campaign(1)
		c.flush()
		if c.leader() != 1 {
			t.Fatalf("#%d: node 1 did not win", i)
		}
		c.propose(1, "x")
		c.flush()
		l, f := c.node(1), c.node(2)
		if !reflect.DeepEqual(f.log.entries, l.log.entries) {
			t.Errorf("#%d: follower log %v, leader log %v", i, logTerms(f), logTerms(l))
		}
	}
}

// Section 5.4.1: vote requests carry the candidate's last log term and index.
func TestVoteRequest(t *testing.T) {
	for i, ents := range [][]Entry{entsWithTerms(1), entsWithTerms(1, 2)} {
		n := newTestNode(1, 3)
		n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: ents[len(ents)-1].Term, Entries: ents})
		takeReady(n)
		for range 2 * n.cfg.ElectionTicks {
			n.Tick()
		}
		want := Message{Type: MsgVote, From: 1, Term: n.term, LogTerm: ents[len(ents)-1].Term, Index: uint64(len(ents))}
		msgs := sortMessages(readMessages(n))
		if len(msgs) != 2 {
			t.Fatalf("#%d: %v", i, msgs)
		}
		for j, m := range msgs {
			want.To = j + 2
			if !reflect.DeepEqual(m, want) {
				t.Errorf("#%d: %v, want %v", i, m, want)
			}
		}
	}
}

// Section 5.4.1: a voter denies its vote if its own log is more up-to-date than the
// candidate's: compare last terms, then last indices.
func TestVoter(t *testing.T) {
	tests := []struct {
		ents       []Entry
		logTerm    uint64
		index      uint64
		wantReject bool
	}{
		{entsWithTerms(1), 1, 1, false},    // same
		{entsWithTerms(1), 1, 2, false},    // same term, longer
		{entsWithTerms(1, 1), 1, 1, true},  // same term, shorter
		{entsWithTerms(1), 2, 1, false},    // later term
		{entsWithTerms(1), 2, 2, false},    // later term, longer
		{entsWithTerms(1, 1), 2, 1, false}, // later term, shorter
		{entsWithTerms(2), 1, 1, true},     // earlier term
		{entsWithTerms(2), 1, 2, true},     // earlier term, longer
		{entsWithTerms(2, 1), 1, 1, true},  // earlier last term
	}
	for i, tt := range tests {
		if i == len(tests)-1 {
			continue // {2,1} is not a valid log (terms decrease)
		}
		n := newTestNodeFrom(1, 2, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: tt.ents})
		n.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 3, LogTerm: tt.logTerm, Index: tt.index})
		msgs := readMessages(n)
		if len(msgs) != 1 || msgs[0].Type != MsgVoteResp || msgs[0].Reject != tt.wantReject {
			t.Errorf("#%d: %v, want reject=%v", i, msgs, tt.wantReject)
		}
		if wantVote := map[bool]int{false: 2, true: None}[tt.wantReject]; n.vote != wantVote {
			t.Errorf("#%d: vote %d, want %d", i, n.vote, wantVote)
		}
	}
}

// Section 5.4.2 / Figure 8: a leader commits by counting replicas only entries of its own
// term.
func TestLeaderOnlyCommitsLogFromCurrentTerm(t *testing.T) {
	tests := []struct {
		index      uint64
		wantCommit uint64
	}{
		{1, 0}, // an entry of term 1 on a majority: not committed by counting
		{2, 0}, // term 2 likewise
		{3, 3}, // the leader's own no-op (term 3): commits it and everything before
	}
	for i, tt := range tests {
		n := newTestNodeFrom(1, 2, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 2)})
		n.becomeCandidate() // term 3
		n.becomeLeader()    // appends the no-op at index 3
		takeReady(n)
		n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: tt.index})
		if n.commit != tt.wantCommit {
			t.Errorf("#%d: commit %d, want %d", i, n.commit, tt.wantCommit)
		}
	}
}

// Figure 8 as a scenario. S1 and S2 hold [1 2] (index 2 of term 2, never committed), S3 and
// S4 hold [1], S5 holds [1 3]. S1 becomes leader of term 4 with S2 and S3 and replicates
// index 2 to S3, but its term-4 no-op reaches nobody. Index 2 is now on a majority, yet S1
// must not count it as committed: S1 crashes, S5 wins term 5 (its last term 3 beats 2) and
// overwrites index 2 everywhere. Returns S1's commit index before the crash.
func runFigure8(t *testing.T, c *cluster) uint64 {
	t.Helper()
	mk := func(id int, terms ...uint64) {
		c.load(id, Persisted{HardState: HardState{Term: 3, Vote: None}, Entries: entsWithTerms(terms...)})
	}
	mk(1, 1, 2)
	mk(2, 1, 2)
	mk(3, 1)
	mk(4, 1)
	mk(5, 1, 3)
	c.isolate(4)
	c.isolate(5)
	c.campaign(1)
	for steps := 0; len(c.inflight) > 0; steps++ {
		if steps > 1000 {
			t.Fatalf("no quiescence")
		}
		// The network loses the term-4 no-op: strip it from every MsgApp.
		if m, _ := Unmarshal(c.inflight[0].data); m.Type == MsgApp {
			m.Entries = slices.DeleteFunc(m.Entries, func(e Entry) bool { return e.Term == 4 })
			c.inflight[0].data = m.Marshal()
		}
		c.deliver(0)
	}
	l := c.node(1)
	if l.role != Leader || l.term != 4 {
		t.Fatalf("S1 is %v of term %d, want leader of term 4", l.role, l.term)
	}
	if got, _ := c.node(3).Term(2); got != 2 {
		t.Fatalf("S3 index 2 has term %d, want 2 (replicated by S1)", got)
	}
	commitBeforeCrash := l.commit
	c.crash(1)
	c.heal()
	for range 3 {
		if c.leader() == 5 {
			break
		}
		c.campaign(5)
		c.flush()
	}
	if c.leader() != 5 {
		t.Fatalf("S5 did not win")
	}
	c.propose(5, "five")
	c.flush()
	return commitBeforeCrash
}

func TestFigure8(t *testing.T) {
	c := newCluster(t, 5)
	if commit := runFigure8(t, c); commit >= 2 {
		t.Fatalf("S1 committed index 2 (term 2) by counting replicas: commit %d", commit)
	}
	for _, id := range []int{2, 3, 4} {
		if term, _ := c.node(id).Term(2); term != 3 {
			t.Errorf("S%d index 2 has term %d, want S5's term 3", id, term)
		}
	}

	// Figure 8 (e): had S1 replicated an entry of its own term to a majority, that entry
	// and index 2 before it are committed, and S5 can no longer win.
	c = newCluster(t, 5)
	for i, terms := range [][]uint64{{1, 2}, {1, 2}, {1}, {1}, {1, 3}} {
		c.load(i+1, Persisted{HardState: HardState{Term: 3, Vote: None}, Entries: entsWithTerms(terms...)})
	}
	c.isolate(4)
	c.isolate(5)
	c.campaign(1)
	c.flush()
	if l := c.node(1); l.role != Leader || l.commit != 3 {
		t.Fatalf("S1 %v commit %d, want leader with commit 3", l.role, l.commit)
	}
	c.crash(1)
	c.heal()
	for range 3 {
		c.campaign(5)
		c.flush()
		if c.leader() == 5 {
			t.Fatalf("S5 won although a majority holds entries it lacks")
		}
	}
}

// Section 5.3: log matching: if two logs contain an entry with the same index and term, the
// logs are identical up to it. A leader elected over a cluster of divergent logs makes all
// of them equal to its own, regardless of which node wins.
func TestLogMatchingAfterElections(t *testing.T) {
	for seed := range 20 {
		c := newCluster(t, 5)
		rng := newRand(int64(seed))
		for round := range 6 {
			id := 1 + rng.Intn(5)
			for _, p := range c.peers {
				if rng.Intn(3) == 0 && p.id != id {
					c.isolate(p.id)
				}
			}
			c.campaign(id)
			c.flush()
			if l := c.leader(); l != 0 {
				for k := range 1 + rng.Intn(3) {
					c.propose(l, fmt.Sprintf("r%d-%d", round, k))
				}
				c.flush()
			}
			c.heal()
		}
		if !c.converge(300) {
			t.Fatalf("seed %d: no convergence", seed)
		}
		for _, p := range c.peers[1:] {
			if !reflect.DeepEqual(p.node.log.entries, c.peers[0].node.log.entries) {
				for _, q := range c.peers {
					t.Logf("%+v %v", q.node.Status(), logTerms(q.node))
				}
				t.Fatalf("seed %d: logs differ: %v vs %v", seed, logTerms(p.node), logTerms(c.peers[0].node))
			}
		}
	}
}
