package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func execute(t testing.TB, spec Spec) *Result {
	t.Helper()
	r, err := Execute(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The same seed gives the same trace hash twice in one process; different seeds differ.
func TestSameSeedSameHash(t *testing.T) {
	for _, name := range []string{"default", "crash-restart", "raft/Figure8"} {
		a := execute(t, Spec{Scenario: name, Seed: 7})
		b := execute(t, Spec{Scenario: name, Seed: 7})
		c := execute(t, Spec{Scenario: name, Seed: 8})
		if a.Hash != b.Hash || a.Events != b.Events {
			t.Fatalf("%s seed 7 twice: trace %016x (%d events) vs %016x (%d events)", name, a.Hash, a.Events, b.Hash, b.Events)
		}
		if a.Hash == c.Hash {
			t.Fatalf("%s seeds 7 and 8 give the same trace %016x", name, a.Hash)
		}
	}
}

// A run replays in another process with the same hash (no per-process state such as map
// seeds, pointer values or goroutine scheduling reaches the run).
func TestSameHashAcrossProcesses(t *testing.T) {
	if spec := os.Getenv("RAFTSIM_HASH_CHILD"); spec != "" {
		name, seed, _ := strings.Cut(spec, "@")
		n, _ := strconv.ParseUint(seed, 10, 64)
		r := execute(t, Spec{Scenario: name, Seed: n})
		fmt.Printf("HASH %016x\n", r.Hash)
		return
	}
	for _, spec := range []string{"default@3", "pause@5", "kv/PersistPartitionUnreliable@2", "raft/SnapshotInstallCrash@1"} {
		name, seed, _ := strings.Cut(spec, "@")
		n, _ := strconv.ParseUint(seed, 10, 64)
		want := fmt.Sprintf("HASH %016x", execute(t, Spec{Scenario: name, Seed: n}).Hash)
		cmd := exec.Command(os.Args[0], "-test.run=^TestSameHashAcrossProcesses$")
		cmd.Env = append(os.Environ(), "RAFTSIM_HASH_CHILD="+spec)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child process for %s: %v\n%s", spec, err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Fatalf("%s: this process got %s, the child printed:\n%s", spec, want, out)
		}
	}
}

// Replaying a run's schedule (the -print-schedule / -schedule path) reproduces it exactly.
func TestScheduleReplayReproducesTheRun(t *testing.T) {
	for _, name := range []string{"default", "majorities-ring", "kv/SnapshotUnreliableRecoverConcurrentPartition"} {
		a := execute(t, Spec{Scenario: name, Seed: 11})
		parsed, err := ParseSchedule(a.Schedule.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		b := execute(t, Spec{Schedule: parsed})
		if a.Hash != b.Hash {
			t.Fatalf("%s seed 11: run %016x, replayed schedule %016x", name, a.Hash, b.Hash)
		}
	}
}

// seedsPerScenario is how many seeds `go test` runs of every workload and nemesis scenario
// (the raft/ suite has its own test); -short runs fewer. The full acceptance sweeps (200 and
// 1000 seeds per scenario) are simrun commands documented in BENCHMARKS.md.
func seedsPerScenario() uint64 {
	if testing.Short() {
		return 3
	}
	return 10
}

// With no planted bug every workload scenario passes every seed tried.
func TestWorkloadScenariosPass(t *testing.T) {
	for _, sc := range All() {
		if sc.Schedule == nil {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= seedsPerScenario(); seed++ {
				r := execute(t, Spec{Scenario: sc.Name, Seed: seed})
				if r.Status != Pass {
					t.Fatalf("%s\nreplay: go run ./cmd/simrun -scenario %s -seed %d", r.Report(), sc.Name, seed)
				}
			}
		})
	}
}

func TestUnknownNamesAreErrorsThatSuggestTheClosestValidOnes(t *testing.T) {
	if _, err := Execute(Spec{Scenario: "nope", Seed: 1}, Options{}); err == nil || !strings.Contains(err.Error(), "simrun -list shows all") {
		t.Fatalf("unknown scenario: %v", err)
	}
	if _, err := Execute(Spec{Scenario: "figure-8", Seed: 1}, Options{}); err == nil || !strings.Contains(err.Error(), `(did you mean "figure8" or "figure8-short" or "raft/Figure8"?); simrun -list shows all`) {
		t.Fatalf("mistyped scenario: %v", err)
	}
	if _, err := Execute(Spec{Scenario: "default", Seed: 1, Bug: "nodedup"}, Options{}); err == nil || !strings.Contains(err.Error(), `(did you mean "no-dedup"?); valid bugs: `) {
		t.Fatalf("mistyped bug: %v", err)
	}
	if _, err := Execute(Spec{Scenario: "default", Seed: 1, Bug: "nope"}, Options{}); err == nil || !strings.Contains(err.Error(), "valid bugs: vote-no-persist") {
		t.Fatalf("unknown bug: %v", err)
	}
}

func TestEveryBugOfBUGSmdResolves(t *testing.T) {
	for _, b := range Bugs(raftsimSUT()) {
		got, err := LookupBug(b.Name, raftsimSUT())
		if err != nil || got.Name != b.Name {
			t.Fatalf("bug %s: %v", b.Name, err)
		}
		if (got.SUT == "") == (got.KV == 0) {
			t.Fatalf("bug %s must be planted in exactly one layer: %+v", b.Name, got)
		}
	}
}

// A run cut short by -until is never a pass: with no failure before the cut it is
// inconclusive and names the checks that did not run; a failure before the cut stands.
func TestUntilIsInconclusiveAndNamesTheChecksNotRun(t *testing.T) {
	cases := []struct {
		spec   Spec
		notRun []string
	}{
		{Spec{Scenario: "default", Seed: 1, Bug: "no-dedup"}, []string{CheckLinearizability, CheckLiveness}},
		{Spec{Scenario: "isolate-one", Seed: 2}, []string{CheckLinearizability, CheckLiveness}},
		{Spec{Scenario: "raft/Figure8", Seed: 1}, []string{CheckRaftTest}},
	}
	for _, c := range cases {
		r, err := Execute(c.spec, Options{UntilMs: 2000})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != Inconclusive || !reflect.DeepEqual(r.NotRun, c.notRun) {
			t.Errorf("%+v until 2s: status %v, not run %v; want inconclusive, %v", c.spec, r.Status, r.NotRun, c.notRun)
		}
		report := r.Report()
		if strings.Contains(report, "every check passed") || !strings.Contains(report, "not checked: "+strings.Join(c.notRun, ", ")) {
			t.Errorf("%+v until 2s reports:\n%s", c.spec, report)
		}
	}
	full, _ := Execute(Spec{Scenario: "default", Seed: 1, Bug: "commit-no-min"}, Options{})
	if full.Status != Fail || full.FailedEvent < 0 {
		t.Fatalf("commit-no-min seed 1 should fail online: %s", full.Report())
	}
	cut, _ := Execute(Spec{Scenario: "default", Seed: 1, Bug: "commit-no-min"}, Options{UntilMs: full.FailedAt.Duration().Milliseconds() + 1})
	if cut.Status != Fail || cut.Check != full.Check || len(cut.NotRun) != 0 {
		t.Fatalf("a failure before -until must stand: %s", cut.Report())
	}
}
