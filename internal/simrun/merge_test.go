package simrun

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sut"
)

// writeResults writes records as a results file and returns its path.
func writeResults(t *testing.T, dir, name string, recs ...runJSON) string {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rec(seed uint64, verdict, trace, shard string) runJSON {
	return runJSON{Seed: seed, Scenario: "default", SUT: sut.DefaultName, Verdict: verdict, Trace: trace, Sweep: "1-4", Shard: shard,
		Check: map[string]string{"fail": "linearizability"}[verdict], Message: verdict + " message",
		Replay: "go run ./cmd/simrun -scenario default -seed " + string(rune('0'+seed))}
}

func TestMergeReportsWhatTheShardsFound(t *testing.T) {
	dir := t.TempDir()
	shard1 := writeResults(t, dir, "1.jsonl", rec(1, "pass", "a", "1/2"), rec(3, "pass", "c", "1/2"))
	shard2 := writeResults(t, dir, "2.jsonl", rec(2, "fail", "b", "2/2"), rec(4, "pass", "d", "2/2"))
	shard2again := writeResults(t, dir, "2again.jsonl", rec(2, "fail", "b", "2/2"), rec(4, "pass", "d", "2/2"))
	shard2other := writeResults(t, dir, "2other.jsonl", rec(2, "fail", "b", "2/2"), rec(4, "pass", "OTHER", "2/2"))
	inconclusive := writeResults(t, dir, "inc.jsonl", rec(2, "inconclusive", "b", "2/2"), rec(4, "pass", "d", "2/2"))
	crashed := writeResults(t, dir, "crash.jsonl", rec(2, "error", "", "2/2"), rec(4, "pass", "d", "2/2"))
	passing := writeResults(t, dir, "pass.jsonl", rec(2, "pass", "b", "2/2"), rec(4, "pass", "d", "2/2"))
	passingRetried := writeResults(t, dir, "pass-retried.jsonl", rec(2, "pass", "b", "2/2"), rec(4, "pass", "d", "2/2"))
	empty := writeResults(t, dir, "empty.jsonl")
	garbage := filepath.Join(dir, "garbage.jsonl")
	os.WriteFile(garbage, []byte(`{"seed":1,"scenario":"default","verdict":"pass"}`+"\nnot json\n"), 0o644)
	unknownVerdict := writeResults(t, dir, "verdict.jsonl", rec(1, "maybe", "a", ""))
	// A tree as a CI leaves it after downloading each shard's -out: merge DIR finds them.
	tree := t.TempDir()
	for i, r := range [][]runJSON{{rec(1, "pass", "a", "1/2"), rec(3, "pass", "c", "1/2")}, {rec(2, "fail", "b", "2/2"), rec(4, "pass", "d", "2/2")}} {
		sub := filepath.Join(tree, string(rune('a'+i)), "default-raftsim-seeds1-4")
		os.MkdirAll(sub, 0o755)
		writeResults(t, sub, resultsFile, r...)
		os.WriteFile(filepath.Join(sub, "notes.txt"), []byte("not results"), 0o644)
	}

	cases := []struct {
		name  string
		files []string
		exit  int
		want  []string
	}{
		{"all shards, one failure", []string{shard1, shard2}, exitFail, []string{
			"merged 4 records from 2 files",
			"default (sut raftsim, seeds 1-4), shards 1/2 2/2: 4 seeds: 3 passed, 1 failed, 0 inconclusive",
			"FAIL seed=2 check=linearizability: fail message\n  replay: go run ./cmd/simrun -scenario default -seed 2"}},
		{"all shards, all pass", []string{shard1, passing}, exitPass, []string{"4 seeds: 4 passed, 0 failed, 0 inconclusive"}},
		{"a file named twice is read once", []string{shard1, shard2, shard2}, exitFail, []string{"merged 4 records from 2 files"}},
		{"directories", []string{filepath.Join(tree, "a"), tree}, exitFail, []string{"merged 4 records from 2 files", "3 passed, 1 failed"}},
		{"a shard missing", []string{shard1}, exitInconclusive, []string{"MISSING 2 seeds of 1-4 are in no file", ": 2, 4\n"}},
		{"a shard twice, same outcomes", []string{shard1, passing, passingRetried}, exitPass, []string{"DUPLICATED 2 seeds ran more than once (counted once): 2 (2x), 4 (2x)"}},
		{"a shard twice, failure kept", []string{shard1, shard2, shard2again}, exitFail, []string{"DUPLICATED 2 seeds", "1 failed"}},
		{"a seed with two outcomes", []string{shard1, shard2, shard2other}, exitFail, []string{"NONDETERMINISM seed=4: one record says pass trace=d, another pass trace=OTHER"}},
		{"inconclusive", []string{shard1, inconclusive}, exitInconclusive, []string{"INCONCLUSIVE seed=2: inconclusive message"}},
		{"simrun failed on a run", []string{shard1, crashed}, exitUsage, []string{"ERROR seed=2: simrun itself failed on this run", "1 on which simrun itself failed"}},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(append([]string{"merge"}, c.files...)...)
		if code != c.exit {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, code, c.exit, stdout, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, stdout)
			}
		}
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"merge"}, "merge needs files"},
		{[]string{"merge", filepath.Join(dir, "nope.jsonl")}, "no such file"},
		{[]string{"merge", empty}, "no results"},
		{[]string{"merge", t.TempDir()}, "no results.jsonl under it"},
		{[]string{"merge", shard1, garbage}, "garbage.jsonl:2: not a simrun result record"},
		{[]string{"merge", unknownVerdict}, `verdict "maybe" is not one of`},
		{[]string{"merge", "-bogus", shard1}, "flag provided but not defined"},
	}
	for _, c := range bad {
		code, stdout, stderr := runCLI(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("simrun %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

// merge -json prints one record per seed, in seed order, and the report on stderr.
func TestMergeJSONPrintsOneRecordPerSeed(t *testing.T) {
	dir := t.TempDir()
	a := writeResults(t, dir, "a.jsonl", rec(3, "pass", "c", "1/2"), rec(1, "pass", "a", "1/2"))
	b := writeResults(t, dir, "b.jsonl", rec(4, "pass", "d", "2/2"), rec(2, "fail", "b", "2/2"), rec(2, "fail", "b", "2/2"))
	code, stdout, stderr := runCLI("merge", "-json", a, b)
	if code != exitFail || !strings.Contains(stderr, "FAIL seed=2") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	recs := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(recs) != 4 {
		t.Fatalf("want 4 records, got:\n%s", stdout)
	}
	for i, line := range recs {
		var r runJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Seed != uint64(i+1) {
			t.Fatalf("record %d: %s (%v)", i, line, err)
		}
	}
}
