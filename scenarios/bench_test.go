package scenarios

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// BenchmarkDefaultScenario runs seeds of `default` (swarm faults over 3 or 5 nodes, 30 s of
// faults then heal and liveness, or a hunt profile) one after another, every check included,
// on each system under test side by side, and reports time compression (virtual seconds per
// wall second, "x-realtime"), wall time per seed ("ms/seed") and "seeds/s".
// BenchmarkDefaultSimulation is the same runs without the offline linearizability and
// liveness checks: full-stack simulation speed ("events/s").
//
//	go test ./scenarios -run '^$' -bench 'Default(Scenario|Simulation)' -benchtime 50x -cpu 1
func BenchmarkDefaultScenario(b *testing.B)   { benchmarkDefault(b, false) }
func BenchmarkDefaultSimulation(b *testing.B) { benchmarkDefault(b, true) }

func benchmarkDefault(b *testing.B, simulationOnly bool) {
	sc, _ := Lookup("default")
	for _, name := range []string{"raftsim", "etcd"} {
		target, err := sut.Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("sut="+name, func(b *testing.B) {
			var virtual sim.Time
			var events int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := runSchedule(sc.Schedule(uint64(i+1)), target, Bug{}, Options{skipOfflineChecks: simulationOnly})
				if r.Status == Fail {
					b.Fatalf("%s", r.Report())
				}
				virtual += r.VirtualTime
				events += r.Events
			}
			wall := b.Elapsed()
			b.ReportMetric(virtual.Duration().Seconds()/wall.Seconds(), "x-realtime")
			b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
			b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/seed")
			b.ReportMetric(float64(b.N)/wall.Seconds(), "seeds/s")
		})
	}
}

// BenchmarkSweep measures seeds per second of a `default` sweep with 1 and 2 workers, each run
// single-threaded, as simrun -parallel runs them.
//
//	go test ./scenarios -run '^$' -bench Sweep -benchtime 40x
func BenchmarkSweep(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := Execute(Spec{Scenario: "default", Seed: uint64(i)}, Options{}); err != nil {
							panic(err)
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
		})
	}
}

// BenchmarkSuites runs every scenario of the raft/ and kv/ suites (the 6.5840 tests) once per
// iteration, each on its own seed, and reports the suite's time compression, speed and wall
// time, every check included.
//
//	go test ./scenarios -run '^$' -bench Suites -benchtime 5x -cpu 1
func BenchmarkSuites(b *testing.B) {
	for _, prefix := range []string{"raft/", "kv/"} {
		b.Run(strings.TrimSuffix(prefix, "/"), func(b *testing.B) {
			var names []string
			for _, name := range Names() {
				if strings.HasPrefix(name, prefix) {
					names = append(names, name)
				}
			}
			var virtual sim.Time
			var events int64
			for i := 0; i < b.N; i++ {
				for _, name := range names {
					r, err := Execute(Spec{Scenario: name, Seed: uint64(i + 1)}, Options{})
					if err != nil {
						b.Fatal(err)
					}
					if r.Status != Pass {
						b.Fatalf("%s", r.Report())
					}
					virtual += r.VirtualTime
					events += r.Events
				}
			}
			wall := b.Elapsed()
			b.ReportMetric(virtual.Duration().Seconds()/wall.Seconds(), "x-realtime")
			b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
			b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/suite")
			b.ReportMetric(virtual.Duration().Seconds()/float64(b.N), "virtual-s/suite")
		})
	}
}
