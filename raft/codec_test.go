package raft

import (
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func genMessage() *rapid.Generator[Message] {
	return rapid.Custom(func(t *rapid.T) Message {
		m := Message{
			Type:          MessageType(rapid.IntRange(0, int(messageTypeCount)-1).Draw(t, "type")),
			From:          rapid.IntRange(-1, 1000).Draw(t, "from"),
			To:            rapid.Int().Draw(t, "to"),
			Term:          rapid.Uint64().Draw(t, "term"),
			LogTerm:       rapid.Uint64().Draw(t, "logTerm"),
			Index:         rapid.Uint64().Draw(t, "index"),
			Commit:        rapid.Uint64().Draw(t, "commit"),
			Reject:        rapid.Bool().Draw(t, "reject"),
			ConflictTerm:  rapid.Uint64().Draw(t, "conflictTerm"),
			ConflictIndex: rapid.Uint64().Draw(t, "conflictIndex"),
			Context:       rapid.Uint64().Draw(t, "context"),
		}
		for i := range rapid.IntRange(0, 5).Draw(t, "entries") {
			_ = i
			m.Entries = append(m.Entries, Entry{
				Term:  rapid.Uint64().Draw(t, "eterm"),
				Index: rapid.Uint64().Draw(t, "eindex"),
				Type:  EntryType(rapid.IntRange(0, int(entryTypeCount)-1).Draw(t, "etype")),
				Data:  nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "edata")),
			})
		}
		if rapid.Bool().Draw(t, "hasSnapshot") {
			m.Snapshot = &Snapshot{
				Index: rapid.Uint64().Draw(t, "sindex"),
				Term:  rapid.Uint64().Draw(t, "sterm"),
				Data:  nilIfEmpty(rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "sdata")),
			}
		}
		return m
	})
}

// Empty payloads decode as nil.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Every message survives Marshal/Unmarshal, MarshalTo appends, and the decoded message does
// not alias the encoding.
func TestCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		b := m.Marshal()
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, m)
		}
		prefix := []byte("prefix")
		if b2 := m.MarshalTo(prefix); string(b2[len(prefix):]) != string(b) || string(b2[:len(prefix)]) != "prefix" {
			t.Fatalf("MarshalTo differs from Marshal")
		}
		for i := range b {
			b[i] ^= 0xff
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("decoded message aliases its input")
		}
	})
}

// Every strict prefix of a valid encoding is rejected with an error, and so is anything
// with trailing bytes.
func TestCodecRejectsTruncated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		b := m.Marshal()
		for i := range len(b) {
			if _, err := Unmarshal(b[:i]); err == nil {
				t.Fatalf("prefix of %d of %d bytes accepted", i, len(b))
			}
		}
		if _, err := Unmarshal(append(b, 0)); err == nil {
			t.Fatalf("trailing byte accepted")
		}
	})
}

// Garbage never panics; when it decodes, it re-encodes to the same bytes (so nothing was
// silently skipped).
func TestCodecGarbage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, "b")
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		if again := m.Marshal(); string(again) != string(b) {
			// Non-minimal varints decode but re-encode shorter; the decoded value must be
			// stable under a second round trip.
			m2, err := Unmarshal(again)
			if err != nil || !reflect.DeepEqual(m2, m) {
				t.Fatalf("garbage decoded to an unstable message %+v", m)
			}
		}
	})
}

func TestCodecKnownBad(t *testing.T) {
	valid := (&Message{Type: MsgApp, From: 1, To: 2, Term: 3, Entries: []Entry{{Term: 3, Index: 1, Data: []byte("x")}}}).Marshal()
	tests := map[string][]byte{
		"empty":         nil,
		"unknown type":  append([]byte{byte(messageTypeCount)}, valid[1:]...),
		"unknown flags": append([]byte{valid[0], 0x80}, valid[2:]...),
	}
	// Entry count claims 2^40 entries in a short message.
	huge := (&Message{}).Marshal()
	huge = append(huge[:len(huge)-1], 0x80, 0x80, 0x80, 0x80, 0x80, 0x20)
	tests["huge count"] = huge
	badType := append([]byte(nil), valid...)
	// The only entry ends with: term, index, type, data length, 'x' (one byte each).
	badType[len(badType)-3] = byte(entryTypeCount)
	tests["bad entry type"] = badType
	overlong := append([]byte(nil), valid...)
	overlong[len(overlong)-2] = 50 // data length beyond the message
	tests["data length"] = overlong
	for name, b := range tests {
		if _, err := Unmarshal(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Unmarshal(valid); err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
}

func TestMessageString(t *testing.T) {
	m := Message{Type: MsgApp, From: 1, To: 2, Term: 3, Index: 5, LogTerm: 2, Entries: make([]Entry, 2), Commit: 4}
	if got, want := m.String(), "MsgApp 1->2 t3 i5/t2 n2 c4"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	r := Message{Type: MsgAppResp, From: 2, To: 1, Term: 3, Index: 5, Reject: true, ConflictTerm: 2, ConflictIndex: 3}
	if got, want := r.String(), "MsgAppResp 2->1 t3 i5/t0 n0 c0 reject ct2 ci3"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	s := Message{Type: MsgSnap, From: 1, To: 3, Term: 4, Snapshot: &Snapshot{Index: 9, Term: 3, Data: []byte("abc")}}
	if got, want := s.String(), "MsgSnap 1->3 t4 i0/t0 n0 c0 snap i9/t3 len3"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if MessageType(200).String() != "MessageType(200)" || Leader.String() != "Leader" || EntryNoop.String() != "EntryNoop" {
		t.Fatalf("enum names")
	}
}

func TestBugNames(t *testing.T) {
	want := []string{"vote-no-persist", "vote-no-log-check", "vote-twice", "truncate-always",
		"commit-old-term", "commit-no-min", "match-from-current", "ack-before-sync", "snapshot-offset"}
	bugs := Bugs()
	if len(bugs) != len(want) {
		t.Fatalf("Bugs() = %v", bugs)
	}
	for i, b := range bugs {
		if b.String() != want[i] {
			t.Errorf("bug %d named %q, want %q", i, b, want[i])
		}
		if p, ok := ParseBug(want[i]); !ok || p != b {
			t.Errorf("ParseBug(%q) = %v %v", want[i], p, ok)
		}
	}
	for _, name := range []string{"", "none"} {
		if b, ok := ParseBug(name); !ok || b != BugNone {
			t.Errorf("ParseBug(%q) = %v %v", name, b, ok)
		}
	}
	for _, name := range []string{"no-dedup", "read-local", "dedup-not-in-snapshot", "bogus"} {
		if _, ok := ParseBug(name); ok {
			t.Errorf("ParseBug(%q) accepted a name that is not a raft bug", name)
		}
	}
}
