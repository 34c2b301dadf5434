package sim

import "testing"

// Queue benchmarks at several sizes: a "hold" workload where each popped event is pushed back
// 1-10 ms later, as re-armed timers are. They justify the choice of a binary heap.
func benchmarkQueue(b *testing.B, size int) {
	r := NewRand(1, "bench")
	var q eventQueue
	var seq uint64
	for i := 0; i < size; i++ {
		seq++
		q.push(event{at: r.Between(Millisecond, 10*Millisecond), seqKind: seq << eventKindBits})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := q.pop()
		seq++
		e.seqKind = seq << eventKindBits
		e.at += r.Between(Millisecond, 10*Millisecond)
		q.push(e)
	}
}

func BenchmarkQueue64(b *testing.B)    { benchmarkQueue(b, 64) }
func BenchmarkQueue1024(b *testing.B)  { benchmarkQueue(b, 1024) }
func BenchmarkQueue65536(b *testing.B) { benchmarkQueue(b, 65536) }

// TestQueueOrder pushes events with many equal times in a scrambled order, removes some with
// retain, and checks that pops come out sorted by (time, sequence).
func TestQueueOrder(t *testing.T) {
	r := NewRand(7, "queue-test")
	var q eventQueue
	const count = 5000
	for seq := uint64(1); seq <= count; seq++ {
		q.push(event{at: Time(r.Intn(50)), seqKind: seq << eventKindBits, slot: uint32(seq)})
	}
	removed := q.retain(func(e *event) bool { return e.slot%3 != 0 })
	if removed != count/3 {
		t.Fatalf("retain removed %d events, want %d", removed, count/3)
	}
	var previous event
	for i := 0; q.len() > 0; i++ {
		e := q.pop()
		if e.slot%3 == 0 {
			t.Fatalf("popped event %d that retain removed", e.slot)
		}
		inOrder := e.at > previous.at || (e.at == previous.at && e.seqKind>>eventKindBits > previous.seqKind>>eventKindBits)
		if i > 0 && !inOrder {
			t.Fatalf("pop %d: (%v, %d) came after (%v, %d)", i, e.at, e.seqKind>>eventKindBits, previous.at, previous.seqKind>>eventKindBits)
		}
		previous = e
	}
}
