package scenarios

import (
	"github.com/raftsim/raftsim/sim"
)

// faultGen draws one nemesis's fault events from its own PRNG stream, so that turning one fault
// kind off (in swarm mode or while shrinking) does not change the draws of the others.
type faultGen struct {
	s   *Schedule
	rnd *sim.Rand
}

func newFaultGen(s *Schedule, stream string) *faultGen {
	return &faultGen{s: s, rnd: sim.NewRand(s.Seed, "faults/"+stream)}
}

func (g *faultGen) betweenMs(minMs, maxMs int64) int64 {
	return minMs + int64(g.rnd.Intn(int(maxMs-minMs+1)))
}

func (g *faultGen) add(f Fault) { g.s.Faults = append(g.s.Faults, f) }

// nodes returns 0..n-1 shuffled by the generator's stream.
func (g *faultGen) shuffledNodes() []int {
	return g.rnd.Perm(g.s.Nodes)
}

// windows calls apply at the start and heal at the end of fault windows that alternate with quiet
// gaps until the fault phase ends. All windows close before DurationMs so that the final heal
// finds a quiet system to check liveness on.
func (g *faultGen) windows(startMs, gapMinMs, gapMaxMs, holdMinMs, holdMaxMs int64, apply func(atMs int64), heal func(atMs int64)) {
	const maxWindows = 1000 // bound: a long duration with tiny gaps must not explode the schedule
	t := startMs
	for i := 0; i < maxWindows; i++ {
		t += g.betweenMs(gapMinMs, gapMaxMs)
		end := t + g.betweenMs(holdMinMs, holdMaxMs)
		if end >= g.s.DurationMs {
			return
		}
		apply(t)
		heal(end)
		t = end
	}
}

func (g *faultGen) healAt(atMs int64) { g.add(Fault{AtMs: atMs, Kind: FaultHeal}) }

func genIsolateOne(g *faultGen) {
	g.windows(500, 300, 2000, 300, 3000, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultIsolate, Nodes: []int{g.rnd.Intn(g.s.Nodes)}})
	}, g.healAt)
}

func genIsolateLeader(g *faultGen) {
	g.windows(500, 300, 2000, 300, 3000, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultIsolateLeader})
	}, g.healAt)
}

func genHalves(g *faultGen) {
	g.windows(500, 300, 2000, 300, 3000, func(at int64) {
		p := g.shuffledNodes()
		cut := 1 + g.rnd.Intn(g.s.Nodes-1)
		if g.s.Nodes > 2 {
			cut = g.s.Nodes / 2
		}
		g.add(Fault{AtMs: at, Kind: FaultPartition, Groups: [][]int{sorted(p[:cut]), sorted(p[cut:])}})
	}, g.healAt)
}

// majoritiesRingLinks places the nodes on a ring in the given order and cuts every link except
// those between nodes at most `reach` places apart, with reach the smallest that lets each node
// see a majority (itself and reach neighbours on each side): every node sees a majority, and no
// two nodes see the same one (Jepsen's majorities-ring).
func majoritiesRingLinks(order []int) [][2]int {
	n := len(order)
	reach := (n/2 + 1) / 2
	var cuts [][2]int
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d := i - j
			if d < 0 {
				d = -d
			}
			if n-d < d {
				d = n - d
			}
			if i != j && d > reach {
				cuts = append(cuts, [2]int{order[i], order[j]})
			}
		}
	}
	return cuts
}

func genMajoritiesRing(g *faultGen) {
	if g.s.Nodes < 5 {
		genHalves(g)
		return
	}
	g.windows(500, 300, 2000, 500, 3000, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultLinkDown, Links: majoritiesRingLinks(g.shuffledNodes())})
	}, g.healAt)
}

// bridgeLinks splits the nodes into two halves that cannot talk to each other; order[0] is the
// bridge, which keeps its links to both halves.
func bridgeLinks(order []int) [][2]int {
	rest := order[1:]
	half := len(rest) / 2
	var cuts [][2]int
	for _, a := range rest[:half] {
		for _, b := range rest[half:] {
			cuts = append(cuts, [2]int{a, b}, [2]int{b, a})
		}
	}
	return cuts
}

func genBridge(g *faultGen) {
	if g.s.Nodes < 3 {
		genHalves(g)
		return
	}
	g.windows(500, 300, 2000, 500, 3000, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultLinkDown, Links: bridgeLinks(g.shuffledNodes())})
	}, g.healAt)
}

func genFlapping(g *faultGen) {
	g.windows(500, 50, 300, 50, 300, func(at int64) {
		p := g.shuffledNodes()
		cut := (g.s.Nodes + 1) / 2
		g.add(Fault{AtMs: at, Kind: FaultPartition, Groups: [][]int{sorted(p[:cut]), sorted(p[cut:])}})
	}, g.healAt)
}

func genOneWay(g *faultGen) {
	g.windows(500, 300, 2000, 300, 3000, func(at int64) {
		// Cut a random node's outbound (or inbound) links: it hears everyone but is not heard,
		// or the reverse, the classic asymmetric failure.
		victim := g.rnd.Intn(g.s.Nodes)
		outbound := g.rnd.Chance(0.5)
		var links [][2]int
		for other := 0; other < g.s.Nodes; other++ {
			if other == victim {
				continue
			}
			if outbound {
				links = append(links, [2]int{victim, other})
			} else {
				links = append(links, [2]int{other, victim})
			}
		}
		g.add(Fault{AtMs: at, Kind: FaultLinkDown, Links: links})
	}, g.healAt)
}

func genCrashRestart(g *faultGen) {
	var down []int
	g.windows(500, 300, 2000, 100, 2000, func(at int64) {
		if g.rnd.Chance(0.3) {
			down = nil
			g.add(Fault{AtMs: at, Kind: FaultCrashLeader})
			return
		}
		// Any minority, sometimes a majority: a majority down stalls the cluster, which
		// liveness must survive once it restarts.
		p := g.shuffledNodes()
		k := 1 + g.rnd.Intn((g.s.Nodes+1)/2)
		down = sorted(p[:k])
		g.add(Fault{AtMs: at, Kind: FaultCrash, Nodes: down})
	}, func(at int64) {
		if down == nil {
			down = allNodes(g.s.Nodes) // restart whichever leader crashed
		}
		g.add(Fault{AtMs: at, Kind: FaultRestart, Nodes: down})
	})
}

func genCrashAll(g *faultGen) {
	g.windows(500, 500, 3000, 10, 1000, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultCrash, Nodes: allNodes(g.s.Nodes)})
	}, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)})
	})
}

func genPause(g *faultGen) {
	var paused []int
	g.windows(500, 300, 2000, 100, 3000, func(at int64) {
		if g.rnd.Chance(0.5) {
			paused = nil
			g.add(Fault{AtMs: at, Kind: FaultPauseLeader})
			return
		}
		paused = []int{g.rnd.Intn(g.s.Nodes)}
		g.add(Fault{AtMs: at, Kind: FaultPause, Nodes: paused})
	}, func(at int64) {
		if paused == nil {
			paused = allNodes(g.s.Nodes)
		}
		g.add(Fault{AtMs: at, Kind: FaultResume, Nodes: paused})
	})
}

func genClockSkew(g *faultGen) {
	const maxChanges = 100
	t := int64(0)
	for i := 0; i < maxChanges; i++ {
		t += g.betweenMs(200, 3000)
		if t >= g.s.DurationMs {
			return
		}
		rate := 0.6 + g.rnd.Float64()*0.9 // 0.6x .. 1.5x
		g.add(Fault{AtMs: t, Kind: FaultClock, Nodes: []int{g.rnd.Intn(g.s.Nodes)}, Rate: round3(rate)})
	}
}

func genUnreliable(g *faultGen) {
	g.s.Network.Drop = round3(0.02 + 0.1*g.rnd.Float64())
	g.s.Network.Duplicate = round3(0.05 * g.rnd.Float64())
	g.s.Network.LongDelay = round3(0.05 * g.rnd.Float64())
	g.s.Network.LongDelayMaxMs = 2000
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func allNodes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func sorted(xs []int) []int {
	out := append([]int(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
