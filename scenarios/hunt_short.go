package scenarios

// Short hunt scenarios: one precise fault sequence per seed, at most 5 fault events, so that
// every failing run is already a minimal, readable schedule (the fault storms of hunt.go need a
// precise interleaving and shrink to 9-18 events). Each sequence is aimed at one planted bug;
// its random part is only the timing of the events, drawn around the moment the sequence needs.
//
// Both run 3 nodes over a 40-60 ms WAN with 1 entry per AppendEntries, CheckQuorum off (an
// isolated leader stays leader, so a later heal or isolate-leader still finds it) and a heavy
// workload (16 or 32 clients with 1-5 ms think time), so that a leader always has entries in
// flight and its followers' logs differ by a few entries when it fails.
//
//   - vote-twice-short (vote-twice): crash the leader C; A wins term T with B's vote; isolate A
//     before its no-op reaches B; B times out and becomes a pre-candidate, still in term T;
//     heal: A's heartbeat turns B back into a follower (becomeFollower(T), which the bug lets
//     forget B's vote); isolate A again before its AppendEntries follow; restart C, still in
//     term T-1 with a log at least as long as B's: its pre-vote and then its vote for term T
//     reach B, which grants both. A and C are leaders of term T.
//   - figure8-short (commit-old-term), Figure 8 with three nodes: crash the leader A while
//     its last entries x are on no other node; B wins term T with C's vote; isolate B before its
//     no-op reaches C; restart A: it learns term T from C, wins T+1 with C's vote, and catches C
//     up one entry per message; at C's first acknowledgement the bug commits x (term T-1,
//     counted replicas); heal and isolate A (the leader of the highest term) in the next
//     millisecond, which drops A's no-op on its way to C; B, connected to C again, learns T+1,
//     campaigns for T+2 and wins with C's vote (B's last term T beats C's T-1): a leader
//     without the committed x.
//
// Measured with `simrun -seeds 1-1000 -bug B -scenario S -parallel 2`: see hunt_test.go.

func shortHuntCluster(s *Schedule, durationMs int64, clients int) {
	wanTrio(s, durationMs, 40, 60)
	s.DisableCheckQuorum = true
	s.Workload.Clients = clients
	s.Workload.ThinkMinMs, s.Workload.ThinkMaxMs = 1, 5
}

// shortHuntStartMs: the first leader is elected and serving well before this.
const shortHuntStartMs = 1500

func genVoteTwiceShort(g *faultGen) {
	t := int64(shortHuntStartMs)
	g.add(Fault{AtMs: t, Kind: FaultCrashLeader}) // C
	// The two survivors elect A about 350-700 ms later (timeouts, pre-vote and vote round
	// trips, sometimes a split vote first); cut A off while its no-op is on the wire to B.
	t += g.betweenMs(550, 650)
	g.add(Fault{AtMs: t, Kind: FaultIsolateLeader}) // A
	// Long enough for B to time out (150-300 ms) and become a pre-candidate of term T.
	t += g.betweenMs(350, 600)
	g.add(Fault{AtMs: t, Kind: FaultHeal})
	// A's next heartbeat reaches B within 10 ms + one latency; B's reply and A's AppendEntries
	// need two more latencies: cut A off in between.
	t += 75
	g.add(Fault{AtMs: t, Kind: FaultIsolateLeader}) // A again
	t += g.betweenMs(0, 100)
	g.add(Fault{AtMs: t, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)}) // C
}

func genFigure8Short(g *faultGen) {
	t := int64(shortHuntStartMs)
	g.add(Fault{AtMs: t, Kind: FaultCrashLeader}) // A, with entries x on no other node
	// B wins term T with C's vote; cut it off while its catch-up of C is on the wire.
	t += g.betweenMs(650, 750)
	g.add(Fault{AtMs: t, Kind: FaultIsolateLeader}) // B
	t += g.betweenMs(100, 300)
	g.add(Fault{AtMs: t, Kind: FaultRestart, Nodes: allNodes(g.s.Nodes)}) // A
	// A needs two election timeouts (learn T from C's rejection, then win T+1) and two round
	// trips of catch-up before it commits x.
	t += g.betweenMs(1100, 1300)
	g.add(Fault{AtMs: t, Kind: FaultHeal})
	g.add(Fault{AtMs: t + 1, Kind: FaultIsolateLeader}) // A: B and C together, A cut off
}
