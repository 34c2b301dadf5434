package simhost

import (
	"fmt"
	"testing"
	"time"

	"github.com/raftsim/raftsim/sim"
)

// BenchmarkHostReplication measures the raft host on the simulator: 3 servers with disks and
// the online monitor, the leader proposing 64-byte commands in batches of 10 every millisecond
// of virtual time, snapshots every 1000 entries. It reports simulated events and committed
// entries per wall-clock second.
func BenchmarkHostReplication(b *testing.B) {
	var events, entries int64
	var wall time.Duration
	data := make([]byte, 64)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c := newClusterWithService(&testing.T{}, 3, uint64(i), 1000, 0)
		c.s.RunUntil(sim.Second)
		for t := 0; t < 2000; t++ {
			if l := c.leader(); l >= 0 {
				for k := 0; k < 10; k++ {
					c.servers[l].Propose(data)
				}
			}
			c.s.RunUntil(c.s.Now() + sim.Millisecond)
		}
		c.s.RunUntil(c.s.Now() + sim.Second)
		wall += time.Since(start)
		events += c.s.Stats().Events
		entries += int64(c.rec.MaxIndex())
		if c.mon.Violation() != nil || c.rec.Err() != nil {
			b.Fatal(fmt.Sprint(c.mon.Violation(), c.rec.Err()))
		}
	}
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(entries)/wall.Seconds(), "entries/s")
}
