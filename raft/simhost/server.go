// Package simhost runs raft.Node values as nodes of the sim kernel: it gives each raft peer a
// simulated disk (an append-only record log plus a snapshot file), carries raft messages over
// the simulated network as bytes, drives the raft clock from a sim timer, and hands committed
// entries, snapshots and confirmed reads to a Service (the replicated application, such as the
// KV server) that shares the node.
//
// A Server follows raft's host contract for every Ready: persist, fsync if MustSync, send,
// install/apply, Advance. It reports what it persists and applies to an optional Observer (the
// online safety monitor), so that invariants are checked against what really reached the disk
// and the state machine, not against what raft believes.
package simhost

import (
	"fmt"

	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/sim"
)

// TagRaft is the first byte of every payload that carries a raft message. Payloads with any
// other first byte belong to the Service (simhost never sends them itself).
const TagRaft byte = 'R'

// Observer is told what each raft node persists and applies, in the order it happens. The
// online safety monitor (checker/monitor.Monitor) implements it; simhost declares it so that
// it does not import the monitor. Node ids are sim node ids (= raft ids).
type Observer interface {
	SetNow(ns int64)
	// Restarted: a new incarnation starts; the host then reports its recovered log.
	Restarted(node int)
	LogTruncated(node int, fromIndex uint64)
	LogAppended(node int, index, term, digest uint64)
	SnapshotInstalled(node int, index, term uint64)
	BecameLeader(node int, term uint64)
	// PersistedTerm: the term is now durable (synced).
	PersistedTerm(node int, term uint64)
	Committed(node int, commitIndex uint64)
	Applied(node int, index, term, digest uint64)
}

// EntryDigest is the digest of an entry reported to the Observer: FNV-1a 64 of the entry type
// byte followed by the data.
func EntryDigest(e *raft.Entry) uint64 { return entryDigest(e) }

// Service is the application replicated by raft on one node (one incarnation: a new Service
// is built at every start). Its methods are called by the Server; it acts through the Server's
// methods (Propose, ReadIndex, Compact, Send, SetTimer...).
type Service interface {
	// Restore loads a snapshot: at start (nil when there is none) and when the leader sends one.
	Restore(snapshot []byte)
	// Apply applies a committed entry; entries come in index order, each exactly once per
	// incarnation after the snapshot the service restored. EntryNoop entries are applied too
	// (they occupy an index). e.Data belongs to raft: copy what must be kept.
	Apply(e raft.Entry)
	// ReadReady: the read started with Server.ReadIndex(ctx) may now be served from the local
	// state (everything up to its read index has been applied).
	ReadReady(ctx uint64)
	// HandleMessage receives a payload whose first byte is not TagRaft.
	HandleMessage(from sim.NodeID, payload []byte)
	// Timer: a timer set with Server.SetTimer fired.
	Timer(tag uint64)
	// Snapshot returns the service state at the last applied entry, for compaction.
	Snapshot() []byte
}

// Config configures every Server of a cluster.
type Config struct {
	// Peers are the sim node ids of the raft servers; raft id == sim node id.
	Peers []sim.NodeID
	// Raft timing. TickInterval is the period of raft's logical clock (default 10ms).
	// ElectionTicks (default 15) and HeartbeatTicks (default 1) give election timeouts of
	// 150-300ms and heartbeats every 10ms. 6.5840's limit of 10 heartbeats per second is a
	// real-time RPC budget that does not apply to a simulated network; frequent heartbeats
	// keep virtual failover times short and replication prompt.
	ElectionTicks, HeartbeatTicks int
	TickInterval                  sim.Time
	// PreVote and CheckQuorum are on unless disabled.
	DisablePreVote, DisableCheckQuorum bool
	// Raft limits passed through (0 = raft's defaults).
	MaxEntriesPerMsg, MaxInflightMsgs, MaxUncommittedEntries int
	// Bug switches on one planted raft bug.
	Bug raft.Bug
	// MaxRaftStateBytes: when the raft log file grows past it, the Server asks the Service
	// for a snapshot and compacts the log up to the last applied entry. <= 0 (6.5840's -1):
	// never.
	MaxRaftStateBytes int
	// Observer, when set, is told what every node persists and applies.
	Observer Observer
	// Clock is the global virtual clock (the run's Sim.Now) used to timestamp Observer
	// reports; nodes' own clocks may be skewed. Nil: the node's local clock.
	Clock func() sim.Time
	// NewService builds the Service of one incarnation (required).
	NewService func(host *Server) Service
}

// Defaults for zero Config fields.
const (
	DefaultTickInterval   = 10 * sim.Millisecond
	DefaultElectionTicks  = 15
	DefaultHeartbeatTicks = 1
	// maxReadyRounds bounds the Ready loop after one input; raft hands out at most 4096
	// committed entries per Ready, so a long catch-up takes several rounds, but an endless
	// loop is a bug.
	maxReadyRounds = 1 << 16
	// maxWaitingReads bounds reads confirmed by raft but waiting for their index to be
	// applied; raft itself bounds pending reads to a few thousand.
	maxWaitingReads = 1 << 16
	// tickTag is the host's own timer tag; Service timer tags must have the top bit clear.
	tickTag = 1 << 63
)

func (c Config) withDefaults() Config {
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = DefaultElectionTicks
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = DefaultHeartbeatTicks
	}
	return c
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.Peers) == 0:
		return fmt.Errorf("simhost: Config.Peers is empty")
	case c.TickInterval < 0:
		return fmt.Errorf("simhost: Config.TickInterval = %v, want > 0", c.TickInterval)
	case c.HeartbeatTicks <= 0 || c.ElectionTicks <= c.HeartbeatTicks:
		return fmt.Errorf("simhost: need 0 < HeartbeatTicks (%d) < ElectionTicks (%d)", c.HeartbeatTicks, c.ElectionTicks)
	case c.NewService == nil:
		return fmt.Errorf("simhost: Config.NewService is nil (use a LogRecorder's Service for raft-only runs)")
	}
	seen := make(map[sim.NodeID]bool, len(c.Peers))
	for _, p := range c.Peers {
		if p < 0 || seen[p] {
			return fmt.Errorf("simhost: Config.Peers %v has a negative or duplicate id", c.Peers)
		}
		seen[p] = true
	}
	return nil
}

// Factory returns a sim.Factory building a fresh Server per incarnation. It panics on an
// invalid configuration.
func (c Config) Factory() sim.Factory {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	c = c.withDefaults()
	return func(id sim.NodeID) sim.Node { return newServer(c) }
}

// Stats counts what one Server incarnation did.
type Stats struct {
	ReadyRounds      int64
	MessagesSent     int64
	BadMessages      int64 // raft payloads that did not decode, or claimed the wrong sender
	Syncs            int64
	EntriesApplied   int64
	Snapshots        int64 // compactions this node started
	Installs         int64 // snapshots installed from the leader
	LogRewrites      int64 // log file replaced by its compact form (compactions included)
	RecoveredBytes   int64 // valid log bytes read at start
	DiscardedBytes   int64 // bad log tail dropped at start
	RecoveredEntries int64
}

// Server is one raft peer as a sim.Node (one incarnation). Build it through Config.Factory.
type Server struct {
	cfg     Config
	env     *sim.Env
	id      sim.NodeID
	node    *raft.Node
	store   storage
	service Service
	obs     Observer

	sendBuf []byte
	// applied is the index of the last entry applied or covered by the restored snapshot.
	applied uint64
	// waitingReads are reads raft confirmed whose index is not applied yet, in arrival order.
	waitingReads []raft.ReadState
	// compactData is a snapshot the service or the size policy asked for, at compactIndex,
	// carried out after the current Ready's Advance.
	compactIndex uint64
	compactData  []byte
	compactAsked bool

	processing bool
	// tracedRole and tracedTerm are what the trace last said about this node's role.
	tracedRole raft.Role
	tracedTerm uint64
	// Observer bookkeeping: what was last reported, so that reports only go forward.
	leaderTerm  uint64
	durableTerm uint64
	commitIndex uint64
	stats       Stats
}

func newServer(cfg Config) *Server { return &Server{cfg: cfg, obs: cfg.Observer} }

// Start recovers the node from its disk and starts raft.
func (s *Server) Start(env *sim.Env) {
	s.env = env
	s.id = env.ID()
	p, rp := s.store.load(env.Disk(), s.obs != nil)
	s.stats.RecoveredBytes = int64(rp.validBytes)
	s.stats.DiscardedBytes = int64(rp.garbageBytes)
	s.stats.RecoveredEntries = int64(len(p.Entries))
	if rp.garbageBytes > 0 && env.Tracing() {
		env.Logf("simhost: dropped a %d-byte bad tail of %s after %d valid records", rp.garbageBytes, logFileName, rp.records)
	}
	peers := make([]int, len(s.cfg.Peers))
	for i, p := range s.cfg.Peers {
		peers[i] = int(p)
	}
	s.node = raft.New(raft.Config{
		ID:                    int(s.id),
		Peers:                 peers,
		ElectionTicks:         s.cfg.ElectionTicks,
		HeartbeatTicks:        s.cfg.HeartbeatTicks,
		PreVote:               !s.cfg.DisablePreVote,
		CheckQuorum:           !s.cfg.DisableCheckQuorum,
		MaxEntriesPerMsg:      s.cfg.MaxEntriesPerMsg,
		MaxInflightMsgs:       s.cfg.MaxInflightMsgs,
		MaxUncommittedEntries: s.cfg.MaxUncommittedEntries,
		Rand:                  env.Rand(),
		Bug:                   s.cfg.Bug,
	}, p)
	if s.obs != nil {
		s.setNow()
		node := int(s.id)
		s.obs.Restarted(node)
		if p.Snapshot.Index > 0 {
			s.obs.SnapshotInstalled(node, p.Snapshot.Index, p.Snapshot.Term)
		}
		for i := range p.Entries {
			m := s.store.log[i]
			s.obs.LogAppended(node, p.Entries[i].Index, m.term, m.digest)
		}
		if p.HardState.Term > 0 {
			s.obs.PersistedTerm(node, p.HardState.Term)
		}
	}
	s.durableTerm = p.HardState.Term
	s.applied = p.Snapshot.Index
	s.service = s.cfg.NewService(s)
	s.service.Restore(p.Snapshot.Data)
	s.env.SetTimer(s.cfg.TickInterval, tickTag)
	s.process()
}

// Receive steps raft messages and hands every other payload to the service.
func (s *Server) Receive(from sim.NodeID, payload []byte) {
	if len(payload) == 0 || payload[0] != TagRaft {
		s.service.HandleMessage(from, payload)
		return
	}
	m, err := raft.Unmarshal(payload[1:])
	if err != nil || m.From != int(from) {
		s.stats.BadMessages++
		if s.env.Tracing() {
			s.env.Logf("simhost: dropped a bad raft message from node %d (claims %d): %v", from, m.From, err)
		}
		return
	}
	s.node.Step(m)
	s.process()
}

// Timer drives raft's clock and forwards service timers.
func (s *Server) Timer(tag uint64) {
	if tag != tickTag {
		s.service.Timer(tag)
		return
	}
	s.env.SetTimer(s.cfg.TickInterval, tickTag)
	s.node.Tick()
	s.process()
}

// process carries out Readys until raft has nothing more to do, compacting between Readys
// when asked.
func (s *Server) process() {
	if s.processing {
		return // called back from the service inside the loop: the loop picks the work up
	}
	s.processing = true
	for round := 0; ; round++ {
		if round >= maxReadyRounds {
			panic(fmt.Sprintf("simhost: node %d: raft still has work after %d Ready rounds for one input", s.id, round))
		}
		if s.compactAsked {
			s.compactAsked = false
			s.stats.Snapshots++
			s.node.Compact(s.compactIndex, s.compactData)
			s.compactData = nil
		}
		if !s.node.HasReady() {
			break
		}
		rd := s.node.Ready()
		s.handleReady(&rd)
		s.node.Advance()
	}
	s.processing = false
	if s.env.Tracing() {
		s.traceRole()
	}
}

// traceRole notes role and term changes in the trace: elections and step-downs (CheckQuorum,
// a lost pre-vote) are what a reader of a failing run looks for first.
func (s *Server) traceRole() {
	st := s.node.Status()
	if st.Role != s.tracedRole || st.Term != s.tracedTerm {
		s.tracedRole, s.tracedTerm = st.Role, st.Term
		s.env.Logf("raft: %v in term %d (leader %d)", st.Role, st.Term, st.Lead)
	}
}

func (s *Server) handleReady(rd *raft.Ready) {
	s.stats.ReadyRounds++
	node := int(s.id)
	if s.obs != nil {
		s.setNow()
	}
	// 1. Persist.
	ch := s.store.persist(rd)
	if s.obs != nil {
		s.reportLog(node, rd, ch)
	}
	// 2. Sync.
	if rd.MustSync {
		s.store.disk.Sync()
		s.stats.Syncs++
		if s.obs != nil && s.store.hardState.Term > s.durableTerm {
			s.obs.PersistedTerm(node, s.store.hardState.Term)
		}
		s.durableTerm = max(s.durableTerm, s.store.hardState.Term)
	}
	if s.obs != nil {
		if rd.HardStateChanged && rd.HardState.Commit > s.commitIndex {
			s.commitIndex = rd.HardState.Commit
			s.obs.Committed(node, s.commitIndex)
		}
		if st := s.node.Status(); st.Role == raft.Leader && st.Term > s.leaderTerm {
			s.leaderTerm = st.Term
			s.obs.BecameLeader(node, st.Term)
		}
	}
	// 3. Send.
	for i := range rd.Messages {
		m := &rd.Messages[i]
		s.sendBuf = m.MarshalTo(append(s.sendBuf[:0], TagRaft))
		s.env.Send(sim.NodeID(m.To), s.sendBuf)
		s.stats.MessagesSent++
	}
	// 4. Install and apply.
	if rd.InstallSnapshot {
		snap := rd.Snapshot
		if snap.Index <= s.applied {
			panic(fmt.Sprintf("simhost: node %d: raft installs a snapshot at index %d but %d is already applied", s.id, snap.Index, s.applied))
		}
		s.service.Restore(snap.Data)
		s.applied = snap.Index
		s.stats.Installs++
	}
	for i := range rd.CommittedEntries {
		e := &rd.CommittedEntries[i]
		if e.Index != s.applied+1 {
			panic(fmt.Sprintf("simhost: node %d: raft hands out entry %d to apply after %d", s.id, e.Index, s.applied))
		}
		s.applied = e.Index // before Apply, so that the service may Compact at e.Index
		s.service.Apply(*e)
		s.stats.EntriesApplied++
		if s.obs != nil {
			// Hashed from the entry applied, not taken from the persisted copy: a raft that
			// applies something other than what it persisted must be caught.
			s.obs.Applied(node, e.Index, e.Term, entryDigest(e))
		}
	}
	if len(rd.ReadStates) > 0 {
		if len(s.waitingReads)+len(rd.ReadStates) > maxWaitingReads {
			panic(fmt.Sprintf("simhost: node %d: more than %d confirmed reads wait for their index to be applied", s.id, maxWaitingReads))
		}
		s.waitingReads = append(s.waitingReads, rd.ReadStates...)
	}
	if len(s.waitingReads) > 0 {
		s.releaseReads()
	}
	// Size policy: compact once the log file outgrows the limit and there is something new
	// to compact.
	if s.cfg.MaxRaftStateBytes > 0 && s.store.logBytes > s.cfg.MaxRaftStateBytes &&
		s.applied > s.store.baseIndex && !s.compactAsked {
		s.Compact(s.applied, s.service.Snapshot())
	}
	// Dead records: rewrite the file compactly, unless a compaction (which replaces the file
	// anyway) is about to happen. An unsynced rewrite is safe: a crash reverts the file to its
	// last synced version.
	if !s.compactAsked && s.store.needsRewrite() {
		s.store.rewrite()
	}
	s.stats.LogRewrites = int64(s.store.rewrites)
}

// reportLog tells the observer how the persisted log changed.
func (s *Server) reportLog(node int, rd *raft.Ready, ch logChange) {
	if snap := rd.Snapshot; snap != nil {
		if ch.truncatedFrom != 0 && ch.truncatedFrom <= snap.Index {
			s.obs.LogTruncated(node, ch.truncatedFrom) // the whole old log went, then the snapshot
			ch.truncatedFrom = 0
		}
		s.obs.SnapshotInstalled(node, snap.Index, snap.Term)
	}
	if ch.truncatedFrom != 0 {
		s.obs.LogTruncated(node, ch.truncatedFrom)
	}
	if ch.appendedFrom != 0 {
		for i := ch.appendedFrom; i <= s.store.lastIndex(); i++ {
			m := s.store.meta(i)
			s.obs.LogAppended(node, i, m.term, m.digest)
		}
	}
}

// releaseReads serves, in arrival order, the confirmed reads whose index is applied.
func (s *Server) releaseReads() {
	kept := s.waitingReads[:0]
	for _, r := range s.waitingReads {
		if r.Index <= s.applied {
			s.service.ReadReady(r.Context)
		} else {
			kept = append(kept, r)
		}
	}
	s.waitingReads = kept
}

func (s *Server) setNow() {
	if s.cfg.Clock != nil {
		s.obs.SetNow(int64(s.cfg.Clock()))
	} else {
		s.obs.SetNow(int64(s.env.Now()))
	}
}

// ---------------------------------------------------------------------------------------
// The Service's handle on its node.

// ID returns this node's id (its sim node id and raft id).
func (s *Server) ID() sim.NodeID { return s.id }

// Peers returns the raft servers of the cluster; do not modify.
func (s *Server) Peers() []sim.NodeID { return s.cfg.Peers }

// Now returns the node's local clock.
func (s *Server) Now() sim.Time { return s.env.Now() }

// Send sends a service payload; its first byte must not be TagRaft.
func (s *Server) Send(to sim.NodeID, payload []byte) {
	if len(payload) == 0 || payload[0] == TagRaft {
		panic(fmt.Sprintf("simhost: node %d: service payloads must start with a tag other than %q", s.id, TagRaft))
	}
	s.env.Send(to, payload)
}

// SetTimer sets a service timer; Service.Timer(tag) is called when it fires. The tag's top bit
// is reserved for the host.
func (s *Server) SetTimer(after sim.Time, tag uint64) sim.TimerID {
	if tag&tickTag != 0 {
		panic(fmt.Sprintf("simhost: node %d: service timer tag %#x uses the host's reserved top bit", s.id, tag))
	}
	return s.env.SetTimer(after, tag)
}

// CancelTimer cancels a service timer.
func (s *Server) CancelTimer(id sim.TimerID) { s.env.CancelTimer(id) }

// Rand returns the node's PRNG stream (shared with raft's election jitter).
func (s *Server) Rand() *sim.Rand { return s.env.Rand() }

// Tracing reports whether the run keeps a trace.
func (s *Server) Tracing() bool { return s.env.Tracing() }

// Logf adds a note to the trace.
func (s *Server) Logf(format string, args ...any) { s.env.Logf(format, args...) }

// Propose proposes data as a new log entry; see raft.Node.Propose. data is retained by raft:
// do not modify it afterwards.
func (s *Server) Propose(data []byte) (index, term uint64, isLeader bool) {
	index, term, isLeader = s.node.Propose(data)
	if isLeader {
		s.process()
	}
	return index, term, isLeader
}

// ReadIndex starts a linearizable read; Service.ReadReady(ctx) is called once it may be
// served. It returns false when this node is not the leader (or raft's read queue is full).
func (s *Server) ReadIndex(ctx uint64) bool {
	ok := s.node.ReadIndex(ctx)
	if ok {
		s.process()
	}
	return ok
}

// Compact records that data is the service's snapshot at applied index index; the log up to
// index is discarded once the current Ready (if any) is done.
func (s *Server) Compact(index uint64, data []byte) {
	if index > s.applied {
		panic(fmt.Sprintf("simhost: node %d: Compact(%d) beyond the applied index %d", s.id, index, s.applied))
	}
	if index <= s.store.baseIndex || (s.compactAsked && index <= s.compactIndex) {
		return
	}
	s.compactIndex, s.compactData, s.compactAsked = index, data, true
	s.process()
}

// Status returns raft's status.
func (s *Server) Status() raft.Status { return s.node.Status() }

// Applied returns the index of the last entry applied (or covered by the loaded snapshot).
func (s *Server) Applied() uint64 { return s.applied }

// RaftStateBytes returns the size of the raft log file.
func (s *Server) RaftStateBytes() int { return s.store.logBytes }

// Stats returns this incarnation's counters.
func (s *Server) Stats() Stats { return s.stats }

// Service returns the Service of this incarnation (for inspection by tests and harnesses).
func (s *Server) Service() Service { return s.service }
