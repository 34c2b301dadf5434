package hostkit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sim"
	"pgregory.net/rapid"
)

// idleNode is a sim node that does nothing: the Storage tests only need its disk.
type idleNode struct{}

func (idleNode) Start(*sim.Env)             {}
func (idleNode) Receive(sim.NodeID, []byte) {}
func (idleNode) Timer(uint64)               {}
func newDiskSim() (*sim.Sim, sim.NodeID, *sim.Disk) {
	s := sim.New(sim.Config{})
	id := s.AddNode("disk", func(sim.NodeID) sim.Node { return idleNode{} })
	s.Start(id)
	return s, id, s.NodeDisk(id)
}

// logModel is the obvious in-memory meaning of raft's persistence contract.
type logModel struct {
	hs      HardState
	snap    Snapshot
	entries []Entry
}

func (m *logModel) last() uint64 { return m.snap.Index + uint64(len(m.entries)) }

func (m *logModel) termAt(i uint64) uint64 {
	if i == m.snap.Index {
		return m.snap.Term
	}
	return m.entries[i-m.snap.Index-1].Term
}

func (m *logModel) clone() logModel {
	c := *m
	c.entries = append([]Entry(nil), m.entries...)
	return c
}

func (m *logModel) apply(rd *Ready) {
	if rd.Snapshot != nil {
		m.snap = *rd.Snapshot
		m.entries = append([]Entry(nil), rd.Entries...)
	} else if len(rd.Entries) > 0 {
		m.entries = append(m.entries[:rd.Entries[0].Index-m.snap.Index-1], rd.Entries...)
	}
	if rd.HardStateChanged {
		m.hs = rd.HardState
	}
}

func checkRecovered(t interface{ Fatalf(string, ...any) }, what string, p Persisted, m *logModel) {
	if p.HardState != m.hs {
		t.Fatalf("%s: hard state %+v, want %+v", what, p.HardState, m.hs)
	}
	if p.Snapshot.Index != m.snap.Index || p.Snapshot.Term != m.snap.Term || !bytes.Equal(p.Snapshot.Data, m.snap.Data) {
		t.Fatalf("%s: snapshot (%d, %d, %q), want (%d, %d, %q)", what, p.Snapshot.Index, p.Snapshot.Term, p.Snapshot.Data, m.snap.Index, m.snap.Term, m.snap.Data)
	}
	if len(p.Entries) != len(m.entries) {
		t.Fatalf("%s: %d entries, want %d", what, len(p.Entries), len(m.entries))
	}
	for i := range p.Entries {
		a, b := p.Entries[i], m.entries[i]
		if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("%s: entry %d = %+v, want %+v", what, i, a, b)
		}
	}
}

// TestStoragePersistRecover drives the Storage with random Readys, syncs and crashes, and checks
// that the disk always replays to what raft's contract says: everything written before a crash
// recovers exactly the synced state, and the mirror used for observer reports matches.
func TestStoragePersistRecover(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, id, disk := newDiskSim()
		var st Storage
		st.Load(disk, true)
		model := logModel{hs: HardState{Vote: -1}}
		synced := model.clone()
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for step := 0; step < steps; step++ {
			rd := Ready{}
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2, 3: // entries, possibly cutting a suffix
				first := rapid.Uint64Range(model.snap.Index+1, model.last()+1).Draw(t, "first")
				n := rapid.IntRange(1, 4).Draw(t, "n")
				term := model.termAt(first - 1)
				for i := 0; i < n; i++ {
					term += rapid.Uint64Range(0, 1).Draw(t, "termStep")
					data := []byte(fmt.Sprintf("d%d.%d", step, i))
					typ := uint8(0)
					if rapid.IntRange(0, 5).Draw(t, "noop") == 0 {
						typ, data = 1, nil
					}
					rd.Entries = append(rd.Entries, Entry{Index: first + uint64(i), Term: term, Type: typ, Data: data})
				}
			case 4, 5: // hard state
				rd.HardState = HardState{
					Term:   model.hs.Term + rapid.Uint64Range(0, 2).Draw(t, "termInc"),
					Vote:   rapid.Int64Range(-1, 4).Draw(t, "vote"),
					Commit: rapid.Uint64Range(0, model.last()).Draw(t, "commit"),
				}
				rd.HardStateChanged = true
			case 6: // snapshot: local compaction (keeps the suffix) or from a leader
				index := rapid.Uint64Range(model.snap.Index+1, model.last()+3).Draw(t, "snapIndex")
				snap := &Snapshot{Index: index, Term: 1 + rapid.Uint64Range(0, 5).Draw(t, "snapTerm"), Data: []byte(fmt.Sprintf("snap%d", step))}
				if index <= model.last() && rapid.Bool().Draw(t, "keepSuffix") {
					snap.Term = model.termAt(index)
					rd.Entries = append([]Entry(nil), model.entries[index-model.snap.Index:]...)
				}
				rd.Snapshot = snap
			case 7: // sync
				disk.Sync()
				synced = model.clone()
				continue
			case 8: // crash and recover: only synced state survives
				s.Crash(id)
				s.Restart(id)
				disk = s.NodeDisk(id)
				st = Storage{}
				p, _ := st.Load(disk, true)
				model = synced.clone()
				checkRecovered(t, "after crash", p, &model)
				continue
			case 9: // rewrite compactly
				st.Rewrite()
			}
			st.Persist(&rd)
			model.apply(&rd)
			if st.baseIndex != model.snap.Index || st.LastIndex() != model.last() {
				t.Fatalf("mirror holds (%d, %d], model (%d, %d]", st.baseIndex, st.LastIndex(), model.snap.Index, model.last())
			}
			for i := range model.entries {
				e := &model.entries[i]
				if m := st.Meta(e.Index); m.Term != e.Term || m.Digest != EntryDigest(e) {
					t.Fatalf("mirror entry %d = %+v, want term %d", e.Index, m, e.Term)
				}
			}
			p, rp := recoverState(disk.Read(LogFile), disk.Read(SnapshotFile))
			if rp.GarbageBytes != 0 {
				t.Fatalf("log has %d bad tail bytes", rp.GarbageBytes)
			}
			checkRecovered(t, "replay", p, &model)
			if st.logBytes != disk.Size(LogFile) {
				t.Fatalf("Storage believes the log has %d bytes, disk has %d", st.logBytes, disk.Size(LogFile))
			}
		}
	})
}

func TestStorageReportsOnlyRealChanges(t *testing.T) {
	_, _, disk := newDiskSim()
	var st Storage
	st.Load(disk, true)
	ents := func(first uint64, terms ...uint64) []Entry {
		var es []Entry
		for i, term := range terms {
			es = append(es, Entry{Index: first + uint64(i), Term: term, Data: []byte{byte(first) + byte(i)}})
		}
		return es
	}
	check := func(what string, got, want LogChange) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: change %+v, want %+v", what, got, want)
		}
	}
	check("append 1..5", st.Persist(&Ready{Entries: ents(1, 1, 1, 1, 2, 2)}), LogChange{AppendedFrom: 1})
	// Re-persisting matching entries (raft re-lists them, e.g. after a duplicated append):
	// neither cut nor added... except that raft's contract cuts what follows the listed ones.
	check("re-list 2..3", st.Persist(&Ready{Entries: ents(2, 1, 1)}), LogChange{TruncatedFrom: 4})
	check("append 4..6", st.Persist(&Ready{Entries: ents(4, 2, 2, 2)}), LogChange{AppendedFrom: 4})
	check("conflict at 5", st.Persist(&Ready{Entries: ents(4, 2, 3)}), LogChange{TruncatedFrom: 5, AppendedFrom: 5})
	// Local compaction at 3: raft re-lists 4..5, which match.
	check("compact 3", st.Persist(&Ready{Snapshot: &Snapshot{Index: 3, Term: 1}, Entries: ents(4, 2, 3)}), LogChange{})
	// A leader's snapshot at 9, beyond the log: everything after the old base goes.
	check("install 9", st.Persist(&Ready{Snapshot: &Snapshot{Index: 9, Term: 4}}), LogChange{TruncatedFrom: 4})
	if st.baseIndex != 9 || st.LastIndex() != 9 {
		t.Fatalf("after install the log is (%d, %d], want (9, 9]", st.baseIndex, st.LastIndex())
	}
}

func TestRecoveryIgnoresGarbageTail(t *testing.T) {
	_, _, disk := newDiskSim()
	var st Storage
	st.Load(disk, false)
	st.Persist(&Ready{Entries: []Entry{{Index: 1, Term: 1, Data: []byte("a")}, {Index: 2, Term: 1, Data: []byte("b")}},
		HardState: HardState{Term: 1, Vote: 0, Commit: 2}, HardStateChanged: true})
	good := append([]byte(nil), disk.Read(LogFile)...)
	// A record that is cut short, one whose checksum fails, and plain noise.
	torn := appendEntriesRecord(nil, []Entry{{Index: 3, Term: 1, Data: []byte("c")}})
	flipped := append([]byte(nil), torn...)
	flipped[len(flipped)-1] ^= 0xff
	tails := map[string][]byte{
		"torn record":  torn[:len(torn)-2],
		"bad checksum": flipped,
		"noise":        []byte("\x05\x00\x00\x00garbage!"),
		"huge length":  {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5},
		"half header":  {1, 0, 0},
	}
	for name, tail := range tails {
		disk.Write(LogFile, append(append([]byte(nil), good...), tail...))
		var st2 Storage
		p, rp := st2.Load(disk, false)
		if rp.ValidBytes != len(good) || rp.GarbageBytes != len(tail) || len(p.Entries) != 2 || p.HardState.Commit != 2 {
			t.Errorf("%s: recovered %d valid bytes (%d garbage), %d entries, hs %+v", name, rp.ValidBytes, rp.GarbageBytes, len(p.Entries), p.HardState)
		}
		if !bytes.Equal(disk.Read(LogFile), good) {
			t.Errorf("%s: the bad tail was not cut off the log file", name)
		}
		// New records land after the valid prefix and replay.
		st2.Persist(&Ready{Entries: []Entry{{Index: 3, Term: 2, Data: []byte("z")}}})
		p, rp = recoverState(disk.Read(LogFile), nil)
		if rp.GarbageBytes != 0 || len(p.Entries) != 3 || string(p.Entries[2].Data) != "z" {
			t.Errorf("%s: after appending, replay gives %d entries, %d garbage", name, len(p.Entries), rp.GarbageBytes)
		}
	}
}

func expectPanic(t *testing.T, what, contains string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("%s: no panic", what)
		}
		if !strings.Contains(fmt.Sprint(r), contains) {
			t.Fatalf("%s: panic %q does not mention %q", what, r, contains)
		}
	}()
	f()
}

func TestRecoveryRejectsBrokenInvariants(t *testing.T) {
	hole := appendEntriesRecord(nil, []Entry{{Index: 1, Term: 1}})
	hole = appendEntriesRecord(hole, []Entry{{Index: 5, Term: 1}})
	expectPanic(t, "hole in the log", "hole", func() { replayLog(hole, true) })

	base := appendSnapshotBaseRecord(nil, 5, 2)
	expectPanic(t, "base without snapshot file", "snapshot file", func() { recoverState(base, nil) })
	snapFile := encodeSnapshotFile(&Snapshot{Index: 4, Term: 2, Data: []byte("x")})
	expectPanic(t, "base and snapshot file disagree", "snapshot file", func() { recoverState(base, snapFile) })
	expectPanic(t, "corrupt snapshot file", "corrupt", func() { decodeSnapshotFile(snapFile[:len(snapFile)-1]) })

	_, _, disk := newDiskSim()
	var st Storage
	st.Load(disk, false)
	st.Persist(&Ready{Entries: []Entry{{Index: 1, Term: 1}}})
	expectPanic(t, "entries leaving a hole", "hole", func() {
		st.Persist(&Ready{Entries: []Entry{{Index: 3, Term: 1}}})
	})
	expectPanic(t, "non-contiguous entries", "non-contiguous", func() {
		st.Persist(&Ready{Entries: []Entry{{Index: 2, Term: 1}, {Index: 4, Term: 1}}})
	})
}

func TestStorageRewriteKeepsContent(t *testing.T) {
	_, _, disk := newDiskSim()
	var st Storage
	st.Load(disk, false)
	model := logModel{hs: HardState{Vote: -1}}
	// Many hard-state changes and overwritten tails make dead records pile up.
	for i := uint64(1); i <= 3000; i++ {
		first := model.last() + 1
		if i%2 == 0 && model.last() > 0 {
			first = model.last() // overwrite the tail entry: the old record becomes dead
		}
		term := 1 + i/100
		rd := Ready{HardState: HardState{Term: term, Vote: 1, Commit: first / 2}, HardStateChanged: true,
			Entries: []Entry{{Index: first, Term: term, Data: bytes.Repeat([]byte{byte(i)}, 40)}}}
		st.Persist(&rd)
		model.apply(&rd)
		if st.NeedsRewrite() {
			st.Rewrite()
		}
	}
	if st.rewrites == 0 {
		t.Fatal("the log file was never rewritten")
	}
	if st.logBytes > max(2*st.compactBytes, minRewriteBytes) {
		t.Fatalf("log file %d bytes after rewrites (compact size %d)", st.logBytes, st.compactBytes)
	}
	p, _ := recoverState(disk.Read(LogFile), disk.Read(SnapshotFile))
	checkRecovered(t, "after rewrites", p, &model)
}
