// Package simrun is the simrun command line: replay one seed exactly, sweep seed ranges in
// parallel, plant a known bug, check determinism, shrink a failure to a minimal schedule, and
// write the artifacts (trace, schedule, linearizability visualization) of every failing run.
// cmd/simrun is its main package; a module that hosts another version of a system under test
// builds its own main around the same Main.
//
// Exit codes: 0 every run passed, 1 a check failed, 2 bad usage or input, 3 inconclusive (a
// checker hit its time bound) with no failure.
package simrun

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

const (
	exitPass         = 0
	exitFail         = 1
	exitUsage        = 2
	exitInconclusive = 3
)

// Main runs simrun with args (without the program name) and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, stdout, stderr)
}

// run is simrun without the process around it, so tests can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		return exitUsage
	}
	if target, err := o.target(); err == nil && !target.Runs() && !o.list {
		code, err := runElsewhere(target, args, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "simrun: %v\n", err)
		}
		return code
	}
	code, err := dispatch(o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		if code == exitPass {
			code = exitUsage
		}
	}
	return code
}

func dispatch(o *options, stdout, stderr io.Writer) (int, error) {
	if o.list {
		listScenarios(stdout)
		return exitPass, nil
	}
	if err := validateNames(o); err != nil {
		return exitUsage, err
	}
	switch {
	case o.hunt:
		return hunt(o, stdout, stderr)
	case o.shrink:
		return shrinkOne(o, stdout, stderr)
	case o.sweep:
		return sweep(o, stdout, stderr)
	default:
		return runOne(o, stdout, stderr)
	}
}
