package scenarios

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

func init() {
	registerNemesis("x-f6", "exp", f8(5, 0, 10, 40), isolateLeaderStorm(20, 80, 50, 300))
	registerNemesis("x-g1", "exp", f8(3, 0, 10, 40), isolateLeaderStorm(20, 80, 50, 300))
	registerNemesis("x-g2", "exp", f8(5, 0, 10, 40), isolateLeaderStorm(10, 40, 100, 400))
	registerNemesis("x-g3", "exp", f8(5, 0, 10, 40), isolateLeaderStorm(20, 80, 200, 600))
	registerNemesis("x-g4", "exp", f8(5, 0.1, 10, 40), isolateLeaderStorm(20, 80, 50, 300))
	registerNemesis("x-g5", "exp", f8(5, 0, 20, 60), isolateLeaderStorm(20, 80, 50, 300))
	registerNemesis("x-g6", "exp", f8(5, 0, 5, 20), isolateLeaderStorm(20, 80, 50, 300))
	registerNemesis("x-g7", "exp", f8(7, 0, 10, 40), isolateLeaderStorm(20, 80, 50, 300))
}
