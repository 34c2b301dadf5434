package kv

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
)

// TestSweepCorrectBuild runs the correct build under a random mix of faults (crashes, pauses,
// partitions, clock skew, drops, duplicates, long delays), snapshot sizes, read modes and client
// timeouts, and checks every run: raft monitor, exactly-once, linearizability (Porcupine), and
// that every call completed after the faults healed. It runs sweepSeeds() seeds: a few by
// default, more with RAFTSIM_SEEDS=N (600 seeds take about 12 s).
func TestSweepCorrectBuild(t *testing.T) {
	n := sweepSeeds(12)
	fails := 0
	for seed := uint64(1000); seed < 1000+uint64(n); seed++ {
		servers := 3 + 2*int(seed%2)
		mode := ReadMode(seed / 2 % 2)
		func() {
			defer func() {
				if r := recover(); r != nil {
					fails++
					t.Errorf("seed %d: panic: %v", seed, r)
				}
			}()
			r := newKVRun(t, runOptions{
				seed: seed, servers: servers, clerks: 4,
				server: ServerConfig{ReadMode: mode},
				workload: Workload{Keys: 3, GetWeight: 3, PutWeight: 1, AppendWeight: 3, CASWeight: 2,
					ThinkMin: sim.Millisecond, ThinkMax: 20 * sim.Millisecond, StopAt: 5 * sim.Second},
				maxRaftStateBytes: []int{0, 300, 2000, 20000}[seed%4],
				clerk:             ClerkConfig{RequestTimeout: []sim.Time{50, 150, 400}[seed%3] * sim.Millisecond},
			})
			rnd := r.s.Rand("sweep")
			nw := r.s.Net().Config()
			nw.DropRate = rnd.Float64() * 0.1
			nw.DuplicateRate = rnd.Float64() * 0.1
			nw.LongDelayRate, nw.LongDelayMax = rnd.Float64()*0.1, 200*sim.Millisecond
			r.s.Net().SetConfig(nw)
			for at := 200 * sim.Millisecond; at < 4500*sim.Millisecond; at += rnd.Between(100*sim.Millisecond, 500*sim.Millisecond) {
				kind := rnd.Intn(7)
				v := sim.NodeID(rnd.Intn(servers))
				d := rnd.Between(50*sim.Millisecond, 800*sim.Millisecond)
				r.s.At(at, "f", func() {
					switch kind {
					case 0:
						r.s.Crash(v)
						r.s.After(d, "restart", func() { r.s.Restart(v) })
					case 1:
						r.s.Pause(v)
						r.s.After(d, "resume", func() { r.s.Resume(v) })
					case 2:
						if l := r.leader(); l >= 0 {
							r.s.Net().Isolate(sim.NodeID(l))
						}
					case 3:
						r.s.Net().Partition(r.servers[:servers/2], r.servers[servers/2:])
					case 4:
						r.s.SetClockRate(v, 0.8+0.4*rnd.Float64())
					default:
						r.s.Net().Heal()
					}
				})
			}
			r.s.At(4500*sim.Millisecond, "heal", func() {
				r.s.Net().Heal()
				r.s.Net().SetConfig(sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond})
				for i := 0; i < servers; i++ {
					id := sim.NodeID(i)
					if r.s.IsPaused(id) {
						r.s.Resume(id)
					}
					if !r.s.IsUp(id) {
						r.s.Restart(id)
					}
					r.s.SetClockRate(id, 1)
				}
			})
			r.s.RunUntil(12 * sim.Second)
			if v := r.mon.Violation(); v != nil {
				fails++
				t.Errorf("seed %d: raft monitor: %s", seed, v.Message)
				return
			}
			recs := r.hist.Records()
			if p := r.hist.Pending(); p != 0 {
				fails++
				t.Errorf("seed %d: %d calls still pending 7.5s after the faults healed", seed, p)
			}
			if err := checkNoDuplicateTokens(recs); err != nil {
				fails++
				t.Errorf("seed %d: %v", seed, err)
				return
			}
			res, err := checkLinearizable(recs, 20*time.Second)
			if err != nil {
				fails++
				t.Errorf("seed %d: %v", seed, err)
			} else if res.Verdict != checker.Ok {
				fails++
				t.Errorf("seed %d: history is %v: %s", seed, res.Verdict, res.Describe())
			}
		}()
	}
	t.Logf("%d of %d seeds failed", fails, n)
}

// sweepSeeds returns how many seeds a sweep runs: RAFTSIM_SEEDS if set, else def.
func sweepSeeds(def int) int {
	if n, err := strconv.Atoi(os.Getenv("RAFTSIM_SEEDS")); err == nil && n > 0 {
		return n
	}
	return def
}
