package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Spec names one run: a scenario and seed, or an explicit schedule (which then carries its own
// seed), with an optional planted bug.
type Spec struct {
	Scenario string
	Seed     uint64
	// SUT names the system under test ("" for sut.DefaultName); a schedule's own SUT field is
	// overridden by it.
	SUT      string
	Bug      string
	Schedule *Schedule // when set, replayed instead of generating one from Scenario and Seed
}

// DefaultCommand is how replay commands name raftsim's simrun: run from the repository root.
const DefaultCommand = "go run ./cmd/simrun"

// ReplayCommand is the simrun command that replays the spec (ReplayCommandWith
// DefaultCommand).
func (s Spec) ReplayCommand(schedulePath string) string {
	return s.ReplayCommandWith(DefaultCommand, schedulePath)
}

// ReplayCommandWith is the command that replays the spec with the simrun command that command
// runs (a user's own, built on package simcmd; "" for DefaultCommand): from schedulePath when
// the run came from a schedule file (the file may have been edited or shrunk, so the scenario
// and seed it names would run something else), else by scenario and seed.
func (s Spec) ReplayCommandWith(command, schedulePath string) string {
	if command == "" {
		command = DefaultCommand
	}
	var cmd string
	if schedulePath != "" {
		cmd = command + " -schedule " + schedulePath
		if s.Schedule != nil && s.SUT != "" && s.SUT != s.Schedule.SUT {
			cmd += " -sut " + s.SUT
		}
		if s.Bug != "" && (s.Schedule == nil || s.Bug != s.Schedule.Bug) {
			cmd += " -bug " + s.Bug
		}
		return cmd
	}
	cmd = fmt.Sprintf("%s -scenario %s -seed %d", command, s.Scenario, s.Seed)
	if s.SUT != "" && s.SUT != sut.DefaultName {
		cmd += " -sut " + s.SUT
	}
	if s.Bug != "" {
		cmd += " -bug " + s.Bug
	}
	return cmd
}

// Options are run settings that do not change what the run does, only what it reports (except
// UntilMs, which ends it early).
type Options struct {
	Trace         func(sim.TraceEvent) // human-readable event log sink (simrun -v, artifacts)
	RecordDigests bool                 // keep per-event digests to pinpoint nondeterminism
	UntilMs       int64                // stop at this virtual time (0: run to the end)
	CheckTimeout  time.Duration        // bound of the linearizability check (0: DefaultCheckTimeout)
	// CheckMemoryBytes bounds the heap's growth during the linearizability check (0:
	// checker.DefaultMemoryBudgetBytes).
	CheckMemoryBytes int64
	MaxEvents        int64 // bound on simulation events (0: DefaultMaxEvents)
	// Record, when set, has the run record its trace and timeline into it (artifacts).
	Record *Recording
	// skipOfflineChecks leaves out the linearizability and liveness checks (benchmarks of
	// the simulation alone).
	skipOfflineChecks bool
	// corruptRestore: the server with this id + 1 corrupts its state after installing a
	// snapshot from the leader (kv.ServerConfig.CorruptRestore; tests of the state check).
	corruptRestore int
	// skipStateCheck leaves out the replica state check (tests that show nothing else
	// catches what it catches).
	skipStateCheck bool
}

// Default bounds of a run.
const (
	DefaultCheckTimeout = checker.DefaultTimeout
	DefaultMaxEvents    = 20_000_000
)

// Status is a run's overall verdict.
type Status uint8

const (
	Pass Status = iota
	Fail
	// Inconclusive: no check failed, but one could not decide (the linearizability checker hit
	// its time or memory bound).
	Inconclusive
)

func (s Status) String() string {
	return [...]string{"pass", "fail", "inconclusive"}[s]
}

// Check names, as reported in Result.Check. Safety properties of the online monitor use the
// monitor's own names (election-safety, log-matching, ...).
const (
	CheckLinearizability = "linearizability"
	CheckLiveness        = "liveness"
	CheckRaftTest        = "raft-test"   // a scripted 6.5840 test's own check
	CheckEventLimit      = "event-limit" // the run did not settle within its event bound
)

// Result is what one run found.
type Result struct {
	Scenario string
	Seed     uint64
	SUT      string // the system under test's name
	Bug      string
	Status   Status
	Check    string // the property that failed ("" when none did)
	Message  string // the violation in plain words
	// PanicStack is the goroutine stack of a CheckPanic failure.
	PanicStack string
	// NotRun names the checks that did not run because -until cut the run short; such a run
	// that found no failure is inconclusive, never a pass.
	NotRun []string
	// FailedAt and FailedEvent locate the first event at which the failure became visible.
	FailedAt    sim.Time
	FailedEvent int64

	SafetyVerdict   string // "ok" or the violated property
	LinVerdict      string // "ok", "illegal", "unknown", or "" when not checked
	LivenessVerdict string // "ok", "fail", or "" when not checked

	VirtualTime sim.Time
	Events      int64
	Messages    int64
	Ops         int
	Faults      int
	End         sim.End
	Hash        uint64
	Digests     []uint64

	Schedule *Schedule // the schedule executed (nil for scripted scenarios)
	// Probes are the code probes the run reached (Probes lists them all), sorted.
	Probes  []string
	History []checker.Op
	Lin     *checker.LinResult
	// Late are the calls the liveness check judged late, when it failed.
	Late        []checker.Op
	Annotations []checker.Annotation
	Files       []string // artifacts written for this run (filled by simrun)
}

// fail records the first failure; later ones are consequences and are not reported over it.
func (r *Result) fail(check, message string, at sim.Time, event int64) {
	if r.Status == Fail {
		return
	}
	r.Status, r.Check, r.Message, r.FailedAt, r.FailedEvent = Fail, check, message, at, event
}

// stoppedEarly records that -until stopped the run at `at`, before the checks notRun could
// run (why says what they needed). A failure found before the cut stands: it is a real one.
func (r *Result) stoppedEarly(at sim.Time, why string, notRun ...string) {
	if r.Status == Fail {
		return
	}
	r.Status, r.NotRun = Inconclusive, notRun
	r.Message = fmt.Sprintf("stopped by -until at %s: not checked: %s (%s); the checks that ran found nothing",
		at, strings.Join(notRun, ", "), why)
}

// Report is the run's outcome in plain words, several lines for a failure.
func (r *Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s seed %d", r.Scenario, r.Seed)
	if r.SUT != "" && r.SUT != sut.DefaultName {
		fmt.Fprintf(&b, " on %s", r.SUT)
	}
	if r.Bug != "" {
		fmt.Fprintf(&b, " with planted bug %s", r.Bug)
	}
	switch r.Status {
	case Pass:
		b.WriteString(": every check passed")
	case Inconclusive:
		fmt.Fprintf(&b, ": inconclusive: %s", r.Message)
	case Fail:
		where := fmt.Sprintf("at %s (event #%d)", r.FailedAt, r.FailedEvent)
		if r.FailedEvent < 0 {
			where = fmt.Sprintf("by %s (found after the run, from the history)", r.FailedAt)
		}
		fmt.Fprintf(&b, ": FAILED %s %s\n  %s", r.Check, where, strings.ReplaceAll(r.Message, "\n", "\n  "))
		if r.PanicStack != "" {
			fmt.Fprintf(&b, "\n  stack:\n    %s", strings.ReplaceAll(strings.TrimSpace(r.PanicStack), "\n", "\n    "))
		}
	}
	if r.End == sim.EndEventLimit {
		fmt.Fprintf(&b, "\n  note: the run ended at its %s", r.End)
	}
	return b.String()
}

// WriteVisualization writes Porcupine's visualization of a non-linearizable history, annotated
// with the run's fault windows, and reports whether it wrote one.
func (r *Result) WriteVisualization(path string) bool {
	if r.Lin == nil || r.Lin.Verdict != checker.Illegal {
		return false
	}
	return checker.WriteVisualization(*r.Lin, r.Annotations, path) == nil
}
