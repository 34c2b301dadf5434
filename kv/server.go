package kv

import (
	"fmt"
	"slices"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// ReadMode says how a server serves Get.
type ReadMode uint8

const (
	// ReadIndex serves a Get from local state after a ReadIndex round (the leader confirms
	// with a heartbeat quorum that it still leads, then waits until it applied the commit index
	// it had when the read arrived). No log entry is written.
	ReadIndex ReadMode = iota
	// ReadLog puts every Get through the log like a write.
	ReadLog
	// ReadFollower serves a Get on whichever server receives it, leader or follower, after a
	// ReadIndex round: a follower asks the leader for the read index (the leader confirms
	// its leadership with a heartbeat quorum) and serves the Get once it has applied it.
	ReadFollower
)

// String returns "readindex", "log" or "follower".
func (m ReadMode) String() string {
	switch m {
	case ReadIndex:
		return "readindex"
	case ReadLog:
		return "log"
	case ReadFollower:
		return "follower"
	}
	return fmt.Sprintf("kv.ReadMode(%d)", uint8(m))
}

// ParseReadMode maps "readindex" (or ""), "log" and "follower" to a ReadMode.
func ParseReadMode(s string) (ReadMode, bool) {
	switch s {
	case "", "readindex":
		return ReadIndex, true
	case "log":
		return ReadLog, true
	case "follower":
		return ReadFollower, true
	}
	return ReadIndex, false
}

// ServerConfig configures the KV servers of a cluster.
type ServerConfig struct {
	ReadMode ReadMode
	Bug      Bug
	// MaxPending bounds the requests a server holds while their log entry or read round is in
	// progress (0 = DefaultMaxPending); beyond it requests are answered ErrBusy.
	MaxPending int
	// SweepInterval is how often a server holding pending requests checks that it still leads
	// in the same term, and otherwise tells their clients to retry (0 = DefaultSweepInterval).
	SweepInterval sim.Time
	// A read whose ReadIndex round has not completed after ReadRetryInterval is started again
	// with the same context (its request or answer may have been lost), as etcd's server
	// does; after MaxReadAttempts rounds its client is told to retry (0 = the defaults).
	ReadRetryInterval sim.Time
	MaxReadAttempts   int
	// Observer, when set, hears what each server applies and which reads it serves, for
	// traces and timelines. It must not affect the run.
	Observer Observer
	// Probe, when set, hears the server's code probes and events (probes.go).
	Probe ProbeFunc
	// StateApplied, when set, is told the state machine's digest after every applied entry
	// (StateMachine.Digest), for the replica state check.
	StateApplied func(node sim.NodeID, index, digest uint64)
	// CorruptRestore is a test-only fault: the server with this node id + 1 (0: none) alters
	// its state after restoring a snapshot from the leader, a divergence no client sees.
	CorruptRestore int
}

// Observer hears the KV service's own steps on every server, in the order they happen.
// Commands are copies the observer may keep.
type Observer interface {
	// Applied: node applied the command of log entry index with result res (res.Duplicate:
	// the duplicate table recognized it and the state did not change).
	Applied(node sim.NodeID, index uint64, cmd Command, res Result)
	// ReadStarted: node started read round ctx for the Get (client, seq) of key.
	ReadStarted(node sim.NodeID, ctx uint64, client, seq uint64, key string)
	// ReadServed: read round ctx completed at node and the Get was answered with value (ok
	// false: the read gave up after its attempts and its client was told to retry).
	ReadServed(node sim.NodeID, ctx uint64, client, seq uint64, value string, ok bool)
}

// Defaults for zero ServerConfig fields.
const (
	DefaultMaxPending    = 1024
	DefaultSweepInterval = 20 * sim.Millisecond
	// The defaults give up on a read after about 450 ms, when its clerk (DefaultRequestTimeout
	// 400 ms) has moved on.
	DefaultReadRetryInterval = 150 * sim.Millisecond
	DefaultMaxReadAttempts   = 3
	sweepTimerTag            = 1
)

// NewService returns a sut.Config.NewService that builds KV servers.
func NewService(cfg ServerConfig) func(host sut.Host) sut.Service {
	return func(host sut.Host) sut.Service { return NewServer(host, cfg) }
}

// ServerStats counts what one server incarnation did.
type ServerStats struct {
	Requests    int64 // requests received
	BadRequests int64 // payloads that did not decode
	Proposed    int64 // log entries proposed
	Reads       int64 // Gets given a ReadIndex round
	ReadRetries int64 // rounds started again after ReadRetryInterval
	LocalReads  int64 // Gets answered with no quorum round (read-local bug only)
	Replies     [errCount]int64
	Applied     int64
	Duplicates  int64 // applied writes the duplicate table recognized
}

// Server is the KV service of one raft node (one incarnation): it turns client requests into
// log entries or ReadIndex rounds, applies committed entries to the StateMachine, and replies
// once a request's outcome is known. It is a sut.Service.
type Server struct {
	host sut.Host
	cfg  ServerConfig
	sm   *StateMachine

	// pending are proposed requests waiting for their index to be applied, in index order;
	// all belong to pendingTerm (a term change fails them, see sweep).
	pending     []pendingOp
	pendingHead int
	// reads are Gets waiting for their ReadIndex round, in the order they arrived; in
	// ReadIndex mode they too belong to pendingTerm.
	reads       []pendingRead
	pendingTerm uint64
	nextReadCtx uint64
	sweepArmed  bool
	// restored: Restore ran once (at start); later calls install snapshots from the leader.
	restored bool

	replyBuf []byte
	stats    ServerStats
}

type pendingOp struct {
	index, term uint64
	client, seq uint64
	from        sim.NodeID
}

type pendingRead struct {
	ctx         uint64
	client, seq uint64
	key         []byte // aliases the request payload, which belongs to this node
	from        sim.NodeID
	// startedAt is when the last ReadIndex round of the read started (local clock);
	// attempts counts its rounds.
	startedAt sim.Time
	attempts  int
}

// corruptKey is the key ServerConfig.CorruptRestore writes: no client uses it.
const corruptKey = "corrupted-by-test"

// NewServer returns an empty KV server on host (its state arrives through Restore and Apply).
func NewServer(host sut.Host, cfg ServerConfig) *Server {
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.ReadRetryInterval == 0 {
		cfg.ReadRetryInterval = DefaultReadRetryInterval
	}
	if cfg.MaxReadAttempts == 0 {
		cfg.MaxReadAttempts = DefaultMaxReadAttempts
	}
	if cfg.MaxPending < 0 || cfg.SweepInterval < 0 || cfg.ReadRetryInterval < 0 || cfg.MaxReadAttempts < 0 {
		panic(fmt.Sprintf("kv: invalid ServerConfig %+v", cfg))
	}
	return &Server{host: host, cfg: cfg, sm: NewStateMachine(cfg.Bug)}
}

// StateMachine returns the server's state machine (for inspection).
func (s *Server) StateMachine() *StateMachine { return s.sm }

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats { return s.stats }

func (s *Server) numPending() int { return len(s.pending) - s.pendingHead + len(s.reads) }

// Restore loads a snapshot made by Snapshot. A snapshot that does not decode was corrupted
// after this package wrote it: that is a bug, so it panics.
func (s *Server) Restore(index uint64, snapshot []byte) {
	if err := s.sm.Restore(snapshot); err != nil {
		panic(fmt.Sprintf("kv: node %d cannot load a snapshot: %v", s.host.ID(), err))
	}
	if s.cfg.CorruptRestore == int(s.host.ID())+1 && s.restored {
		s.sm.set([]byte(corruptKey), "corrupt")
	}
	s.restored = true
	if s.numPending() > 0 {
		s.cfg.Probe.hit(s.host.ID(), ProbeSnapshotOverPending)
	}
	// A snapshot from the leader may cover the indices of pending proposals, which then never
	// come through Apply: their outcome is unknown here.
	s.failAll(NoLeader)
}

// Snapshot encodes the state machine.
func (s *Server) Snapshot() []byte { return s.sm.Snapshot() }

// HandleMessage serves one client request.
func (s *Server) HandleMessage(from sim.NodeID, payload []byte) {
	cmd, err := parseRequestView(payload)
	if err != nil {
		s.stats.BadRequests++
		return
	}
	s.stats.Requests++
	st := s.host.Status()
	s.sweep(&st)
	if cmd.kind == OpGet && (s.cfg.ReadMode == ReadIndex || s.cfg.ReadMode == ReadFollower) {
		s.startRead(from, &cmd, &st)
		return
	}
	if st.Role != sut.Leader {
		s.reply(from, &cmd, ErrWrongLeader, Result{}, &st)
		return
	}
	// A retry of a request already in the log of this term: wait for it, answering the
	// latest sender.
	for i := s.pendingHead; i < len(s.pending); i++ {
		if p := &s.pending[i]; p.client == cmd.client && p.seq == cmd.seq {
			s.cfg.Probe.hit(s.host.ID(), ProbeRetryJoinsPending)
			p.from = from
			return
		}
	}
	if s.numPending() >= s.cfg.MaxPending {
		s.cfg.Probe.hit(s.host.ID(), ProbeServerBusy)
		s.reply(from, &cmd, ErrBusy, Result{}, &st)
		return
	}
	// The payload is this node's own copy and is never modified, so raft may keep the command
	// encoding as the entry data without a copy.
	index, term, ok := s.host.Propose(payload[1:])
	if !ok {
		// Leader but refused: raft's bound on uncommitted entries.
		s.cfg.Probe.hit(s.host.ID(), ProbeServerBusy)
		s.reply(from, &cmd, ErrBusy, Result{}, &st)
		return
	}
	s.stats.Proposed++
	s.cfg.Probe.hit(s.host.ID(), EventProposed)
	if n := len(s.pending); n > s.pendingHead && s.pending[n-1].index >= index {
		panic(fmt.Sprintf("kv: node %d proposed at index %d after a pending proposal at index %d in the same term", s.host.ID(), index, s.pending[n-1].index))
	}
	s.pending = append(s.pending, pendingOp{index: index, term: term, client: cmd.client, seq: cmd.seq, from: from})
	s.pendingTerm = term
	s.armSweep()
}

func (s *Server) startRead(from sim.NodeID, cmd *commandView, st *sut.Status) {
	// PLANTED BUG read-local: a leader answers from its local state, with no quorum round, so a
	// deposed leader that has not noticed yet serves stale values.
	if s.cfg.Bug == BugReadLocal && st.Role == sut.Leader {
		s.stats.LocalReads++
		s.reply(from, cmd, OK, Result{Value: s.sm.getBytes(cmd.key)}, st)
		return
	}
	if s.cfg.ReadMode == ReadIndex && st.Role != sut.Leader {
		s.cfg.Probe.hit(s.host.ID(), ProbeFollowerRedirectedRead)
		s.reply(from, cmd, ErrWrongLeader, Result{}, st)
		return
	}
	if s.numPending() >= s.cfg.MaxPending {
		s.cfg.Probe.hit(s.host.ID(), ProbeServerBusy)
		s.reply(from, cmd, ErrBusy, Result{}, st)
		return
	}
	s.nextReadCtx++
	ctx := s.nextReadCtx
	if !s.host.ReadIndex(ctx) {
		if st.Role == sut.Leader {
			s.reply(from, cmd, ErrBusy, Result{}, st) // its read queue is full
		} else {
			s.reply(from, cmd, ErrWrongLeader, Result{}, st) // it knows no leader to ask
		}
		return
	}
	s.stats.Reads++
	s.cfg.Probe.hit(s.host.ID(), EventReadStarted)
	if s.cfg.Observer != nil {
		s.cfg.Observer.ReadStarted(s.host.ID(), ctx, cmd.client, cmd.seq, string(cmd.key))
	}
	s.reads = append(s.reads, pendingRead{ctx: ctx, client: cmd.client, seq: cmd.seq, key: cmd.key, from: from,
		startedAt: s.host.Now(), attempts: 1})
	if s.cfg.ReadMode == ReadIndex {
		s.pendingTerm = st.Term
	}
	s.armSweep()
}

// Apply applies one committed entry and answers the request that proposed it here, if any.
func (s *Server) Apply(e sut.Entry) {
	var cmd commandView
	var res Result
	normal := len(e.Data) > 0
	if normal {
		var err error
		cmd, err = decodeCommandView(e.Data)
		if err != nil {
			panic(fmt.Sprintf("kv: node %d: committed entry %d (term %d) is not a command: %v", s.host.ID(), e.Index, e.Term, err))
		}
		res = s.sm.apply(&cmd)
		s.stats.Applied++
		if res.Duplicate {
			s.stats.Duplicates++
			s.cfg.Probe.hit(s.host.ID(), ProbeDuplicateWriteApplied)
		}
		if s.cfg.Observer != nil {
			s.cfg.Observer.Applied(s.host.ID(), e.Index, cmd.command(), res)
		}
	}
	if s.cfg.StateApplied != nil {
		s.cfg.StateApplied(s.host.ID(), e.Index, s.sm.Digest())
	}
	for s.pendingHead < len(s.pending) && s.pending[s.pendingHead].index <= e.Index {
		p := s.pending[s.pendingHead]
		s.pendingHead++
		// The same (client, seq) at the index means this request's outcome is res, whichever
		// term's copy of it got there (the duplicate table made them equivalent); anything else
		// means the proposal was replaced by another leader's entry.
		if normal && p.index == e.Index && p.client == cmd.client && p.seq == cmd.seq {
			s.sendReply(p.from, p.client, p.seq, OK, res, NoLeader)
		} else {
			s.cfg.Probe.hit(s.host.ID(), ProbeProposalReplaced)
			s.sendReply(p.from, p.client, p.seq, ErrRetry, Result{}, NoLeader)
		}
	}
	if s.pendingHead == len(s.pending) {
		s.pending, s.pendingHead = s.pending[:0], 0
	}
}

// ReadReady answers the Get waiting for read round ctx. A context nothing waits for is the
// second answer of a read that was retried, or of one whose client was already told to retry.
func (s *Server) ReadReady(ctx uint64) {
	for i := range s.reads {
		if r := s.reads[i]; r.ctx == ctx {
			s.reads = slices.Delete(s.reads, i, i+1)
			s.cfg.Probe.hit(s.host.ID(), EventReadServed)
			if s.cfg.Observer != nil {
				s.cfg.Observer.ReadServed(s.host.ID(), r.ctx, r.client, r.seq, s.sm.getBytes(r.key), true)
			}
			s.sendReply(r.from, r.client, r.seq, OK, Result{Value: s.sm.getBytes(r.key)}, NoLeader)
			return
		}
	}
}

// Timer runs the pending-request sweep.
func (s *Server) Timer(tag uint64) {
	if tag != sweepTimerTag {
		panic(fmt.Sprintf("kv: node %d: unknown timer tag %d", s.host.ID(), tag))
	}
	s.sweepArmed = false
	st := s.host.Status()
	s.sweep(&st)
	s.retryReads(&st)
	s.armSweep()
}

func (s *Server) armSweep() {
	if !s.sweepArmed && s.numPending() > 0 {
		s.sweepArmed = true
		s.host.SetTimer(s.cfg.SweepInterval, sweepTimerTag)
	}
}

// sweep fails every request that depends on this node's leadership once it no longer leads
// the term they were accepted in: proposals (their entries may still commit under another
// leader, so the outcome is unknown and the client must retry; duplicate detection makes
// that safe) and, in ReadIndex mode, reads. Follower-mode reads do not depend on it.
func (s *Server) sweep(st *sut.Status) {
	if s.numPending() == 0 || (st.Role == sut.Leader && st.Term == s.pendingTerm) {
		return
	}
	s.cfg.Probe.hit(s.host.ID(), ProbePendingFailedOnChange)
	if s.cfg.ReadMode == ReadFollower {
		s.failProposals(int32(st.Lead))
		return
	}
	s.failAll(int32(st.Lead))
}

// retryReads starts a new round for every read whose round has not completed within
// ReadRetryInterval, and tells the clients of reads that used up MaxReadAttempts to retry.
func (s *Server) retryReads(st *sut.Status) {
	now := s.host.Now()
	kept := s.reads[:0]
	for _, r := range s.reads {
		switch {
		case now-r.startedAt < s.cfg.ReadRetryInterval:
		case r.attempts < s.cfg.MaxReadAttempts && s.host.ReadIndex(r.ctx):
			r.startedAt, r.attempts = now, r.attempts+1
			s.stats.ReadRetries++
			s.cfg.Probe.hit(s.host.ID(), ProbeReadRetried)
		default:
			if s.cfg.Observer != nil {
				s.cfg.Observer.ReadServed(s.host.ID(), r.ctx, r.client, r.seq, "", false)
			}
			s.sendReply(r.from, r.client, r.seq, ErrRetry, Result{}, int32(st.Lead))
			continue
		}
		kept = append(kept, r)
	}
	clear(s.reads[len(kept):])
	s.reads = kept
}

// failAll answers every pending request ErrRetry.
func (s *Server) failAll(leaderHint int32) {
	s.failProposals(leaderHint)
	for i := range s.reads {
		r := &s.reads[i]
		s.sendReply(r.from, r.client, r.seq, ErrRetry, Result{}, leaderHint)
	}
	clear(s.reads)
	s.reads = s.reads[:0]
}

// failProposals answers every pending proposal ErrRetry.
func (s *Server) failProposals(leaderHint int32) {
	for i := s.pendingHead; i < len(s.pending); i++ {
		p := &s.pending[i]
		s.sendReply(p.from, p.client, p.seq, ErrRetry, Result{}, leaderHint)
	}
	s.pending, s.pendingHead = s.pending[:0], 0
}

func (s *Server) reply(to sim.NodeID, cmd *commandView, e Err, res Result, st *sut.Status) {
	s.sendReply(to, cmd.client, cmd.seq, e, res, int32(st.Lead))
}

func (s *Server) sendReply(to sim.NodeID, client, seq uint64, e Err, res Result, lead int32) {
	if lead < 0 {
		lead = NoLeader
	}
	r := Reply{Client: client, Seq: seq, Err: e, Value: res.Value, Swapped: res.Swapped, LeaderHint: lead}
	s.replyBuf = AppendReply(s.replyBuf[:0], &r)
	s.host.Send(to, s.replyBuf)
	s.stats.Replies[e]++
}
