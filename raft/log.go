package raft

import "strconv"

// raftLog is the in-memory log: a snapshot as its base, then the entries after it.
// entries[i] has index snapshot.Index+1+i.
//
// Memory that left the node (in a Ready or a Message) is never written again: appends only
// write past the end of every slice handed out, and truncation and compaction move the
// entries to a new array. So hosts and in-flight messages may hold slices of the log.
type raftLog struct {
	// snapshot is the base of the log; Index 0 means none. It is immutable once set
	// (messages point to it), so a new snapshot is a new value.
	snapshot *Snapshot
	entries  []Entry
	// unstableFrom is the first index not yet handed to the host for persisting.
	unstableFrom uint64
}

func (l *raftLog) firstIndex() uint64 { return l.snapshot.Index + 1 }

func (l *raftLog) lastIndex() uint64 { return l.snapshot.Index + uint64(len(l.entries)) }

func (l *raftLog) lastTerm() uint64 {
	if len(l.entries) == 0 {
		return l.snapshot.Term
	}
	return l.entries[len(l.entries)-1].Term
}

// term returns the term of the entry at index i, if it is in the log or is the snapshot's
// last included entry.
func (l *raftLog) term(i uint64) (uint64, bool) {
	if i == l.snapshot.Index {
		return l.snapshot.Term, true
	}
	if i < l.snapshot.Index || i > l.lastIndex() {
		return 0, false
	}
	return l.entries[i-l.snapshot.Index-1].Term, true
}

// mustTerm is term for an index the caller knows is in the log.
func (l *raftLog) mustTerm(i uint64) uint64 {
	t, ok := l.term(i)
	if !ok {
		panic("raft: invariant violated: term of index " + strconv.FormatUint(i, 10) +
			" outside log (" + strconv.FormatUint(l.snapshot.Index, 10) + ", " +
			strconv.FormatUint(l.lastIndex(), 10) + "]")
	}
	return t
}

// slice returns entries [lo, hi) with capacity clipped, so that appends by the holder can
// never write into the log. lo must be > snapshot.Index and hi <= lastIndex+1.
func (l *raftLog) slice(lo, hi uint64) []Entry {
	if lo >= hi {
		return nil
	}
	if lo <= l.snapshot.Index || hi > l.lastIndex()+1 {
		panic("raft: invariant violated: log slice [" + strconv.FormatUint(lo, 10) + ", " +
			strconv.FormatUint(hi, 10) + ") outside log")
	}
	base := l.snapshot.Index + 1
	return l.entries[lo-base : hi-base : hi-base]
}

// append adds entries at the end of the log; they must continue it (index lastIndex+1,
// terms never decreasing).
func (l *raftLog) append(ents []Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Index != l.lastIndex()+1 {
			panic("raft: invariant violated: appending index " + strconv.FormatUint(e.Index, 10) +
				" after last index " + strconv.FormatUint(l.lastIndex(), 10))
		}
		if e.Term < l.lastTerm() {
			panic("raft: invariant violated: log terms must not decrease: appending term " +
				strconv.FormatUint(e.Term, 10) + " after term " + strconv.FormatUint(l.lastTerm(), 10))
		}
		l.entries = append(l.entries, *e)
	}
}

// truncateFrom discards the entries from index i on. The kept prefix moves to a new array
// so that slices already handed out keep their contents.
func (l *raftLog) truncateFrom(i uint64) {
	if i <= l.snapshot.Index || i > l.lastIndex() {
		panic("raft: invariant violated: truncating from index " + strconv.FormatUint(i, 10) +
			" outside log")
	}
	keep := i - l.snapshot.Index - 1
	kept := make([]Entry, keep, len(l.entries)+16)
	copy(kept, l.entries[:keep])
	l.entries = kept
	if l.unstableFrom > i {
		l.unstableFrom = i
	}
}

// restore makes snap the base of the log. If keepSuffix, the entries after snap.Index are
// kept (Figure 13: the log holds snap's last entry with the same term); otherwise the whole
// log is discarded. Every entry after the snapshot is reported again for persisting.
func (l *raftLog) restore(snap *Snapshot, keepSuffix bool) {
	var suffix []Entry
	if keepSuffix && snap.Index < l.lastIndex() {
		suffix = l.entries[snap.Index-l.snapshot.Index:]
	}
	l.entries = append(make([]Entry, 0, len(suffix)+64), suffix...)
	l.snapshot = snap
	l.unstableFrom = snap.Index + 1
}

// searchFirstTermAtLeast returns the first index in [lo, hi] whose term is >= term, or
// hi+1 if none. Terms never decrease along the log, so this is a binary search.
// lo must be > snapshot.Index and hi <= lastIndex.
func (l *raftLog) searchFirstTermAtLeast(term, lo, hi uint64) uint64 {
	for lo <= hi {
		mid := lo + (hi-lo)/2
		if l.mustTerm(mid) >= term {
			if mid == lo {
				return lo
			}
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
