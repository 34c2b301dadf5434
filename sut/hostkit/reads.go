package hostkit

import "fmt"

// MaxWaitingReads bounds the reads a ReadQueue holds; libraries bound their own pending reads
// to a few thousand, so more means a read is never released.
const MaxWaitingReads = 1 << 16

// ReadQueue holds reads the library confirmed (at a read index) until the node has applied that
// index, and serves them in arrival order.
type ReadQueue struct {
	waiting []WaitingRead
}

// WaitingRead is a confirmed read: it may be served once Index is applied.
type WaitingRead struct {
	Index uint64
	Ctx   uint64
}

// Add queues confirmed reads; node names the node in the panic of a full queue.
func (q *ReadQueue) Add(node int, reads ...WaitingRead) {
	if len(q.waiting)+len(reads) > MaxWaitingReads {
		panic(fmt.Sprintf("hostkit: node %d: more than %d confirmed reads wait for their index to be applied", node, MaxWaitingReads))
	}
	q.waiting = append(q.waiting, reads...)
}

// Release serves, in arrival order, the reads whose index is at most applied.
func (q *ReadQueue) Release(applied uint64, serve func(ctx uint64)) {
	if len(q.waiting) == 0 {
		return
	}
	kept := q.waiting[:0]
	for _, r := range q.waiting {
		if r.Index <= applied {
			serve(r.Ctx)
		} else {
			kept = append(kept, r)
		}
	}
	q.waiting = kept
}

// WantsCompaction reports whether the log file outgrew maxRaftStateBytes (<= 0: no limit) with
// something new to compact (applied beyond the current base): the size policy of
// sut.Config.MaxRaftStateBytes.
func (s *Storage) WantsCompaction(maxRaftStateBytes int, applied uint64) bool {
	return maxRaftStateBytes > 0 && s.LogBytes() > maxRaftStateBytes && applied > s.BaseIndex()
}
