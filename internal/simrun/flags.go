package simrun

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/scenarios"
)

// usageError is bad usage or input: exit code 2, with a message that says what is valid.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// options are simrun's parsed and validated flags.
type options struct {
	// command is how printed replay commands run this simrun ("": scenarios.DefaultCommand).
	command          string
	seed             uint64
	seedSet          bool
	seedFirst        uint64
	seedLast         uint64
	sweep            bool
	scenario         string
	sut              string // "" until -sut is given: a schedule file's own SUT then applies
	list             bool
	parallel         int
	shardIndex       int // 1-based
	shardCount       int
	bug              string
	checkDeterminism bool
	outDir           string
	json             bool
	verbose          bool
	untilMs          int64
	schedulePath     string
	printSchedule    bool
	shrink           bool
	hunt             bool
	huntCap          int
	checkTimeout     time.Duration
	checkMemoryBytes int64
	force            bool
	traceLevel       scenarios.TraceLevel
	probes           bool
	explore          bool
	exploreRuns      int
	corpusDir        string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("simrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.String("seed", "", "run one seed `N`")
	seeds := fs.String("seeds", "", "sweep the seed range `A-B` (inclusive)")
	fs.StringVar(&o.scenario, "scenario", "default", "scenario `NAME` (simrun -list shows them)")
	fs.StringVar(&o.sut, "sut", "", "system under test `NAME`: raftsim (the default), etcd, ... (simrun -list shows them)")
	fs.BoolVar(&o.list, "list", false, "list scenarios and planted bugs with descriptions")
	fs.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "run `P` simulations at once (each stays single-threaded)")
	shard := fs.String("shard", "", "run only slice `K/N` of the seed range (1 <= K <= N)")
	fs.StringVar(&o.bug, "bug", "", "plant bug `NAME` (simrun -list shows them)")
	fs.BoolVar(&o.checkDeterminism, "check-determinism", false, "run each seed twice and compare trace hashes")
	fs.StringVar(&o.outDir, "out", "", "write artifacts of each failing run, and a sweep's results.jsonl, under `DIR`")
	traceLevel := fs.String("trace-level", "default", "what the artifacts' traces show: `LEVEL` default (the outline, and every message around the failure), full (every message; no timers or heartbeats) or all")
	fs.BoolVar(&o.force, "force", false, "replace artifacts of an earlier identical run under -out (never replaced otherwise)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per run")
	fs.BoolVar(&o.verbose, "v", false, "print the event trace while running")
	until := fs.String("until", "", "stop at virtual time `T` (e.g. 2.5s, 800ms)")
	fs.StringVar(&o.schedulePath, "schedule", "", "replay the schedule file `FILE`")
	fs.BoolVar(&o.printSchedule, "print-schedule", false, "print the schedule the run executed (JSON)")
	fs.BoolVar(&o.shrink, "shrink", false, "minimize a failing run (-seed or -schedule) to a smaller schedule that fails the same check")
	fs.BoolVar(&o.hunt, "hunt", false, "for each planted bug, sweep seeds until the first failure (cap: -hunt-cap)")
	fs.IntVar(&o.huntCap, "hunt-cap", 1000, "seeds tried per bug by -hunt")
	fs.DurationVar(&o.checkTimeout, "check-timeout", 10*time.Second, "time bound of each linearizability check")
	checkMemory := fs.String("check-memory", formatSize(checker.DefaultMemoryBudgetBytes), "how much the heap may grow during each linearizability check, e.g. 4GiB (the whole process's heap: parallel runs share it)")
	fs.BoolVar(&o.probes, "probes", false, "after a sweep, print the code probes table: how many seeds reached each, and the blind spots")
	fs.BoolVar(&o.explore, "explore", false, "coverage-guided exploration: -runs N runs that mutate schedules reaching new probes (with -corpus DIR to keep them)")
	fs.IntVar(&o.exploreRuns, "runs", 1000, "runs of -explore")
	fs.StringVar(&o.corpusDir, "corpus", "", "-explore keeps its corpus of schedules in `DIR` (and resumes from it)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usagef("%v", err)
	}
	level, err := scenarios.ParseTraceLevel(*traceLevel)
	if err != nil {
		return nil, usagef("-trace-level: %v", err)
	}
	o.traceLevel = level
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q: simrun takes only flags (simrun -h lists them)", fs.Arg(0))
	}
	if *seed != "" {
		n, err := strconv.ParseUint(*seed, 10, 64)
		if err != nil {
			return nil, usagef("-seed %q: want a non-negative integer", *seed)
		}
		o.seed, o.seedSet = n, true
	}
	if *seeds != "" {
		a, b, err := parseRange(*seeds)
		if err != nil {
			return nil, err
		}
		o.seedFirst, o.seedLast, o.sweep = a, b, true
	}
	if o.seedSet && o.sweep {
		return nil, usagef("-seed and -seeds cannot be combined: use -seed N for one run or -seeds A-B for a sweep")
	}
	if o.parallel < 1 || o.parallel > 1024 {
		return nil, usagef("-parallel %d: want 1..1024", o.parallel)
	}
	o.shardIndex, o.shardCount = 1, 1
	if *shard != "" {
		k, n, err := parseShard(*shard)
		if err != nil {
			return nil, err
		}
		if !o.sweep {
			return nil, usagef("-shard needs a sweep: add -seeds A-B")
		}
		o.shardIndex, o.shardCount = k, n
	} else if o.sweep {
		k, n, err := shardFromEnv(os.LookupEnv)
		if err != nil {
			return nil, err
		}
		o.shardIndex, o.shardCount = k, n
	}
	if *until != "" {
		d, err := time.ParseDuration(*until)
		if err != nil || d <= 0 {
			return nil, usagef("-until %q: want a positive duration such as 2.5s or 800ms", *until)
		}
		o.untilMs = d.Milliseconds()
		if o.untilMs == 0 {
			return nil, usagef("-until %q: the resolution is 1ms", *until)
		}
	}
	if o.checkTimeout <= 0 {
		return nil, usagef("-check-timeout %v: want a positive duration", o.checkTimeout)
	}
	if o.checkMemoryBytes, err = parseSize(*checkMemory); err != nil || o.checkMemoryBytes == 0 {
		return nil, usagef("-check-memory %q: want a positive size such as 4GiB or 512MiB", *checkMemory)
	}
	if o.huntCap < 1 || o.huntCap > 10_000_000 {
		return nil, usagef("-hunt-cap %d: want 1..10000000", o.huntCap)
	}
	if o.schedulePath != "" && (o.sweep || o.hunt) {
		return nil, usagef("-schedule replays one schedule: it cannot be combined with -seeds or -hunt")
	}
	if o.shrink && !o.seedSet && o.schedulePath == "" {
		return nil, usagef("-shrink needs a failing run: give -seed N or -schedule FILE")
	}
	if o.shrink && o.sweep {
		return nil, usagef("-shrink works on one run: use -seed N, not -seeds")
	}
	if o.hunt && (o.seedSet || o.shrink) {
		return nil, usagef("-hunt sweeps seeds itself: drop -seed/-shrink")
	}
	if o.printSchedule && (o.sweep || o.hunt || o.shrink) {
		return nil, usagef("-print-schedule prints the schedule of one run: use it with -seed N or -schedule FILE")
	}
	if o.verbose && (o.sweep || o.hunt) {
		return nil, usagef("-v prints one run's trace: use it with -seed N, not a sweep")
	}
	if o.probes && !o.sweep {
		return nil, usagef("-probes prints a table over a sweep: add -seeds A-B")
	}
	if o.explore && (o.sweep || o.seedSet || o.schedulePath != "" || o.hunt || o.shrink) {
		return nil, usagef("-explore chooses its own runs: drop -seed/-seeds/-schedule/-hunt/-shrink (give -runs N and -corpus DIR)")
	}
	if o.exploreRuns < 1 || o.exploreRuns > 10_000_000 {
		return nil, usagef("-runs %d: want 1..10000000", o.exploreRuns)
	}
	if o.corpusDir != "" && !o.explore {
		return nil, usagef("-corpus is the corpus of -explore: add -explore")
	}
	if !o.list && !o.seedSet && !o.sweep && o.schedulePath == "" && !o.hunt && !o.explore {
		return nil, usagef("nothing to run: give -seed N, -seeds A-B, -schedule FILE, -hunt, -explore or -list")
	}
	return o, nil
}

func parseRange(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, usagef("-seeds %q: want a range A-B such as 1-1000", s)
	}
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, usagef("-seeds %q: want a range A-B of non-negative integers such as 1-1000", s)
	}
	if first > last {
		return 0, 0, usagef("-seeds %q: the range is empty (first %d > last %d)", s, first, last)
	}
	const maxSweep = 100_000_000
	if last-first >= maxSweep {
		return 0, 0, usagef("-seeds %q: at most %d seeds per sweep; split it with -shard", s, maxSweep)
	}
	return first, last, nil
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return 0, 0, usagef("-shard %q: want K/N with 1 <= K <= N, such as 2/3", s)
	}
	return k, n, nil
}

// Environment of a sweep run as one task of a Kubernetes Indexed Job: Kubernetes sets the
// task's index (0-based); the number of tasks is not set by Kubernetes, so the Job's manifest
// passes its .spec.completions in shardCountEnv (deploy/kubernetes/job.yaml).
const (
	shardIndexEnv = "JOB_COMPLETION_INDEX"
	shardCountEnv = "SIMRUN_SHARD_COUNT"
)

// shardFromEnv is the -shard K/N of a sweep given none: from the Job's environment, or 1/1.
func shardFromEnv(lookup func(string) (string, bool)) (int, int, error) {
	index, hasIndex := lookup(shardIndexEnv)
	count, hasCount := lookup(shardCountEnv)
	switch {
	case !hasIndex && !hasCount:
		return 1, 1, nil
	case !hasCount:
		return 0, 0, usagef("%s=%s is set (a Kubernetes Indexed Job) but %s is not: set it to the Job's .spec.completions, or pass -shard K/N",
			shardIndexEnv, index, shardCountEnv)
	case !hasIndex:
		return 0, 0, usagef("%s=%s is set but %s is not: both come from an Indexed Job, or pass -shard K/N", shardCountEnv, count, shardIndexEnv)
	}
	i, err1 := strconv.Atoi(index)
	n, err2 := strconv.Atoi(count)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usagef("%s=%q with %s=%q: want an index 0 <= index < count", shardIndexEnv, index, shardCountEnv, count)
	}
	return i + 1, n, nil
}

// shardSeeds returns the seeds of slice k (1-based) of n of the range [first, last]: seed s
// belongs to slice ((s-first) mod n) + 1, so the slices partition the range exactly and each gets
// a fair share of any region of it.
func shardSeeds(first, last uint64, k, n int) []uint64 {
	var out []uint64
	for s := first + uint64(k-1); s <= last && s >= first; s += uint64(n) {
		out = append(out, s)
	}
	return out
}
