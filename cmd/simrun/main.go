// Command simrun runs raftsim simulations: replay one seed exactly, sweep seed ranges in
// parallel, plant a known bug, check determinism, shrink a failure to a minimal schedule, and
// write the artifacts of every failing run. `simrun -h` lists the flags; the README shows them
// at work.
//
// Exit codes: 0 every run passed, 1 a check failed, 2 bad usage or input, 3 inconclusive (a
// checker hit its time bound) with no failure.
package main

import (
	"os"

	_ "github.com/raftsim/raftsim/raft/simhost" // SUT raftsim
	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/simcmd"
	"github.com/raftsim/raftsim/sut"
	_ "github.com/raftsim/raftsim/sut/etcd" // SUT etcd (etcd-io/raft v3.7)
)

func init() {
	// Go builds one version of a module at a time: etcd-io/raft v3.6.0 is built by the module
	// in sut/etcd36, whose simrun this one runs for -sut etcd@v3.6.0.
	sut.Register(&sut.SUT{
		Name:        "etcd@v3.6.0",
		Description: "etcd-io/raft v3.6.0, as etcd 3.6 ships it (built and run from the module in sut/etcd36)",
		Module:      "sut/etcd36",
	})
}

func main() {
	os.Exit(simcmd.Main(scenarios.DefaultCommand, os.Args[1:], os.Stdout, os.Stderr))
}
