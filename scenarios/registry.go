package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Scenario is a named, described way to produce a run from a seed. Workload scenarios build a
// Schedule (which can be printed, saved, edited, shrunk and replayed); scripted scenarios (the
// 6.5840 Raft suite) drive a cluster step by step and check it as the original tests do.
type Scenario struct {
	Name        string
	Description string
	// Schedule builds the run's schedule from its seed. Nil for scripted scenarios.
	Schedule func(seed uint64) *Schedule
	// Script drives a scripted scenario; nil for workload scenarios.
	Script *Script
}

var registry = map[string]*Scenario{}

func register(s *Scenario) {
	if _, dup := registry[s.Name]; dup {
		panic("scenarios: duplicate scenario " + s.Name)
	}
	if (s.Schedule == nil) == (s.Script == nil) {
		panic("scenarios: " + s.Name + " must have exactly one of Schedule and Script")
	}
	registry[s.Name] = s
}

// Lookup returns the named scenario, or an error that lists the valid names.
func Lookup(name string) (*Scenario, error) {
	if s, ok := registry[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown scenario %q; valid scenarios: %s (simrun -list describes them)",
		name, strings.Join(Names(), ", "))
}

// All returns every scenario, sorted by name.
func All() []*Scenario {
	out := make([]*Scenario, 0, len(registry))
	for _, name := range Names() {
		out = append(out, registry[name])
	}
	return out
}

// Names returns the scenario names in sorted order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for name := range registry { // detguard:unordered sorted below
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// baseSchedule is the common starting point of the workload scenarios: a 5-node cluster on a
// fast LAN, four clients over twenty keys with a mix that includes compare-and-set (it makes lost
// updates visible), ten seconds of faults, then heal and liveness.
func baseSchedule(name string, seed uint64) *Schedule {
	return &Schedule{
		Scenario:          name,
		Seed:              seed,
		Nodes:             5,
		MaxRaftStateBytes: -1,
		Network:           NetworkSpec{LatencyMinMs: 1, LatencyMaxMs: 5},
		Workload: Workload{
			Clients: 4, Keys: 20, OpsPerClient: 2000,
			Get: 3, Put: 2, Append: 3, CAS: 2,
			ThinkMinMs: 5, ThinkMaxMs: 30,
			ReadMode: ReadModeReadIndex,
		},
		DurationMs:      10_000,
		LivenessBoundMs: 10_000,
	}
}

// registerNemesis registers a workload scenario whose faults come from one generator.
func registerNemesis(name, description string, tune func(*Schedule), gens ...func(*faultGen)) {
	register(&Scenario{Name: name, Description: description, Schedule: func(seed uint64) *Schedule {
		s := baseSchedule(name, seed)
		if tune != nil {
			tune(s)
		}
		for i, gen := range gens {
			gen(newFaultGen(s, fmt.Sprintf("%s/%d", name, i)))
		}
		sortFaults(s.Faults)
		return s
	}})
}

func init() {
	registerNemesis("isolate-one", "5 nodes, 4 clients: a random node is cut off from everyone, then healed, repeatedly", nil, genIsolateOne)
	registerNemesis("isolate-leader", "5 nodes, 4 clients: whoever is leader is cut off, then healed, repeatedly", nil, genIsolateLeader)
	registerNemesis("partition-halves", "5 nodes, 4 clients: random halves (2|3) cannot talk, then heal, repeatedly", nil, genHalves)
	registerNemesis("majorities-ring", "5 nodes, 4 clients: each node sees a majority, no two the same one (Jepsen's ring)", nil, genMajoritiesRing)
	registerNemesis("bridge", "5 nodes, 4 clients: two halves joined only through one bridge node", nil, genBridge)
	registerNemesis("flapping", "5 nodes, 4 clients: random halves partition and heal every 50-300 ms", nil, genFlapping)
	registerNemesis("one-way", "5 nodes, 4 clients: one node's outbound or inbound links are cut (asymmetric)", nil, genOneWay)
	registerNemesis("crash-restart", "5 nodes, 4 clients: random nodes or the leader crash (losing unsynced writes) and restart", nil, genCrashRestart)
	registerNemesis("crash-all", "5 nodes, 4 clients: the whole cluster crashes and restarts from disk, repeatedly", nil, genCrashAll)
	registerNemesis("pause", "5 nodes, 4 clients: a node or the leader stops processing (a long GC pause), then resumes", nil, genPause)
	registerNemesis("clock-skew", "5 nodes, 4 clients: node clocks run between 0.6x and 1.5x true time", nil, genClockSkew)
	registerNemesis("unreliable", "5 nodes, 4 clients: messages dropped, duplicated, reordered and delayed up to 2 s", nil, genUnreliable)
	registerNemesis("snapshot-heavy", "5 nodes, 4 clients: servers snapshot every few KB; crashes and isolation force InstallSnapshot",
		func(s *Schedule) { s.MaxRaftStateBytes = 4000 }, genCrashRestart, genIsolateOne)
	register(&Scenario{Name: "swarm", Description: "5 nodes, 4 clients, 10 s: each seed turns fault kinds on or off and draws their rates",
		Schedule: func(seed uint64) *Schedule { return swarmSchedule("swarm", seed, 10_000) }})
	register(&Scenario{Name: "default", Description: "swarm testing over 5 nodes and 4 clients for 30 s of virtual time, then heal and the liveness phase",
		Schedule: func(seed uint64) *Schedule { return swarmSchedule("default", seed, 30_000) }})
}

// swarmGenerators are the fault kinds swarm testing switches on and off.
var swarmGenerators = []struct {
	name string
	gen  func(*faultGen)
}{
	{"isolate-one", genIsolateOne}, {"isolate-leader", genIsolateLeader}, {"partition-halves", genHalves},
	{"majorities-ring", genMajoritiesRing}, {"bridge", genBridge}, {"flapping", genFlapping},
	{"one-way", genOneWay}, {"crash-restart", genCrashRestart}, {"crash-all", genCrashAll},
	{"pause", genPause}, {"clock-skew", genClockSkew}, {"unreliable", genUnreliable},
}

// swarmSchedule switches each fault kind on with probability 1/2, each decision and each kind's
// faults drawn from streams of their own (FoundationDB and TigerBeetle's swarm testing: a seed
// explores one mix of faults hard instead of every fault a little). Snapshots are switched on
// the same way.
func swarmSchedule(name string, seed uint64, durationMs int64) *Schedule {
	s := baseSchedule(name, seed)
	s.DurationMs = durationMs
	choose := newFaultGen(s, name+"/swarm")
	if choose.rnd.Chance(0.5) {
		s.MaxRaftStateBytes = 2000 + choose.rnd.Intn(8000)
	}
	if choose.rnd.Chance(0.3) {
		s.Workload.ReadMode = ReadModeLog
	}
	s.DisablePreVote = choose.rnd.Chance(0.3)
	s.DisableCheckQuorum = choose.rnd.Chance(0.3)
	if choose.rnd.Chance(0.5) {
		s.MaxEntriesPerMsg = 1 + choose.rnd.Intn(4)
	}
	for _, g := range swarmGenerators {
		if choose.rnd.Chance(0.5) {
			g.gen(newFaultGen(s, name+"/"+g.name))
		}
	}
	sortFaults(s.Faults)
	return s
}
