package hostkit

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// ReportRecovered tells obs what a node recovered from its disk at start: a new incarnation,
// its snapshot, every entry of its log and its durable term. Call it right after Load.
func (s *Storage) ReportRecovered(obs sut.Observer, node int, p *Persisted) {
	obs.Restarted(node)
	if p.Snapshot.Index > 0 {
		obs.SnapshotInstalled(node, p.Snapshot.Index, p.Snapshot.Term)
	}
	for i := range p.Entries {
		m := s.Meta(p.Entries[i].Index)
		obs.LogAppended(node, p.Entries[i].Index, m.Term, m.Digest)
	}
	if p.HardState.Term > 0 {
		obs.PersistedTerm(node, p.HardState.Term)
	}
}

// ReportPersisted tells obs how the persisted log changed when rd was persisted (ch is what
// Persist returned): with a snapshot, a cut at or below its index happened before it (the
// whole old log went), any other cut after it; then the appended entries.
func (s *Storage) ReportPersisted(obs sut.Observer, node int, rd *Ready, ch LogChange) {
	if snap := rd.Snapshot; snap != nil {
		if ch.TruncatedFrom != 0 && ch.TruncatedFrom <= snap.Index {
			obs.LogTruncated(node, ch.TruncatedFrom)
			ch.TruncatedFrom = 0
		}
		obs.SnapshotInstalled(node, snap.Index, snap.Term)
	}
	if ch.TruncatedFrom != 0 {
		obs.LogTruncated(node, ch.TruncatedFrom)
	}
	if ch.AppendedFrom != 0 {
		for i := ch.AppendedFrom; i <= s.LastIndex(); i++ {
			m := s.Meta(i)
			obs.LogAppended(node, i, m.Term, m.Digest)
		}
	}
}

// Reporter tells one node's observer what moved forward (durable term, commit index,
// leadership, role), each once, stamped with the run's clock. With no observer it only tracks
// the role, for trace notes.
type Reporter struct {
	obs   sut.Observer
	clock func() sim.Time
	node  int
	// What was last reported, so that reports only go forward.
	durableTerm, commitIndex, leaderTerm uint64
	role                                 sut.Role
	roleTerm                             uint64
}

// Start begins reporting for one incarnation of a node that recovered p from store: obs may be
// nil; clock stamps reports (the run's global clock; nil: the node's own, env.Now). It reports
// what the node recovered.
func (r *Reporter) Start(obs sut.Observer, clock func() sim.Time, env *sim.Env, store *Storage, p *Persisted) {
	if clock == nil {
		clock = env.Now
	}
	*r = Reporter{obs: obs, clock: clock, node: int(env.ID()), durableTerm: p.HardState.Term}
	if obs != nil {
		r.Stamp()
		store.ReportRecovered(obs, r.node, p)
	}
}

// Active reports whether there is an observer to tell.
func (r *Reporter) Active() bool { return r.obs != nil }

// Stamp gives the observer the time of the reports that follow.
func (r *Reporter) Stamp() {
	if r.obs != nil {
		r.obs.SetNow(int64(r.clock()))
	}
}

// Synced reports that the hard state with term is durable.
func (r *Reporter) Synced(term uint64) {
	if r.obs != nil && term > r.durableTerm {
		r.obs.PersistedTerm(r.node, term)
	}
	r.durableTerm = max(r.durableTerm, term)
}

// Committed reports the commit index of a new hard state.
func (r *Reporter) Committed(commit uint64) {
	if r.obs != nil && commit > r.commitIndex {
		r.commitIndex = commit
		r.obs.Committed(r.node, commit)
	}
}

// Leading reports a leader's first Ready in a new term.
func (r *Reporter) Leading(role sut.Role, term uint64) {
	if r.obs != nil && role == sut.Leader && term > r.leaderTerm {
		r.leaderTerm = term
		r.obs.BecameLeader(r.node, term)
	}
}

// RoleChanged reports the role and term if they changed, and says whether they did.
func (r *Reporter) RoleChanged(role sut.Role, term uint64) bool {
	if role == r.role && term == r.roleTerm {
		return false
	}
	r.role, r.roleTerm = role, term
	if r.obs != nil {
		r.Stamp()
		r.obs.RoleChanged(r.node, role, term)
	}
	return true
}

// Compaction is a compaction the service (or the size policy) asked for, carried out by the
// host between Readys.
type Compaction struct {
	index uint64
	data  []byte
	asked bool
}

// Ask records data as the snapshot at index, unless the log already starts at or after it or
// a compaction at least as far is pending; it reports whether it recorded it. index must be
// applied (a host's bug otherwise: it panics naming node).
func (c *Compaction) Ask(node int, index, applied, baseIndex uint64, data []byte) bool {
	if index > applied {
		panic(fmt.Sprintf("hostkit: node %d: Compact(%d) beyond the applied index %d", node, index, applied))
	}
	if index <= baseIndex || (c.asked && index <= c.index) {
		return false
	}
	c.index, c.data, c.asked = index, data, true
	return true
}

// Pending reports whether a compaction waits.
func (c *Compaction) Pending() bool { return c.asked }

// Take returns the waiting compaction and forgets it.
func (c *Compaction) Take() (index uint64, data []byte, ok bool) {
	index, data, ok = c.index, c.data, c.asked
	*c = Compaction{}
	return index, data, ok
}
