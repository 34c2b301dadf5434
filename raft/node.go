package raft

import (
	"slices"
	"strconv"
)

// Config configures one node.
type Config struct {
	ID    int
	Peers []int // all voters, including ID
	// ElectionTicks: a follower or candidate that hears from no leader starts an election after
	// a timeout drawn from [ElectionTicks, 2*ElectionTicks); a CheckQuorum leader checks its
	// quorum every ElectionTicks.
	ElectionTicks  int
	HeartbeatTicks int // a leader sends heartbeats every HeartbeatTicks; < ElectionTicks
	// PreVote: run a pre-election that changes no term before a real one, so a node that was
	// partitioned away cannot disrupt a stable leader by bumping the term.
	PreVote bool
	// CheckQuorum: a leader that has not heard from a quorum for ElectionTicks steps down, and
	// a node that heard from a leader within ElectionTicks ignores vote requests.
	CheckQuorum      bool
	MaxEntriesPerMsg int // bound on entries per MsgApp (0 = 64)
	MaxInflightMsgs  int // bound on unacknowledged MsgApp per follower (0 = 64)
	// MaxUncommittedEntries bounds the leader's log beyond its commit index: Propose refuses
	// (and counts in Status.ProposalsDropped) when it is reached (0 = 4096).
	MaxUncommittedEntries int
	Rand                  Rand // the node's own random stream (election timeout jitter)
	Bug                   Bug  // planted bug to switch on (BugNone = correct)
	// Probe, when set, is told when the node reaches one of the rare situations of Probes
	// (coverage for test harnesses; nil: off).
	Probe func(name string)
}

const (
	defaultMaxEntriesPerMsg      = 64
	defaultMaxInflightMsgs       = 64
	defaultMaxUncommittedEntries = 4096
	// maxPendingReads bounds ReadIndex requests waiting for their heartbeat quorum.
	maxPendingReads = 4096
	// maxPendingMessages bounds outgoing messages queued for the next Ready; beyond it
	// messages are dropped (Raft tolerates loss) and counted in Status.MessagesDropped.
	maxPendingMessages = 1 << 16
	// maxCommittedEntriesPerReady bounds Ready.CommittedEntries; the rest comes in the next
	// Ready (HasReady stays true).
	maxCommittedEntriesPerReady = 4096
)

// pendingRead is a ReadIndex request waiting for its heartbeat quorum. round 0 means the
// leader has not yet committed an entry of its term, so index is not known yet.
type pendingRead struct {
	context uint64
	index   uint64
	round   uint64
	// from is the follower that asked (MsgReadIndex), or None for a read of this node.
	from int
}

// Node is one Raft server as a deterministic state machine. It is not safe for concurrent use.
type Node struct {
	cfg      Config
	id       int
	peers    []int // sorted voter ids, including id
	selfSlot int   // index of id in peers
	quorum   int

	role Role
	term uint64
	vote int
	lead int

	log    raftLog
	commit uint64
	// applied is the last index the host applied (acknowledged by Advance); applyingTo is the
	// last index handed out in Ready.CommittedEntries or as an installed snapshot.
	applied    uint64
	applyingTo uint64

	// electionElapsedTicks counts ticks since the last reset of the election timer (for a
	// leader: since the last check-quorum round); electionTimeoutTicks is the randomized
	// timeout drawn at each reset.
	electionElapsedTicks  int
	heartbeatElapsedTicks int
	electionTimeoutTicks  int

	progress     []progress // indexed like peers
	matchScratch []uint64

	// ReadIndex state (leader only). readRound numbers heartbeat rounds; readRoundOpen means
	// the heartbeats of readRound have not been handed out yet, so new requests can join it.
	readRound     uint64
	readRoundOpen bool
	pendingReads  []pendingRead
	readHead      int // pendingReads[readHead:] are still waiting
	readStates    []ReadState

	msgs []Message
	// appendsPending: the leader appended entries it has not sent yet (see flushAppends).
	appendsPending bool

	// persistedHardState is the HardState last handed to the host.
	persistedHardState HardState
	// logNeedsSync: the log changed since the last Ready in a way replies may depend on.
	logNeedsSync bool
	// snapshotToReport is a snapshot the host has not been given yet; installFromLeader says
	// it came in a MsgSnap (the service must load it) rather than from Compact.
	snapshotToReport  *Snapshot
	installFromLeader bool

	// Buffers handed out by the outstanding Ready, reused after Advance.
	readyOutstanding bool
	msgsSpare        []Message
	readStatesSpare  []ReadState

	// termFromDisk: the term was recovered at start and has not changed since.
	termFromDisk bool

	proposalsDropped uint64
	readsDropped     uint64
	messagesDropped  uint64
}

// New creates a node from its configuration and the durable state it persisted before (the
// zero Persisted for a fresh node). It panics on an invalid configuration or corrupt state.
func New(cfg Config, p Persisted) *Node {
	cfg = validateConfig(cfg)
	n := &Node{cfg: cfg, id: cfg.ID, lead: None}
	n.peers = slices.Clone(cfg.Peers)
	slices.Sort(n.peers)
	n.selfSlot = slices.Index(n.peers, cfg.ID)
	n.quorum = len(n.peers)/2 + 1
	n.progress = make([]progress, len(n.peers))
	for i := range n.progress {
		n.progress[i].inflight = make([]uint64, cfg.MaxInflightMsgs)
	}
	n.matchScratch = make([]uint64, len(n.peers))

	snap := p.Snapshot
	n.log.snapshot = &snap
	n.log.entries = make([]Entry, 0, len(p.Entries)+64)
	for i := range p.Entries {
		e := p.Entries[i]
		if e.Index != n.log.lastIndex()+1 || e.Term < n.log.lastTerm() || e.Type >= entryTypeCount {
			panic("raft: corrupt persisted log: entry " + strconv.Itoa(i) + " (index " +
				strconv.FormatUint(e.Index, 10) + ", term " + strconv.FormatUint(e.Term, 10) +
				") does not continue snapshot " + strconv.FormatUint(snap.Index, 10) +
				" and the entries before it")
		}
		n.log.entries = append(n.log.entries, e)
	}
	n.log.unstableFrom = n.log.lastIndex() + 1

	hs := p.HardState
	n.term = hs.Term
	n.vote = hs.Vote
	if hs.Term == 0 {
		// No vote can be cast in term 0; this also makes the zero Persisted a fresh node.
		n.vote = None
	}
	if n.vote != None && !slices.Contains(n.peers, n.vote) {
		panic("raft: corrupt persisted state: vote for " + strconv.Itoa(n.vote) + " who is not a peer")
	}
	if n.log.lastTerm() > n.term {
		// Only reachable when the HardState of a newer term was lost (the planted bug
		// vote-no-persist): the log proves the node reached that term.
		n.term = n.log.lastTerm()
		n.vote = None
	}
	// The commit index is volatile in the paper; a persisted one beyond the durable log can
	// only come from writes lost in a crash, so it is clamped to what the log holds.
	if hs.Commit > n.log.lastIndex() {
		n.probe(ProbeCommitClampedOnRestart)
	}
	n.commit = max(snap.Index, min(hs.Commit, n.log.lastIndex()))
	n.termFromDisk = n.term > 0
	n.applied = snap.Index
	n.applyingTo = snap.Index
	n.persistedHardState = hs
	if hs.Term == 0 {
		n.persistedHardState.Vote = None
	}
	n.resetElectionTimeout()
	return n
}

func validateConfig(cfg Config) Config {
	if cfg.Rand == nil {
		panic("raft: Config.Rand is required (the node's random stream)")
	}
	if cfg.ID == None {
		panic("raft: Config.ID must not be None (-1)")
	}
	if !slices.Contains(cfg.Peers, cfg.ID) {
		panic("raft: Config.Peers must include Config.ID " + strconv.Itoa(cfg.ID))
	}
	sorted := slices.Clone(cfg.Peers)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(cfg.Peers) {
		panic("raft: Config.Peers has duplicate ids")
	}
	if slices.Contains(cfg.Peers, None) {
		panic("raft: Config.Peers must not contain None (-1)")
	}
	if cfg.HeartbeatTicks <= 0 || cfg.ElectionTicks <= cfg.HeartbeatTicks {
		panic("raft: need 0 < HeartbeatTicks < ElectionTicks, got HeartbeatTicks=" +
			strconv.Itoa(cfg.HeartbeatTicks) + " ElectionTicks=" + strconv.Itoa(cfg.ElectionTicks))
	}
	if cfg.MaxEntriesPerMsg < 0 || cfg.MaxInflightMsgs < 0 || cfg.MaxUncommittedEntries < 0 {
		panic("raft: negative Config limit")
	}
	if cfg.MaxEntriesPerMsg == 0 {
		cfg.MaxEntriesPerMsg = defaultMaxEntriesPerMsg
	}
	if cfg.MaxInflightMsgs == 0 {
		cfg.MaxInflightMsgs = defaultMaxInflightMsgs
	}
	if cfg.MaxUncommittedEntries == 0 {
		cfg.MaxUncommittedEntries = defaultMaxUncommittedEntries
	}
	if cfg.Bug >= bugCount {
		panic("raft: unknown Config.Bug " + strconv.Itoa(int(cfg.Bug)))
	}
	return cfg
}

func (n *Node) slotOf(id int) int {
	for i, p := range n.peers {
		if p == id {
			return i
		}
	}
	return -1
}

func (n *Node) hardState() HardState {
	return HardState{Term: n.term, Vote: n.vote, Commit: n.commit}
}

// resetElectionTimeout draws a new election timeout in [ElectionTicks, 2*ElectionTicks)
// (section 5.2: randomized so that split votes are rare).
func (n *Node) resetElectionTimeout() {
	n.electionTimeoutTicks = n.cfg.ElectionTicks + n.cfg.Rand.Intn(n.cfg.ElectionTicks)
}

// send queues a message for the next Ready.
func (n *Node) send(m Message) {
	if len(n.msgs) >= maxPendingMessages {
		n.messagesDropped++
		return
	}
	m.From = n.id
	if m.Term == 0 {
		m.Term = n.term
	}
	n.msgs = append(n.msgs, m)
}

// inLease reports whether this node heard from a leader less than an election timeout ago
// (CheckQuorum only): it then ignores vote requests, so that a partitioned node coming back
// with a higher term cannot depose a leader that still has its quorum.
func (n *Node) inLease() bool {
	return n.cfg.CheckQuorum && n.lead != None && n.electionElapsedTicks < n.cfg.ElectionTicks
}

// ---------------------------------------------------------------------------------------
// Role transitions

func (n *Node) becomeFollower(term uint64, lead int) {
	if term < n.term {
		panic("raft: invariant violated: term going back from " + strconv.FormatUint(n.term, 10) +
			" to " + strconv.FormatUint(term, 10))
	}
	if n.role == Leader && n.log.lastIndex() > n.commit {
		n.probe(ProbeLeaderStepsDownUncommitted)
	}
	if term > n.term {
		// Figure 2: votedFor is reset only when the term increases.
		n.term = term
		n.vote = None
		n.termFromDisk = false
	} else if n.cfg.Bug == BugVoteTwice {
		// PLANTED BUG vote-twice: forgets the vote of this term on a step-down without a term
		// change, so the node can grant a second vote in the same term.
		n.vote = None
	}
	n.role = Follower
	n.lead = lead
	n.electionElapsedTicks = 0
	n.heartbeatElapsedTicks = 0
	n.resetElectionTimeout()
	n.dropPendingReads()
}

func (n *Node) resetVotes() {
	for i := range n.progress {
		n.progress[i].vote = 0
	}
	n.progress[n.selfSlot].vote = 1
}

func (n *Node) campaign() {
	if n.cfg.PreVote {
		n.becomePreCandidate()
	} else {
		n.becomeCandidate()
	}
}

func (n *Node) becomePreCandidate() {
	if n.role == Leader {
		panic("raft: invariant violated: leader starting a pre-vote")
	}
	n.role = PreCandidate
	n.lead = None
	n.electionElapsedTicks = 0
	n.resetElectionTimeout()
	n.resetVotes()
	if n.quorum == 1 {
		n.becomeCandidate()
		return
	}
	n.bcastVoteRequest(MsgPreVote, n.term+1)
}

func (n *Node) becomeCandidate() {
	if n.role == Leader {
		panic("raft: invariant violated: leader starting an election")
	}
	n.term++
	n.termFromDisk = false
	n.vote = n.id
	n.role = Candidate
	n.lead = None
	n.electionElapsedTicks = 0
	n.resetElectionTimeout()
	n.resetVotes()
	if n.quorum == 1 {
		n.becomeLeader()
		return
	}
	n.bcastVoteRequest(MsgVote, n.term)
}

func (n *Node) bcastVoteRequest(t MessageType, term uint64) {
	lastIndex, lastTerm := n.log.lastIndex(), n.log.lastTerm()
	for i, id := range n.peers {
		if i == n.selfSlot {
			continue
		}
		n.send(Message{Type: t, To: id, Term: term, LogTerm: lastTerm, Index: lastIndex})
	}
}

func (n *Node) becomeLeader() {
	if n.role != Candidate {
		panic("raft: invariant violated: becoming leader from " + n.role.String())
	}
	n.role = Leader
	n.lead = n.id
	n.electionElapsedTicks = 0
	n.heartbeatElapsedTicks = 0
	last := n.log.lastIndex()
	if last > n.commit {
		n.probe(ProbeLeaderInheritsUncommitted)
	}
	for i := range n.progress {
		pr := &n.progress[i]
		pr.match = 0
		pr.becomeProbe(last + 1)
		pr.recentActive = false
		pr.readAckedRound = 0
	}
	self := &n.progress[n.selfSlot]
	self.match = last
	self.recentActive = true
	n.dropPendingReads()
	// The no-op lets the leader commit an entry of its own term (Figure 8 forbids committing
	// older entries by counting) and with it all earlier ones, and enables ReadIndex.
	n.appendAsLeader(nil, EntryNoop)
}

// ---------------------------------------------------------------------------------------
// Tick

// Tick advances the node's logical clock by one tick.
func (n *Node) Tick() {
	if n.role == Leader {
		n.tickLeader()
		return
	}
	n.electionElapsedTicks++
	if n.electionElapsedTicks >= n.electionTimeoutTicks {
		n.electionElapsedTicks = 0
		n.campaign()
	}
}

func (n *Node) tickLeader() {
	n.heartbeatElapsedTicks++
	n.electionElapsedTicks++
	if n.electionElapsedTicks >= n.cfg.ElectionTicks {
		n.electionElapsedTicks = 0
		if n.cfg.CheckQuorum {
			active := 0
			for i := range n.progress {
				if i == n.selfSlot || n.progress[i].recentActive {
					active++
				}
				n.progress[i].recentActive = false
			}
			n.progress[n.selfSlot].recentActive = true
			if active < n.quorum {
				n.probe(ProbeCheckQuorumStepDown)
				n.becomeFollower(n.term, None)
				return
			}
		}
	}
	for i := range n.progress {
		pr := &n.progress[i]
		if i == n.selfSlot || pr.state != progressSnapshot {
			continue
		}
		pr.snapshotAgeTicks++
		if pr.snapshotAgeTicks >= n.cfg.ElectionTicks {
			// The snapshot or its reply was probably lost: probe again, which resends it.
			n.probe(ProbeSnapshotResent)
			pr.becomeProbe(pr.match + 1)
		}
	}
	if n.heartbeatElapsedTicks >= n.cfg.HeartbeatTicks {
		n.heartbeatElapsedTicks = 0
		n.bcastHeartbeat()
	}
}

func (n *Node) bcastHeartbeat() {
	for i, id := range n.peers {
		if i == n.selfSlot {
			continue
		}
		// A heartbeat is an AppendEntries without entries whose prevLogIndex is the
		// follower's match index: the follower may commit up to min(Commit, Index).
		n.send(Message{Type: MsgHeartbeat, To: id, Index: n.progress[i].match, Commit: n.commit, Context: n.readRound})
	}
}

// ---------------------------------------------------------------------------------------
// Step

// Step processes one received message. Messages not addressed to this node, or from a node
// that is not a peer, are ignored.
func (n *Node) Step(m Message) {
	if m.To != n.id {
		return
	}
	from := n.slotOf(m.From)
	if from < 0 || from == n.selfSlot || m.Type >= messageTypeCount {
		return
	}
	switch {
	case m.Term > n.term:
		if (m.Type == MsgVote || m.Type == MsgPreVote) && n.inLease() {
			n.probe(ProbeVoteIgnoredInLease)
			return
		}
		switch {
		case m.Type == MsgPreVote:
			// A pre-vote changes no term.
		case m.Type == MsgPreVoteResp && !m.Reject:
			// A granted pre-vote carries the term we would campaign in, not a newer term.
		case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap:
			n.becomeFollower(m.Term, m.From)
		default:
			n.becomeFollower(m.Term, None)
		}
	case m.Term < n.term:
		if (n.cfg.CheckQuorum || n.cfg.PreVote) && (m.Type == MsgApp || m.Type == MsgHeartbeat) {
			// A stale leader would otherwise never learn the newer term from a node that
			// ignores it (pre-vote keeps that node from disrupting the others): tell it.
			n.probe(ProbeStaleTermAppend)
			n.send(Message{Type: MsgAppResp, To: m.From})
		} else if m.Type == MsgPreVote {
			n.send(Message{Type: MsgPreVoteResp, To: m.From, Reject: true})
		}
		return
	}

	if m.Type == MsgVote || m.Type == MsgPreVote {
		n.handleVoteRequest(m)
		return
	}
	switch n.role {
	case Leader:
		n.stepLeader(from, m)
	case Candidate, PreCandidate:
		n.stepCandidate(from, m)
	default:
		n.stepFollower(m)
	}
}

func (n *Node) handleVoteRequest(m Message) {
	respType := MsgVoteResp
	if m.Type == MsgPreVote {
		respType = MsgPreVoteResp
	}
	// Figure 2: votedFor is null or candidateId (one vote per term, first come first served);
	// a pre-vote for a future term binds nothing.
	canVote := n.vote == None || n.vote == m.From || (m.Type == MsgPreVote && m.Term > n.term)
	// Section 5.4.1: the candidate's log must be at least as up-to-date as ours.
	lastTerm := n.log.lastTerm()
	upToDate := m.LogTerm > lastTerm || (m.LogTerm == lastTerm && m.Index >= n.log.lastIndex())
	if n.cfg.Bug == BugVoteNoLogCheck {
		// PLANTED BUG vote-no-log-check: grants without comparing logs, so a node missing
		// committed entries can become leader.
		upToDate = true
	}
	if !canVote || !upToDate {
		n.send(Message{Type: respType, To: m.From, Reject: true})
		return
	}
	n.send(Message{Type: respType, To: m.From, Term: m.Term})
	if m.Type == MsgVote && n.termFromDisk {
		n.probe(ProbeVoteAfterRestartSameTerm)
	}
	if m.Type == MsgVote {
		n.electionElapsedTicks = 0
		n.vote = m.From
		if n.cfg.Bug == BugVoteNoPersist {
			// PLANTED BUG vote-no-persist: pretends the new term and vote are already durable,
			// so the Ready does not ask the host to persist or sync them before the reply.
			n.persistedHardState.Term = n.term
			n.persistedHardState.Vote = n.vote
		}
	}
}

func (n *Node) stepFollower(m Message) {
	switch m.Type {
	case MsgApp:
		n.electionElapsedTicks = 0
		n.lead = m.From
		n.handleAppend(m)
	case MsgHeartbeat:
		n.electionElapsedTicks = 0
		n.lead = m.From
		n.handleHeartbeat(m)
	case MsgSnap:
		n.electionElapsedTicks = 0
		n.lead = m.From
		n.handleSnapshot(m)
	case MsgReadIndexResp:
		// The leader of this term confirmed its leadership after the read arrived, and its
		// commit index then is the read index. (A request to a leader we no longer follow is
		// simply not answered.)
		n.readStates = append(n.readStates, ReadState{Context: m.Context, Index: m.Index})
	}
	// Replies addressed to a former role are stale: ignored.
}

func (n *Node) stepCandidate(from int, m Message) {
	switch m.Type {
	case MsgApp:
		// Figure 2: AppendEntries from a leader of our term: it won, return to follower.
		n.probe(ProbeCandidateYieldsSameTerm)
		n.becomeFollower(m.Term, m.From)
		n.handleAppend(m)
	case MsgHeartbeat:
		n.becomeFollower(m.Term, m.From)
		n.handleHeartbeat(m)
	case MsgSnap:
		n.becomeFollower(m.Term, m.From)
		n.handleSnapshot(m)
	case MsgVoteResp:
		if n.role == Candidate {
			n.poll(from, !m.Reject)
		}
	case MsgPreVoteResp:
		// A grant carries term+1 (the term we would campaign in), a rejection our term.
		if n.role == PreCandidate && (m.Reject || m.Term == n.term+1) {
			n.poll(from, !m.Reject)
		}
	}
}

// poll records one peer's answer (the first one counts) and acts on a decided election.
func (n *Node) poll(from int, granted bool) {
	pr := &n.progress[from]
	if pr.vote == 0 {
		pr.vote = -1
		if granted {
			pr.vote = 1
		}
	}
	grants, rejects := 0, 0
	for i := range n.progress {
		switch n.progress[i].vote {
		case 1:
			grants++
		case -1:
			rejects++
		}
	}
	switch {
	case grants >= n.quorum:
		if n.role == PreCandidate {
			n.becomeCandidate()
		} else {
			n.becomeLeader()
		}
	case rejects >= n.quorum:
		n.probe(ProbeElectionLost)
		n.becomeFollower(n.term, None)
	}
}

func (n *Node) stepLeader(from int, m Message) {
	switch m.Type {
	case MsgAppResp:
		n.progress[from].recentActive = true
		n.handleAppendResponse(from, m)
	case MsgHeartbeatResp:
		n.progress[from].recentActive = true
		n.handleHeartbeatResponse(from, m)
	case MsgReadIndex:
		n.startRead(m.Context, m.From) // a full queue drops it: the follower retries
	}
	// MsgApp/MsgHeartbeat/MsgSnap of our own term come from a second leader of this term,
	// which only a planted bug can produce; they are ignored (the checker reports it).
}

// ---------------------------------------------------------------------------------------
// Follower side of replication

func (n *Node) handleAppend(m Message) {
	prev, ents := m.Index, m.Entries
	lastNew := m.Index + uint64(len(m.Entries))
	if len(ents) > 0 && (ents[0].Index != prev+1 || ents[len(ents)-1].Index != lastNew) {
		return // malformed: entries must follow prevLogIndex contiguously
	}
	if lastNew <= n.commit {
		// Everything in it is already committed here: a duplicate or a reordered old request.
		n.probe(ProbeAppendAlreadyCommitted)
		n.send(Message{Type: MsgAppResp, To: m.From, Index: lastNew})
		return
	}
	consistent := false
	if prev < n.commit {
		// Entries up to our commit index are committed, hence identical to the leader's
		// (Leader Completeness): skip them and check from the commit index on.
		if atCommit := &ents[n.commit-prev-1]; atCommit.Term != n.log.mustTerm(n.commit) {
			panic("raft: invariant violated: leader " + strconv.Itoa(m.From) + " of term " +
				strconv.FormatUint(m.Term, 10) + " sends term " + strconv.FormatUint(atCommit.Term, 10) +
				" at index " + strconv.FormatUint(n.commit, 10) + ", committed here with term " +
				strconv.FormatUint(n.log.mustTerm(n.commit), 10) + " (leader completeness)")
		}
		ents = ents[n.commit-prev:]
		prev = n.commit
		consistent = true
		n.probe(ProbeAppendOverlapsCommit)
	} else {
		t, ok := n.log.term(prev)
		consistent = ok && t == m.LogTerm
	}
	if !consistent {
		n.rejectAppend(m)
		return
	}

	if n.cfg.Bug == BugTruncateAlways {
		// PLANTED BUG truncate-always: drops everything after prevLogIndex on every
		// AppendEntries, even entries that match, so a reordered or duplicated old request
		// erases entries this follower already acknowledged.
		if prev < n.log.lastIndex() {
			n.log.truncateFrom(prev + 1)
			n.logNeedsSync = true
		}
	}
	// Figure 2, AppendEntries 3 and 4: delete only from the first real conflict, then append
	// what is new. Matching entries are never truncated.
	last := n.log.lastIndex()
	i := 0
	for ; i < len(ents); i++ {
		e := &ents[i]
		if e.Index > last {
			break
		}
		if n.log.mustTerm(e.Index) != e.Term {
			if e.Index <= n.commit {
				panic("raft: invariant violated: conflicting entry at committed index " +
					strconv.FormatUint(e.Index, 10))
			}
			if n.role == Leader {
				panic("raft: invariant violated: leader truncating its own log (Leader Append-Only)")
			}
			n.probe(ProbeFollowerTruncatesConflict)
			n.log.truncateFrom(e.Index)
			break
		}
	}
	if i < len(ents) {
		n.log.append(ents[i:])
		syncBeforeReply := true
		if n.cfg.Bug == BugAckBeforeSync {
			// PLANTED BUG ack-before-sync: the append is not marked as needing a sync, so the
			// host sends the acknowledgement before the entries are durable.
			syncBeforeReply = false
		}
		if syncBeforeReply {
			n.logNeedsSync = true
		}
	}

	n.followerCommit(m.Commit, lastNew)
	n.send(Message{Type: MsgAppResp, To: m.From, Index: lastNew})
}

// followerCommit applies Figure 2's AppendEntries rule 5: commitIndex =
// min(leaderCommit, index of last new entry), where lastNew is the last index the leader's
// message proves to match its log.
func (n *Node) followerCommit(leaderCommit, lastNew uint64) {
	newCommit := min(leaderCommit, lastNew)
	if n.cfg.Bug == BugCommitNoMin {
		// PLANTED BUG commit-no-min: takes leaderCommit without the min with the last new
		// entry, committing a stale tail the leader never vouched for.
		newCommit = leaderCommit
	}
	// Never beyond our own log (only reachable with a planted bug or a heartbeat that
	// overtook the entries it vouches for).
	newCommit = min(newCommit, n.log.lastIndex())
	if newCommit > n.commit {
		n.commitTo(newCommit)
	}
}

// rejectAppend answers a failed consistency check with the fast-backtracking hint.
func (n *Node) rejectAppend(m Message) {
	resp := Message{Type: MsgAppResp, To: m.From, Index: m.Index, Reject: true}
	last := n.log.lastIndex()
	if t, ok := n.log.term(m.Index); !ok || m.Index > last {
		resp.ConflictIndex = last + 1
	} else {
		// The first index we hold of the conflicting term, never at or below the commit
		// index (those entries match the leader's).
		resp.ConflictTerm = t
		lo := max(n.commit+1, n.log.firstIndex())
		resp.ConflictIndex = n.log.searchFirstTermAtLeast(t, lo, m.Index)
	}
	n.send(resp)
}

func (n *Node) handleHeartbeat(m Message) {
	// Index is our match index: the leader vouches that our log matches its own up to it.
	n.followerCommit(m.Commit, m.Index)
	n.send(Message{Type: MsgHeartbeatResp, To: m.From, Context: m.Context})
}

func (n *Node) handleSnapshot(m Message) {
	s := m.Snapshot
	if s == nil {
		return // malformed
	}
	if s.Index <= n.commit {
		// Nothing new (a duplicate, or we caught up meanwhile): report what matches.
		n.send(Message{Type: MsgAppResp, To: m.From, Index: n.commit})
		return
	}
	// Figure 13: keep the entries after the snapshot if our log has its last entry.
	t, ok := n.log.term(s.Index)
	keep := ok && t == s.Term
	if keep && n.log.lastIndex() > s.Index {
		n.probe(ProbeSnapshotKeepsSuffix)
	} else if !keep && n.log.lastIndex() > n.commit {
		n.probe(ProbeSnapshotReplacesLog)
	}
	n.log.restore(s, keep)
	n.logNeedsSync = true
	n.snapshotToReport = s
	n.installFromLeader = true
	n.commitTo(s.Index)
	// Only the snapshot is known to match the leader (a kept suffix is not verified yet).
	n.send(Message{Type: MsgAppResp, To: m.From, Index: s.Index})
}

func (n *Node) commitTo(index uint64) {
	if index < n.commit {
		panic("raft: invariant violated: commit index decreasing from " +
			strconv.FormatUint(n.commit, 10) + " to " + strconv.FormatUint(index, 10))
	}
	if index > n.log.lastIndex() {
		panic("raft: invariant violated: commit index " + strconv.FormatUint(index, 10) +
			" beyond last index " + strconv.FormatUint(n.log.lastIndex(), 10))
	}
	n.commit = index
}

// ---------------------------------------------------------------------------------------
// Leader side of replication

// appendAsLeader appends one entry of the current term and starts replicating it.
func (n *Node) appendAsLeader(data []byte, t EntryType) uint64 {
	if n.role != Leader {
		panic("raft: invariant violated: appendAsLeader while " + n.role.String())
	}
	index := n.log.lastIndex() + 1
	// Leader Append-Only: the leader only ever appends after its last entry.
	n.log.append([]Entry{{Term: n.term, Index: index, Type: t, Data: data}})
	n.logNeedsSync = true
	n.progress[n.selfSlot].match = index
	// Sending waits for the next Ready, so that proposals made together travel together.
	n.appendsPending = true
	n.maybeCommit()
	return index
}

// flushAppends sends the entries appended since the last Ready to every follower that flow
// control lets through.
func (n *Node) flushAppends() {
	n.appendsPending = false
	if n.role != Leader {
		return
	}
	for i := range n.progress {
		if i == n.selfSlot {
			continue
		}
		for range n.cfg.MaxInflightMsgs {
			if !n.sendAppend(i, false) {
				break
			}
		}
	}
}

// prevLogTerm is the term lookup that fills prevLogTerm, which the follower's consistency
// check compares with its own entry at prevLogIndex.
func (n *Node) prevLogTerm(i uint64) (uint64, bool) {
	if n.cfg.Bug == BugSnapshotOffset && n.log.snapshot.Index > 0 && i > n.log.snapshot.Index && i <= n.log.lastIndex() {
		// PLANTED BUG snapshot-offset: once a snapshot exists, converts index i to slice
		// offset i-snapshotIndex-2 instead of i-snapshotIndex-1 (as if the slice still began
		// with a placeholder for the snapshot entry), so prevLogTerm is the term of entry i-1:
		// a follower whose stale entry at prevLogIndex has that term passes the check.
		return n.log.term(i - 1)
	}
	return n.log.term(i)
}

// sendAppend sends the next MsgApp (or MsgSnap) to a peer unless flow control pauses it.
// With sendIfEmpty it sends even when there are no new entries (a probe, or to carry commit).
func (n *Node) sendAppend(slot int, sendIfEmpty bool) bool {
	pr := &n.progress[slot]
	if pr.paused() {
		return false
	}
	prevIndex := pr.next - 1
	prevTerm, ok := n.prevLogTerm(prevIndex)
	if !ok {
		if prevIndex >= n.log.snapshot.Index {
			panic("raft: invariant violated: nextIndex " + strconv.FormatUint(pr.next, 10) +
				" beyond last index + 1 = " + strconv.FormatUint(n.log.lastIndex()+1, 10))
		}
		// The entries it needs were compacted: send the snapshot instead.
		snap := n.log.snapshot
		n.probe(ProbeSnapshotSent)
		n.send(Message{Type: MsgSnap, To: n.peers[slot], Index: snap.Index, LogTerm: snap.Term, Snapshot: snap})
		pr.becomeSnapshot(snap.Index)
		return true
	}
	hi := min(n.log.lastIndex(), prevIndex+uint64(n.cfg.MaxEntriesPerMsg))
	ents := n.log.slice(pr.next, hi+1)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	n.send(Message{Type: MsgApp, To: n.peers[slot], Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: n.commit})
	switch pr.state {
	case progressReplicate:
		if len(ents) > 0 {
			pr.next = hi + 1
			pr.inflightAdd(hi)
		}
	case progressProbe:
		pr.probeSent = true
	}
	return true
}

func (n *Node) handleAppendResponse(slot int, m Message) {
	pr := &n.progress[slot]
	if m.Reject {
		// Stale rejections (of a request older than the current probe, or below what is
		// already known to match) are ignored.
		if pr.state == progressReplicate {
			if m.Index <= pr.match {
				n.probe(ProbeStaleRejectIgnored)
				return
			}
		} else if m.Index != pr.next-1 {
			n.probe(ProbeStaleRejectIgnored)
			return
		}
		next := m.ConflictIndex
		if m.ConflictTerm != 0 {
			// If we hold entries of the follower's conflicting term, the logs may agree up
			// to our last one of that term; otherwise skip the follower's whole term.
			hi := min(m.Index, n.log.lastIndex())
			lo := n.log.firstIndex()
			if lo <= hi {
				after := n.log.searchFirstTermAtLeast(m.ConflictTerm+1, lo, hi)
				if after > lo && n.log.mustTerm(after-1) == m.ConflictTerm {
					next = after
				} else {
					n.probe(ProbeBacktrackByTerm)
				}
			}
		}
		// The rejected prevLogIndex did not match. (next is not clamped above match: a
		// correct follower never rejects there, and a faulty one is better probed lower.)
		next = max(min(next, m.Index), 1)
		pr.becomeProbe(next)
		n.sendAppend(slot, true)
		return
	}

	newMatch := m.Index // prevLogIndex + len(entries) of the acknowledged request
	if n.cfg.Bug == BugMatchFromCurrent {
		// PLANTED BUG match-from-current: takes the leader's current last index as what the
		// follower holds, whatever request this reply acknowledges (even a stale one).
		newMatch = n.log.lastIndex()
	}
	if newMatch > pr.match {
		pr.match = newMatch
		n.maybeCommit()
	}
	switch pr.state {
	case progressProbe:
		if m.Index >= pr.next-1 { // the answer to the current probe: the logs now agree
			pr.becomeReplicate()
		}
	case progressSnapshot:
		if pr.match >= pr.pendingSnapshot {
			pr.becomeReplicate()
		}
	case progressReplicate:
		pr.next = max(pr.next, pr.match+1)
		pr.inflightFreeTo(m.Index)
	}
	// Stream what is pending; bounded by the inflight window.
	for range n.cfg.MaxInflightMsgs {
		if !n.sendAppend(slot, false) {
			break
		}
	}
}

func (n *Node) handleHeartbeatResponse(slot int, m Message) {
	pr := &n.progress[slot]
	pr.probeSent = false
	if pr.state == progressReplicate && pr.inflightCount == len(pr.inflight) {
		pr.inflightFreeFirst()
	}
	if pr.match < n.log.lastIndex() {
		// The follower is alive but behind: (re)send, which also recovers lost MsgApp.
		n.sendAppend(slot, true)
	}
	if m.Context > pr.readAckedRound {
		pr.readAckedRound = m.Context
		n.advanceReads()
	}
}

// maybeCommit advances the commit index to the highest index stored on a quorum, if that
// entry is of the current term (Figure 8).
func (n *Node) maybeCommit() bool {
	matches := n.matchScratch
	for i := range n.progress {
		matches[i] = n.progress[i].match
	}
	// Insertion sort, descending: clusters are small and this allocates nothing.
	for i := 1; i < len(matches); i++ {
		for j := i; j > 0 && matches[j] > matches[j-1]; j-- {
			matches[j], matches[j-1] = matches[j-1], matches[j]
		}
	}
	quorumIndex := matches[n.quorum-1]
	if quorumIndex <= n.commit {
		return false
	}
	termOK := n.log.mustTerm(quorumIndex) == n.term
	if n.cfg.Bug == BugCommitOldTerm {
		// PLANTED BUG commit-old-term: commits an entry of an earlier term because a quorum
		// stores it, which Figure 8 shows can later be overwritten.
		termOK = true
	}
	if !termOK {
		return false
	}
	if n.log.mustTerm(n.commit+1) != n.term {
		n.probe(ProbeOldTermEntryCommitted)
	}
	n.commitTo(quorumIndex)
	n.startPendingReads()
	return true
}

// ---------------------------------------------------------------------------------------
// Client calls

// Propose appends data as a new entry if this node is the leader, and returns where it will
// be committed if leadership holds. The entry is sent to the followers with the next Ready,
// so proposals made before it travel together. isLeader is false on a non-leader, and also
// when the leader refuses because MaxUncommittedEntries is reached (counted in Status).
func (n *Node) Propose(data []byte) (index, term uint64, isLeader bool) {
	if n.role != Leader {
		return 0, n.term, false
	}
	if n.log.lastIndex()-n.commit >= uint64(n.cfg.MaxUncommittedEntries) {
		n.probe(ProbeProposalRefused)
		n.proposalsDropped++
		return 0, n.term, false
	}
	index = n.appendAsLeader(data, EntryNormal)
	return index, n.term, true
}

// ReadIndex starts a linearizable read: the read index is the leader's commit index once it
// has committed an entry of its term, and leadership is confirmed by a heartbeat round
// acknowledged by a quorum; the result arrives in Ready.ReadStates with the same ctx. A
// follower asks its leader (MsgReadIndex) and gets the index back (MsgReadIndexResp); the
// request or its answer may be lost, so the caller retries. It returns false on a candidate,
// on a follower that knows no leader, and when maxPendingReads is reached.
func (n *Node) ReadIndex(ctx uint64) bool {
	switch {
	case n.role == Follower && n.lead != None:
		n.send(Message{Type: MsgReadIndex, To: n.lead, Context: ctx})
		return true
	case n.role != Leader:
		return false
	}
	return n.startRead(ctx, None)
}

// startRead registers a read of this leader, for itself (from None) or for a follower.
func (n *Node) startRead(ctx uint64, from int) bool {
	if len(n.pendingReads)-n.readHead >= maxPendingReads {
		n.readsDropped++
		return false
	}
	r := pendingRead{context: ctx, from: from}
	if n.committedInCurrentTerm() {
		r.index = n.commit
		r.round = n.openReadRound()
	} else {
		n.probe(ProbeReadWaitsForTermCommit)
	}
	n.pendingReads = append(n.pendingReads, r)
	n.advanceReads()
	return true
}

func (n *Node) committedInCurrentTerm() bool {
	return n.log.mustTerm(n.commit) == n.term
}

// openReadRound returns the round a new read joins: the current one if its heartbeats are
// still queued (they will leave after the read was registered), otherwise a new one.
func (n *Node) openReadRound() uint64 {
	if !n.readRoundOpen {
		n.readRound++
		n.readRoundOpen = true
		n.bcastHeartbeat()
	}
	return n.readRound
}

// startPendingReads gives an index and a round to reads that waited for the first commit of
// this term.
func (n *Node) startPendingReads() {
	if n.readHead == len(n.pendingReads) || n.pendingReads[n.readHead].round != 0 ||
		!n.committedInCurrentTerm() {
		return
	}
	round := n.openReadRound()
	for i := n.readHead; i < len(n.pendingReads) && n.pendingReads[i].round == 0; i++ {
		n.pendingReads[i].index = n.commit
		n.pendingReads[i].round = round
	}
	n.advanceReads()
}

// advanceReads releases, in order, the reads whose round a quorum has acknowledged (an ack of
// a later round also confirms every earlier one).
func (n *Node) advanceReads() {
	for n.readHead < len(n.pendingReads) {
		r := n.pendingReads[n.readHead]
		if r.round == 0 {
			return
		}
		acks := 0
		for i := range n.progress {
			if i == n.selfSlot || n.progress[i].readAckedRound >= r.round {
				acks++
			}
		}
		if acks < n.quorum {
			return
		}
		if r.from == None {
			n.readStates = append(n.readStates, ReadState{Context: r.context, Index: r.index})
		} else {
			n.send(Message{Type: MsgReadIndexResp, To: r.from, Context: r.context, Index: r.index})
		}
		n.readHead++
	}
	n.pendingReads = n.pendingReads[:0]
	n.readHead = 0
}

func (n *Node) dropPendingReads() {
	if n.readHead < len(n.pendingReads) {
		n.probe(ProbeReadsDroppedOnStepDown)
	}
	n.pendingReads = n.pendingReads[:0]
	n.readHead = 0
	for i := range n.progress {
		n.progress[i].readAckedRound = 0
	}
}

// Compact tells raft that the service saved a snapshot (data) of its state at applied index
// index: the log up to index is discarded, and the snapshot is reported in Ready.Snapshot
// (InstallSnapshot false) for the host to persist. Indices at or below the current snapshot
// are ignored; index must have been handed out for applying.
func (n *Node) Compact(index uint64, data []byte) {
	if index <= n.log.snapshot.Index {
		return
	}
	if index > n.applyingTo {
		panic("raft: Compact(" + strconv.FormatUint(index, 10) + ") beyond the last index handed out for apply " +
			strconv.FormatUint(n.applyingTo, 10))
	}
	snap := &Snapshot{Index: index, Term: n.log.mustTerm(index), Data: data}
	n.log.restore(snap, true)
	n.logNeedsSync = true
	n.snapshotToReport = snap
	n.installFromLeader = false
}

// ---------------------------------------------------------------------------------------
// Ready / Advance

// HasReady reports whether Ready has work for the host. It is false while a Ready is
// outstanding (taken but not yet Advanced).
func (n *Node) HasReady() bool {
	if n.readyOutstanding {
		return false
	}
	return len(n.msgs) > 0 || n.appendsPending || n.logNeedsSync || n.snapshotToReport != nil ||
		n.log.unstableFrom <= n.log.lastIndex() || n.commit > n.applyingTo ||
		len(n.readStates) > 0 || n.hardState() != n.persistedHardState
}

// Ready returns the work accumulated since the last Ready. The host must carry it out and
// call Advance before the next Ready.
func (n *Node) Ready() Ready {
	if n.readyOutstanding {
		panic("raft: Ready called again before Advance")
	}
	if n.appendsPending {
		n.flushAppends()
	}
	n.readyOutstanding = true
	hs := n.hardState()
	rd := Ready{
		HardState:        hs,
		HardStateChanged: hs != n.persistedHardState,
		MustSync: n.logNeedsSync || hs.Term != n.persistedHardState.Term ||
			hs.Vote != n.persistedHardState.Vote,
		Messages:   slices.Clip(n.msgs),
		ReadStates: slices.Clip(n.readStates),
	}
	n.persistedHardState = hs
	n.logNeedsSync = false
	if n.snapshotToReport != nil {
		rd.Snapshot = n.snapshotToReport
		rd.InstallSnapshot = n.installFromLeader
		if n.installFromLeader {
			n.applyingTo = max(n.applyingTo, n.snapshotToReport.Index)
		}
		n.snapshotToReport = nil
		n.installFromLeader = false
	}
	if from := n.log.unstableFrom; from <= n.log.lastIndex() {
		rd.Entries = n.log.slice(from, n.log.lastIndex()+1)
		n.log.unstableFrom = n.log.lastIndex() + 1
	}
	if n.commit > n.applyingTo {
		hi := min(n.commit, n.applyingTo+maxCommittedEntriesPerReady)
		rd.CommittedEntries = n.log.slice(n.applyingTo+1, hi+1)
		n.applyingTo = hi
	}
	// Double buffering: new output goes to the spare buffers while the host holds these;
	// Advance makes them the spares again.
	n.msgs, n.msgsSpare = n.msgsSpare[:0], n.msgs
	n.readStates, n.readStatesSpare = n.readStatesSpare[:0], n.readStates
	// The heartbeats of the current read round are handed out: later reads need a new one.
	n.readRoundOpen = false
	return rd
}

// Advance tells the node that the host persisted, sent and applied the last Ready.
func (n *Node) Advance() {
	if !n.readyOutstanding {
		panic("raft: Advance without an outstanding Ready")
	}
	n.readyOutstanding = false
	n.applied = n.applyingTo
	if n.applied > n.commit {
		panic("raft: invariant violated: applied " + strconv.FormatUint(n.applied, 10) +
			" beyond commit " + strconv.FormatUint(n.commit, 10))
	}
	// Reuse the handed-out buffers; clear them so old log arrays can be collected.
	clear(n.msgsSpare)
	n.msgsSpare = n.msgsSpare[:0]
	n.readStatesSpare = n.readStatesSpare[:0]
}

// ---------------------------------------------------------------------------------------
// Inspection

// Status returns the node's current state.
func (n *Node) Status() Status {
	return Status{
		ID: n.id, Role: n.role, Term: n.term, Vote: n.vote, Lead: n.lead,
		Commit: n.commit, Applied: n.applied,
		FirstIndex: n.log.firstIndex(), LastIndex: n.log.lastIndex(),
		SnapshotIndex: n.log.snapshot.Index, SnapshotTerm: n.log.snapshot.Term,
		ProposalsDropped: n.proposalsDropped, ReadsDropped: n.readsDropped,
		MessagesDropped: n.messagesDropped,
	}
}

// Term returns the term of the entry at index if it is in the log or is the snapshot's last
// included entry.
func (n *Node) Term(index uint64) (uint64, bool) {
	return n.log.term(index)
}
