package scenarios

import (
	"fmt"
	"os"
	"os/exec"
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

func TestUnknownNamesAreErrorsThatListTheValidOnes(t *testing.T) {
	if _, err := Execute(Spec{Scenario: "nope", Seed: 1}, Options{}); err == nil || !strings.Contains(err.Error(), "valid scenarios: ") {
		t.Fatalf("unknown scenario: %v", err)
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
