package simrun

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/raftsim/raftsim/scenarios"
)

// simrun merge combines the results.jsonl files of a sweep's shards (or the -json output of
// sweeps) into one report: the seeds run, every failure with its replay command, inconclusive
// runs, and the seeds that are missing (a shard that did not run or was interrupted) or that
// ran more than once. A seed that ran twice with different outcomes is nondeterminism, and
// fails the merge.

// maxRecordBytes bounds one line of a results file; a record with a long failure message and a
// stack is a few tens of KB.
const maxRecordBytes = 16 << 20

// maxListedSeeds bounds how many missing or duplicated seeds are listed one by one.
const maxListedSeeds = 20

var validVerdicts = map[string]bool{scenarios.Pass.String(): true, scenarios.Fail.String(): true,
	scenarios.Inconclusive.String(): true, verdictError: true}

// sweepKey identifies one sweep among merged records: its shards share it.
type sweepKey struct {
	Scenario, SUT, Bug, Sweep string
}

func (k sweepKey) String() string {
	s := fmt.Sprintf("%s (sut %s", k.Scenario, k.SUT)
	if k.Bug != "" {
		s += ", bug " + k.Bug
	}
	if k.Sweep != "" {
		s += ", seeds " + k.Sweep
	}
	return s + ")"
}

// mergedSweep is what the records of one sweep say.
type mergedSweep struct {
	key     sweepKey
	shards  map[string]bool
	bySeed  map[uint64][]runJSON
	ordered []uint64 // seeds in increasing order, filled by sortSeeds
}

func merge(args []string, stdout, stderr io.Writer) (int, error) {
	flags := flag.NewFlagSet("simrun merge", flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "print the merged records, one per seed in seed order, instead of the report (the report goes to stderr)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: simrun merge [-json] FILE|DIR...\n\nCombines the results.jsonl of a sweep's shards into one report (a DIR stands for every\nresults.jsonl under it); exit codes as a sweep's.\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass, nil
		}
		return exitUsage, usagef("%v", err)
	}
	if flags.NArg() == 0 {
		return exitUsage, usagef("merge needs files: simrun merge FILE|DIR... (the results.jsonl each shard wrote under -out, or the -out directories)")
	}
	files, err := resultFiles(flags.Args())
	if err != nil {
		return exitUsage, err
	}
	sweeps := map[sweepKey]*mergedSweep{}
	var keys []sweepKey
	records := 0
	for _, path := range files {
		n, err := readResults(path, func(rec runJSON) {
			k := sweepKey{rec.Scenario, rec.SUT, rec.Bug, rec.Sweep}
			m := sweeps[k]
			if m == nil {
				m = &mergedSweep{key: k, shards: map[string]bool{}, bySeed: map[uint64][]runJSON{}}
				sweeps[k] = m
				keys = append(keys, k)
			}
			if rec.Shard != "" {
				m.shards[rec.Shard] = true
			}
			m.bySeed[rec.Seed] = append(m.bySeed[rec.Seed], rec)
		})
		if err != nil {
			return exitUsage, err
		}
		records += n
	}
	if records == 0 {
		return exitUsage, usagef("%s: no results: not one run finished in these files", strings.Join(flags.Args(), ", "))
	}
	report := stdout
	if *asJSON {
		report = stderr
	}
	fmt.Fprintf(report, "merged %d records from %d files\n", records, len(files))
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	code := exitPass
	for _, k := range keys {
		m := sweeps[k]
		m.sortSeeds()
		code = worseExit(code, m.report(report))
		if *asJSON {
			for _, seed := range m.ordered {
				writeRecord(stdout, m.bySeed[seed][0])
			}
		}
	}
	return code, nil
}

// resultFiles expands the arguments of merge: a file stands for itself, a directory for every
// results.jsonl under it (the -out directories of shards, or the artifacts a CI downloaded).
// A file named twice (a directory and a file in it) is read once.
func resultFiles(args []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(path string) {
		if clean := filepath.Clean(path); !seen[clean] {
			seen[clean] = true
			files = append(files, path)
		}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		if !st.IsDir() {
			add(arg)
			continue
		}
		found := 0
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == resultsFile {
				add(path)
				found++
			}
			return err
		})
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		if found == 0 {
			return nil, usagef("%s: no %s under it: give the -out directories of sweeps, or their %s files", arg, resultsFile, resultsFile)
		}
	}
	return files, nil
}

// readResults calls add with each record of the results file at path and returns how many
// there were. A line that is not a record is an error naming the file and line.
func readResults(path string, add func(runJSON)) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, &usageError{err.Error()}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxRecordBytes)
	n, line := 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec runJSON
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return n, usagef("%s:%d: not a simrun result record (%v): give the results.jsonl files sweeps write, or their -json output", path, line, err)
		}
		if rec.Scenario == "" || rec.Verdict == "" {
			return n, usagef("%s:%d: record without scenario or verdict: give the results.jsonl files sweeps write", path, line)
		}
		if !validVerdicts[rec.Verdict] {
			return n, usagef("%s:%d: verdict %q is not one of pass, fail, inconclusive, error", path, line, rec.Verdict)
		}
		add(rec)
		n++
	}
	if err := sc.Err(); err != nil {
		return n, usagef("%s:%d: %v", path, line+1, err)
	}
	return n, nil
}

func (m *mergedSweep) sortSeeds() {
	m.ordered = make([]uint64, 0, len(m.bySeed))
	for seed := range m.bySeed { // detguard:unordered sorted below
		m.ordered = append(m.ordered, seed)
	}
	sort.Slice(m.ordered, func(i, j int) bool { return m.ordered[i] < m.ordered[j] })
}

// report prints one sweep's merged results and returns its exit code: 2 if simrun itself
// failed on a run, 1 if a run failed or a seed gave two different outcomes, 3 if a run was
// inconclusive or seeds are missing, else 0.
func (m *mergedSweep) report(w io.Writer) int {
	counts := map[string]int{}
	var lines []string
	var duplicated, nondeterministic []string
	for _, seed := range m.ordered {
		recs := m.bySeed[seed]
		rec := recs[0]
		counts[rec.Verdict]++
		if len(recs) > 1 {
			duplicated = append(duplicated, fmt.Sprintf("%d (%dx)", seed, len(recs)))
			for _, other := range recs[1:] {
				if other.Verdict != rec.Verdict || other.Trace != rec.Trace {
					nondeterministic = append(nondeterministic, fmt.Sprintf("NONDETERMINISM seed=%d: one record says %s trace=%s, another %s trace=%s\n  replay: %s",
						seed, rec.Verdict, rec.Trace, other.Verdict, other.Trace, rec.Replay))
					break
				}
			}
		}
		switch rec.Verdict {
		case scenarios.Fail.String():
			lines = append(lines, fmt.Sprintf("FAIL seed=%d check=%s: %s\n  replay: %s", seed, rec.Check, firstLine(rec.Message), rec.Replay))
		case scenarios.Inconclusive.String():
			lines = append(lines, fmt.Sprintf("INCONCLUSIVE seed=%d: %s\n  replay: %s", seed, firstLine(rec.Message), rec.Replay))
		case verdictError:
			lines = append(lines, fmt.Sprintf("ERROR seed=%d: simrun itself failed on this run: %s\n  replay: %s", seed, firstLine(rec.Message), rec.Replay))
		}
	}
	var shards []string
	for s := range m.shards { // detguard:unordered sorted below
		shards = append(shards, s)
	}
	sort.Strings(shards)
	what := m.key.String()
	if len(shards) > 0 {
		what += ", shards " + strings.Join(shards, " ")
	}
	fmt.Fprintf(w, "%s: %d seeds: %d passed, %d failed, %d inconclusive", what, len(m.ordered),
		counts[scenarios.Pass.String()], counts[scenarios.Fail.String()], counts[scenarios.Inconclusive.String()])
	if counts[verdictError] > 0 {
		fmt.Fprintf(w, ", %d on which simrun itself failed", counts[verdictError])
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	for _, l := range nondeterministic {
		fmt.Fprintln(w, l)
	}
	missing, firstMissing, problem := m.missing()
	if problem != "" {
		fmt.Fprintf(w, "WARNING %s\n", problem)
	}
	if missing > 0 {
		list := strings.Join(firstMissing, ", ")
		if missing > uint64(len(firstMissing)) {
			list += fmt.Sprintf(", ... (%d more)", missing-uint64(len(firstMissing)))
		}
		fmt.Fprintf(w, "MISSING %d seeds of %s are in no file (a shard that did not run, or was interrupted): %s\n",
			missing, m.key.Sweep, list)
	}
	if len(duplicated) > 0 {
		fmt.Fprintf(w, "DUPLICATED %d seeds ran more than once (counted once): %s\n", len(duplicated), listStrings(duplicated))
	}
	code := exitPass
	switch {
	case counts[verdictError] > 0:
		code = exitUsage
	case counts[scenarios.Fail.String()] > 0 || len(nondeterministic) > 0:
		code = exitFail
	case counts[scenarios.Inconclusive.String()] > 0 || missing > 0:
		code = exitInconclusive
	}
	return code
}

// missing counts the seeds of the sweep's range that no record covers and lists the first
// few; problem explains a range it cannot read.
func (m *mergedSweep) missing() (count uint64, first []string, problem string) {
	if m.key.Sweep == "" {
		return 0, nil, ""
	}
	a, b, ok := strings.Cut(m.key.Sweep, "-")
	lo, err1 := strconv.ParseUint(a, 10, 64)
	hi, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || lo > hi {
		return 0, nil, fmt.Sprintf("sweep range %q is not A-B: missing seeds not checked", m.key.Sweep)
	}
	for s := lo; s <= hi && s >= lo; s++ {
		if _, ok := m.bySeed[s]; !ok {
			count++
			if len(first) < maxListedSeeds {
				first = append(first, strconv.FormatUint(s, 10))
			}
		}
	}
	return count, first, ""
}

// worseExit is the exit code that reports both a and b: a tool failure over a failing run,
// over an inconclusive one, over a pass.
func worseExit(a, b int) int {
	rank := map[int]int{exitPass: 0, exitInconclusive: 1, exitInterrupted: 2, exitFail: 3, exitUsage: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func listStrings(s []string) string {
	if len(s) <= maxListedSeeds {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s, ... (%d more)", strings.Join(s[:maxListedSeeds], ", "), len(s)-maxListedSeeds)
}
