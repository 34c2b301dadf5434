package raft

// progressState is how the leader currently replicates to one follower (as in etcd-io/raft).
type progressState uint8

const (
	// progressProbe: the leader does not know where the follower's log matches its own; it
	// sends one MsgApp at a time and waits for the reply (or a heartbeat reply) to send more.
	progressProbe progressState = iota
	// progressReplicate: the logs match up to match; the leader streams entries optimistically,
	// with at most MaxInflightMsgs unacknowledged MsgApp.
	progressReplicate
	// progressSnapshot: the follower needs entries the leader has compacted; a MsgSnap is in
	// flight and nothing else is sent until it is acknowledged or times out.
	progressSnapshot
)

// progress is the leader's view of one peer (Figure 2's nextIndex and matchIndex, plus flow
// control), and the per-peer election and read state kept by every node.
type progress struct {
	match, next uint64
	state       progressState
	// probeSent: in progressProbe, a MsgApp is unanswered; wait for a reply or heartbeat reply.
	probeSent bool
	// pendingSnapshot is the index of the snapshot sent in progressSnapshot, and
	// snapshotAgeTicks how long ago it was sent (it is sent again after an election timeout).
	pendingSnapshot  uint64
	snapshotAgeTicks int
	// recentActive: the peer answered since the last CheckQuorum round.
	recentActive bool
	// readAckedRound is the highest ReadIndex round the peer acknowledged in this term.
	readAckedRound uint64
	// inflight is a ring of the last index of each unacknowledged MsgApp, oldest first.
	inflight      []uint64
	inflightStart int
	inflightCount int
	// vote is this peer's answer in the current election: 0 unknown, +1 granted, -1 rejected.
	vote int8
}

func (pr *progress) paused() bool {
	switch pr.state {
	case progressProbe:
		return pr.probeSent
	case progressReplicate:
		return pr.inflightCount == len(pr.inflight)
	default:
		return true
	}
}

func (pr *progress) becomeProbe(next uint64) {
	pr.state = progressProbe
	pr.next = next
	pr.probeSent = false
	pr.inflightStart, pr.inflightCount = 0, 0
}

func (pr *progress) becomeReplicate() {
	pr.state = progressReplicate
	pr.next = pr.match + 1
	pr.probeSent = false
	pr.inflightStart, pr.inflightCount = 0, 0
}

func (pr *progress) becomeSnapshot(index uint64) {
	pr.state = progressSnapshot
	pr.pendingSnapshot = index
	pr.snapshotAgeTicks = 0
	pr.probeSent = false
	pr.inflightStart, pr.inflightCount = 0, 0
}

func (pr *progress) inflightAdd(lastIndex uint64) {
	if pr.inflightCount == len(pr.inflight) {
		panic("raft: invariant violated: MsgApp sent with the inflight window full")
	}
	pr.inflight[(pr.inflightStart+pr.inflightCount)%len(pr.inflight)] = lastIndex
	pr.inflightCount++
}

// inflightFreeTo forgets the MsgApp whose entries end at or before index (acknowledged).
func (pr *progress) inflightFreeTo(index uint64) {
	for pr.inflightCount > 0 && pr.inflight[pr.inflightStart] <= index {
		pr.inflightStart = (pr.inflightStart + 1) % len(pr.inflight)
		pr.inflightCount--
	}
}

// inflightFreeFirst forgets the oldest MsgApp, presumed lost: the follower answered a
// heartbeat while the window stayed full.
func (pr *progress) inflightFreeFirst() {
	if pr.inflightCount > 0 {
		pr.inflightStart = (pr.inflightStart + 1) % len(pr.inflight)
		pr.inflightCount--
	}
}
