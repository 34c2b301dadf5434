package sim_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/raftsim/raftsim/sim"
)

func TestSameSeedSameHashInOneProcess(t *testing.T) {
	cfg := workloadConfig(7)
	cfg.RecordDigests = true
	first, firstResult := runWorkload(cfg)
	second, secondResult := runWorkload(cfg)
	if firstResult != secondResult {
		t.Fatalf("same seed, different results:\n%+v\n%+v", firstResult, secondResult)
	}
	if first.Stats() != second.Stats() {
		t.Fatalf("same seed, different stats:\n%+v\n%+v", first.Stats(), second.Stats())
	}
	if firstResult.End != sim.EndTimeLimit || firstResult.Events < 1000 {
		t.Fatalf("workload too small to mean anything: %+v", firstResult)
	}
	// The workload must actually exercise the faults it claims to.
	stats := first.Stats()
	if stats.Dropped.Random == 0 || stats.Dropped.Partition == 0 || stats.Dropped.Crashed == 0 ||
		stats.MessagesDuplicated == 0 || stats.TimersCancelled == 0 || stats.DiskSyncs == 0 {
		t.Fatalf("workload does not exercise every fault: %+v", stats)
	}
	d1, d2 := first.Digests(), second.Digests()
	if int64(len(d1)) != firstResult.Events || len(d1) != len(d2) {
		t.Fatalf("digests: %d and %d for %d events", len(d1), len(d2), firstResult.Events)
	}
	if d1[len(d1)-1] != firstResult.Hash {
		t.Fatalf("last digest %x is not the final hash %x", d1[len(d1)-1], firstResult.Hash)
	}
	for i := range d1 {
		if d1[i] != d2[i] {
			t.Fatalf("digest %d differs", i)
		}
	}
}

func TestTracingDoesNotChangeTheRun(t *testing.T) {
	plain := workloadConfig(11)
	traced := workloadConfig(11)
	lines := 0
	traced.Trace = func(sim.TraceEvent) { lines++ }
	traced.Describe = func(payload []byte) string { return fmt.Sprintf("%d bytes", len(payload)) }
	_, plainResult := runWorkload(plain)
	_, tracedResult := runWorkload(traced)
	if plainResult != tracedResult {
		t.Fatalf("tracing changed the run:\n%+v\n%+v", plainResult, tracedResult)
	}
	if int64(lines) < tracedResult.Events {
		t.Fatalf("%d trace lines for %d events", lines, tracedResult.Events)
	}
}

func TestDifferentSeedsDifferentHashes(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(0); seed < 12; seed++ {
		cfg := workloadConfig(seed)
		cfg.MaxTime = 300 * sim.Millisecond
		_, result := runWorkload(cfg)
		if other, ok := seen[result.Hash]; ok {
			t.Fatalf("seeds %d and %d give the same hash %x", other, seed, result.Hash)
		}
		seen[result.Hash] = seed
	}
}

// The hash must not depend on anything process-specific (map iteration order, addresses,
// scheduling): a child process running the same seeds must print the same hashes.
const childEnv = "RAFTSIM_SIM_HASH_CHILD"

var childOutput = regexp.MustCompile(`seed=[0-9]+ hash=[0-9a-f]+ events=[0-9]+`)

func crossProcessHashes() []string {
	var lines []string
	for seed := uint64(1000); seed < 1005; seed++ {
		_, result := runWorkload(workloadConfig(seed))
		lines = append(lines, fmt.Sprintf("seed=%d hash=%x events=%d", seed, result.Hash, result.Events))
	}
	return lines
}

func TestSameHashAcrossProcesses(t *testing.T) {
	want := crossProcessHashes()
	if os.Getenv(childEnv) == "1" {
		for _, line := range want {
			fmt.Println(line)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSameHashAcrossProcesses$", "-test.count=1")
	// The child gets a different GOMAXPROCS; its map hash seed is random per process anyway.
	cmd.Env = append(os.Environ(), childEnv+"=1", "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process failed: %v\n%s", err, out)
	}
	got := childOutput.FindAllString(string(out), -1)
	if len(got) != len(want) {
		t.Fatalf("child process printed %d hashes, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("child process: %s, this process: %s", got[i], want[i])
		}
	}
}
