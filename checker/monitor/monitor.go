// Package monitor checks Raft's safety properties online, while a simulation runs.
//
// The host of the system under test reports what its node does (log appends and truncations,
// snapshots, leadership, durable terms, commit and apply progress) through the methods of
// Monitor, which implements sut.Observer. Monitor keeps a compact view of every node's log and flags the first
// violation of:
//
//   - election-safety: at most one leader per term;
//   - log-matching: two logs holding an entry with the same index and term are identical up to
//     and including it (checked with a hash chain over each log: prefix[i] = mix(prefix[i-1],
//     term, digest), compared through a table keyed by (index, term));
//   - leader-completeness: a new leader holds every entry known committed in an earlier term;
//   - state-machine-safety: no two nodes commit or apply different entries at one index;
//   - commit-monotonic, applied-monotonic: within one incarnation of a node, its commit index
//     never decreases and the index it applies strictly increases;
//   - term-monotonic: the term a node makes durable never decreases, across restarts too;
//   - state-divergence: replicas that applied the same index hold the same state-machine state
//     (StateApplied, fed by the replicated service's digest).
//
// Monitor runs inside simulations: it is deterministic (no clock but SetNow, no goroutines, no
// map iteration) and does no I/O. Node ids are 0 .. numNodes-1.
//
// Memory: per node, 24 bytes per log entry above its snapshot; per log index up to the highest
// seen, about 100 bytes (the first chain value seen there, the committed and the applied
// entry); per term, its leader; and one map record per other (index, term) seen in some log
// (entries of deposed leaders) until that index is committed. A run is bounded, and so is this;
// log indices above maxTrackedIndex are refused with a panic rather than grown without limit.
package monitor

import (
	"fmt"

	"github.com/raftsim/raftsim/sut"
)

// The properties a Violation can name.
const (
	PropertyElectionSafety     = "election-safety"
	PropertyLogMatching        = "log-matching"
	PropertyLeaderCompleteness = "leader-completeness"
	PropertyStateMachineSafety = "state-machine-safety"
	PropertyCommitMonotonic    = "commit-monotonic"
	PropertyAppliedMonotonic   = "applied-monotonic"
	PropertyTermMonotonic      = "term-monotonic"
)

// Violation is a broken safety property, as first observed.
type Violation struct {
	Property  string // one of the Property* constants
	Node      int    // the node whose report revealed the violation
	OtherNode int    // the other node involved, or -1
	Term      uint64 // the term concerned, or 0
	Index     uint64 // the log index concerned, or 0
	At        int64  // virtual ns (the last SetNow) at which it was observed
	Message   string // plain words naming nodes, term and index
}

// maxTrackedIndex bounds the log indices the monitor accepts (its per-index records grow with
// the highest index): about 100 bytes per index, so at most ~420 MB.
const maxTrackedIndex = 1 << 22

// Monitor checks Raft safety from the reports of the nodes' hosts. Create it with New.
type Monitor struct {
	nodes       []nodeState
	nowNs       int64
	violation   *Violation
	onViolation func(Violation)

	leaderOfTerm map[uint64]int
	// firstChain holds, by log index, the first entry seen at that index in any anchored log,
	// with that log's chain value there. Other terms seen at the same index (entries of
	// deposed leaders) go to otherChain until the index is committed.
	firstChain pagedRecords[chainRecord]
	otherChain map[entryKey]chainRecord
	committed  pagedRecords[committedRecord]
	// committedMax is the highest index with a committed record.
	committedMax uint64
	applied      pagedRecords[appliedRecord]
	// states holds, by applied index, the first state digest reported there (StateApplied).
	states pagedRecords[stateRecord]
	// maxTermSeen is the highest term reported by any node (durable or as leader). An entry's
	// commit is known no later than in this term when it is first reported committed.
	maxTermSeen uint64
}

type entryKey struct{ index, term uint64 }

type chainRecord struct {
	term, prefix, digest uint64
	node                 int32
	set                  bool
}

type committedRecord struct {
	term, digest uint64
	prefix       uint64 // valid when prefixKnown
	// commitTerm: the entry was committed in this term or earlier, so every leader of a later
	// term must hold it (the highest term seen when it was first reported committed).
	commitTerm  uint64
	node        int32 // the first node that reported it committed
	set         bool
	prefixKnown bool
}

type appliedRecord struct {
	term, digest uint64
	node         int32
	set          bool
}

// logEntry is a node's log entry as the monitor sees it.
type logEntry struct {
	term, digest uint64
	prefix       uint64 // hash chain value of the log up to and including this entry
}

// nodeState is one node's log view and progress. The log view, commit and applied state are
// per incarnation; the persisted term survives restarts, as the disk does.
type nodeState struct {
	base       uint64 // snapshot index: entries up to base are not in the view
	baseTerm   uint64
	basePrefix uint64
	// anchored: basePrefix is the chain value every other log has at base, so this node's chain
	// values can be compared with theirs. A snapshot whose index has no known committed record
	// leaves the view unanchored, and its chain is then not compared.
	anchored bool
	entries  []logEntry // index base+1+i at entries[i]
	// unchainedFrom, when not 0: entries from this index on were kept above a snapshot that
	// replaced their predecessors, and their chain values are stale until settle.
	unchainedFrom uint64

	commitIndex  uint64 // latest reported in this incarnation
	recordedUpTo uint64 // entries up to here were recorded as committed
	lastApplied  uint64
	appliedAny   bool

	persistedTerm uint64 // survives restarts
}

// chainRoot is the chain value of an empty log; chainUnanchoredRoot seeds the chain of a log
// whose snapshot base has no known committed record.
const (
	chainRoot           = 0x6a09e667f3bcc908
	chainUnanchoredRoot = 0xbb67ae8584caa73b
)

// New returns a monitor for numNodes nodes, with ids 0 .. numNodes-1.
func New(numNodes int) *Monitor {
	if numNodes <= 0 {
		panic(fmt.Sprintf("monitor: New(%d): need at least one node", numNodes))
	}
	m := &Monitor{
		nodes:        make([]nodeState, numNodes),
		leaderOfTerm: make(map[uint64]int),
		otherChain:   make(map[entryKey]chainRecord),
	}
	for i := range m.nodes {
		m.nodes[i].resetIncarnation()
	}
	return m
}

func (n *nodeState) resetIncarnation() {
	persistedTerm := n.persistedTerm
	entries := n.entries[:0]
	*n = nodeState{basePrefix: chainRoot, anchored: true, entries: entries, persistedTerm: persistedTerm}
}

func (n *nodeState) lastIndex() uint64 { return n.base + uint64(len(n.entries)) }

// entry returns the view's entry at index, which must be in base+1 .. lastIndex.
func (n *nodeState) entry(index uint64) *logEntry { return &n.entries[index-n.base-1] }

// prefixAt returns the chain value at index, which must be in base .. lastIndex.
func (n *nodeState) prefixAt(index uint64) uint64 {
	if index == n.base {
		return n.basePrefix
	}
	return n.entry(index).prefix
}

// chainHash extends a log's hash chain by one entry (splitmix64 finalizer rounds).
func chainHash(prefix, term, digest uint64) uint64 {
	h := mix64(prefix ^ (term * 0x9e3779b97f4a7c15))
	return mix64(h ^ digest)
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// SetNow sets the virtual time stamped on violations.
func (m *Monitor) SetNow(ns int64) { m.nowNs = ns }

// OnViolation sets a function called once, at the first violation (not called if the first
// violation was already observed).
func (m *Monitor) OnViolation(f func(Violation)) { m.onViolation = f }

// Violation returns the first violation observed, or nil.
func (m *Monitor) Violation() *Violation { return m.violation }

func (m *Monitor) report(v Violation) {
	if m.violation != nil {
		return
	}
	v.At = m.nowNs
	m.violation = &v
	if m.onViolation != nil {
		m.onViolation(v)
	}
}

func (m *Monitor) node(id int) *nodeState {
	if id < 0 || id >= len(m.nodes) {
		panic(fmt.Sprintf("monitor: node id %d out of range 0..%d", id, len(m.nodes)-1))
	}
	return &m.nodes[id]
}

func checkIndex(what string, node int, index uint64) {
	if index == 0 || index > maxTrackedIndex {
		panic(fmt.Sprintf("monitor: %s of node %d at index %d: log indices start at 1 and the monitor tracks at most %d (maxTrackedIndex)",
			what, node, index, maxTrackedIndex))
	}
}

// committedAt returns the committed record at index, or nil if none was ever made there.
func (m *Monitor) committedAt(index uint64) *committedRecord {
	rec := m.committed.get(index)
	if rec == nil || !rec.set {
		return nil
	}
	return rec
}

// recordsPerPage is the page size of pagedRecords.
const recordsPerPage = 1024

// pagedRecords is a table indexed by log index, stored in fixed pages so that growing it never
// copies what is already there.
type pagedRecords[T any] struct {
	pages [][]T
}

// get returns the record at index, or nil if the table does not reach it yet.
func (p *pagedRecords[T]) get(index uint64) *T {
	page := index / recordsPerPage
	if page >= uint64(len(p.pages)) {
		return nil
	}
	return &p.pages[page][index%recordsPerPage]
}

// at returns the record at index, growing the table to reach it.
func (p *pagedRecords[T]) at(index uint64) *T {
	for index/recordsPerPage >= uint64(len(p.pages)) {
		p.pages = append(p.pages, make([]T, recordsPerPage))
	}
	return &p.pages[index/recordsPerPage][index%recordsPerPage]
}

// Restarted starts a new incarnation of node: its log view is emptied (the host then reports
// the recovered snapshot with SnapshotInstalled and the recovered entries with LogAppended) and
// its commit and applied floors reset. Its persisted term is kept.
func (m *Monitor) Restarted(node int) {
	m.node(node).resetIncarnation()
}

// LogTruncated reports that the entries of node's log from fromIndex on were removed. A
// truncation cannot reach into the snapshot: fromIndex must be above the snapshot index (to
// discard the whole log, truncate from the snapshot index + 1).
//
// Removing entries the node has committed is not flagged by itself (a host may discard a log
// the snapshot it is about to install covers); what the node does next is checked: an entry it
// then holds at a committed index must be the committed one.
func (m *Monitor) LogTruncated(node int, fromIndex uint64) {
	n := m.node(node)
	if fromIndex <= n.base {
		panic(fmt.Sprintf("monitor: node %d truncated its log from index %d, inside its snapshot which ends at index %d; truncate from index %d to discard the whole log",
			node, fromIndex, n.base, n.base+1))
	}
	if fromIndex > n.lastIndex() {
		return
	}
	n.entries = n.entries[:fromIndex-n.base-1]
	n.recordedUpTo = min(n.recordedUpTo, fromIndex-1)
	if n.unchainedFrom > n.lastIndex() {
		n.unchainedFrom = 0
	}
}

// LogAppended reports that node appended an entry at index with term and digest (a hash of the
// command, equal on every node for the same entry). index must be the view's last index + 1.
func (m *Monitor) LogAppended(node int, index, term, digest uint64) {
	n := m.node(node)
	checkIndex("append", node, index)
	m.settle(node, n)
	if index != n.lastIndex()+1 {
		panic(fmt.Sprintf("monitor: node %d appended index %d but its log ends at index %d; report LogTruncated first, or every entry in order",
			node, index, n.lastIndex()))
	}
	prefix := chainHash(n.prefixAt(index-1), term, digest)
	n.entries = append(n.entries, logEntry{term: term, digest: digest, prefix: prefix})
	if n.anchored {
		m.checkChain(node, index, term, digest, prefix)
	}
	if index <= n.commitIndex {
		// The node already claims this index committed (it had committed it before a
		// truncation, or its commit index ran ahead of its log): the entry must be the
		// committed one.
		m.recordCommitted(node, index, n.entry(index), n.anchored)
		n.recordedUpTo = max(n.recordedUpTo, index)
	}
}

// checkChain compares an anchored log's chain value at (index, term) with the value any other
// log had there.
func (m *Monitor) checkChain(node int, index, term, digest, prefix uint64) {
	first := m.firstChain.at(index)
	if !first.set {
		*first = chainRecord{term: term, prefix: prefix, digest: digest, node: int32(node), set: true}
		return
	}
	if first.term == term {
		if first.prefix != prefix {
			m.reportChainMismatch(node, int(first.node), index, term, digest, first.digest)
		}
		return
	}
	if rec := m.committedAt(index); rec != nil && rec.prefixKnown && rec.term == term {
		if rec.prefix != prefix {
			m.reportChainMismatch(node, int(rec.node), index, term, digest, rec.digest)
		}
		return
	}
	key := entryKey{index: index, term: term}
	seen, found := m.otherChain[key]
	if !found {
		m.otherChain[key] = chainRecord{term: term, prefix: prefix, digest: digest, node: int32(node), set: true}
		return
	}
	if seen.prefix != prefix {
		m.reportChainMismatch(node, int(seen.node), index, term, digest, seen.digest)
	}
}

// dropOtherChain forgets the otherChain record of a committed (index, term): from now on the
// committed record answers for it.
func (m *Monitor) dropOtherChain(index, term uint64) {
	if first := m.firstChain.get(index); first != nil && first.set && first.term != term {
		delete(m.otherChain, entryKey{index: index, term: term})
	}
}

func (m *Monitor) reportChainMismatch(node, other int, index, term, digest, otherDigest uint64) {
	var message string
	switch {
	case node == other && digest != otherDigest:
		message = fmt.Sprintf("log matching: s%d has held two different entries at index %d in term %d (commands %#x and %#x)",
			node, index, term, otherDigest, digest)
	case node == other:
		message = fmt.Sprintf("log matching: s%d has held the entry at index %d in term %d after two different logs", node, index, term)
	case digest != otherDigest:
		message = fmt.Sprintf("log matching: nodes %d and %d both have an entry at index %d in term %d, but with different commands (%#x and %#x)",
			other, node, index, term, otherDigest, digest)
	default:
		message = fmt.Sprintf("log matching: nodes %d and %d both have the entry at index %d in term %d, but their logs differ before it",
			other, node, index, term)
	}
	m.report(Violation{Property: PropertyLogMatching, Node: node, OtherNode: other, Term: term, Index: index, Message: message})
}

// recordCommitted records that node holds entry at index as committed, checking it against
// what was committed there before.
func (m *Monitor) recordCommitted(node int, index uint64, entry *logEntry, prefixKnown bool) {
	rec := m.committed.at(index)
	if !rec.set {
		m.committedMax = max(m.committedMax, index)
		*rec = committedRecord{
			term: entry.term, digest: entry.digest, prefix: entry.prefix, prefixKnown: prefixKnown,
			commitTerm: m.maxTermSeen, node: int32(node), set: true,
		}
		if prefixKnown {
			m.dropOtherChain(index, entry.term)
		}
		return
	}
	if rec.term != entry.term || rec.digest != entry.digest {
		m.report(Violation{
			Property: PropertyStateMachineSafety, Node: node, OtherNode: int(rec.node), Term: entry.term, Index: index,
			Message: fmt.Sprintf("state machine safety: s%d committed index %d with an entry of term %d (command %#x), but s%d had committed an entry of term %d (command %#x) there",
				node, index, entry.term, entry.digest, rec.node, rec.term, rec.digest),
		})
		return
	}
	if prefixKnown && rec.prefixKnown && rec.prefix != entry.prefix {
		m.reportChainMismatch(node, int(rec.node), index, entry.term, entry.digest, rec.digest)
		return
	}
	if prefixKnown && !rec.prefixKnown {
		rec.prefix, rec.prefixKnown = entry.prefix, true
		m.dropOtherChain(index, entry.term)
	}
}

// SnapshotInstalled reports that node's log up to index (whose entry has term) was replaced by
// a snapshot: its own compaction, one received from the leader, or one recovered after a
// restart. When the log held the entry (index, term), the entries after it are kept; otherwise
// the entries after index that the host keeps (by not reporting LogTruncated) are kept on top
// of the snapshot.
func (m *Monitor) SnapshotInstalled(node int, index, term uint64) {
	n := m.node(node)
	checkIndex("snapshot", node, index)
	m.settle(node, n)
	if index < n.base || (index == n.base && term != n.baseTerm) {
		panic(fmt.Sprintf("monitor: node %d installed a snapshot at index %d term %d over its snapshot at index %d term %d; report Restarted before recovering an older snapshot",
			node, index, term, n.base, n.baseTerm))
	}
	if index == n.base {
		return
	}
	if rec := m.committedAt(index); rec != nil && rec.term != term {
		m.report(Violation{
			Property: PropertyStateMachineSafety, Node: node, OtherNode: int(rec.node), Term: term, Index: index,
			Message: fmt.Sprintf("state machine safety: s%d installed a snapshot ending at index %d in term %d, but s%d had committed an entry of term %d at index %d",
				node, index, term, rec.node, rec.term, index),
		})
	}
	heldEntry := index <= n.lastIndex() && n.entry(index).term == term
	if heldEntry && n.anchored {
		// The log held the snapshot's last entry: the chain above it stays valid.
		n.basePrefix = n.entry(index).prefix
		kept := copy(n.entries, n.entries[index-n.base:])
		n.entries = n.entries[:kept]
		n.base, n.baseTerm = index, term
		return
	}

	// The snapshot replaces a log that did not hold its last entry (or whose chain was not
	// anchored): the entries kept above it are chained again on the new base.
	var kept []logEntry
	if index < n.lastIndex() {
		kept = n.entries[index-n.base:]
	}
	n.base, n.baseTerm = index, term
	if rec := m.committedAt(index); rec != nil && rec.prefixKnown && rec.term == term {
		n.basePrefix, n.anchored = rec.prefix, true
	} else {
		n.basePrefix, n.anchored = chainHash(chainUnanchoredRoot, index, term), false
	}
	count := copy(n.entries, kept)
	n.entries = n.entries[:count]
	n.recordedUpTo = min(n.recordedUpTo, index)
	if count > 0 {
		// Raft discards such a log, and the host normally reports that with LogTruncated right
		// after; only entries still there at the node's next report are chained and checked.
		n.unchainedFrom = index + 1
	}
}

// settle chains again, and checks, the entries a snapshot left on top of a new base (see
// SnapshotInstalled), before anything reads node's chain.
func (m *Monitor) settle(node int, n *nodeState) {
	if n.unchainedFrom == 0 {
		return
	}
	from := n.unchainedFrom
	n.unchainedFrom = 0
	for index := from; index <= n.lastIndex(); index++ {
		e := n.entry(index)
		e.prefix = chainHash(n.prefixAt(index-1), e.term, e.digest)
		if n.anchored {
			m.checkChain(node, index, e.term, e.digest, e.prefix)
		}
	}
}

// RoleChanged is part of the host's report stream (sut.Observer); roles are checked through
// BecameLeader, so the monitor does not need it.
func (m *Monitor) RoleChanged(node int, role sut.Role, term uint64) {}

// BecameLeader reports that node became leader in term.
func (m *Monitor) BecameLeader(node int, term uint64) {
	n := m.node(node)
	m.maxTermSeen = max(m.maxTermSeen, term)
	if other, found := m.leaderOfTerm[term]; !found {
		m.leaderOfTerm[term] = node
	} else if other != node {
		m.report(Violation{
			Property: PropertyElectionSafety, Node: node, OtherNode: other, Term: term,
			Message: fmt.Sprintf("election safety: nodes %d and %d both leader in term %d", other, node, term),
		})
		return
	}
	m.settle(node, n)
	m.checkLeaderCompleteness(node, n, term)
}

// checkLeaderCompleteness checks that a new leader of term holds every entry known committed
// in an earlier term (entries up to its snapshot index are covered by the snapshot, checked
// when it was installed).
func (m *Monitor) checkLeaderCompleteness(node int, n *nodeState, term uint64) {
	// The highest index that must be present. Commit terms grow with the index in practice, so
	// this scan from the top usually stops at once.
	required := uint64(0)
	for i := m.committedMax; i > n.base; i-- {
		if rec := m.committedAt(i); rec != nil && rec.commitTerm < term {
			required = i
			break
		}
	}
	if required <= n.base {
		return
	}
	if rec := m.committedAt(required); n.anchored && rec.prefixKnown && required <= n.lastIndex() && n.entry(required).prefix == rec.prefix {
		return // the chains agree, so every entry up to required matches
	}
	for i := n.base + 1; i <= required; i++ {
		rec := m.committedAt(i)
		if rec == nil || rec.commitTerm >= term {
			continue
		}
		if i > n.lastIndex() {
			m.report(Violation{
				Property: PropertyLeaderCompleteness, Node: node, OtherNode: int(rec.node), Term: term, Index: i,
				Message: fmt.Sprintf("leader completeness: s%d became leader in term %d without the entry committed at index %d (term %d, committed by s%d): its log ends at index %d",
					node, term, i, rec.term, rec.node, n.lastIndex()),
			})
			return
		}
		if e := n.entry(i); e.term != rec.term || e.digest != rec.digest {
			m.report(Violation{
				Property: PropertyLeaderCompleteness, Node: node, OtherNode: int(rec.node), Term: term, Index: i,
				Message: fmt.Sprintf("leader completeness: s%d became leader in term %d holding an entry of term %d at index %d, where s%d had committed an entry of term %d",
					node, term, e.term, i, rec.node, rec.term),
			})
			return
		}
	}
}

// PersistedTerm reports the term node just made durable. It must never decrease, across
// restarts too. Report it before the commits learned in that term (Committed), so that the
// monitor knows in which term entries were committed.
func (m *Monitor) PersistedTerm(node int, term uint64) {
	n := m.node(node)
	m.maxTermSeen = max(m.maxTermSeen, term)
	if term < n.persistedTerm {
		m.report(Violation{
			Property: PropertyTermMonotonic, Node: node, OtherNode: -1, Term: term,
			Message: fmt.Sprintf("term monotonic: s%d persisted term %d after term %d", node, term, n.persistedTerm),
		})
		return
	}
	n.persistedTerm = term
}

// Committed reports node's commit index. It never decreases within an incarnation. The entries
// of node's log up to it are recorded as committed; a committed entry must never change, on
// any node.
func (m *Monitor) Committed(node int, commitIndex uint64) {
	n := m.node(node)
	if commitIndex > maxTrackedIndex {
		checkIndex("commit", node, commitIndex)
	}
	if commitIndex < n.commitIndex {
		m.report(Violation{
			Property: PropertyCommitMonotonic, Node: node, OtherNode: -1, Index: commitIndex,
			Message: fmt.Sprintf("commit monotonic: s%d's commit index went back from %d to %d", node, n.commitIndex, commitIndex),
		})
		return
	}
	n.commitIndex = commitIndex
	m.settle(node, n)
	upTo := min(commitIndex, n.lastIndex())
	for i := max(n.recordedUpTo, n.base) + 1; i <= upTo; i++ {
		m.recordCommitted(node, i, n.entry(i), n.anchored)
	}
	n.recordedUpTo = max(n.recordedUpTo, upTo)
}

// Applied reports that node applied the entry at index (term, digest) to its state machine.
// Within an incarnation the applied index strictly increases; after a restart it may start
// again from the snapshot. No two nodes may apply different entries at one index, and an
// applied entry must be the one committed there.
func (m *Monitor) Applied(node int, index, term, digest uint64) {
	n := m.node(node)
	checkIndex("apply", node, index)
	if n.appliedAny && index <= n.lastApplied {
		m.report(Violation{
			Property: PropertyAppliedMonotonic, Node: node, OtherNode: -1, Term: term, Index: index,
			Message: fmt.Sprintf("applied monotonic: s%d applied index %d after index %d", node, index, n.lastApplied),
		})
		return
	}
	n.lastApplied, n.appliedAny = index, true
	if rec := m.applied.at(index); !rec.set {
		*rec = appliedRecord{term: term, digest: digest, node: int32(node), set: true}
	} else if rec.term != term || rec.digest != digest {
		m.report(Violation{
			Property: PropertyStateMachineSafety, Node: node, OtherNode: int(rec.node), Term: term, Index: index,
			Message: fmt.Sprintf("state machine safety: nodes %d and %d applied different commands at index %d (term %d command %#x, term %d command %#x)",
				rec.node, node, index, rec.term, rec.digest, term, digest),
		})
		return
	}
	if rec := m.committedAt(index); rec != nil && (rec.term != term || rec.digest != digest) {
		m.report(Violation{
			Property: PropertyStateMachineSafety, Node: node, OtherNode: int(rec.node), Term: term, Index: index,
			Message: fmt.Sprintf("state machine safety: s%d applied at index %d an entry of term %d (command %#x), but s%d had committed an entry of term %d (command %#x) there",
				node, index, term, digest, rec.node, rec.term, rec.digest),
		})
	}
}

// PropertyStateDivergence: two replicas that applied the same log index hold different
// state-machine states (compared by the service's state digest), or, after the final heal,
// the live replicas do not reach the same applied index and state.
const PropertyStateDivergence = "state-divergence"

type stateRecord struct {
	digest uint64
	node   int32
	set    bool
}

// StateApplied reports the digest of node's replicated state machine after it applied index
// (the service's digest, not the entry's). The first digest reported at an index is the
// reference: another node reporting a different one there fails state-divergence. Report it
// after Applied of the same index, so that two different commands at an index are reported
// as the state-machine-safety violation they are.
func (m *Monitor) StateApplied(node int, index, digest uint64) {
	m.node(node)
	checkIndex("state digest", node, index)
	rec := m.states.at(index)
	if !rec.set {
		*rec = stateRecord{digest: digest, node: int32(node), set: true}
		return
	}
	if rec.digest != digest {
		m.report(Violation{
			Property: PropertyStateDivergence, Node: node, OtherNode: int(rec.node), Index: index,
			Message: fmt.Sprintf("state divergence: nodes %d and %d applied the same entries up to index %d but their state machines differ (state digest %#x vs %#x)",
				rec.node, node, index, rec.digest, digest),
		})
	}
}

// ReportStateDivergence reports a divergence found outside StateApplied (the final comparison
// of the replicas' states, which the harness makes).
func (m *Monitor) ReportStateDivergence(node, other int, index uint64, message string) {
	m.report(Violation{Property: PropertyStateDivergence, Node: node, OtherNode: other, Index: index, Message: message})
}
