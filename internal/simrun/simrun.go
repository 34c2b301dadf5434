// Package simrun is the simrun command line: replay one seed exactly, sweep seed ranges in
// parallel (or as one shard of many, merged by `simrun merge`), plant a known bug, check
// determinism, shrink a failure to a minimal schedule, and write the artifacts (trace,
// schedule, linearizability visualization) of every failing run; `simrun check FILE` checks a
// history of any key-value store (check.go). cmd/simrun is its main package; a module that
// hosts another version of a system under test builds its own main around the same Main.
//
// Exit codes: 0 every run passed, 1 a check failed, 2 bad usage or input (or simrun itself
// failed on a run), 3 inconclusive (a checker hit its time or memory bound, or -until cut the
// run short) with no failure, 130 interrupted (SIGINT or SIGTERM) with no failure.
package simrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/raftsim/raftsim/scenarios"
)

const (
	exitPass         = 0
	exitFail         = 1
	exitUsage        = 2
	exitInconclusive = 3
	exitInterrupted  = 130 // 128 + SIGINT, as a shell reports a process killed by Ctrl-C
)

// Main runs simrun with args (without the program name) and returns its exit code; command is
// how the replay commands it prints run this simrun (scenarios.DefaultCommand for raftsim's
// own). SIGINT or SIGTERM stops it within a second: a sweep keeps and summarizes the runs that
// finished; a second signal kills the process at once.
func Main(command string, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return runContext(ctx, command, args, stdout, stderr)
}

// run is simrun without the process around it, so tests can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), scenarios.DefaultCommand, args, stdout, stderr)
}

func runContext(ctx context.Context, command string, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return checkCommand(args[1:], stdout, stderr)
	}
	var code int
	var err error
	if len(args) > 0 && args[0] == "merge" {
		code, err = merge(args[1:], stdout, stderr)
	} else {
		code, err = runFlags(ctx, command, args, stdout, stderr)
	}
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

func runFlags(ctx context.Context, command string, args []string, stdout, stderr io.Writer) (int, error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass, nil
		}
		return exitUsage, err
	}
	o.command = command
	if target, err := o.target(); err == nil && !target.Runs() && !o.list {
		return runElsewhere(target, args, stdout, stderr)
	}
	return dispatch(ctx, o, stdout, stderr)
}

func dispatch(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	if o.list {
		listScenarios(stdout)
		return exitPass, nil
	}
	if err := validateNames(o); err != nil {
		return exitUsage, err
	}
	switch {
	case o.hunt:
		return hunt(ctx, o, stdout, stderr)
	case o.explore:
		return exploreRuns(o, stdout, stderr)
	case o.shrink:
		return shrinkOne(ctx, o, stdout, stderr)
	case o.sweep:
		return sweep(ctx, o, stdout, stderr)
	default:
		return runOne(ctx, o, stdout, stderr)
	}
}
