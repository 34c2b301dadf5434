package kv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// StateMachine is the replicated KV state: the key/value map plus the duplicate table that makes
// every write take effect exactly once. Both are part of the state and of every snapshot, so a
// server that restarts from a snapshot or installs one from the leader still recognizes a retried
// request. It is a pure function of the sequence of applied commands.
type StateMachine struct {
	// The key/value map, laid out so that applying a command decoded in place (keys as byte
	// slices) allocates nothing for existing keys: slot maps a key to its index in keys/values.
	slot   map[string]int32
	keys   []string
	values []string
	// sessions is the duplicate table: per client, the sequence number of its last applied write
	// and that write's result. Gets are not recorded: executing a read again is harmless, and
	// its result is the state at the moment the retry is applied, which lies inside the call.
	sessions map[uint64]session
	bug      Bug
	// digest is the state's digest (Digest), kept up to date by every change.
	digest uint64
}

type session struct {
	seq     uint64
	swapped bool // the CAS result of write seq (false for Put/Append)
}

// Result is what applying a command produced.
type Result struct {
	Value     string // Get: the value ("" for a missing key)
	Swapped   bool   // CAS: whether the value was replaced
	Duplicate bool   // the write was already applied: nothing changed, the recorded result is returned
}

// maxStateKeys bounds the number of keys; the slot index is an int32.
const maxStateKeys = 1 << 30

// NewStateMachine returns an empty state machine; bug selects a planted KV bug (BugNone for the
// correct one).
func NewStateMachine(bug Bug) *StateMachine {
	return &StateMachine{slot: make(map[string]int32), sessions: make(map[uint64]session), bug: bug}
}

// Get returns the current value of key ("" when missing).
func (m *StateMachine) Get(key string) string {
	if i, ok := m.slot[key]; ok {
		return m.values[i]
	}
	return ""
}

func (m *StateMachine) getBytes(key []byte) string {
	if i, ok := m.slot[string(key)]; ok { // no allocation: map lookup by converted bytes
		return m.values[i]
	}
	return ""
}

// set stores value under key, allocating the key only the first time it is written.
func (m *StateMachine) set(key []byte, value string) {
	if i, ok := m.slot[string(key)]; ok {
		m.digest += pairDigest(key, value) - pairDigest(key, m.values[i])
		m.values[i] = value
		return
	}
	m.digest += pairDigest(key, value)
	if len(m.keys) >= maxStateKeys {
		panic(fmt.Sprintf("kv: state machine holds %d keys, the limit", len(m.keys)))
	}
	k := string(key)
	m.slot[k] = int32(len(m.keys))
	m.keys = append(m.keys, k)
	m.values = append(m.values, value)
}

// Keys returns the number of keys ever written.
func (m *StateMachine) Keys() int { return len(m.keys) }

// Sessions returns the number of clients in the duplicate table.
func (m *StateMachine) Sessions() int { return len(m.sessions) }

// Apply executes one committed command. A write whose (Client, Seq) is not newer than the
// client's last applied write is a duplicate (a retry, or a copy left in the log by an earlier
// leader): it changes nothing, and for the latest sequence number the recorded result is returned.
func (m *StateMachine) Apply(c *Command) Result {
	return m.apply(&commandView{client: c.Client, seq: c.Seq, kind: c.Kind,
		key: []byte(c.Key), value: []byte(c.Value), expected: []byte(c.Expected)})
}

func (m *StateMachine) apply(c *commandView) Result {
	if !c.kind.Valid() {
		panic(fmt.Sprintf("kv: StateMachine.Apply of a command with invalid kind %d (commands are validated when decoded)", c.kind))
	}
	if c.kind == OpGet {
		return Result{Value: m.getBytes(c.key)}
	}
	last, known := m.sessions[c.client]
	// PLANTED BUG no-dedup: the duplicate table is not consulted, so a retried write is applied again.
	if known && c.seq <= last.seq && m.bug != BugNoDedup {
		return Result{Swapped: c.seq == last.seq && last.swapped, Duplicate: true}
	}
	swapped := false
	switch c.kind {
	case OpPut:
		m.set(c.key, string(c.value))
	case OpAppend:
		m.set(c.key, m.getBytes(c.key)+string(c.value))
	case OpCAS:
		if m.getBytes(c.key) == string(c.expected) {
			m.set(c.key, string(c.value))
			swapped = true
		}
	}
	m.setSession(c.client, session{seq: c.seq, swapped: swapped})
	return Result{Swapped: swapped}
}

const snapshotVersion = 1

// Snapshot encodes the whole state deterministically: version byte, key count, (key, value) pairs
// in sorted key order, session count, (client, seq, swapped) in sorted client order.
func (m *StateMachine) Snapshot() []byte {
	order := make([]int32, len(m.keys))
	size := 1 + 2*binary.MaxVarintLen64
	for i := range order {
		order[i] = int32(i)
		size += len(m.keys[i]) + len(m.values[i]) + 2*binary.MaxVarintLen32
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(m.keys[a], m.keys[b]) })
	clients := make([]uint64, 0, len(m.sessions))
	for c := range m.sessions { // detguard:unordered clients are sorted before they reach the encoding
		clients = append(clients, c)
	}
	slices.Sort(clients)
	// PLANTED BUG dedup-not-in-snapshot: the duplicate table is left out, so a server that loads
	// this snapshot applies a retried write again.
	if m.bug == BugDedupNotInSnapshot {
		clients = clients[:0]
	}
	size += len(clients) * (2*binary.MaxVarintLen64 + 1)

	buf := make([]byte, 0, size)
	buf = append(buf, snapshotVersion)
	buf = binary.AppendUvarint(buf, uint64(len(order)))
	for _, i := range order {
		buf = appendString(buf, m.keys[i])
		buf = appendString(buf, m.values[i])
	}
	buf = binary.AppendUvarint(buf, uint64(len(clients)))
	for _, c := range clients {
		s := m.sessions[c]
		buf = binary.AppendUvarint(buf, c)
		buf = binary.AppendUvarint(buf, s.seq)
		swapped := byte(0)
		if s.swapped {
			swapped = 1
		}
		buf = append(buf, swapped)
	}
	return buf
}

// Restore replaces the state with a snapshot made by Snapshot (empty data: the empty state).
// Garbage is rejected with an error and leaves the state unchanged.
func (m *StateMachine) Restore(data []byte) error {
	fresh := NewStateMachine(m.bug)
	if len(data) > 0 {
		d := decoder{b: data}
		if v := d.byte(); v != snapshotVersion && d.err == nil {
			return fmt.Errorf("kv: snapshot version %d, want %d", v, snapshotVersion)
		}
		nKeys := d.uvarint()
		if nKeys > uint64(len(data)) { // every pair takes at least two bytes
			return fmt.Errorf("kv: snapshot claims %d keys in %d bytes", nKeys, len(data))
		}
		var prevKey []byte
		for i := uint64(0); i < nKeys && d.err == nil; i++ {
			k := d.bytes(MaxKeyBytes)
			v := d.string(MaxValueBytes)
			if d.err != nil {
				break
			}
			if i > 0 && bytes.Compare(k, prevKey) <= 0 {
				return fmt.Errorf("kv: snapshot keys not strictly increasing at key %d (%q after %q)", i, k, prevKey)
			}
			fresh.set(k, v)
			prevKey = k
		}
		nSessions := d.uvarint()
		if nSessions > uint64(len(data)) {
			return fmt.Errorf("kv: snapshot claims %d sessions in %d bytes", nSessions, len(data))
		}
		var prevClient uint64
		for i := uint64(0); i < nSessions && d.err == nil; i++ {
			c := d.uvarint()
			seq := d.uvarint()
			swapped := d.byte()
			if d.err != nil {
				break
			}
			if i > 0 && c <= prevClient {
				return fmt.Errorf("kv: snapshot clients not strictly increasing at session %d", i)
			}
			if swapped > 1 {
				return fmt.Errorf("kv: snapshot session %d has swapped byte %d", i, swapped)
			}
			fresh.setSession(c, session{seq: seq, swapped: swapped == 1})
			prevClient = c
		}
		if err := d.finish("snapshot"); err != nil {
			return err
		}
	}
	m.slot, m.keys, m.values, m.sessions, m.digest = fresh.slot, fresh.keys, fresh.values, fresh.sessions, fresh.digest
	return nil
}

// setSession records client's last applied write.
func (m *StateMachine) setSession(client uint64, s session) {
	if old, ok := m.sessions[client]; ok {
		m.digest -= sessionDigest(client, old)
	}
	m.sessions[client] = s
	m.digest += sessionDigest(client, s)
}

// Digest is a 64-bit digest of the whole state: the key/value map and the duplicate table. Two
// state machines that applied the same commands from the same state have equal digests; a
// replica whose state diverged (a snapshot restored wrongly, a write applied twice or lost)
// almost surely has another. It is the sum of one hash per key/value pair and per session, so
// that each write updates it at the cost of hashing what it wrote, and it does not depend on
// the order in which keys were created.
func (m *StateMachine) Digest() uint64 { return m.digest }

// pairDigest and sessionDigest are the terms of Digest's sum.
func pairDigest(key []byte, value string) uint64 {
	h := uint64(fnvOffset64)
	for _, b := range key {
		h = (h ^ uint64(b)) * fnvPrime64
	}
	h = (h ^ 0xff) * fnvPrime64 // separates key from value
	for i := 0; i < len(value); i++ {
		h = (h ^ uint64(value[i])) * fnvPrime64
	}
	return mix64(h)
}

func sessionDigest(client uint64, s session) uint64 {
	x := client*0x9e3779b97f4a7c15 ^ mix64(s.seq)
	if s.swapped {
		x = ^x
	}
	return mix64(x ^ 0x5e55105)
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// mix64 is SplitMix64's finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
