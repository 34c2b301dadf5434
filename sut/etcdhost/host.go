package etcdhost

import (
	"encoding/binary"
	"fmt"

	"github.com/raftsim/raftsim/internal/entropy"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/hostkit"
)

// Settings of every node, as a production deployment sets them (etcd's server: 1 MiB per
// message, 512 messages in flight).
const (
	defaultMaxSizePerMsg   = 1 << 20
	defaultMaxInflightMsgs = 512
	// bytesPerEntry turns sut.Config's entry counts into the library's byte limits: about the
	// size of a KV command (the library always sends at least one entry). The library
	// documents MaxSizePerMsg 0 as "at most one entry per message", but with it a node never
	// applies an entry (BENCHMARKS.md, "etcd-io/raft findings"), so counts map to at least
	// one entry's worth of bytes.
	bytesPerEntry = 64
	// maxReadyRounds bounds the Ready loop after one input; an endless loop is a bug.
	maxReadyRounds = 1 << 16
	// readContextBytes is the size of a read's context: the service's uint64, big-endian.
	readContextBytes = 8
)

// Register registers lib as the SUT name; version layers call it from their init.
func Register(name, description string, lib Library) {
	sut.Register(&sut.SUT{
		Name:        name,
		Description: description,
		NewServer:   func(cfg sut.Config) sut.Server { return &Server{cfg: cfg, lib: lib, obs: cfg.Observer} },
		Describe:    lib.Describe,
		Classify:    classifier(lib),
		// etcd's transport (rafthttp) sends each peer's messages over TCP streams; under
		// per-message reordering a follower rejects every append that overtakes another and
		// the leader falls back to probing one entry per round trip.
		OrderedLinks: true,
	})
}

// Server is one etcd raft peer as a sim.Node (one incarnation).
type Server struct {
	hostkit.Env // the service's view of the node's sim.Env
	cfg         sut.Config
	lib         Library
	env         *sim.Env
	id          sim.NodeID
	node        Node
	logger      Logger
	store       hostkit.Storage
	service     sut.Service
	obs         sut.Observer

	sendBuf []byte
	// applied is the index of the last entry applied or covered by the restored snapshot.
	applied uint64
	reads   hostkit.ReadQueue
	// compaction is what the service or the size policy asked for, carried out before the
	// next Ready.
	compaction hostkit.Compaction
	processing bool
	// proposing is set while Propose handles the Ready of its own proposal, whose last new
	// entry is the proposal (proposedIndex, proposedTerm).
	proposing                   bool
	proposedIndex, proposedTerm uint64
	report                      hostkit.Reporter
}

func etcdID(id sim.NodeID) uint64 { return uint64(id) + 1 }
func simID(id uint64) sim.NodeID  { return sim.NodeID(id) - 1 }

// Start recovers the node from its disk (or the initial state) and starts its RawNode.
func (s *Server) Start(env *sim.Env) {
	s.env, s.id = env, env.ID()
	s.Bind(env, s.cfg.Peers)
	s.logger.env = env
	p, rp := s.store.Load(env.Disk(), s.obs != nil)
	if rp.GarbageBytes > 0 && env.Tracing() {
		env.Logf("etcdhost: dropped a %d-byte bad tail of the raft log after %d valid records", rp.GarbageBytes, rp.Records)
	}
	if p.Snapshot.Index == 0 {
		// First start: persist the cluster's initial state, so that entries follow it on disk.
		initial := hostkit.Ready{Snapshot: &hostkit.Snapshot{Index: initialIndex, Term: initialTerm}}
		s.store.Persist(&initial)
		s.store.Sync()
		p.Snapshot = *initial.Snapshot
	}
	s.report.Start(s.obs, s.cfg.Clock, env, &s.store, &p)
	s.applied = p.Snapshot.Index
	voters := make([]uint64, len(s.cfg.Peers))
	for i, peer := range s.cfg.Peers {
		voters[i] = etcdID(peer)
	}
	cfg := NodeConfig{
		ID: etcdID(s.id), Applied: p.Snapshot.Index, Voters: voters,
		ElectionTick: s.cfg.ElectionTicks, HeartbeatTick: s.cfg.HeartbeatTicks,
		PreVote: !s.cfg.DisablePreVote, CheckQuorum: !s.cfg.DisableCheckQuorum,
		MaxSizePerMsg: defaultMaxSizePerMsg, MaxInflightMsgs: defaultMaxInflightMsgs,
		Logger: &s.logger, DisableProposalForwarding: true,
	}
	if s.cfg.MaxEntriesPerMsg > 0 {
		cfg.MaxSizePerMsg = uint64(s.cfg.MaxEntriesPerMsg) * bytesPerEntry
	}
	if s.cfg.MaxInflightMsgs > 0 {
		cfg.MaxInflightMsgs = s.cfg.MaxInflightMsgs
	}
	if s.cfg.MaxUncommittedEntries > 0 {
		cfg.MaxUncommittedEntriesSize = uint64(s.cfg.MaxUncommittedEntries) * bytesPerEntry
	}
	var node Node
	var err error
	s.call(func() { node, err = s.lib.NewNode(cfg, &p) })
	if err != nil {
		panic(fmt.Sprintf("etcdhost: node %d: the library refused its recovered state: %v", s.id, err))
	}
	s.node = node
	s.service = s.cfg.NewService(s)
	s.service.Restore(p.Snapshot.Index, p.Snapshot.Data)
	env.SetTimer(s.cfg.TickInterval, hostkit.TickTag)
	s.process()
}

// lock and unlock bracket every call into the library (see internal/entropy).
func (s *Server) lock()   { entropy.Lock(s.env.Rand()) }
func (s *Server) unlock() { entropy.Unlock() }

// Receive steps consensus messages and hands every other payload to the service.
func (s *Server) Receive(from sim.NodeID, payload []byte) {
	if len(payload) == 0 || payload[0] != sut.TagConsensus {
		s.service.HandleMessage(from, payload)
		return
	}
	sender, err := s.step(payload[1:])
	if err != nil || sender != etcdID(from) {
		if s.env.Tracing() {
			s.env.Logf("etcdhost: dropped a message from node %d (claims etcd id %d): %v", from, sender, err)
		}
		return
	}
	s.process()
}

func (s *Server) step(msg []byte) (uint64, error) {
	s.lock()
	defer s.unlock()
	return s.node.Step(msg)
}

// Timer drives the library's clock and forwards service timers.
func (s *Server) Timer(tag uint64) {
	if tag != hostkit.TickTag {
		s.service.Timer(tag)
		return
	}
	s.env.SetTimer(s.cfg.TickInterval, hostkit.TickTag)
	s.call(s.node.Tick)
	s.process()
}

// call runs f, a call into the library, under the entropy lock.
func (s *Server) call(f func()) {
	s.lock()
	defer s.unlock()
	f()
}

// process handles Readys until the library has nothing more to do, compacting between Readys
// when asked.
func (s *Server) process() {
	if s.processing {
		return // called back from the service inside the loop: the loop picks the work up
	}
	s.processing = true
	for round := 0; ; round++ {
		if round >= maxReadyRounds {
			panic(fmt.Sprintf("etcdhost: node %d: raft still has work after %d Ready rounds for one input", s.id, round))
		}
		if index, data, ok := s.compaction.Take(); ok {
			s.compact(index, data)
		}
		if !s.hasReady() {
			break
		}
		var rd Ready
		s.call(func() { rd = s.node.Ready() })
		s.handleReady(&rd)
		s.call(s.node.Advance)
	}
	s.processing = false
	if s.obs != nil || s.env.Tracing() {
		s.noteRole()
	}
}

func (s *Server) hasReady() bool {
	s.lock()
	defer s.unlock()
	return s.node.HasReady()
}

func (s *Server) status() Status {
	s.lock()
	defer s.unlock()
	return s.node.Status()
}

// noteRole reports role and term changes to the observer and notes them in the trace.
func (s *Server) noteRole() {
	st := s.status()
	if s.report.RoleChanged(st.Role, st.Term) && s.env.Tracing() {
		s.env.Logf("etcd raft: %v in term %d (leader %d)", st.Role, st.Term, simID(st.Lead))
	}
}

func (s *Server) handleReady(rd *Ready) {
	node := int(s.id)
	s.report.Stamp()
	// 1. Persist.
	ch := s.store.Persist(&rd.Persist)
	if s.obs != nil {
		s.store.ReportPersisted(s.obs, node, &rd.Persist, ch)
	}
	if s.proposing && len(rd.Persist.Entries) > 0 {
		last := rd.Persist.Entries[len(rd.Persist.Entries)-1]
		s.proposedIndex, s.proposedTerm = last.Index, last.Term
	}
	// 2. Sync. MustSync covers the hard state and entries; a snapshot from the leader is
	// acknowledged as soon as this Ready's messages go out, so it must be durable too (etcd's
	// server syncs every snapshot it saves).
	if rd.MustSync || rd.Persist.Snapshot != nil {
		s.store.Sync()
		s.report.Synced(s.store.HardState().Term)
	}
	if s.report.Active() {
		if rd.Persist.HardStateChanged {
			s.report.Committed(rd.Persist.HardState.Commit)
		}
		st := s.status()
		s.report.Leading(st.Role, st.Term)
	}
	// 3. Send.
	for i := range rd.Messages {
		m := &rd.Messages[i]
		s.sendBuf = append(append(s.sendBuf[:0], sut.TagConsensus), m.Payload...)
		s.env.Send(simID(m.To), s.sendBuf)
		if m.Snapshot {
			s.call(func() { s.node.ReportSnapshot(m.To) })
		}
	}
	// 4. Restore and apply.
	if snap := rd.Persist.Snapshot; snap != nil {
		if snap.Index <= s.applied {
			panic(fmt.Sprintf("etcdhost: node %d: raft installs a snapshot at index %d but %d is already applied", s.id, snap.Index, s.applied))
		}
		s.service.Restore(snap.Index, snap.Data)
		s.applied = snap.Index
	}
	for i := range rd.CommittedEntries {
		e := &rd.CommittedEntries[i]
		if e.Index != s.applied+1 {
			panic(fmt.Sprintf("etcdhost: node %d: raft hands out entry %d to apply after %d", s.id, e.Index, s.applied))
		}
		s.applied = e.Index // before Apply, so that the service may Compact at e.Index
		command := e.Data
		if e.Type != EntryNormal {
			s.call(func() { s.node.ApplyConfChange(e) })
			command = nil
		}
		s.service.Apply(sut.Entry{Index: e.Index, Term: e.Term, Data: command})
		if s.obs != nil {
			// Hashed from the entry applied, not taken from the persisted copy.
			s.obs.Applied(node, e.Index, e.Term, hostkit.EntryDigest(e))
		}
	}
	for _, r := range rd.ReadStates {
		if len(r.Ctx) != readContextBytes {
			panic(fmt.Sprintf("etcdhost: node %d: raft confirmed a read with a %d-byte context; the host sends %d bytes", s.id, len(r.Ctx), readContextBytes))
		}
		s.reads.Add(node, hostkit.WaitingRead{Index: r.Index, Ctx: binary.BigEndian.Uint64(r.Ctx)})
	}
	s.reads.Release(s.applied, s.service.ReadReady)
	if !s.compaction.Pending() && s.store.WantsCompaction(s.cfg.MaxRaftStateBytes, s.applied) {
		s.Compact(s.applied, s.service.Snapshot())
	}
	if !s.compaction.Pending() && s.store.NeedsRewrite() {
		s.store.Rewrite()
	}
}

// compact carries out the compaction the service asked for: through the library's storage,
// then on disk (the log file is replaced by the snapshot base and the entries kept).
func (s *Server) compact(index uint64, data []byte) {
	var snap hostkit.Snapshot
	var kept []hostkit.Entry
	var err error
	s.call(func() { snap, kept, err = s.node.Compact(index, data) })
	if err != nil {
		panic(fmt.Sprintf("etcdhost: node %d: compaction at %d: %v", s.id, index, err))
	}
	rd := hostkit.Ready{Snapshot: &snap, Entries: kept}
	ch := s.store.Persist(&rd)
	if s.report.Active() {
		s.report.Stamp()
		s.store.ReportPersisted(s.obs, int(s.id), &rd, ch)
	}
}

// ---------------------------------------------------------------------------------------
// The Service's handle on its node (sut.Host); the rest comes from hostkit.Env.

// Propose proposes data on the leader (proposal forwarding is off: a follower refuses) and
// returns the index and term the entry got, found in the Ready that persists it.
func (s *Server) Propose(data []byte) (index, term uint64, isLeader bool) {
	if len(data) == 0 {
		panic(fmt.Sprintf("etcdhost: node %d: empty proposal (empty entries are the library's own)", s.id))
	}
	if s.processing {
		panic(fmt.Sprintf("etcdhost: node %d: Propose called from inside Ready handling (from Apply, Restore or ReadReady); the host cannot learn the entry's index there", s.id))
	}
	if s.status().Role != sut.Leader {
		return 0, 0, false
	}
	var err error
	s.call(func() { err = s.node.Propose(data) })
	if err != nil {
		return 0, 0, false // dropped: leadership transfer, or the uncommitted-size limit
	}
	s.proposing, s.proposedIndex, s.proposedTerm = true, 0, 0
	s.process()
	s.proposing = false
	if s.proposedIndex == 0 {
		panic(fmt.Sprintf("etcdhost: node %d: the library accepted a proposal but persisted no entry for it", s.id))
	}
	return s.proposedIndex, s.proposedTerm, true
}

// ReadIndex starts a linearizable read; Service.ReadReady(ctx) is called once it may be
// served. On a follower the library forwards it to the leader. false: no leader is known.
func (s *Server) ReadIndex(ctx uint64) bool {
	if s.status().Lead == 0 {
		return false
	}
	var rctx [readContextBytes]byte
	binary.BigEndian.PutUint64(rctx[:], ctx)
	s.call(func() { s.node.ReadIndex(rctx[:]) })
	s.process()
	return true
}

// Compact records that data is the service's snapshot at applied index index; the log up to
// index is discarded before the next Ready.
func (s *Server) Compact(index uint64, data []byte) {
	if s.compaction.Ask(int(s.id), index, s.applied, s.store.BaseIndex(), data) {
		s.process()
	}
}

// Status returns the node's status as the seam reports it.
func (s *Server) Status() sut.Status {
	st := s.status()
	lead := sut.None
	if st.Lead != 0 {
		lead = simID(st.Lead)
	}
	return sut.Status{Role: st.Role, Term: st.Term, Lead: lead, Commit: st.Commit, Applied: s.applied}
}

// RaftStateBytes returns the size of the raft log file.
func (s *Server) RaftStateBytes() int { return s.store.LogBytes() }

// Service returns the Service of this incarnation.
func (s *Server) Service() sut.Service { return s.service }
