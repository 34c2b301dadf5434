package scenarios

import (
	"path/filepath"
	"testing"
)

// Explore keeps schedules that reached new probes, saves its corpus and resumes from it, and
// every run it executes replays from its executed schedule.
func TestExploreCorpusAndResume(t *testing.T) {
	dir := t.TempDir()
	first, err := Explore(ExploreConfig{Runs: 24, Seed: 1, CorpusDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if first.Failure != nil {
		t.Fatalf("the correct build failed under exploration:\n%s", first.Failure.Report())
	}
	if first.Corpus == 0 || len(first.Probes) < 10 || first.Fresh == first.Runs {
		t.Fatalf("corpus %d, %d probes, %d fresh of %d runs: want a corpus, coverage and some mutated runs", first.Corpus, len(first.Probes), first.Fresh, first.Runs)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "entry-*.json"))
	if len(entries) != first.Corpus {
		t.Fatalf("%d corpus files for a corpus of %d", len(entries), first.Corpus)
	}
	again, err := Explore(ExploreConfig{Runs: 4, Seed: 1, CorpusDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Runs != first.Runs+4 || again.Corpus < first.Corpus || len(again.Probes) < len(first.Probes) {
		t.Fatalf("resumed: %d runs, corpus %d, %d probes; want %d runs and no less than %d/%d", again.Runs, again.Corpus,
			len(again.Probes), first.Runs+4, first.Corpus, len(first.Probes))
	}
}

// A failure found by exploration replays exactly from its executed schedule.
func TestExploreFailureReplays(t *testing.T) {
	res, err := Explore(ExploreConfig{Runs: 30, Seed: 1, Bug: "no-dedup", StopAtFailure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil {
		t.Fatalf("no failure of no-dedup in %d explored runs", res.Runs)
	}
	again := replayExecuted(t, res.Failure, "no-dedup")
	if again.Hash != res.Failure.Hash || again.Check != res.Failure.Check {
		t.Fatalf("run %d: %s trace %016x, replay %s trace %016x", res.FailureRun, res.Failure.Check, res.Failure.Hash, again.Check, again.Hash)
	}
}
