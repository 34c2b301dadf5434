package sim

import (
	"encoding/binary"
	"testing"
)

// benchNodes is the number of nodes in the benchmarks, and so the steady-state queue length of
// BenchmarkKernel and BenchmarkHeapBaseline.
const benchNodes = 64

// rearmNode re-arms one timer every time it fires: the cheapest possible handler, so that the
// benchmark measures the kernel (queue, timer slots, hash, dispatch).
type rearmNode struct{ env *Env }

func (n *rearmNode) Start(env *Env) {
	n.env = env
	env.SetTimer(env.Rand().Between(Millisecond, 10*Millisecond), 0)
}
func (n *rearmNode) Receive(NodeID, []byte) {}
func (n *rearmNode) Timer(tag uint64) {
	n.env.SetTimer(n.env.Rand().Between(Millisecond, 10*Millisecond), tag+1)
}

func BenchmarkKernel(b *testing.B) {
	s := New(Config{Seed: 1, MaxEvents: int64(b.N)})
	for i := 0; i < benchNodes; i++ {
		s.AddNode("n", func(NodeID) Node { return &rearmNode{} })
	}
	for i := 0; i < benchNodes; i++ {
		s.Start(NodeID(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	result := s.Run()
	b.StopTimer()
	if result.End != EndEventLimit || result.Events != int64(b.N) {
		b.Fatalf("run ended with %v after %d events, want event-limit after %d", result.End, result.Events, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// baselineHeap is a bare binary heap of the kernel's event struct: the cost floor the kernel
// is compared with.
type baselineHeap []event

func (h *baselineHeap) push(e event) {
	*h = append(*h, e)
	items := *h
	i := len(items) - 1
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

func (h *baselineHeap) pop() event {
	items := *h
	first := items[0]
	last := len(items) - 1
	e := items[last]
	items = items[:last]
	*h = items
	i := 0
	for {
		child := 2*i + 1
		if child >= last {
			break
		}
		if child+1 < last && items[child+1].before(&items[child]) {
			child++
		}
		if !items[child].before(&e) {
			break
		}
		items[i] = items[child]
		i = child
	}
	if last > 0 {
		items[i] = e
	}
	return first
}

func BenchmarkHeapBaseline(b *testing.B) {
	r := NewRand(1, "bench")
	var h baselineHeap
	var seq uint64
	for i := 0; i < benchNodes; i++ {
		seq++
		h.push(event{at: r.Between(Millisecond, 10*Millisecond), seqKind: seq<<eventKindBits | uint64(eventNodeTimer)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := h.pop()
		seq++
		e.seqKind = seq<<eventKindBits | uint64(eventNodeTimer)
		e.at += r.Between(Millisecond, 10*Millisecond)
		h.push(e)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// gossipNode answers every message with a ~100-byte message to a random peer, encoding a
// counter into it, so the benchmark includes payload encoding, copying, hashing and delivery.
type gossipNode struct {
	env   *Env
	nodes int
	buf   [100]byte
}

func (n *gossipNode) Start(env *Env) {
	n.env = env
	n.forward(0)
}
func (n *gossipNode) Receive(from NodeID, payload []byte) {
	n.forward(binary.LittleEndian.Uint64(payload) + 1)
}
func (n *gossipNode) Timer(uint64) {}
func (n *gossipNode) forward(counter uint64) {
	binary.LittleEndian.PutUint64(n.buf[:], counter)
	n.env.Send(NodeID(n.env.Rand().Intn(n.nodes)), n.buf[:])
}

func BenchmarkNetwork(b *testing.B) {
	s := New(Config{Seed: 1, MaxEvents: int64(b.N), Network: NetworkConfig{
		LatencyMin: 100 * Microsecond, LatencyMax: 5 * Millisecond,
	}})
	for i := 0; i < benchNodes; i++ {
		s.AddNode("n", func(NodeID) Node { return &gossipNode{nodes: benchNodes} })
	}
	for i := 0; i < benchNodes; i++ {
		s.Start(NodeID(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	s.Run()
	b.StopTimer()
	delivered := s.Stats().MessagesDelivered
	if delivered != int64(b.N) {
		b.Fatalf("delivered %d messages in %d events", delivered, b.N)
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "msgs/s")
}
