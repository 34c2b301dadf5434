package simrun

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/scenarios"
)

var traceRE = regexp.MustCompile(`trace=([0-9a-f]{16})`)

func TestOneSeedPrintsAStableTraceHash(t *testing.T) {
	hash := func(seed string) string {
		code, out, errOut := runCLI("-seed", seed, "-parallel", "1")
		if code != exitPass {
			t.Fatalf("simrun -seed %s: exit %d\n%s%s", seed, code, out, errOut)
		}
		m := traceRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("simrun -seed %s printed no trace=<16 hex>:\n%s", seed, out)
		}
		return m[1]
	}
	a, b, c := hash("1"), hash("1"), hash("2")
	if a != b {
		t.Fatalf("seed 1 twice: trace %s vs %s", a, b)
	}
	if a == c {
		t.Fatalf("seeds 1 and 2 print the same trace %s", a)
	}
}

func TestCheckDeterminismSweep(t *testing.T) {
	code, out, errOut := runCLI("-seeds", "1-4", "-scenario", "crash-restart", "-check-determinism", "-parallel", "2")
	if code != exitPass || !strings.Contains(out, "4 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func sweepSeeds(t *testing.T, args ...string) []uint64 {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"-json", "-scenario", "isolate-one"}, args...)...)
	if code != exitPass {
		t.Fatalf("simrun %v: exit %d\n%s%s", args, code, out, errOut)
	}
	var seeds []uint64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") { // in the order runs finished
		var r runJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad -json line %q: %v", line, err)
		}
		if r.Trace == "" || r.Verdict != "pass" || r.Events == 0 {
			t.Fatalf("incomplete -json object: %s", line)
		}
		seeds = append(seeds, r.Seed)
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	return seeds
}

// The union of shards 1/3, 2/3 and 3/3 is exactly the unsplit sweep.
func TestShardUnionIsTheUnsplitSweep(t *testing.T) {
	all := sweepSeeds(t, "-seeds", "1-7")
	var union []uint64
	for _, shard := range []string{"1/3", "2/3", "3/3"} {
		union = append(union, sweepSeeds(t, "-seeds", "1-7", "-shard", shard)...)
	}
	sort.Slice(union, func(i, j int) bool { return union[i] < union[j] })
	if len(all) != 7 || len(union) != len(all) {
		t.Fatalf("unsplit %v, union of shards %v", all, union)
	}
	for i := range all {
		if all[i] != union[i] {
			t.Fatalf("unsplit %v, union of shards %v", all, union)
		}
	}
}

// -print-schedule writes only the schedule to stdout (the report goes to stderr), so the
// README's "save, edit, replay" recipe works: the saved file replays to the same trace.
func TestPrintedScheduleReplays(t *testing.T) {
	code, out, errOut := runCLI("-seed", "4", "-scenario", "bridge", "-print-schedule")
	if code != exitPass {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(out), 0o644)
	code, replay, errReplay := runCLI("-schedule", path)
	if code != exitPass {
		t.Fatalf("replaying what -print-schedule printed: exit %d: %s%s", code, replay, errReplay)
	}
	if h := traceRE.FindString(errOut); h == "" || h != traceRE.FindString(replay) {
		t.Fatalf("replayed schedule gives another trace:\n%s\nvs\n%s", errOut, replay)
	}
	code, out, errOut = runCLI("-seed", "4", "-scenario", "bridge", "-print-schedule", "-json")
	if _, err := scenarios.ParseSchedule([]byte(out)); err != nil || code != exitPass || !strings.HasPrefix(errOut, `{"seed":4,`) {
		t.Fatalf("-print-schedule -json: exit %d, the schedule on stdout (%v), the record on stderr:\n%s", code, err, errOut)
	}
}

// A failing run exits 1, names the check, says how to replay it, and writes its artifacts.
func TestFailingRunWritesArtifacts(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI("-seed", "1", "-bug", "no-dedup", "-out", dir)
	if code != exitFail {
		t.Fatalf("planted no-dedup on seed 1: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"FAIL scenario=default seed=1 bug=no-dedup check=linearizability", "replay: go run ./cmd/simrun -scenario default -seed 1 -bug no-dedup"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	runDir := filepath.Join(dir, "default-raftsim-no-dedup-seed1")
	for _, f := range []string{"summary.txt", "schedule.json", "trace.txt", "trace.jsonl", "linearizability.html"} {
		st, err := os.Stat(filepath.Join(runDir, f))
		if err != nil || st.Size() == 0 {
			t.Fatalf("artifact %s: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(runDir, "linearizability.html"))
	if !strings.Contains(string(html), "append") {
		t.Fatalf("visualization does not show the operations")
	}
	entries, _ := os.ReadDir(runDir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("partial file left behind: %s", e.Name())
		}
	}
}

func TestListNamesScenariosAndBugs(t *testing.T) {
	code, out, _ := runCLI("-list")
	if code != exitPass {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"default", "majorities-ring", "raft/Figure8", "kv/Basic", "commit-old-term", "dedup-not-in-snapshot"} {
		if !strings.Contains(out, want) {
			t.Fatalf("-list lacks %q", want)
		}
	}
}

// -shrink writes the minimal schedule, reports sizes and the replay command, and is
// deterministic; the file replays through -schedule and fails the same check.
func TestShrinkWritesADeterministicMinimalSchedule(t *testing.T) {
	var files [2][]byte
	for i := range files {
		dir := t.TempDir()
		code, out, errOut := runCLI("-bug", "match-from-current", "-seed", "1", "-shrink", "-out", dir)
		if code != exitFail {
			t.Fatalf("shrink: exit %d, want %d\n%s%s", code, exitFail, out, errOut)
		}
		for _, want := range []string{"(check leader-completeness)", "fault events 92 -> ", "operations", "seed         1 -> ", "replay: go run ./cmd/simrun -schedule "} {
			if !strings.Contains(out, want) {
				t.Fatalf("shrink output lacks %q:\n%s", want, out)
			}
		}
		path := filepath.Join(dir, "shrunk-default-raftsim-match-from-current-seed1.json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = data
		code, out, errOut = runCLI("-schedule", path, "-json")
		if code != exitFail || !strings.Contains(out, `"check":"leader-completeness"`) {
			t.Fatalf("replaying the shrunk schedule: exit %d\n%s%s", code, out, errOut)
		}
		// The replay command of a schedule run names the file, not the scenario and seed it
		// came from (those would run the unshrunk schedule).
		_, out, _ = runCLI("-schedule", path)
		if want := "replay: go run ./cmd/simrun -schedule " + path + "\n"; !strings.Contains(out, want) {
			t.Fatalf("replaying the shrunk schedule prints no %q:\n%s", want, out)
		}
	}
	if string(files[0]) != string(files[1]) {
		t.Fatalf("two shrinks of the same failure wrote different files:\n%s\n---\n%s", files[0], files[1])
	}
}
