package raft

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Wire format of a Message (all integers are encoding/binary varints; ids are signed):
//
//	type:byte flags:byte from:varint to:varint term logTerm index commit conflictTerm
//	conflictIndex context:uvarint entryCount:uvarint
//	entryCount × (term index:uvarint type:byte dataLen:uvarint data)
//	if flags&flagSnapshot: snapIndex snapTerm:uvarint dataLen:uvarint data
const (
	flagReject   = 1 << 0
	flagSnapshot = 1 << 1
	flagsKnown   = flagReject | flagSnapshot

	// minEntryEncodedBytes bounds the entry count by the input length before allocating,
	// so that a garbage count cannot make Unmarshal allocate a huge slice.
	minEntryEncodedBytes = 4
)

// Marshal encodes the message into a new byte slice.
func (m *Message) Marshal() []byte {
	return m.MarshalTo(make([]byte, 0, m.encodedSizeHint()))
}

func (m *Message) encodedSizeHint() int {
	size := 2 + 2*binary.MaxVarintLen64 + 8*binary.MaxVarintLen64
	for i := range m.Entries {
		size += 3*binary.MaxVarintLen64 + 1 + len(m.Entries[i].Data)
	}
	if m.Snapshot != nil {
		size += 3*binary.MaxVarintLen64 + len(m.Snapshot.Data)
	}
	return size
}

// MarshalTo appends the encoding of the message to buf and returns the extended slice.
func (m *Message) MarshalTo(buf []byte) []byte {
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagSnapshot
	}
	buf = append(buf, byte(m.Type), flags)
	buf = binary.AppendVarint(buf, int64(m.From))
	buf = binary.AppendVarint(buf, int64(m.To))
	buf = binary.AppendUvarint(buf, m.Term)
	buf = binary.AppendUvarint(buf, m.LogTerm)
	buf = binary.AppendUvarint(buf, m.Index)
	buf = binary.AppendUvarint(buf, m.Commit)
	buf = binary.AppendUvarint(buf, m.ConflictTerm)
	buf = binary.AppendUvarint(buf, m.ConflictIndex)
	buf = binary.AppendUvarint(buf, m.Context)
	buf = binary.AppendUvarint(buf, uint64(len(m.Entries)))
	for i := range m.Entries {
		e := &m.Entries[i]
		buf = binary.AppendUvarint(buf, e.Term)
		buf = binary.AppendUvarint(buf, e.Index)
		buf = append(buf, byte(e.Type))
		buf = binary.AppendUvarint(buf, uint64(len(e.Data)))
		buf = append(buf, e.Data...)
	}
	if m.Snapshot != nil {
		buf = binary.AppendUvarint(buf, m.Snapshot.Index)
		buf = binary.AppendUvarint(buf, m.Snapshot.Term)
		buf = binary.AppendUvarint(buf, uint64(len(m.Snapshot.Data)))
		buf = append(buf, m.Snapshot.Data...)
	}
	return buf
}

// WireFlagReject is the bit of a message's flags byte (the second byte of its encoding) that
// says it rejects, for hosts that classify messages without decoding them.
const WireFlagReject = flagReject

var errTruncated = errors.New("raft: message truncated or varint overflow")

// decoder reads the wire format; the first error sticks and later reads return zero.
type decoder struct {
	b   []byte
	off int
	err error
	// data receives copies of all entry and snapshot payloads (one allocation per message),
	// so that the decoded message never aliases the caller's buffer.
	data []byte
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(errTruncated)
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
		d.fail(errTruncated)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varintInt() int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	if int64(int(v)) != v {
		d.fail(errors.New("raft: node id does not fit in int"))
		return 0
	}
	d.off += n
	return int(v)
}

// bytes returns a copy of the next length-prefixed payload (nil when empty).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(errors.New("raft: payload length " + strconv.FormatUint(n, 10) + " exceeds message"))
		return nil
	}
	if d.data == nil {
		// Every payload lies within the rest of the input, so this capacity is enough
		// for all of them: append below never reallocates and earlier copies stay valid.
		d.data = make([]byte, 0, len(d.b)-d.off)
	}
	start := len(d.data)
	d.data = append(d.data, d.b[d.off:d.off+int(n)]...)
	d.off += int(n)
	return d.data[start:len(d.data):len(d.data)]
}

// Unmarshal decodes a message encoded by Marshal. It rejects truncated, overlong or garbage
// input with an error and never panics. The result does not alias b.
func Unmarshal(b []byte) (Message, error) {
	d := decoder{b: b}
	var m Message
	m.Type = MessageType(d.byte())
	flags := d.byte()
	if d.err == nil && m.Type >= messageTypeCount {
		return Message{}, errors.New("raft: unknown message type " + strconv.Itoa(int(m.Type)))
	}
	if d.err == nil && flags&^flagsKnown != 0 {
		return Message{}, errors.New("raft: unknown message flags " + strconv.Itoa(int(flags)))
	}
	m.Reject = flags&flagReject != 0
	m.From = d.varintInt()
	m.To = d.varintInt()
	m.Term = d.uvarint()
	m.LogTerm = d.uvarint()
	m.Index = d.uvarint()
	m.Commit = d.uvarint()
	m.ConflictTerm = d.uvarint()
	m.ConflictIndex = d.uvarint()
	m.Context = d.uvarint()
	count := d.uvarint()
	if d.err != nil {
		return Message{}, d.err
	}
	if count > uint64(len(b)-d.off)/minEntryEncodedBytes {
		return Message{}, errors.New("raft: entry count " + strconv.FormatUint(count, 10) + " exceeds message")
	}
	if count > 0 {
		m.Entries = make([]Entry, count)
		for i := range m.Entries {
			e := &m.Entries[i]
			e.Term = d.uvarint()
			e.Index = d.uvarint()
			e.Type = EntryType(d.byte())
			if d.err == nil && e.Type >= entryTypeCount {
				return Message{}, errors.New("raft: unknown entry type " + strconv.Itoa(int(e.Type)))
			}
			e.Data = d.bytes()
			if d.err != nil {
				return Message{}, d.err
			}
		}
	}
	if flags&flagSnapshot != 0 {
		s := &Snapshot{}
		s.Index = d.uvarint()
		s.Term = d.uvarint()
		s.Data = d.bytes()
		m.Snapshot = s
	}
	if d.err != nil {
		return Message{}, d.err
	}
	if d.off != len(b) {
		return Message{}, errors.New("raft: " + strconv.Itoa(len(b)-d.off) + " trailing bytes after message")
	}
	return m, nil
}
