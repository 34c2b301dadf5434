package kv

import (
	"bytes"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

func genCommand() *rapid.Generator[Command] {
	return rapid.Custom(func(t *rapid.T) Command {
		c := Command{
			Client: rapid.Uint64().Draw(t, "client"),
			Seq:    rapid.Uint64().Draw(t, "seq"),
			Kind:   OpKind(rapid.IntRange(int(OpGet), int(OpCAS)).Draw(t, "kind")),
			Key:    rapid.String().Draw(t, "key"),
		}
		if c.Kind != OpGet {
			c.Value = rapid.String().Draw(t, "value")
		}
		if c.Kind == OpCAS {
			c.Expected = rapid.String().Draw(t, "expected")
		}
		return c
	})
}

func TestCommandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genCommand().Draw(t, "cmd")
		prefix := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "prefix")
		b := c.MarshalTo(append([]byte{}, prefix...))
		if !bytes.Equal(b[:len(prefix)], prefix) {
			t.Fatal("MarshalTo clobbered the buffer prefix")
		}
		got, err := UnmarshalCommand(b[len(prefix):])
		if err != nil {
			t.Fatalf("UnmarshalCommand(%x): %v", b, err)
		}
		if got != c {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
		req, err := ParseRequest(AppendRequest(nil, &c))
		if err != nil || req != c {
			t.Fatalf("request round trip: %+v, %v", req, err)
		}
	})
}

func TestReplyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := Reply{
			Client:     rapid.Uint64().Draw(t, "client"),
			Seq:        rapid.Uint64().Draw(t, "seq"),
			Err:        Err(rapid.IntRange(0, int(errCount)-1).Draw(t, "err")),
			Value:      rapid.String().Draw(t, "value"),
			Swapped:    rapid.Bool().Draw(t, "swapped"),
			LeaderHint: rapid.Int32Range(NoLeader, 1<<31-1).Draw(t, "hint"),
		}
		got, err := ParseReply(AppendReply(nil, &r))
		if err != nil {
			t.Fatal(err)
		}
		if got != r {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	})
}

// Random bytes never panic the decoders, and whatever they accept is a well-formed value that
// survives a round trip.
func TestUnmarshalGarbage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "bytes")
		if c, err := UnmarshalCommand(b); err == nil {
			if again, err := UnmarshalCommand(c.Marshal()); err != nil || again != c {
				t.Fatalf("accepted %x as %+v, which does not survive a round trip: %+v, %v", b, c, again, err)
			}
		}
		if r, err := UnmarshalReply(b); err == nil {
			if again, err := UnmarshalReply(r.MarshalTo(nil)); err != nil || again != r {
				t.Fatalf("accepted %x as %+v, which does not survive a round trip: %+v, %v", b, r, again, err)
			}
		}
		m := NewStateMachine(BugNone)
		if err := m.Restore(b); err == nil {
			snap := m.Snapshot()
			again := NewStateMachine(BugNone)
			if err := again.Restore(snap); err != nil || !bytes.Equal(again.Snapshot(), snap) {
				t.Fatalf("snapshot accepted %x, which does not survive a round trip: %v", b, err)
			}
		}
	})
}

func TestUnmarshalRejectsKnownGarbage(t *testing.T) {
	good := Command{Client: 1, Seq: 2, Kind: OpCAS, Key: "k", Value: "v", Expected: "e"}
	enc := good.Marshal()
	cases := map[string][]byte{
		"empty":            {},
		"unknown kind":     append([]byte{9}, enc[1:]...),
		"zero kind":        append([]byte{0}, enc[1:]...),
		"trailing":         append(append([]byte{}, enc...), 0),
		"get with value":   (&Command{Kind: OpGet, Key: "k", Value: "v"}).Marshal(),
		"put with expect":  (&Command{Kind: OpPut, Key: "k", Expected: "e"}).Marshal(),
		"overlong varint":  {byte(OpPut), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"length past end":  {byte(OpPut), 1, 1, 50, 'k'},
		"key over the cap": append([]byte{byte(OpPut), 1, 1, 0x81, 0x08}, make([]byte, 1025+2)...),
	}
	for cut := 0; cut < len(enc); cut++ {
		cases["truncated at "+strconv.Itoa(cut)] = enc[:cut]
	}
	for name, b := range cases {
		if c, err := UnmarshalCommand(b); err == nil {
			t.Errorf("%s: UnmarshalCommand(%x) accepted %+v", name, b, c)
		}
	}
	if _, err := ParseRequest(append([]byte{TagReply}, enc...)); err == nil {
		t.Error("ParseRequest accepted a reply tag")
	}
	rep := (&Reply{Client: 1, Seq: 1, Err: OK, LeaderHint: 2}).MarshalTo(nil)
	replyCases := map[string][]byte{
		"bad err":   append([]byte{byte(errCount)}, rep[1:]...),
		"bad flags": append([]byte{rep[0], 0x80}, rep[2:]...),
		"truncated": rep[:len(rep)-1],
	}
	for name, b := range replyCases {
		if r, err := UnmarshalReply(b); err == nil {
			t.Errorf("%s: UnmarshalReply(%x) accepted %+v", name, b, r)
		}
	}
}

func BenchmarkCommandRoundTrip(b *testing.B) {
	c := Command{Client: 1 << 40, Seq: 12345, Kind: OpAppend, Key: "k17", Value: "3.12345xxxxxxxxxxxxx;"}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = c.MarshalTo(buf[:0])
		if _, err := UnmarshalCommand(buf); err != nil {
			b.Fatal(err)
		}
	}
}
