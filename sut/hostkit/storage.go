// Package hostkit holds what every host of package sut needs besides its library: durable
// storage of a Raft log on the node's simulated disk (Storage), and the reports of what
// reached that disk to the sut.Observer. Its types are the library-neutral shape of Raft's
// persistent state; a host converts its library's types to them.
package hostkit

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/raftsim/raftsim/sim"
)

// Entry is a log entry as persisted. Type is the library's entry type, stored as one byte.
type Entry struct {
	Index, Term uint64
	Type        uint8
	Data        []byte
}

// HardState is Raft's persistent per-server state. Vote is the voted-for node id, -1 for none.
type HardState struct {
	Term   uint64
	Vote   int64
	Commit uint64
}

// Snapshot is the service state up to and including Index, whose entry had term Term.
type Snapshot struct {
	Index, Term uint64
	Data        []byte
}

// Persisted is what a disk recovers to.
type Persisted struct {
	HardState HardState
	Snapshot  Snapshot // Index 0: none
	Entries   []Entry  // entries Snapshot.Index+1 onwards
}

// Ready is what one round of a library asks to persist: the snapshot first (the log is cut to
// it), then the entries (the log is cut from the first one's index, then they are appended),
// then the hard state.
type Ready struct {
	HardState        HardState
	HardStateChanged bool
	Entries          []Entry
	Snapshot         *Snapshot
}

// On-disk format.
//
// "raft.log" is an append-only sequence of records. Each record is framed as
//
//	[4 bytes little-endian payload length][4 bytes little-endian CRC-32C of payload][payload]
//
// and the payload's first byte says what it is:
//
//	'H' hard state:  term uvarint, vote varint, commit uvarint
//	'E' entries:     first index uvarint, count uvarint, then per entry
//	                 term uvarint, type byte, data length uvarint, data
//	                 (the log is cut from first index on, then the entries are appended)
//	'S' snapshot:    index uvarint, term uvarint (the log becomes empty with its base at
//	                 (index, term); the entries raft keeps after a snapshot follow in an 'E'
//	                 record, as raft's Ready lists them)
//
// "snapshot" holds one record of type 'P': index uvarint, term uvarint, then the service's
// snapshot bytes. It is written (replaced) before the 'S' record that refers to it.
//
// Recovery replays the records in order and stops at the first record that is incomplete or
// fails its checksum: such a tail was never synced (the simulated disk never tears a synced
// write, so a bad tail is the only corruption recovery accepts; a record that passes its
// checksum but breaks an invariant is a bug and panics).
//
// Persistence appends O(new data) per Ready. A Ready that carries a snapshot replaces the file
// with its compact form (base record, hard state, the entries raft kept), since everything
// before is dead; without snapshots the file is rewritten compactly when dead records (cut
// entries, old hard states) make it more than twice its compact size.
const (
	LogFile      = "raft.log"
	SnapshotFile = "snapshot"

	recordHeaderBytes = 8
	recHardState      = 'H'
	recEntries        = 'E'
	recSnapshotBase   = 'S'
	recSnapshotFile   = 'P'

	// minRewriteBytes keeps small logs from being rewritten all the time.
	minRewriteBytes = 64 << 10
	// maxRecordBytes bounds one record; a longer length field is garbage.
	maxRecordBytes = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// beginRecord starts a record of type typ in buf and returns the offset of its header, to be
// passed to endRecord once the body is appended.
func beginRecord(buf []byte, typ byte) ([]byte, int) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return buf, start
}

func endRecord(buf []byte, start int) []byte {
	payload := buf[start+recordHeaderBytes:]
	if len(payload) > maxRecordBytes {
		panic(fmt.Sprintf("hostkit: disk record of %d bytes exceeds the %d-byte limit", len(payload), maxRecordBytes))
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, crcTable))
	return buf
}

func appendHardStateRecord(buf []byte, hs HardState) []byte {
	buf, start := beginRecord(buf, recHardState)
	buf = binary.AppendUvarint(buf, hs.Term)
	buf = binary.AppendVarint(buf, int64(hs.Vote))
	buf = binary.AppendUvarint(buf, hs.Commit)
	return endRecord(buf, start)
}

func appendEntriesRecord(buf []byte, entries []Entry) []byte {
	buf, start := beginRecord(buf, recEntries)
	buf = binary.AppendUvarint(buf, entries[0].Index)
	buf = binary.AppendUvarint(buf, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		if e.Index != entries[0].Index+uint64(i) {
			panic(fmt.Sprintf("hostkit: raft asked to persist non-contiguous entries: index %d at position %d after first index %d",
				e.Index, i, entries[0].Index))
		}
		buf = binary.AppendUvarint(buf, e.Term)
		buf = append(buf, e.Type)
		buf = binary.AppendUvarint(buf, uint64(len(e.Data)))
		buf = append(buf, e.Data...)
	}
	return endRecord(buf, start)
}

func appendSnapshotBaseRecord(buf []byte, index, term uint64) []byte {
	buf, start := beginRecord(buf, recSnapshotBase)
	buf = binary.AppendUvarint(buf, index)
	buf = binary.AppendUvarint(buf, term)
	return endRecord(buf, start)
}

func encodeSnapshotFile(snap *Snapshot) []byte {
	buf := make([]byte, 0, recordHeaderBytes+1+2*binary.MaxVarintLen64+len(snap.Data))
	buf, start := beginRecord(buf, recSnapshotFile)
	buf = binary.AppendUvarint(buf, snap.Index)
	buf = binary.AppendUvarint(buf, snap.Term)
	buf = append(buf, snap.Data...)
	return endRecord(buf, start)
}

// nextRecord splits the first record off b. ok is false when b does not start with a complete
// record whose checksum matches (a torn or garbage tail).
func nextRecord(b []byte) (typ byte, body []byte, size int, ok bool) {
	if len(b) < recordHeaderBytes+1 {
		return 0, nil, 0, false
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxRecordBytes || uint64(n) > uint64(len(b)-recordHeaderBytes) {
		return 0, nil, 0, false
	}
	payload := b[recordHeaderBytes : recordHeaderBytes+int(n)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, nil, 0, false
	}
	return payload[0], payload[1:], recordHeaderBytes + int(n), true
}

// fieldReader decodes the body of a record that passed its checksum: a malformed body is a bug
// of the writer, so it panics naming the record.
type fieldReader struct {
	b    []byte
	what string
}

func (r *fieldReader) bad(field string) {
	panic(fmt.Sprintf("hostkit: %s record with a valid checksum has a malformed %s (disk format bug)", r.what, field))
}

func (r *fieldReader) uvarint(field string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad(field)
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) varint(field string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad(field)
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) bytes(n uint64, field string) []byte {
	if n > uint64(len(r.b)) {
		r.bad(field)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) done() {
	if len(r.b) != 0 {
		r.bad("length (trailing bytes)")
	}
}

// decodeSnapshotFile returns the snapshot stored in the "snapshot" file (Index 0: none). A file
// that fails its checksum means the disk lost a synced write: it panics.
func decodeSnapshotFile(b []byte) Snapshot {
	if len(b) == 0 {
		return Snapshot{}
	}
	typ, body, size, ok := nextRecord(b)
	if !ok || typ != recSnapshotFile || size != len(b) {
		panic(fmt.Sprintf("hostkit: the snapshot file (%d bytes) is corrupt; it is written whole and synced before anything refers to it", len(b)))
	}
	r := fieldReader{b: body, what: "snapshot file"}
	var snap Snapshot
	snap.Index = r.uvarint("index")
	snap.Term = r.uvarint("term")
	snap.Data = append([]byte(nil), r.b...)
	return snap
}

// Recovery is the raft log state a log file replays to.
type Recovery struct {
	hardState           HardState
	baseIndex, baseTerm uint64
	entries             []Entry
	// validBytes is the length of the file's valid prefix; garbageBytes what follows it.
	ValidBytes, GarbageBytes int
	Records                  int
}

// replayLog replays the records of a log file up to the first bad one. Entry data is copied
// when copyData (raft keeps it), and aliases logBytes otherwise.
func replayLog(logBytes []byte, copyData bool) Recovery {
	var rp Recovery
	rp.hardState.Vote = -1
	entries := []Entry(nil)
	off := 0
	for off < len(logBytes) {
		typ, body, size, ok := nextRecord(logBytes[off:])
		if !ok {
			break
		}
		rp.Records++
		r := fieldReader{b: body}
		switch typ {
		case recHardState:
			r.what = "hard state"
			rp.hardState.Term = r.uvarint("term")
			rp.hardState.Vote = r.varint("vote")
			rp.hardState.Commit = r.uvarint("commit")
		case recEntries:
			r.what = "entries"
			first := r.uvarint("first index")
			count := r.uvarint("count")
			last := rp.baseIndex + uint64(len(entries))
			if first <= rp.baseIndex || first > last+1 || count == 0 {
				panic(fmt.Sprintf("hostkit: entries record at byte %d starts at index %d with %d entries, but the log holds (%d, %d] (the log would have a hole or rewrite its snapshot)",
					off, first, count, rp.baseIndex, last))
			}
			entries = entries[:first-rp.baseIndex-1]
			for i := uint64(0); i < count; i++ {
				term := r.uvarint("entry term")
				typ := r.bytes(1, "entry type")[0]
				data := r.bytes(r.uvarint("entry length"), "entry data")
				if len(data) == 0 {
					data = nil
				} else if copyData {
					data = append([]byte(nil), data...)
				}
				entries = append(entries, Entry{Term: term, Index: first + i, Type: typ, Data: data})
			}
		case recSnapshotBase:
			r.what = "snapshot base"
			index := r.uvarint("index")
			term := r.uvarint("term")
			if index <= rp.baseIndex {
				panic(fmt.Sprintf("hostkit: snapshot base record at byte %d does not move the base forward (%d to %d)", off, rp.baseIndex, index))
			}
			entries = entries[:0]
			rp.baseIndex, rp.baseTerm = index, term
		default:
			panic(fmt.Sprintf("hostkit: record of unknown type %q at byte %d of the log", typ, off))
		}
		r.done()
		off += size
	}
	rp.entries = entries
	rp.ValidBytes = off
	rp.GarbageBytes = len(logBytes) - off
	return rp
}

// recoverState rebuilds the durable raft state from the two files' contents.
func recoverState(logBytes, snapBytes []byte) (Persisted, Recovery) {
	rp := replayLog(logBytes, true)
	snap := decodeSnapshotFile(snapBytes)
	if snap.Index != rp.baseIndex || snap.Term != rp.baseTerm {
		panic(fmt.Sprintf("hostkit: the log's base is (index %d, term %d) but the snapshot file holds (index %d, term %d); the snapshot file is written before the record naming it and both become durable at the same Sync",
			rp.baseIndex, rp.baseTerm, snap.Index, snap.Term))
	}
	return Persisted{HardState: rp.hardState, Snapshot: snap, Entries: rp.entries}, rp
}

// EntryDigest is the digest the observer gets for an entry: FNV-1a 64 of its type byte and data.
func EntryDigest(e *Entry) uint64 {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	h ^= uint64(e.Type)
	h *= prime64
	for _, c := range e.Data {
		h ^= uint64(c)
		h *= prime64
	}
	return h
}

// EntryMeta is what the host remembers of a persisted entry.
type EntryMeta struct {
	Term, Digest uint64
}

// Storage writes a raft node's durable state and mirrors the persisted log: its base and the
// term and digest of every live entry (16 bytes per entry), so that it can report to the
// observer exactly which entries a Ready cut and which it added.
type Storage struct {
	disk      *sim.Disk
	hardState HardState
	baseIndex uint64
	baseTerm  uint64
	log       []EntryMeta // entries baseIndex+1 .. baseIndex+len(log)
	digests   bool        // compute entry digests (only an observer needs them)
	// logBytes is the size of raft.log; compactBytes its size right after the last rewrite.
	logBytes, compactBytes int
	buf                    []byte // reused encoding buffer
	rewrites               int
}

// LastIndex is the index of the last persisted entry (the base index when there is none).
func (s *Storage) LastIndex() uint64 { return s.baseIndex + uint64(len(s.log)) }

// Meta returns the mirror entry of index, which must be in (baseIndex, lastIndex].
func (s *Storage) Meta(index uint64) EntryMeta { return s.log[index-s.baseIndex-1] }

// Load reads the disk and returns the recovered state, after dropping a garbage tail from the
// log file (so that new records are not appended after it).
func (s *Storage) Load(disk *sim.Disk, digests bool) (Persisted, Recovery) {
	s.disk = disk
	s.digests = digests
	logBytes := disk.Read(LogFile)
	p, rp := recoverState(logBytes, disk.Read(SnapshotFile))
	s.hardState = p.HardState
	s.baseIndex, s.baseTerm = p.Snapshot.Index, p.Snapshot.Term
	s.log = s.log[:0]
	for i := range p.Entries {
		s.log = append(s.log, s.metaOf(&p.Entries[i]))
	}
	s.logBytes = rp.ValidBytes
	if rp.GarbageBytes > 0 {
		disk.Write(LogFile, logBytes[:rp.ValidBytes])
		disk.Sync()
	}
	s.compactBytes = s.logBytes
	return p, rp
}

func (s *Storage) metaOf(e *Entry) EntryMeta {
	m := EntryMeta{Term: e.Term}
	if s.digests {
		m.Digest = EntryDigest(e)
	}
	return m
}

// LogChange says how a Ready changed the persisted log, for the observer: entries from
// truncatedFrom on were removed (0: none), entries from appendedFrom on are new (0: none).
// With a snapshot, a cut at or below the snapshot index means the whole old log was dropped
// (it did not hold the snapshot's last entry) and happened before the snapshot was installed;
// a cut above it happened after.
type LogChange struct {
	TruncatedFrom, AppendedFrom uint64
}

// Persist writes what a Ready asks (snapshot, entries, hard state) without syncing.
func (s *Storage) Persist(rd *Ready) LogChange {
	var ch LogChange
	oldLast := s.LastIndex()
	if rd.Snapshot != nil {
		ch = s.saveSnapshot(rd)
	} else if len(rd.Entries) > 0 {
		first := rd.Entries[0].Index
		if first <= s.baseIndex || first > oldLast+1 {
			panic(fmt.Sprintf("hostkit: raft asked to persist entries from index %d, but the persisted log holds (%d, %d]: that would leave a hole or overwrite the snapshot",
				first, s.baseIndex, oldLast))
		}
		ch = s.mergeEntries(first, rd.Entries, oldLast)
		s.buf = appendEntriesRecord(s.buf, rd.Entries)
	}
	if rd.HardStateChanged {
		s.hardState = rd.HardState
		if rd.Snapshot == nil {
			s.buf = appendHardStateRecord(s.buf, rd.HardState)
		}
	}
	if rd.Snapshot != nil {
		s.replaceLogFile(rd.Entries)
	} else {
		s.flush()
	}
	return ch
}

// mergeEntries makes the mirror hold its entries before first followed by entries, and reports
// the change: entries equal (same term and digest) to the ones they replace are neither cut nor
// added, so that re-persisting matching entries is not mistaken for losing them.
func (s *Storage) mergeEntries(first uint64, entries []Entry, oldLast uint64) LogChange {
	var ch LogChange
	index := first
	for i := range entries {
		e := &entries[i]
		if e.Index != index {
			panic(fmt.Sprintf("hostkit: raft asked to persist non-contiguous entries: index %d at position %d after first index %d", e.Index, i, first))
		}
		m := s.metaOf(e)
		if ch.AppendedFrom == 0 && index <= oldLast && s.Meta(index) == m {
			index++
			continue
		}
		if ch.AppendedFrom == 0 {
			ch.AppendedFrom = index
			s.log = s.log[:index-s.baseIndex-1]
		}
		s.log = append(s.log, m)
		index++
	}
	// Entries after the last listed one are cut too, as raft's contract says.
	if ch.AppendedFrom != 0 {
		if ch.AppendedFrom <= oldLast {
			ch.TruncatedFrom = ch.AppendedFrom
		}
	} else if index <= oldLast {
		ch.TruncatedFrom = index
		s.log = s.log[:index-s.baseIndex-1]
	}
	return ch
}

// saveSnapshot moves the mirror's base to rd.Snapshot, keeping the entries rd.Entries lists
// after it, and writes the snapshot file. The log file is replaced by replaceLogFile.
func (s *Storage) saveSnapshot(rd *Ready) LogChange {
	snap := rd.Snapshot
	if snap.Index <= s.baseIndex {
		panic(fmt.Sprintf("hostkit: raft asked to persist a snapshot at index %d, not after the current base %d", snap.Index, s.baseIndex))
	}
	if len(rd.Entries) > 0 && rd.Entries[0].Index != snap.Index+1 {
		panic(fmt.Sprintf("hostkit: Ready with a snapshot at index %d lists entries from index %d; they must follow the snapshot", snap.Index, rd.Entries[0].Index))
	}
	s.disk.Write(SnapshotFile, encodeSnapshotFile(snap))
	oldLast := s.LastIndex()
	var ch LogChange
	if snap.Index <= oldLast && s.Meta(snap.Index).Term == snap.Term {
		// The snapshot covers a prefix of the log: drop it, then merge what raft kept.
		s.log = append(s.log[:0], s.log[snap.Index-s.baseIndex:]...)
		s.baseIndex, s.baseTerm = snap.Index, snap.Term
		if len(rd.Entries) > 0 {
			ch = s.mergeEntries(snap.Index+1, rd.Entries, oldLast)
		} else if oldLast > snap.Index {
			ch.TruncatedFrom = snap.Index + 1
			s.log = s.log[:0]
		}
		return ch
	}
	// The log does not hold the snapshot's last entry: everything after the old base goes
	// (reported as a cut at or below the snapshot index, before the snapshot itself).
	if oldLast > s.baseIndex {
		ch.TruncatedFrom = s.baseIndex + 1
	}
	s.log = s.log[:0]
	s.baseIndex, s.baseTerm = snap.Index, snap.Term
	for i := range rd.Entries {
		s.log = append(s.log, s.metaOf(&rd.Entries[i]))
	}
	if len(rd.Entries) > 0 {
		ch.AppendedFrom = snap.Index + 1
	}
	return ch
}

// replaceLogFile writes the compact log file: base, hard state, entries.
func (s *Storage) replaceLogFile(entries []Entry) {
	buf := s.buf[:0]
	if s.baseIndex > 0 {
		buf = appendSnapshotBaseRecord(buf, s.baseIndex, s.baseTerm)
	}
	buf = appendHardStateRecord(buf, s.hardState)
	if len(entries) > 0 {
		buf = appendEntriesRecord(buf, entries)
	}
	s.disk.Write(LogFile, buf)
	s.logBytes, s.compactBytes = len(buf), len(buf)
	s.buf = buf[:0]
	s.rewrites++
}

// flush appends the encoded records in s.buf to the log file.
func (s *Storage) flush() {
	if len(s.buf) == 0 {
		return
	}
	s.disk.Append(LogFile, s.buf)
	s.logBytes += len(s.buf)
	s.buf = s.buf[:0]
}

// NeedsRewrite reports whether dead records make up most of the log file.
func (s *Storage) NeedsRewrite() bool {
	return s.logBytes > max(2*s.compactBytes, minRewriteBytes)
}

// Rewrite replaces the log file with its compact form. It re-reads the file (O(file size),
// amortized by the doubling rule of needsRewrite) rather than keeping a copy of every entry in
// memory. The replacement is as durable as the old content: a crash before the next Sync
// reverts the file to its last synced version, itself a consistent state (the simulated disk
// replaces a file atomically and makes all files durable at one Sync).
func (s *Storage) Rewrite() {
	s.flush()
	rp := replayLog(s.disk.Read(LogFile), false) // re-encoded at once: no need to copy
	if rp.GarbageBytes != 0 || rp.baseIndex != s.baseIndex || len(rp.entries) != len(s.log) {
		panic(fmt.Sprintf("hostkit: log file replays to base %d with %d entries (%d bad tail bytes), but the host wrote base %d with %d",
			rp.baseIndex, len(rp.entries), rp.GarbageBytes, s.baseIndex, len(s.log)))
	}
	s.replaceLogFile(rp.entries)
}

// Sync makes everything written so far durable.
func (s *Storage) Sync() { s.disk.Sync() }

// HardState is the hard state as last persisted.
func (s *Storage) HardState() HardState { return s.hardState }

// BaseIndex is the index of the snapshot the log starts after (0: none).
func (s *Storage) BaseIndex() uint64 { return s.baseIndex }

// LogBytes is the size of the log file (the persisted consensus state, snapshot excluded).
func (s *Storage) LogBytes() int { return s.logBytes }

// Rewrites counts the times the log file was replaced by its compact form.
func (s *Storage) Rewrites() int { return s.rewrites }
