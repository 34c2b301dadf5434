package scenarios

import (
	"flag"
	"fmt"
	"sort"
	"testing"

	"github.com/raftsim/raftsim/internal/rapidchecks"
	"pgregory.net/rapid"
)

// Property tests: rapid generates whole runs (cluster size, workload, network, raft options and
// a timed fault schedule) from its own draws, so that its shrinker minimizes the run itself.
// Failure messages carry no wall-clock values or paths, so a shrunk failure is stable.

// genSchedule draws a small schedule: 3 or 5 nodes on a LAN or a WAN, a few clients and keys,
// up to 12 single faults of every kind and up to 2 storms within a few seconds, and sometimes a
// lossy network, snapshots and raft options that unmask bugs.
// (Shrinking minimizes the faults; the lower bounds on duration and operations keep each run
// long enough to exercise elections and retries.)
func genSchedule(t *rapid.T) *Schedule {
	nodes := rapid.SampledFrom([]int{3, 5}).Draw(t, "nodes")
	s := baseSchedule("swarm", rapid.Uint64Range(1, 1<<20).Draw(t, "seed"))
	s.Nodes = nodes
	s.DurationMs = int64(rapid.IntRange(2000, 8000).Draw(t, "duration_ms"))
	s.LivenessBoundMs = 10_000
	latency := rapid.SampledFrom([][2]float64{{1, 5}, {10, 40}, {20, 60}}).Draw(t, "latency_ms")
	wan(s, latency[0], latency[1])
	s.MaxRaftStateBytes = rapid.SampledFrom([]int{-1, 1000, 4000}).Draw(t, "max_raft_state_bytes")
	s.DisablePreVote = rapid.Bool().Draw(t, "disable_prevote")
	s.DisableCheckQuorum = rapid.Bool().Draw(t, "disable_check_quorum")
	s.MaxEntriesPerMsg = rapid.SampledFrom([]int{0, 1, 2}).Draw(t, "max_entries_per_msg")
	s.Network.Drop = rapid.SampledFrom([]float64{0, 0.05, 0.1}).Draw(t, "drop")
	s.Network.Duplicate = rapid.SampledFrom([]float64{0, 0.05}).Draw(t, "duplicate")
	s.Network.LongDelay = rapid.SampledFrom([]float64{0, 0.05}).Draw(t, "long_delay")
	s.Network.LongDelayMaxMs = 1000
	w := &s.Workload
	w.Clients = rapid.IntRange(1, 4).Draw(t, "clients")
	w.Keys = rapid.IntRange(1, 4).Draw(t, "keys")
	w.OpsPerClient = rapid.IntRange(5, 80).Draw(t, "ops_per_client")
	w.Get, w.Put, w.CAS = rapid.IntRange(0, 3).Draw(t, "get"), rapid.IntRange(0, 3).Draw(t, "put"), rapid.IntRange(0, 3).Draw(t, "cas")
	w.Append = 1 + rapid.IntRange(0, 2).Draw(t, "append")
	w.ReadMode = rapid.SampledFrom([]string{ReadModeReadIndex, ReadModeLog}).Draw(t, "read_mode")

	s.Faults = rapid.SliceOfN(genFault(s), 0, 12).Draw(t, "faults")
	for _, st := range rapid.SliceOfN(genStorm(s), 0, 2).Draw(t, "storms") {
		s.Faults = append(s.Faults, st...)
	}
	sortFaults(s.Faults)
	if err := s.Validate(); err != nil {
		t.Fatalf("generator made an invalid schedule: %v", err)
	}
	return s
}

// genFault draws one fault event of any kind at any time of the fault phase.
func genFault(s *Schedule) *rapid.Generator[Fault] {
	nodes := s.Nodes
	node := rapid.IntRange(0, nodes-1)
	nodeSet := rapid.SliceOfNDistinct(node, 1, nodes, rapid.ID[int])
	return rapid.Custom(func(t *rapid.T) Fault {
		f := Fault{AtMs: int64(rapid.IntRange(0, int(s.DurationMs)-1).Draw(t, "at_ms"))}
		f.Kind = rapid.SampledFrom(faultKinds).Draw(t, "kind")
		switch f.Kind {
		case FaultPartition:
			members := nodeSet.Draw(t, "minority")
			inMinority := map[int]bool{}
			for _, m := range members {
				inMinority[m] = true
			}
			var rest []int
			for x := 0; x < nodes; x++ {
				if !inMinority[x] {
					rest = append(rest, x)
				}
			}
			if len(rest) == 0 {
				f.Kind = FaultHeal
				break
			}
			sort.Ints(members)
			f.Groups = [][]int{members, rest}
		case FaultIsolate, FaultCrash, FaultRestart, FaultPause, FaultResume:
			f.Nodes = nodeSet.Draw(t, "nodes")
		case FaultClock:
			f.Nodes = nodeSet.Draw(t, "nodes")
			f.Rate = rapid.SampledFrom([]float64{0.6, 0.8, 1, 1.25, 1.5}).Draw(t, "rate")
		case FaultDropReply:
			f.Nodes = nodeSet.Draw(t, "nodes")
			f.Clients = []int{rapid.IntRange(0, s.Workload.Clients-1).Draw(t, "client")}
		case FaultLinkDown, FaultLinkUp, FaultDropNext:
			from := node.Draw(t, "from")
			to := (from + 1 + rapid.IntRange(0, nodes-2).Draw(t, "to")) % nodes
			f.Links = [][2]int{{from, to}}
		case FaultNet:
			f.Drop = rapid.SampledFrom([]float64{0, 0.1, 0.3}).Draw(t, "drop")
			f.Duplicate = rapid.SampledFrom([]float64{0, 0.1}).Draw(t, "duplicate")
			f.LongDelay = rapid.SampledFrom([]float64{0, 0.1}).Draw(t, "long_delay")
		}
		return f
	})
}

// genStorm draws a storm: a fault and its undo, repeated count times with a hold and a gap
// (the whole cluster losing power, the leader or one node losing its network). Rare
// interleavings need many quick faults in a row, which independent single faults almost
// never line up; as one drawn value, a storm also shrinks as one (fewer repeats, shorter
// holds).
func genStorm(s *Schedule) *rapid.Generator[[]Fault] {
	return rapid.Custom(func(t *rapid.T) []Fault {
		kind := rapid.SampledFrom([]string{"power-flicker", "leader-flap", "node-flap"}).Draw(t, "storm")
		at := int64(rapid.IntRange(0, int(s.DurationMs)-1).Draw(t, "start_ms"))
		count := rapid.IntRange(1, 40).Draw(t, "count")
		holdMs := int64(rapid.IntRange(1, 250).Draw(t, "hold_ms"))
		gapMs := int64(rapid.IntRange(5, 250).Draw(t, "gap_ms"))
		victim := rapid.IntRange(0, s.Nodes-1).Draw(t, "node")
		var out []Fault
		for i := 0; i < count && at+holdMs < s.DurationMs; i++ {
			switch kind {
			case "power-flicker":
				out = append(out, Fault{AtMs: at, Kind: FaultCrash, Nodes: allNodes(s.Nodes)},
					Fault{AtMs: at + holdMs, Kind: FaultRestart, Nodes: allNodes(s.Nodes)})
			case "leader-flap":
				out = append(out, Fault{AtMs: at, Kind: FaultIsolateLeader}, Fault{AtMs: at + holdMs, Kind: FaultHeal})
			case "node-flap":
				out = append(out, Fault{AtMs: at, Kind: FaultIsolate, Nodes: []int{victim}}, Fault{AtMs: at + holdMs, Kind: FaultHeal})
			}
			at += holdMs + gapMs
		}
		return out
	})
}

// deterministicRapid pins rapid's seed (unless -rapid.seed is given) so that CI explores the
// same schedules on every run; `go test -rapid.seed 0` explores new ones.
func deterministicRapid(t *testing.T) {
	if f := flag.Lookup("rapid.seed"); f != nil && f.Value.String() == "0" {
		flag.Set("rapid.seed", "20261125")
		t.Cleanup(func() { flag.Set("rapid.seed", "0") })
	}
	if f := flag.Lookup("rapid.nofailfile"); f != nil {
		flag.Set("rapid.nofailfile", "true")
	}
}

// The correct system passes every check under generated clusters, workloads and faults.
func TestPropertyCorrectSystemPassesEveryCheck(t *testing.T) {
	deterministicRapid(t)
	rapidchecks.Set(t, 300)
	rapid.Check(t, func(t *rapid.T) {
		s := genSchedule(t)
		r, err := Execute(Spec{Schedule: s}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == Fail {
			t.Fatalf("%s\nschedule:\n%s", r.Report(), s.Marshal())
		}
	})
}

// capture is a rapid.TB that records a failure instead of failing the test, so that the test
// can inspect rapid's minimized counterexample.
type capture struct {
	*testing.T
	failed bool
	msg    string
}

func (c *capture) Fatalf(format string, args ...any) {
	c.failed, c.msg = true, fmt.Sprintf(format, args...)
}
func (c *capture) Fatal(args ...any)                 { c.failed, c.msg = true, fmt.Sprint(args...) }
func (c *capture) Errorf(format string, args ...any) { c.Fatalf(format, args...) }
func (c *capture) Error(args ...any)                 { c.Fatal(args...) }
func (c *capture) FailNow()                          { c.failed = true }
func (c *capture) Fail()                             { c.failed = true }
func (c *capture) Failed() bool                      { return c.failed }

// maxShrunkFaults is the size bound a minimized planted-bug schedule must meet.
const maxShrunkFaults = 6

// genScenarioSeed draws a seed of the named workload scenario: the schedule is the scenario's,
// so rapid can shrink only the seed, and simrun's shrinker (Shrink) minimizes the faults.
func genScenarioSeed(name string) func(*rapid.T) *Schedule {
	return func(t *rapid.T) *Schedule {
		sc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return sc.Schedule(rapid.Uint64Range(1, 1000).Draw(t, "seed"))
	}
}

// plantedSearches says where the property looks for each planted bug. Most are found by
// rapid's own element-wise schedules within 300 cases (measured with the pinned seed). Four
// need interleavings that small generated schedules do not reach in that budget: a stale
// read needs a deposed leader to keep serving while clients still reach it (read-local), a
// retry must straddle a snapshot and a restart (dedup-not-in-snapshot), and two need a precise
// sequence of leader changes (vote-twice, commit-old-term). For those, rapid draws seeds of a
// scenario that produces them: default, or the short hunt sequence aimed at the bug.
var plantedSearches = []struct {
	bug string
	gen func(*rapid.T) *Schedule
}{
	{"no-dedup", genSchedule},
	{"vote-no-log-check", genSchedule},
	{"ack-before-sync", genSchedule},
	{"vote-no-persist", genSchedule},
	{"match-from-current", genSchedule},
	{"commit-no-min", genSchedule},
	{"truncate-always", genSchedule},
	{"snapshot-offset", genSchedule},
	{"read-local", genScenarioSeed("default")},
	{"dedup-not-in-snapshot", genScenarioSeed("default")},
	{"vote-twice", genScenarioSeed("vote-twice-short")},
	{"commit-old-term", genScenarioSeed("figure8-short")},
}

// For each planted bug, rapid finds a failing schedule and shrinks it, Shrink minimizes what
// rapid left, the minimal schedule is small, and replaying it through the schedule-file path
// fails the same check. -short checks the first three bugs.
func TestPropertyPlantedBugsShrinkToSmallSchedules(t *testing.T) {
	deterministicRapid(t)
	rapidchecks.Set(t, 300)
	searches := plantedSearches
	if testing.Short() {
		searches = searches[:3]
	}
	if len(plantedSearches) != len(Bugs(raftsimSUT())) {
		t.Fatalf("plantedSearches covers %d bugs, there are %d", len(plantedSearches), len(Bugs(raftsimSUT())))
	}
	for _, search := range searches {
		bug := search.bug
		t.Run(bug, func(t *testing.T) {
			var found *Schedule
			var check string
			tb := &capture{T: t}
			rapid.Check(tb, func(rt *rapid.T) {
				s := search.gen(rt)
				s.Bug = bug
				r, err := Execute(Spec{Schedule: s, Bug: bug}, Options{})
				if err != nil {
					rt.Fatal(err)
				}
				if r.Status == Fail {
					found, check = s, r.Check // the last failing run is rapid's minimal one
					rt.Fatalf("planted bug %s caught by %s", bug, r.Check)
				}
			})
			if !tb.failed || found == nil {
				t.Fatalf("rapid found no schedule that catches %s", bug)
			}
			min, st, err := Shrink(found, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Check != check {
				t.Fatalf("Shrink kept check %q, rapid's failure was %q", st.Check, check)
			}
			if len(min.Faults) > maxShrunkFaults {
				t.Errorf("minimal schedule has %d fault events, want at most %d:\n%s", len(min.Faults), maxShrunkFaults, min.Marshal())
			}
			replayed, err := ParseSchedule(min.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			r, err := Execute(Spec{Schedule: replayed, Bug: bug}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != Fail || r.Check != check {
				t.Fatalf("replaying the minimal schedule gave %s/%q, want a %s failure:\n%s", r.Status, r.Check, check, min.Marshal())
			}
			t.Logf("%s: rapid's schedule had %d faults, Shrink left %d (%d clients, %d nodes, %d ms); caught by %s",
				bug, len(found.Faults), len(min.Faults), min.Workload.Clients, min.Nodes, min.DurationMs, check)
		})
	}
}
