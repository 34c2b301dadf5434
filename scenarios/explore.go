package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raftsim/raftsim/sim"
)

// Coverage-guided exploration (Antithesis, Mallory): instead of running seed after seed of
// default, keep a corpus of schedules that reached something new (a code probe no earlier run
// reached, or a pair of probes never reached together) and spend most runs on mutations of
// them: insert, remove or shift a fault, change a trigger, reseed the workload. Every run is a
// Schedule like any other, so it replays from its executed schedule and shrinks as usual.

// ExploreConfig configures Explore.
type ExploreConfig struct {
	// Runs is the number of runs to execute (the budget).
	Runs int
	// Bug is the planted bug to run with ("" for the correct build); SUT the system under test.
	Bug, SUT string
	// Seed seeds the explorer's own choices (which entry to mutate, how).
	Seed uint64
	// CorpusDir, when set, keeps the corpus and the explorer's state there, and resumes from
	// them.
	CorpusDir string
	// StopAtFailure ends the exploration at the first failing run.
	StopAtFailure bool
	// Options are the runs' options.
	Options Options
	// Progress, when set, is told about each run that joined the corpus or failed.
	Progress func(run int, r *Result, newCoverage int, corpus int)
}

// ExploreResult is what an exploration did.
type ExploreResult struct {
	Runs       int // runs executed (this session and earlier ones resumed from CorpusDir)
	Corpus     int // schedules in the corpus
	Probes     []string
	Pairs      int
	Failure    *Result // the first failing run, or nil
	FailureRun int     // its 1-based run number
	Fresh      int     // runs of fresh default seeds (the others are mutations)
}

// Limits of an exploration.
const (
	// exploreFreshShare: the share of runs that start from a fresh default seed, so that the
	// corpus keeps growing in directions mutations do not reach.
	exploreFreshShare = 0.25
	// exploreWarmup: the first runs are fresh seeds, to build a corpus to mutate.
	exploreWarmup = 20
	// maxCorpus bounds the corpus; beyond it new entries replace the oldest ones that added
	// the least coverage.
	maxCorpus = 2000
	// maxMutations bounds the mutations applied to one corpus entry before a run.
	maxMutations = 4
)

// corpusEntry is a schedule the corpus keeps.
type corpusEntry struct {
	Schedule *Schedule `json:"schedule"`
	Probes   []string  `json:"probes"`
	Gain     int       `json:"gain"` // new probes and pairs it added
}

// exploreState is what CorpusDir keeps besides the entries.
type exploreState struct {
	Runs      int    `json:"runs"`
	NextSeed  uint64 `json:"next_seed"`
	Mutations uint64 `json:"mutations"`
	Fresh     int    `json:"fresh"`
}

type explorer struct {
	cfg     ExploreConfig
	rnd     *sim.Rand
	corpus  []corpusEntry
	probes  map[string]bool
	pairs   map[[2]string]bool
	state   exploreState
	explore ExploreResult
}

// Explore runs a coverage-guided exploration.
func Explore(cfg ExploreConfig) (*ExploreResult, error) {
	if cfg.Runs < 1 {
		return nil, fmt.Errorf("explore: Runs = %d, want at least 1", cfg.Runs)
	}
	e := &explorer{cfg: cfg, probes: map[string]bool{}, pairs: map[[2]string]bool{}, state: exploreState{NextSeed: 1}}
	if err := e.load(); err != nil {
		return nil, err
	}
	e.rnd = sim.NewRand(cfg.Seed, fmt.Sprintf("explore/%d", e.state.Runs))
	for i := 0; i < cfg.Runs; i++ {
		s, fresh := e.next()
		r, err := Execute(Spec{Schedule: s, Bug: cfg.Bug, SUT: cfg.SUT}, cfg.Options)
		if err != nil {
			return nil, err
		}
		e.state.Runs++
		if fresh {
			e.state.Fresh++
		}
		gain := e.cover(r.Probes)
		if gain > 0 {
			e.add(corpusEntry{Schedule: s, Probes: r.Probes, Gain: gain})
		}
		if cfg.Progress != nil && (gain > 0 || r.Status == Fail) {
			cfg.Progress(e.state.Runs, r, gain, len(e.corpus))
		}
		if r.Status == Fail && e.explore.Failure == nil {
			e.explore.Failure, e.explore.FailureRun = r, e.state.Runs
			if cfg.StopAtFailure {
				break
			}
		}
	}
	if err := e.save(); err != nil {
		return nil, err
	}
	res := &e.explore
	res.Runs, res.Corpus, res.Pairs, res.Fresh = e.state.Runs, len(e.corpus), len(e.pairs), e.state.Fresh
	for name := range e.probes { // detguard:unordered sorted below
		res.Probes = append(res.Probes, name)
	}
	sort.Strings(res.Probes)
	return res, nil
}

// next returns the schedule of the next run: a fresh default seed or a mutated corpus entry.
func (e *explorer) next() (*Schedule, bool) {
	if len(e.corpus) == 0 || e.state.Runs < exploreWarmup || e.rnd.Chance(exploreFreshShare) {
		s := defaultSchedule(e.state.NextSeed)
		e.state.NextSeed++
		return s, true
	}
	// Favour entries that added more coverage: pick two, keep the better (tournament).
	a, b := e.rnd.Intn(len(e.corpus)), e.rnd.Intn(len(e.corpus))
	if e.corpus[b].Gain > e.corpus[a].Gain {
		a = b
	}
	s := e.corpus[a].Schedule.Clone() // keeps its scenario's name: a mutant replays like any schedule
	for k := 1 + e.rnd.Intn(maxMutations); k > 0; k-- {
		e.mutate(s)
	}
	e.state.Mutations++
	if s.Validate() != nil {
		return defaultSchedule(e.nextFreshSeed()), true
	}
	return s, false
}

func (e *explorer) nextFreshSeed() uint64 {
	seed := e.state.NextSeed
	e.state.NextSeed++
	return seed
}

// cover adds a run's probes and pairs of probes to the coverage and returns how many were new.
func (e *explorer) cover(probes []string) int {
	gain := 0
	for i, a := range probes {
		if !e.probes[a] {
			e.probes[a] = true
			gain++
		}
		for _, b := range probes[i+1:] {
			if p := [2]string{a, b}; !e.pairs[p] {
				e.pairs[p] = true
				gain++
			}
		}
	}
	return gain
}

func (e *explorer) add(c corpusEntry) {
	if len(e.corpus) < maxCorpus {
		e.corpus = append(e.corpus, c)
		return
	}
	worst := 0
	for i := range e.corpus {
		if e.corpus[i].Gain < e.corpus[worst].Gain {
			worst = i
		}
	}
	e.corpus[worst] = c
}

// Mutations.

// mutate changes s in one of the ways of the exploration.
func (e *explorer) mutate(s *Schedule) {
	switch e.rnd.Intn(6) {
	case 0:
		e.insertFault(s)
	case 1:
		if n := len(s.Faults); n > 0 {
			i := e.rnd.Intn(n)
			s.Faults = append(s.Faults[:i:i], s.Faults[i+1:]...)
		}
	case 2:
		if n := len(s.Faults); n > 0 {
			f := &s.Faults[e.rnd.Intn(n)]
			delta := int64(e.rnd.Intn(1001)) - 500
			if at := f.AtMs + delta; at > 0 && at < s.DurationMs {
				f.shiftMs(-delta)
				f.AtNs = 0 // a timed fault now, not a placed one
			}
			sortFaults(s.Faults)
		}
	case 3, 4:
		e.changeTrigger(s)
	case 5:
		s.Seed = e.rnd.Uint64()>>1 + 1 // reseed the workload, latencies and timeouts
	}
}

// insertFault adds a fault and the one that undoes it, at a drawn time.
func (e *explorer) insertFault(s *Schedule) {
	at := int64(e.rnd.Intn(int(s.DurationMs)))
	end := min(s.DurationMs-1, at+1+int64(e.rnd.Intn(2000)))
	x := e.rnd.Intn(s.Nodes)
	var pair []Fault
	switch e.rnd.Intn(5) {
	case 0:
		pair = []Fault{{AtMs: at, Kind: FaultCrash, Nodes: []int{x}}, {AtMs: end, Kind: FaultRestart, Nodes: []int{x}}}
	case 1:
		pair = []Fault{{AtMs: at, Kind: FaultIsolate, Nodes: []int{x}}, {AtMs: end, Kind: FaultHeal}}
	case 2:
		pair = []Fault{{AtMs: at, Kind: FaultIsolateLeader}, {AtMs: end, Kind: FaultHeal}}
	case 3:
		pair = []Fault{{AtMs: at, Kind: FaultCrashLeader}, {AtMs: end, Kind: FaultRestart, Nodes: allNodes(s.Nodes)}}
	default:
		pair = []Fault{{AtMs: at, Kind: FaultPause, Nodes: []int{x}}, {AtMs: end, Kind: FaultResume, Nodes: []int{x}}}
	}
	s.Faults = append(s.Faults, pair...)
	sortFaults(s.Faults)
}

// changeTrigger redraws one field of a trigger, or adds or removes one.
func (e *explorer) changeTrigger(s *Schedule) {
	if len(s.Triggers) == 0 || e.rnd.Chance(0.2) {
		g := &faultGen{s: &Schedule{Seed: e.rnd.Uint64(), Nodes: s.Nodes, Network: s.Network, Workload: s.Workload, DurationMs: s.DurationMs}}
		g.rnd = sim.NewRand(g.s.Seed, "explore/trigger")
		genTriggers(g)
		s.Triggers = append(s.Triggers, g.s.Triggers[0])
		return
	}
	i := e.rnd.Intn(len(s.Triggers))
	t := &s.Triggers[i]
	switch e.rnd.Intn(7) {
	case 0:
		t.On = append(t.On[:0:0], TriggerEvents[e.rnd.Intn(len(TriggerEvents))])
	case 1:
		t.On = append(append([]string(nil), t.On...), TriggerEvents[e.rnd.Intn(len(TriggerEvents))])
	case 2:
		t.Fault = TriggerFaults[e.rnd.Intn(len(TriggerFaults))]
		if t.Fault == TriggerDropReply && s.Workload.Clients == 0 {
			t.Fault = TriggerDropNext
		}
	case 3:
		t.Target = TriggerTargets[e.rnd.Intn(len(TriggerTargets))]
	case 4:
		t.DelayMaxMs = round3(max(1, s.Network.LatencyMaxMs) * swarmDelayLatencies[e.rnd.Intn(len(swarmDelayLatencies))])
	case 5:
		t.Max = 1 + e.rnd.Intn(swarmTriggerMaxFires)
	default:
		if len(s.Triggers) > 1 {
			s.Triggers = append(s.Triggers[:i:i], s.Triggers[i+1:]...)
		}
	}
}

// Corpus directory: one file per entry (entry-NNNNNN.json) and state.json.

const exploreStateFile = "state.json"

func (e *explorer) load() error {
	dir := e.cfg.CorpusDir
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, exploreStateFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &e.state); err != nil {
		return fmt.Errorf("explore: %s: %w", filepath.Join(dir, exploreStateFile), err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "entry-*.json"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var c corpusEntry
		if err := json.Unmarshal(data, &c); err != nil || c.Schedule == nil {
			return fmt.Errorf("explore: corpus entry %s does not decode: %v", p, err)
		}
		if err := c.Schedule.Validate(); err != nil {
			return fmt.Errorf("explore: corpus entry %s: %w", p, err)
		}
		e.corpus = append(e.corpus, c)
		e.cover(c.Probes)
	}
	return nil
}

func (e *explorer) save() error {
	dir := e.cfg.CorpusDir
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "entry-*.json"))
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for i, c := range e.corpus {
		name := filepath.Join(dir, fmt.Sprintf("entry-%06d.json", i))
		keep[name] = true
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		if err := WriteFileAtomic(name, append(data, '\n')); err != nil {
			return err
		}
	}
	for _, p := range old {
		if !keep[p] && strings.HasPrefix(filepath.Base(p), "entry-") {
			os.Remove(p)
		}
	}
	data, _ := json.MarshalIndent(e.state, "", "  ")
	return WriteFileAtomic(filepath.Join(dir, exploreStateFile), append(data, '\n'))
}
