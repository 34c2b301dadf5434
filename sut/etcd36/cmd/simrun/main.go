// Command simrun is raftsim's simrun built with etcd-io/raft v3.6.0: the same command, whose
// systems under test are raftsim's own raft and "etcd@v3.6.0". The main module's simrun runs
// this one when asked for -sut etcd@v3.6.0, so users never need to call it directly.
package main

import (
	"os"

	_ "github.com/raftsim/raftsim/raft/simhost" // SUT raftsim
	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/simcmd"
	_ "github.com/raftsim/raftsim/sut/etcd36" // SUT etcd@v3.6.0
)

func main() {
	os.Exit(simcmd.Main(scenarios.DefaultCommand, os.Args[1:], os.Stdout, os.Stderr))
}
