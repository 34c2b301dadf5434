package scenarios

// Hunt scenarios: nemeses aimed at the planted bugs that a swarm mix finds too rarely
// (vote-no-persist, vote-twice, commit-old-term). The storms below are fault patterns real
// deployments see, compressed in time so that the rare interleaving the bug needs comes up in
// many seeds; hunt_short.go has single short sequences aimed at two of the same bugs, whose
// failures are already minimal. default runs some of them (huntProfiles):
//
//   - power-flicker: the whole cluster loses power again and again, about once per election
//     timeout, so power cuts land between a vote and the first write that would have made it
//     durable (vote-no-persist).
//   - figure8: a cluster across a WAN whose leaders keep losing their network soon after being
//     elected, with small AppendEntries: leaders leave uncommitted tails of different terms, and
//     a later leader is cut off in the middle of a catch-up that is split across messages,
//     Figure 8 of the Raft paper (commit-old-term).
//   - election-storm: a cluster across a WAN in which the leader and random nodes keep losing
//     their network for a few hundred ms: elections overlap, a node that voted in a term can
//     miss the winner's entries, and a node that slept through the election campaigns in that
//     same term later (vote-twice).
//
// hunt_test.go keeps each bug caught by its scenario, and default's first failing seeds.

// stormSpec describes a fault storm: bursts of short faults separated by calm spells, so that
// the workload makes progress between bursts. Inside a burst each fault holds for
// holdMinMs..holdMaxMs and the next one starts gapMinMs..gapMaxMs after it healed.
type stormSpec struct {
	burstMinMs, burstMaxMs int64
	calmMinMs, calmMaxMs   int64
	gapMinMs, gapMaxMs     int64
	holdMinMs, holdMaxMs   int64
}

const (
	// stormStartMs leaves the cluster time to elect its first leader and serve some calls.
	stormStartMs = 300
	// stormCalmTailMs ends every storm this long before the fault phase ends. A call that
	// started in a storm has by then completed or been given up by its clerk; without the
	// tail, a clerk can spend its last attempt just after the final heal and give up, which
	// the liveness check counts as a call that never completed.
	stormCalmTailMs = 3000
	// maxStormFaults bounds one storm's faults, so that tiny gaps cannot explode the schedule
	// (the schedule's own limit is maxFaults events in all).
	maxStormFaults = 2000
)

// storm calls apply at the start and heal at the end of each fault of a storm. It stops at
// the end of the fault phase minus stormCalmTailMs, or after maxStormFaults faults.
func (g *faultGen) storm(st stormSpec, apply, heal func(atMs int64)) {
	if st.burstMinMs < 1 || st.gapMinMs < 0 || st.holdMinMs < 1 {
		panic("scenarios: a storm needs bursts and holds of at least 1 ms and gaps >= 0")
	}
	end := g.s.DurationMs - stormCalmTailMs
	t := int64(stormStartMs)
	burstEnd := t + g.betweenMs(st.burstMinMs, st.burstMaxMs)
	for faults := 0; faults < maxStormFaults; {
		t += g.betweenMs(st.gapMinMs, st.gapMaxMs)
		if t >= burstEnd {
			t = burstEnd + g.betweenMs(st.calmMinMs, st.calmMaxMs)
			burstEnd = t + g.betweenMs(st.burstMinMs, st.burstMaxMs)
			continue
		}
		stop := t + g.betweenMs(st.holdMinMs, st.holdMaxMs)
		if stop >= end {
			return
		}
		apply(t)
		heal(stop)
		faults++
		t = stop
	}
}

// powerFlickerStorm: in bursts of 3-6 s, the cluster loses power 150-250 ms after it came
// back (about one election timeout, so the cut often lands inside an election) and is back
// within 1-20 ms.
var powerFlickerStorm = stormSpec{
	burstMinMs: 3000, burstMaxMs: 6000, calmMinMs: 500, calmMaxMs: 1500,
	gapMinMs: 150, gapMaxMs: 250, holdMinMs: 1, holdMaxMs: 20,
}

func genPowerFlicker(g *faultGen) {
	g.storm(powerFlickerStorm, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultCrash, Nodes: allNodes(g.s.Nodes)})
	}, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)})
	})
}

// figure8Storm: in bursts of 2-6 s, whoever leads loses its network for 50-250 ms, and the
// next leader 5-40 ms after that heals, so that a new leader is often cut off before or while
// its first appends are on the wire.
var figure8Storm = stormSpec{
	burstMinMs: 2000, burstMaxMs: 6000, calmMinMs: 500, calmMaxMs: 1500,
	gapMinMs: 5, gapMaxMs: 40, holdMinMs: 50, holdMaxMs: 250,
}

func genFigure8(g *faultGen) {
	g.storm(figure8Storm, func(at int64) { g.add(Fault{AtMs: at, Kind: FaultIsolateLeader}) }, g.healAt)
}

// electionStorm: in bursts of 5-10 s, a node loses its network for 50-250 ms, the next one
// 5-25 ms after that heals. Two independent storms run at once, one isolating whoever leads
// and one a random node, so isolations overlap and elections run while a node sleeps.
var electionStorm = stormSpec{
	burstMinMs: 5000, burstMaxMs: 10000, calmMinMs: 300, calmMaxMs: 800,
	gapMinMs: 5, gapMaxMs: 25, holdMinMs: 50, holdMaxMs: 250,
}

func genLeaderFlap(g *faultGen) {
	g.storm(electionStorm, func(at int64) { g.add(Fault{AtMs: at, Kind: FaultIsolateLeader}) }, g.healAt)
}

func genNodeFlap(g *faultGen) {
	g.storm(electionStorm, func(at int64) {
		g.add(Fault{AtMs: at, Kind: FaultIsolate, Nodes: []int{g.rnd.Intn(g.s.Nodes)}})
	}, g.healAt)
}

// wan puts the cluster on a wide-area network, one-way latency latencyMinMs..latencyMaxMs,
// against raft's election timeout of 150-300 ms (a geo-distributed cluster whose timeouts
// were tuned for a LAN).
func wan(s *Schedule, latencyMinMs, latencyMaxMs float64) {
	s.Network.LatencyMinMs, s.Network.LatencyMaxMs = latencyMinMs, latencyMaxMs
}

// wanTrio is the cluster the leader-churn hunts share: 3 nodes over a WAN, one entry per
// AppendEntries (so a catch-up spans many messages, each of which a fault can cut), running
// for durationMs.
func wanTrio(s *Schedule, durationMs int64, latencyMinMs, latencyMaxMs float64) {
	s.Nodes = 3
	s.DurationMs = durationMs
	wan(s, latencyMinMs, latencyMaxMs)
	s.MaxEntriesPerMsg = 1
}

// huntProfiles are the hunt nemeses. Each is a scenario of its own, and default runs some of
// them for a share of its seeds: power-flicker and the two short sequences, whose failing runs
// are already small. The storms (figure8, election-storm) find the same bugs more often, but
// as one lucky interleaving among hundreds of faults that shrinking cannot take apart (9-14
// fault events remain), so default leaves them out.
var huntProfiles = []struct {
	*faultProfile
	defaultShare float64 // the fraction of default's seeds that run this profile
}{
	{defaultShare: 0.07, faultProfile: &faultProfile{name: "power-flicker",
		description: "3 nodes, 4 clients: in bursts, the whole cluster loses power every 150-250 ms and is back within 20 ms (cuts land mid-election)",
		tune: func(s *Schedule) {
			s.Nodes = 3
			s.DurationMs = 30_000
		}, gens: []func(*faultGen){genPowerFlicker}}},
	{defaultShare: 0, faultProfile: &faultProfile{name: "figure8",
		description: "3 nodes over a 10-40 ms WAN, 1 entry per AppendEntries, no CheckQuorum: in bursts, leader after leader loses its network soon after election",
		tune: func(s *Schedule) {
			wanTrio(s, 30_000, 10, 40)
			s.DisableCheckQuorum = true
		}, gens: []func(*faultGen){genFigure8}}},
	{defaultShare: 0, faultProfile: &faultProfile{name: "election-storm",
		description: "3 nodes over a 20-60 ms WAN, 1 entry per AppendEntries, 60 s: in bursts, the leader and random nodes keep losing their network for 50-250 ms",
		tune:        func(s *Schedule) { wanTrio(s, 60_000, 20, 60) },
		gens:        []func(*faultGen){genLeaderFlap, genNodeFlap}}},
	// figure8-short catches commit-old-term in about 1 seed in 11, vote-twice-short catches
	// vote-twice in 4 of 5 (hunt_short.go).
	{defaultShare: 0.12, faultProfile: &faultProfile{name: "figure8-short",
		description: "3 nodes over a 40-60 ms WAN, 32 busy clients, no CheckQuorum: Figure 8 in 5 fault events (crash the leader, cut off the next, restart the first, heal and cut off the leader)",
		tune:        func(s *Schedule) { shortHuntCluster(s, 6000, 32) },
		gens:        []func(*faultGen){genFigure8Short}}},
	{defaultShare: 0.04, faultProfile: &faultProfile{name: "vote-twice-short",
		description: "3 nodes over a 40-60 ms WAN, 16 busy clients, no CheckQuorum: crash the leader, cut off the next one twice around a heal, restart the first (5 fault events)",
		tune:        func(s *Schedule) { shortHuntCluster(s, 5000, 16) },
		gens:        []func(*faultGen){genVoteTwiceShort}}},
}

func init() {
	for _, n := range huntProfiles {
		registerProfile(n.faultProfile)
	}
}
