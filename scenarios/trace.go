package scenarios

import (
	"fmt"
	"strings"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/timeline"
)

// Recording asks a run to record what it does: a trace a person can follow (Trace, at Level)
// and a timeline page (Timeline, filled in when the run ends). Recording changes nothing in
// the run: the same seed gives the same events and trace hash with or without it.
type Recording struct {
	// Level selects the trace events passed to Trace.
	Level TraceLevel
	// Trace, when set, receives every event of the trace in order.
	Trace func(Event)
	// Of is the result of an earlier run of the same spec, when this run replays it for its
	// artifacts: the trace then marks the line of the violation (for checks made after the
	// run too), and when the timeline's message limit is hit it keeps the messages nearest
	// the failure. Nil: no mark in the trace, and the first messages are kept.
	Of *Result
	// MaxMessages bounds the message arrows kept for the timeline (0:
	// DefaultMaxTimelineMessages); the page says so when it was hit.
	MaxMessages int
	// MaxMarks bounds the marks (commits, applies, restarts...) kept for the timeline (0:
	// DefaultMaxTimelineMarks), likewise.
	MaxMarks int

	// Timeline is the run's timeline, filled in when the run ends.
	Timeline *timeline.Model

	rec *recorder
	// The window of TraceDefault: around the failure of Of.
	hasWindow              bool
	windowStart, windowEnd int64
	// windowOnline: an online check caught the failure (safety, state divergence, a panic,
	// the event limit), so the window also shows the replication that led to it.
	windowOnline bool
}

// Margins of TraceDefault's window: the detail of the run this long before the instant an
// online check fired, or before the first call a check after the run names (the calls bracket
// that failure's story already), and after the last of those calls.
const (
	traceWindowBeforeNs      = int64(2 * sim.Second)
	traceWindowBeforeCallsNs = int64(500 * sim.Millisecond)
	traceWindowAfterNs       = int64(1 * sim.Second)
)

// setWindow places TraceDefault's window around the failure of of: the operations the
// linearizability check names, the calls liveness judged late since the final heal, or the
// instant an online check fired.
func (rec *Recording) setWindow(of *Result) {
	start, end := int64(of.FailedAt), int64(of.FailedAt)
	var named []checker.Op
	switch of.Check {
	case CheckLinearizability:
		if of.Lin != nil {
			named = of.Lin.Ops
		}
	case CheckLiveness:
		named = of.Late
		if of.Schedule != nil {
			start = int64(ms(of.Schedule.DurationMs))
		}
	}
	for _, op := range named {
		start = min(start, op.Call)
		if !op.Pending {
			end = max(end, op.Return)
		}
	}
	before := traceWindowBeforeNs
	if len(named) > 0 {
		before = traceWindowBeforeCallsNs
		end += traceWindowAfterNs
	}
	rec.hasWindow, rec.windowStart, rec.windowEnd = true, max(0, start-before), end
	rec.windowOnline = of.Check != CheckLinearizability && of.Check != CheckLiveness
}

// Header says in one line what the trace shows at its level, for the top of trace.txt.
func (rec *Recording) Header() string {
	switch {
	case rec.Level == TraceAll:
		return "trace level all: every event, timers and heartbeats included."
	case rec.Level == TraceFull:
		return "trace level full: every message and step except timers and heartbeats (-trace-level all adds them)."
	case rec.hasWindow && rec.windowOnline:
		return fmt.Sprintf("trace level default: every message and step (no timers or heartbeats) from %s to %s, around the failure; elsewhere the outline: client calls, roles, faults, crashes, pauses, partitions. -trace-level full shows every message of the run, -trace-level all adds timers and heartbeats.",
			sim.Time(rec.windowStart), sim.Time(rec.windowEnd))
	case rec.hasWindow:
		return fmt.Sprintf("trace level default: from %s to %s, around the failure, every client message, apply, read round, vote, snapshot and truncation (replication left out: append messages, log appends, commits, disk writes; -trace-level full shows them); elsewhere the outline: client calls, roles, faults, crashes, pauses, partitions. -trace-level all adds timers and heartbeats.",
			sim.Time(rec.windowStart), sim.Time(rec.windowEnd))
	}
	return "trace level default: the outline of the run (client calls, roles, faults, crashes, pauses, partitions); no check failed, so no window of detail. -trace-level full shows every message, -trace-level all adds timers and heartbeats."
}

// DefaultMaxTimelineMessages and DefaultMaxTimelineMarks bound what a recording keeps for the
// timeline, about 200 bytes a message and 100 a mark in memory. The page holds what its own
// bound has room for (timeline.DefaultMaxPageBytes), nearest the failure.
const (
	DefaultMaxTimelineMessages = 200_000
	DefaultMaxTimelineMarks    = 200_000
)

// TraceLevel selects how much of a run the trace shows.
type TraceLevel uint8

const (
	// TraceDefault shows the outline of the whole run (client calls and their outcomes,
	// role changes, faults, crashes, restarts, pauses, clock skews, partitions) and, in a
	// window around the failure of Recording.Of, everything TraceFull shows.
	TraceDefault TraceLevel = iota
	// TraceFull adds, over the whole run, deliveries and drops of every message except
	// heartbeats, appends, truncations, persisted terms, commits, applies (with their
	// commands), snapshots, read rounds, disk writes and fsyncs. It leaves out timers (ticks,
	// client timeouts), heartbeats and their replies, the harness's polling, and the log
	// output of the system under test.
	TraceFull
	// TraceAll shows every event, timers and heartbeats included.
	TraceAll
)

var traceLevelNames = [...]string{"default", "full", "all"}

func (l TraceLevel) String() string {
	if int(l) < len(traceLevelNames) {
		return traceLevelNames[l]
	}
	return fmt.Sprintf("TraceLevel(%d)", uint8(l))
}

// ParseTraceLevel parses a trace level name ("default", "all").
func ParseTraceLevel(name string) (TraceLevel, error) {
	for i, n := range traceLevelNames {
		if n == name {
			return TraceLevel(i), nil
		}
	}
	return 0, fmt.Errorf("unknown trace level %q; valid levels: %s", name, strings.Join(traceLevelNames[:], ", "))
}

// Event is one line of a run's trace, as trace.txt shows it and trace.jsonl stores it
// (docs/trace.md documents every field). Nodes are named as everywhere else: s0.. for
// servers, c0.. for clients, "kernel" for the simulator itself.
type Event struct {
	Seq  int64  `json:"seq"`   // ordinal of the executed kernel event this line belongs to
	AtNs int64  `json:"at_ns"` // global virtual time
	Node string `json:"node"`
	Kind string `json:"kind"`

	// Messages (deliver, drop).
	Msg     int64  `json:"msg,omitempty"` // send ordinal; a duplicate copy shares it
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	SentNs  *int64 `json:"sent_ns,omitempty"`
	Copy    bool   `json:"copy,omitempty"`
	Type    string `json:"type,omitempty"`     // the message type in the system's words
	MsgKind string `json:"msg_kind,omitempty"` // its class: vote, append, heartbeat, kv-request...
	Why     string `json:"why,omitempty"`      // why a message was dropped

	// Consensus facts (messages, role, append, commit, apply, snapshot).
	Term    uint64 `json:"term,omitempty"`
	LogTerm uint64 `json:"log_term,omitempty"`
	Index   uint64 `json:"index,omitempty"`
	Commit  uint64 `json:"commit,omitempty"`
	Entries int    `json:"entries,omitempty"`
	Reject  bool   `json:"reject,omitempty"`
	Role    string `json:"role,omitempty"`

	// Client calls and KV messages.
	Client    string `json:"client,omitempty"`
	ClientSeq uint64 `json:"client_seq,omitempty"`
	Op        string `json:"op,omitempty"`
	Key       string `json:"key,omitempty"`
	Value     string `json:"value,omitempty"`
	Expected  string `json:"expected,omitempty"`
	Output    string `json:"output,omitempty"`
	Result    string `json:"result,omitempty"` // a reply's error code, or a call's outcome

	// Disk.
	File  string `json:"file,omitempty"`
	Bytes int    `json:"bytes,omitempty"`

	// Text is the line's description as trace.txt shows it.
	Text string `json:"text"`
	// Violation is set on the lines that show what the checks found.
	Violation string `json:"violation,omitempty"`
}

// String formats the event as one line of trace.txt.
func (e Event) String() string {
	prefix := "  "
	if e.Violation != "" {
		prefix = ">>"
	}
	return fmt.Sprintf("%s%13s #%-7d %-6s %-9s %s", prefix, sim.Time(e.AtNs), e.Seq, e.Node, e.Kind, e.Text)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
