package scenarios

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func validSchedule() *Schedule {
	s := baseSchedule("swarm", 1)
	s.Faults = []Fault{
		{AtMs: 100, Kind: FaultPartition, Groups: [][]int{{0, 1}, {2, 3, 4}}},
		{AtMs: 200, Kind: FaultHeal},
		{AtMs: 300, Kind: FaultCrash, Nodes: []int{2}},
		{AtMs: 400, Kind: FaultRestart, Nodes: []int{2}},
		{AtMs: 500, Kind: FaultLinkDown, Links: [][2]int{{0, 1}}},
		{AtMs: 600, Kind: FaultClock, Nodes: []int{3}, Rate: 1.5},
		{AtMs: 700, Kind: FaultNet, Drop: 0.1},
		{AtMs: 800, Kind: FaultIsolateLeader},
	}
	return s
}

func TestScheduleRoundTrip(t *testing.T) {
	s := validSchedule()
	data := s.Marshal()
	back, err := ParseSchedule(data)
	if err != nil {
		t.Fatalf("a valid schedule does not parse back: %v\n%s", err, data)
	}
	if !bytes.Equal(back.Marshal(), data) {
		t.Fatalf("round trip changed the schedule:\n%s\nvs\n%s", data, back.Marshal())
	}
}

// Malformed or inconsistent schedules name the field and the problem.
func TestScheduleRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		edit func(s *Schedule)
		want string
	}{
		{"unknown scenario", func(s *Schedule) { s.Scenario = "nope" }, `scenario: unknown scenario "nope"; simrun -list shows all`},
		{"mistyped scenario", func(s *Schedule) { s.Scenario = "partition-halfs" }, `(did you mean "partition-halves"?)`},
		{"no scenario", func(s *Schedule) { s.Scenario = "" }, `scenario: unknown scenario ""`},
		{"scripted scenario", func(s *Schedule) { s.Scenario = "raft/Figure8" }, "scenario: raft/Figure8 is a scripted scenario"},
		{"no clients", func(s *Schedule) { s.Workload.Clients = 0 }, "workload.clients: 0 is out of range 1..64"},
		{"read-only clients", func(s *Schedule) { s.Workload.Put, s.Workload.Append, s.Workload.CAS = 0, 0, 0 }, "workload.put/append/cas: all 0"},
		{"no nodes", func(s *Schedule) { s.Nodes = 0 }, "nodes: 0 is out of range"},
		{"too many nodes", func(s *Schedule) { s.Nodes = 100 }, "nodes: 100 is out of range"},
		{"bad raft state", func(s *Schedule) { s.MaxRaftStateBytes = 0 }, "max_raft_state_bytes"},
		{"latency inverted", func(s *Schedule) { s.Network.LatencyMinMs = 9 }, "network.latency_min_ms"},
		{"drop > 1", func(s *Schedule) { s.Network.Drop = 1.5 }, "network.drop"},
		{"no keys", func(s *Schedule) { s.Workload.Keys = 0 }, "workload.keys"},
		{"no weights", func(s *Schedule) { s.Workload.Get, s.Workload.Put, s.Workload.Append, s.Workload.CAS = 0, 0, 0, 0 }, "workload.get/put/append/cas"},
		{"read mode", func(s *Schedule) { s.Workload.ReadMode = "quorum" }, `workload.read_mode: "quorum"`},
		{"duration", func(s *Schedule) { s.DurationMs = 0 }, "duration_ms"},
		{"liveness", func(s *Schedule) { s.LivenessBoundMs = 0 }, "liveness_bound_ms"},
		{"unknown kind", func(s *Schedule) { s.Faults[0].Kind = "meteor" }, `faults[0].kind: "meteor" is not a fault kind; valid kinds: partition`},
		{"node out of range", func(s *Schedule) { s.Faults[2].Nodes = []int{7} }, "faults[2].nodes: node 7 does not exist"},
		{"crash without nodes", func(s *Schedule) { s.Faults[2].Nodes = nil }, "faults[2].nodes: kind \"crash\" needs at least one node"},
		{"one group", func(s *Schedule) { s.Faults[0].Groups = [][]int{{0, 1}} }, "faults[0].groups: a partition needs at least two groups"},
		{"node in two groups", func(s *Schedule) { s.Faults[0].Groups = [][]int{{0, 1}, {1, 2}} }, "node 1 is in two groups"},
		{"self link", func(s *Schedule) { s.Faults[4].Links = [][2]int{{1, 1}} }, "links a node to itself"},
		{"clock rate", func(s *Schedule) { s.Faults[5].Rate = 5 }, "faults[5].rate"},
		{"net rate", func(s *Schedule) { s.Faults[6].Drop = -1 }, "faults[6].drop"},
		{"out of order", func(s *Schedule) { s.Faults[1].AtMs = 50 }, "faults[1].at_ms: 50 is before faults[0].at_ms"},
		{"after duration", func(s *Schedule) { s.Faults[7].AtMs = s.DurationMs }, "faults[7].at_ms"},
	}
	for _, c := range cases {
		s := validSchedule()
		c.edit(s)
		_, err := ParseSchedule(s.Marshal())
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
	for _, bad := range []string{`{"nodes": 3, "bogus": 1}`, `{"nodes": 3`, `{"nodes": "three"}`, `{} {}`, ``} {
		if _, err := ParseSchedule([]byte(bad)); err == nil {
			t.Errorf("malformed JSON %q accepted", bad)
		}
	}
}

// Every generated schedule is valid, and the same seed generates the same schedule.
func TestGeneratedSchedulesAreValidAndDeterministic(t *testing.T) {
	for _, sc := range All() {
		if sc.Schedule == nil {
			continue
		}
		for seed := uint64(1); seed <= 20; seed++ {
			a, b := sc.Schedule(seed), sc.Schedule(seed)
			if err := a.Validate(); err != nil {
				t.Fatalf("%s seed %d generates an invalid schedule: %v", sc.Name, seed, err)
			}
			if !bytes.Equal(a.Marshal(), b.Marshal()) {
				t.Fatalf("%s seed %d generates two different schedules", sc.Name, seed)
			}
		}
	}
}

// Swarm's fault kinds draw from their own streams: the faults a kind generates do not depend
// on which other kinds the seed switched on.
func TestFaultStreamsAreIndependent(t *testing.T) {
	s1 := baseSchedule("x", 9)
	genCrashRestart(newFaultGen(s1, "x/crash-restart"))
	s2 := baseSchedule("x", 9)
	genIsolateOne(newFaultGen(s2, "x/isolate-one"))
	genCrashRestart(newFaultGen(s2, "x/crash-restart"))
	var crashes []Fault
	for _, f := range s2.Faults {
		if f.Kind == FaultCrash || f.Kind == FaultCrashLeader || f.Kind == FaultRestart {
			crashes = append(crashes, f)
		}
	}
	a, b := &Schedule{Faults: s1.Faults}, &Schedule{Faults: crashes}
	if !bytes.Equal(a.Marshal(), b.Marshal()) {
		t.Fatalf("adding isolate-one faults changed the crash-restart faults")
	}
}

func TestMajoritiesRingEveryNodeSeesADifferentMajority(t *testing.T) {
	for n := 5; n <= 9; n += 2 {
		order := make([]int, n)
		for i := range order {
			order[i] = (i * 2) % n // a permutation for odd n
		}
		cut := map[[2]int]bool{}
		for _, l := range majoritiesRingLinks(order) {
			cut[l] = true
		}
		seen := map[string]bool{}
		for a := 0; a < n; a++ {
			var sees []int
			for b := 0; b < n; b++ {
				if a == b || (!cut[[2]int{a, b}] && !cut[[2]int{b, a}]) {
					sees = append(sees, b)
				}
			}
			if len(sees) < n/2+1 {
				t.Fatalf("n=%d: node %d sees %v, not a majority", n, a, sees)
			}
			key := fmt.Sprint(sees)
			if seen[key] {
				t.Fatalf("n=%d: two nodes see the same majority %s", n, key)
			}
			seen[key] = true
		}
	}
}

func TestBridgeKeepsTheBridgeConnected(t *testing.T) {
	order := []int{3, 0, 1, 2, 4}
	for _, l := range bridgeLinks(order) {
		if l[0] == 3 || l[1] == 3 {
			t.Fatalf("bridge node 3 lost link %v", l)
		}
	}
	if len(bridgeLinks(order)) != 8 { // 2x2 pairs, both directions
		t.Fatalf("bridge over 5 nodes cuts %d links, want 8", len(bridgeLinks(order)))
	}
}
