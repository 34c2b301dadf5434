package detguard

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// expectedFindings reads the fixtures' expectations: a "// want rule..." comment on a line
// expects those rules there, and a line holding only the marker without a reason expects a
// "marker" finding.
func expectedFindings(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(f)
		for line := 1; scanner.Scan(); line++ {
			text := scanner.Text()
			if strings.TrimSpace(text) == "// "+Marker {
				want = append(want, fmt.Sprintf("%s:%d:%s", path, line, RuleMarker))
			}
			if i := strings.Index(text, "// want "); i >= 0 {
				for _, rule := range strings.Fields(text[i+len("// want "):]) {
					want = append(want, fmt.Sprintf("%s:%d:%s", path, line, rule))
				}
			}
		}
		f.Close()
		if err := scanner.Err(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(want)
	return want
}

func findingKeys(findings []Finding) []string {
	keys := make([]string, len(findings))
	for i, f := range findings {
		keys[i] = fmt.Sprintf("%s:%d:%s", f.File, f.Line, f.Rule)
	}
	sort.Strings(keys)
	return keys
}

func TestBadFixturesAreAllFlagged(t *testing.T) {
	dir := filepath.Join("testdata", "bad")
	findings, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, want := findingKeys(findings), expectedFindings(t, dir)
	if !slices.Equal(got, want) {
		t.Errorf("findings differ from the fixtures' want comments")
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("missing: %s", k)
			}
		}
		for _, f := range findings {
			if !slices.Contains(want, fmt.Sprintf("%s:%d:%s", f.File, f.Line, f.Rule)) {
				t.Errorf("unexpected: %s", f)
			}
		}
	}
	// Each fixture exists to exercise one construct: every file must produce a finding.
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, file := range files {
		flagged := false
		for _, f := range findings {
			flagged = flagged || f.File == file
		}
		if !flagged {
			t.Errorf("%s: no finding", file)
		}
	}
	for _, f := range findings {
		if f.Text == "" {
			t.Errorf("%s: finding without text", f)
		}
	}
}

func TestGoodFixturesPass(t *testing.T) {
	findings, err := Check(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("unexpected finding: %s", f)
	}
}

func TestCheckReportsUnreadableAndBrokenInput(t *testing.T) {
	if _, err := Check(filepath.Join("testdata", "does-not-exist")); err == nil {
		t.Error("Check of a missing directory returned no error")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.go"), []byte("package broken\nfunc f() { return undefinedName }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir); err == nil || !strings.Contains(err.Error(), "type-check") {
		t.Errorf("Check of a package with a type error: err = %v", err)
	}
}

// simulatedPackages are the directories whose code runs inside a simulation (DESIGN.md,
// "Determinism rules"). Directories that do not exist yet are skipped.
var simulatedPackages = []string{"sim", "raft", "sut", "kv", "scenarios", filepath.Join("checker", "monitor")}

// TestSimulatedPackagesAreDeterministic checks every package under the simulated directories,
// subpackages included (testdata and hidden directories excepted).
func TestSimulatedPackagesAreDeterministic(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	for _, rel := range simulatedPackages {
		top := filepath.Join(root, rel)
		if _, err := os.Stat(top); os.IsNotExist(err) {
			t.Logf("%s does not exist yet: skipped", rel)
			continue
		}
		err := filepath.WalkDir(top, func(path string, entry os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !entry.IsDir() {
				return nil
			}
			name := entry.Name()
			if path != top && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			findings, err := Check(path)
			for _, f := range findings {
				t.Errorf("%s", f)
			}
			if err != nil {
				t.Errorf("%v", err)
			}
			checked++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no simulated package found: is the test running from internal/detguard?")
	}
}
