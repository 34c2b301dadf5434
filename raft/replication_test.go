package raft

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// Replication details: stale and reordered replies, fast backtracking, flow control.

// leaderWithLog returns node 1 as leader of a 3-node cluster whose log has the given terms
// followed by its no-op, with the Ready drained.
func leaderWithLog(terms ...uint64) *Node {
	last := uint64(1)
	if len(terms) > 0 {
		last = terms[len(terms)-1]
	}
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: last, Vote: None}, Entries: entsWithTerms(terms...)})
	makeLeader(n)
	return n
}

// matchIndex is set from the acknowledged request and never decreases; a delayed older
// acknowledgement changes nothing.
func TestStaleAppRespIgnored(t *testing.T) {
	n := leaderWithLog()
	for range 4 {
		n.Propose([]byte("x"))
	}
	takeReady(n)
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: 5})
	if pr := n.progress[1]; pr.match != 5 || pr.state != progressReplicate {
		t.Fatalf("match %d state %d after ack of 5", pr.match, pr.state)
	}
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: 3})
	if pr := n.progress[1]; pr.match != 5 {
		t.Fatalf("match went back to %d", pr.match)
	}
	// A delayed rejection of an index at or below match is stale too.
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: 2, Reject: true, ConflictIndex: 1})
	if pr := n.progress[1]; pr.match != 5 || pr.state != progressReplicate || pr.next != 6 {
		t.Fatalf("stale reject changed progress: %+v", pr)
	}
	// A reply of an earlier term is dropped before it reaches the progress.
	n.Step(Message{Type: MsgAppResp, From: 3, To: 1, Term: n.term - 1, Index: 5})
	if pr := n.progress[2]; pr.match != 0 {
		t.Fatalf("reply of an old term counted: match %d", pr.match)
	}
}

// A follower never truncates matching entries: a reordered or duplicated older
// AppendEntries leaves the log alone and is acknowledged up to its own last entry.
func TestReorderedAppendDoesNotTruncate(t *testing.T) {
	n := newTestNode(1, 3)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1, 1, 1)})
	takeReady(n)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 1, Entries: entsWithTerms(1)})
	if n.log.lastIndex() != 3 {
		t.Fatalf("log truncated to %d", n.log.lastIndex())
	}
	rd := takeReady(n)
	if len(rd.Entries) != 0 || rd.MustSync {
		t.Fatalf("no-op append reported changes: %+v", rd)
	}
	want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 1, Index: 1}}
	if !reflect.DeepEqual(rd.Messages, want) {
		t.Fatalf("reply %v, want %v", rd.Messages, want)
	}
}

// Figure 2, AppendEntries 5: commitIndex = min(leaderCommit, index of last new entry): a
// stale uncommitted tail beyond what the leader vouched for is not committed.
func TestFollowerCommitIsMinOfLastNewEntry(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None}, Entries: entsWithTerms(1, 1, 2, 2)})
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, LogTerm: 1, Index: 2, Commit: 4})
	if n.commit != 2 {
		t.Fatalf("commit %d, want 2", n.commit)
	}
	// A heartbeat vouches for the follower's log up to its match index (Index) only.
	n.Step(Message{Type: MsgHeartbeat, From: 2, To: 1, Term: 3, Index: 3, Commit: 4})
	if n.commit != 3 {
		t.Fatalf("commit %d after heartbeat, want 3", n.commit)
	}
}

// The follower's hint lets the leader skip a whole conflicting term per round trip.
func TestFollowerConflictHint(t *testing.T) {
	n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 3, Vote: None, Commit: 1}, Entries: entsWithTerms(1, 1, 2, 2, 2)})
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, LogTerm: 3, Index: 5})
	want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 3, Index: 5, Reject: true, ConflictTerm: 2, ConflictIndex: 3}}
	if got := readMessages(n); !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

// The leader uses the hint: with entries of the conflicting term it retries after its last
// one; without, at the follower's first index of that term; with a short log, at its end.
func TestLeaderFastBacktracking(t *testing.T) {
	leaderTerms := []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6} // plus the no-op of term 7 at 11
	tests := []struct {
		name       string
		rejectedAt uint64
		ct, ci     uint64
		wantNext   uint64
	}{
		{"short log", 11, 0, 4, 4},
		{"leader has term 5", 11, 5, 6, 8},
		{"leader lacks term 3", 11, 3, 5, 5},
		{"leader has term 1", 11, 1, 2, 4},
		{"hint beyond rejected index", 4, 0, 9, 4},
	}
	for _, tt := range tests {
		n := leaderWithLog(leaderTerms...)
		pr := &n.progress[1]
		pr.becomeProbe(tt.rejectedAt + 1)
		n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: tt.rejectedAt, Reject: true,
			ConflictTerm: tt.ct, ConflictIndex: tt.ci})
		if pr.next != tt.wantNext {
			t.Errorf("%s: next %d, want %d", tt.name, pr.next, tt.wantNext)
		}
		msgs := readMessages(n)
		if len(msgs) != 1 || msgs[0].Type != MsgApp || msgs[0].Index != tt.wantNext-1 {
			t.Errorf("%s: probe %v, want MsgApp with prevLogIndex %d", tt.name, msgs, tt.wantNext-1)
		}
		// A rejection that is not for the current probe is stale and ignored.
		n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: tt.rejectedAt + 5, Reject: true})
		if pr.next != tt.wantNext {
			t.Errorf("%s: stale rejection moved next to %d", tt.name, pr.next)
		}
	}
}

// A probing leader sends one MsgApp and waits; a heartbeat reply lets it retry.
func TestProbeSendsOneAtATime(t *testing.T) {
	n := leaderWithLog()
	takeReady(n)
	for range 3 {
		n.Propose([]byte("x"))
	}
	if msgs := readMessages(n); len(msgs) != 0 {
		t.Fatalf("probing leader sent %v before the first probe was answered", msgs)
	}
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: n.term})
	msgs := readMessages(n)
	if len(msgs) != 1 || msgs[0].To != 2 || msgs[0].Index != 0 || len(msgs[0].Entries) != 4 {
		t.Fatalf("retry after heartbeat reply: %v", msgs)
	}
}

// In replicate state the leader streams at most MaxInflightMsgs MsgApp of at most
// MaxEntriesPerMsg entries each; acknowledgements open the window again.
func TestFlowControl(t *testing.T) {
	n := newTestNode(1, 2, func(c *Config) { c.MaxInflightMsgs = 3; c.MaxEntriesPerMsg = 2 })
	makeLeader(n)
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Index: 1}) // -> replicate
	takeReady(n)
	for range 20 {
		n.Propose([]byte("x"))
	}
	msgs := readMessages(n)
	if len(msgs) != 3 {
		t.Fatalf("sent %d MsgApp with a window of 3: %v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if len(m.Entries) > 2 {
			t.Fatalf("%d entries in one MsgApp, limit 2", len(m.Entries))
		}
	}
	// Nothing more until an acknowledgement frees the window.
	n.Propose([]byte("y"))
	if extra := readMessages(n); len(extra) != 0 {
		t.Fatalf("sent %v with a full window", extra)
	}
	n.Step(acceptAndReply(msgs[0]))
	if more := readMessages(n); len(more) != 1 {
		t.Fatalf("one acknowledgement should free one slot, sent %d", len(more))
	}
	// A heartbeat reply with the window full frees the oldest slot (presumed lost).
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: n.term})
	if more := readMessages(n); len(more) != 1 {
		t.Fatalf("heartbeat reply with a full window should resend one, sent %d", len(more))
	}
}

// The leader refuses proposals beyond MaxUncommittedEntries and counts them.
func TestMaxUncommittedEntries(t *testing.T) {
	n := newTestNode(1, 3, func(c *Config) { c.MaxUncommittedEntries = 5 })
	makeLeader(n) // the no-op is uncommitted too
	accepted := 0
	for range 10 {
		if _, _, ok := n.Propose([]byte("x")); ok {
			accepted++
		}
	}
	if accepted != 4 || n.Status().ProposalsDropped != 6 {
		t.Fatalf("accepted %d dropped %d, want 4 and 6", accepted, n.Status().ProposalsDropped)
	}
	if _, _, ok := newTestNode(2, 3).Propose([]byte("x")); ok {
		t.Fatalf("follower accepted a proposal")
	}
}

// A leader that receives AppendEntries of its own term (possible only with two leaders in
// a term) never lets it touch its log.
func TestLeaderIgnoresAppendOfItsTerm(t *testing.T) {
	n := leaderWithLog(1, 1)
	before := slices.Clone(n.log.entries)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: n.term, Index: 1, LogTerm: 1,
		Entries: []Entry{{Term: n.term, Index: 2}}, Commit: 2})
	if !reflect.DeepEqual(n.log.entries, before) || n.role != Leader {
		t.Fatalf("leader log changed: %v", logTerms(n))
	}
}

// Replication converges under message loss, duplication and reordering, and catches up a
// follower that was down.
func TestReplicationWithLossyNetwork(t *testing.T) {
	for seed := int64(0); seed < 10; seed++ {
		c := newCluster(t, 5, withPreVoteCheckQuorum, func(cfg *Config) { cfg.Rand = newRand(seed*10 + int64(cfg.ID)) })
		rng := newRand(seed)
		c.crash(5)
		for i := range 400 {
			switch r := rng.Intn(10); {
			case r < 3:
				c.tick(1 + rng.Intn(5))
			case r < 5:
				if l := c.leader(); l != 0 {
					c.propose(l, fmt.Sprintf("v%d", i))
				}
			default:
				if len(c.inflight) > 0 {
					k := rng.Intn(len(c.inflight))
					switch rng.Intn(10) {
					case 0: // drop
						c.inflight = slices.Delete(c.inflight, k, k+1)
					case 1: // duplicate
						c.inflight = append(c.inflight, c.inflight[k])
						c.deliver(k)
					default:
						c.deliver(k)
					}
				}
			}
		}
		c.restart(5)
		if !c.converge(300) {
			t.Fatalf("seed %d: no convergence", seed)
		}
		if c.appliedCount == 0 {
			t.Fatalf("seed %d: nothing applied", seed)
		}
	}
}
