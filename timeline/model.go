// Package timeline draws one run as a space-time diagram in a single self-contained HTML page:
// one lane per node (servers and clients), time running left to right. It knows nothing of
// Raft, of the simulator or of any system under test: a recorder fills a Model with neutral
// shapes and Write renders it.
//
// # What a Model holds
//
//   - Lanes: one per node, in drawing order, named as everywhere else in the run (s0, c3).
//   - Bands: intervals along a lane with a state and a number, drawn as coloured strips
//     (a server's role and term: follower, pre-candidate, candidate, leader).
//   - Outages: intervals in which a lane's node was down or paused (crash, pause).
//   - Shades: intervals that concern the whole cluster, drawn across every lane they name
//     (a partition, with the links it cuts in its detail; a clock skew).
//   - Spans: a client operation from invoke to return, with its arguments and result; an
//     open span (Open) never returned.
//   - Arrows: a message from its sender's lane at the send instant to its receiver's lane at
//     delivery, coloured by kind; a dropped message ends with a cross where it was dropped
//     and a duplicate copy is dashed.
//   - Ticks: instants on a lane (commit, apply, snapshot, restart, read...).
//   - Violation: what the checks found and where; the page opens zoomed on it, and its marker
//     is the element with id "violation".
//
// Times are virtual nanoseconds. Every shape carries a Detail string shown when it is clicked.
//
// # The page
//
// Write emits one HTML file with the model as JSON and a small renderer (plain JavaScript and
// SVG, embedded from page.js and page.css; no library, no build step, no network access). The
// page is fast by construction: it has at most DefaultMaxPageBytes, keeping what lies nearest
// the violation when the run has more and counting the rest (WriteWithin); the page parses
// first only the part near the violation; it draws only the shapes inside the visible time
// range, message arrows only inside the message window (by default around the violation, with
// a control that widens it to the whole run), and at most a fixed number of arrows and marks,
// those nearest the violation. Wheel zooms around the pointer, dragging pans, the filters hide
// message kinds and lanes, a click shows an item's decoded content, and the legend explains
// the colours.
package timeline

import (
	"fmt"
	"sort"
)

// Model is everything a timeline page shows. The short JSON names keep large pages small;
// page.js reads them (arrows and ticks travel in a more compact form still, see wireModel).
type Model struct {
	Title string `json:"title"`
	// Summary lines are shown under the title (verdict, replay command).
	Summary []string `json:"summary"`
	// StartNs and EndNs bound the run.
	StartNs int64 `json:"start"`
	EndNs   int64 `json:"end"`

	Lanes   []Lane   `json:"lanes"`
	Bands   []Band   `json:"bands"`
	Outages []Outage `json:"outages"`
	Shades  []Shade  `json:"shades"`
	Spans   []Span   `json:"spans"`
	Arrows  []Arrow  `json:"arrows"`
	Ticks   []Tick   `json:"ticks"`

	Violation *Violation `json:"violation,omitempty"`
	// Links are shown in the header (e.g. Porcupine's page of the same run).
	Links []Link `json:"links"`
	// Notes say what a reader must know about the drawing, such as a recording limit that
	// was hit.
	Notes []string `json:"notes"`
}

// Lane is one node.
type Lane struct {
	Name string `json:"name"`
	// Kind groups lanes: "server" or "client" (others are drawn like servers).
	Kind string `json:"kind"`
}

// Band is a state held by a lane's node over [Start, End): State is a role name
// ("follower", "pre-candidate", "candidate", "leader") and Num its term.
type Band struct {
	Lane  int    `json:"l"`
	Start int64  `json:"s"`
	End   int64  `json:"e"`
	State string `json:"st"`
	Num   uint64 `json:"n"`
}

// Outage is an interval in which a node was down (Kind "crash") or paused ("pause").
type Outage struct {
	Lane   int    `json:"l"`
	Start  int64  `json:"s"`
	End    int64  `json:"e"`
	Kind   string `json:"k"`
	Detail string `json:"d"`
}

// Shade is a cluster-wide interval (Kind "partition", "clock", ...) drawn over Lanes.
type Shade struct {
	Start int64  `json:"s"`
	End   int64  `json:"e"`
	Kind  string `json:"k"`
	Label string `json:"lb"`
	// Lanes are the lanes the shade covers (for a partition: the nodes cut off from part
	// of the cluster); empty means every server lane.
	Lanes  []int  `json:"ls"`
	Detail string `json:"d"`
}

// Span is a client operation.
type Span struct {
	Lane  int   `json:"l"`
	Start int64 `json:"s"`
	End   int64 `json:"e"`
	// Open: the operation never returned (End is the end of the run).
	Open   bool   `json:"o,omitempty"`
	Label  string `json:"lb"`
	Detail string `json:"d"`
	// Mark is "illegal" or "late" for operations the checks name, "" otherwise.
	Mark string `json:"m,omitempty"`
}

// Arrow is one message copy.
type Arrow struct {
	From int   `json:"f"`
	To   int   `json:"t"`
	Send int64 `json:"s"`
	// Recv is when it was delivered or dropped.
	Recv int64 `json:"r"`
	// Type is the message's type name (e.g. "MsgApp", "request"); Kind its class across
	// systems (vote, append, heartbeat, snapshot, kv-request, ...), which sets its colour.
	Type string `json:"y"`
	Kind string `json:"k"`
	// Dropped: the message was lost at Recv (Detail says why); Copy: a duplicate made by
	// the network.
	Dropped bool   `json:"x,omitempty"`
	Copy    bool   `json:"c,omitempty"`
	Detail  string `json:"d"`
}

// Tick is an instant on a lane (Kind "commit", "apply", "snapshot", "start", "restart",
// "read", "note", ...).
type Tick struct {
	Lane   int    `json:"l"`
	At     int64  `json:"a"`
	Kind   string `json:"k"`
	Label  string `json:"lb"`
	Detail string `json:"d"`
}

// Violation is what the checks found. At is the instant to mark; [Start, End] the window to
// open the page on (the operations involved, or a margin around At); Lanes the lanes
// involved (empty: the whole run).
type Violation struct {
	Check  string `json:"check"`
	At     int64  `json:"at"`
	Start  int64  `json:"s"`
	End    int64  `json:"e"`
	Lanes  []int  `json:"ls"`
	Label  string `json:"lb"`
	Detail string `json:"d"`
}

// Link is a link shown in the page header.
type Link struct {
	Label string `json:"label"`
	Href  string `json:"href"`
}

// Validate reports a model the page cannot draw: a shape on a lane that does not exist, or
// an interval that ends before it starts.
func (m *Model) Validate() error {
	lane := func(what string, i, l int) error {
		if l < 0 || l >= len(m.Lanes) {
			return fmt.Errorf("timeline: %s %d is on lane %d; lanes are 0..%d", what, i, l, len(m.Lanes)-1)
		}
		return nil
	}
	interval := func(what string, i int, s, e int64) error {
		if e < s {
			return fmt.Errorf("timeline: %s %d ends at %d before it starts at %d", what, i, e, s)
		}
		return nil
	}
	if m.EndNs < m.StartNs {
		return fmt.Errorf("timeline: the run ends at %d before it starts at %d", m.EndNs, m.StartNs)
	}
	for i, b := range m.Bands {
		if err := firstError(lane("band", i, b.Lane), interval("band", i, b.Start, b.End)); err != nil {
			return err
		}
	}
	for i, o := range m.Outages {
		if err := firstError(lane("outage", i, o.Lane), interval("outage", i, o.Start, o.End)); err != nil {
			return err
		}
	}
	for i, s := range m.Shades {
		if err := interval("shade", i, s.Start, s.End); err != nil {
			return err
		}
		for _, l := range s.Lanes {
			if err := lane("shade", i, l); err != nil {
				return err
			}
		}
	}
	for i, s := range m.Spans {
		if err := firstError(lane("span", i, s.Lane), interval("span", i, s.Start, s.End)); err != nil {
			return err
		}
	}
	for i, a := range m.Arrows {
		if err := firstError(lane("arrow", i, a.From), lane("arrow", i, a.To), interval("arrow", i, a.Send, a.Recv)); err != nil {
			return err
		}
	}
	for i, t := range m.Ticks {
		if err := lane("tick", i, t.Lane); err != nil {
			return err
		}
	}
	if v := m.Violation; v != nil {
		if err := interval("violation window", 0, v.Start, v.End); err != nil {
			return err
		}
		for _, l := range v.Lanes {
			if err := lane("violation", 0, l); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sortShapes orders every list by start time, which the page's binary searches rely on.
func (m *Model) sortShapes() {
	sort.SliceStable(m.Bands, func(i, j int) bool { return m.Bands[i].Start < m.Bands[j].Start })
	sort.SliceStable(m.Outages, func(i, j int) bool { return m.Outages[i].Start < m.Outages[j].Start })
	sort.SliceStable(m.Shades, func(i, j int) bool { return m.Shades[i].Start < m.Shades[j].Start })
	sort.SliceStable(m.Spans, func(i, j int) bool { return m.Spans[i].Start < m.Spans[j].Start })
	sort.SliceStable(m.Arrows, func(i, j int) bool { return m.Arrows[i].Send < m.Arrows[j].Send })
	sort.SliceStable(m.Ticks, func(i, j int) bool { return m.Ticks[i].At < m.Ticks[j].At })
}
