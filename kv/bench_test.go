package kv

import (
	"testing"
	"time"

	"github.com/raftsim/raftsim/sim"
)

// BenchmarkFullStack runs the whole stack (sim kernel, raft hosts with disks, KV servers,
// clerks, history, online monitor) on a busy fault-free workload and reports simulated events
// and completed KV calls per wall-clock second.
func BenchmarkFullStack(b *testing.B) {
	var events, calls int64
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := newKVRun(&testing.T{}, runOptions{
			seed: uint64(i), servers: 3, clerks: 8,
			workload: Workload{Keys: 20, ThinkMax: 5 * sim.Millisecond, ValueBytes: 16,
				StopAt: 10 * sim.Second},
			maxRaftStateBytes: 64 << 10,
		})
		r.s.RunUntil(10 * sim.Second)
		wall += time.Since(start)
		events += r.s.Stats().Events
		calls += int64(r.hist.Len())
	}
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(calls)/wall.Seconds(), "calls/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
