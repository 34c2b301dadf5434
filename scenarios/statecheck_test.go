package scenarios

import (
	"testing"

	"github.com/raftsim/raftsim/checker/monitor"
)

// corruptSchedule is a run in which follower 1 installs snapshots from the leader: servers
// snapshot every few KB, and node 1 is cut off twice while the others go on.
func corruptSchedule() *Schedule {
	s := baseSchedule("default", 3)
	s.Nodes = 3
	s.MaxRaftStateBytes = 2000
	s.DurationMs = 6000
	s.Faults = []Fault{
		{AtMs: 1000, Kind: FaultIsolate, Nodes: []int{1}}, {AtMs: 2500, Kind: FaultHeal},
		{AtMs: 3500, Kind: FaultIsolate, Nodes: []int{1}}, {AtMs: 5000, Kind: FaultHeal},
	}
	return s
}

// A replica whose state diverges without any client noticing (a test-only corruption of
// node 1's state when it installs a snapshot from the leader, on a key no client uses) is
// caught by the replica state check, and by nothing else: without that check the same run
// passes, and without the corruption it passes too.
func TestStateCheckCatchesSilentDivergence(t *testing.T) {
	s := corruptSchedule()
	run := func(opts Options) *Result {
		r, err := Execute(Spec{Schedule: s}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(Options{}); r.Status != Pass {
		t.Fatalf("the run fails without the corruption:\n%s", r.Report())
	}
	caught := run(Options{corruptRestore: 2})
	if caught.Status != Fail || caught.Check != monitor.PropertyStateDivergence {
		t.Fatalf("with node 1 corrupting its state on snapshot install: %s/%q, want a %s failure\n%s",
			caught.Status, caught.Check, monitor.PropertyStateDivergence, caught.Report())
	}
	if !contains(caught.Probes, ProbeSnapshotFromLeader) {
		t.Fatalf("node 1 installed no snapshot from the leader (probes %v): the test proves nothing", caught.Probes)
	}
	if r := run(Options{corruptRestore: 2, skipStateCheck: true}); r.Status != Pass {
		t.Fatalf("without the state check, another check caught the corruption:\n%s", r.Report())
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
