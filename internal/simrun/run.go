package simrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

func listScenarios(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEMS UNDER TEST (-sut NAME)\t")
	for _, s := range sut.All() {
		fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.Description)
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "SCENARIOS\tSUTS\t")
	for _, s := range scenarios.All() {
		suts := "all"
		if s.SUTs != nil {
			suts = strings.Join(s.SUTs, ",")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, suts, s.Description)
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "PLANTED BUGS (-bug NAME)\tSUTS\t")
	for _, b := range plantedBugs() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", b.name, b.suts, b.description)
	}
	tw.Flush()
}

type bugListing struct{ name, suts, description string }

// plantedBugs lists every SUT's planted bugs, then the KV service's (which plant on all).
func plantedBugs() []bugListing {
	var out []bugListing
	seen := map[string]bool{}
	for _, s := range sut.All() {
		for _, b := range s.Bugs {
			out = append(out, bugListing{b.Name, s.Name, b.Description})
			seen[b.Name] = true
		}
	}
	def, err := sut.Lookup(sut.DefaultName)
	if err != nil {
		return out
	}
	for _, b := range scenarios.Bugs(def) {
		if !seen[b.Name] {
			out = append(out, bugListing{b.Name, "all", b.Description})
		}
	}
	return out
}

// target is the SUT the run asks for: -sut, or else the schedule file's, or else the default.
func (o *options) target() (*sut.SUT, error) {
	name := o.sut
	if name == "" && o.schedulePath != "" {
		s, err := scenarios.LoadSchedule(o.schedulePath)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		name = s.SUT
	}
	s, err := sut.Lookup(name)
	if err != nil {
		return nil, &usageError{"-sut: " + err.Error()}
	}
	return s, nil
}

func validateNames(o *options) error {
	target, err := o.target()
	if err != nil {
		return err
	}
	if !target.Runs() {
		return nil // the binary that runs it validates the rest
	}
	if o.schedulePath == "" {
		sc, err := scenarios.Lookup(o.scenario)
		if err != nil {
			return &usageError{err.Error()}
		}
		if !sc.Supports(target.Name) {
			return &usageError{fmt.Sprintf("scenario %s does not run on -sut %s (it needs %s); it supports: %s",
				sc.Name, target.Name, sc.Needs, strings.Join(sc.SUTs, ", "))}
		}
	}
	if o.bug != "" {
		if _, err := scenarios.LookupBug(o.bug, target); err != nil {
			return &usageError{err.Error()}
		}
	}
	return nil
}

func (o *options) runOptions() scenarios.Options {
	return scenarios.Options{UntilMs: o.untilMs, CheckTimeout: o.checkTimeout, CheckMemoryBytes: o.checkMemoryBytes}
}

// spec is the run that -seed or -schedule asks for, and the name of its artifacts.
func (o *options) spec(seed uint64) (scenarios.Spec, runID, error) {
	if o.schedulePath == "" {
		spec := scenarios.Spec{Scenario: o.scenario, Seed: seed, SUT: o.sut, Bug: o.bug}
		return spec, o.runID(spec, ""), nil
	}
	data, err := os.ReadFile(o.schedulePath)
	if err != nil {
		return scenarios.Spec{}, runID{}, &usageError{err.Error()}
	}
	s, err := scenarios.ParseSchedule(data)
	if err != nil {
		return scenarios.Spec{}, runID{}, usagef("%s: %v", o.schedulePath, err)
	}
	if o.bug != "" {
		s.Bug = o.bug
	}
	if o.sut != "" {
		s.SUT = o.sut
	}
	target, err := o.target()
	if err != nil {
		return scenarios.Spec{}, runID{}, err
	}
	if s.Bug != "" {
		if _, err := scenarios.LookupBug(s.Bug, target); err != nil {
			return scenarios.Spec{}, runID{}, usagef("%s: bug: %v", o.schedulePath, err)
		}
	}
	spec := scenarios.Spec{Scenario: s.Scenario, Seed: s.Seed, SUT: s.SUT, Bug: s.Bug, Schedule: s}
	return spec, o.runID(spec, scheduleHash(data)), nil
}

// runID names the artifacts of spec; scheduleHash is the short hash of the schedule file it
// came from, if any.
func (o *options) runID(spec scenarios.Spec, scheduleHash string) runID {
	return runID{Scenario: spec.Scenario, SUT: sutName(spec.SUT), Bug: spec.Bug, Seed: spec.Seed, ScheduleHash: scheduleHash}
}

// executeRun runs one spec; tests replace it to plant a defect of simrun itself.
var executeRun = scenarios.Execute

// execute runs one spec and measures its wall time (outside the simulation).
func execute(spec scenarios.Spec, opts scenarios.Options) (*scenarios.Result, time.Duration, error) {
	start := time.Now()
	r, err := executeRun(spec, opts)
	return r, time.Since(start), err
}

// guarded runs f and turns a panic that escapes it into a description with the stack. What a
// run finds is in its Result; a panic that escapes a run is a defect of simrun itself, and is
// reported against the seed it was on instead of killing a sweep.
func guarded(f func()) (crash string) {
	defer func() {
		if p := recover(); p != nil {
			crash = fmt.Sprintf("panic: %v\n\n%s", p, debug.Stack())
		}
	}()
	f()
	return ""
}

// crashReport is what simrun prints when it fails on a run: which run, the panic and its
// stack, and how to reproduce it.
func crashReport(spec scenarios.Spec, crash, replay string) string {
	bug := ""
	if spec.Bug != "" {
		bug = " bug=" + spec.Bug
	}
	return fmt.Sprintf("ERROR scenario=%s seed=%d%s: simrun itself failed on this run (a defect of simrun, not a finding of the run)\n  %s\n  replay: %s",
		spec.Scenario, spec.Seed, bug, strings.ReplaceAll(strings.TrimSpace(crash), "\n", "\n  "), replay)
}

// untilInterrupted runs f, or returns exitInterrupted as soon as ctx is done (SIGINT or
// SIGTERM): a single run or a shrink has no partial result worth waiting for.
func untilInterrupted(ctx context.Context, stderr io.Writer, f func() (int, error)) (int, error) {
	type ret struct {
		code int
		err  error
	}
	done := make(chan ret, 1)
	go func() {
		code, err := f()
		done <- ret{code, err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-ctx.Done():
		fmt.Fprintln(stderr, "simrun: interrupted")
		return exitInterrupted, nil
	}
}

func runOne(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	spec, id, err := o.spec(o.seed)
	if err != nil {
		return exitUsage, err
	}
	if err := prepareOut(o.outDir); err != nil {
		return exitUsage, err
	}
	if o.outDir != "" {
		if err := checkFree(filepath.Join(o.outDir, id.Name()), o.force); err != nil {
			return exitUsage, err
		}
	}
	replay := o.replayCommand(spec, o.schedulePath)
	return untilInterrupted(ctx, stderr, func() (int, error) {
		var code int
		var err error
		if crash := guarded(func() { code, err = runSpec(o, spec, id, stdout, stderr) }); crash != "" {
			fmt.Fprintln(stderr, crashReport(spec, crash, replay))
			return exitUsage, nil
		}
		return code, err
	})
}

// runSpec runs one spec and reports it. With -print-schedule, stdout carries only the
// schedule; the report (or the -json record) goes to stderr, so that the output can be saved
// and replayed.
func runSpec(o *options, spec scenarios.Spec, id runID, stdout, stderr io.Writer) (int, error) {
	report := stdout
	if o.printSchedule {
		report = stderr
	}
	opts := o.runOptions()
	if o.verbose {
		opts.Trace = func(ev sim.TraceEvent) { fmt.Fprintln(report, formatTraceEvent(ev)) }
	}
	opts.RecordDigests = o.checkDeterminism
	r, wall, err := execute(spec, opts)
	if err != nil {
		return exitUsage, err
	}
	if o.printSchedule {
		if r.Schedule == nil {
			fmt.Fprintf(stderr, "simrun: scenario %s is scripted: it has no schedule to print\n", r.Scenario)
		} else {
			stdout.Write(r.Schedule.Marshal())
		}
	}
	out := outcome{spec: spec, result: r, wall: wall, replay: o.replayCommand(spec, o.schedulePath)}
	if o.checkDeterminism {
		again, _, err := execute(spec, opts)
		if err != nil {
			return exitUsage, err
		}
		out.nondet = compareRuns(spec, o.runOptions(), r, again)
	}
	if !o.json {
		// The report comes first, so that it is printed whatever happens to the artifacts.
		if out.nondet != "" {
			fmt.Fprintln(report, out.nondet)
		}
		fmt.Fprintln(report, r.Report())
		fmt.Fprintln(report, summaryLine(r, wall))
		if r.Status != scenarios.Pass || out.nondet != "" {
			fmt.Fprintf(report, "replay: %s\n", out.replay)
		}
	}
	var artifactErr error
	if o.outDir != "" { // every run, passing too: its timeline and traces
		r.Files, artifactErr = writeArtifacts(o.outDir, id, o.force, spec, r, o.runOptions(), o.traceLevel, out.replay)
	}
	if o.json {
		writeRecord(report, o.record(out))
	} else {
		for _, file := range r.Files {
			fmt.Fprintf(report, "wrote: %s\n", file)
		}
	}
	code := out.exitCode()
	if artifactErr != nil {
		return code, fmt.Errorf("writing artifacts: %w", artifactErr)
	}
	return code, nil
}

// outcome is one finished run: its result, or the panic of simrun itself that ended it.
type outcome struct {
	spec   scenarios.Spec
	result *scenarios.Result // nil when crash is set
	wall   time.Duration
	replay string // the command that replays the run
	nondet string // -check-determinism: how two runs of the seed differed ("" when they did not)
	crash  string // a panic that escaped the run (a defect of simrun), with its stack
	// artifactErr is why the artifacts of a failing run of a sweep could not be written.
	artifactErr error
}

// Verdicts of a run record; verdictError is a run on which simrun itself failed.
const verdictError = "error"

// CheckNondeterminism is the check of a -check-determinism run whose two executions differed.
const checkNondeterminism = "nondeterminism"

func (out outcome) verdict() string {
	switch {
	case out.crash != "":
		return verdictError
	case out.nondet != "":
		return scenarios.Fail.String()
	}
	return out.result.Status.String()
}

func (out outcome) exitCode() int {
	return exitCodeOf(out.verdict())
}

func exitCodeOf(verdict string) int {
	switch verdict {
	case scenarios.Fail.String():
		return exitFail
	case scenarios.Inconclusive.String():
		return exitInconclusive
	case verdictError:
		return exitUsage
	}
	return exitPass
}

// compareRuns checks that two runs of one spec executed the same events; on a mismatch it
// names the first event at which they differ, traced from a third and fourth run.
func compareRuns(spec scenarios.Spec, opts scenarios.Options, a, b *scenarios.Result) string {
	if a.Hash == b.Hash && a.Events == b.Events {
		return ""
	}
	first := 0
	for first < len(a.Digests) && first < len(b.Digests) && a.Digests[first] == b.Digests[first] {
		first++
	}
	describe := func() string {
		var got string
		n := 0
		opts.Trace = func(ev sim.TraceEvent) {
			if n == first {
				got = formatTraceEvent(ev)
			}
			n++
		}
		scenarios.Execute(spec, opts)
		return got
	}
	return fmt.Sprintf("NONDETERMINISM %s seed=%d: trace %016x vs %016x; first differing event #%d:\n  run 1: %s\n  run 2: %s",
		spec.Scenario, spec.Seed, a.Hash, b.Hash, first, describe(), describe())
}

func formatTraceEvent(ev sim.TraceEvent) string {
	node := "kernel"
	if ev.Node >= 0 {
		node = fmt.Sprintf("n%d", ev.Node)
	}
	return fmt.Sprintf("%12s #%-8d %-6s %-8s %s", ev.At, ev.Seq, node, ev.Kind, ev.Detail)
}

func summaryLine(r *scenarios.Result, wall time.Duration) string {
	verdict := strings.ToUpper(r.Status.String())
	var b strings.Builder
	fmt.Fprintf(&b, "%s scenario=%s seed=%d", verdict, r.Scenario, r.Seed)
	if r.SUT != sut.DefaultName {
		fmt.Fprintf(&b, " sut=%s", r.SUT)
	}
	if r.Bug != "" {
		fmt.Fprintf(&b, " bug=%s", r.Bug)
	}
	if r.Check != "" {
		fmt.Fprintf(&b, " check=%s", r.Check)
	}
	fmt.Fprintf(&b, " virtual=%s events=%d msgs=%d ops=%d faults=%d wall=%s trace=%016x",
		r.VirtualTime, r.Events, r.Messages, r.Ops, r.Faults, wall.Round(time.Millisecond), r.Hash)
	return b.String()
}

// replayCommand is the command that replays spec with this simrun.
func (o *options) replayCommand(spec scenarios.Spec, schedulePath string) string {
	return spec.ReplayCommandWith(o.command, schedulePath)
}

// replaySchedule is the command that replays the schedule file at path with this simrun.
func (o *options) replaySchedule(path string) string {
	return scenarios.Spec{}.ReplayCommandWith(o.command, path)
}

// runJSON is the -json object of one run, and one line of a sweep's results.jsonl; field names
// are stable for scripts, and a line carries everything simrun merge needs.
type runJSON struct {
	Seed         uint64   `json:"seed"`
	Scenario     string   `json:"scenario"`
	SUT          string   `json:"sut"`
	Bug          string   `json:"bug,omitempty"`
	Verdict      string   `json:"verdict"` // pass, fail, inconclusive, or error (simrun itself failed)
	Check        string   `json:"check,omitempty"`
	Message      string   `json:"message,omitempty"`
	NotRun       []string `json:"not_run,omitempty"`
	Linearizable string   `json:"linearizability,omitempty"`
	Liveness     string   `json:"liveness,omitempty"`
	Safety       string   `json:"safety,omitempty"`
	VirtualNs    int64    `json:"virtual_ns"`
	Events       int64    `json:"events"`
	Messages     int64    `json:"messages"`
	Operations   int      `json:"operations"`
	Faults       int      `json:"faults"`
	End          string   `json:"end,omitempty"`
	Trace        string   `json:"trace,omitempty"`
	WallNs       int64    `json:"wall_ns"`
	Replay       string   `json:"replay"`
	Files        []string `json:"files,omitempty"`
	// Sweep ("A-B") and Shard ("K/N") place a sweep's run in it, so that simrun merge can tell
	// which seeds are missing.
	Sweep string `json:"sweep,omitempty"`
	Shard string `json:"shard,omitempty"`
	// Probes are the code probes the run reached (simrun -probes tabulates them).
	Probes []string `json:"probes,omitempty"`
}

// record is the JSON record of a finished run.
func (o *options) record(out outcome) runJSON {
	rec := runJSON{Seed: out.spec.Seed, Scenario: out.spec.Scenario, SUT: sutName(out.spec.SUT), Bug: out.spec.Bug,
		Verdict: out.verdict(), Replay: out.replay, WallNs: out.wall.Nanoseconds()}
	if out.crash != "" {
		rec.Check, rec.Message = "simrun", out.crash
		return rec
	}
	r := out.result
	rec.Check, rec.Message, rec.NotRun = r.Check, r.Message, r.NotRun
	if out.nondet != "" {
		rec.Check, rec.Message = checkNondeterminism, out.nondet
	}
	rec.Linearizable, rec.Liveness, rec.Safety = r.LinVerdict, r.LivenessVerdict, r.SafetyVerdict
	rec.VirtualNs, rec.Events, rec.Messages, rec.Operations, rec.Faults = int64(r.VirtualTime), r.Events, r.Messages, r.Ops, r.Faults
	rec.End, rec.Trace, rec.Files, rec.Probes = r.End.String(), fmt.Sprintf("%016x", r.Hash), r.Files, r.Probes
	return rec
}

// writeRecord writes one record as one line.
func writeRecord(w io.Writer, rec runJSON) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
