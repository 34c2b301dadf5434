// Package sut is the seam between raftsim and the system under test: the consensus library that
// runs on each simulated server. Everything above the seam (the KV service, the harness that
// injects faults and checks runs, the command line) talks to a server only through the
// interfaces of this package; everything below it (a host: the library, its message encoding,
// its persistence on the simulated disk, its clock) is one package per library, registered here
// by name and chosen per run (simrun -sut NAME).
//
// # What a host provides
//
// A host runs one incarnation of one consensus peer as a sim.Node (Server). It must:
//
//   - carry its library's messages over the simulated network as bytes whose first byte is
//     TagConsensus (nodes share no memory), and describe them for traces (SUT.Describe);
//   - persist what its library asks on the node's sim.Disk, and fsync before sending any message
//     that promises durability, so that a crash loses exactly what was not synced;
//   - rebuild the peer from what the disk kept when the node restarts;
//   - drive the library's clock from a sim timer, and draw any randomness from the node's
//     seeded stream (sim.Env.Rand), never from global state: a run is a pure function of its seed;
//   - hand committed entries, snapshots and confirmed reads to the Service in order (below);
//   - report to the Observer what really reached the disk and the state machine (below);
//   - route its library's log output into the trace (or drop it): nothing reaches the terminal;
//   - let panics propagate: the harness turns a panic during a run into a failed run.
//
// # What the service needs (Host and Service)
//
// The replicated application (the KV server, or the log recorder of raft-only runs) sees its
// node through Host: propose a command, start a linearizable read, read the node's status,
// send its own messages and set its own timers, and ask for log compaction. The host calls the
// Service back to apply committed entries, restore a snapshot, take a snapshot, serve a read
// whose index has been applied, and deliver the service's own messages and timers.
//
// # What the online monitor needs (Observer)
//
// Appends and truncations of the persisted log, installed snapshots, leadership, durable
// terms, commit and apply progress, role changes. checker/monitor implements Observer.
//
// # What the harness needs (Server)
//
// Who leads (Status), how large the persisted consensus state is (RaftStateBytes), and the
// node's Service for inspection.
package sut

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
)

// TagConsensus is the first byte of every payload a host sends for its consensus library.
// Payloads with any other first byte belong to the Service; services must not use this tag.
const TagConsensus byte = 'R'

// None is the node id meaning "no node" (no known leader).
const None sim.NodeID = -1

// Role is a peer's role in the protocol.
type Role uint8

// The roles of Figure 4 of the Raft paper, plus the pre-vote phase of section 9.6 of Ongaro's
// thesis.
const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

var roleNames = [...]string{"follower", "pre-candidate", "candidate", "leader"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("sut.Role(%d)", uint8(r))
}

// Status is a peer's view of itself.
type Status struct {
	Role Role
	Term uint64
	// Lead is the leader this peer knows of in Term, or None.
	Lead sim.NodeID
	// Commit is the peer's commit index; Applied the index of the last entry handed to the
	// Service (or covered by the snapshot it restored).
	Commit, Applied uint64
}

// Entry is a committed log entry handed to Service.Apply. Data is the command as proposed, or
// empty for an entry the library writes for itself (a new leader's empty entry, a
// configuration change): such entries occupy an index and are applied as no-ops. Data belongs
// to the host: copy what must be kept.
type Entry struct {
	Index, Term uint64
	Data        []byte
}

// Host is a peer as its Service sees it. Propose, ReadIndex and Compact may be called from the
// Service's HandleMessage and Timer, and from outside the node's callbacks (a script);
// Compact also from Apply.
type Host interface {
	ID() sim.NodeID
	// Peers are the consensus servers of the cluster; do not modify.
	Peers() []sim.NodeID
	// Now is the node's local clock.
	Now() sim.Time
	// Send sends a service payload; its first byte must not be TagConsensus.
	Send(to sim.NodeID, payload []byte)
	// SetTimer arranges for Service.Timer(tag) after the given delay on the node's clock. The
	// tag's top bit is reserved for the host.
	SetTimer(after sim.Time, tag uint64) sim.TimerID
	CancelTimer(id sim.TimerID)
	// Rand is the node's seeded stream (sim.Env.Rand).
	Rand() *sim.Rand
	Tracing() bool
	Logf(format string, args ...any)

	// Propose appends data (non-empty) as a new log entry if this peer leads, and reports the
	// index and term it got. isLeader false: not proposed (not the leader, or the library
	// refused it). The library may keep data: do not modify it afterwards.
	Propose(data []byte) (index, term uint64, isLeader bool)
	// ReadIndex starts a linearizable read identified by ctx; Service.ReadReady(ctx) is called
	// once everything up to the read's index has been applied here. On a follower the library
	// asks the leader. false: no read could start (no leader known, or a queue is full). A
	// read may be lost with the messages that carry it: the service retries with the same ctx.
	ReadIndex(ctx uint64) bool
	// Compact records that data is the service's snapshot at applied index index; the log up
	// to index may then be discarded.
	Compact(index uint64, data []byte)
	Status() Status
}

// Service is the application replicated on one node (one incarnation: a new Service is built
// at every start).
type Service interface {
	// Restore loads the snapshot of the state up to index: at start (index 0 and no data when
	// there is none) and when the leader sends one. A snapshot the library made for itself
	// (its cluster's initial state) has an index and no data: the service's empty state.
	Restore(index uint64, snapshot []byte)
	// Apply applies a committed entry; entries come in index order, each exactly once per
	// incarnation after the snapshot the service restored.
	Apply(e Entry)
	// ReadReady: the read started with Host.ReadIndex(ctx) may now be served from local state.
	ReadReady(ctx uint64)
	// HandleMessage receives a payload whose first byte is not TagConsensus.
	HandleMessage(from sim.NodeID, payload []byte)
	// Timer: a timer set with Host.SetTimer fired.
	Timer(tag uint64)
	// Snapshot returns the service state at the last applied entry, for compaction.
	Snapshot() []byte
}

// Observer is told what each peer persists and applies, in the order it happens. Node ids are
// sim node ids. Digests are the host's digest of an entry's content (the same function for
// every node of a cluster), so that the monitor can tell two entries apart.
type Observer interface {
	// SetNow gives the global virtual time (ns) of the reports that follow.
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
	// RoleChanged: the peer's role or term changed (reported after the change is complete).
	RoleChanged(node int, role Role, term uint64)
}

// Server is one peer incarnation as the harness holds it.
type Server interface {
	sim.Node
	Host
	// RaftStateBytes is the size of the persisted consensus state (log and hard state, not the
	// snapshot), for the snapshot-size check.
	RaftStateBytes() int
	// Service is the Service of this incarnation.
	Service() Service
}

// Config configures every Server of a cluster.
type Config struct {
	// Peers are the sim node ids of the consensus servers.
	Peers []sim.NodeID
	// Timing, in ticks of TickInterval (0: DefaultTickInterval, DefaultElectionTicks,
	// DefaultHeartbeatTicks). A follower campaigns after ElectionTicks to 2*ElectionTicks
	// without hearing from a leader.
	ElectionTicks, HeartbeatTicks int
	TickInterval                  sim.Time
	// PreVote and CheckQuorum are on unless disabled.
	DisablePreVote, DisableCheckQuorum bool
	// MaxEntriesPerMsg bounds the entries of one append message (0: the host's default, as a
	// real deployment would set it). A library that bounds bytes instead approximates it;
	// small values split catch-ups across messages.
	MaxEntriesPerMsg int
	// MaxInflightMsgs and MaxUncommittedEntries are passed to libraries that have them (0: the
	// host's default).
	MaxInflightMsgs, MaxUncommittedEntries int
	// MaxRaftStateBytes: when the persisted log grows past it, the host asks the Service for a
	// snapshot and compacts the log up to the last applied entry. <= 0: never.
	MaxRaftStateBytes int
	// Bug names a planted bug of the library (SUT.Bugs), "" for none.
	Bug string
	// Observer, when set, is told what every node persists and applies.
	Observer Observer
	// Clock is the global virtual clock used to timestamp Observer reports (nodes' own clocks
	// may be skewed). Nil: the node's local clock.
	Clock func() sim.Time
	// Probe, when set, is told when a node's library reaches one of its code probes
	// (SUT.Probes): named rare situations, for coverage reports. Nil: off (a library with
	// probes must then pay no more than a nil check for them).
	Probe func(node sim.NodeID, name string)
	// NewService builds the Service of one incarnation (required).
	NewService func(host Host) Service
}

// Defaults for zero Config fields.
const (
	DefaultTickInterval   = 10 * sim.Millisecond
	DefaultElectionTicks  = 15
	DefaultHeartbeatTicks = 1
)

// WithDefaults returns c with zero timing fields set to their defaults.
func (c Config) WithDefaults() Config {
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
	c = c.WithDefaults()
	switch {
	case len(c.Peers) == 0:
		return fmt.Errorf("sut: Config.Peers is empty")
	case c.TickInterval < 0:
		return fmt.Errorf("sut: Config.TickInterval = %v, want > 0", c.TickInterval)
	case c.HeartbeatTicks <= 0 || c.ElectionTicks <= c.HeartbeatTicks:
		return fmt.Errorf("sut: need 0 < HeartbeatTicks (%d) < ElectionTicks (%d)", c.HeartbeatTicks, c.ElectionTicks)
	case c.MaxEntriesPerMsg < 0 || c.MaxInflightMsgs < 0 || c.MaxUncommittedEntries < 0:
		return fmt.Errorf("sut: negative message or entry limit in Config")
	case c.NewService == nil:
		return fmt.Errorf("sut: Config.NewService is nil (use sut/logapp for raft-only runs)")
	}
	seen := make(map[sim.NodeID]bool, len(c.Peers))
	for _, p := range c.Peers {
		if p < 0 || seen[p] {
			return fmt.Errorf("sut: Config.Peers %v has a negative or duplicate id", c.Peers)
		}
		seen[p] = true
	}
	return nil
}

// Message is a consensus message decoded for traces and timelines.
type Message struct {
	// Type is the library's name for the message type (e.g. "MsgApp").
	Type string
	// Kind classifies Type across libraries.
	Kind                         MessageKind
	From, To                     sim.NodeID
	Term, LogTerm, Index, Commit uint64
	Entries                      int
	Reject                       bool
	// Text is the whole message in the library's words, for a trace line.
	Text string
}

// MessageKind is what a consensus message does, whatever the library calls it.
type MessageKind uint8

const (
	KindOther MessageKind = iota
	KindVote              // a (pre-)vote request
	KindVoteReply
	KindAppend // entries or a probe for them
	KindAppendReply
	KindHeartbeat
	KindHeartbeatReply
	KindSnapshot // a snapshot sent to a follower
	KindReadIndex
	KindReadIndexReply
	KindTimeoutNow
)

var kindNames = [...]string{"other", "vote", "vote-reply", "append", "append-reply", "heartbeat",
	"heartbeat-reply", "snapshot", "read-index", "read-index-reply", "timeout-now"}

func (k MessageKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("sut.MessageKind(%d)", uint8(k))
}

// Request reports whether a message of this kind asks something of its receiver (what the
// 6.5840 tests count as an RPC), as opposed to answering.
func (k MessageKind) Request() bool {
	switch k {
	case KindVote, KindAppend, KindHeartbeat, KindSnapshot, KindReadIndex, KindTimeoutNow:
		return true
	}
	return false
}
