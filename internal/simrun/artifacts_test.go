package simrun

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/scenarios"
)

func TestRunNames(t *testing.T) {
	for _, c := range []struct {
		id   runID
		want string
	}{
		{runID{Scenario: "default", SUT: "raftsim", Seed: 7}, "default-raftsim-seed7"},
		{runID{Scenario: "default", SUT: "raftsim", Bug: "no-dedup", Seed: 1}, "default-raftsim-no-dedup-seed1"},
		{runID{Scenario: "raft/Figure8", SUT: "etcd raft", Seed: 2, ScheduleHash: "0badf00d"}, "raft_Figure8-etcd_raft-seed2-schedule-0badf00d"},
	} {
		if got := c.id.Name(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.id, got, c.want)
		}
	}
	if scheduleHash([]byte("a")) == scheduleHash([]byte("b")) || len(scheduleHash(nil)) != scheduleHashLen {
		t.Fatal("schedule hashes must tell files apart")
	}
}

// A run's artifacts are never overwritten without -force: rerunning is a usage error before
// anything runs, -force replaces them, and replaying a shrunk schedule writes a directory of
// its own (named by the file's hash) next to the original run's.
func TestArtifactsAreNeverClobbered(t *testing.T) {
	out := t.TempDir()
	runDir := filepath.Join(out, "default-raftsim-no-dedup-seed1")
	summary := filepath.Join(runDir, "summary.txt")
	if code, stdout, stderr := runCLI("-seed", "1", "-bug", "no-dedup", "-out", out); code != exitFail {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(summary, []byte("the user's notes"), 0o644)
	code, stdout, stderr := runCLI("-seed", "1", "-bug", "no-dedup", "-out", out)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, runDir+" exists already from an earlier run: pass -force") {
		t.Fatalf("rerun without -force: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(summary); string(data) != "the user's notes" {
		t.Fatalf("the existing run directory was touched: %q", data)
	}
	if code, stdout, stderr = runCLI("-seed", "1", "-bug", "no-dedup", "-out", out, "-force"); code != exitFail {
		t.Fatalf("rerun with -force: exit %d\n%s%s", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(summary); !strings.Contains(string(data), "FAIL scenario=default seed=1 bug=no-dedup") {
		t.Fatalf("-force did not replace the run directory: %q", data)
	}

	if code, stdout, stderr = runCLI("-seed", "1", "-bug", "no-dedup", "-shrink", "-out", out); code != exitFail {
		t.Fatalf("shrink: exit %d\n%s%s", code, stdout, stderr)
	}
	shrunk := filepath.Join(out, "shrunk-default-raftsim-no-dedup-seed1.json")
	if code, _, stderr = runCLI("-seed", "1", "-bug", "no-dedup", "-shrink", "-out", out); code != exitUsage || !strings.Contains(stderr, shrunk+" exists already") {
		t.Fatalf("second shrink into the same -out: exit %d, %s", code, stderr)
	}
	code, stdout, _ = runCLI("-schedule", shrunk, "-out", out)
	if code != exitFail {
		t.Fatalf("replaying the shrunk schedule: exit %d\n%s", code, stdout)
	}
	m := regexp.MustCompile(`wrote: (.*default-raftsim-no-dedup-seed[0-9]+-schedule-[0-9a-f]{8})/summary.txt`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("the replay of a schedule file does not write into a directory named by its hash:\n%s", stdout)
	}
	if data, _ := os.ReadFile(summary); !strings.Contains(string(data), "seed=1 bug=no-dedup check=linearizability virtual=30") {
		t.Fatalf("replaying the shrunk schedule overwrote the original run's artifacts: %q", data)
	}

	sweepArgs := []string{"-scenario", "raft/FailAgree", "-seeds", "1-2", "-out", out}
	if code, _, stderr = runCLI(sweepArgs...); code != exitPass {
		t.Fatalf("sweep: exit %d %s", code, stderr)
	}
	if code, stdout, stderr = runCLI(sweepArgs...); code != exitUsage || stdout != "" || !strings.Contains(stderr, "raft_FailAgree-raftsim-seeds1-2 exists already") {
		t.Fatalf("second sweep into the same -out: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr = runCLI(append(sweepArgs, "-force")...); code != exitPass {
		t.Fatalf("second sweep with -force: exit %d %s", code, stderr)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

// An -out that cannot be created is bad usage, reported before anything runs, whatever the
// run would have found.
func TestUnwritableOutIsAUsageError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	for _, out := range []string{"/proc/nope/x", filepath.Join(file, "x")} {
		for _, args := range [][]string{
			{"-seed", "1"},
			{"-seed", "1", "-bug", "no-dedup"},
			{"-seeds", "1-3", "-scenario", "raft/FailAgree"},
			{"-seed", "1", "-bug", "no-dedup", "-shrink"},
		} {
			code, stdout, stderr := runCLI(append(args, "-out", out)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, "-out "+out+": ") || !strings.Contains(stderr, "give a directory simrun can create and write") {
				t.Errorf("simrun %v -out %s: exit %d\nstdout %q\nstderr %q", args, out, code, stdout, stderr)
			}
		}
	}
}

// -until that skips checks is inconclusive (exit 3) and names them; it never says every check
// passed.
func TestUntilIsNeverAPass(t *testing.T) {
	code, stdout, _ := runCLI("-bug", "no-dedup", "-seed", "1", "-until", "9.7s")
	if code != exitInconclusive || strings.Contains(stdout, "every check passed") ||
		!strings.Contains(stdout, "not checked: linearizability, liveness") || !strings.Contains(stdout, "INCONCLUSIVE scenario=default seed=1") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

// The stack of a panic that failed a run is one of its artifacts.
func TestPanicStackIsAnArtifact(t *testing.T) {
	executeRun = func(spec scenarios.Spec, opts scenarios.Options) (*scenarios.Result, error) {
		r, err := scenarios.Execute(spec, opts)
		if err == nil && r.Status == scenarios.Fail {
			r.PanicStack = "goroutine 1 [running]:\nplanted.Frame()"
		}
		return r, err
	}
	t.Cleanup(func() { executeRun = scenarios.Execute })
	out := t.TempDir()
	if code, stdout, stderr := runCLI("-seed", "1", "-bug", "no-dedup", "-out", out); code != exitFail {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "default-raftsim-no-dedup-seed1", "panic-stack.txt"))
	if err != nil || !strings.Contains(string(data), "not linearizable") || !strings.Contains(string(data), "planted.Frame()") {
		t.Fatalf("panic-stack.txt: %q %v", data, err)
	}
}
