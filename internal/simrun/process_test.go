package simrun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests that need simrun as a process of its own (signals, a Job's environment, the README's
// shell commands) share one binary, built once.

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// simrunBinary builds cmd/simrun once per test process and returns its path.
func simrunBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "simrun-test-bin")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "simrun")
		out, err := exec.Command("go", "build", "-o", binary.path, "github.com/raftsim/raftsim/cmd/simrun").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// exitCodeOfProcess returns the exit code of a finished command, or fails the test.
func exitCodeOfProcess(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// countLines counts the complete lines of a file.
func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

// A 5,000-seed sweep interrupted by SIGINT (or SIGTERM) is gone within a second, and every run
// it reported as finished is in results.jsonl; also when the SUT's simrun runs as a child
// process (etcd@v3.6.0, built by its own module: the signal is passed on).
func TestSignalledSweepStopsWithinASecond(t *testing.T) {
	bin := simrunBinary(t)
	for _, c := range []struct {
		name   string
		signal os.Signal
		args   []string
		exit   int
		// startup bounds the wait for the first results (the child simrun is built first).
		startup time.Duration
	}{
		{"SIGINT, nothing found", os.Interrupt, nil, exitInterrupted, 20 * time.Second},
		{"SIGTERM, failures found", syscall.SIGTERM, []string{"-bug", "no-dedup"}, exitFail, 20 * time.Second},
		{"SIGTERM to the parent of etcd@v3.6.0's simrun", syscall.SIGTERM, []string{"-sut", "etcd@v3.6.0"}, exitInterrupted, 3 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, append([]string{"-seeds", "1-5000", "-parallel", "2", "-out", out}, c.args...)...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			// A child that outlives a killed simrun must not keep Wait waiting for its output.
			cmd.WaitDelay = time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The sweep's directory is the only one under out.
			results := func() string {
				found, _ := filepath.Glob(filepath.Join(out, "*", resultsFile))
				if len(found) != 1 {
					return ""
				}
				return found[0]
			}
			// Interrupt once some runs have finished.
			for start := time.Now(); countLines(t, results()) < 3 && time.Since(start) < c.startup; {
				time.Sleep(50 * time.Millisecond)
			}
			signalled := time.Now()
			if err := cmd.Process.Signal(c.signal); err != nil {
				t.Fatal(err)
			}
			// A process that ignores the signal is killed after a while, so that the test
			// fails instead of waiting for 5,000 seeds.
			overdue := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
			defer overdue.Stop()
			err := cmd.Wait()
			took := time.Since(signalled)
			if took > time.Second {
				t.Errorf("the process took %s to exit after the signal", took)
			}
			if code := exitCodeOfProcess(t, err); code != c.exit {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.exit, &stdout, &stderr)
			}
			var finished, total int
			summary := stdout.String()
			i := strings.Index(summary, "interrupted: ")
			if i < 0 {
				t.Fatalf("no summary of what ran:\n%s%s", summary, &stderr)
			}
			fmt.Sscanf(summary[i:], "interrupted: %d of %d seeds", &finished, &total)
			data, _ := os.ReadFile(results())
			recs := readRecords(t, string(data))
			if total != 5000 || finished < 3 || finished != len(recs) || !bytes.HasSuffix(data, []byte("\n")) {
				t.Fatalf("summary says %d of %d finished; %s has %d records\n%s", finished, total, resultsFile, len(recs), summary)
			}
			if c.exit == exitFail && !strings.Contains(summary, "FAIL seed=") {
				t.Fatalf("no failure reported:\n%s", summary)
			}
		})
	}
}

// verdicts maps each seed of a results file to its verdict, check and trace hash.
func verdicts(t *testing.T, data []byte) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	for _, r := range readRecords(t, string(data)) {
		if _, dup := out[r.Seed]; dup {
			t.Fatalf("seed %d twice", r.Seed)
		}
		out[r.Seed] = fmt.Sprintf("%s %s %s", r.Verdict, r.Check, r.Trace)
	}
	return out
}

// Seeds 1-300 split over 3 tasks of an Indexed Job (JOB_COMPLETION_INDEX, SIMRUN_SHARD_COUNT),
// all writing under one shared -out, merge to the same seeds and verdicts as the unsplit sweep.
func TestShardsOfAJobMergeToTheUnsplitSweep(t *testing.T) {
	bin := simrunBinary(t)
	sweepArgs := append([]string{"-seeds", "1-300", "-parallel", "1"}, mixedSweep...)
	whole, shared := t.TempDir(), t.TempDir()
	unsplit := exec.Command(bin, append(sweepArgs, "-out", whole)...)
	unsplitErr := unsplit.Run()
	unsplitExit := exitCodeOfProcess(t, unsplitErr)
	if unsplitExit != exitFail {
		t.Fatalf("unsplit sweep: exit %d, want %d (match-from-current fails some seeds)", unsplitExit, exitFail)
	}
	var tasks []*exec.Cmd
	for index := 0; index < 3; index++ {
		cmd := exec.Command(bin, append(sweepArgs, "-out", shared)...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", shardIndexEnv, index), shardCountEnv+"=3")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, cmd)
	}
	for _, cmd := range tasks {
		cmd.Wait() // each task exits 0 or 1 by what its shard found; merge judges the whole
	}
	shardFiles, _ := filepath.Glob(filepath.Join(shared, "*", resultsFile))
	sort.Strings(shardFiles)
	want := []string{"shard1of3", "shard2of3", "shard3of3"}
	if len(shardFiles) != 3 {
		t.Fatalf("shard results: %v", shardFiles)
	}
	for i, f := range shardFiles {
		if !strings.Contains(f, want[i]) {
			t.Fatalf("shard results: %v", shardFiles)
		}
	}

	merge := exec.Command(bin, append([]string{"merge", "-json"}, shardFiles...)...)
	var merged, report bytes.Buffer
	merge.Stdout, merge.Stderr = &merged, &report
	if code := exitCodeOfProcess(t, merge.Run()); code != unsplitExit {
		t.Fatalf("merge: exit %d, the unsplit sweep %d\n%s", code, unsplitExit, &report)
	}
	unsplitData, _ := os.ReadFile(filepath.Join(whole, "raft_FailAgree-raftsim-match-from-current-seeds1-300", resultsFile))
	a, b := verdicts(t, unsplitData), verdicts(t, merged.Bytes())
	if len(a) != 300 || len(b) != 300 {
		t.Fatalf("unsplit sweep has %d seeds, merged shards %d", len(a), len(b))
	}
	failed := 0
	for seed, v := range a {
		if b[seed] != v {
			t.Fatalf("seed %d: unsplit %q, merged %q", seed, v, b[seed])
		}
		if strings.HasPrefix(v, "fail") {
			failed++
			if !strings.Contains(report.String(), fmt.Sprintf("FAIL seed=%d check=", seed)) {
				t.Fatalf("merged report does not list failing seed %d:\n%s", seed, &report)
			}
		}
	}
	if !strings.Contains(report.String(), fmt.Sprintf("shards 1/3 2/3 3/3: 300 seeds: %d passed, %d failed", 300-failed, failed)) {
		t.Fatalf("merged report:\n%s", &report)
	}

	// Without one shard's file, merge names the missing seeds.
	merge = exec.Command(bin, append([]string{"merge"}, shardFiles[:2]...)...)
	out, _ := merge.Output()
	if !strings.Contains(string(out), "MISSING 100 seeds of 1-300 are in no file") || !strings.Contains(string(out), ": 3, 6, 9, ") {
		t.Fatalf("merge of two shards of three:\n%s", out)
	}
}
