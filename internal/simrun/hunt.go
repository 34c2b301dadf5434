package simrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/sut"
)

// shrinkOne minimizes the failing run given by -seed or -schedule and writes the minimal
// schedule file.
func shrinkOne(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	spec, id, err := o.spec(o.seed)
	if err != nil {
		return exitUsage, err
	}
	sched := spec.Schedule
	if sched == nil {
		sc, _ := scenarios.Lookup(spec.Scenario)
		if sc.Schedule == nil {
			return exitUsage, usagef("scenario %s is scripted: only workload scenarios have schedules to shrink", sc.Name)
		}
		sched = sc.Schedule(spec.Seed)
		sched.Bug = spec.Bug
		if spec.SUT != sut.DefaultName {
			sched.SUT = spec.SUT
		}
	}
	if err := prepareOut(o.outDir); err != nil {
		return exitUsage, err
	}
	path := shrunkPath(o.outDir, id)
	if err := checkFree(path, o.force); err != nil {
		return exitUsage, err
	}
	replay := o.replayCommand(spec, o.schedulePath)
	return untilInterrupted(ctx, stderr, func() (code int, err error) {
		if crash := guarded(func() { code, err = shrinkSchedule(o, sched, path, stdout) }); crash != "" {
			fmt.Fprintln(stderr, crashReport(spec, crash, replay))
			return exitUsage, nil
		}
		return code, err
	})
}

func shrinkSchedule(o *options, sched *scenarios.Schedule, path string, stdout io.Writer) (int, error) {
	start := time.Now()
	min, st, err := scenarios.Shrink(sched, o.runOptions())
	if err != nil {
		return exitUsage, err
	}
	wall := time.Since(start)
	if err := scenarios.WriteFileAtomic(path, min.Marshal()); err != nil {
		return exitFail, err
	}
	fmt.Fprintf(stdout, "shrunk %s seed %d (check %s) in %s, %d runs%s\n", sched.Scenario, sched.Seed, st.Check,
		wall.Round(time.Millisecond), st.Runs, map[bool]string{true: " (run limit hit: not a fixpoint)", false: ""}[st.RunLimitHit])
	fmt.Fprintf(stdout, "  fault events %d -> %d\n  operations   %d -> %d\n  clients      %d -> %d\n  nodes        %d -> %d\n  duration     %dms -> %dms\n  seed         %d -> %d\n",
		st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter, st.ClientsBefore, st.ClientsAfter,
		st.NodesBefore, st.NodesAfter, st.DurationBefore, st.DurationAfter, st.SeedBefore, st.SeedAfter)
	fmt.Fprintf(stdout, "wrote %s\nreplay: %s\n", path, o.replaySchedule(path))
	return exitFail, nil
}

// huntRow is one bug's line of the hunt table.
type huntRow struct {
	Bug          string `json:"bug"`
	FirstSeed    uint64 `json:"first_failing_seed"`
	Found        bool   `json:"found"`
	SeedsTried   int    `json:"seeds_tried"`
	WallNs       int64  `json:"wall_ns"`
	Check        string `json:"check"`
	FaultsBefore int    `json:"faults_before"`
	ShrunkFaults int    `json:"shrunk_faults"`
	OpsBefore    int    `json:"ops_before"`
	ShrunkOps    int    `json:"shrunk_ops"`
	ShrinkWallNs int64  `json:"shrink_wall_ns"`
}

// hunt sweeps seeds for each planted bug until its first failure (or -hunt-cap seeds), shrinks
// that failure, and runs the correct build over the same number of seeds.
func hunt(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	sc, _ := scenarios.Lookup(o.scenario)
	target, err := o.target()
	if err != nil {
		return exitUsage, err
	}
	bugs := scenarios.Bugs(target)
	if o.bug != "" {
		bugs = []scenarios.BugInfo{{Name: o.bug}}
	}
	var rows []huntRow
	// Seeds run in batches of two per worker between looks for a failure; every seed of a
	// batch finishes, so wall time includes at most one batch beyond the first failure.
	batch := uint64(2 * o.parallel)
	for _, b := range bugs {
		row := huntRow{Bug: b.Name}
		start := time.Now()
		for first := uint64(1); first <= uint64(o.huntCap) && !row.Found; first += batch {
			last := min(first+batch-1, uint64(o.huntCap))
			var seeds []uint64
			for s := first; s <= last; s++ {
				seeds = append(seeds, s)
			}
			outs := runAll(ctx, &sweeper{o: o, bug: b.Name}, seeds)
			if ctx.Err() != nil {
				return interruptedHunt(stderr)
			}
			for _, out := range outs {
				if out.verdict() == scenarios.Fail.String() {
					row.Found, row.FirstSeed, row.Check = true, out.spec.Seed, out.result.Check
					row.SeedsTried = int(out.spec.Seed)
					break
				}
			}
			if !row.Found {
				row.SeedsTried = int(last)
			}
		}
		row.WallNs = time.Since(start).Nanoseconds()
		if row.Found && sc.Schedule != nil {
			sched := sc.Schedule(row.FirstSeed)
			sched.Bug, sched.SUT = b.Name, o.sut
			shrinkStart := time.Now()
			_, st, err := scenarios.Shrink(sched, o.runOptions())
			row.ShrinkWallNs = time.Since(shrinkStart).Nanoseconds()
			if err == nil {
				row.FaultsBefore, row.ShrunkFaults, row.OpsBefore, row.ShrunkOps = st.FaultsBefore, st.FaultsAfter, st.OpsBefore, st.OpsAfter
			}
		}
		rows = append(rows, row)
		if o.json {
			b, _ := json.Marshal(row)
			fmt.Fprintln(stdout, string(b))
		}
	}
	// The correct build over the same number of seeds: every one must pass.
	var seeds []uint64
	for s := uint64(1); s <= uint64(o.huntCap); s++ {
		seeds = append(seeds, s)
	}
	start := time.Now()
	failures := 0
	outs := runAll(ctx, &sweeper{o: o}, seeds)
	if ctx.Err() != nil {
		return interruptedHunt(stderr)
	}
	for _, out := range outs {
		if out.verdict() != scenarios.Pass.String() {
			failures++
			rec := o.record(out)
			fmt.Fprintf(stdout, "CORRECT BUILD %s seed=%d check=%s: %s\n  replay: %s\n", strings.ToUpper(rec.Verdict), out.spec.Seed,
				rec.Check, firstLine(rec.Message), out.replay)
		}
	}
	correctWall := time.Since(start)
	if o.json {
		b, _ := json.Marshal(map[string]any{"bug": "none", "seeds": len(seeds), "failures": failures, "wall_ns": correctWall.Nanoseconds()})
		fmt.Fprintln(stdout, string(b))
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "bug\tfirst failing seed\tseeds tried\twall\tcaught by\tfaults (shrunk)\tops (shrunk)\tshrink wall\n")
		for _, r := range rows {
			seed := "not found"
			if r.Found {
				seed = fmt.Sprint(r.FirstSeed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d (%d)\t%d (%d)\t%s\n", r.Bug, seed, r.SeedsTried,
				time.Duration(r.WallNs).Round(time.Millisecond), r.Check, r.FaultsBefore, r.ShrunkFaults,
				r.OpsBefore, r.ShrunkOps, time.Duration(r.ShrinkWallNs).Round(time.Millisecond))
		}
		fmt.Fprintf(tw, "none (correct build)\t-\t%d\t%s\t%d failures\t\t\t\n", len(seeds), correctWall.Round(time.Millisecond), failures)
		tw.Flush()
	}
	code := exitPass
	for _, r := range rows {
		if !r.Found {
			code = exitFail
		}
	}
	if failures > 0 {
		code = exitFail
	}
	return code, nil
}

// runAll runs seeds and returns their outcomes in seed order (fewer when ctx is done first).
func runAll(ctx context.Context, s *sweeper, seeds []uint64) []outcome {
	var mu sync.Mutex
	var outs []outcome
	s.runSeeds(ctx, seeds, func(out outcome) {
		mu.Lock()
		defer mu.Unlock()
		outs = append(outs, out)
	})
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(outs, func(i, j int) bool { return outs[i].spec.Seed < outs[j].spec.Seed })
	return outs
}

func interruptedHunt(stderr io.Writer) (int, error) {
	fmt.Fprintln(stderr, "simrun: interrupted: the hunt table is incomplete and was not printed")
	return exitInterrupted, nil
}
