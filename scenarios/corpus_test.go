package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadCorpus(t *testing.T, dir string) map[string]*Schedule {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Schedule{}
	for _, p := range paths {
		s, err := LoadSchedule(p)
		if err != nil {
			t.Fatalf("corpus file does not load: %v", err)
		}
		out[filepath.Base(p)] = s
	}
	return out
}

// TestRegressionCorpus replays every schedule that once exposed a real bug: all must pass.
func TestRegressionCorpus(t *testing.T) {
	for name, s := range loadCorpus(t, "regressions") {
		r, err := Execute(Spec{Schedule: s}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Status != Pass {
			t.Errorf("regression %s is back:\n%s", name, r.Report())
		}
	}
}

// TestPlantedCorpus replays the minimal schedule kept for each planted bug (named
// <bug>--<check>.json): with the bug it must fail that check, without it it must pass.
func TestPlantedCorpus(t *testing.T) {
	corpus := loadCorpus(t, filepath.Join("testdata", "planted"))
	for name, s := range corpus {
		bug, check, ok := strings.Cut(strings.TrimSuffix(name, ".json"), "--")
		if !ok {
			t.Fatalf("%s: want the name <bug>--<check>.json", name)
		}
		with, err := Execute(Spec{Schedule: s, Bug: bug}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if with.Status != Fail || with.Check != check {
			t.Errorf("%s with bug %s: %s/%q, want a %s failure", name, bug, with.Status, with.Check, check)
		}
		without, err := Execute(Spec{Schedule: s}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if without.Status != Pass {
			t.Errorf("%s fails without its bug:\n%s", name, without.Report())
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "planted")); err != nil {
		t.Fatal(err)
	}
}
