package etcd_test

import (
	"fmt"

	"github.com/raftsim/raftsim/scenarios"
	_ "github.com/raftsim/raftsim/sut/etcd" // registers the SUT "etcd"
)

// One seed of a fault scenario on etcd-io/raft: crashes and restarts of random nodes or the
// leader, with a KV workload, the online safety monitor, linearizability and liveness checks.
func Example() {
	r, err := scenarios.Execute(scenarios.Spec{Scenario: "crash-restart", Seed: 1, SUT: "etcd"}, scenarios.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Report())
	fmt.Printf("%d client operations, linearizability %s, liveness %s\n", r.Ops, r.LinVerdict, r.LivenessVerdict)
	// Output:
	// crash-restart seed 1 on etcd: every check passed
	// 990 client operations, linearizability ok, liveness ok
}
