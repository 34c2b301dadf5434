package kv

import (
	"fmt"
	"testing"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
)

func TestProbeBugs(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugReadLocal, BugDedupNotInSnapshot} {
		found := 0
		var simTime, checkTime time.Duration
		for seed := uint64(1); seed <= 20; seed++ {
			t0 := time.Now()
			r := newKVRun(t, runOptions{
				seed: seed, servers: 3, clerks: 4,
				server: ServerConfig{Bug: bug},
				workload: Workload{Keys: 2, GetWeight: 2, AppendWeight: 3,
					ThinkMin: 1 * sim.Millisecond, ThinkMax: 10 * sim.Millisecond, StopAt: 4 * sim.Second},
				maxRaftStateBytes: 1000,
				clerk: ClerkConfig{RequestTimeout: 100 * sim.Millisecond},
			})
			rnd := r.s.Rand("probe")
			for at := 300 * sim.Millisecond; at < 3500*sim.Millisecond; at += rnd.Between(200*sim.Millisecond, 600*sim.Millisecond) {
				kind := rnd.Intn(3)
				r.s.At(at, "f", func() {
					switch kind {
					case 0:
						if l := r.leader(); l >= 0 {
							var rest []sim.NodeID
							for i := 0; i < 3; i++ {
								if i != l {
									rest = append(rest, sim.NodeID(i))
								}
							}
							r.s.Net().Partition([]sim.NodeID{sim.NodeID(l)}, rest)
						}
					case 1:
						r.s.Net().Heal()
						for i := 0; i < 3; i++ {
							if !r.s.IsUp(sim.NodeID(i)) {
								r.s.Restart(sim.NodeID(i))
							}
						}
						r.s.Crash(sim.NodeID(rnd.Intn(3)))
					case 2:
						r.s.Net().Heal()
					}
				})
			}
			r.s.At(3500*sim.Millisecond, "heal", func() {
				r.s.Net().Heal()
				for i := 0; i < 3; i++ {
					if !r.s.IsUp(sim.NodeID(i)) {
						r.s.Restart(sim.NodeID(i))
					}
				}
			})
			r.s.RunUntil(8 * sim.Second)
			t1 := time.Now()
			recs := r.hist.Records()
			dup := checkNoDuplicateTokens(recs) != nil
			res := checker.CheckLinearizable(toCheckerOps(recs), 10*time.Second)
			if dup || res.Verdict != checker.Ok {
				found++
			}
			simTime += t1.Sub(t0)
			checkTime += time.Since(t1)
			if seed == 1 {
				fmt.Println(len(recs), "records", r.s.Stats().Events, "events")
			}
		}
		fmt.Println(bug, "found in", found, "of 20; sim", simTime, "check", checkTime)
	}
}
