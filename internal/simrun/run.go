package simrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	return scenarios.Options{UntilMs: o.untilMs, CheckTimeout: o.checkTimeout}
}

// spec is the run that -seed or -schedule asks for.
func (o *options) spec(seed uint64) (scenarios.Spec, error) {
	if o.schedulePath == "" {
		return scenarios.Spec{Scenario: o.scenario, Seed: seed, SUT: o.sut, Bug: o.bug}, nil
	}
	s, err := scenarios.LoadSchedule(o.schedulePath)
	if err != nil {
		return scenarios.Spec{}, &usageError{err.Error()}
	}
	if o.bug != "" {
		s.Bug = o.bug
	}
	if o.sut != "" {
		s.SUT = o.sut
	}
	target, err := o.target()
	if err != nil {
		return scenarios.Spec{}, err
	}
	if s.Bug != "" {
		if _, err := scenarios.LookupBug(s.Bug, target); err != nil {
			return scenarios.Spec{}, &usageError{fmt.Sprintf("%s: bug: %v", o.schedulePath, err)}
		}
	}
	return scenarios.Spec{Scenario: s.Scenario, Seed: s.Seed, SUT: s.SUT, Bug: s.Bug, Schedule: s}, nil
}

// execute runs one spec and measures its wall time (outside the simulation).
func execute(spec scenarios.Spec, opts scenarios.Options) (*scenarios.Result, time.Duration, error) {
	start := time.Now()
	r, err := scenarios.Execute(spec, opts)
	return r, time.Since(start), err
}

func runOne(o *options, stdout, stderr io.Writer) (int, error) {
	spec, err := o.spec(o.seed)
	if err != nil {
		return exitUsage, err
	}
	opts := o.runOptions()
	if o.verbose {
		opts.Trace = func(ev sim.TraceEvent) { fmt.Fprintln(stdout, formatTraceEvent(ev)) }
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
	code := exitCode(r)
	if o.checkDeterminism {
		again, _, err := execute(spec, opts)
		if err != nil {
			return exitUsage, err
		}
		if msg := compareRuns(spec, o.runOptions(), r, again); msg != "" {
			fmt.Fprintln(stdout, msg)
			code = exitFail
		}
	}
	if o.json {
		writeJSON(stdout, r, wall)
	}
	if r.Status == scenarios.Fail && o.outDir != "" {
		files, err := writeArtifacts(o.outDir, spec, r, o.runOptions(), replayCommand(spec, o.schedulePath))
		if err != nil {
			return exitFail, fmt.Errorf("writing artifacts: %w", err)
		}
		r.Files = files
	}
	if !o.json {
		fmt.Fprintln(stdout, r.Report())
		fmt.Fprintln(stdout, summaryLine(r, wall))
		if r.Status != scenarios.Pass {
			fmt.Fprintf(stdout, "replay: %s\n", replayCommand(spec, o.schedulePath))
		}
	}
	return code, nil
}

func exitCode(r *scenarios.Result) int {
	switch r.Status {
	case scenarios.Fail:
		return exitFail
	case scenarios.Inconclusive:
		return exitInconclusive
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

// replayCommand is the command that replays spec (scenarios.Spec.ReplayCommand).
func replayCommand(spec scenarios.Spec, schedulePath string) string {
	return spec.ReplayCommand(schedulePath)
}

// runJSON is the -json object of one run; field names are stable for scripts.
type runJSON struct {
	Seed         uint64   `json:"seed"`
	Scenario     string   `json:"scenario"`
	SUT          string   `json:"sut"`
	Bug          string   `json:"bug,omitempty"`
	Verdict      string   `json:"verdict"`
	Check        string   `json:"check,omitempty"`
	Message      string   `json:"message,omitempty"`
	Linearizable string   `json:"linearizability,omitempty"`
	Liveness     string   `json:"liveness,omitempty"`
	Safety       string   `json:"safety,omitempty"`
	VirtualNs    int64    `json:"virtual_ns"`
	Events       int64    `json:"events"`
	Messages     int64    `json:"messages"`
	Operations   int      `json:"operations"`
	Faults       int      `json:"faults"`
	End          string   `json:"end"`
	Trace        string   `json:"trace"`
	WallNs       int64    `json:"wall_ns"`
	Files        []string `json:"files,omitempty"`
}

func writeJSON(w io.Writer, r *scenarios.Result, wall time.Duration) {
	out := runJSON{
		Seed: r.Seed, Scenario: r.Scenario, SUT: r.SUT, Bug: r.Bug, Verdict: r.Status.String(), Check: r.Check,
		Message: r.Message, Linearizable: r.LinVerdict, Liveness: r.LivenessVerdict, Safety: r.SafetyVerdict,
		VirtualNs: int64(r.VirtualTime), Events: r.Events, Messages: r.Messages, Operations: r.Ops,
		Faults: r.Faults, End: r.End.String(), Trace: fmt.Sprintf("%016x", r.Hash), WallNs: wall.Nanoseconds(),
		Files: r.Files,
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(w, string(b))
}

// sweepOutcome is one seed's result in a sweep.
type sweepOutcome struct {
	spec   scenarios.Spec
	result *scenarios.Result
	wall   time.Duration
	nondet string
}

// runSeeds runs the seeds on `parallel` workers (each run single-threaded) and returns the
// outcomes in seed order. progress is called after each run.
func runSeeds(o *options, bug string, seeds []uint64, progress func(done, failed int)) []sweepOutcome {
	outcomes := make([]sweepOutcome, len(seeds))
	var next, done, failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	workers := min(o.parallel, len(seeds))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(seeds) {
					return
				}
				spec := scenarios.Spec{Scenario: o.scenario, Seed: seeds[i], SUT: o.sut, Bug: bug}
				opts := o.runOptions()
				opts.RecordDigests = o.checkDeterminism
				r, wall, err := execute(spec, opts)
				if err != nil {
					panic(fmt.Sprintf("names were validated before the sweep: %v", err))
				}
				out := sweepOutcome{spec: spec, result: r, wall: wall}
				if o.checkDeterminism {
					again, _, _ := execute(spec, opts)
					out.nondet = compareRuns(spec, o.runOptions(), r, again)
				}
				// A sweep keeps only verdicts and counters: histories, checker results and
				// digests of thousands of runs would not fit in memory (a heavy kv/ run
				// holds megabytes). Artifacts come from a traced replay of the seed.
				r.Digests, r.History, r.Lin, r.Annotations = nil, nil, nil, nil
				outcomes[i] = out
				if r.Status == scenarios.Fail || out.nondet != "" {
					failed.Add(1)
				}
				d := done.Add(1)
				if progress != nil {
					mu.Lock()
					progress(int(d), int(failed.Load()))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return outcomes
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

func sweep(o *options, stdout, stderr io.Writer) (int, error) {
	seeds := shardSeeds(o.seedFirst, o.seedLast, o.shardIndex, o.shardCount)
	if len(seeds) == 0 {
		fmt.Fprintf(stdout, "shard %d/%d of %d-%d holds no seeds\n", o.shardIndex, o.shardCount, o.seedFirst, o.seedLast)
		return exitPass, nil
	}
	start := time.Now()
	outcomes := runSeeds(o, o.bug, seeds, progressBar(stderr, len(seeds), start))
	elapsed := time.Since(start)
	code := exitPass
	var failures, inconclusives []sweepOutcome
	inconclusive := 0
	for _, out := range outcomes {
		if o.json {
			writeJSON(stdout, out.result, out.wall)
		}
		switch {
		case out.result.Status == scenarios.Fail || out.nondet != "":
			failures = append(failures, out)
			code = exitFail
		case out.result.Status == scenarios.Inconclusive:
			inconclusive++
			inconclusives = append(inconclusives, out)
			if code == exitPass {
				code = exitInconclusive
			}
		}
	}
	for i := range failures {
		f := &failures[i]
		if o.outDir != "" && f.result.Status == scenarios.Fail {
			files, err := writeArtifacts(o.outDir, f.spec, f.result, o.runOptions(), replayCommand(f.spec, ""))
			if err != nil {
				return exitFail, fmt.Errorf("writing artifacts: %w", err)
			}
			f.result.Files = files
		}
	}
	if o.json {
		return code, nil
	}
	fmt.Fprintf(stdout, "%d seeds of %s (%d-%d, shard %d/%d): %d passed, %d failed, %d inconclusive in %s (%.1f seeds/s)\n",
		len(seeds), o.scenario, o.seedFirst, o.seedLast, o.shardIndex, o.shardCount,
		len(seeds)-len(failures)-inconclusive, len(failures), inconclusive, elapsed.Round(time.Millisecond),
		float64(len(seeds))/elapsed.Seconds())
	for _, out := range inconclusives {
		fmt.Fprintf(stdout, "INCONCLUSIVE seed=%d: %s\n  replay: %s\n", out.spec.Seed, out.result.Message, replayCommand(out.spec, ""))
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].spec.Seed < failures[j].spec.Seed })
	for _, f := range failures {
		if f.nondet != "" {
			fmt.Fprintln(stdout, f.nondet)
		} else {
			fmt.Fprintf(stdout, "FAIL seed=%d check=%s: %s\n", f.spec.Seed, f.result.Check, firstLine(f.result.Message))
		}
		fmt.Fprintf(stdout, "  replay: %s\n", replayCommand(f.spec, ""))
		for _, file := range f.result.Files {
			fmt.Fprintf(stdout, "  wrote: %s\n", file)
		}
	}
	return code, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// writeArtifacts writes a failing run's summary, schedule, traces and visualization into its own
// directory. The traces come from a traced replay of the same spec, which determinism makes
// event-for-event the run that failed; the replay's hash is checked to prove it.
func writeArtifacts(outDir string, spec scenarios.Spec, r *scenarios.Result, opts scenarios.Options, replayCmd string) ([]string, error) {
	dir := filepath.Join(outDir, fmt.Sprintf("%s-seed%d", sanitize(r.Scenario, r.Bug), r.Seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var text, jsonl strings.Builder
	const maxTraceEvents = 5_000_000 // bound on artifact size; hitting it is written into the trace
	traced := 0
	opts.Trace = func(ev sim.TraceEvent) {
		traced++
		if traced > maxTraceEvents {
			return
		}
		text.WriteString(formatTraceEvent(ev))
		text.WriteByte('\n')
		b, _ := json.Marshal(struct {
			Seq    int64  `json:"seq"`
			AtNs   int64  `json:"at_ns"`
			Node   int32  `json:"node"`
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		}{ev.Seq, int64(ev.At), int32(ev.Node), ev.Kind, ev.Detail})
		jsonl.Write(b)
		jsonl.WriteByte('\n')
	}
	replay, err := scenarios.Execute(spec, opts)
	if err != nil {
		return nil, err
	}
	if traced > maxTraceEvents {
		fmt.Fprintf(&text, "TRACE TRUNCATED: %d events, only the first %d written\n", traced, maxTraceEvents)
	}
	if replay.Hash != r.Hash {
		return nil, fmt.Errorf("traced replay of seed %d gave trace %016x, the run gave %016x: the run is not deterministic", r.Seed, replay.Hash, r.Hash)
	}
	var files []string
	write := func(file string, data []byte) error {
		path := filepath.Join(dir, file)
		if err := scenarios.WriteFileAtomic(path, data); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	if err := write("summary.txt", []byte(r.Report()+"\n"+summaryLine(r, 0)+"\nreplay: "+replayCmd+"\n")); err != nil {
		return nil, err
	}
	if r.Schedule != nil {
		if err := write("schedule.json", r.Schedule.Marshal()); err != nil {
			return nil, err
		}
	}
	if err := write("trace.txt", []byte(text.String())); err != nil {
		return nil, err
	}
	if err := write("trace.jsonl", []byte(jsonl.String())); err != nil {
		return nil, err
	}
	if html := filepath.Join(dir, "linearizability.html"); replay.WriteVisualization(html) {
		files = append(files, html)
	}
	return files, nil
}
