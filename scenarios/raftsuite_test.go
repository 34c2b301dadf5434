package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raftsim/raftsim/sim"
)

// raftSuiteSeeds is how many seeds every raft/ scenario must pass, in -short mode too.
const raftSuiteSeeds = 20

// raftSuiteNames returns the registered raft/ scenarios.
func raftSuiteNames() []string {
	var names []string
	for _, name := range Names() {
		if strings.HasPrefix(name, "raft/") {
			names = append(names, name)
		}
	}
	return names
}

// raftSuiteTests are the 6.5840 tests the suite ports; each must be registered as raft/<Test>.
var raftSuiteTests = []string{
	"InitialElection", "ReElection", "ManyElections",
	"BasicAgree", "RPCBytes", "FollowerFailure", "LeaderFailure", "FailAgree", "FailNoAgree",
	"ConcurrentStarts", "Rejoin", "Backup", "Count",
	"Persist1", "Persist2", "Persist3", "Figure8", "UnreliableAgree", "Figure8Unreliable",
	"ReliableChurn", "UnreliableChurn",
	"SnapshotBasic", "SnapshotInstall", "SnapshotInstallUnreliable", "SnapshotInstallCrash",
	"SnapshotInstallUnCrash", "SnapshotAllCrash", "SnapshotInit",
}

func TestRaftSuiteRegistered(t *testing.T) {
	registered := map[string]bool{}
	for _, name := range raftSuiteNames() {
		registered[name] = true
	}
	for _, test := range raftSuiteTests {
		name := "raft/" + test
		if !registered[name] {
			t.Errorf("scenario %s is not registered", name)
			continue
		}
		sc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Script == nil || sc.Description == "" {
			t.Errorf("%s: want a scripted scenario with a description", name)
		}
	}
	if got, want := len(registered), len(raftSuiteTests); got != want {
		t.Errorf("%d raft/ scenarios registered, want %d: %v", got, want, raftSuiteNames())
	}
}

// TestRaftSuite runs every raft/ scenario on raftSuiteSeeds seeds; every run must pass. The
// scenarios run in parallel (each run is single-threaded and shares nothing).
func TestRaftSuite(t *testing.T) {
	for _, name := range raftSuiteNames() {
		t.Run(strings.TrimPrefix(name, "raft/"), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= raftSuiteSeeds; seed++ {
				res, err := Execute(Spec{Scenario: name, Seed: seed}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != Pass {
					t.Errorf("%s\n  replay: simrun -scenario %s -seed %d", res.Report(), name, seed)
				}
			}
		})
	}
}

// TestRaftSuiteDeterministic: a script's run is a pure function of its seed, tasks included.
func TestRaftSuiteDeterministic(t *testing.T) {
	for _, name := range []string{"raft/UnreliableChurn", "raft/ConcurrentStarts", "raft/SnapshotInstallUnCrash"} {
		first, err := Execute(Spec{Scenario: name, Seed: 7}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		second, err := Execute(Spec{Scenario: name, Seed: 7}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if first.Hash != second.Hash || first.Events != second.Events || first.VirtualTime != second.VirtualTime {
			t.Errorf("%s seed 7 ran twice: hash %x/%x, events %d/%d, virtual time %v/%v",
				name, first.Hash, second.Hash, first.Events, second.Events, first.VirtualTime, second.VirtualTime)
		}
		other, err := Execute(Spec{Scenario: name, Seed: 8}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if other.Hash == first.Hash {
			t.Errorf("%s: seeds 7 and 8 gave the same trace hash %x", name, first.Hash)
		}
	}
}

// raftSuiteCatches lists planted raft bugs with raft/ scenarios that catch them and the seed
// budget within which one of them must. (Budgets are about twice the first catching seed seen;
// catch rates over seeds 1-30 are noted. commit-old-term, vote-twice, vote-no-persist and
// snapshot-offset are caught by no raft/ scenario in 200 seeds: see the suite's report.)
var raftSuiteCatches = []struct {
	bug       string
	scenarios []string
	seeds     uint64
}{
	{"vote-no-log-check", []string{"raft/Persist2", "raft/Figure8"}, 5},                  // 30/30, 22/30
	{"match-from-current", []string{"raft/Figure8", "raft/Figure8Unreliable"}, 10},       // 20/30, 16/30
	{"commit-no-min", []string{"raft/Figure8Unreliable", "raft/UnreliableChurn"}, 5},     // 30/30, 12/30
	{"ack-before-sync", []string{"raft/Persist2", "raft/UnreliableChurn"}, 5},            // 30/30, 4/30
	{"truncate-always", []string{"raft/UnreliableChurn", "raft/Figure8Unreliable"}, 100}, // 1/30, 0/30
}

// TestRaftSuiteCatchesPlantedBugs: with a planted bug switched on, some run of the listed
// scenarios must fail within the seed budget, on a seed that passes without the bug (so the
// failure is the bug's doing).
func TestRaftSuiteCatchesPlantedBugs(t *testing.T) {
	for _, tc := range raftSuiteCatches {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			if _, err := LookupBug(tc.bug, raftsimSUT()); err != nil {
				t.Fatalf("bug not planted in this build: %v", err)
			}
			for seed := uint64(1); seed <= tc.seeds; seed++ {
				for _, name := range tc.scenarios {
					res, err := Execute(Spec{Scenario: name, Seed: seed, Bug: tc.bug}, Options{})
					if err != nil {
						t.Fatal(err)
					}
					if res.Status != Fail {
						continue
					}
					clean, err := Execute(Spec{Scenario: name, Seed: seed}, Options{})
					if err != nil {
						t.Fatal(err)
					}
					if clean.Status != Pass {
						t.Fatalf("%s seed %d fails without the bug too: %s", name, seed, clean.Report())
					}
					t.Logf("caught by %s seed %d: %s: %s", name, seed, res.Check, firstLine(res.Message))
					return
				}
			}
			t.Errorf("planted bug %s not caught by %v within %d seeds", tc.bug, tc.scenarios, tc.seeds)
		})
	}
}

// TestRaftSuiteFailsOnBadScript: scripts whose checks cannot hold fail with the raft-test check
// (the suite's passes are not vacuous), and a failure in a task fails the run too.
func TestRaftSuiteFailsOnBadScript(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script *Script
		want   string // in the failure message
	}{
		{"impossible-index", &Script{Nodes: 3, Run: func(c *Cluster) {
			c.One(1, c.N(), false)
			expectCommandNumber(c, c.One(2, c.N(), false), 5)
		}}, "expected 5"},
		{"leader-without-quorum", &Script{Nodes: 3, Run: func(c *Cluster) {
			leader := c.CheckOneLeader()
			for i := 0; i < c.N(); i++ {
				if i != leader {
					c.Disconnect(i)
				}
			}
			// a leader cut off from everyone cannot commit
			c.One(7, 1, false)
		}}, "failed to reach agreement"},
		{"fatal-in-task", &Script{Nodes: 3, Run: func(c *Cluster) {
			c.Go("failing", func(t *Task) {
				t.Sleep(100 * sim.Millisecond)
				c.Fatalf("task failed on purpose")
			})
			c.Sleep(sim.Second)
			c.Fatalf("the main line went on after its task failed")
		}}, "on purpose"},
		{"main-fails-while-tasks-sleep", &Script{Nodes: 3, Run: func(c *Cluster) {
			for i := 0; i < 3; i++ {
				c.Go(fmt.Sprintf("sleeper-%d", i), func(t *Task) { t.Sleep(10 * sim.Second) })
			}
			c.Sleep(sim.Second)
			c.Fatalf("main line failed while tasks sleep")
		}}, "while tasks sleep"},
		// SnapshotBasic with servers that never snapshot: the log outgrows MAXLOGSIZE.
		{"snapshots-off", &Script{Nodes: 3, Run: func(c *Cluster) { raftSnapCommon(c, false, false) }}, "Log size too large"},
	} {
		res := runAdHocScript(t, "raft-test-bad/"+tc.name, tc.script)
		if res.Status != Fail || res.Check != CheckRaftTest || !strings.Contains(res.Message, tc.want) {
			t.Errorf("%s: status %v check %q, want a %s failure saying %q: %s",
				tc.name, res.Status, res.Check, CheckRaftTest, tc.want, res.Report())
		}
	}
}

// runAdHocScript runs a script that is not registered (so simrun never lists it).
func runAdHocScript(t *testing.T, name string, s *Script) *Result {
	t.Helper()
	return runScript(&Scenario{Name: name, Description: "ad hoc test script", Script: s}, 1, raftsimSUT(), Bug{}, Options{})
}

// TestRaftSuiteTimes logs each scenario's virtual and wall time for seed 1 (go test -v -run
// RaftSuiteTimes), the figures behind the suite's speed.
func TestRaftSuiteTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("timing report only")
	}
	var totalVirtual sim.Time
	var totalWall time.Duration
	var lines []string
	for _, name := range raftSuiteNames() {
		start := time.Now()
		res, err := Execute(Spec{Scenario: name, Seed: 1}, Options{})
		wall := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		totalVirtual += res.VirtualTime
		totalWall += wall
		lines = append(lines, fmt.Sprintf("%-32s %-5v virtual %9v wall %9v events %9d (%.0fx)",
			name, res.Status, res.VirtualTime, wall.Round(time.Millisecond), res.Events,
			float64(res.VirtualTime)/float64(wall)))
	}
	t.Logf("raft suite, seed 1:\n%s\ntotal virtual %v, wall %v: %.0fx real time",
		strings.Join(lines, "\n"), totalVirtual, totalWall.Round(time.Millisecond), float64(totalVirtual)/float64(totalWall))
}
