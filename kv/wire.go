package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message tags: the first byte of every payload a KV server or clerk sends. Hosts reserve
// sut.TagConsensus for their consensus messages and hand every other payload to the service.
const (
	TagRequest byte = 'C' // clerk -> server: a Command
	TagReply   byte = 'c' // server -> clerk: a Reply
)

// Encoding limits, enforced by Unmarshal so that garbage cannot make it allocate absurd amounts.
const (
	MaxKeyBytes   = 1 << 10
	MaxValueBytes = 1 << 24
)

// Command is one client operation: the body of a client request and the data of a raft log
// entry. (Client, Seq) identifies it for duplicate detection; a clerk numbers its operations
// 1, 2, 3... and has at most one outstanding.
type Command struct {
	Client   uint64
	Seq      uint64
	Kind     OpKind
	Key      string
	Value    string // Put/Append argument, CAS new value; empty for Get
	Expected string // CAS expected current value; empty for other kinds
}

// MarshalTo appends the command's binary encoding to buf:
// kind byte, client uvarint, seq uvarint, key, value, expected (each uvarint length + bytes).
func (c *Command) MarshalTo(buf []byte) []byte {
	buf = append(buf, byte(c.Kind))
	buf = binary.AppendUvarint(buf, c.Client)
	buf = binary.AppendUvarint(buf, c.Seq)
	buf = appendString(buf, c.Key)
	buf = appendString(buf, c.Value)
	buf = appendString(buf, c.Expected)
	return buf
}

// Marshal returns the command's binary encoding.
func (c *Command) Marshal() []byte {
	return c.MarshalTo(make([]byte, 0, 8+len(c.Key)+len(c.Value)+len(c.Expected)+12))
}

// UnmarshalCommand decodes an encoding made by Command.MarshalTo. It rejects truncated input,
// trailing bytes, unknown kinds, oversized fields and fields a kind does not carry (a Get with a
// value, a Put with an expected value) with an error; it never panics.
func UnmarshalCommand(b []byte) (Command, error) {
	v, err := decodeCommandView(b)
	if err != nil {
		return Command{}, err
	}
	return v.command(), nil
}

// command copies a view into a Command.
func (v *commandView) command() Command {
	return Command{Client: v.client, Seq: v.seq, Kind: v.kind, Key: string(v.key), Value: string(v.value), Expected: string(v.expected)}
}

// commandView is a decoded command whose fields alias the encoding, so that servers decode
// requests and log entries without allocating.
type commandView struct {
	client, seq          uint64
	kind                 OpKind
	key, value, expected []byte
}

func decodeCommandView(b []byte) (commandView, error) {
	var v commandView
	d := decoder{b: b}
	v.kind = OpKind(d.byte())
	v.client = d.uvarint()
	v.seq = d.uvarint()
	v.key = d.bytes(MaxKeyBytes)
	v.value = d.bytes(MaxValueBytes)
	v.expected = d.bytes(MaxValueBytes)
	if err := d.finish("command"); err != nil {
		return commandView{}, err
	}
	switch {
	case !v.kind.Valid():
		return commandView{}, fmt.Errorf("kv: command has unknown kind %d", uint8(v.kind))
	case v.kind == OpGet && len(v.value) != 0:
		return commandView{}, errors.New("kv: get command carries a value")
	case v.kind != OpCAS && len(v.expected) != 0:
		return commandView{}, fmt.Errorf("kv: %s command carries an expected value", v.kind)
	}
	return v, nil
}

// parseRequestView decodes a request payload without allocating.
func parseRequestView(payload []byte) (commandView, error) {
	if len(payload) == 0 || payload[0] != TagRequest {
		return commandView{}, errors.New("kv: payload is not a request (tag 'C')")
	}
	return decodeCommandView(payload[1:])
}

// Err is the outcome a server reports to a clerk.
type Err uint8

const (
	// OK: the operation was applied (or read) and Reply carries its result.
	OK Err = iota
	// ErrWrongLeader: this server is not the leader; LeaderHint names the one it knows, if any.
	ErrWrongLeader
	// ErrRetry: the server accepted the request but its log entry was replaced, or it lost
	// leadership before the entry committed; the outcome is unknown, retry (duplicate detection
	// makes the retry safe).
	ErrRetry
	// ErrBusy: the server's table of pending requests is full; retry later.
	ErrBusy
	errCount
)

var errNames = [errCount]string{OK: "OK", ErrWrongLeader: "ErrWrongLeader", ErrRetry: "ErrRetry", ErrBusy: "ErrBusy"}

func (e Err) String() string {
	if e < errCount {
		return errNames[e]
	}
	return fmt.Sprintf("kv.Err(%d)", uint8(e))
}

// NoLeader is the LeaderHint of a reply whose sender knows no leader.
const NoLeader int32 = -1

// Reply answers one request (Client, Seq).
type Reply struct {
	Client     uint64
	Seq        uint64
	Err        Err
	Value      string // Get result when Err == OK
	Swapped    bool   // CAS result when Err == OK
	LeaderHint int32  // sim node id of the leader the server believes in, NoLeader if none
}

const replySwappedFlag = 1

// MarshalTo appends the reply's binary encoding to buf: err byte, flags byte, client uvarint,
// seq uvarint, leader hint varint, value (uvarint length + bytes).
func (r *Reply) MarshalTo(buf []byte) []byte {
	var flags byte
	if r.Swapped {
		flags |= replySwappedFlag
	}
	buf = append(buf, byte(r.Err), flags)
	buf = binary.AppendUvarint(buf, r.Client)
	buf = binary.AppendUvarint(buf, r.Seq)
	buf = binary.AppendVarint(buf, int64(r.LeaderHint))
	buf = appendString(buf, r.Value)
	return buf
}

// UnmarshalReply decodes an encoding made by Reply.MarshalTo, rejecting garbage with an error.
func UnmarshalReply(b []byte) (Reply, error) {
	var r Reply
	d := decoder{b: b}
	r.Err = Err(d.byte())
	flags := d.byte()
	r.Client = d.uvarint()
	r.Seq = d.uvarint()
	hint := d.varint()
	r.Value = d.string(MaxValueBytes)
	if err := d.finish("reply"); err != nil {
		return Reply{}, err
	}
	if r.Err >= errCount {
		return Reply{}, fmt.Errorf("kv: reply has unknown error code %d", uint8(r.Err))
	}
	if flags&^replySwappedFlag != 0 {
		return Reply{}, fmt.Errorf("kv: reply has unknown flags %#x", flags)
	}
	r.Swapped = flags&replySwappedFlag != 0
	if hint < int64(NoLeader) || hint > 1<<31-1 {
		return Reply{}, fmt.Errorf("kv: reply leader hint %d out of range", hint)
	}
	r.LeaderHint = int32(hint)
	return r, nil
}

// AppendRequest appends a tagged request payload (TagRequest + command) to buf.
func AppendRequest(buf []byte, c *Command) []byte {
	return c.MarshalTo(append(buf, TagRequest))
}

// ParseRequest decodes a payload made by AppendRequest.
func ParseRequest(payload []byte) (Command, error) {
	if len(payload) == 0 || payload[0] != TagRequest {
		return Command{}, errors.New("kv: payload is not a request (tag 'C')")
	}
	return UnmarshalCommand(payload[1:])
}

// AppendReply appends a tagged reply payload (TagReply + reply) to buf.
func AppendReply(buf []byte, r *Reply) []byte {
	return r.MarshalTo(append(buf, TagReply))
}

// ParseReply decodes a payload made by AppendReply.
func ParseReply(payload []byte) (Reply, error) {
	if len(payload) == 0 || payload[0] != TagReply {
		return Reply{}, errors.New("kv: payload is not a reply (tag 'c')")
	}
	return UnmarshalReply(payload[1:])
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads fields in order and remembers the first error, so that callers check once.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("bad %s at byte %d of %d", what, d.off, len(d.b))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("byte (truncated)")
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

// bytes returns a length-prefixed field aliasing the input.
func (d *decoder) bytes(maxLen int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(maxLen) || n > uint64(len(d.b)-d.off) {
		d.fail("length-prefixed field (too long or truncated)")
		return nil
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *decoder) string(maxLen int) string {
	v := d.bytes(maxLen)
	if len(v) == 0 {
		return ""
	}
	return string(v)
}

// finish reports the first error, or trailing garbage after a complete message.
func (d *decoder) finish(what string) error {
	if d.err != nil {
		return fmt.Errorf("kv: decoding %s: %w", what, d.err)
	}
	if d.off != len(d.b) {
		return fmt.Errorf("kv: %s has %d trailing bytes", what, len(d.b)-d.off)
	}
	return nil
}

// DescribePayload shows a client request or reply payload in one line for a trace; ok is false
// for a payload that is not a well-formed KV message.
func DescribePayload(p []byte) (desc string, ok bool) {
	m, ok := DecodePayload(p)
	if !ok {
		return "", false
	}
	if m.Request != nil {
		return fmt.Sprintf("request client %d seq %d %s", m.Request.Client, m.Request.Seq, m.Request.Describe()), true
	}
	return fmt.Sprintf("reply %+v", *m.Reply), true
}

// Message is a decoded KV payload: exactly one of Request and Reply is set.
type Message struct {
	Request *Command
	Reply   *Reply
}

// DecodePayload decodes a client request or reply payload for traces and timelines; ok is false
// for a payload that is not a well-formed KV message.
func DecodePayload(p []byte) (m Message, ok bool) {
	if len(p) == 0 {
		return Message{}, false
	}
	switch p[0] {
	case TagRequest:
		if c, err := ParseRequest(p); err == nil {
			return Message{Request: &c}, true
		}
	case TagReply:
		if r, err := ParseReply(p); err == nil {
			return Message{Reply: &r}, true
		}
	}
	return Message{}, false
}

// Describe shows the operation and its arguments, e.g. `append("k1", "4.7;")`.
func (c *Command) Describe() string {
	switch c.Kind {
	case OpPut, OpAppend:
		return fmt.Sprintf("%s(%q, %q)", c.Kind, c.Key, c.Value)
	case OpCAS:
		return fmt.Sprintf("cas(%q, %q -> %q)", c.Key, c.Expected, c.Value)
	}
	return fmt.Sprintf("%s(%q)", c.Kind, c.Key)
}
