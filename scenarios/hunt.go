package scenarios

import "fmt"

// Experimental hunt scenarios (work in progress).

func crashStorm(gapMin, gapMax, downMin, downMax int64) func(g *faultGen) {
	return func(g *faultGen) {
		g.windows(300, gapMin, gapMax, downMin, downMax, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultCrash, Nodes: allNodes(g.s.Nodes)})
		}, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)})
		})
	}
}

func crashLeaderStorm(gapMin, gapMax, downMin, downMax int64) func(g *faultGen) {
	return func(g *faultGen) {
		g.windows(300, gapMin, gapMax, downMin, downMax, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultCrashLeader})
		}, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)})
		})
	}
}

func isolateLeaderStorm(gapMin, gapMax, holdMin, holdMax int64) func(g *faultGen) {
	return func(g *faultGen) {
		g.windows(300, gapMin, gapMax, holdMin, holdMax, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultIsolateLeader})
		}, g.healAt)
	}
}

func f8(nodes int, drop float64, latMin, latMax float64) func(s *Schedule) {
	return func(s *Schedule) {
		s.Nodes = nodes
		s.DurationMs = 30_000
		s.MaxEntriesPerMsg = 1
		s.DisableCheckQuorum = true
		s.Network.Drop = drop
		s.Network.LatencyMinMs, s.Network.LatencyMaxMs = latMin, latMax
	}
}

func tweak(base func(*Schedule), f func(*Schedule)) func(*Schedule) {
	return func(s *Schedule) { base(s); f(s) }
}

func isolateOneStorm(gapMin, gapMax, holdMin, holdMax int64) func(g *faultGen) {
	return func(g *faultGen) {
		g.windows(300, gapMin, gapMax, holdMin, holdMax, func(at int64) {
			g.add(Fault{AtMs: at, Kind: FaultIsolate, Nodes: []int{g.rnd.Intn(g.s.Nodes)}})
		}, g.healAt)
	}
}

func vt(nodes int, cq bool, latMin, latMax float64) func(s *Schedule) {
	return func(s *Schedule) {
		s.Nodes = nodes
		s.DurationMs = 30_000
		s.DisableCheckQuorum = !cq
		s.Network.LatencyMinMs, s.Network.LatencyMaxMs = latMin, latMax
	}
}

// linkFlap toggles random directed server links every gapMin..gapMax ms; a link goes down with
// probability pDown at each pick, and everything heals with probability pHeal.
func linkFlap(gapMin, gapMax int64, pDown, pHeal float64) func(g *faultGen) {
	return func(g *faultGen) {
		const maxEvents = 10000
		t := int64(300)
		for i := 0; i < maxEvents; i++ {
			t += g.betweenMs(gapMin, gapMax)
			if t >= g.s.DurationMs {
				return
			}
			if g.rnd.Chance(pHeal) {
				g.healAt(t)
				continue
			}
			from := g.rnd.Intn(g.s.Nodes)
			to := (from + 1 + g.rnd.Intn(g.s.Nodes-1)) % g.s.Nodes
			kind := FaultLinkUp
			if g.rnd.Chance(pDown) {
				kind = FaultLinkDown
			}
			g.add(Fault{AtMs: t, Kind: kind, Links: [][2]int{{from, to}}})
		}
	}
}

func init() {
	lat := [][2]float64{{10, 40}, {20, 60}, {30, 90}}
	for li, l := range lat {
		for si, st := range [][4]int64{{10, 40, 50, 200}, {5, 20, 20, 100}, {10, 40, 20, 100}, {5, 20, 50, 200}} {
			for _, one := range []bool{false, true} {
				name := fmt.Sprintf("x-q-l%d-s%d-one%v", li, si, one)
				gens := []func(*faultGen){isolateLeaderStorm(st[0], st[1], st[2], st[3])}
				if one {
					gens = append(gens, isolateOneStorm(st[0], st[1], st[2], st[3]))
				}
				registerNemesis(name, "exp", tweak(vt(3, true, l[0], l[1]), func(s *Schedule) { s.DurationMs = 60_000 }), gens...)
			}
		}
	}
}
