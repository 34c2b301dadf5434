// Package logapp is the trivial replicated application of raft-only runs (the 6.5840 Raft
// tests): each node's Service keeps the index of the last entry it applied and a hash chain over
// every applied entry (its whole state, and what goes into its snapshots); a Recorder shared by
// the nodes, owned by the test, records what each applied and checks as it goes that no two
// nodes apply different entries at one index, that no node applies out of order, and that a
// snapshot matches the entries it covers (6.5840's applyCh bookkeeping: checkLogs, nCommitted).
// It runs on any system under test through package sut.
package logapp

import (
	"encoding/binary"
	"fmt"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// TagPropose is the first byte of a payload asking a Service to propose the rest of the
// payload (ignored by a node that is not the leader), so that a raft-only run can be driven
// by an ordinary client node.
const TagPropose byte = 'P'

// Recorder is the trivial replicated application of raft-only runs, seen from outside: it
// records what every node's Service applied, across crashes and restarts, and checks as it
// goes that no two nodes apply different entries at one index (6.5840's checkLogs). It plays
// the part of the 6.5840 Raft test harness's applyCh bookkeeping (nCommitted, one()).
//
// It is instrumentation owned by the test or harness, shared by the nodes' services; the
// services' own state (applied index and a hash chain of the applied entries) is what goes into
// their snapshots, so a restored snapshot is checked against the entries it claims to cover.
type Recorder struct {
	byIndex []recordedEntry // [i-1] is what was first applied at index i
	covered []uint64        // per node: highest index its state machine ever covered
	applies int64
	reads   []ServedRead
	err     error
}

type recordedEntry struct {
	set     bool
	node    int
	term    uint64
	command bool // false for an entry the library wrote for itself (empty data)
	data    string
	chain   uint64 // hash chain of the entries up to and including this one
}

// ServedRead is a read a Service served (ReadReady), with the index it had applied.
type ServedRead struct {
	Node    int
	Context uint64
	Applied uint64
}

// New returns a recorder for nodes 0..numNodes-1.
func New(numNodes int) *Recorder {
	return &Recorder{covered: make([]uint64, numNodes)}
}

// Service returns a Config.NewService building Services that report to r. With
// snapshotEvery > 0 each service compacts after every snapshotEvery-th index (as 6.5840's
// snapshot tests do every 10 entries); the host's MaxRaftStateBytes policy applies as well.
func (r *Recorder) Service(snapshotEvery int) func(host sut.Host) sut.Service {
	if snapshotEvery < 0 {
		panic("logapp: Recorder.Service with a negative snapshotEvery")
	}
	return func(host sut.Host) sut.Service {
		node := int(host.ID())
		if node < 0 || node >= len(r.covered) {
			panic(fmt.Sprintf("logapp: Recorder for %d nodes used by node %d", len(r.covered), node))
		}
		return &Service{host: host, rec: r, node: node, snapshotEvery: uint64(snapshotEvery)}
	}
}

// Err returns the first disagreement found (nil if none): two nodes applied different entries
// at one index, a node applied out of order, or a snapshot did not match the entries it covers.
func (r *Recorder) Err() error { return r.err }

func (r *Recorder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// NCommitted returns how many nodes have applied index (directly or through a snapshot that
// covers it) and the data of the entry there (6.5840's nCommitted).
func (r *Recorder) NCommitted(index uint64) (count int, data string) {
	for _, c := range r.covered {
		if c >= index {
			count++
		}
	}
	if index >= 1 && index <= uint64(len(r.byIndex)) && r.byIndex[index-1].set {
		data = r.byIndex[index-1].data
	}
	return count, data
}

// Entry returns what was applied at index (ok false if no node applied it yet).
func (r *Recorder) Entry(index uint64) (term uint64, command bool, data string, ok bool) {
	if index == 0 || index > uint64(len(r.byIndex)) || !r.byIndex[index-1].set {
		return 0, false, "", false
	}
	e := &r.byIndex[index-1]
	return e.term, e.command, e.data, true
}

// IndexOf returns the first index at which an EntryNormal with this data was applied.
func (r *Recorder) IndexOf(data string) (uint64, bool) {
	for i := range r.byIndex {
		if e := &r.byIndex[i]; e.set && e.command && e.data == data {
			return uint64(i + 1), true
		}
	}
	return 0, false
}

// MaxIndex returns the highest index any node applied.
func (r *Recorder) MaxIndex() uint64 { return uint64(len(r.byIndex)) }

// Covered returns the highest index node's state machine ever covered.
func (r *Recorder) Covered(node int) uint64 { return r.covered[node] }

// Applies returns the number of Apply calls over all nodes and incarnations.
func (r *Recorder) Applies() int64 { return r.applies }

// Reads returns the reads served so far, in order.
func (r *Recorder) Reads() []ServedRead { return r.reads }

func chainNext(chain uint64, e *sut.Entry) uint64 {
	const prime64 = 1099511628211
	h := chain ^ e.Index
	h *= prime64
	h ^= entryDigest(e)
	h *= prime64
	return h
}

func (r *Recorder) applied(node int, e *sut.Entry, chain uint64) {
	r.applies++
	for uint64(len(r.byIndex)) < e.Index {
		r.byIndex = append(r.byIndex, recordedEntry{})
	}
	rec := &r.byIndex[e.Index-1]
	if !rec.set {
		*rec = recordedEntry{set: true, node: node, term: e.Term, command: len(e.Data) > 0, data: string(e.Data), chain: chain}
	} else if rec.term != e.Term || rec.data != string(e.Data) {
		r.fail("commit index=%d server=%d applied term %d %q != server=%d applied term %d %q",
			e.Index, node, e.Term, e.Data, rec.node, rec.term, rec.data)
	} else if rec.chain != chain {
		r.fail("server=%d applied index %d on top of a state that differs from server=%d's (hash chain mismatch)",
			node, e.Index, rec.node)
	}
	r.covered[node] = max(r.covered[node], e.Index)
}

// initial records that node starts from the library's initial state up to index: those
// indices hold no commands.
func (r *Recorder) initial(node int, index uint64) {
	for uint64(len(r.byIndex)) < index {
		r.byIndex = append(r.byIndex, recordedEntry{set: true, node: node})
	}
	r.covered[node] = max(r.covered[node], index)
}

func (r *Recorder) restored(node int, index, chain uint64) {
	if index == 0 {
		return
	}
	if index <= uint64(len(r.byIndex)) && r.byIndex[index-1].set && r.byIndex[index-1].chain != chain {
		r.fail("server=%d restored a snapshot at index %d that does not match the entries applied up to it (hash chain mismatch)", node, index)
	}
	r.covered[node] = max(r.covered[node], index)
}

// Service is the Service of raft-only runs: its state is the index of the last applied
// entry and a hash chain over all applied entries; it reports every apply to its Recorder.
type Service struct {
	host          sut.Host
	rec           *Recorder
	node          int
	snapshotEvery uint64
	lastIndex     uint64
	chain         uint64
}

const logServiceSnapshotBytes = 16

// Restore loads (index, chain) from a snapshot. A snapshot with no data is the library's
// initial state up to index (entries no service applied): the chain starts after it.
func (l *Service) Restore(index uint64, snapshot []byte) {
	l.lastIndex, l.chain = index, 0
	if len(snapshot) == 0 {
		l.rec.initial(l.node, index)
		return
	}
	if len(snapshot) != logServiceSnapshotBytes {
		panic(fmt.Sprintf("logapp: Service snapshot of %d bytes, want %d", len(snapshot), logServiceSnapshotBytes))
	}
	l.lastIndex = binary.LittleEndian.Uint64(snapshot)
	l.chain = binary.LittleEndian.Uint64(snapshot[8:])
	if l.lastIndex != index {
		l.rec.fail("server %d restored a snapshot of index %d that says it holds index %d", l.node, index, l.lastIndex)
	}
	l.rec.restored(l.node, l.lastIndex, l.chain)
}

// Apply extends the chain and records the entry.
func (l *Service) Apply(e sut.Entry) {
	if e.Index != l.lastIndex+1 {
		l.rec.fail("server %d apply out of order: index %d after %d", l.node, e.Index, l.lastIndex)
	}
	l.chain = chainNext(l.chain, &e)
	l.lastIndex = e.Index
	l.rec.applied(l.node, &e, l.chain)
	if l.snapshotEvery > 0 && e.Index%l.snapshotEvery == 0 {
		l.host.Compact(e.Index, l.Snapshot())
	}
}

// ReadReady records the served read.
func (l *Service) ReadReady(ctx uint64) {
	l.rec.reads = append(l.rec.reads, ServedRead{Node: l.node, Context: ctx, Applied: l.lastIndex})
}

// HandleMessage proposes the data of a TagPropose payload; other payloads are ignored.
func (l *Service) HandleMessage(from sim.NodeID, payload []byte) {
	if len(payload) > 0 && payload[0] == TagPropose {
		l.host.Propose(payload[1:]) // the payload is this node's own copy, so raft may keep it
	}
}

// Timer is unused: a Service sets no timers.
func (l *Service) Timer(tag uint64) {}

// Snapshot encodes (last index, chain).
func (l *Service) Snapshot() []byte {
	b := make([]byte, logServiceSnapshotBytes)
	binary.LittleEndian.PutUint64(b, l.lastIndex)
	binary.LittleEndian.PutUint64(b[8:], l.chain)
	return b
}

// entryDigest is FNV-1a 64 over a kind byte (0 for a command, 1 for an entry the library wrote
// for itself) and the data.
func entryDigest(e *sut.Entry) uint64 {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	if len(e.Data) == 0 {
		h ^= 1
	}
	h *= prime64
	for _, c := range e.Data {
		h ^= uint64(c)
		h *= prime64
	}
	return h
}
