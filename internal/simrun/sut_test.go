package simrun

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/raftsim/raftsim/raft/simhost" // registers the default SUT, as cmd/simrun does
	_ "github.com/raftsim/raftsim/sut/etcd"     // and etcd-io/raft v3.7
)

// etcd-io/raft runs are deterministic (its crypto/rand election jitter reads the node's seeded
// stream) and quiet (its logger writes to the trace only).
func TestEtcdRunsAreDeterministicAndQuiet(t *testing.T) {
	code, out, errOut := runCLI("-sut", "etcd", "-scenario", "crash-restart", "-seeds", "1-6", "-check-determinism", "-parallel", "2")
	if code != exitPass || !strings.Contains(out, "6 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if errOut != "" {
		t.Fatalf("a sweep on etcd wrote to stderr:\n%s", errOut)
	}
	code, out, errOut = runCLI("-sut", "etcd", "-seed", "2")
	if code != exitPass || errOut != "" || strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Fatalf("one run on etcd: exit %d, want the report and the summary line only:\n%s%s", code, out, errOut)
	}
}

// The SUT is part of a run's identity: in the schedule it prints, in its JSON, in the replay
// command; a printed schedule replays on its SUT with the same trace hash.
func TestSUTIsRecordedAndReplayed(t *testing.T) {
	// -print-schedule writes only the schedule to stdout; the JSON record goes to stderr.
	code, sched, record := runCLI("-sut", "etcd", "-scenario", "isolate-one", "-seed", "3", "-print-schedule", "-json")
	if code != exitPass || !strings.Contains(sched, `"sut": "etcd"`) || !strings.Contains(record, `"sut":"etcd"`) {
		t.Fatalf("exit %d: want the schedule and the JSON to name sut etcd:\n%s%s", code, sched, record)
	}
	hash := traceRE.FindString(record)
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte(sched), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("-schedule", path, "-json")
	if code != exitPass || !strings.Contains(out, `"sut":"etcd"`) || traceRE.FindString(out) != hash {
		t.Fatalf("replay: exit %d, want sut etcd and %s:\n%s%s", code, hash, out, errOut)
	}
	code, out, _ = runCLI("-sut", "etcd", "-bug", "no-dedup", "-scenario", "isolate-leader", "-seed", "1")
	if code != exitFail || !strings.Contains(out, "replay: go run ./cmd/simrun -scenario isolate-leader -seed 1 -sut etcd -bug no-dedup") {
		t.Fatalf("a failing run on etcd: exit %d, want a replay command naming the SUT:\n%s", code, out)
	}
}

// A raft bug of raftsim, or a scenario that needs raftsim, on another SUT is a usage error
// that says what is valid.
func TestUnsupportedSUTCombinationsExitTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-sut", "etcd", "-bug", "vote-twice", "-seed", "1"}, "planted in raftsim, not in -sut etcd; bugs for etcd: no-dedup, read-local, dedup-not-in-snapshot"},
		{[]string{"-sut", "etcd", "-scenario", "raft/Count", "-seed", "1"}, "does not run on -sut etcd"},
		{[]string{"-sut", "etc", "-seed", "1"}, `did you mean "etcd"`},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("simrun %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// The same seed gives the same trace hash in two processes, on both versions of etcd-io/raft
// (the second is run by the simrun of its own module): nothing outside the seed reaches the run.
func TestEtcdTraceHashesAgreeAcrossProcesses(t *testing.T) {
	bin := simrunBinary(t)
	for _, target := range []string{"etcd", "etcd@v3.6.0"} {
		var hashes [2]string
		for i := range hashes {
			out, err := exec.Command(bin, "-sut", target, "-seeds", "1-3", "-parallel", "2", "-json").Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", target, err, out)
			}
			records := readRecords(t, string(out))
			if len(records) != 3 {
				t.Fatalf("%s: %d records, want 3:\n%s", target, len(records), out)
			}
			slices.SortFunc(records, func(a, b runJSON) int { return cmp.Compare(a.Seed, b.Seed) })
			for _, r := range records {
				hashes[i] += fmt.Sprintf("seed %d %s %s\n", r.Seed, r.Verdict, r.Trace)
			}
		}
		if hashes[0] != hashes[1] {
			t.Errorf("%s: two processes disagree:\n%s---\n%s", target, hashes[0], hashes[1])
		}
	}
}
