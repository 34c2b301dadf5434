package kv_test

import (
	"fmt"

	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/raft/simhost"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Three KV servers on raft, two clerks making 20 calls each, a crash of one server in the
// middle; every call completes and the history is ready for the linearizability checker.
func Example() {
	s := sim.New(sim.Config{Seed: 1, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond}})
	history := kv.NewHistory(s.Now)
	servers := []sim.NodeID{0, 1, 2}
	hosts := sut.Config{
		Peers:             servers,
		NewService:        kv.NewService(kv.ServerConfig{ReadMode: kv.ReadIndex}),
		MaxRaftStateBytes: 4096,
	}
	for i := range servers {
		s.AddNode(fmt.Sprintf("kv%d", i), simhost.Factory(hosts))
	}
	clerks := kv.ClerkConfig{
		Servers: servers,
		History: history,
		Workload: kv.Workload{Keys: 3, GetWeight: 2, AppendWeight: 2, CASWeight: 1,
			ThinkMax: 20 * sim.Millisecond, MaxOps: 20},
	}
	for i := 0; i < 2; i++ {
		s.AddNode(fmt.Sprintf("clerk%d", i), clerks.Factory())
	}
	for id := 0; id < s.NumNodes(); id++ {
		s.Start(sim.NodeID(id))
	}
	s.At(300*sim.Millisecond, "crash", func() { s.Crash(1) })
	s.At(800*sim.Millisecond, "restart", func() { s.Restart(1) })
	s.RunUntil(10 * sim.Second)

	fmt.Println("calls:", history.Len(), "pending:", history.Pending())
	// Output:
	// calls: 40 pending: 0
}
