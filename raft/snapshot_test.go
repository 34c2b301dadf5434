package raft

import (
	"fmt"
	"reflect"
	"testing"
)

// Compaction and InstallSnapshot (Figure 13).

// followerWithCommitted returns a follower holding entries with the given terms, all
// committed and applied.
func followerWithCommitted(terms ...uint64) *Node {
	n := newTestNode(1, 3)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: terms[len(terms)-1], Entries: entsWithTerms(terms...), Commit: uint64(len(terms))})
	takeReady(n)
	return n
}

// Compact discards the log up to the index, keeps the rest, and reports the snapshot (not
// to be installed) with the kept entries, so the host can rewrite its log.
func TestCompact(t *testing.T) {
	n := followerWithCommitted(1, 1, 2, 2, 3)
	n.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, Index: 5, LogTerm: 3, Entries: []Entry{{Term: 3, Index: 6}}, Commit: 5})
	takeReady(n)
	n.Compact(3, []byte("state@3"))
	st := n.Status()
	if st.SnapshotIndex != 3 || st.SnapshotTerm != 2 || st.FirstIndex != 4 || st.LastIndex != 6 || st.Commit != 5 {
		t.Fatalf("after Compact(3): %+v", st)
	}
	if _, ok := n.Term(2); ok {
		t.Fatalf("Term(2) still available after compaction")
	}
	if term, ok := n.Term(3); !ok || term != 2 {
		t.Fatalf("Term(3) = %d %v, want the snapshot term 2", term, ok)
	}
	rd := takeReady(n)
	if rd.Snapshot == nil || rd.InstallSnapshot || rd.Snapshot.Index != 3 || string(rd.Snapshot.Data) != "state@3" {
		t.Fatalf("Ready snapshot %+v install %v", rd.Snapshot, rd.InstallSnapshot)
	}
	if len(rd.Entries) != 3 || rd.Entries[0].Index != 4 || !rd.MustSync {
		t.Fatalf("Ready must carry the kept entries 4..6: %v", rd.Entries)
	}
	// Older or equal indices are ignored; beyond what was handed out for apply panics.
	n.Compact(2, nil)
	n.Compact(3, nil)
	if n.HasReady() {
		t.Fatalf("stale Compact produced work")
	}
	mustPanic(t, "beyond the last index handed out for apply", func() { n.Compact(6, nil) })
}

// Entry i sits at offset i-snapshotIndex-1, across compaction and restart.
func TestIndicesAcrossCompactionAndRestart(t *testing.T) {
	n := followerWithCommitted(1, 1, 2, 2, 3, 3, 3)
	n.Compact(4, []byte("s4"))
	rd := takeReady(n)
	r := New(testConfig(1, 3), Persisted{HardState: rd.HardState, Snapshot: *rd.Snapshot, Entries: rd.Entries})
	for _, node := range []*Node{n, r} {
		for i := uint64(5); i <= 7; i++ {
			if e := node.log.slice(i, i+1)[0]; e.Index != i || e.Term != 3 {
				t.Fatalf("entry %d stored as %+v", i, e)
			}
		}
		if term, _ := node.Term(4); term != 2 {
			t.Fatalf("snapshot term %d", term)
		}
	}
	// The restarted node continues the log where it was.
	r.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 3, Index: 7, LogTerm: 3, Entries: []Entry{{Term: 3, Index: 8}}, Commit: 8})
	if r.log.lastIndex() != 8 || r.commit != 8 {
		t.Fatalf("restarted node did not append after the snapshot: %+v", r.Status())
	}
	rd = takeReady(r)
	if len(rd.CommittedEntries) != 4 || rd.CommittedEntries[0].Index != 5 {
		t.Fatalf("restarted node applies %v, want 5..8", rd.CommittedEntries)
	}
}

// A leader sends its snapshot when a follower needs entries it has compacted, and resumes
// replication once the follower acknowledges it.
func TestLeaderSendsSnapshot(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	n.Step(Message{Type: MsgAppResp, From: 3, To: 1, Term: 1, Index: 1})
	for range 5 {
		n.Propose([]byte("x"))
	}
	for _, m := range readMessages(n) {
		if m.To == 3 {
			n.Step(acceptAndReply(m))
		}
	}
	takeReady(n)
	if n.commit != 6 || n.applied != 6 {
		t.Fatalf("commit %d applied %d, want 6", n.commit, n.applied)
	}
	n.Compact(4, []byte("s4"))
	takeReady(n)
	// Follower 2 is behind (probe at index 2): it needs the compacted entries.
	n.progress[1].becomeProbe(2)
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 1})
	msgs := readMessages(n)
	if len(msgs) != 1 || msgs[0].Type != MsgSnap || msgs[0].Snapshot == nil || msgs[0].Snapshot.Index != 4 ||
		string(msgs[0].Snapshot.Data) != "s4" {
		t.Fatalf("want MsgSnap of index 4, got %v", msgs)
	}
	if n.progress[1].state != progressSnapshot {
		t.Fatalf("progress state %d", n.progress[1].state)
	}
	// Nothing else is sent while the snapshot is in flight.
	n.Propose([]byte("y"))
	for _, m := range readMessages(n) {
		if m.To == 2 {
			t.Fatalf("sent %v to a follower receiving a snapshot", m)
		}
	}
	n.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Index: 4})
	if pr := n.progress[1]; pr.state != progressReplicate || pr.match != 4 {
		t.Fatalf("after snapshot ack: %+v", pr)
	}
	msgs = readMessages(n)
	if len(msgs) != 1 || msgs[0].Type != MsgApp || msgs[0].Index != 4 || len(msgs[0].Entries) != 3 {
		t.Fatalf("replication after snapshot: %v", msgs)
	}
}

// A snapshot lost on the way is sent again after an election timeout.
func TestSnapshotResentAfterTimeout(t *testing.T) {
	n := newTestNode(1, 3)
	makeLeader(n)
	n.Step(Message{Type: MsgAppResp, From: 3, To: 1, Term: 1, Index: 1})
	takeReady(n)
	n.Compact(1, []byte("s1"))
	n.Propose([]byte("x"))
	takeReady(n)
	n.progress[1].becomeProbe(1)
	n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 1})
	takeReady(n) // the MsgSnap is lost
	snaps := 0
	for range 2 * n.cfg.ElectionTicks {
		n.Tick()
		n.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: 1})
		for _, m := range readMessages(n) {
			if m.Type == MsgSnap {
				snaps++
			}
		}
	}
	if snaps < 1 || snaps > 2 {
		t.Fatalf("snapshot resent %d times in two election timeouts, want 1 or 2", snaps)
	}
}

// InstallSnapshot: a follower whose log conflicts with (or lacks) the snapshot's last entry
// discards its whole log; one that holds it keeps the entries after it (Figure 13).
func TestInstallSnapshot(t *testing.T) {
	tests := []struct {
		name      string
		terms     []uint64
		wantTerms []uint64
	}{
		{"short log", []uint64{1, 1}, nil},
		{"conflicting entry at the snapshot index", []uint64{1, 1, 1, 1, 1, 1}, nil},
		{"holds the entry: keep suffix", []uint64{1, 1, 2, 2, 2, 2}, []uint64{2, 2}},
	}
	for _, tt := range tests {
		n := newTestNodeFrom(1, 3, Persisted{HardState: HardState{Term: 2, Vote: None, Commit: 1}, Entries: entsWithTerms(tt.terms...)})
		takeReady(n)
		snap := &Snapshot{Index: 4, Term: 2, Data: []byte("s4")}
		n.Step(Message{Type: MsgSnap, From: 2, To: 1, Term: 3, Index: 4, LogTerm: 2, Snapshot: snap})
		if got := logTerms(n); !reflect.DeepEqual(got, tt.wantTerms) {
			t.Errorf("%s: log after install %v, want %v", tt.name, got, tt.wantTerms)
		}
		st := n.Status()
		if st.SnapshotIndex != 4 || st.Commit != 4 || st.FirstIndex != 5 {
			t.Errorf("%s: %+v", tt.name, st)
		}
		rd := takeReady(n)
		if rd.Snapshot != snap || !rd.InstallSnapshot || !rd.MustSync || len(rd.Entries) != len(tt.wantTerms) {
			t.Errorf("%s: Ready %+v", tt.name, rd)
		}
		if len(rd.CommittedEntries) != 0 {
			t.Errorf("%s: entries before the snapshot delivered for apply: %v", tt.name, rd.CommittedEntries)
		}
		want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 3, Index: 4}}
		if !reflect.DeepEqual(rd.Messages, want) {
			t.Errorf("%s: reply %v, want %v", tt.name, rd.Messages, want)
		}
		if st := n.Status(); st.Applied != 4 {
			t.Errorf("%s: applied %d after Advance, want 4", tt.name, st.Applied)
		}
	}
}

// A snapshot at or below the commit index is old news: answered with the commit index.
func TestInstallStaleSnapshot(t *testing.T) {
	n := followerWithCommitted(1, 1, 1, 1, 1)
	n.Step(Message{Type: MsgSnap, From: 2, To: 1, Term: 1, Snapshot: &Snapshot{Index: 3, Term: 1}})
	rd := takeReady(n)
	if rd.Snapshot != nil || n.log.snapshot.Index != 0 {
		t.Fatalf("stale snapshot installed")
	}
	want := []Message{{Type: MsgAppResp, From: 1, To: 2, Term: 1, Index: 5}}
	if !reflect.DeepEqual(rd.Messages, want) {
		t.Fatalf("reply %v, want %v", rd.Messages, want)
	}
}

// A cluster that compacts aggressively keeps every node consistent, including a node that
// was down for long and must be caught up by snapshot, and nodes restarted from snapshots.
func TestSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, withPreVoteCheckQuorum)
	c.compactEvery = 5
	if !c.converge(100) {
		t.Fatalf("no leader")
	}
	c.crash(3)
	for i := range 40 {
		c.propose(c.leader(), fmt.Sprintf("v%d", i))
		c.flush()
	}
	if st := c.node(1).Status(); st.SnapshotIndex < 20 {
		t.Fatalf("no compaction happened: %+v", st)
	}
	c.crash(1)
	c.restart(1)
	c.restart(3)
	if !c.converge(200) {
		t.Fatalf("no convergence")
	}
	if st := c.node(3).Status(); st.SnapshotIndex < 20 || st.Applied != c.node(c.leader()).Status().Applied {
		t.Fatalf("node 3 not caught up by snapshot: %+v", st)
	}
}
