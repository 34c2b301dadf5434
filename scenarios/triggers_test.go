package scenarios

import (
	"strings"
	"testing"
)

// exactnessSeeds is how many default seeds the exactness tests run (each twice or more).
func exactnessSeeds() uint64 {
	if testing.Short() {
		return 8
	}
	return 24
}

// replayExecuted replays a run's executed schedule through its JSON encoding, as
// -print-schedule and -schedule do.
func replayExecuted(t *testing.T, r *Result, bug string) *Result {
	t.Helper()
	s, err := ParseSchedule(r.Schedule.Marshal())
	if err != nil {
		t.Fatalf("seed %d: the executed schedule does not parse: %v", r.Seed, err)
	}
	if len(s.Triggers) != 0 {
		t.Fatalf("seed %d: the executed schedule still has %d triggers", r.Seed, len(s.Triggers))
	}
	return execute(t, Spec{Schedule: s, Bug: bug})
}

// A generated default run and the replay of the schedule it executed (triggered faults
// recorded at their instants) execute the same events: same trace hash and event count.
func TestTriggeredRunsReplayExactly(t *testing.T) {
	placed := 0
	for seed := uint64(1); seed <= exactnessSeeds(); seed++ {
		r := execute(t, Spec{Scenario: "default", Seed: seed})
		for _, f := range r.Schedule.Faults {
			if f.Trigger != "" {
				placed++
				if f.AtNs == 0 {
					t.Fatalf("seed %d: a triggered fault has no at_ns: %+v", seed, f)
				}
			}
		}
		again := replayExecuted(t, r, "")
		if again.Hash != r.Hash || again.Events != r.Events || again.Status != r.Status {
			t.Fatalf("default seed %d: run %s trace %016x (%d events), replay of its schedule %s trace %016x (%d events)",
				seed, r.Status, r.Hash, r.Events, again.Status, again.Hash, again.Events)
		}
	}
	if placed == 0 {
		t.Fatal("no trigger placed a fault in any seed: the test proves nothing")
	}
}

// The same holds for a failing run, which stops at its violation with faults still queued.
func TestFailingTriggeredRunReplaysExactly(t *testing.T) {
	for _, c := range []struct {
		bug  string
		seed uint64
	}{{"no-dedup", 1}, {"match-from-current", 1}} {
		r := execute(t, Spec{Scenario: "default", Seed: c.seed, Bug: c.bug})
		if r.Status != Fail {
			t.Fatalf("default seed %d with %s: %s, want a failure", c.seed, c.bug, r.Status)
		}
		again := replayExecuted(t, r, c.bug)
		if again.Hash != r.Hash || again.Check != r.Check {
			t.Fatalf("%s seed %d: run %s trace %016x, replay %s trace %016x", c.bug, c.seed, r.Check, r.Hash, again.Check, again.Hash)
		}
	}
}

// Exactness needs each placed fault's instant and its place first in that instant: replaying
// with the faults rounded to the millisecond (as if AtNs were not recorded) runs something
// else. (If this test fails, the exactness test above could not fail.)
func TestPlacedFaultsNeedTheirInstant(t *testing.T) {
	differ, tried := 0, 0
	for seed := uint64(1); seed <= exactnessSeeds(); seed++ {
		r := execute(t, Spec{Scenario: "default", Seed: seed})
		s := r.Schedule.Clone()
		rounded := false
		for i := range s.Faults {
			if s.Faults[i].AtNs != 0 {
				s.Faults[i].AtNs, rounded = 0, true
			}
		}
		if !rounded {
			continue
		}
		tried++
		if execute(t, Spec{Schedule: s}).Hash != r.Hash {
			differ++
		}
	}
	if tried == 0 || differ == 0 {
		t.Fatalf("rounding placed faults to the millisecond changed %d of %d runs; want some", differ, tried)
	}
}

// Bad triggers are rejected with the field and the valid choices.
func TestTriggerValidation(t *testing.T) {
	good := Trigger{On: []string{EventCommit}, Fault: TriggerCrash, Target: TargetLeader, Chance: 1, DelayMaxMs: 5,
		HoldMinMs: 1, HoldMaxMs: 10, CooldownMs: 100, FromMs: 100, Max: 2}
	for _, c := range []struct {
		edit func(t *Trigger)
		want string
	}{
		{func(t *Trigger) { t.On = []string{"comit"} }, `triggers[0].on[0]: "comit" is not a trigger event (did you mean "commit"?)`},
		{func(t *Trigger) { t.On = nil }, "triggers[0].on: a trigger needs at least one event"},
		{func(t *Trigger) { t.Fault = "explode" }, `triggers[0].fault: "explode" is not a trigger fault`},
		{func(t *Trigger) { t.Target = "everyone" }, `triggers[0].target: "everyone" is not a trigger target`},
		{func(t *Trigger) { t.Chance = 0 }, "triggers[0].chance"},
		{func(t *Trigger) { t.HoldMinMs = 20 }, "triggers[0].hold_min_ms/hold_max_ms"},
		{func(t *Trigger) { t.Max = 0 }, "triggers[0].max"},
		{func(t *Trigger) { t.FromMs = 1 << 40 }, "triggers[0].from_ms"},
	} {
		s := baseSchedule("default", 1)
		tr := good
		c.edit(&tr)
		s.Triggers = []Trigger{tr}
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("trigger %+v: error %v, want it to contain %q", tr, err, c.want)
		}
	}
	s := baseSchedule("default", 1)
	s.Triggers = []Trigger{good}
	if err := s.Validate(); err != nil {
		t.Fatalf("good trigger rejected: %v", err)
	}
}

// A fault placed at a nanosecond must lie within its millisecond.
func TestPlacedFaultInstantMustMatchItsMillisecond(t *testing.T) {
	s := baseSchedule("default", 1)
	s.Faults = []Fault{{AtMs: 5, AtNs: 7_000_001, Kind: FaultHeal}}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "faults[0].at_ns") {
		t.Fatalf("error %v, want one about faults[0].at_ns", err)
	}
}

// default's seeds draw triggers of many events and faults (the swarm covers the space).
func TestDefaultDrawsVariedTriggers(t *testing.T) {
	events, faults := map[string]bool{}, map[string]bool{}
	for seed := uint64(1); seed <= 200; seed++ {
		s := defaultSchedule(seed)
		if len(s.Triggers) == 0 {
			t.Fatalf("default seed %d has no triggers", seed)
		}
		for _, tr := range s.Triggers {
			for _, ev := range tr.On {
				events[ev] = true
			}
			faults[tr.Fault] = true
		}
	}
	if len(events) != len(TriggerEvents) || len(faults) != len(TriggerFaults) {
		t.Fatalf("200 seeds draw %d of %d events and %d of %d faults", len(events), len(TriggerEvents), len(faults), len(TriggerFaults))
	}
}
