// Package etcd registers etcd-io/raft v3.7 (go.etcd.io/raft/v3 at the version this module
// requires) as the system under test "etcd": the thin layer that converts the library's types
// for the shared host of package etcdhost. Import it for its side effect.
package etcd

import (
	"fmt"
	"math"

	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/etcdhost"
	"github.com/raftsim/raftsim/sut/hostkit"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Name is the SUT name of this layer.
const Name = "etcd"

func init() {
	etcdhost.Register(Name, "etcd-io/raft v3.7.0 (go.etcd.io/raft/v3): RawNode, MemoryStorage, PreVote, CheckQuorum, ReadIndex", library{})
}

type library struct{}

func (library) NewNode(cfg etcdhost.NodeConfig, p *hostkit.Persisted) (etcdhost.Node, error) {
	st := raft.NewMemoryStorage()
	err := st.ApplySnapshot(&pb.Snapshot{
		Data: p.Snapshot.Data,
		Metadata: &pb.SnapshotMetadata{
			ConfState: &pb.ConfState{Voters: cfg.Voters},
			Index:     new(p.Snapshot.Index),
			Term:      new(p.Snapshot.Term),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading the snapshot at %d: %w", p.Snapshot.Index, err)
	}
	if hs := p.HardState; hs.Term > 0 {
		if err := st.SetHardState(&pb.HardState{Term: new(hs.Term), Vote: new(uint64(max(hs.Vote, 0))), Commit: new(hs.Commit)}); err != nil {
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
	if err := proto.Unmarshal(payload[1:], &m); err != nil {
		return sut.Message{}, false
	}
	return etcdhost.DescribedMessage(sut.Message{
		Type: m.GetType().String(), Term: m.GetTerm(), LogTerm: m.GetLogTerm(), Index: m.GetIndex(),
		Commit: m.GetCommit(), Entries: len(m.GetEntries()), Reject: m.GetReject(),
	}, m.GetFrom(), m.GetTo()), true
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
	if err := proto.Unmarshal(msg, &m); err != nil {
		return 0, err
	}
	return m.GetFrom(), n.rn.Step(&m)
}

func (n *node) Propose(data []byte) error { return n.rn.Propose(data) }
func (n *node) ReadIndex(ctx []byte)      { n.rn.ReadIndex(ctx) }
func (n *node) HasReady() bool            { return n.rn.HasReady() }
func (n *node) Advance()                  { n.rn.Advance(n.ready) }

func (n *node) Ready() etcdhost.Ready {
	rd := n.rn.Ready()
	n.ready = rd
	out := etcdhost.Ready{MustSync: rd.MustSync}
	if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("etcd: MemoryStorage refused the snapshot of a Ready: %v", err))
		}
		md := rd.Snapshot.GetMetadata()
		out.Persist.Snapshot = &hostkit.Snapshot{Index: md.GetIndex(), Term: md.GetTerm(), Data: rd.Snapshot.GetData()}
	}
	if len(rd.Entries) > 0 {
		if err := n.storage.Append(rd.Entries); err != nil {
			panic(fmt.Sprintf("etcd: MemoryStorage refused the entries of a Ready: %v", err))
		}
		out.Persist.Entries = fromEntries(rd.Entries)
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			panic(fmt.Sprintf("etcd: MemoryStorage refused the hard state of a Ready: %v", err))
		}
		hs := rd.HardState
		out.Persist.HardState = hostkit.HardState{Term: hs.GetTerm(), Vote: int64(hs.GetVote()), Commit: hs.GetCommit()}
		out.Persist.HardStateChanged = true
	}
	out.Messages = make([]etcdhost.Message, len(rd.Messages))
	for i, m := range rd.Messages {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(fmt.Sprintf("etcd: marshalling %v: %v", m.GetType(), err))
		}
		out.Messages[i] = etcdhost.Message{To: m.GetTo(), Payload: b, Snapshot: m.GetType() == pb.MsgSnap}
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
		if err := proto.Unmarshal(e.Data, &c); err != nil {
			panic(fmt.Sprintf("etcd: committed conf change at %d does not decode: %v", e.Index, err))
		}
		cc = &c
	default:
		var c pb.ConfChangeV2
		if err := proto.Unmarshal(e.Data, &c); err != nil {
			panic(fmt.Sprintf("etcd: committed conf change v2 at %d does not decode: %v", e.Index, err))
		}
		cc = &c
	}
	n.rn.ApplyConfChange(cc)
}

func (n *node) Status() etcdhost.Status {
	st := n.rn.BasicStatus()
	return etcdhost.Status{Role: etcdhost.Role(uint64(st.RaftState)), Term: st.HardState.GetTerm(), Lead: st.Lead, Commit: st.HardState.GetCommit()}
}

func (n *node) Compact(index uint64, data []byte) (hostkit.Snapshot, []hostkit.Entry, error) {
	// The configuration is fixed: the previous snapshot's, that of the initial state.
	prev, err := n.storage.Snapshot()
	if err != nil {
		return hostkit.Snapshot{}, nil, err
	}
	snap, err := n.storage.CreateSnapshot(index, prev.GetMetadata().GetConfState(), data)
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
	md := snap.GetMetadata()
	return hostkit.Snapshot{Index: md.GetIndex(), Term: md.GetTerm(), Data: snap.GetData()}, kept, nil
}

func fromEntries(ents []*pb.Entry) []hostkit.Entry {
	if len(ents) == 0 {
		return nil
	}
	out := make([]hostkit.Entry, len(ents))
	for i, e := range ents {
		out[i] = hostkit.Entry{Index: e.GetIndex(), Term: e.GetTerm(), Type: uint8(e.GetType()), Data: e.GetData()}
	}
	return out
}

func toEntries(ents []hostkit.Entry) []*pb.Entry {
	out := make([]*pb.Entry, len(ents))
	for i := range ents {
		e := &ents[i]
		out[i] = &pb.Entry{Index: new(e.Index), Term: new(e.Term), Type: pb.EntryType(e.Type).Enum(), Data: e.Data}
	}
	return out
}
