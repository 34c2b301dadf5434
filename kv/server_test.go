package kv

import (
	"testing"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// fakeHost is a raft host under the test's control: it records proposals, read rounds, replies
// and timers, and says whatever Status the test sets.
type fakeHost struct {
	sut.Host  // nil: the methods a KV server must not use panic
	t         *testing.T
	status    sut.Status
	lastIndex uint64
	proposals []Command
	reads     []uint64
	replies   []sentReply
	timers    int
	refuse    bool // Propose/ReadIndex refuse even as leader
	now       sim.Time
}

type sentReply struct {
	to sim.NodeID
	r  Reply
}

func newFakeHost(t *testing.T) *fakeHost {
	return &fakeHost{t: t, status: sut.Status{Role: sut.Leader, Term: 1, Lead: 0}}
}

func (h *fakeHost) ID() sim.NodeID { return 0 }
func (h *fakeHost) Send(to sim.NodeID, payload []byte) {
	r, err := ParseReply(payload)
	if err != nil {
		h.t.Fatalf("server sent a bad reply: %v", err)
	}
	h.replies = append(h.replies, sentReply{to: to, r: r})
}
func (h *fakeHost) SetTimer(after sim.Time, tag uint64) sim.TimerID { h.timers++; return 1 }
func (h *fakeHost) Propose(data []byte) (uint64, uint64, bool) {
	if h.status.Role != sut.Leader || h.refuse {
		return 0, h.status.Term, false
	}
	c, err := UnmarshalCommand(data)
	if err != nil {
		h.t.Fatalf("server proposed garbage: %v", err)
	}
	h.proposals = append(h.proposals, c)
	h.lastIndex++
	return h.lastIndex, h.status.Term, true
}
func (h *fakeHost) Now() sim.Time { return h.now }
func (h *fakeHost) ReadIndex(ctx uint64) bool {
	if (h.status.Role != sut.Leader && h.status.Lead == sut.None) || h.refuse {
		return false
	}
	h.reads = append(h.reads, ctx)
	return true
}
func (h *fakeHost) Status() sut.Status { return h.status }

func (h *fakeHost) takeReplies() []sentReply {
	r := h.replies
	h.replies = nil
	return r
}

func request(c Command) []byte { return AppendRequest(nil, &c) }

func entry(index, term uint64, c Command) sut.Entry {
	return sut.Entry{Index: index, Term: term, Data: c.Marshal()}
}

func TestServerRepliesAfterApply(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{})
	put := Command{Client: 5, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}
	s.HandleMessage(10, request(put))
	if len(h.proposals) != 1 || h.proposals[0] != put {
		t.Fatalf("proposals %+v, want the put", h.proposals)
	}
	if len(h.replies) != 0 {
		t.Fatal("replied before the entry was applied")
	}
	// A retry while the entry is pending is not proposed again; the reply goes to the latest sender.
	s.HandleMessage(11, request(put))
	if len(h.proposals) != 1 {
		t.Fatalf("retry of a pending request proposed again")
	}
	s.Apply(sut.Entry{Index: 1, Term: 1, Data: put.Marshal()})
	rs := h.takeReplies()
	if len(rs) != 1 || rs[0].to != 11 || rs[0].r.Err != OK || rs[0].r.Seq != 1 || rs[0].r.Client != 5 {
		t.Fatalf("replies %+v, want one OK to 11", rs)
	}
	if s.StateMachine().Get("k") != "v" {
		t.Fatal("put not applied")
	}
}

func TestServerDetectsReplacedProposal(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{})
	mine := Command{Client: 1, Seq: 1, Kind: OpAppend, Key: "k", Value: "mine"}
	other := Command{Client: 2, Seq: 7, Kind: OpAppend, Key: "k", Value: "other"}
	s.HandleMessage(10, request(mine))
	// Another leader's entry lands at the index of our proposal.
	s.Apply(entry(1, 2, other))
	rs := h.takeReplies()
	if len(rs) != 1 || rs[0].r.Err != ErrRetry || rs[0].r.Client != 1 {
		t.Fatalf("replies %+v, want ErrRetry to client 1", rs)
	}
	// A no-op at the index replaces it too.
	s.HandleMessage(10, request(Command{Client: 1, Seq: 2, Kind: OpPut, Key: "a", Value: "b"}))
	s.Apply(sut.Entry{Index: 2, Term: 2})
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != ErrRetry {
		t.Fatalf("replies %+v, want ErrRetry after a no-op took the index", rs)
	}
}

func TestServerFailsPendingOnLeadershipLoss(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{})
	s.HandleMessage(10, request(Command{Client: 1, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}))
	s.HandleMessage(11, request(Command{Client: 2, Seq: 1, Kind: OpGet, Key: "k"}))
	if h.timers == 0 {
		t.Fatal("no sweep timer armed while requests are pending")
	}
	h.status = sut.Status{Role: sut.Follower, Term: 2, Lead: 3}
	s.Timer(sweepTimerTag)
	rs := h.takeReplies()
	if len(rs) != 2 {
		t.Fatalf("replies %+v, want two", rs)
	}
	for _, r := range rs {
		if r.r.Err != ErrRetry || r.r.LeaderHint != 3 {
			t.Fatalf("reply %+v, want ErrRetry with leader hint 3", r)
		}
	}
	// A request to a follower is redirected.
	s.HandleMessage(12, request(Command{Client: 3, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}))
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != ErrWrongLeader || rs[0].r.LeaderHint != 3 {
		t.Fatalf("replies %+v, want ErrWrongLeader hinting 3", rs)
	}
	// Same term but a new term's leadership (lost and regained) also fails old requests.
	h.status = sut.Status{Role: sut.Leader, Term: 3, Lead: 0}
	s.HandleMessage(10, request(Command{Client: 1, Seq: 2, Kind: OpPut, Key: "k", Value: "w"}))
	h.status.Term = 5
	s.HandleMessage(10, request(Command{Client: 4, Seq: 1, Kind: OpPut, Key: "k", Value: "x"}))
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != ErrRetry || rs[0].r.Client != 1 {
		t.Fatalf("replies %+v, want ErrRetry for the request of term 3", rs)
	}
}

func TestServerBoundsPending(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{MaxPending: 2})
	for c := uint64(1); c <= 3; c++ {
		s.HandleMessage(10, request(Command{Client: c, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}))
	}
	rs := h.takeReplies()
	if len(rs) != 1 || rs[0].r.Err != ErrBusy || rs[0].r.Client != 3 {
		t.Fatalf("replies %+v, want ErrBusy for the third request", rs)
	}
	if got := s.Stats().Replies[ErrBusy]; got != 1 {
		t.Fatalf("busy replies counted %d", got)
	}
}

func TestServerReadIndexAndReadLog(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{})
	s.Apply(entry(1, 1, Command{Client: 9, Seq: 1, Kind: OpPut, Key: "k", Value: "old"}))
	get := Command{Client: 1, Seq: 1, Kind: OpGet, Key: "k"}
	s.HandleMessage(10, request(get))
	if len(h.reads) != 1 || len(h.proposals) != 0 || len(h.replies) != 0 {
		t.Fatalf("Get in ReadIndex mode: reads %v proposals %d replies %d", h.reads, len(h.proposals), len(h.replies))
	}
	s.Apply(entry(2, 1, Command{Client: 9, Seq: 2, Kind: OpPut, Key: "k", Value: "new"}))
	s.ReadReady(h.reads[0])
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != OK || rs[0].r.Value != "new" {
		t.Fatalf("replies %+v, want OK \"new\"", rs)
	}

	h2 := newFakeHost(t)
	s2 := NewServer(h2, ServerConfig{ReadMode: ReadLog})
	s2.HandleMessage(10, request(get))
	if len(h2.proposals) != 1 || len(h2.reads) != 0 {
		t.Fatalf("Get in ReadLog mode: proposals %d reads %d", len(h2.proposals), len(h2.reads))
	}
	s2.Apply(entry(1, 1, get))
	if rs := h2.takeReplies(); len(rs) != 1 || rs[0].r.Err != OK || rs[0].r.Value != "" {
		t.Fatalf("replies %+v, want OK \"\"", rs)
	}
}

// The read-local bug answers a Get at once, with no read round; off, the Get waits for one.
func TestPlantedBugReadLocal(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugReadLocal} {
		h := newFakeHost(t)
		s := NewServer(h, ServerConfig{Bug: bug})
		s.Apply(entry(1, 1, Command{Client: 9, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}))
		s.HandleMessage(10, request(Command{Client: 1, Seq: 1, Kind: OpGet, Key: "k"}))
		rs := h.takeReplies()
		if bug == BugReadLocal {
			if len(rs) != 1 || rs[0].r.Value != "v" || len(h.reads) != 0 || len(h.proposals) != 0 {
				t.Errorf("read-local: replies %+v, reads %v: want an immediate local answer", rs, h.reads)
			}
		} else if len(rs) != 0 || len(h.reads) != 1 {
			t.Errorf("correct server: replies %+v, reads %v: want a ReadIndex round and no reply yet", rs, h.reads)
		}
	}
}

func TestServerSnapshotRoundTrip(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{})
	app := Command{Client: 1, Seq: 1, Kind: OpAppend, Key: "k", Value: "x;"}
	s.Apply(entry(1, 1, app))
	s2 := NewServer(newFakeHost(t), ServerConfig{})
	s2.Restore(1, s.Snapshot())
	s2.Apply(entry(2, 1, app)) // the retry, committed again
	if got := s2.StateMachine().Get("k"); got != "x;" {
		t.Fatalf("after restore + retried append k = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Restore of a corrupt snapshot did not panic")
		}
	}()
	s2.Restore(1, []byte{99})
}

// A read whose round does not complete is started again with the same context every
// ReadRetryInterval; after MaxReadAttempts rounds its client is told to retry.
func TestServerRetriesReadsThenGivesUp(t *testing.T) {
	h := newFakeHost(t)
	s := NewServer(h, ServerConfig{ReadRetryInterval: 100 * sim.Millisecond, MaxReadAttempts: 3})
	s.HandleMessage(10, request(Command{Client: 1, Seq: 1, Kind: OpGet, Key: "k"}))
	h.now = 99 * sim.Millisecond
	s.Timer(sweepTimerTag)
	if len(h.reads) != 1 {
		t.Fatalf("read rounds %v before the retry interval, want one", h.reads)
	}
	h.now = 100 * sim.Millisecond
	s.Timer(sweepTimerTag)
	h.now = 200 * sim.Millisecond
	s.Timer(sweepTimerTag)
	if len(h.reads) != 3 || h.reads[1] != h.reads[0] || h.reads[2] != h.reads[0] {
		t.Fatalf("read rounds %v, want three with the same context", h.reads)
	}
	if rs := h.takeReplies(); len(rs) != 0 {
		t.Fatalf("replied %+v while retrying", rs)
	}
	h.now = 300 * sim.Millisecond
	s.Timer(sweepTimerTag)
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != ErrRetry || len(h.reads) != 3 {
		t.Fatalf("after %d rounds: replies %+v, want ErrRetry and no fourth round", len(h.reads), rs)
	}
	// A late answer of the abandoned read is ignored.
	s.ReadReady(h.reads[0])
	if rs := h.takeReplies(); len(rs) != 0 {
		t.Fatalf("late answer replied %+v", rs)
	}
}

// In follower mode a follower serves Gets through ReadIndex; a term change does not fail
// them (they do not depend on this node's leadership), and answers may come in any order.
func TestServerFollowerReads(t *testing.T) {
	h := newFakeHost(t)
	h.status = sut.Status{Role: sut.Follower, Term: 1, Lead: 2}
	s := NewServer(h, ServerConfig{ReadMode: ReadFollower})
	s.Apply(entry(1, 1, Command{Client: 9, Seq: 1, Kind: OpPut, Key: "k", Value: "v"}))
	s.HandleMessage(10, request(Command{Client: 1, Seq: 1, Kind: OpGet, Key: "k"}))
	s.HandleMessage(11, request(Command{Client: 2, Seq: 1, Kind: OpGet, Key: "k"}))
	if len(h.reads) != 2 || len(h.replies) != 0 {
		t.Fatalf("follower: read rounds %v replies %+v, want two rounds", h.reads, h.replies)
	}
	h.status = sut.Status{Role: sut.Follower, Term: 2, Lead: 3}
	s.Timer(sweepTimerTag)
	if rs := h.takeReplies(); len(rs) != 0 {
		t.Fatalf("a term change failed follower reads: %+v", rs)
	}
	s.ReadReady(h.reads[1])
	s.ReadReady(h.reads[0])
	rs := h.takeReplies()
	if len(rs) != 2 || rs[0].r.Client != 2 || rs[1].r.Client != 1 || rs[0].r.Value != "v" || rs[1].r.Err != OK {
		t.Fatalf("replies %+v, want OK \"v\" to client 2 then client 1", rs)
	}
	// With no leader known, a follower cannot start a read.
	h.status = sut.Status{Role: sut.Follower, Term: 3, Lead: sut.None}
	s.HandleMessage(12, request(Command{Client: 3, Seq: 1, Kind: OpGet, Key: "k"}))
	if rs := h.takeReplies(); len(rs) != 1 || rs[0].r.Err != ErrWrongLeader {
		t.Fatalf("replies %+v, want ErrWrongLeader", rs)
	}
}
