package simrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/sut"
)

// A sweep streams: each run is reported the moment it finishes (a JSON line with -json, a line
// of results.jsonl under -out, a FAIL line with its replay command for each failure), so that
// an interrupted sweep (SIGINT, SIGTERM) loses only the runs that were in flight.

// sweeper runs the seeds of one sweep or hunt.
type sweeper struct {
	o   *options
	bug string
	dir string // the sweep's directory under -out, where failing runs write artifacts ("" for none)
}

// run runs one seed, and writes its artifacts if it fails and the sweep has a directory.
func (s *sweeper) run(seed uint64) outcome {
	spec := scenarios.Spec{Scenario: s.o.scenario, Seed: seed, SUT: s.o.sut, Bug: s.bug}
	out := outcome{spec: spec, replay: s.o.replayCommand(spec, "")}
	var artifactErr error
	out.crash = guarded(func() {
		opts := s.o.runOptions()
		opts.RecordDigests = s.o.checkDeterminism
		r, wall, err := execute(spec, opts)
		if err != nil {
			panic(fmt.Sprintf("names were validated before the sweep: %v", err))
		}
		if s.o.checkDeterminism {
			again, _, _ := execute(spec, opts)
			out.nondet = compareRuns(spec, s.o.runOptions(), r, again)
		}
		if s.dir != "" && r.Status == scenarios.Fail {
			r.Files, artifactErr = writeArtifacts(s.dir, s.o.runID(spec, ""), false, spec, r, s.o.runOptions(), s.o.traceLevel, out.replay)
		}
		// A sweep keeps only verdicts and counters: histories, checker results and digests of
		// thousands of runs would not fit in memory (a heavy kv/ run holds megabytes).
		r.Digests, r.History, r.Lin, r.Annotations = nil, nil, nil, nil
		out.result, out.wall = r, wall
	})
	if artifactErr != nil && out.crash == "" {
		out.result.Message += fmt.Sprintf("\n(artifacts not written: %v)", artifactErr)
		out.artifactErr = artifactErr
	}
	return out
}

// workers counts the sweep workers still running, those abandoned by an interrupted sweep
// included; tests wait for them before they reuse what the workers touch.
var workers sync.WaitGroup

// runSeeds runs seeds on -parallel workers (each run single-threaded), calling done with each
// finished run as it finishes. It returns when every seed has run, or at once when ctx is
// done: the runs in flight are abandoned, and done is not called for them.
func (s *sweeper) runSeeds(ctx context.Context, seeds []uint64, done func(outcome)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(s.o.parallel, len(seeds)); w++ {
		wg.Add(1)
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(seeds) {
					return
				}
				done(s.run(seeds[i]))
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
	}
}

// collector reports a sweep's runs as they finish and counts them. After close it drops
// whatever the abandoned runs of an interrupted sweep still deliver.
type collector struct {
	mu       sync.Mutex
	closed   bool
	o        *options
	stdout   io.Writer
	stderr   io.Writer
	results  io.Writer // results.jsonl, or nil
	progress func(done, failed int)

	done, failed, inconclusive, crashed int
	failures                            []outcome
	writeErr                            error // the first failure to write results.jsonl or artifacts
	// probes counts, per code probe, the runs that reached it (-probes).
	probes map[string]int
}

func (c *collector) add(out outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	rec := c.o.record(out)
	rec.Sweep = fmt.Sprintf("%d-%d", c.o.seedFirst, c.o.seedLast)
	rec.Shard = fmt.Sprintf("%d/%d", c.o.shardIndex, c.o.shardCount)
	if c.results != nil {
		if err := writeRecord(c.results, rec); err != nil && c.writeErr == nil {
			c.writeErr = fmt.Errorf("writing %s: %w", resultsFile, err)
		}
	}
	if out.artifactErr != nil && c.writeErr == nil {
		c.writeErr = fmt.Errorf("writing the artifacts of seed %d: %w", out.spec.Seed, out.artifactErr)
	}
	c.done++
	if out.result != nil {
		for _, name := range out.result.Probes {
			c.probes[name]++
		}
	}
	verdict := out.verdict()
	switch verdict {
	case scenarios.Fail.String():
		c.failed++
		c.failures = append(c.failures, out)
	case scenarios.Inconclusive.String():
		c.inconclusive++
	case verdictError:
		c.crashed++
	}
	if c.o.json {
		writeRecord(c.stdout, rec)
	} else if verdict != scenarios.Pass.String() {
		c.clearProgress()
		fmt.Fprintln(c.stdout, streamLine(out, rec))
	}
	if c.progress != nil {
		c.progress(c.done, c.failed)
	}
}

// streamLine is how a sweep reports a run that did not pass, the moment it finishes.
func streamLine(out outcome, rec runJSON) string {
	var b strings.Builder
	switch {
	case out.crash != "":
		return crashReport(out.spec, out.crash, out.replay)
	case out.nondet != "":
		b.WriteString(out.nondet)
	case rec.Verdict == scenarios.Inconclusive.String():
		fmt.Fprintf(&b, "INCONCLUSIVE seed=%d: %s", out.spec.Seed, firstLine(rec.Message))
	default:
		fmt.Fprintf(&b, "FAIL seed=%d check=%s: %s", out.spec.Seed, rec.Check, firstLine(rec.Message))
	}
	fmt.Fprintf(&b, "\n  replay: %s", out.replay)
	for _, file := range rec.Files {
		fmt.Fprintf(&b, "\n  wrote: %s", file)
	}
	return b.String()
}

// clearProgress erases the progress bar's line before a report line is printed.
func (c *collector) clearProgress() {
	if c.progress != nil {
		fmt.Fprint(c.stderr, "\r\033[K")
	}
}

// close stops reporting and returns the counts.
func (c *collector) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func progressBar(w io.Writer, total int, start time.Time) func(done, failed int) {
	if !isTerminal(w) {
		return nil
	}
	return func(done, failed int) {
		const width = 30
		filled := done * width / total
		rate := float64(done) / time.Since(start).Seconds()
		fmt.Fprintf(w, "\r[%s%s] %d/%d seeds, %d failed, %.1f seeds/s ", strings.Repeat("#", filled),
			strings.Repeat(".", width-filled), done, total, failed, rate)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

func sweep(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	seeds := shardSeeds(o.seedFirst, o.seedLast, o.shardIndex, o.shardCount)
	if err := prepareOut(o.outDir); err != nil {
		return exitUsage, err
	}
	s := &sweeper{o: o, bug: o.bug}
	c := &collector{o: o, stdout: stdout, stderr: stderr, probes: map[string]int{}}
	if o.outDir != "" {
		dir, results, err := createSweepDir(o)
		if err != nil {
			return exitUsage, err
		}
		// Each line goes straight to the file (no buffer), so an interrupted or killed sweep
		// keeps every result it reported.
		defer results.Close()
		s.dir, c.results = dir, results
	}
	if len(seeds) == 0 {
		fmt.Fprintf(stdout, "shard %d/%d of %d-%d holds no seeds\n", o.shardIndex, o.shardCount, o.seedFirst, o.seedLast)
		return exitPass, nil
	}
	start := time.Now()
	c.progress = progressBar(stderr, len(seeds), start)
	s.runSeeds(ctx, seeds, c.add)
	c.close()
	elapsed := time.Since(start)
	interrupted := c.done < len(seeds)
	if interrupted {
		c.clearProgress()
	}

	// With -json, stdout carries only the records, which say everything; only an interrupted
	// sweep's summary is printed, on stderr, since the records cannot say what did not run.
	summary := stdout
	if o.json {
		if !interrupted {
			return c.exitCode(false)
		}
		summary = stderr
	}
	what := fmt.Sprintf("%s (%d-%d, shard %d/%d)", o.scenario, o.seedFirst, o.seedLast, o.shardIndex, o.shardCount)
	if name := sutName(o.sut); name != sut.DefaultName {
		what = fmt.Sprintf("%s on %s (%d-%d, shard %d/%d)", o.scenario, name, o.seedFirst, o.seedLast, o.shardIndex, o.shardCount)
	}
	counts := fmt.Sprintf("%d passed, %d failed, %d inconclusive", c.done-c.failed-c.inconclusive-c.crashed, c.failed, c.inconclusive)
	if c.crashed > 0 {
		counts += fmt.Sprintf(", %d on which simrun itself failed", c.crashed)
	}
	if interrupted {
		fmt.Fprintf(summary, "interrupted: %d of %d seeds of %s finished in %s: %s; the other %d did not run\n",
			c.done, len(seeds), what, elapsed.Round(time.Millisecond), counts, len(seeds)-c.done)
	} else {
		fmt.Fprintf(summary, "%d seeds of %s: %s in %s (%.1f seeds/s)\n", len(seeds), what, counts,
			elapsed.Round(time.Millisecond), float64(len(seeds))/elapsed.Seconds())
	}
	if s.dir != "" {
		fmt.Fprintf(summary, "results: %s\n", filepath.Join(s.dir, resultsFile))
	}
	if o.probes {
		printProbeTable(summary, o, c.probes, c.done)
	}
	if !o.json && len(c.failures) > 0 {
		sort.Slice(c.failures, func(i, j int) bool { return c.failures[i].spec.Seed < c.failures[j].spec.Seed })
		fmt.Fprintf(summary, "failed seeds, each with the command that replays it:\n")
		for _, f := range c.failures {
			fmt.Fprintf(summary, "  seed %d: %s\n", f.spec.Seed, f.replay)
		}
	}
	return c.exitCode(interrupted)
}

// exitCode is the sweep's exit code: 2 if simrun failed on a run or could not write what it
// found, 1 if a run failed, 130 if interrupted, 3 if a run was inconclusive, else 0.
func (c *collector) exitCode(interrupted bool) (int, error) {
	code := exitPass
	switch {
	case c.crashed > 0 || c.writeErr != nil:
		code = exitUsage
	case c.failed > 0:
		code = exitFail
	case interrupted:
		code = exitInterrupted
	case c.inconclusive > 0:
		code = exitInconclusive
	}
	return code, c.writeErr
}
