package kv

import (
	"bytes"
	"strconv"
	"testing"
)

func apply(t *testing.T, m *StateMachine, c Command) Result {
	t.Helper()
	return m.Apply(&c)
}

func TestStateMachineOps(t *testing.T) {
	m := NewStateMachine(BugNone)
	if got := apply(t, m, Command{Client: 1, Seq: 1, Kind: OpGet, Key: "a"}).Value; got != "" {
		t.Fatalf("Get of a missing key = %q, want \"\"", got)
	}
	apply(t, m, Command{Client: 1, Seq: 2, Kind: OpPut, Key: "a", Value: "x"})
	apply(t, m, Command{Client: 1, Seq: 3, Kind: OpAppend, Key: "a", Value: "y"})
	apply(t, m, Command{Client: 1, Seq: 4, Kind: OpAppend, Key: "b", Value: "z"})
	if got := apply(t, m, Command{Client: 1, Seq: 5, Kind: OpGet, Key: "a"}).Value; got != "xy" {
		t.Fatalf("Get(a) = %q, want xy", got)
	}
	if got := m.Get("b"); got != "z" {
		t.Fatalf("Append to a missing key: Get(b) = %q, want z", got)
	}
	// CAS: fails on a mismatch, succeeds on a match, "" matches a missing key.
	if r := apply(t, m, Command{Client: 2, Seq: 1, Kind: OpCAS, Key: "a", Expected: "nope", Value: "w"}); r.Swapped {
		t.Fatal("CAS with a wrong expected value swapped")
	}
	if m.Get("a") != "xy" {
		t.Fatal("failed CAS changed the value")
	}
	if r := apply(t, m, Command{Client: 2, Seq: 2, Kind: OpCAS, Key: "a", Expected: "xy", Value: "w"}); !r.Swapped {
		t.Fatal("CAS with the right expected value did not swap")
	}
	if r := apply(t, m, Command{Client: 2, Seq: 3, Kind: OpCAS, Key: "new", Expected: "", Value: "v"}); !r.Swapped || m.Get("new") != "v" {
		t.Fatal("CAS with expected \"\" on a missing key did not swap")
	}
	if m.Get("a") != "w" {
		t.Fatalf("after CAS Get(a) = %q, want w", m.Get("a"))
	}
}

func TestStateMachineDedup(t *testing.T) {
	m := NewStateMachine(BugNone)
	app := Command{Client: 7, Seq: 1, Kind: OpAppend, Key: "k", Value: "a;"}
	apply(t, m, app)
	if r := apply(t, m, app); !r.Duplicate {
		t.Fatal("retried append not reported as a duplicate")
	}
	if got := m.Get("k"); got != "a;" {
		t.Fatalf("retried append applied twice: %q", got)
	}
	// A CAS retry gets the original result even though the state changed since.
	cas := Command{Client: 7, Seq: 2, Kind: OpCAS, Key: "k", Expected: "a;", Value: "b;"}
	if !apply(t, m, cas).Swapped {
		t.Fatal("CAS did not swap")
	}
	if r := apply(t, m, cas); !r.Duplicate || !r.Swapped {
		t.Fatalf("CAS retry = %+v, want the recorded swapped result", r)
	}
	// An older sequence number (a stale copy left in the log) changes nothing either.
	if r := apply(t, m, app); !r.Duplicate || m.Get("k") != "b;" {
		t.Fatalf("stale duplicate applied: %+v, k=%q", r, m.Get("k"))
	}
	// Other clients are independent.
	apply(t, m, Command{Client: 8, Seq: 1, Kind: OpAppend, Key: "k", Value: "c;"})
	if got := m.Get("k"); got != "b;c;" {
		t.Fatalf("Get(k) = %q, want b;c;", got)
	}
	// Gets leave no trace in the duplicate table.
	apply(t, m, Command{Client: 9, Seq: 1, Kind: OpGet, Key: "k"})
	if m.Sessions() != 2 {
		t.Fatalf("sessions = %d, want 2 (gets are not recorded)", m.Sessions())
	}
}

func TestStateMachineSnapshotRoundTrip(t *testing.T) {
	m := NewStateMachine(BugNone)
	apply(t, m, Command{Client: 3, Seq: 1, Kind: OpPut, Key: "z", Value: "1"})
	apply(t, m, Command{Client: 1, Seq: 5, Kind: OpAppend, Key: "a", Value: "2"})
	apply(t, m, Command{Client: 2, Seq: 9, Kind: OpCAS, Key: "a", Expected: "2", Value: "3"})
	apply(t, m, Command{Client: 4, Seq: 1, Kind: OpPut, Key: "empty", Value: ""})
	snap := m.Snapshot()

	r := NewStateMachine(BugNone)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Snapshot(), snap) {
		t.Fatal("snapshot of the restored state differs from the original snapshot")
	}
	if r.Get("a") != "3" || r.Get("z") != "1" || r.Keys() != 3 || r.Sessions() != 4 {
		t.Fatalf("restored state wrong: a=%q z=%q keys=%d sessions=%d", r.Get("a"), r.Get("z"), r.Keys(), r.Sessions())
	}
	// The duplicate table came along: retries are recognized, with their results.
	if res := apply(t, r, Command{Client: 2, Seq: 9, Kind: OpCAS, Key: "a", Expected: "2", Value: "3"}); !res.Duplicate || !res.Swapped {
		t.Fatalf("CAS retry after restore = %+v, want duplicate with swapped result", res)
	}
	if res := apply(t, r, Command{Client: 1, Seq: 5, Kind: OpAppend, Key: "a", Value: "2"}); !res.Duplicate || r.Get("a") != "3" {
		t.Fatalf("append retry after restore applied again: %+v a=%q", res, r.Get("a"))
	}
	// Restoring an empty snapshot gives the empty state.
	if err := r.Restore(nil); err != nil || r.Keys() != 0 || r.Sessions() != 0 {
		t.Fatalf("Restore(nil) = %v, keys %d sessions %d", err, r.Keys(), r.Sessions())
	}
}

func TestStateMachineSnapshotDeterministic(t *testing.T) {
	// The same state reached by different insertion orders encodes to the same bytes.
	a, b := NewStateMachine(BugNone), NewStateMachine(BugNone)
	var cmds []Command
	for i := 0; i < 50; i++ {
		cmds = append(cmds, Command{Client: uint64(i), Seq: 1, Kind: OpPut, Key: "k" + string(rune('a'+i%26)) + strconv.Itoa(i), Value: strconv.Itoa(i)})
	}
	for i := range cmds {
		a.Apply(&cmds[i])
		b.Apply(&cmds[len(cmds)-1-i])
	}
	if !bytes.Equal(a.Snapshot(), b.Snapshot()) {
		t.Fatal("snapshot depends on insertion order")
	}
}

func TestStateMachineRestoreRejectsGarbage(t *testing.T) {
	m := NewStateMachine(BugNone)
	apply(t, m, Command{Client: 1, Seq: 1, Kind: OpPut, Key: "a", Value: "1"})
	apply(t, m, Command{Client: 2, Seq: 1, Kind: OpPut, Key: "b", Value: "2"})
	good := m.Snapshot()
	bad := map[string][]byte{
		"version":  append([]byte{99}, good[1:]...),
		"trailing": append(append([]byte{}, good...), 0),
		"unsorted": {snapshotVersion, 2, 1, 'b', 0, 1, 'a', 0, 0},
		"swapped":  {snapshotVersion, 0, 1, 1, 1, 7},
		"huge":     {snapshotVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for cut := 1; cut < len(good); cut++ {
		bad["truncated"+strconv.Itoa(cut)] = good[:cut]
	}
	for name, b := range bad {
		r := NewStateMachine(BugNone)
		apply(t, r, Command{Client: 5, Seq: 1, Kind: OpPut, Key: "keep", Value: "me"})
		if err := r.Restore(b); err == nil {
			t.Errorf("%s: Restore accepted garbage %x", name, b)
		}
		if r.Get("keep") != "me" {
			t.Errorf("%s: failed Restore changed the state", name)
		}
	}
}

// Each KV planted bug changes behaviour, and only when switched on.
func TestPlantedBugNoDedup(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugNoDedup} {
		m := NewStateMachine(bug)
		app := Command{Client: 1, Seq: 1, Kind: OpAppend, Key: "k", Value: "x;"}
		apply(t, m, app)
		apply(t, m, app) // the retry
		want := "x;"
		if bug == BugNoDedup {
			want = "x;x;"
		}
		if got := m.Get("k"); got != want {
			t.Errorf("bug %v: after a retried append k = %q, want %q", bug, got, want)
		}
	}
}

func TestPlantedBugDedupNotInSnapshot(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugDedupNotInSnapshot} {
		m := NewStateMachine(bug)
		app := Command{Client: 1, Seq: 1, Kind: OpAppend, Key: "k", Value: "x;"}
		apply(t, m, app)
		r := NewStateMachine(bug)
		if err := r.Restore(m.Snapshot()); err != nil {
			t.Fatal(err)
		}
		apply(t, r, app) // the retry reaches a server that restored the snapshot
		want := "x;"
		if bug == BugDedupNotInSnapshot {
			want = "x;x;"
		}
		if got := r.Get("k"); got != want {
			t.Errorf("bug %v: retry after restore gives k = %q, want %q", bug, got, want)
		}
		// Without a snapshot in between the duplicate table still works: the bug is only in
		// the snapshot.
		apply(t, m, app)
		if got := m.Get("k"); got != "x;" {
			t.Errorf("bug %v: retry without a snapshot gives k = %q", bug, got)
		}
	}
}

func TestParseBug(t *testing.T) {
	names := []string{"no-dedup", "read-local", "dedup-not-in-snapshot"}
	bugs := Bugs()
	if len(bugs) != len(names) {
		t.Fatalf("Bugs() = %v, want %d bugs", bugs, len(names))
	}
	for i, name := range names {
		b, ok := ParseBug(name)
		if !ok || b != bugs[i] || b.String() != name {
			t.Errorf("ParseBug(%q) = %v, %v", name, b, ok)
		}
	}
	if b, ok := ParseBug(""); !ok || b != BugNone {
		t.Error(`ParseBug("") should be BugNone`)
	}
	if _, ok := ParseBug("vote-twice"); ok {
		t.Error("ParseBug accepted a raft bug name")
	}
}

// The state digest is a function of the state alone: equal for replicas that applied the same
// commands, kept by a snapshot round trip, different when a value or the duplicate table
// differs.
func TestStateMachineDigest(t *testing.T) {
	cmds := []Command{
		{Client: 1, Seq: 1, Kind: OpPut, Key: "a", Value: "x"},
		{Client: 2, Seq: 1, Kind: OpAppend, Key: "a", Value: "y"},
		{Client: 1, Seq: 2, Kind: OpCAS, Key: "a", Expected: "xy", Value: "z"},
		{Client: 2, Seq: 2, Kind: OpPut, Key: "b", Value: "w"},
	}
	a, b := NewStateMachine(BugNone), NewStateMachine(BugNone)
	for i := range cmds {
		a.Apply(&cmds[i])
		b.Apply(&cmds[i])
	}
	if a.Digest() != b.Digest() || a.Digest() == NewStateMachine(BugNone).Digest() {
		t.Fatalf("digests %#x and %#x of equal states (empty: %#x)", a.Digest(), b.Digest(), NewStateMachine(BugNone).Digest())
	}
	c := NewStateMachine(BugNone)
	if err := c.Restore(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if c.Digest() != a.Digest() {
		t.Fatalf("restored digest %#x, want %#x", c.Digest(), a.Digest())
	}
	// A retried write changes nothing, so the digest stays.
	before := a.Digest()
	a.Apply(&cmds[3])
	if a.Digest() != before {
		t.Fatal("a duplicate write changed the digest")
	}
	// Same key/values, different duplicate table.
	d := NewStateMachine(BugNone)
	d.Apply(&Command{Client: 3, Seq: 1, Kind: OpPut, Key: "a", Value: "z"})
	d.Apply(&Command{Client: 2, Seq: 2, Kind: OpPut, Key: "b", Value: "w"})
	if d.Get("a") != a.Get("a") || d.Get("b") != a.Get("b") {
		t.Fatal("test setup: key/values differ")
	}
	if d.Digest() == a.Digest() {
		t.Fatal("states with different duplicate tables have the same digest")
	}
	// A snapshot without the duplicate table (the planted bug) restores another state.
	e := NewStateMachine(BugDedupNotInSnapshot)
	if err := e.Restore(NewStateMachine(BugDedupNotInSnapshot).Snapshot()); err != nil {
		t.Fatal(err)
	}
	for i := range cmds {
		e.Apply(&cmds[i])
	}
	lost := NewStateMachine(BugDedupNotInSnapshot)
	if err := lost.Restore(e.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if lost.Digest() == e.Digest() {
		t.Fatal("a snapshot that dropped the duplicate table restores the same digest")
	}
}
