package raft

import "strconv"

// None is the node id meaning "no node": no vote cast, no known leader.
const None = -1

// Role is the part a node currently plays in the protocol.
type Role uint8

// The roles of Figure 4 of the Raft paper, plus the pre-vote phase of section 9.6 of
// Ongaro's thesis.
const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

var roleNames = [...]string{"Follower", "PreCandidate", "Candidate", "Leader"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// EntryType tells a service entry from an entry raft writes for itself.
type EntryType uint8

const (
	// EntryNormal carries a command proposed by the service.
	EntryNormal EntryType = iota
	// EntryNoop is the empty entry a new leader appends so that it can commit an entry of its
	// own term (and with it every earlier entry) without waiting for a client.
	EntryNoop
	entryTypeCount
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "EntryNormal"
	case EntryNoop:
		return "EntryNoop"
	}
	return "EntryType(" + strconv.Itoa(int(t)) + ")"
}

// Entry is one slot of the replicated log.
type Entry struct {
	Term, Index uint64
	Type        EntryType
	Data        []byte
}

// HardState is the state of Figure 2 that must be durable: currentTerm and votedFor, plus the
// commit index (an optimisation that lets a restarted node re-apply without waiting).
type HardState struct {
	Term   uint64
	Vote   int // None (-1) when no vote was cast in Term
	Commit uint64
}

// Snapshot is the service state up to and including Index, whose entry had term Term.
type Snapshot struct {
	Index, Term uint64
	Data        []byte
}

// MessageType names the RPC a Message carries.
type MessageType uint8

// The RPCs of Figure 2 (RequestVote, AppendEntries, InstallSnapshot) and their replies, plus
// pre-vote and heartbeats (an AppendEntries without entries that also confirms leadership for
// ReadIndex). InstallSnapshot is answered with MsgAppResp.
const (
	MsgVote MessageType = iota
	MsgVoteResp
	MsgPreVote
	MsgPreVoteResp
	MsgApp
	MsgAppResp
	MsgHeartbeat
	MsgHeartbeatResp
	MsgSnap
	// MsgReadIndex asks the leader for a read index on behalf of a follower (Context: the
	// follower's read); MsgReadIndexResp answers it once leadership is confirmed (Index: the
	// read index). Section 6.4 of Ongaro's thesis.
	MsgReadIndex
	MsgReadIndexResp
	messageTypeCount
)

var messageTypeNames = [...]string{
	"MsgVote", "MsgVoteResp", "MsgPreVote", "MsgPreVoteResp", "MsgApp", "MsgAppResp",
	"MsgHeartbeat", "MsgHeartbeatResp", "MsgSnap", "MsgReadIndex", "MsgReadIndexResp",
}

func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) {
		return messageTypeNames[t]
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Message is one RPC or reply between two nodes.
type Message struct {
	Type     MessageType
	From, To int
	Term     uint64
	// LogTerm/Index: prevLogTerm/prevLogIndex for MsgApp; lastLogTerm/lastLogIndex for votes;
	// for MsgAppResp, Index is the index up to which the follower's log now matches the
	// leader's (success) or the rejected prevLogIndex (Reject).
	LogTerm, Index uint64
	Entries        []Entry
	Commit         uint64
	Reject         bool
	// ConflictTerm/ConflictIndex are the fast-backtracking hint of a rejected MsgApp: the term
	// of the follower's entry at prevLogIndex and the first index it holds of that term, or
	// ConflictTerm 0 and ConflictIndex = lastIndex+1 when the follower's log is too short.
	ConflictTerm, ConflictIndex uint64
	Snapshot                    *Snapshot
	// Context is the ReadIndex round carried by heartbeats and echoed by their replies, or a
	// follower's read in MsgReadIndex and MsgReadIndexResp.
	Context uint64
}

// String renders the message on one line for traces, e.g. "MsgApp 1->2 t3 i5/t2 n2 c4".
func (m Message) String() string {
	var buf [128]byte
	b := append(buf[:0], m.Type.String()...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.From), 10)
	b = append(b, "->"...)
	b = strconv.AppendInt(b, int64(m.To), 10)
	b = append(b, " t"...)
	b = strconv.AppendUint(b, m.Term, 10)
	b = append(b, " i"...)
	b = strconv.AppendUint(b, m.Index, 10)
	b = append(b, "/t"...)
	b = strconv.AppendUint(b, m.LogTerm, 10)
	b = append(b, " n"...)
	b = strconv.AppendInt(b, int64(len(m.Entries)), 10)
	b = append(b, " c"...)
	b = strconv.AppendUint(b, m.Commit, 10)
	if m.Reject {
		b = append(b, " reject ct"...)
		b = strconv.AppendUint(b, m.ConflictTerm, 10)
		b = append(b, " ci"...)
		b = strconv.AppendUint(b, m.ConflictIndex, 10)
	}
	if m.Context != 0 {
		b = append(b, " ctx"...)
		b = strconv.AppendUint(b, m.Context, 10)
	}
	if m.Snapshot != nil {
		b = append(b, " snap i"...)
		b = strconv.AppendUint(b, m.Snapshot.Index, 10)
		b = append(b, "/t"...)
		b = strconv.AppendUint(b, m.Snapshot.Term, 10)
		b = append(b, " len"...)
		b = strconv.AppendInt(b, int64(len(m.Snapshot.Data)), 10)
	}
	return string(b)
}

// Rand is the node's own stream of random numbers (the host passes one derived from the run
// seed). Intn returns a value in [0, n).
type Rand interface{ Intn(n int) int }

// ReadState says that a read issued with ReadIndex(Context) is linearizable once the service
// has applied at least Index.
type ReadState struct {
	Context uint64
	Index   uint64
}

// Persisted is the durable state a node restarts from.
type Persisted struct {
	HardState HardState
	Snapshot  Snapshot // Index 0 = no snapshot
	Entries   []Entry  // the log after Snapshot.Index, contiguous
}

// Ready is the batch of work a node hands to its host; see the package documentation for the
// order in which the host must carry it out.
type Ready struct {
	HardState        HardState
	HardStateChanged bool
	// Entries to persist: drop the durable log from Entries[0].Index on, then append these.
	Entries []Entry
	// Snapshot to persist: the durable log becomes Snapshot followed by Entries.
	Snapshot *Snapshot
	// InstallSnapshot: Snapshot came from the leader and the service must load it (otherwise
	// it is the service's own snapshot from Compact, reported so that the host persists it).
	InstallSnapshot bool
	// CommittedEntries to apply in order, after persisting.
	CommittedEntries []Entry
	// Messages to send only after persisting (and syncing if MustSync).
	Messages   []Message
	ReadStates []ReadState
	// MustSync: the term, vote or log changed, and Messages may promise it is durable.
	MustSync bool
}

// Status is a snapshot of a node's state for monitors and tests.
type Status struct {
	ID                          int
	Role                        Role
	Term                        uint64
	Vote                        int
	Lead                        int
	Commit, Applied             uint64
	FirstIndex, LastIndex       uint64
	SnapshotIndex, SnapshotTerm uint64
	// Limits hit, counted instead of silently ignored.
	ProposalsDropped uint64 // Propose refused: MaxUncommittedEntries reached
	ReadsDropped     uint64 // ReadIndex refused: maxPendingReads reached
	MessagesDropped  uint64 // outgoing message discarded: maxPendingMessages reached
}
