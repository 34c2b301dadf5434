package simrun

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadUsageExitsTwoAndSaysWhatIsValid(t *testing.T) {
	dir := t.TempDir()
	badSchedule := filepath.Join(dir, "bad.json")
	os.WriteFile(badSchedule, []byte(`{"scenario": "default", "nodes": 0}`), 0o644)
	unknownField := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknownField, []byte(`{"nodez": 3}`), 0o644)
	truncated := filepath.Join(dir, "truncated.json")
	os.WriteFile(truncated, []byte(`{"nodes": 3, "faults": [`), 0o644)
	editedSchedule := func(name string, edit func(string) string) string {
		_, out, _ := runCLI("-seed", "1", "-scenario", "isolate-one", "-print-schedule")
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(edit(out)), 0o644)
		return path
	}
	unknownScenario := editedSchedule("unknown-scenario.json", func(s string) string {
		return strings.Replace(s, `"scenario": "isolate-one"`, `"scenario": "nope"`, 1)
	})
	noClients := editedSchedule("no-clients.json", func(s string) string { return strings.Replace(s, `"clients": 4`, `"clients": 0`, 1) })
	cases := []struct {
		args []string
		want string // part of the error message
	}{
		{[]string{"-schedule", unknownScenario}, `scenario: unknown scenario "nope"`},
		{[]string{"-seed", "1", "-check-memory", "0"}, `-check-memory "0": want a positive size such as 4GiB`},
		{[]string{"-seed", "1", "-check-memory", "lots"}, `-check-memory "lots": want a positive size`},
		{[]string{"-schedule", noClients}, "workload.clients: 0 is out of range 1..64"},
		{[]string{"-seeds", "1-3", "-print-schedule"}, "-print-schedule prints the schedule of one run"},
		{[]string{"merge"}, "merge needs files"},
		{[]string{}, "nothing to run"},
		{[]string{"-seed", "x"}, "non-negative integer"},
		{[]string{"-seed", "-1"}, "non-negative integer"},
		{[]string{"-seeds", "5-1"}, "range is empty"},
		{[]string{"-seeds", "1"}, "want a range A-B"},
		{[]string{"-seeds", "a-b"}, "want a range A-B"},
		{[]string{"-seeds", "1-10", "-parallel", "0"}, "-parallel 0"},
		{[]string{"-seeds", "1-10", "-shard", "4/3"}, "-shard"},
		{[]string{"-seeds", "1-10", "-shard", "0/3"}, "-shard"},
		{[]string{"-seeds", "1-10", "-shard", "x"}, "-shard"},
		{[]string{"-seed", "1", "-shard", "1/2"}, "needs a sweep"},
		{[]string{"-seed", "1", "-seeds", "1-2"}, "cannot be combined"},
		{[]string{"-seed", "1", "-scenario", "nope"}, "simrun -list shows all"},
		{[]string{"-seed", "1", "-scenario", "figure-8"}, `(did you mean "figure8" or "figure8-short" or "raft/Figure8"?); simrun -list shows all`},
		{[]string{"-seed", "1", "-bug", "nodedup"}, `(did you mean "no-dedup"?); valid bugs: `},
		{[]string{"-seed", "1", "-bug", "nope"}, "valid bugs: "},
		{[]string{"-seed", "1", "-until", "soon"}, "-until"},
		{[]string{"-seed", "1", "-bogus"}, "flag provided but not defined"},
		{[]string{"-seed", "1", "extra"}, "unexpected argument"},
		{[]string{"-shrink"}, "-shrink needs a failing run"},
		{[]string{"-seeds", "1-3", "-v"}, "-v prints one run"},
		{[]string{"-schedule", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"-schedule", badSchedule}, "nodes: 0 is out of range"},
		{[]string{"-schedule", unknownField}, "unknown field"},
		{[]string{"-schedule", truncated}, "unexpected EOF"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(c.args...)
		if code != exitUsage {
			t.Errorf("simrun %v: exit %d, want %d (stderr %q)", c.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("simrun %v: stderr %q does not say %q", c.args, stderr, c.want)
		}
		if stdout != "" {
			t.Errorf("simrun %v: printed %q on stdout for bad input", c.args, stdout)
		}
	}
}

func TestShardsPartitionTheRange(t *testing.T) {
	for _, r := range []struct{ first, last uint64 }{{1, 1}, {1, 200}, {7, 1000}, {0, 2}} {
		for n := 1; n <= 5; n++ {
			var union []uint64
			for k := 1; k <= n; k++ {
				union = append(union, shardSeeds(r.first, r.last, k, n)...)
			}
			seen := map[uint64]int{}
			for _, s := range union {
				seen[s]++
			}
			if len(union) != int(r.last-r.first+1) {
				t.Fatalf("range %v in %d shards: %d seeds, want %d", r, n, len(union), r.last-r.first+1)
			}
			for s := r.first; s <= r.last; s++ {
				if seen[s] != 1 {
					t.Fatalf("range %v in %d shards: seed %d appears %d times", r, n, s, seen[s])
				}
			}
		}
	}
}

func TestParseFlagsGood(t *testing.T) {
	o, err := parseFlags([]string{"-seeds", "3-9", "-shard", "2/3", "-parallel", "1", "-bug", "no-dedup", "-scenario", "crash-all", "-until", "2.5s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{o.seedFirst, o.seedLast, o.shardIndex, o.shardCount, o.parallel, o.bug, o.scenario, o.untilMs}
	want := []any{uint64(3), uint64(9), 2, 3, 1, "no-dedup", "crash-all", int64(2500)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %v, want %v", got, want)
	}
}

// A sweep without -shard takes its shard from a Kubernetes Indexed Job's environment: the index
// Kubernetes sets (0-based) and the count the manifest passes.
func TestShardFromTheJobEnvironment(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, c := range []struct {
		vars map[string]string
		k, n int
		err  string
	}{
		{map[string]string{}, 1, 1, ""},
		{map[string]string{shardIndexEnv: "0", shardCountEnv: "3"}, 1, 3, ""},
		{map[string]string{shardIndexEnv: "2", shardCountEnv: "3"}, 3, 3, ""},
		{map[string]string{shardIndexEnv: "3", shardCountEnv: "3"}, 0, 0, "want an index 0 <= index < count"},
		{map[string]string{shardIndexEnv: "-1", shardCountEnv: "3"}, 0, 0, "want an index"},
		{map[string]string{shardIndexEnv: "x", shardCountEnv: "3"}, 0, 0, "want an index"},
		{map[string]string{shardIndexEnv: "0", shardCountEnv: "0"}, 0, 0, "want an index"},
		{map[string]string{shardIndexEnv: "1"}, 0, 0, "JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job) but SIMRUN_SHARD_COUNT is not"},
		{map[string]string{shardCountEnv: "3"}, 0, 0, "SIMRUN_SHARD_COUNT=3 is set but JOB_COMPLETION_INDEX is not"},
	} {
		k, n, err := shardFromEnv(env(c.vars))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want %q", c.vars, err, c.err)
			}
			continue
		}
		if err != nil || k != c.k || n != c.n {
			t.Errorf("%v: %d/%d (%v), want %d/%d", c.vars, k, n, err, c.k, c.n)
		}
	}

	// Through the command line: -shard wins over the environment; a half-set environment is
	// bad usage (exit 2), not a sweep of every seed on every task.
	t.Setenv(shardIndexEnv, "1")
	code, _, stderr := runCLI("-seeds", "1-3", "-scenario", "raft/FailAgree")
	if code != exitUsage || !strings.Contains(stderr, "SIMRUN_SHARD_COUNT is not") {
		t.Fatalf("index without count: exit %d, %s", code, stderr)
	}
	t.Setenv(shardCountEnv, "2")
	o, err := parseFlags([]string{"-seeds", "1-3"}, &bytes.Buffer{})
	if err != nil || o.shardIndex != 2 || o.shardCount != 2 {
		t.Fatalf("from the environment: %+v %v", o, err)
	}
	o, err = parseFlags([]string{"-seeds", "1-3", "-shard", "1/4"}, &bytes.Buffer{})
	if err != nil || o.shardIndex != 1 || o.shardCount != 4 {
		t.Fatalf("-shard and the environment: %+v %v", o, err)
	}
	if o, err = parseFlags([]string{"-seed", "3"}, &bytes.Buffer{}); err != nil {
		t.Fatalf("a single run ignores the Job's environment: %v", err)
	}
}

// -check-memory reaches the linearizability check of every run: a budget too small for the
// history makes the verdict unknown (exit 3), with the bound named.
func TestCheckMemoryBoundsTheRunsCheck(t *testing.T) {
	code, out, errOut := runCLI("-scenario", "kv/Concurrent", "-seed", "1", "-check-memory", "1KiB")
	if code != exitInconclusive || !strings.Contains(out, "hit its memory bound") {
		t.Fatalf("exit %d, want %d and the memory bound named:\n%s%s", code, exitInconclusive, out, errOut)
	}
}
