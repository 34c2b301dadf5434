package sim

// eventKind says what a queued event does when it runs.
type eventKind uint8

const (
	eventMessage   eventKind = iota + 1 // deliver messages[slot]
	eventNodeTimer                      // call Timer(tag) on timers[slot].owner, if still live
	eventKernel                         // run timers[slot].fn (an At/After callback)
)

// eventKindBits is how many low bits of event.seqKind hold the kind.
const eventKindBits = 2

// event is one entry of the queue: 24 bytes, no pointers. Everything else about the event
// lives in a side table (Sim.timers or Sim.messages) indexed by slot, so that the heap moves
// small structs and the garbage collector never scans it.
type event struct {
	at Time // when it runs, global virtual time; never negative
	// seqKind is the insertion sequence (the tie-breaker among events at the same instant)
	// shifted left by eventKindBits, with the kind in the low bits. Sequence numbers are
	// unique, so comparing seqKind compares sequences.
	seqKind uint64
	slot    uint32 // index into Sim.timers (timers, kernel events) or Sim.messages
	// gen is the timer slot generation the event was queued with: the event is live only
	// while timers[slot].gen == gen (lazy cancellation). Unused for messages.
	gen uint32
}

func (e *event) kind() eventKind { return eventKind(e.seqKind & (1<<eventKindBits - 1)) }

// before is the queue order: time, then insertion sequence. Sequence numbers are unique, so
// this is a total order and the run order never depends on the heap's shape.
func (e *event) before(other *event) bool {
	return e.at < other.at || (e.at == other.at && e.seqKind < other.seqKind)
}

// eventQueue is a binary min-heap over a slice of events, written out by hand: no
// container/heap interface boxing, no per-event allocation. A 4-ary heap was measured too,
// on the hold workload of the queue_test.go benchmarks, and was 10-40% slower at every queue
// size from 64 to 65536 events, so the simpler binary layout stays.
type eventQueue struct {
	items []event
}

func (q *eventQueue) len() int { return len(q.items) }

func (q *eventQueue) top() *event { return &q.items[0] }

func (q *eventQueue) push(e event) {
	q.items = append(q.items, e)
	q.siftUp(len(q.items)-1, e)
}

// siftUp places e, which belongs at index i or above, into its position.
func (q *eventQueue) siftUp(i int, e event) {
	items := q.items
	for i > 0 {
		parent := (i - 1) / 2
		if !e.before(&items[parent]) {
			break
		}
		items[i] = items[parent]
		i = parent
	}
	items[i] = e
}

// pop removes and returns the first event. It moves the hole left at the root down to a leaf
// along the smaller children, then sifts the former last element up from there ("bounce"):
// the last element usually belongs near the bottom, so this saves a comparison per level.
func (q *eventQueue) pop() event {
	items := q.items
	first := items[0]
	last := len(items) - 1
	moved := items[last]
	items = items[:last]
	q.items = items
	if last == 0 {
		return first
	}
	hole := 0
	for {
		child := 2*hole + 1
		if child >= last {
			break
		}
		if child+1 < last && items[child+1].before(&items[child]) {
			child++
		}
		items[hole] = items[child]
		hole = child
	}
	q.siftUp(hole, moved)
	return first
}

// siftDown places e, which belongs at index i or below, into its position (heap building).
func (q *eventQueue) siftDown(i int, e event) {
	items := q.items
	n := len(items)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if child+1 < n && items[child+1].before(&items[child]) {
			child++
		}
		if !items[child].before(&e) {
			break
		}
		items[i] = items[child]
		i = child
	}
	items[i] = e
}

// retain keeps the events for which keep returns true and rebuilds the heap. Because the
// order is total, the run order afterwards does not depend on where events sat before.
func (q *eventQueue) retain(keep func(*event) bool) (removed int) {
	kept := q.items[:0]
	for i := range q.items {
		if keep(&q.items[i]) {
			kept = append(kept, q.items[i])
		}
	}
	removed = len(q.items) - len(kept)
	q.items = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		q.siftDown(i, kept[i])
	}
	return removed
}
