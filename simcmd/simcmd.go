// Package simcmd is the simrun command as a library, for a command of your own that runs
// raftsim on your system under test: import the host packages that register your SUTs, and
// Main gives you every flag and subcommand of raftsim's simrun (replay a seed, sweep, shrink,
// artifacts, -hunt, -explore, check, merge) on them.
//
//	package main
//
//	import (
//		"os"
//
//		"github.com/raftsim/raftsim/simcmd"
//		_ "example.com/myraft/raftsimhost" // registers the SUT "myraft" (sut.Register)
//	)
//
//	func main() {
//		os.Exit(simcmd.Main("go run ./cmd/mysimrun", os.Args[1:], os.Stdout, os.Stderr))
//	}
//
// Then `go run ./cmd/mysimrun -sut myraft -seeds 1-1000` sweeps your library, and every
// failure it reports comes with a command that replays it. A run without -sut uses raftsim's
// own raft, which a command has only if it imports github.com/raftsim/raftsim/raft/simhost.
package simcmd

import (
	"io"

	"github.com/raftsim/raftsim/internal/simrun"
)

// Main runs simrun with args (without the program name) and returns its exit code: 0 every
// run passed, 1 a check failed, 2 bad usage or input, 3 inconclusive with no failure, 130
// interrupted (SIGINT or SIGTERM) with no failure. command is how a user runs this command,
// for the replay commands it prints ("go run ./cmd/mysimrun", or the installed binary's name).
func Main(command string, args []string, stdout, stderr io.Writer) int {
	return simrun.Main(command, args, stdout, stderr)
}
