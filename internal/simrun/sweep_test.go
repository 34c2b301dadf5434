package simrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/sut"
)

// A fast sweep with failures among passes: raft/FailAgree runs in about a millisecond, and
// match-from-current fails it on about 1 seed in 14.
var mixedSweep = []string{"-scenario", "raft/FailAgree", "-bug", "match-from-current"}

// readRecords parses JSON lines (stdout of -json, or a results.jsonl).
func readRecords(t *testing.T, data string) []runJSON {
	t.Helper()
	var recs []runJSON
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		if line == "" {
			continue
		}
		var r runJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a record: %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Seed < recs[j].Seed })
	return recs
}

func resultsOf(t *testing.T, outDir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(outDir, "*", resultsFile))
	if len(files) != 1 {
		t.Fatalf("want one %s under %s, found %v", resultsFile, outDir, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Every run of a sweep is one record on stdout (-json) and one line of results.jsonl, with what
// merge needs; failing runs carry their replay command and artifacts.
func TestSweepWritesEveryRunToResultsAndStdout(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(append(mixedSweep, "-seeds", "1-40", "-parallel", "2", "-json", "-out", out)...)
	if code != exitFail {
		t.Fatalf("exit %d, want %d (some seeds fail)\n%s", code, exitFail, stderr)
	}
	fromStdout, fromFile := readRecords(t, stdout), readRecords(t, resultsOf(t, out))
	if len(fromFile) != 40 || len(fromStdout) != 40 {
		t.Fatalf("%d records on stdout, %d in %s; want 40 each", len(fromStdout), len(fromFile), resultsFile)
	}
	failed := 0
	for i, r := range fromFile {
		if r.Seed != uint64(i+1) || r.SUT != sut.DefaultName || r.Sweep != "1-40" || r.Shard != "1/1" || r.Trace == "" ||
			r.Replay != fmt.Sprintf("go run ./cmd/simrun -scenario raft/FailAgree -seed %d -bug match-from-current", r.Seed) {
			t.Fatalf("incomplete record: %+v", r)
		}
		if fmt.Sprint(r) != fmt.Sprint(fromStdout[i]) {
			t.Fatalf("stdout and %s differ:\n%+v\n%+v", resultsFile, fromStdout[i], r)
		}
		if r.Verdict == "fail" {
			failed++
			if len(r.Files) == 0 {
				t.Fatalf("failing seed %d lists no artifacts", r.Seed)
			}
			for _, f := range r.Files {
				if _, err := os.Stat(f); err != nil {
					t.Fatalf("seed %d: %v", r.Seed, err)
				}
			}
		}
	}
	if failed == 0 || failed == 40 {
		t.Fatalf("%d of 40 seeds failed: the test needs both verdicts", failed)
	}
	if stderr != "" {
		t.Fatalf("with -json a finished sweep prints nothing but its records:\n%s", stderr)
	}
}

// notifyingWriter calls onWrite after each write, with everything written so far.
type notifyingWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	onWrite func(string)
}

func (w *notifyingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.onWrite != nil {
		w.onWrite(w.buf.String())
	}
	return len(p), nil
}

func (w *notifyingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// A failure is printed the moment it is found, with its replay command; an interrupted sweep
// stops at once, keeps every finished run in results.jsonl, and exits 1 because it found a
// failure (130 when it found none).
func TestInterruptedSweepKeepsWhatFinished(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		cutAt  string // interrupt once stdout shows this
		exit   int
		stream string // what stdout must show before the summary
	}{
		{"failure found", append(mixedSweep, "-seeds", "1-100000"), "FAIL seed=", exitFail, "  replay: go run ./cmd/simrun -scenario raft/FailAgree -seed "},
		{"nothing found", []string{"-scenario", "raft/FailAgree", "-seeds", "1-100000", "-json"}, `"seed":`, exitInterrupted, `"verdict":"pass"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var cancelled time.Time
			var once sync.Once
			stdout := &notifyingWriter{onWrite: func(s string) {
				if strings.Contains(s, c.cutAt) {
					once.Do(func() { cancelled = time.Now(); cancel() })
				}
			}}
			var stderr bytes.Buffer
			out := t.TempDir()
			t.Cleanup(workers.Wait) // before TempDir's cleanup: the abandoned runs write into out
			code := runContext(ctx, scenarios.DefaultCommand, append(c.args, "-parallel", "2", "-out", out), stdout, &stderr)
			if took := time.Since(cancelled); took > time.Second {
				t.Errorf("the sweep took %s to stop", took)
			}
			if code != c.exit {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.exit, stdout, &stderr)
			}
			summary := stdout.String() + stderr.String()
			var finished, total int
			if i := strings.Index(summary, "interrupted: "); i < 0 {
				t.Fatalf("no interrupted summary:\n%s", summary)
			} else {
				fmt.Sscanf(summary[i:], "interrupted: %d of %d seeds", &finished, &total)
			}
			recs := readRecords(t, resultsOf(t, out))
			if total != 100000 || finished == 0 || finished != len(recs) {
				t.Fatalf("summary says %d of %d finished, %s has %d", finished, total, resultsFile, len(recs))
			}
			if !strings.Contains(stdout.String(), c.stream) {
				t.Fatalf("stdout lacks %q:\n%s", c.stream, stdout)
			}
		})
	}
}

// plantCrash makes simrun itself panic (outside the run) on one seed.
func plantCrash(t *testing.T, seed uint64) {
	t.Helper()
	executeRun = func(spec scenarios.Spec, opts scenarios.Options) (*scenarios.Result, error) {
		if spec.Seed == seed {
			panic("planted defect of simrun")
		}
		return scenarios.Execute(spec, opts)
	}
	t.Cleanup(func() { executeRun = scenarios.Execute })
}

// A panic that escapes a run is a defect of simrun: it is reported with the seed it was on, the
// panic, the stack and the replay command, and exits 2; a sweep goes on with the other seeds.
func TestPanicOutsideARunNamesItsSeed(t *testing.T) {
	plantCrash(t, 3)
	out := t.TempDir()
	code, stdout, stderr := runCLI("-scenario", "raft/FailAgree", "-seeds", "1-6", "-parallel", "2", "-out", out)
	if code != exitUsage {
		t.Fatalf("sweep: exit %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
	}
	for _, want := range []string{"ERROR scenario=raft/FailAgree seed=3: simrun itself failed", "panic: planted defect of simrun",
		"sweep_test.go", "replay: go run ./cmd/simrun -scenario raft/FailAgree -seed 3", "5 passed, 0 failed, 0 inconclusive, 1 on which simrun itself failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("sweep output lacks %q:\n%s", want, stdout)
		}
	}
	recs := readRecords(t, resultsOf(t, out))
	if len(recs) != 6 || recs[2].Verdict != verdictError || !strings.Contains(recs[2].Message, "planted defect") {
		t.Fatalf("results: %+v", recs)
	}

	code, stdout, stderr = runCLI("-scenario", "raft/FailAgree", "-seed", "3")
	if code != exitUsage || !strings.Contains(stderr, "ERROR scenario=raft/FailAgree seed=3") || !strings.Contains(stderr, "goroutine ") {
		t.Fatalf("single run: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}
