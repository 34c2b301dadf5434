// Package simtest runs raftsim from a go test: sweep seeds of a scenario on a system under
// test and fail with the command that replays each failure, or replay a kept schedule file.
// Import the package of your SUT (it registers itself with package sut) in the test file.
//
//	func TestDefaultOnMyRaft(t *testing.T) {
//		simtest.Sweep{SUT: "myraft", Scenario: "default", First: 1, Last: 200}.Run(t)
//	}
package simtest

import (
	"fmt"
	"testing"

	"github.com/raftsim/raftsim/scenarios"
)

// Sweep is a range of seeds of one scenario on one system under test.
type Sweep struct {
	SUT      string // "" for raftsim's own raft
	Scenario string // "" for "default"
	Bug      string // a planted bug, "" for none
	// First and Last bound the seeds (inclusive); Last 0 means First only.
	First, Last uint64
	// Options bound and trace each run (zero: the defaults of simrun).
	Options scenarios.Options
	// Command is how the reported replay commands run simrun: your own command built on
	// package simrun ("go run ./cmd/mysimrun"); "" for raftsim's (scenarios.DefaultCommand).
	Command string
}

// Run runs every seed and reports each failing or inconclusive one as a test error with its
// report and replay command. A bad name or range fails the test at once.
func (s Sweep) Run(t testing.TB) {
	t.Helper()
	scenario := s.Scenario
	if scenario == "" {
		scenario = "default"
	}
	last := s.Last
	if last == 0 {
		last = s.First
	}
	if last < s.First {
		t.Fatalf("simtest: seeds %d-%d: the last seed is before the first", s.First, last)
	}
	failed := 0
	for seed := s.First; seed <= last; seed++ {
		spec := scenarios.Spec{Scenario: scenario, Seed: seed, SUT: s.SUT, Bug: s.Bug}
		r, err := scenarios.Execute(spec, s.Options)
		if err != nil {
			t.Fatalf("simtest: %v", err)
		}
		if r.Status != scenarios.Pass {
			failed++
			t.Errorf("%s\n  replay: %s", r.Report(), spec.ReplayCommandWith(s.Command, ""))
		}
	}
	if failed > 0 {
		t.Logf("%d of %d seeds of %s did not pass", failed, last-s.First+1, scenario)
	}
}

// Replay runs the schedule file at path (as simrun -schedule does) on sut ("" for the file's
// own SUT) and returns what the run found; keep a shrunk failing schedule in testdata and
// assert on the result.
func Replay(t testing.TB, path, sut string) *scenarios.Result {
	t.Helper()
	s, err := scenarios.LoadSchedule(path)
	if err != nil {
		t.Fatalf("simtest: %v", err)
	}
	spec := scenarios.Spec{Scenario: s.Scenario, Seed: s.Seed, SUT: sut, Bug: s.Bug, Schedule: s}
	r, err := scenarios.Execute(spec, scenarios.Options{})
	if err != nil {
		t.Fatalf("simtest: %s: %v", path, err)
	}
	return r
}

// String names the sweep for test names and logs.
func (s Sweep) String() string {
	return fmt.Sprintf("%s/%s seeds %d-%d", s.SUT, s.Scenario, s.First, s.Last)
}
