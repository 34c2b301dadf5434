// Package etcdhost hosts etcd-io/raft (go.etcd.io/raft/v3) as a system under test, behind the
// seam of package sut: one RawNode per simulated server, driven exactly as the library
// documents it. A tick timer calls Tick; received bytes are unmarshalled and stepped; each Ready
// is handled in order: its snapshot, entries and hard state are written to the node's simulated
// disk (hostkit.Storage) and fsynced when MustSync is set, then its messages are sent (marshalled
// bytes: nodes share no memory), then the snapshot is restored and committed entries applied
// by the sut.Service, then Advance. A crash loses unsynced writes; a restart rebuilds the
// library's MemoryStorage from what the disk kept. Log compaction goes through the library
// (MemoryStorage.CreateSnapshot and Compact, the service's snapshot as Snapshot.Data), and a
// lagging follower gets MsgSnap.
//
// This package is the version-neutral part; a thin Library per version of the module converts
// its types (package sut/etcd for v3.7, the module in sut/etcd36 for v3.6). The cluster is
// fixed: every node starts from the same initial state, a snapshot at index 1 of term 1 whose
// configuration has every peer as a voter (the bootstrap that RawNode.Bootstrap's documentation
// recommends instead of itself). etcd ids are sim node ids plus one (etcd reserves 0 for none).
//
// Determinism. The library keeps no state between nodes but one: it draws every randomized
// election timeout from crypto/rand. Every call into the library therefore runs under
// internal/entropy's lock, with crypto/rand.Reader reading the node's seeded stream. Its log
// output goes to the trace (or nowhere), never to the terminal; its panics propagate and fail
// the run.
package etcdhost

import (
	"fmt"

	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/hostkit"
)

// Library is one version of etcd-io/raft as the host drives it.
type Library interface {
	// NewNode builds a RawNode from a node's recovered state (the initial snapshot included).
	NewNode(cfg NodeConfig, p *hostkit.Persisted) (Node, error)
	// Describe decodes a consensus payload (first byte sut.TagConsensus).
	Describe(payload []byte) (sut.Message, bool)
	// MessageTypeName is the name of raftpb message type t (raftpb.MessageType(t).String()).
	MessageTypeName(t int32) string
}

// NodeConfig is raft.Config in the version-neutral form the host fills in.
type NodeConfig struct {
	ID, Applied                 uint64
	Voters                      []uint64
	ElectionTick, HeartbeatTick int
	PreVote, CheckQuorum        bool
	MaxSizePerMsg               uint64
	MaxInflightMsgs             int
	MaxUncommittedEntriesSize   uint64
	Logger                      *Logger
	DisableProposalForwarding   bool
}

// Node is a RawNode with its MemoryStorage, in the host's terms. Ready returns what to persist
// in hostkit's form and has already made it the MemoryStorage's stable state (the host writes
// the disk before it sends anything, within the same event, so no message can observe the
// difference).
type Node interface {
	Tick()
	// Step unmarshals and steps a received message (the payload after the tag) and returns
	// its sender.
	Step(msg []byte) (from uint64, err error)
	Propose(data []byte) error
	ReadIndex(ctx []byte)
	HasReady() bool
	Ready() Ready
	Advance()
	// ReportSnapshot tells the leader a MsgSnap to `to` was sent (the network may still lose
	// it; the leader then probes again).
	ReportSnapshot(to uint64)
	// ApplyConfChange applies a committed configuration-change entry.
	ApplyConfChange(e *hostkit.Entry)
	Status() Status
	// Compact records data as the snapshot at applied index index and discards the log up to
	// it; it returns the snapshot and the stable entries kept after it.
	Compact(index uint64, data []byte) (hostkit.Snapshot, []hostkit.Entry, error)
}

// Ready is one raft.Ready in the host's terms.
type Ready struct {
	Persist          hostkit.Ready
	MustSync         bool
	Messages         []Message
	CommittedEntries []hostkit.Entry
	ReadStates       []ReadState
}

// Message is an outgoing message, marshalled.
type Message struct {
	To uint64
	// Payload is the marshalled message after sut.TagConsensus.
	Payload  []byte
	Snapshot bool // a MsgSnap: the host reports it sent
}

// ReadState is a confirmed read: its context may be served once Index is applied.
type ReadState struct {
	Index uint64
	Ctx   []byte
}

// Status is the part of raft.Status the host uses.
type Status struct {
	Role   sut.Role
	Term   uint64
	Lead   uint64 // 0: none
	Commit uint64
}

// Entry types of raftpb, as stored in hostkit.Entry.Type (the same numbering in every version).
const (
	EntryNormal       = 0
	EntryConfChange   = 1
	EntryConfChangeV2 = 2
)

// The initial state of every node: a snapshot at (1, 1) holding the cluster's configuration and
// no service data.
const (
	initialIndex = 1
	initialTerm  = 1
)

// Role is the seam's role of a raft.StateType (the same numbering in every version:
// StateFollower, StateCandidate, StateLeader, StatePreCandidate).
func Role(state uint64) sut.Role {
	switch state {
	case 0:
		return sut.Follower
	case 1:
		return sut.Candidate
	case 2:
		return sut.Leader
	case 3:
		return sut.PreCandidate
	}
	panic(fmt.Sprintf("etcdhost: raft state %d has no seam role", state))
}
