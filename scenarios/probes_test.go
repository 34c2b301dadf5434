package scenarios

import (
	"strings"
	"testing"
)

// The probe catalogue has at least 20 probes with unique names and descriptions, from raft,
// the KV service and the harness.
func TestProbeCatalogue(t *testing.T) {
	probes := Probes(raftsimSUT())
	if len(probes) < 20 {
		t.Fatalf("%d probes, want at least 20", len(probes))
	}
	seen := map[string]bool{}
	layers := map[string]bool{}
	for _, p := range probes {
		if seen[p.Name] || p.Description == "" {
			t.Fatalf("probe %q is listed twice or has no description", p.Name)
		}
		seen[p.Name] = true
		layer, _, _ := strings.Cut(p.Name, "/")
		layers[layer] = true
	}
	for _, l := range []string{"raft", "kv", "harness"} {
		if !layers[l] {
			t.Fatalf("no probe of layer %s", l)
		}
	}
}

// A run reports the probes it reached, all from the catalogue; a few default seeds reach many
// of them, and a run without faults reaches fewer than a run with them.
func TestRunsReportTheirProbes(t *testing.T) {
	catalogue := map[string]bool{}
	for _, p := range Probes(raftsimSUT()) {
		catalogue[p.Name] = true
	}
	union := map[string]bool{}
	for seed := uint64(1); seed <= 6; seed++ {
		r := execute(t, Spec{Scenario: "default", Seed: seed})
		for _, name := range r.Probes {
			if !catalogue[name] {
				t.Fatalf("seed %d reports probe %q, which is not in the catalogue", seed, name)
			}
			union[name] = true
		}
	}
	if len(union) < 15 {
		t.Fatalf("6 default seeds reach %d probes, want at least 15: %v", len(union), union)
	}
	calm := baseSchedule("default", 1)
	calm.DurationMs = 2000
	r := execute(t, Spec{Schedule: calm})
	if len(r.Probes) >= len(union) {
		t.Fatalf("a run without faults reaches %d probes, as many as faulty runs (%d)", len(r.Probes), len(union))
	}
	for _, name := range r.Probes {
		if name == ProbeLeaderCrashUncommitted || name == ProbeAllServersDown {
			t.Fatalf("a run without faults reports %s", name)
		}
	}
}
