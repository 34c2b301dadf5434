// Package etcd36 registers etcd-io/raft v3.6.0 (go.etcd.io/raft/v3 v3.6.0, the version etcd 3.6
// ships) as the system under test "etcd@v3.6.0": the thin layer that converts the library's
// types for the shared host of package etcdhost. v3.6.0 passes messages, entries and states by
// value and marshals with gogo/protobuf, where v3.7 (package sut/etcd) uses pointers and
// google.golang.org/protobuf; Go builds one version of a module at a time, so this layer lives
// in a module of its own, whose cmd/simrun is the simrun that runs it.
package etcd36

import (
	"fmt"
	"math"

	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/etcdhost"
	"github.com/raftsim/raftsim/sut/hostkit"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Name is the SUT name of this layer.
const Name = "etcd@v3.6.0"

func init() {
	etcdhost.Register(Name, "etcd-io/raft v3.6.0, as etcd 3.6 ships it: RawNode, MemoryStorage, PreVote, CheckQuorum, ReadIndex", library{})
}

type library struct{}

func (library) NewNode(cfg etcdhost.NodeConfig, p *hostkit.Persisted) (etcdhost.Node, error) {
	st := raft.NewMemoryStorage()
	err := st.ApplySnapshot(pb.Snapshot{
		Data: p.Snapshot.Data,
		Metadata: pb.SnapshotMetadata{
			ConfState: pb.ConfState{Voters: cfg.Voters},
			Index:     p.Snapshot.Index,
			Term:      p.Snapshot.Term,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading the snapshot at %d: %w", p.Snapshot.Index, err)
	}
	if hs := p.HardState; hs.Term > 0 {
		if err := st.SetHardState(pb.HardState{Term: hs.Term, Vote: uint64(max(hs.Vote, 0)), Commit: hs.Commit}); err != nil {
			return nil, err
		}
	}
	if len(p.Entries) > 0 {
		if err := st.Append(toEntries(p.Entries)); err != nil {
			return nil, fmt.Errorf("loading %d entries: %w", len(p.Entries), err)
		}
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID: cfg.ID, ElectionTick: cfg.ElectionTick, HeartbeatTick: cfg.HeartbeatTick,
		Storage: st, Applied: cfg.Applied,
		MaxSizePerMsg: cfg.MaxSizePerMsg, MaxInflightMsgs: cfg.MaxInflightMsgs,
		MaxUncommittedEntriesSize: cfg.MaxUncommittedEntriesSize,
		CheckQuorum:               cfg.CheckQuorum, PreVote: cfg.PreVote,
		Logger: cfg.Logger, DisableProposalForwarding: cfg.DisableProposalForwarding,
	})
	if err != nil {
		return nil, err
	}
	return &node{rn: rn, storage: st}, nil
}

func (library) Describe(payload []byte) (sut.Message, bool) {
	if len(payload) < 1 || payload[0] != sut.TagConsensus {
		return sut.Message{}, false
	}
	var m pb.Message
	if err := m.Unmarshal(payload[1:]); err != nil {
		return sut.Message{}, false
	}
	return etcdhost.DescribedMessage(sut.Message{
		Type: m.Type.String(), Term: m.Term, LogTerm: m.LogTerm, Index: m.Index,
		Commit: m.Commit, Entries: len(m.Entries), Reject: m.Reject,
	}, m.From, m.To), true
}

func (library) MessageTypeName(t int32) string { return pb.MessageType(t).String() }

type node struct {
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	ready   raft.Ready // the Ready being handled, for Advance
}

func (n *node) Tick() { n.rn.Tick() }

func (n *node) Step(msg []byte) (uint64, error) {
	var m pb.Message
	if err := m.Unmarshal(msg); err != nil {
		return 0, err
	}
	return m.From, n.rn.Step(m)
}

func (n *node) Propose(data []byte) error { return n.rn.Propose(data) }
func (n *node) ReadIndex(ctx []byte)      { n.rn.ReadIndex(ctx) }
func (n *node) HasReady() bool            { return n.rn.HasReady() }
func (n *node) Advance()                  { n.rn.Advance(n.ready) }

func (n *node) Ready() etcdhost.Ready {
	rd := n.rn.Ready()
	n.ready = rd
	out := etcdhost.Ready{MustSync: rd.MustSync}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("etcd36: MemoryStorage refused the snapshot of a Ready: %v", err))
		}
		md := rd.Snapshot.Metadata
		out.Persist.Snapshot = &hostkit.Snapshot{Index: md.Index, Term: md.Term, Data: rd.Snapshot.Data}
	}
	if len(rd.Entries) > 0 {
		if err := n.storage.Append(rd.Entries); err != nil {
			panic(fmt.Sprintf("etcd36: MemoryStorage refused the entries of a Ready: %v", err))
		}
		out.Persist.Entries = fromEntries(rd.Entries)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			panic(fmt.Sprintf("etcd36: MemoryStorage refused the hard state of a Ready: %v", err))
		}
		hs := rd.HardState
		out.Persist.HardState = hostkit.HardState{Term: hs.Term, Vote: int64(hs.Vote), Commit: hs.Commit}
		out.Persist.HardStateChanged = true
	}
	out.Messages = make([]etcdhost.Message, len(rd.Messages))
	for i := range rd.Messages {
		m := &rd.Messages[i]
		b, err := m.Marshal()
		if err != nil {
			panic(fmt.Sprintf("etcd36: marshalling %v: %v", m.Type, err))
		}
		out.Messages[i] = etcdhost.Message{To: m.To, Payload: b, Snapshot: m.Type == pb.MsgSnap}
	}
	out.CommittedEntries = fromEntries(rd.CommittedEntries)
	for _, r := range rd.ReadStates {
		out.ReadStates = append(out.ReadStates, etcdhost.ReadState{Index: r.Index, Ctx: r.RequestCtx})
	}
	return out
}

func (n *node) ReportSnapshot(to uint64) { n.rn.ReportSnapshot(to, raft.SnapshotFinish) }

func (n *node) ApplyConfChange(e *hostkit.Entry) {
	var cc pb.ConfChangeI
	switch e.Type {
	case etcdhost.EntryConfChange:
		var c pb.ConfChange
		if err := c.Unmarshal(e.Data); err != nil {
			panic(fmt.Sprintf("etcd36: committed conf change at %d does not decode: %v", e.Index, err))
		}
		cc = c
	default:
		var c pb.ConfChangeV2
		if err := c.Unmarshal(e.Data); err != nil {
			panic(fmt.Sprintf("etcd36: committed conf change v2 at %d does not decode: %v", e.Index, err))
		}
		cc = c
	}
	n.rn.ApplyConfChange(cc)
}

func (n *node) Status() etcdhost.Status {
	st := n.rn.BasicStatus()
	return etcdhost.Status{Role: etcdhost.Role(uint64(st.RaftState)), Term: st.Term, Lead: st.Lead, Commit: st.Commit}
}

func (n *node) Compact(index uint64, data []byte) (hostkit.Snapshot, []hostkit.Entry, error) {
	// The configuration is fixed: the previous snapshot's, that of the initial state.
	prev, err := n.storage.Snapshot()
	if err != nil {
		return hostkit.Snapshot{}, nil, err
	}
	snap, err := n.storage.CreateSnapshot(index, &prev.Metadata.ConfState, data)
	if err != nil {
		return hostkit.Snapshot{}, nil, err
	}
	if err := n.storage.Compact(index); err != nil {
		return hostkit.Snapshot{}, nil, err
	}
	last, _ := n.storage.LastIndex()
	var kept []hostkit.Entry
	if last > index {
		ents, err := n.storage.Entries(index+1, last+1, math.MaxUint64)
		if err != nil {
			return hostkit.Snapshot{}, nil, err
		}
		kept = fromEntries(ents)
	}
	return hostkit.Snapshot{Index: snap.Metadata.Index, Term: snap.Metadata.Term, Data: snap.Data}, kept, nil
}

func fromEntries(ents []pb.Entry) []hostkit.Entry {
	if len(ents) == 0 {
		return nil
	}
	out := make([]hostkit.Entry, len(ents))
	for i := range ents {
		e := &ents[i]
		out[i] = hostkit.Entry{Index: e.Index, Term: e.Term, Type: uint8(e.Type), Data: e.Data}
	}
	return out
}

func toEntries(ents []hostkit.Entry) []pb.Entry {
	out := make([]pb.Entry, len(ents))
	for i := range ents {
		e := &ents[i]
		out[i] = pb.Entry{Index: e.Index, Term: e.Term, Type: pb.EntryType(e.Type), Data: e.Data}
	}
	return out
}
