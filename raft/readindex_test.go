package raft

import (
	"reflect"
	"testing"
)

// ReadIndex (section 6.4 of Ongaro's thesis).

func TestReadIndexNonLeader(t *testing.T) {
	n := newTestNode(1, 3)
	if n.ReadIndex(1) {
		t.Fatalf("follower accepted ReadIndex")
	}
	n.becomeCandidate()
	if n.ReadIndex(1) {
		t.Fatalf("candidate accepted ReadIndex")
	}
}

// heartbeatsOf returns the heartbeats among msgs.
func heartbeatsOf(msgs []Message) []Message {
	var beats []Message
	for _, m := range msgs {
		if m.Type == MsgHeartbeat {
			beats = append(beats, m)
		}
	}
	return beats
}

// The read index is the commit index, known only once the leader committed an entry of
// its term; leadership is confirmed by a quorum acknowledging a heartbeat round sent after
// the read arrived.
func TestReadIndexWaitsForCurrentTermCommitAndQuorum(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	if !n.ReadIndex(7) {
		t.Fatalf("leader refused ReadIndex")
	}
	if beats := heartbeatsOf(readMessages(n)); len(beats) != 0 {
		t.Fatalf("round started before the no-op committed: %v", beats)
	}
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 1}) // no-op committed
	rd := takeReady(n)
	beats := heartbeatsOf(rd.Messages)
	if len(beats) != 2 || beats[0].Context == 0 || len(rd.ReadStates) != 0 {
		t.Fatalf("want a heartbeat round and no answer yet: %+v", rd)
	}
	round := beats[0].Context
	// An acknowledgement of an older round does not count.
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 1, Context: round - 1})
	if rd = takeReady(n); len(rd.ReadStates) != 0 {
		t.Fatalf("answered on an old round: %v", rd.ReadStates)
	}
	n.Step(Message{Type: MsgHeartbeatResp, From: 3, To: 1, Term: 1, Context: round})
	rd = takeReady(n)
	want := []ReadState{{Context: 7, Index: 1}}
	if !reflect.DeepEqual(rd.ReadStates, want) {
		t.Fatalf("read states %v, want %v", rd.ReadStates, want)
	}
}

// Reads issued in one batch share one heartbeat round; periodic heartbeats carry the latest
// round too, so a lost round is retried; answers come in order.
func TestReadIndexRounds(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 1})
	takeReady(n)
	n.ReadIndex(1)
	n.ReadIndex(2)
	beats := heartbeatsOf(readMessages(n))
	if len(beats) != 2 {
		t.Fatalf("two reads in one batch sent %d heartbeats, want one round (2)", len(beats))
	}
	n.ReadIndex(3) // a new round: the previous one already left
	beats2 := heartbeatsOf(readMessages(n))
	if len(beats2) != 2 || beats2[0].Context != beats[0].Context+1 {
		t.Fatalf("third read: %v", beats2)
	}
	// Round messages are lost; the periodic heartbeat carries the latest round.
	n.Tick()
	tick := heartbeatsOf(readMessages(n))
	if len(tick) != 2 || tick[0].Context != beats2[0].Context {
		t.Fatalf("periodic heartbeats %v do not carry round %d", tick, beats2[0].Context)
	}
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 1, Context: tick[0].Context})
	rd := takeReady(n)
	want := []ReadState{{1, 1}, {2, 1}, {3, 1}}
	if !reflect.DeepEqual(rd.ReadStates, want) {
		t.Fatalf("read states %v, want %v", rd.ReadStates, want)
	}
}

// A leader that loses leadership drops its pending reads; a single node answers at once.
func TestReadIndexStepDownAndSingleNode(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 1})
	n.ReadIndex(1)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 2})
	n.Step(Message{Type: MsgHeartbeatResp, From: 3, To: 1, Term: 2, Context: 1})
	if rd := takeReady(n); len(rd.ReadStates) != 0 {
		t.Fatalf("deposed leader answered a read: %v", rd.ReadStates)
	}

	s := newTestNode(1, 1)
	makeLeader(s)
	if !s.ReadIndex(9) {
		t.Fatalf("single node refused")
	}
	if rd := takeReady(s); !reflect.DeepEqual(rd.ReadStates, []ReadState{{9, 1}}) {
		t.Fatalf("single node read states %v", rd.ReadStates)
	}
}

// A leader partitioned into a minority never answers a read, while the majority commits
// new writes (the stale-read scenario of read-local).
func TestReadIndexPartitionedLeader(t *testing.T) {
	c := newCluster(t, 5, withPreVoteCheckQuorum)
	if !c.converge(100) {
		t.Fatalf("no leader")
	}
	old := c.leader()
	c.isolate(old)
	c.readIndex(old)
	for range 30 {
		for id := 1; id <= 5; id++ {
			c.tick(id)
		}
		c.flush()
		if l := c.leader(); l != 0 && l != old {
			c.propose(l, "w")
			c.readIndex(l)
		}
	}
	if n := len(c.peer(old).readStates); n != 0 {
		t.Fatalf("partitioned leader answered %d reads", n)
	}
	if c.readsAnswered == 0 {
		t.Fatalf("the majority's leader answered no reads")
	}
}

// A follower's read goes to its leader (MsgReadIndex), which confirms its leadership with a
// heartbeat round like its own reads and answers with the read index (MsgReadIndexResp); the
// follower hands it out in ReadStates. Section 6.4 of Ongaro's thesis.
func TestFollowerReadIndex(t *testing.T) {
	leader := newTestNode(1, 3)
	makeLeader(leader)
	leader.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 1}) // no-op committed
	takeReady(leader)

	f := newTestNode(2, 3)
	f.Step(Message{Type: MsgHeartbeat, From: 1, To: 2, Term: 1})
	takeReady(f)
	if !f.ReadIndex(9) {
		t.Fatal("a follower that knows its leader refused ReadIndex")
	}
	var ask []Message
	for _, m := range readMessages(f) {
		if m.Type == MsgReadIndex {
			ask = append(ask, m)
		}
	}
	if len(ask) != 1 || ask[0].To != 1 || ask[0].Context != 9 {
		t.Fatalf("follower sent %+v, want one MsgReadIndex to 1 for read 9", ask)
	}
	leader.Step(ask[0])
	rd := takeReady(leader)
	beats := heartbeatsOf(rd.Messages)
	if len(beats) != 2 || len(rd.ReadStates) != 0 {
		t.Fatalf("leader: want a heartbeat round and no local read state: %+v", rd)
	}
	leader.Step(Message{Type: MsgHeartbeatResp, From: 3, To: 1, Term: 1, Context: beats[0].Context})
	rd = takeReady(leader)
	var answer []Message
	for _, m := range rd.Messages {
		if m.Type == MsgReadIndexResp {
			answer = append(answer, m)
		}
	}
	if len(rd.ReadStates) != 0 || len(answer) != 1 || answer[0].To != 2 || answer[0].Context != 9 || answer[0].Index != 1 {
		t.Fatalf("leader answered %+v (local read states %v), want MsgReadIndexResp to 2 for read 9 at index 1", answer, rd.ReadStates)
	}
	f.Step(answer[0])
	rd = takeReady(f)
	if want := []ReadState{{Context: 9, Index: 1}}; !reflect.DeepEqual(rd.ReadStates, want) {
		t.Fatalf("follower read states %v, want %v", rd.ReadStates, want)
	}
	// A stale leader's answer (an older term) is ignored.
	f.Step(Message{Type: MsgReadIndexResp, From: 1, To: 2, Term: 0, Context: 10, Index: 1})
	if rd = takeReady(f); len(rd.ReadStates) != 0 {
		t.Fatalf("follower took an answer of an older term: %v", rd.ReadStates)
	}
}
