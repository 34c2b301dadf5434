package hostkit

import "github.com/raftsim/raftsim/sut"

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
