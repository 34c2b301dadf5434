package kv

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// StateMachine is the replicated KV state: the key/value map plus the duplicate table that makes
// every write take effect exactly once. Both are part of the state and of every snapshot, so a
// server that restarts from a snapshot or installs one from the leader still recognizes a retried
// request. It is a pure function of the sequence of applied commands.
type StateMachine struct {
	values map[string]string
	// sessions is the duplicate table: per client, the sequence number of its last applied write
	// and that write's result. Gets are not recorded: executing a read again is harmless, and
	// its result is the state at the moment the retry is applied, which lies inside the call.
	sessions map[uint64]session
	bug      Bug
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

// NewStateMachine returns an empty state machine; bug selects a planted KV bug (BugNone for the
// correct one).
func NewStateMachine(bug Bug) *StateMachine {
	return &StateMachine{values: make(map[string]string), sessions: make(map[uint64]session), bug: bug}
}

// Get returns the current value of key ("" when missing).
func (m *StateMachine) Get(key string) string { return m.values[key] }

// Keys returns the number of keys ever written.
func (m *StateMachine) Keys() int { return len(m.values) }

// Sessions returns the number of clients in the duplicate table.
func (m *StateMachine) Sessions() int { return len(m.sessions) }

// Apply executes one committed command. A write whose (Client, Seq) is not newer than the
// client's last applied write is a duplicate (a retry, or a copy left in the log by an earlier
// leader): it changes nothing, and for the latest sequence number the recorded result is returned.
func (m *StateMachine) Apply(c *Command) Result {
	if !c.Kind.valid() {
		panic(fmt.Sprintf("kv: StateMachine.Apply of a command with invalid kind %d (commands are validated when decoded)", c.Kind))
	}
	if c.Kind == OpGet {
		return Result{Value: m.values[c.Key]}
	}
	last, known := m.sessions[c.Client]
	// PLANTED BUG no-dedup: the duplicate table is not consulted, so a retried write is applied again.
	if known && c.Seq <= last.seq && m.bug != BugNoDedup {
		return Result{Swapped: c.Seq == last.seq && last.swapped, Duplicate: true}
	}
	swapped := false
	switch c.Kind {
	case OpPut:
		m.values[c.Key] = c.Value
	case OpAppend:
		m.values[c.Key] += c.Value
	case OpCAS:
		if m.values[c.Key] == c.Expected {
			m.values[c.Key] = c.Value
			swapped = true
		}
	}
	m.sessions[c.Client] = session{seq: c.Seq, swapped: swapped}
	return Result{Swapped: swapped}
}

const snapshotVersion = 1

// Snapshot encodes the whole state deterministically: version byte, key count, (key, value) pairs
// in sorted key order, session count, (client, seq, swapped) in sorted client order.
func (m *StateMachine) Snapshot() []byte {
	keys := make([]string, 0, len(m.values))
	size := 1 + 2*binary.MaxVarintLen64
	for k, v := range m.values { // detguard:unordered keys are sorted before they reach the encoding
		keys = append(keys, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen32
	}
	slices.Sort(keys)
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
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = appendString(buf, k)
		buf = appendString(buf, m.values[k])
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
	values := make(map[string]string)
	sessions := make(map[uint64]session)
	if len(data) > 0 {
		d := decoder{b: data}
		if v := d.byte(); v != snapshotVersion && d.err == nil {
			return fmt.Errorf("kv: snapshot version %d, want %d", v, snapshotVersion)
		}
		nKeys := d.uvarint()
		if nKeys > uint64(len(data)) { // every pair takes at least two bytes
			return fmt.Errorf("kv: snapshot claims %d keys in %d bytes", nKeys, len(data))
		}
		prevKey := ""
		for i := uint64(0); i < nKeys && d.err == nil; i++ {
			k := d.string(MaxKeyBytes)
			v := d.string(MaxValueBytes)
			if d.err == nil && i > 0 && k <= prevKey {
				return fmt.Errorf("kv: snapshot keys not strictly increasing at key %d (%q after %q)", i, k, prevKey)
			}
			values[k] = v
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
			sessions[c] = session{seq: seq, swapped: swapped == 1}
			prevClient = c
		}
		if err := d.finish("snapshot"); err != nil {
			return err
		}
	}
	m.values = values
	m.sessions = sessions
	return nil
}
