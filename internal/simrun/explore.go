package simrun

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/raftsim/raftsim/scenarios"
)

// exploreRuns runs a coverage-guided exploration (scenarios.Explore) of -runs runs, stopping at
// the first failure, which it shrinks like -shrink does; with -corpus DIR the corpus is kept
// there and a later -explore resumes from it.
func exploreRuns(o *options, stdout, stderr io.Writer) (int, error) {
	start := time.Now()
	res, err := scenarios.Explore(scenarios.ExploreConfig{
		Runs: o.exploreRuns, Bug: o.bug, SUT: o.sut, Seed: 1, CorpusDir: o.corpusDir, StopAtFailure: true,
		Options: o.runOptions(),
		Progress: func(run int, r *scenarios.Result, gain, corpus int) {
			if r.Status == scenarios.Fail {
				fmt.Fprintf(stdout, "run %d: FAIL check=%s (%s seed %d)\n", run, r.Check, r.Scenario, r.Seed)
			} else if o.verbose {
				fmt.Fprintf(stdout, "run %d: +%d coverage, corpus %d\n", run, gain, corpus)
			}
		},
	})
	if err != nil {
		return exitUsage, err
	}
	fmt.Fprintf(stdout, "explored %d runs (%d fresh default seeds, the rest mutations) in %s: corpus %d schedules, %d probes, %d probe pairs\n",
		res.Runs, res.Fresh, time.Since(start).Round(time.Millisecond), res.Corpus, len(res.Probes), res.Pairs)
	if res.Failure == nil {
		return exitPass, nil
	}
	r := res.Failure
	fmt.Fprintf(stdout, "first failure at run %d: %s\n", res.FailureRun, firstLine(r.Report()))
	dir := o.outDir
	if dir == "" {
		dir = "."
	}
	name := fmt.Sprintf("explore-run%d", res.FailureRun)
	if o.bug != "" {
		name = fmt.Sprintf("explore-%s-run%d", o.bug, res.FailureRun)
	}
	path := filepath.Join(dir, name+".json")
	if err := scenarios.WriteFileAtomic(path, r.Schedule.Marshal()); err != nil {
		return exitFail, err
	}
	fmt.Fprintf(stdout, "wrote %s\nreplay: %s\n", path, o.replaySchedule(path))
	min, st, err := scenarios.Shrink(r.Schedule, o.runOptions())
	if err != nil {
		return exitFail, err
	}
	shrunk := filepath.Join(dir, "shrunk-"+name+".json")
	if err := scenarios.WriteFileAtomic(shrunk, min.Marshal()); err != nil {
		return exitFail, err
	}
	fmt.Fprintf(stdout, "shrunk (check %s): fault events %d -> %d, operations %d -> %d, %d runs\nwrote %s\nreplay: %s\n",
		st.Check, st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter, st.Runs, shrunk, o.replaySchedule(shrunk))
	return exitFail, nil
}
