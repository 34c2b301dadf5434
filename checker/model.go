// Package checker judges what the clients of a Raft KV service saw: a simulated run's, or any
// key-value store's history.
//
// Check checks a client history for linearizability with Porcupine, one key at a time (the KV
// model is partitioned per key), under a time bound and a memory budget, and tells three
// outcomes apart: Ok, Illegal (with the key and a small set of operations that explain the
// violation, shrunk under a budget of its own) and Unknown (a bound was hit). ReadHistory and
// WriteHistory read and write histories as JSON Lines, one Op per line. WriteVisualization
// writes Porcupine's HTML view of a result, with the run's fault windows drawn beside the
// client operations. CheckLiveness checks that the service recovered once the last fault
// healed.
//
// The package works offline, after a run, on plain Op records: it imports nothing else of
// raftsim (the KV service's records embed its Op, and its OpKind is the service's). The online
// Raft safety monitor, which runs inside simulations, lives in the subpackage checker/monitor.
package checker

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/raftsim/raftsim/internal/suggest"
)

// OpKind is the kind of a client operation on the KV service. It is the one operation
// numbering of raftsim: the KV service's commands, its clients' histories and this package use
// it alike. The zero value is no kind at all, so an operation whose kind was never set is
// rejected rather than read as a Get.
type OpKind uint8

// The operations of the KV service (6.824 semantics: a missing key reads as "").
const (
	OpGet    OpKind = 1 + iota // read the value of Key
	OpPut                      // set Key to Value
	OpAppend                   // set Key to its value followed by Value
	OpCAS                      // set Key to Value if its value is Expected; OK tells whether it did
)

var opKindNames = [...]string{OpGet: "get", OpPut: "put", OpAppend: "append", OpCAS: "cas"}

// Valid reports whether k is one of OpGet, OpPut, OpAppend and OpCAS.
func (k OpKind) Valid() bool { return k >= OpGet && k <= OpCAS }

// String returns the lower-case operation name: "get", "put", "append" or "cas".
func (k OpKind) String() string {
	if k.Valid() {
		return opKindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// ParseOpKind returns the kind named name ("get", "put", "append" or "cas"). For any other
// name the error lists the valid ones and the closest of them.
func ParseOpKind(name string) (OpKind, error) {
	for k := OpGet; k <= OpCAS; k++ {
		if opKindNames[k] == name {
			return k, nil
		}
	}
	valid := opKindNames[OpGet:]
	return 0, fmt.Errorf("unknown operation %q: want one of %s%s", name, strings.Join(valid, ", "), suggest.Phrase(name, valid))
}

// MarshalText encodes k as its name, so that JSON holds "get" rather than a number.
func (k OpKind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("checker: cannot encode %v: not an operation kind", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a name written by MarshalText (see ParseOpKind).
func (k *OpKind) UnmarshalText(text []byte) error {
	parsed, err := ParseOpKind(string(text))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// Op is one client call as the client saw it. Call and Return are integers that order events,
// in any unit; raftsim's harness records virtual nanoseconds of the run's global clock, which
// is the unit descriptions assume unless Options.TimeUnit says otherwise. Its JSON form is one
// line of the history format of ReadHistory.
type Op struct {
	Client   int // the client's id, >= 0
	Kind     OpKind
	Key      string
	Value    string // Put/Append argument; CAS new value
	Expected string // CAS expected old value
	Output   string // Get result ("" for a missing key, 6.824 semantics)
	OK       bool   // CAS: swapped
	Call     int64  // when the client invoked the call
	Return   int64  // when the client learned the result, >= Call; ignored when Pending
	// Pending: the client never learned the outcome. A pending write (Put, Append, CAS) may or
	// may not have taken effect: it enters the check with Return = +inf and an output the model
	// accepts whatever it is. A pending Get constrains nothing and is dropped.
	Pending bool
}

// pendingReturnNs is the return time given to pending writes: later than any real time, so a
// pending write may take effect at any point after its call, or (placed last) not at all.
const pendingReturnNs = math.MaxInt64

// kvInput is the Porcupine input of one operation. It is a value type so that Step only copies
// it; it carries the key because the same model also describes operations in visualizations.
type kvInput struct {
	Kind     OpKind
	Key      string
	Value    string
	Expected string
	Client   int // for descriptions only
}

// kvOutput is the Porcupine output of one operation.
type kvOutput struct {
	Value   string // Get result
	OK      bool   // CAS result
	Pending bool   // outcome unknown: the model accepts any result
}

// KVModel returns the Porcupine model of the KV service, partitioned per key (partitions in
// sorted key order). The per-partition state is the key's value as a string ("" when the key
// is missing). Operation inputs and outputs are this package's internal types: check histories
// with Check rather than by hand.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition:         partitionOperationsByKey,
		PartitionEvent:    partitionEventsByKey,
		Init:              func() interface{} { return "" },
		Step:              stepKV,
		Equal:             func(a, b interface{}) bool { return a.(string) == b.(string) },
		Hash:              func(state interface{}) uint64 { return fnv64(state.(string)) },
		DescribeOperation: describeOperation,
		DescribeState:     func(state interface{}) string { return describeValue(state.(string)) },
	}
}

// singleKeyModel is KVModel without partitioning, for histories already split per key.
func singleKeyModel() porcupine.Model {
	model := KVModel()
	model.Partition = nil
	model.PartitionEvent = nil
	return model
}

// stepKV is the sequential specification of one key. It never mutates its arguments.
func stepKV(state, input, output interface{}) (bool, interface{}) {
	current := state.(string)
	in := input.(kvInput)
	out := output.(kvOutput)
	switch in.Kind {
	case OpGet:
		return out.Pending || out.Value == current, state
	case OpPut:
		return true, in.Value
	case OpAppend:
		return true, current + in.Value
	case OpCAS:
		swapped := current == in.Expected
		if !out.Pending && out.OK != swapped {
			return false, state
		}
		if swapped {
			return true, in.Value
		}
		return true, state
	}
	panic(fmt.Sprintf("checker: unknown operation kind %d in KV model", in.Kind))
}

// applyKV is stepKV on plain values, for explanations.
func applyKV(current string, in kvInput, out kvOutput) (ok bool, next string) {
	accepted, nextState := stepKV(current, in, out)
	return accepted, nextState.(string)
}

func partitionOperationsByKey(history []porcupine.Operation) [][]porcupine.Operation {
	indexOfKey := make(map[string]int)
	var keys []string
	var partitions [][]porcupine.Operation
	for _, op := range history {
		key := op.Input.(kvInput).Key
		i, seen := indexOfKey[key]
		if !seen {
			i = len(partitions)
			indexOfKey[key] = i
			keys = append(keys, key)
			partitions = append(partitions, nil)
		}
		partitions[i] = append(partitions[i], op)
	}
	sortPartitionsByKey(keys, partitions)
	return partitions
}

func partitionEventsByKey(history []porcupine.Event) [][]porcupine.Event {
	indexOfKey := make(map[string]int)
	partitionOfID := make(map[int]int) // event id -> partition, learned from its call event
	var keys []string
	var partitions [][]porcupine.Event
	for _, event := range history {
		var i int
		if event.Kind == porcupine.CallEvent {
			key := event.Value.(kvInput).Key
			var seen bool
			i, seen = indexOfKey[key]
			if !seen {
				i = len(partitions)
				indexOfKey[key] = i
				keys = append(keys, key)
				partitions = append(partitions, nil)
			}
			partitionOfID[event.Id] = i
		} else {
			var seen bool
			i, seen = partitionOfID[event.Id]
			if !seen {
				panic(fmt.Sprintf("checker: return event for id %d comes before its call event", event.Id))
			}
		}
		partitions[i] = append(partitions[i], event)
	}
	sortPartitionsByKey(keys, partitions)
	return partitions
}

// sortPartitionsByKey orders partitions by key so that results do not depend on the order in
// which keys first appear.
func sortPartitionsByKey[T any](keys []string, partitions [][]T) {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	sorted := make([][]T, len(partitions))
	for to, from := range order {
		sorted[to] = partitions[from]
	}
	copy(partitions, sorted)
}

// describeOperation renders an operation the way Describe does, e.g. `get("k") -> "v"`.
func describeOperation(input, output interface{}) string {
	in, out := input.(kvInput), output.(kvOutput)
	if out.Pending {
		// Drawn on a row of its own: say whose call it was.
		return fmt.Sprintf("%s (c%d)", describeCall(in, out), in.Client)
	}
	return describeCall(in, out)
}

func describeCall(in kvInput, out kvOutput) string {
	var s string
	switch in.Kind {
	case OpGet:
		s = fmt.Sprintf("get(%q)", in.Key)
	case OpPut, OpAppend:
		s = fmt.Sprintf("%s(%q, %s)", in.Kind, in.Key, describeValue(in.Value))
	case OpCAS:
		s = fmt.Sprintf("cas(%q, %s -> %s)", in.Key, describeValue(in.Expected), describeValue(in.Value))
	default:
		s = fmt.Sprintf("%s(%q)", in.Kind, in.Key)
	}
	switch {
	case out.Pending:
		s += " pending"
	case in.Kind == OpGet:
		s += " -> " + describeValue(out.Value)
	case in.Kind == OpCAS && out.OK:
		s += " -> swapped"
	case in.Kind == OpCAS:
		s += " -> not swapped"
	}
	return s
}

// describeValueMaxBytes bounds how much of a value a description shows: appended values grow
// without bound over a run, and a description must stay readable.
const describeValueMaxBytes = 96

// describeValue quotes a value, eliding the middle of long ones (saying how long they are).
func describeValue(value string) string {
	if len(value) <= describeValueMaxBytes {
		return fmt.Sprintf("%q", value)
	}
	half := describeValueMaxBytes / 2
	return fmt.Sprintf("%q...%q (%d bytes)", value[:half], value[len(value)-half:], len(value))
}

// fnv64 is FNV-1a: a fixed, process-independent hash, so the checker's search does the same
// work on every run.
func fnv64(s string) uint64 {
	const (
		offsetBasis = 14695981039346656037
		prime       = 1099511628211
	)
	h := uint64(offsetBasis)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}
