// Package simhost is the system under test "raftsim": it runs raftsim's own raft.Node values as
// nodes of the sim kernel, behind the seam of package sut. It gives each raft peer a simulated
// disk (an append-only record log plus a snapshot file), carries raft messages over the
// simulated network as bytes, drives the raft clock from a sim timer, and hands committed
// entries, snapshots and confirmed reads to the sut.Service (the replicated application, such as
// the KV server) that shares the node.
//
// A Server follows raft's host contract for every Ready: persist, fsync if MustSync, send,
// install/apply, Advance. It reports what it persists and applies to the sut.Observer (the
// online safety monitor), so that invariants are checked against what really reached the disk
// and the state machine, not against what raft believes. The planted raft bugs of raftsim
// (sut.Config.Bug) are raft's.
package simhost

import (
	"fmt"

	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/hostkit"
)

// Name is the SUT name of this host.
const Name = sut.DefaultName

func init() {
	sut.Register(&sut.SUT{
		Name:        Name,
		Description: "raftsim's own raft (6.5840 lineage, PreVote, CheckQuorum, ReadIndex), the default",
		Bugs:        plantedBugs,
		NewServer:   func(cfg sut.Config) sut.Server { return newServer(cfg) },
		Describe:    Describe,
		Classify:    Classify,
		Probes:      probes(),
	})
}

// probes are raft's code probes as the seam lists them.
func probes() []sut.Probe {
	out := make([]sut.Probe, len(raft.Probes))
	for i, p := range raft.Probes {
		out[i] = sut.Probe{Name: p.Name, Description: p.Description}
	}
	return out
}

// plantedBugs are raft's planted bugs (raft.Bug), with what the faulty code does.
var plantedBugs = []sut.Bug{
	{Name: "vote-no-persist", Description: "raft: grants a vote without persisting currentTerm/votedFor first"},
	{Name: "vote-no-log-check", Description: "raft: grants a vote without the up-to-date-log check"},
	{Name: "vote-twice", Description: "raft: clears votedFor on step-down, so it can vote twice in one term"},
	{Name: "truncate-always", Description: "raft: follower truncates its log on every AppendEntries, even when entries match"},
	{Name: "commit-old-term", Description: "raft: leader commits an entry of an earlier term by counting replicas (Figure 8)"},
	{Name: "commit-no-min", Description: "raft: follower sets commitIndex = leaderCommit"},
	{Name: "match-from-current", Description: "raft: leader sets matchIndex from its current log length, not from the acknowledged request"},
	{Name: "ack-before-sync", Description: "raft: follower acknowledges AppendEntries before the entries are synced to disk"},
	{Name: "snapshot-offset", Description: "raft: off-by-one converting log index to slice offset after a snapshot"},
}

// entryDigest is the digest of an entry reported to the Observer (hostkit.EntryDigest).
func entryDigest(e *raft.Entry) uint64 {
	return hostkit.EntryDigest(&hostkit.Entry{Type: uint8(e.Type), Data: e.Data})
}

// Limits of one Server.
const (
	// maxReadyRounds bounds the Ready loop after one input; raft hands out at most 4096
	// committed entries per Ready, so a long catch-up takes several rounds, but an endless
	// loop is a bug.
	maxReadyRounds = 1 << 16
)

// Factory returns a sim.Factory building a fresh Server per incarnation, for tests that use the
// host directly. It panics on an invalid configuration.
func Factory(cfg sut.Config) sim.Factory {
	s, err := sut.Lookup(Name)
	if err != nil {
		panic(err)
	}
	f, err := s.Factory(cfg)
	if err != nil {
		panic(err)
	}
	return func(id sim.NodeID) sim.Node { return f(id) }
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
	hostkit.Env // the service's view of the node's sim.Env
	cfg         sut.Config
	bug         raft.Bug
	env         *sim.Env
	id          sim.NodeID
	node        *raft.Node
	store       hostkit.Storage
	// persistEntries is the reused buffer of a Ready's entries in hostkit's form.
	persistEntries []hostkit.Entry
	service        sut.Service
	obs            sut.Observer

	sendBuf []byte
	// applied is the index of the last entry applied or covered by the restored snapshot.
	applied uint64
	// reads are reads raft confirmed whose index is not applied yet.
	reads hostkit.ReadQueue
	// compaction is what the service or the size policy asked for, carried out after the
	// current Ready's Advance.
	compaction hostkit.Compaction
	processing bool
	report     hostkit.Reporter
	stats      Stats
}

func newServer(cfg sut.Config) *Server {
	bug, ok := raft.ParseBug(cfg.Bug)
	if !ok {
		panic(fmt.Sprintf("simhost: unknown raft bug %q", cfg.Bug))
	}
	return &Server{cfg: cfg, bug: bug, obs: cfg.Observer}
}

// Start recovers the node from its disk and starts raft.
func (s *Server) Start(env *sim.Env) {
	s.env = env
	s.id = env.ID()
	s.Bind(env, s.cfg.Peers)
	p, rp := s.store.Load(env.Disk(), s.obs != nil)
	s.stats.RecoveredBytes = int64(rp.ValidBytes)
	s.stats.DiscardedBytes = int64(rp.GarbageBytes)
	s.stats.RecoveredEntries = int64(len(p.Entries))
	if rp.GarbageBytes > 0 && env.Tracing() {
		env.Logf("simhost: dropped a %d-byte bad tail of the raft log after %d valid records", rp.GarbageBytes, rp.Records)
	}
	peers := make([]int, len(s.cfg.Peers))
	for i, p := range s.cfg.Peers {
		peers[i] = int(p)
	}
	var probe func(string)
	if s.cfg.Probe != nil {
		id := s.id
		probe = func(name string) { s.cfg.Probe(id, name) }
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
		Bug:                   s.bug,
		Probe:                 probe,
	}, raftPersisted(&p))
	s.report.Start(s.obs, s.cfg.Clock, env, &s.store, &p)
	s.applied = p.Snapshot.Index
	s.service = s.cfg.NewService(s)
	s.service.Restore(p.Snapshot.Index, p.Snapshot.Data)
	s.env.SetTimer(s.cfg.TickInterval, hostkit.TickTag)
	s.process()
}

// Receive steps raft messages and hands every other payload to the service.
func (s *Server) Receive(from sim.NodeID, payload []byte) {
	if len(payload) == 0 || payload[0] != sut.TagConsensus {
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
	if tag != hostkit.TickTag {
		s.service.Timer(tag)
		return
	}
	s.env.SetTimer(s.cfg.TickInterval, hostkit.TickTag)
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
		if index, data, ok := s.compaction.Take(); ok {
			s.stats.Snapshots++
			s.node.Compact(index, data)
		}
		if !s.node.HasReady() {
			break
		}
		rd := s.node.Ready()
		s.handleReady(&rd)
		s.node.Advance()
	}
	s.processing = false
	if s.obs != nil || s.env.Tracing() {
		s.noteRole()
	}
}

// noteRole reports role and term changes to the observer and notes them in the trace:
// elections and step-downs (CheckQuorum, a lost pre-vote) are what a reader of a failing run
// looks for first.
func (s *Server) noteRole() {
	st := s.node.Status()
	if s.report.RoleChanged(roleOf(st.Role), st.Term) && s.env.Tracing() {
		s.env.Logf("raft: %v in term %d (leader %d)", st.Role, st.Term, st.Lead)
	}
}

func (s *Server) handleReady(rd *raft.Ready) {
	s.stats.ReadyRounds++
	node := int(s.id)
	s.report.Stamp()
	// 1. Persist.
	prd := s.persistReady(rd)
	ch := s.store.Persist(&prd)
	if s.obs != nil {
		s.store.ReportPersisted(s.obs, node, &prd, ch)
	}
	// 2. Sync.
	if rd.MustSync {
		s.store.Sync()
		s.stats.Syncs++
		s.report.Synced(s.store.HardState().Term)
	}
	if s.report.Active() {
		if rd.HardStateChanged {
			s.report.Committed(rd.HardState.Commit)
		}
		st := s.node.Status()
		s.report.Leading(roleOf(st.Role), st.Term)
	}
	// 3. Send.
	for i := range rd.Messages {
		m := &rd.Messages[i]
		s.sendBuf = m.MarshalTo(append(s.sendBuf[:0], sut.TagConsensus))
		s.env.Send(sim.NodeID(m.To), s.sendBuf)
		s.stats.MessagesSent++
	}
	// 4. Install and apply.
	if rd.InstallSnapshot {
		snap := rd.Snapshot
		if snap.Index <= s.applied {
			panic(fmt.Sprintf("simhost: node %d: raft installs a snapshot at index %d but %d is already applied", s.id, snap.Index, s.applied))
		}
		s.service.Restore(snap.Index, snap.Data)
		s.applied = snap.Index
		s.stats.Installs++
	}
	for i := range rd.CommittedEntries {
		e := &rd.CommittedEntries[i]
		if e.Index != s.applied+1 {
			panic(fmt.Sprintf("simhost: node %d: raft hands out entry %d to apply after %d", s.id, e.Index, s.applied))
		}
		s.applied = e.Index // before Apply, so that the service may Compact at e.Index
		s.service.Apply(sut.Entry{Index: e.Index, Term: e.Term, Data: e.Data})
		s.stats.EntriesApplied++
		if s.obs != nil {
			// Hashed from the entry applied, not taken from the persisted copy: a raft that
			// applies something other than what it persisted must be caught.
			s.obs.Applied(node, e.Index, e.Term, entryDigest(e))
		}
	}
	for _, r := range rd.ReadStates {
		s.reads.Add(node, hostkit.WaitingRead{Index: r.Index, Ctx: r.Context})
	}
	s.reads.Release(s.applied, s.service.ReadReady)
	if !s.compaction.Pending() && s.store.WantsCompaction(s.cfg.MaxRaftStateBytes, s.applied) {
		s.Compact(s.applied, s.service.Snapshot())
	}
	// Dead records: rewrite the file compactly, unless a compaction (which replaces the file
	// anyway) is about to happen. An unsynced rewrite is safe: a crash reverts the file to its
	// last synced version.
	if !s.compaction.Pending() && s.store.NeedsRewrite() {
		s.store.Rewrite()
	}
	s.stats.LogRewrites = int64(s.store.Rewrites())
}

// persistReady is what rd asks to persist, in hostkit's form (the entries slice is reused).
func (s *Server) persistReady(rd *raft.Ready) hostkit.Ready {
	s.persistEntries = s.persistEntries[:0]
	for i := range rd.Entries {
		e := &rd.Entries[i]
		s.persistEntries = append(s.persistEntries, hostkit.Entry{Index: e.Index, Term: e.Term, Type: uint8(e.Type), Data: e.Data})
	}
	prd := hostkit.Ready{
		HardState:        hostkit.HardState{Term: rd.HardState.Term, Vote: int64(rd.HardState.Vote), Commit: rd.HardState.Commit},
		HardStateChanged: rd.HardStateChanged,
		Entries:          s.persistEntries,
	}
	if rd.Snapshot != nil {
		prd.Snapshot = &hostkit.Snapshot{Index: rd.Snapshot.Index, Term: rd.Snapshot.Term, Data: rd.Snapshot.Data}
	}
	return prd
}

// raftPersisted is a recovered disk in raft's form.
func raftPersisted(p *hostkit.Persisted) raft.Persisted {
	out := raft.Persisted{
		HardState: raft.HardState{Term: p.HardState.Term, Vote: int(p.HardState.Vote), Commit: p.HardState.Commit},
		Snapshot:  raft.Snapshot{Index: p.Snapshot.Index, Term: p.Snapshot.Term, Data: p.Snapshot.Data},
		Entries:   make([]raft.Entry, len(p.Entries)),
	}
	for i, e := range p.Entries {
		out.Entries[i] = raft.Entry{Index: e.Index, Term: e.Term, Type: raft.EntryType(e.Type), Data: e.Data}
	}
	return out
}

// ---------------------------------------------------------------------------------------
// The Service's handle on its node.

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
// served. A follower asks its leader. It returns false on a candidate, on a follower that
// knows no leader, and when raft's read queue is full.
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
	if s.compaction.Ask(int(s.id), index, s.applied, s.store.BaseIndex(), data) {
		s.process()
	}
}

// Status returns the node's status as the seam reports it.
func (s *Server) Status() sut.Status {
	st := s.node.Status()
	return sut.Status{Role: roleOf(st.Role), Term: st.Term, Lead: sim.NodeID(st.Lead), Commit: st.Commit, Applied: s.applied}
}

// RaftStatus returns raft's own status (raftsim-specific tests and scripts).
func (s *Server) RaftStatus() raft.Status { return s.node.Status() }

func roleOf(r raft.Role) sut.Role {
	switch r {
	case raft.Follower:
		return sut.Follower
	case raft.PreCandidate:
		return sut.PreCandidate
	case raft.Candidate:
		return sut.Candidate
	case raft.Leader:
		return sut.Leader
	}
	panic(fmt.Sprintf("simhost: raft role %v has no seam role", r))
}

// Applied returns the index of the last entry applied (or covered by the loaded snapshot).
func (s *Server) Applied() uint64 { return s.applied }

// RaftStateBytes returns the size of the raft log file.
func (s *Server) RaftStateBytes() int { return s.store.LogBytes() }

// Stats returns this incarnation's counters.
func (s *Server) Stats() Stats { return s.stats }

// Service returns the Service of this incarnation (for inspection by tests and harnesses).
func (s *Server) Service() sut.Service { return s.service }
