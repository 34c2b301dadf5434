package raft

import (
	"reflect"
	"testing"
)

// Election rules beyond the paper's core: votedFor persistence within a term, pre-vote and
// check-quorum.

// Figure 2: votedFor resets only when the term increases, never on a step-down.
func TestVoteResetsOnlyWhenTermIncreases(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 5, Vote: None}})
	n.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 5})
	if n.vote != 2 {
		t.Fatalf("vote %d, want 2", n.vote)
	}
	// A leader of term 5 appears: still voted for 2 in term 5.
	n.Step(Message{Type: MsgApp, From: 3, To: 1, Term: 5})
	if n.vote != 2 || n.lead != 3 {
		t.Fatalf("vote %d lead %d after MsgApp of the same term", n.vote, n.lead)
	}
	takeReady(n)
	n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 5})
	if msgs := readMessages(n); len(msgs) != 1 || !msgs[0].Reject {
		t.Fatalf("second vote in term 5 granted: %v", msgs)
	}
	// A newer term frees the vote.
	n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 6})
	if n.vote != 3 || n.term != 6 {
		t.Fatalf("term %d vote %d, want 6 and 3", n.term, n.vote)
	}
}

// A candidate rejected by a majority steps down to follower of the same term and keeps its
// own vote, so it cannot vote for another candidate of that term.
func TestRejectedCandidateKeepsVote(t *testing.T) {
	n := newTestNode(1, 3)
	n.campaign()
	n.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Reject: true})
	n.Step(Message{Type: MsgVoteResp, From: 3, To: 1, Term: 1, Reject: true})
	if n.role != Follower || n.term != 1 || n.vote != 1 {
		t.Fatalf("role %v term %d vote %d, want follower of term 1 voted for itself", n.role, n.term, n.vote)
	}
	takeReady(n)
	n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 1})
	if msgs := readMessages(n); len(msgs) != 1 || !msgs[0].Reject {
		t.Fatalf("voted twice in term 1: %v", msgs)
	}
}

// Pre-vote: an election timeout starts a pre-election that asks for term+1 without
// changing the term or the vote.
func TestPreVoteDoesNotChangeTerm(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 3, Vote: 2}, Entries: entsWithTerms(1, 3)}, withPreVoteCheckQuorum)
	for range 2 * n.cfg.ElectionTicks {
		n.Tick()
	}
	if n.role != PreCandidate || n.term != 3 || n.vote != 2 {
		t.Fatalf("role %v term %d vote %d, want PreCandidate of term 3 keeping vote 2", n.role, n.term, n.vote)
	}
	rd := takeReady(n)
	if rd.HardStateChanged || rd.MustSync {
		t.Fatalf("pre-vote changed durable state: %+v", rd)
	}
	want := []Message{
		{Type: MsgPreVote, From: 1, To: 2, Term: 4, LogTerm: 3, Index: 2},
		{Type: MsgPreVote, From: 1, To: 3, Term: 4, LogTerm: 3, Index: 2},
	}
	if got := sortMessages(rd.Messages); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
	// Left alone it keeps pre-voting in the same term.
	for range 10 * n.cfg.ElectionTicks {
		n.Tick()
	}
	if n.term != 3 {
		t.Fatalf("term moved to %d while only pre-voting", n.term)
	}
}

// A pre-candidate granted by a majority becomes a candidate of term+1; rejected by a
// majority it returns to follower.
func TestPreVoteOutcome(t *testing.T) {
	n := newTestNode(1, 3, withPreVoteCheckQuorum)
	n.campaign()
	takeReady(n)
	n.Step(Message{Type: MsgPreVoteResp, From: 2, To: 1, Term: 1})
	if n.role != Candidate || n.term != 1 || n.vote != 1 {
		t.Fatalf("role %v term %d vote %d, want Candidate of term 1", n.role, n.term, n.vote)
	}
	msgs := sortMessages(readMessages(n))
	if len(msgs) != 2 || msgs[0].Type != MsgVote || msgs[0].Term != 1 {
		t.Fatalf("messages %v", msgs)
	}

	n = newTestNode(1, 3, withPreVoteCheckQuorum)
	n.campaign()
	n.Step(Message{Type: MsgPreVoteResp, From: 2, To: 1, Term: 0, Reject: true})
	n.Step(Message{Type: MsgPreVoteResp, From: 3, To: 1, Term: 0, Reject: true})
	if n.role != Follower || n.term != 0 {
		t.Fatalf("role %v term %d, want Follower of term 0", n.role, n.term)
	}
}

// A pre-vote is granted on the log check alone, records no vote and changes no term; a
// node that heard from a leader within the election timeout ignores it (check-quorum lease).
func TestPreVoteGrant(t *testing.T) {
	tests := []struct {
		name       string
		heardLead  bool
		logTerm    uint64
		index      uint64
		wantReply  bool
		wantReject bool
	}{
		{"up to date", false, 2, 2, true, false},
		{"stale log", false, 1, 5, true, true},
		{"in lease", true, 2, 2, false, false},
	}
	for _, tt := range tests {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: 2}, Entries: entsWithTerms(1, 2)}, withPreVoteCheckQuorum)
		if tt.heardLead {
			n.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 2})
		}
		takeReady(n)
		n.Step(Message{Type: MsgPreVote, From: 3, To: 1, Term: 3, LogTerm: tt.logTerm, Index: tt.index})
		msgs := readMessages(n)
		if n.term != 2 || n.vote != 2 {
			t.Errorf("%s: term %d vote %d changed by a pre-vote", tt.name, n.term, n.vote)
		}
		if !tt.wantReply {
			if len(msgs) != 0 {
				t.Errorf("%s: replied %v inside the lease", tt.name, msgs)
			}
			continue
		}
		if len(msgs) != 1 || msgs[0].Type != MsgPreVoteResp || msgs[0].Reject != tt.wantReject {
			t.Errorf("%s: %v, want reject=%v", tt.name, msgs, tt.wantReject)
		}
		if !tt.wantReject && msgs[0].Term != 3 {
			t.Errorf("%s: grant carries term %d, want 3", tt.name, msgs[0].Term)
		}
	}
}

// Check-quorum: a follower that heard from its leader within the election timeout ignores a
// RequestVote of a higher term entirely (no term change).
func TestLeaseIgnoresVote(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}}, withPreVoteCheckQuorum)
	n.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 2})
	takeReady(n)
	n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 3})
	if n.term != 2 || len(readMessages(n)) != 0 {
		t.Fatalf("vote request inside the lease was not ignored: term %d", n.term)
	}
	// Once the lease expired, the request is honoured.
	for range n.cfg.ElectionTicks {
		n.electionElapsedTicks++
	}
	n.Step(Message{Type: MsgVote, From: 3, To: 1, Term: 3})
	if n.term != 3 || n.vote != 3 {
		t.Fatalf("term %d vote %d after the lease, want 3 and 3", n.term, n.vote)
	}
}

// Check-quorum: a leader that has not heard from a quorum for an election timeout steps
// down; one that has, stays.
func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	for _, heard := range []bool{false, true} {
		n := newTestNode(1, 3, withPreVoteCheckQuorum)
		makeLeader(n)
		for range 3 * n.cfg.ElectionTicks {
			n.Tick()
			if heard {
				n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: n.term})
			}
			takeReady(n)
		}
		if wantLeader := heard; (n.role == Leader) != wantLeader {
			t.Fatalf("heard=%v: role %v", heard, n.role)
		}
		if !heard && (n.term != 1 || n.vote != 1 || n.lead != None) {
			t.Fatalf("step-down changed term %d vote %d lead %d", n.term, n.vote, n.lead)
		}
	}
}

// With pre-vote and check-quorum, a node partitioned away does not raise its term, so
// healing the partition leaves the leader in place. Without them, it does disrupt.
func TestPartitionedNodeDoesNotDisruptLeader(t *testing.T) {
	for _, protective := range []bool{true, false} {
		mods := []func(*Config){}
		if protective {
			mods = append(mods, withPreVoteCheckQuorum)
		}
		c := newCluster(t, 3, mods...)
		if !c.converge(100) {
			t.Fatalf("no leader")
		}
		leader, term := c.leader(), c.node(c.leader()).term
		other := 1 + leader%3
		c.isolate(other)
		for range 4 * c.peers[0].cfg.ElectionTicks {
			for i := range 3 {
				c.tick(i + 1)
			}
			c.flush()
		}
		c.heal()
		if !c.converge(100) {
			t.Fatalf("no convergence after healing")
		}
		disrupted := c.leader() != leader || c.node(c.leader()).term != term
		if protective && disrupted {
			t.Fatalf("pre-vote/check-quorum: leader %d term %d became leader %d term %d",
				leader, term, c.leader(), c.node(c.leader()).term)
		}
		if !protective && !disrupted {
			t.Fatalf("without pre-vote the partitioned node was expected to raise the term")
		}
	}
}

// A leader cut off from the others steps down (check-quorum), the majority elects a new
// leader, and after healing the old one follows it.
func TestIsolatedLeaderIsReplaced(t *testing.T) {
	c := newCluster(t, 5, withPreVoteCheckQuorum)
	if !c.converge(100) {
		t.Fatalf("no leader")
	}
	old := c.leader()
	c.isolate(old)
	for range 40 {
		for i := range 5 {
			c.tick(i + 1)
		}
		c.flush()
	}
	if c.node(old).role == Leader {
		t.Fatalf("isolated leader %d did not step down", old)
	}
	if l := c.leader(); l == 0 || l == old {
		t.Fatalf("no new leader among the majority")
	}
	c.heal()
	if !c.converge(100) {
		t.Fatalf("no convergence after healing")
	}
	if c.leader() == old {
		t.Fatalf("old leader came back as leader without an election")
	}
}

// Elections converge from a fresh cluster over many seeds.
func TestElectionConverges(t *testing.T) {
	for seed := int64(0); seed < 30; seed++ {
		for _, size := range []int{1, 3, 5} {
			c := newCluster(t, size, withPreVoteCheckQuorum, func(cfg *Config) { cfg.Rand = newRand(seed*10 + int64(cfg.ID)) })
			if !c.converge(200) {
				t.Fatalf("seed %d size %d: no leader after 200 rounds", seed, size)
			}
		}
	}
}
