package simrun

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/scenarios"
)

// published is one of Porcupine's histories as converted in the checker's test data.
func published(name string) string {
	return filepath.Join("..", "..", "checker", "testdata", "porcupine", name+".jsonl")
}

func TestCheckVerdictsAndExitCodes(t *testing.T) {
	code, out, errOut := runCLI("check", published("c10-ok"))
	if code != exitPass || !strings.HasPrefix(out, "linearizable: ") || errOut != "" {
		t.Fatalf("c10-ok: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI("check", published("c10-bad"))
	if code != exitFail || !strings.HasPrefix(out, "not linearizable: key ") || !strings.Contains(out, "The longest valid order is") {
		t.Fatalf("c10-bad: exit %d\n%s%s", code, out, errOut)
	}

	// A blow-up on one key: unknown within a tiny time bound, or a small memory budget.
	var blowUp []checker.Op
	for i := 0; i < 40; i++ {
		blowUp = append(blowUp, checker.Op{Client: i, Kind: checker.OpAppend, Key: "hot", Value: string(rune('A' + i)), Call: 0, Return: 1000})
	}
	blowUp = append(blowUp, checker.Op{Client: 40, Kind: checker.OpGet, Key: "hot", Output: "impossible", Call: 0, Return: 1000})
	path := writeHistory(t, blowUp)
	code, out, errOut = runCLI("check", "-timeout", "20ms", path)
	if code != exitInconclusive || !strings.HasPrefix(out, "unknown: the time bound of 20ms was hit") {
		t.Fatalf("blow-up with -timeout 20ms: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI("check", "-timeout", "20s", "-memory", "16MiB", path)
	if code != exitInconclusive || !strings.HasPrefix(out, "unknown: the memory bound of 16.0 MiB was hit") {
		t.Fatalf("blow-up with -memory 16MiB: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckReadsStandardInputAndWritesThePage(t *testing.T) {
	data, err := os.ReadFile(published("c01-bad"))
	if err != nil {
		t.Fatal(err)
	}
	stdin = bytes.NewReader(data)
	defer func() { stdin = os.Stdin }()
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := runCLI("check", "-json", "-out", dir, "-")
	if code != exitFail {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var result checkJSON
	if err := json.Unmarshal([]byte(out), &result); err != nil {
		t.Fatalf("-json printed %q: %v", out, err)
	}
	timelinePage, porcupinePage := filepath.Join(dir, "timeline.html"), filepath.Join(dir, "linearizability.html")
	if result.Verdict != "illegal" || result.Key == "" || len(result.Files) != 2 || result.Files[0] != timelinePage || result.Files[1] != porcupinePage {
		t.Fatalf("-json: %+v", result)
	}
	page, err := os.ReadFile(porcupinePage)
	if err != nil || !strings.Contains(string(page), result.Key) || !strings.Contains(string(page), `"timeline.html"`) {
		t.Fatalf("Porcupine's page does not show key %q or link the timeline (%v)", result.Key, err)
	}
	// The timeline: one client lane (c01-bad has one client, process 0), the operations the
	// check names marked, the page opened on them.
	page, err = os.ReadFile(timelinePage)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"name":"c0","kind":"client"}`, `"m":"illegal"`, `"violation":{"check":"linearizability"`, `"href":"linearizability.html"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the timeline page lacks %s", want)
		}
	}
}

// TestCheckBadInputExitsTwoNamingTheLine: bad history files exit 2 with the file, the line and
// the field named, and write nothing.
func TestCheckBadInputExitsTwoNamingTheLine(t *testing.T) {
	good := `{"client": 1, "op": "put", "key": "k", "value": "v", "call": 1, "return": 2}`
	cases := map[string]struct{ line, says string }{
		"syntax":             {`{"client": 1, "op": "put"`, "line 2: not a JSON object"},
		"unknown op":         {`{"client": 1, "op": "delete", "key": "k", "call": 1, "return": 2}`, `line 2: field "op": unknown operation "delete": want one of get, put, append, cas`},
		"missing field":      {`{"client": 1, "op": "put", "key": "k", "call": 1, "return": 2}`, `line 2: field "value": missing`},
		"return before call": {`{"client": 1, "op": "put", "key": "k", "value": "v", "call": 9, "return": 2}`, `line 2: field "return": returns at 2, before its call at 9`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "history.jsonl")
			os.WriteFile(path, []byte(good+"\n"+tc.line+"\n"), 0o644)
			out := filepath.Join(dir, "out")
			code, stdout, stderr := runCLI("check", "-out", out, path)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, path+": "+tc.says) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tc.says)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output written for a bad history: %v", err)
			}
		})
	}
	for _, args := range [][]string{
		{"check"},
		{"check", filepath.Join(t.TempDir(), "missing.jsonl")},
		{"check", published("c01-ok"), "-out", "x"},
		{"check", "-time-unit", "fortnights", published("c01-ok")},
		{"check", "-memory", "lots", published("c01-ok")},
		{"check", "-timeout", "-1s", published("c01-ok")},
	} {
		if code, _, stderr := runCLI(args...); code != exitUsage || stderr == "" {
			t.Errorf("simrun %v: exit %d, stderr %q; want exit 2 with a reason", args, code, stderr)
		}
	}
	empty := writeHistory(t, nil)
	if code, _, stderr := runCLI("check", empty); code != exitUsage || !strings.Contains(stderr, "holds no operations") {
		t.Errorf("empty history: exit %d, %q", code, stderr)
	}
}

// TestCheckMatchesTheHarness: the history of a failing run, checked by `simrun check`, gives
// the verdict and the explanation the run reported: both go through checker.Check.
func TestCheckMatchesTheHarness(t *testing.T) {
	r, err := scenarios.Execute(scenarios.Spec{Scenario: "default", Seed: 1, Bug: "no-dedup"}, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Lin == nil || r.Lin.Verdict != checker.Illegal {
		t.Fatalf("no-dedup seed 1 is no longer a linearizability failure: %s", r.Report())
	}
	path := writeHistory(t, r.History)
	code, out, errOut := runCLI("check", "-time-unit", "ns", path)
	if code != exitFail {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, r.Lin.Describe()) {
		t.Fatalf("simrun check says:\n%s\nthe run said:\n%s", out, r.Lin.Describe())
	}
}

func writeHistory(t *testing.T, history []checker.Op) string {
	t.Helper()
	var data bytes.Buffer
	if err := checker.WriteHistory(&data, history); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := os.WriteFile(path, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
