package scenarios

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/raftsim/raftsim/internal/suggest"
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
	// SUTs lists the systems under test the scenario runs on, nil for all; Needs says why
	// the others cannot run it.
	SUTs  []string
	Needs string
}

// Supports reports whether the scenario runs on the named system under test.
func (s *Scenario) Supports(sutName string) bool {
	return s.SUTs == nil || slices.Contains(s.SUTs, sutName)
}

// UnknownNameError is the error for a name that names nothing: it lists the valid names and
// suggests the closest.
type UnknownNameError struct {
	Kind  string // "scenario", "bug"
	Name  string
	Valid []string
}

func (e *UnknownNameError) Error() string {
	// More names than this are a wall of text, not an answer: point to simrun -list instead.
	const maxListed = 16
	if len(e.Valid) > maxListed {
		return fmt.Sprintf("unknown %s %q%s; simrun -list shows all %d %ss", e.Kind, e.Name, suggest.Phrase(e.Name, e.Valid), len(e.Valid), e.Kind)
	}
	return fmt.Sprintf("unknown %s %q%s; valid %ss: %s", e.Kind, e.Name, suggest.Phrase(e.Name, e.Valid), e.Kind, strings.Join(e.Valid, ", "))
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
	return nil, &UnknownNameError{Kind: "scenario", Name: name, Valid: Names()}
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

// faultProfile is a nemesis: how it tunes the base schedule and the generators of its faults.
type faultProfile struct {
	name, description string
	tune              func(*Schedule)
	gens              []func(*faultGen)
}

// schedule builds the profile's schedule for seed, labelled with scenario. Under its own name
// each generator draws from stream "<name>/<i>"; inside another scenario (default drawing a
// profile) from "<scenario>/<name>/<i>", so the two do not replay each other's seeds.
func (n *faultProfile) schedule(scenario string, seed uint64) *Schedule {
	s := baseSchedule(scenario, seed)
	if n.tune != nil {
		n.tune(s)
	}
	prefix := n.name
	if scenario != n.name {
		prefix = scenario + "/" + n.name
	}
	for i, gen := range n.gens {
		gen(newFaultGen(s, fmt.Sprintf("%s/%d", prefix, i)))
	}
	sortFaults(s.Faults)
	return s
}

// registerNemesis registers a workload scenario whose faults come from its generators.
func registerNemesis(name, description string, tune func(*Schedule), gens ...func(*faultGen)) {
	registerProfile(&faultProfile{name: name, description: description, tune: tune, gens: gens})
}

func registerProfile(n *faultProfile) {
	register(&Scenario{Name: n.name, Description: n.description, Schedule: func(seed uint64) *Schedule {
		return n.schedule(n.name, seed)
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
	register(&Scenario{Name: "swarm", Description: "3 or 5 nodes on a LAN or WAN, 4 clients, 10 s: each seed turns fault kinds on or off and draws their rates",
		Schedule: func(seed uint64) *Schedule { return swarmSchedule("swarm", seed, 10_000) }})
	register(&Scenario{Name: "default", Description: "the scenario without -scenario: a 30 s swarm mix over 3 or 5 nodes on a LAN or WAN, " +
		"timed faults and faults triggered by protocol events, drawn per seed, and a drawn workload shape; then heal and the liveness phase",
		Schedule: defaultSchedule})
}

// defaultShape: default draws its timed faults less often than swarm (triggers place faults
// of their own, at protocol moments, which a dense background of timed faults would drown),
// and small clusters and WANs more often (a slow network widens the windows between protocol
// steps in which a fault changes the outcome; three nodes make every node part of every
// quorum).
var defaultShape = swarmShape{timedScale: 0.6, threeNodes: 0.5, wan: 0.5}

// defaultSchedule is the scenario users get without -scenario. It is generic: nothing in it is
// aimed at one known bug (the hunt profiles, which are, are scenarios of their own). Each seed
// draws a swarm mix of timed faults, event-triggered faults (triggers.go) and a workload shape.
func defaultSchedule(seed uint64) *Schedule {
	s := swarmMix("default", seed, 30_000, defaultShape)
	genTriggers(newFaultGen(s, "default/triggers"))
	genWorkloadShape(newFaultGen(s, "default/workload"))
	return s
}

// swarmGenerators are the fault kinds swarm testing switches on and off, each with the
// probability that a seed has it. The storms (power-flicker, leader-flap, node-flap) are dense
// and aimed at rare interleavings, so they come up less often than the plain nemeses.
var swarmGenerators = []struct {
	name   string
	chance float64
	gen    func(*faultGen)
}{
	{"isolate-one", 0.5, genIsolateOne}, {"isolate-leader", 0.5, genIsolateLeader}, {"partition-halves", 0.5, genHalves},
	{"majorities-ring", 0.5, genMajoritiesRing}, {"bridge", 0.5, genBridge}, {"flapping", 0.5, genFlapping},
	{"one-way", 0.5, genOneWay}, {"crash-restart", 0.5, genCrashRestart}, {"crash-all", 0.5, genCrashAll},
	{"pause", 0.5, genPause}, {"clock-skew", 0.5, genClockSkew}, {"unreliable", 0.5, genUnreliable},
	{"power-flicker", swarmStormChance, genPowerFlicker}, {"leader-flap", swarmStormChance, genLeaderFlap},
	{"node-flap", swarmStormChance, genNodeFlap},
}

// How often a swarm seed has each storm, runs 3 nodes instead of 5, and runs on a WAN instead
// of a LAN.
const (
	swarmStormChance = 0.2
	swarmThreeNodes  = 0.3
	swarmWAN         = 0.3
)

// swarmSchedule switches each fault kind on with its probability, each decision and each
// kind's faults drawn from streams of their own (FoundationDB and TigerBeetle's swarm testing:
// a seed explores one mix of faults hard instead of every fault a little). The cluster size,
// the network (LAN or WAN), snapshots, the read path and raft's options are drawn the same
// way.
func swarmSchedule(name string, seed uint64, durationMs int64) *Schedule {
	return swarmMix(name, seed, durationMs, swarmShape{storms: true, timedScale: 1, threeNodes: swarmThreeNodes, wan: swarmWAN})
}

// swarmShape is what a swarm mix draws from: whether the storms are among its timed
// generators, a factor on each timed generator's chance, and the chances of a 3-node cluster
// and of a WAN.
type swarmShape struct {
	storms          bool
	timedScale      float64
	threeNodes, wan float64
}

// swarmMix draws a swarm schedule of the given shape.
func swarmMix(name string, seed uint64, durationMs int64, shape swarmShape) *Schedule {
	s := baseSchedule(name, seed)
	s.DurationMs = durationMs
	choose := newFaultGen(s, name+"/swarm")
	if choose.rnd.Chance(0.5) {
		s.MaxRaftStateBytes = 2000 + choose.rnd.Intn(8000)
	}
	if choose.rnd.Chance(0.3) {
		s.Workload.ReadMode = ReadModeLog
	}
	// Its own stream, so that drawing it shifts none of the draws above or below.
	if reads := newFaultGen(s, name+"/swarm-reads"); s.Workload.ReadMode == ReadModeReadIndex && reads.rnd.Chance(0.4) {
		s.Workload.ReadMode = ReadModeFollower
	}
	s.DisablePreVote = choose.rnd.Chance(0.3)
	s.DisableCheckQuorum = choose.rnd.Chance(0.3)
	if choose.rnd.Chance(0.5) {
		s.MaxEntriesPerMsg = 1 + choose.rnd.Intn(4)
	}
	topology := newFaultGen(s, name+"/swarm-topology")
	if topology.rnd.Chance(shape.threeNodes) {
		s.Nodes = 3
	}
	if topology.rnd.Chance(shape.wan) {
		wan(s, 10, 10+float64(topology.rnd.Intn(51))) // 10-60 ms at the slowest
	}
	for _, g := range swarmGenerators {
		if choose.rnd.Chance(g.chance*shape.timedScale) && (shape.storms || g.chance != swarmStormChance) {
			g.gen(newFaultGen(s, name+"/"+g.name))
		}
	}
	sortFaults(s.Faults)
	return s
}
