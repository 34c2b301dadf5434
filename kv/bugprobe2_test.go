package kv

import (
	"fmt"
	"testing"

	"github.com/raftsim/raftsim/raft"
	"github.com/raftsim/raftsim/sim"
)

func TestProbeReadLocal(t *testing.T) {
	r := newKVRun(t, runOptions{
		seed: 3, servers: 3, clerks: 4,
		server: ServerConfig{Bug: BugReadLocal},
		workload: Workload{Keys: 2, GetWeight: 2, AppendWeight: 3,
			ThinkMin: 1 * sim.Millisecond, ThinkMax: 10 * sim.Millisecond, StopAt: 4 * sim.Second},
		clerk: ClerkConfig{RequestTimeout: 100 * sim.Millisecond},
	})
	r.s.RunUntil(1 * sim.Second)
	l := r.leader()
	var rest []sim.NodeID
	for i := 0; i < 3; i++ {
		if i != l {
			rest = append(rest, sim.NodeID(i))
		}
	}
	r.s.Net().Partition([]sim.NodeID{sim.NodeID(l)}, rest)
	fmt.Println("partitioned leader", l, "at", r.s.Now())
	before := r.hosts[l].Service().(*Server).Stats().LocalReads
	for step := 0; step < 40; step++ {
		r.s.RunUntil(r.s.Now() + 10*sim.Millisecond)
		var roles []string
		for i := 0; i < 3; i++ {
			st := r.hosts[i].Status()
			roles = append(roles, fmt.Sprintf("%d:%v/t%d", i, st.Role, st.Term))
		}
		_ = raft.Leader
		fmt.Println(r.s.Now(), roles, "localreads", r.hosts[l].Service().(*Server).Stats().LocalReads-before, "hist", r.hist.Len())
	}
}
