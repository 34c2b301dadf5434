package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raftsim/raftsim/sim"
)

// Schedule is everything one run needs besides the code: cluster shape, network, workload and an
// explicit, timed list of faults. It is what -print-schedule writes and -schedule replays, so a
// generated run can be saved, edited, shrunk and kept as a regression test. A Schedule plus the
// code is a pure function to a trace: replaying it gives the same trace hash.
type Schedule struct {
	// Scenario names the scenario the schedule came from (informational for replays).
	Scenario string `json:"scenario"`
	// Seed seeds every PRNG stream of the run (network, election jitter, workload).
	Seed uint64 `json:"seed"`
	// SUT is the system under test (simrun -sut), "" for raftsim's own raft.
	SUT string `json:"sut,omitempty"`
	// Bug is the planted bug switched on, "" for the correct build.
	Bug string `json:"bug,omitempty"`

	Nodes int `json:"nodes"`
	// DisablePreVote and DisableCheckQuorum turn raft's PreVote and CheckQuorum off (both are on
	// by default). They are Raft options, not faults, but they mask some bugs (a leader lease
	// hides vote bugs), so swarm testing switches them per seed.
	DisablePreVote     bool `json:"disable_prevote,omitempty"`
	DisableCheckQuorum bool `json:"disable_check_quorum,omitempty"`
	// MaxEntriesPerMsg bounds the entries of one AppendEntries (0: raft's default). Small
	// values split a catch-up into many messages, which exposes commit-rule bugs that a
	// batched catch-up hides (a new leader's no-op otherwise travels with the old entries).
	MaxEntriesPerMsg int `json:"max_entries_per_msg,omitempty"`
	// MaxRaftStateBytes makes the KV servers snapshot when the raft state passes it; -1 never.
	MaxRaftStateBytes int         `json:"max_raft_state_bytes"`
	Network           NetworkSpec `json:"network"`
	Workload          Workload    `json:"workload"`

	// DurationMs is when the fault phase ends: every fault is healed at this instant (network
	// healed, crashed nodes restarted, paused nodes resumed, clocks reset) and clients stop
	// starting new operations.
	DurationMs int64 `json:"duration_ms"`
	// LivenessBoundMs is how long after DurationMs a leader must exist and every outstanding call
	// must have completed.
	LivenessBoundMs int64 `json:"liveness_bound_ms"`

	Faults []Fault `json:"faults"`
	// Triggers place more faults during the run, at protocol events (triggers.go). The
	// schedule a run executed (Result.Schedule) has none: it lists the faults they placed,
	// each at the instant it resolved to, so that it replays exactly.
	Triggers []Trigger `json:"triggers,omitempty"`
}

// NetworkSpec is the network model at the start of a run; "net" faults change it later.
type NetworkSpec struct {
	LatencyMinMs   float64 `json:"latency_min_ms"`
	LatencyMaxMs   float64 `json:"latency_max_ms"`
	Drop           float64 `json:"drop"`
	Duplicate      float64 `json:"duplicate"`
	LongDelay      float64 `json:"long_delay"`
	LongDelayMaxMs float64 `json:"long_delay_max_ms"`
}

// Workload drives the KV clients.
type Workload struct {
	Clients int `json:"clients"`
	Keys    int `json:"keys"`
	// OpsPerClient caps the operations each client starts.
	OpsPerClient int `json:"ops_per_client"`
	// Relative weights of the operation kinds.
	Get    int `json:"get"`
	Put    int `json:"put"`
	Append int `json:"append"`
	CAS    int `json:"cas"`
	// Think time between one client's operations.
	ThinkMinMs float64 `json:"think_min_ms"`
	ThinkMaxMs float64 `json:"think_max_ms"`
	// ReadMode is how servers serve Get: "readindex" (the leader, after a ReadIndex round),
	// "log" (through the log) or "follower" (any server, after a ReadIndex round).
	ReadMode string `json:"read_mode"`
	// Workload shapes (kv.Workload): contention on key k0, a Get right after a write, a burst
	// of calls after a call that needed retries, calls that start at a random server.
	HotKey         float64 `json:"hot_key,omitempty"`
	ReadAfterWrite float64 `json:"read_after_write,omitempty"`
	BurstOps       int     `json:"burst_ops,omitempty"`
	Roam           bool    `json:"roam,omitempty"`
}

// Fault kinds. Node-targeted kinds take Nodes; "-leader" kinds pick the node that is leader when
// the fault fires (and say which in the trace), as a Jepsen nemesis would.
const (
	FaultPartition     = "partition"      // Groups: nodes in different groups cannot talk
	FaultIsolate       = "isolate"        // Nodes: cut every link to and from each
	FaultIsolateLeader = "isolate-leader" // the current leader
	FaultLinkDown      = "link-down"      // Links: one-way links [from,to] cut
	FaultLinkUp        = "link-up"        // Links: one-way links restored
	FaultHeal          = "heal"           // every link up
	FaultCrash         = "crash"          // Nodes: crash (unsynced writes lost)
	FaultCrashLeader   = "crash-leader"   // the current leader
	FaultRestart       = "restart"        // Nodes: restart crashed nodes from their disks
	FaultPause         = "pause"          // Nodes
	FaultPauseLeader   = "pause-leader"   // the current leader
	FaultResume        = "resume"         // Nodes
	FaultClock         = "clock"          // Nodes, Rate: local clock rate (1 = true time)
	FaultNet           = "net"            // Drop, Duplicate, LongDelay: new message fault rates
	FaultDropNext      = "drop-next"      // Links: the next message on each one-way link [from,to] is lost
	FaultDropReply     = "drop-reply"     // Nodes, Clients: each server's next message to each client is lost
)

var faultKinds = []string{FaultPartition, FaultIsolate, FaultIsolateLeader, FaultLinkDown, FaultLinkUp,
	FaultHeal, FaultCrash, FaultCrashLeader, FaultRestart, FaultPause, FaultPauseLeader, FaultResume,
	FaultClock, FaultNet, FaultDropNext, FaultDropReply}

// Fault is one timed fault event.
type Fault struct {
	AtMs int64 `json:"at_ms"`
	// AtNs, when not 0, is the fault's exact instant (AtMs is then AtNs rounded down to the
	// millisecond): a trigger placed it there during a run. Such a fault runs before every
	// other event of its instant, in the order of the list, as it did in the run that placed
	// it (sim.AtFirst); a fault with only AtMs runs after what was queued for its instant
	// before the run started.
	AtNs int64 `json:"at_ns,omitempty"`
	// Trigger names the trigger that placed the fault (informational).
	Trigger   string   `json:"trigger,omitempty"`
	Kind      string   `json:"kind"`
	Nodes     []int    `json:"nodes,omitempty"`
	Clients   []int    `json:"clients,omitempty"`
	Groups    [][]int  `json:"groups,omitempty"`
	Links     [][2]int `json:"links,omitempty"`
	Rate      float64  `json:"rate,omitempty"`
	Drop      float64  `json:"drop,omitempty"`
	Duplicate float64  `json:"duplicate,omitempty"`
	LongDelay float64  `json:"long_delay,omitempty"`
}

// Limits on schedules, so that a hand-edited file cannot ask for an unbounded run.
const (
	maxNodes          = 9
	maxClients        = 64
	maxKeys           = 10000
	maxOpsPerClient   = 100000
	maxDurationMs     = 10 * 60 * 1000
	maxLivenessMs     = 10 * 60 * 1000
	maxFaults         = 10000
	maxLatencyMs      = 60 * 1000
	minClockRate      = 0.5
	maxClockRate      = 2.0
	maxRaftStateLimit = 1 << 30
	maxEntriesPerMsg  = 1 << 16
)

// Validate reports the first problem with s, naming the field, or nil. Besides the limits, it
// rejects schedules under which no check could fail (no clients, or clients that never write),
// so that a hand-edited file cannot pass by testing nothing.
func (s *Schedule) Validate() error {
	if err := validateScenarioName(s.Scenario); err != nil {
		return err
	}
	if s.Nodes < 1 || s.Nodes > maxNodes {
		return fmt.Errorf("nodes: %d is out of range 1..%d", s.Nodes, maxNodes)
	}
	if s.MaxEntriesPerMsg < 0 || s.MaxEntriesPerMsg > maxEntriesPerMsg {
		return fmt.Errorf("max_entries_per_msg: %d is out of range 0..%d (0: raft's default)", s.MaxEntriesPerMsg, maxEntriesPerMsg)
	}
	if s.MaxRaftStateBytes != -1 && (s.MaxRaftStateBytes < 1 || s.MaxRaftStateBytes > maxRaftStateLimit) {
		return fmt.Errorf("max_raft_state_bytes: %d must be -1 (never snapshot) or 1..%d", s.MaxRaftStateBytes, maxRaftStateLimit)
	}
	if err := s.Network.validate("network"); err != nil {
		return err
	}
	if err := s.Workload.validate(); err != nil {
		return err
	}
	if s.DurationMs < 1 || s.DurationMs > maxDurationMs {
		return fmt.Errorf("duration_ms: %d is out of range 1..%d", s.DurationMs, maxDurationMs)
	}
	if s.LivenessBoundMs < 1 || s.LivenessBoundMs > maxLivenessMs {
		return fmt.Errorf("liveness_bound_ms: %d is out of range 1..%d", s.LivenessBoundMs, maxLivenessMs)
	}
	if len(s.Faults) > maxFaults {
		return fmt.Errorf("faults: %d events, at most %d allowed", len(s.Faults), maxFaults)
	}
	for i := range s.Faults {
		if err := s.Faults[i].validate(s, i); err != nil {
			return err
		}
		if i > 0 && s.Faults[i].at() < s.Faults[i-1].at() {
			return fmt.Errorf("faults[%d].at_ms: %d is before faults[%d].at_ms %d (at_ns %d before %d); faults must be in time order",
				i, s.Faults[i].AtMs, i-1, s.Faults[i-1].AtMs, s.Faults[i].at(), s.Faults[i-1].at())
		}
	}
	return validateTriggers(s)
}

func checkRate(field string, p float64) error {
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("%s: %v must be a probability in [0,1]", field, p)
	}
	return nil
}

// checkMessageRates checks the three per-message fault probabilities of a network spec or a
// "net" fault.
func checkMessageRates(field string, drop, duplicate, longDelay float64) error {
	for _, r := range []struct {
		name string
		p    float64
	}{{"drop", drop}, {"duplicate", duplicate}, {"long_delay", longDelay}} {
		if err := checkRate(field+"."+r.name, r.p); err != nil {
			return err
		}
	}
	return nil
}

func (n *NetworkSpec) validate(field string) error {
	if !(n.LatencyMinMs >= 0 && n.LatencyMinMs <= n.LatencyMaxMs && n.LatencyMaxMs <= maxLatencyMs) {
		return fmt.Errorf("%s.latency_min_ms/latency_max_ms: need 0 <= min (%v) <= max (%v) <= %d",
			field, n.LatencyMinMs, n.LatencyMaxMs, maxLatencyMs)
	}
	if !(n.LongDelayMaxMs >= 0 && n.LongDelayMaxMs <= maxLatencyMs) {
		return fmt.Errorf("%s.long_delay_max_ms: %v is out of range 0..%d", field, n.LongDelayMaxMs, maxLatencyMs)
	}
	return checkMessageRates(field, n.Drop, n.Duplicate, n.LongDelay)
}

// validateScenarioName checks the schedule's scenario field: it names the workload scenario the
// schedule came from, which the run reports and artifact names carry.
func validateScenarioName(name string) error {
	sc, err := Lookup(name)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	if sc.Schedule == nil {
		return fmt.Errorf("scenario: %s is a scripted scenario, which has no schedule; a schedule names the workload scenario it came from (simrun -list shows them)", name)
	}
	return nil
}

func (w *Workload) validate() error {
	if w.Clients < 1 || w.Clients > maxClients {
		return fmt.Errorf("workload.clients: %d is out of range 1..%d (without clients there is no history to check)", w.Clients, maxClients)
	}
	if w.Keys < 1 || w.Keys > maxKeys {
		return fmt.Errorf("workload.keys: %d is out of range 1..%d", w.Keys, maxKeys)
	}
	if w.OpsPerClient < 1 || w.OpsPerClient > maxOpsPerClient {
		return fmt.Errorf("workload.ops_per_client: %d is out of range 1..%d", w.OpsPerClient, maxOpsPerClient)
	}
	if w.Get < 0 || w.Put < 0 || w.Append < 0 || w.CAS < 0 || w.Get+w.Put+w.Append+w.CAS == 0 {
		return fmt.Errorf("workload.get/put/append/cas: weights must be >= 0 and not all 0 (got %d/%d/%d/%d)",
			w.Get, w.Put, w.Append, w.CAS)
	}
	if w.Put+w.Append+w.CAS == 0 {
		return fmt.Errorf("workload.put/append/cas: all 0: clients that only read never change a value, so the linearizability check cannot fail; give a write kind a weight")
	}
	if !(w.ThinkMinMs >= 0 && w.ThinkMinMs <= w.ThinkMaxMs && w.ThinkMaxMs <= maxLatencyMs) {
		return fmt.Errorf("workload.think_min_ms/think_max_ms: need 0 <= min (%v) <= max (%v) <= %d",
			w.ThinkMinMs, w.ThinkMaxMs, maxLatencyMs)
	}
	if err := w.kv(0).Validate(); err != nil {
		return fmt.Errorf("workload: %w", err)
	}
	if w.ReadMode != ReadModeReadIndex && w.ReadMode != ReadModeLog && w.ReadMode != ReadModeFollower {
		return fmt.Errorf("workload.read_mode: %q is not one of %q, %q, %q", w.ReadMode, ReadModeReadIndex, ReadModeLog, ReadModeFollower)
	}
	return nil
}

// Read modes of Workload.ReadMode.
const (
	ReadModeReadIndex = "readindex"
	ReadModeLog       = "log"
	ReadModeFollower  = "follower"
)

func (f *Fault) validate(s *Schedule, i int) error {
	field := fmt.Sprintf("faults[%d]", i)
	if f.AtMs < 0 || f.AtMs >= s.DurationMs {
		return fmt.Errorf("%s.at_ms: %d must be in [0, duration_ms=%d): every fault happens before the final heal", field, f.AtMs, s.DurationMs)
	}
	if f.AtNs != 0 && f.AtNs/int64(sim.Millisecond) != f.AtMs {
		return fmt.Errorf("%s.at_ns: %d is not within at_ms %d (at_ms must be at_ns rounded down to the millisecond)", field, f.AtNs, f.AtMs)
	}
	checkNode := func(name string, n int) error {
		if n < 0 || n >= s.Nodes {
			return fmt.Errorf("%s.%s: node %d does not exist (nodes are 0..%d)", field, name, n, s.Nodes-1)
		}
		return nil
	}
	needNodes := func() error {
		if len(f.Nodes) == 0 {
			return fmt.Errorf("%s.nodes: kind %q needs at least one node", field, f.Kind)
		}
		for _, n := range f.Nodes {
			if err := checkNode("nodes", n); err != nil {
				return err
			}
		}
		return nil
	}
	switch f.Kind {
	case FaultPartition:
		if len(f.Groups) < 2 {
			return fmt.Errorf("%s.groups: a partition needs at least two groups", field)
		}
		seen := map[int]bool{}
		for _, g := range f.Groups {
			for _, n := range g {
				if err := checkNode("groups", n); err != nil {
					return err
				}
				if seen[n] {
					return fmt.Errorf("%s.groups: node %d is in two groups", field, n)
				}
				seen[n] = true
			}
		}
	case FaultIsolate, FaultCrash, FaultRestart, FaultPause, FaultResume:
		return needNodes()
	case FaultClock:
		if err := needNodes(); err != nil {
			return err
		}
		if !(f.Rate >= minClockRate && f.Rate <= maxClockRate) {
			return fmt.Errorf("%s.rate: %v is out of range %v..%v", field, f.Rate, minClockRate, maxClockRate)
		}
	case FaultLinkDown, FaultLinkUp, FaultDropNext:
		if len(f.Links) == 0 {
			return fmt.Errorf("%s.links: kind %q needs at least one [from, to] link", field, f.Kind)
		}
		for _, l := range f.Links {
			if err := checkNode("links", l[0]); err != nil {
				return err
			}
			if err := checkNode("links", l[1]); err != nil {
				return err
			}
			if l[0] == l[1] {
				return fmt.Errorf("%s.links: [%d, %d] links a node to itself", field, l[0], l[1])
			}
		}
	case FaultNet:
		return checkMessageRates(field, f.Drop, f.Duplicate, f.LongDelay)
	case FaultDropReply:
		if err := needNodes(); err != nil {
			return err
		}
		if len(f.Clients) == 0 {
			return fmt.Errorf("%s.clients: kind %q needs at least one client", field, f.Kind)
		}
		for _, c := range f.Clients {
			if c < 0 || c >= s.Workload.Clients {
				return fmt.Errorf("%s.clients: client %d does not exist (clients are 0..%d)", field, c, s.Workload.Clients-1)
			}
		}
	case FaultHeal, FaultIsolateLeader, FaultCrashLeader, FaultPauseLeader:
	default:
		return fmt.Errorf("%s.kind: %q is not a fault kind; valid kinds: %s", field, f.Kind, strings.Join(faultKinds, ", "))
	}
	return nil
}

// ParseSchedule decodes and validates a schedule file's bytes. Unknown fields are errors, so a
// typo in a hand-edited file is reported rather than silently ignored.
func ParseSchedule(data []byte) (*Schedule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schedule
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("schedule: trailing data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return &s, nil
}

// LoadSchedule reads and validates a schedule file.
func LoadSchedule(path string) (*Schedule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSchedule(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Marshal encodes s as indented JSON with a trailing newline; equal schedules give equal bytes.
func (s *Schedule) Marshal() []byte {
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("schedule: encoding cannot fail for plain data: %v", err))
	}
	return append(out, '\n')
}

// WriteFileAtomic writes data to path through a temporary file and a rename, so that a reader
// never sees a partial file and an interrupted write leaves nothing that looks valid.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	return os.Rename(tmp.Name(), path)
}

// Clone returns a deep copy of s.
func (s *Schedule) Clone() *Schedule {
	c := *s
	c.Faults = make([]Fault, len(s.Faults))
	c.Triggers = append([]Trigger(nil), s.Triggers...)
	for i, f := range s.Faults {
		f.Nodes = append([]int(nil), f.Nodes...)
		f.Clients = append([]int(nil), f.Clients...)
		f.Links = append([][2]int(nil), f.Links...)
		groups := make([][]int, len(f.Groups))
		for j, g := range f.Groups {
			groups[j] = append([]int(nil), g...)
		}
		if f.Groups == nil {
			groups = nil
		}
		f.Groups = groups
		c.Faults[i] = f
	}
	return &c
}

// sortFaults puts faults in time order, keeping the generation order of simultaneous ones.
func sortFaults(faults []Fault) {
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].at() < faults[j].at() })
}

// at is the fault's instant.
func (f *Fault) at() sim.Time {
	if f.AtNs != 0 {
		return sim.Time(f.AtNs)
	}
	return ms(f.AtMs)
}

// shiftMs moves the fault deltaMs earlier.
func (f *Fault) shiftMs(deltaMs int64) {
	f.AtMs -= deltaMs
	if f.AtNs != 0 {
		f.AtNs -= deltaMs * int64(sim.Millisecond)
	}
}
