package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/timeline"
)

// recorder turns what a run does into trace events and a timeline: it hears the kernel's trace
// (messages, timers, faults, disk), the servers' reports (sut.Observer), the KV service's
// applies and reads (kv.Observer) and the clients' calls (kv.History). It only records: it
// never calls back into the simulation in a way that changes it.
type recorder struct {
	r   *run
	out *Recording
	// chained is the caller's own raw trace sink (simrun -v), fed first.
	chained func(sim.TraceEvent)
	now     int64
	seq     int64

	// Trace marks, from Recording.Of.
	markSeq   int64 // the kernel event at which an online check fired; -1: none
	marked    bool
	markText  string
	markCalls map[callKey]string // calls the offline checks name -> why
	markedIDs map[kv.CallID]string
	pending   *Event // appends coalesced into one line: same node, event and term, consecutive

	// Timeline.
	bands      []timeline.Band
	openBand   []int // per node: index in bands of its open band, -1
	outages    []timeline.Outage
	openOutage []int
	shades     []timeline.Shade
	openClock  []int
	openCut    int // index in shades of the open partition shade, -1
	cutDirty   bool
	cutLabels  []string
	spans      []timeline.Span
	spanOf     []int // CallID -> index in spans
	ticks      nearestKept[timeline.Tick]
	arrows     nearestKept[timeline.Arrow]
	applies    applyRun
	focus      int64
	hasFocus   bool

	clientNames map[uint64]string // a clerk's 64-bit client id -> its node's name
	kvApplied   struct {
		valid bool
		node  sim.NodeID
		index uint64
		cmd   kv.Command
		res   kv.Result
	}
}

type callKey struct {
	client string
	call   int64
}

// startRecording sets the run up to record when opts asks for it and returns the kernel's
// trace sink: the recorder's hook, or opts.Trace unchanged.
func (r *run) startRecording(opts Options) func(sim.TraceEvent) {
	if opts.Record == nil {
		return opts.Trace
	}
	c := &recorder{r: r, out: opts.Record, chained: opts.Trace, markSeq: -1, openCut: -1,
		clientNames: map[uint64]string{}}
	opts.Record.rec = c
	opts.Record.Timeline = nil
	if of := opts.Record.Of; of != nil && of.Status == Fail {
		c.focus, c.hasFocus = int64(of.FailedAt), true
		if of.FailedEvent >= 0 {
			c.markSeq = of.FailedEvent
			c.markText = of.Check + ": " + firstLine(of.Message)
		}
		c.markCalls = map[callKey]string{}
		c.markedIDs = map[kv.CallID]string{}
		opts.Record.setWindow(of)
		if of.Check == CheckLinearizability && of.Lin != nil {
			for i, op := range of.Lin.Ops {
				c.markCalls[callKey{clientName(op.Client), op.Call}] = fmt.Sprintf("linearizability: operation [%d] of the explanation", i+1)
			}
		}
		if of.Check == CheckLiveness {
			for _, op := range of.Late {
				c.markCalls[callKey{clientName(op.Client), op.Call}] = "liveness: this call did not complete in time after the last fault healed"
			}
		}
	}
	r.listeners = append(r.listeners, c)
	return c.kernelEvent
}

// kvObserver is the KV servers' observer when the run records (nil otherwise).
func (r *run) kvObserver() kv.Observer {
	if r.opts.Record == nil || r.opts.Record.rec == nil {
		return nil
	}
	return kvRecorder{r.opts.Record.rec}
}

// observeCalls has the clients' calls recorded when the run records.
func (r *run) observeCalls(h *kv.History) {
	if r.opts.Record != nil && r.opts.Record.rec != nil {
		h.SetObserver(r.opts.Record.rec.call)
	}
}

// finishRecording completes the recording of a finished run (a no-op when it did not record).
func finishRecording(opts Options, res *Result) *Result {
	if opts.Record != nil && opts.Record.rec != nil {
		opts.Record.rec.finish(res)
		opts.Record.rec = nil
	}
	return res
}

func clientName(i int) string { return "c" + strconv.Itoa(i) }

func (c *recorder) name(id sim.NodeID) string {
	if id < 0 || int(id) >= c.r.sim.NumNodes() {
		return "kernel"
	}
	return c.r.sim.NodeName(id)
}

func (c *recorder) isServer(id sim.NodeID) bool { return int(id) >= 0 && int(id) < len(c.r.servers) }

// grow makes the per-node slices cover every node added so far.
func (c *recorder) grow() {
	for n := c.r.sim.NumNodes(); len(c.openBand) < n; {
		c.openBand = append(c.openBand, -1)
		c.openOutage = append(c.openOutage, -1)
		c.openClock = append(c.openClock, -1)
	}
}

// ---- trace output ----

// How much an event matters to a reader: the outline of a run (client calls, roles, faults,
// crashes, partitions) is always traced; the detail (client messages, applies, reads,
// snapshots, truncations, votes) and the replication (append messages and their replies, log
// appends, commit progress, persisted terms, disk writes and fsyncs) at TraceFull, and at
// TraceDefault inside the window around the failure (the replication only around a failure an
// online check caught: a client-visible failure is followed through the detail); timers,
// heartbeats and the system's own log only at TraceAll.
type tier uint8

const (
	tierOutline tier = iota
	tierDetail
	tierReplication
	tierAll
)

// shown reports whether an event of the tier at atNs reaches the trace.
func (c *recorder) shown(t tier, atNs int64) bool {
	switch c.out.Level {
	case TraceAll:
		return true
	case TraceFull:
		return t <= tierReplication
	}
	inWindow := c.out.hasWindow && atNs >= c.out.windowStart && atNs <= c.out.windowEnd
	return t == tierOutline || (inWindow && (t == tierDetail || t == tierReplication && c.out.windowOnline))
}

// emit passes an event to the trace at the given level, placing the violation line of an
// online check after the last line of the kernel event at which it fired.
func (c *recorder) emit(e Event, level tier) {
	if c.markSeq >= 0 && !c.marked && e.Seq > c.markSeq {
		c.emitViolation()
	}
	if e.Kind == "append" && c.pending != nil && c.pending.Node == e.Node && c.pending.Seq == e.Seq &&
		c.pending.Term == e.Term && c.pending.Index+uint64(c.pending.Entries) == e.Index {
		c.pending.Entries++
		c.pending.Text = fmt.Sprintf("appended %d-%d (term %d)", c.pending.Index, c.pending.Index+uint64(c.pending.Entries)-1, c.pending.Term)
		return
	}
	c.flush()
	if c.out.Trace == nil || !c.shown(level, e.AtNs) {
		return
	}
	if e.Kind == "append" {
		e.Entries = 1
		c.pending = &e
		return
	}
	c.out.Trace(e)
}

func (c *recorder) flush() {
	if c.pending != nil {
		p := *c.pending
		c.pending = nil
		c.out.Trace(p)
	}
}

func (c *recorder) emitViolation() {
	c.marked = true
	c.flush()
	if c.out.Trace != nil {
		c.out.Trace(Event{Seq: c.markSeq, AtNs: int64(c.out.Of.FailedAt), Node: "kernel", Kind: "VIOLATION",
			Text: c.markText, Violation: c.out.Of.Check})
	}
}

// ---- kernel events ----

var dropWhy = regexp.MustCompile(`\(([^()]*)\)$`)

func (c *recorder) kernelEvent(ev sim.TraceEvent) {
	if c.chained != nil {
		c.chained(ev)
	}
	c.grow()
	c.seq = ev.Seq
	c.now = int64(ev.At)
	c.applyCuts(int64(ev.At))
	e := Event{Seq: ev.Seq, AtNs: int64(ev.At), Node: c.name(ev.Node), Kind: ev.Kind, Text: ev.Detail}
	level := tierDetail
	switch ev.Kind {
	case "deliver", "drop":
		c.message(ev, &e)
		switch e.MsgKind {
		case sut.KindHeartbeat.String(), sut.KindHeartbeatReply.String():
			level = tierAll
		case sut.KindAppend.String(), sut.KindAppendReply.String():
			level = tierReplication
		}
	case "timer":
		level = tierAll
	case "event":
		switch {
		case ev.Detail == "poll":
			level = tierAll
		case !strings.HasPrefix(ev.Detail, "fault "):
			level = tierOutline // heal all, until
		}
	case "note":
		level = tierOutline
		if c.isServer(ev.Node) {
			level = tierAll // the system under test's own log: the recorder reports its facts
		}
	case "pause", "resume", "link":
		level = tierOutline
	}
	switch ev.Kind {
	case "start", "restart":
		level = tierOutline
		c.closeOutage(ev.Node, "crash")
		c.tick(ev.Node, ev.Kind, ev.Kind, ev.Detail)
	case "crash":
		level = tierOutline
		c.closeBand(ev.Node)
		c.closeOutage(ev.Node, "pause")
		c.openOutageOn(ev.Node, "crash", ev.Detail)
	case "pause":
		c.openOutageOn(ev.Node, "pause", ev.Detail)
	case "resume":
		c.closeOutage(ev.Node, "pause")
	case "clock":
		level = tierOutline
		c.clock(ev.Node, ev.Detail)
	case "link":
		c.cutDirty = true
		c.cutLabels = append(c.cutLabels, ev.Detail)
	case "write":
		level = tierReplication
		e.File, e.Bytes = ev.File, ev.Bytes
	case "sync":
		level = tierReplication
		e.Bytes = ev.Bytes
	}
	c.emit(e, level)
}

// message fills in a delivery's or drop's fields and records its arrow.
func (c *recorder) message(ev sim.TraceEvent, e *Event) {
	sent := int64(ev.SentAt)
	e.Msg, e.From, e.To, e.SentNs, e.Copy = ev.Msg, c.name(ev.From), c.name(ev.Node), &sent, ev.Copy
	verb := ""
	if ev.Kind == "drop" {
		if m := dropWhy.FindStringSubmatch(ev.Detail); m != nil {
			e.Why = m[1]
		}
		verb = " DROPPED (" + e.Why + ")"
	}
	// The arrow's detail is what the page does not show already (type, ends, times): the
	// message in the library's words, or the client call.
	detail := ""
	if m, ok := c.r.sut.Describe(ev.Payload); ok && len(ev.Payload) > 0 && ev.Payload[0] == sut.TagConsensus {
		e.Type, e.MsgKind = m.Type, m.Kind.String()
		e.Term, e.LogTerm, e.Index, e.Commit, e.Entries, e.Reject = m.Term, m.LogTerm, m.Index, m.Commit, m.Entries, m.Reject
		e.Text = fmt.Sprintf("%s→%s %s term %d index %d logterm %d entries %d commit %d", e.From, e.To, m.Type, m.Term, m.Index, m.LogTerm, m.Entries, m.Commit)
		if m.Reject {
			e.Text += " reject"
		}
		detail = m.Text
	} else if km, ok := kv.DecodePayload(ev.Payload); ok {
		c.kvMessage(km, e)
		detail = strings.TrimPrefix(e.Text, e.From+"→"+e.To+" ")
	} else {
		e.Type, e.MsgKind = "other", "other"
		e.Text = fmt.Sprintf("%s→%s %d-byte payload", e.From, e.To, len(ev.Payload))
	}
	if ev.Copy {
		e.Text += " (duplicate copy)"
	}
	if verb != "" {
		e.Text += verb
		detail += "\ndropped: " + e.Why
	}
	c.arrow(timeline.Arrow{From: int(ev.From), To: int(ev.Node), Send: sent, Recv: int64(ev.At), Type: e.Type, Kind: e.MsgKind,
		Dropped: ev.Kind == "drop", Copy: ev.Copy, Detail: detail})
}

func (c *recorder) kvMessage(m kv.Message, e *Event) {
	if q := m.Request; q != nil {
		c.clientNames[q.Client] = e.From
		e.Type, e.MsgKind = "request", "kv-request"
		e.Client, e.ClientSeq, e.Op, e.Key, e.Value, e.Expected = e.From, q.Seq, q.Kind.String(), q.Key, q.Value, q.Expected
		e.Text = fmt.Sprintf("%s→%s request %s seq %d %s", e.From, e.To, e.Client, q.Seq, q.Describe())
		return
	}
	p := m.Reply
	e.Type, e.MsgKind = "reply", "kv-reply"
	e.Client, e.ClientSeq, e.Result = c.clientOf(p.Client), p.Seq, p.Err.String()
	e.Text = fmt.Sprintf("%s→%s reply %s seq %d %s", e.From, e.To, e.Client, p.Seq, p.Err)
	if p.Err == kv.OK {
		e.Output = p.Value
		e.Text += fmt.Sprintf(" value %q swapped %v", p.Value, p.Swapped)
	}
	if p.LeaderHint != kv.NoLeader {
		e.Text += " leader hint " + c.name(sim.NodeID(p.LeaderHint))
	}
}

func (c *recorder) clientOf(id uint64) string {
	if n, ok := c.clientNames[id]; ok {
		return n
	}
	return "client " + strconv.FormatUint(id, 10)
}

// arrow records a message arrow, keeping at most MaxMessages.
func (c *recorder) arrow(a timeline.Arrow) {
	c.arrows.add(a, a.Send, limitOr(c.out.MaxMessages, DefaultMaxTimelineMessages), c.focus, c.hasFocus)
}

func limitOr(limit, otherwise int) int {
	if limit <= 0 {
		return otherwise
	}
	return limit
}

// nearestKept holds at most a number of items, those nearest the failure when one is known
// (items arrive in time order, so the farthest is the oldest or the newest), the first ones
// otherwise.
type nearestKept[T any] struct {
	items []T
	at    []int64 // each item's instant
	head  int     // items[:head] were evicted
	seen  int64
	lost  int64
}

// add keeps item, of instant atNs, when it is among the limit nearest focus, and reports
// whether it did.
func (k *nearestKept[T]) add(item T, atNs int64, limit int, focus int64, hasFocus bool) bool {
	k.seen++
	if len(k.items)-k.head < limit {
		k.items, k.at = append(k.items, item), append(k.at, atNs)
		return true
	}
	k.lost++
	if !hasFocus || distance(k.at[k.head], focus) <= distance(atNs, focus) {
		return false // the new one is the farthest
	}
	var zero T
	k.items[k.head] = zero
	k.head++
	k.items, k.at = append(k.items, item), append(k.at, atNs)
	if k.head > limit { // reclaim the evicted prefix
		k.items = append(k.items[:0], k.items[k.head:]...)
		k.at = append(k.at[:0], k.at[k.head:]...)
		k.head = 0
	}
	return true
}

func (k *nearestKept[T]) kept() []T { return k.items[k.head:] }

// last is the item added last, if it was kept.
func (k *nearestKept[T]) last() *T { return &k.items[len(k.items)-1] }

func distance(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// ---- timeline intervals ----

// tick records a mark on a node's lane, keeping at most MaxMarks; it reports whether it kept it.
func (c *recorder) tick(node sim.NodeID, kind, label, detail string) bool {
	if node < 0 {
		return false
	}
	c.applies.valid = false
	return c.ticks.add(timeline.Tick{Lane: int(node), At: c.now, Kind: kind, Label: label, Detail: detail}, c.now,
		limitOr(c.out.MaxMarks, DefaultMaxTimelineMarks), c.focus, c.hasFocus)
}

// applyRun is the apply mark being extended: the consecutive applies one node makes in one
// kernel event (a restarted node replaying its log, a batch committed at once) share a mark,
// which lists the first maxApplyLines of them.
type applyRun struct {
	valid       bool
	node        sim.NodeID
	seq         int64
	first, last uint64
	lines       []string
}

const maxApplyLines = 8

// applyTick records that node applied the entry at index, described by text.
func (c *recorder) applyTick(node sim.NodeID, index uint64, text string) {
	seq := c.r.sim.Stats().Events
	r := &c.applies
	if !r.valid || r.node != node || r.seq != seq || r.last+1 != index {
		if c.tick(node, "apply", text, "") {
			*r = applyRun{valid: true, node: node, seq: seq, first: index, last: index, lines: []string{text}}
		}
		return
	}
	r.last = index
	if len(r.lines) < maxApplyLines {
		r.lines = append(r.lines, text)
	}
	t := c.ticks.last()
	n := r.last - r.first + 1
	t.Label = fmt.Sprintf("applied %d-%d (%d entries)", r.first, r.last, n)
	t.Detail = strings.Join(r.lines, "\n")
	if n > uint64(len(r.lines)) {
		t.Detail += fmt.Sprintf("\n... and %d more (trace.jsonl at -trace-level full lists each)", n-uint64(len(r.lines)))
	}
}

func (c *recorder) closeBand(node sim.NodeID) {
	if i := c.openBand[node]; i >= 0 {
		c.bands[i].End = c.now
		c.openBand[node] = -1
	}
}

func (c *recorder) openOutageOn(node sim.NodeID, kind, detail string) {
	if c.openOutage[node] >= 0 {
		return
	}
	c.openOutage[node] = len(c.outages)
	c.outages = append(c.outages, timeline.Outage{Lane: int(node), Start: c.now, End: -1, Kind: kind, Detail: detail})
}

func (c *recorder) closeOutage(node sim.NodeID, kind string) {
	if i := c.openOutage[node]; i >= 0 && c.outages[i].Kind == kind {
		c.outages[i].End = c.now
		c.openOutage[node] = -1
	}
}

func (c *recorder) clock(node sim.NodeID, detail string) {
	if i := c.openClock[node]; i >= 0 {
		c.shades[i].End = c.now
		c.openClock[node] = -1
	}
	if rate := c.r.sim.ClockRate(node); rate != 1 {
		c.openClock[node] = len(c.shades)
		c.shades = append(c.shades, timeline.Shade{Start: c.now, End: -1, Kind: "clock", Lanes: []int{int(node)},
			Label: fmt.Sprintf("%s clock at %.3gx", c.name(node), rate), Detail: detail})
	}
}

// applyCuts turns the link changes of an earlier instant into partition shades: the network's
// cut links are read once time has moved on, so that the many link changes of one instant
// make one shade.
func (c *recorder) applyCuts(now int64) {
	if !c.cutDirty {
		return
	}
	if len(c.shades) > 0 && c.openCut >= 0 && c.shades[c.openCut].Start == now {
		return // still the same instant
	}
	c.cutDirty = false
	labels := c.cutLabels
	c.cutLabels = nil
	net := c.r.sim.Net()
	var cut []string
	var lanes []int
	touched := make([]bool, c.r.sim.NumNodes())
	for from := 0; from < c.r.sim.NumNodes(); from++ {
		for to := 0; to < c.r.sim.NumNodes(); to++ {
			if from != to && !net.Link(sim.NodeID(from), sim.NodeID(to)) {
				cut = append(cut, c.name(sim.NodeID(from))+"→"+c.name(sim.NodeID(to)))
				touched[from], touched[to] = true, true
			}
		}
	}
	for i, t := range touched {
		if t {
			lanes = append(lanes, i)
		}
	}
	if c.openCut >= 0 {
		c.shades[c.openCut].End = c.now
		c.openCut = -1
	}
	if len(cut) == 0 {
		return
	}
	c.openCut = len(c.shades)
	c.shades = append(c.shades, timeline.Shade{Start: c.now, End: -1, Kind: "partition", Lanes: lanes,
		Label: strings.Join(labels, "; "), Detail: fmt.Sprintf("%d links cut: %s", len(cut), strings.Join(cut, ", "))})
}

// ---- sut.Observer ----

func (c *recorder) SetNow(ns int64) { c.now = ns }

func (c *recorder) event(node int, kind string) Event {
	c.grow()
	return Event{Seq: c.r.sim.Stats().Events, AtNs: c.now, Node: c.name(sim.NodeID(node)), Kind: kind}
}

func (c *recorder) Restarted(node int) {}

func (c *recorder) LogTruncated(node int, fromIndex uint64) {
	e := c.event(node, "truncate")
	e.Index = fromIndex
	e.Text = fmt.Sprintf("log truncated from index %d", fromIndex)
	c.emit(e, tierDetail)
}

func (c *recorder) LogAppended(node int, index, term, digest uint64) {
	e := c.event(node, "append")
	e.Index, e.Term = index, term
	e.Text = fmt.Sprintf("appended %d (term %d)", index, term)
	c.emit(e, tierReplication)
}

func (c *recorder) SnapshotInstalled(node int, index, term uint64) {
	e := c.event(node, "snapshot")
	e.Index, e.Term = index, term
	e.Text = fmt.Sprintf("snapshot installed up to index %d (term %d)", index, term)
	c.emit(e, tierDetail)
	c.tick(sim.NodeID(node), "snapshot", fmt.Sprintf("snapshot to %d", index), e.Text)
}

func (c *recorder) BecameLeader(node int, term uint64) {}

func (c *recorder) PersistedTerm(node int, term uint64) {
	e := c.event(node, "term")
	e.Term = term
	e.Text = fmt.Sprintf("term %d persisted", term)
	c.emit(e, tierReplication)
}

func (c *recorder) Committed(node int, commitIndex uint64) {
	e := c.event(node, "commit")
	e.Commit = commitIndex
	e.Text = fmt.Sprintf("commit index %d", commitIndex)
	c.emit(e, tierReplication)
	c.tick(sim.NodeID(node), "commit", fmt.Sprintf("commit %d", commitIndex), "")
}

func (c *recorder) Applied(node int, index, term, digest uint64) {
	e := c.event(node, "apply")
	e.Index, e.Term = index, term
	e.Text = fmt.Sprintf("applied %d (term %d)", index, term)
	if a := &c.kvApplied; a.valid && a.node == sim.NodeID(node) && a.index == index {
		a.valid = false
		e.Client, e.ClientSeq, e.Op, e.Key, e.Value, e.Expected = c.clientOf(a.cmd.Client), a.cmd.Seq, a.cmd.Kind.String(), a.cmd.Key, a.cmd.Value, a.cmd.Expected
		e.Text += fmt.Sprintf(": %s seq %d %s", e.Client, a.cmd.Seq, a.cmd.Describe())
		switch {
		case a.res.Duplicate:
			e.Result = "duplicate"
			e.Text += " (duplicate: not applied again)"
		case a.cmd.Kind == kv.OpCAS:
			e.Result = fmt.Sprintf("swapped %v", a.res.Swapped)
			e.Text += " -> " + e.Result
		}
	}
	c.emit(e, tierDetail)
	c.applyTick(sim.NodeID(node), index, e.Text)
}

func (c *recorder) RoleChanged(node int, role sut.Role, term uint64) {
	e := c.event(node, "role")
	e.Role, e.Term = role.String(), term
	e.Text = fmt.Sprintf("%s in term %d", role, term)
	c.emit(e, tierOutline)
	id := sim.NodeID(node)
	c.closeBand(id)
	c.openBand[id] = len(c.bands)
	c.bands = append(c.bands, timeline.Band{Lane: node, Start: c.now, End: -1, State: role.String(), Num: term})
}

// ---- kv.Observer ----

// kvRecorder is the recorder as the KV servers' observer (its Applied differs from
// sut.Observer's).
type kvRecorder struct{ *recorder }

func (c kvRecorder) ReadStarted(node sim.NodeID, ctx uint64, client, seq uint64, key string) {
	e := c.event(int(node), "read")
	e.Client, e.ClientSeq, e.Op, e.Key = c.clientOf(client), seq, "get", key
	e.Text = fmt.Sprintf("read round %d started for %s seq %d get(%q)", ctx, e.Client, seq, key)
	c.emit(e, tierDetail)
	c.tick(node, "read", e.Text, "")
}

func (c kvRecorder) ReadServed(node sim.NodeID, ctx uint64, client, seq uint64, value string, ok bool) {
	e := c.event(int(node), "read-done")
	e.Client, e.ClientSeq, e.Op = c.clientOf(client), seq, "get"
	if ok {
		e.Output, e.Result = value, "OK"
		e.Text = fmt.Sprintf("read round %d confirmed: %s seq %d reads %q", ctx, e.Client, seq, value)
	} else {
		e.Result = "ErrRetry"
		e.Text = fmt.Sprintf("read round %d given up: %s seq %d told to retry", ctx, e.Client, seq)
	}
	c.emit(e, tierDetail)
}

func (c kvRecorder) Applied(node sim.NodeID, index uint64, cmd kv.Command, res kv.Result) {
	c.kvApplied.valid, c.kvApplied.node, c.kvApplied.index, c.kvApplied.cmd, c.kvApplied.res = true, node, index, cmd, res
}

// ---- client calls ----

func (c *recorder) call(id kv.CallID, rec kv.Record) {
	node := sim.NodeID(rec.Client)
	e := c.event(rec.Client, "")
	e.AtNs = int64(c.r.sim.Now())
	c.now = e.AtNs
	e.Client, e.Op, e.Key, e.Value, e.Expected = e.Node, rec.Kind.String(), rec.Key, rec.Value, rec.Expected
	call := kv.Command{Kind: rec.Kind, Key: rec.Key, Value: rec.Value, Expected: rec.Expected}
	label := call.Describe()
	switch {
	case int(id) == len(c.spanOf): // invoked
		e.Kind = "invoke"
		e.Text = "invoke " + label
		c.spanOf = append(c.spanOf, len(c.spans))
		c.spans = append(c.spans, timeline.Span{Lane: int(node), Start: int64(rec.Call), End: -1, Open: true, Label: label})
		if why, ok := c.markCalls[callKey{c.name(node), int64(rec.Call)}]; ok {
			c.markedIDs[id] = why
			e.Violation = why
		}
	case rec.GaveUp:
		e.Kind = "give-up"
		e.Text = "gave up on " + label + " after its last attempt: outcome unknown"
		c.tick(node, "give-up", "gave up", e.Text)
		sp := &c.spans[c.spanOf[id]]
		sp.End = int64(rec.GaveUpAt)
		sp.Detail = "the clerk gave up at " + sim.Time(rec.GaveUpAt).String() + ": the outcome is unknown"
	default:
		e.Kind = "return"
		e.Output = rec.Output
		e.Result = outcome(rec)
		e.Text = "return " + label + " -> " + e.Result
		sp := &c.spans[c.spanOf[id]]
		sp.End, sp.Open = int64(rec.Return), false
		sp.Label = label + " -> " + e.Result
		e.Violation = c.markedIDs[id]
	}
	c.emit(e, tierOutline)
}

func outcome(rec kv.Record) string {
	switch rec.Kind {
	case kv.OpGet:
		return strconv.Quote(rec.Output)
	case kv.OpCAS:
		if rec.OK {
			return "swapped"
		}
		return "not swapped"
	}
	return "ok"
}

// ---- the end of the run ----

// finish completes the trace (the violation line, if not yet written, and the verdict) and
// builds the timeline.
func (c *recorder) finish(res *Result) {
	c.grow()
	c.now = int64(res.VirtualTime)
	c.applyCuts(c.now + 1)
	if c.markSeq >= 0 && !c.marked {
		c.emitViolation()
	}
	c.flush()
	if c.out.Trace != nil {
		verdict := Event{Seq: res.Events, AtNs: int64(res.VirtualTime), Node: "kernel", Kind: "verdict", Text: firstLine(res.Report())}
		if res.Status == Fail {
			verdict.Violation = res.Check
			verdict.Text = strings.ReplaceAll(res.Report(), "\n", " / ")
		}
		c.out.Trace(verdict)
	}
	c.out.Timeline = c.model(res)
}

func (c *recorder) model(res *Result) *timeline.Model {
	end := int64(res.VirtualTime)
	m := &timeline.Model{Title: firstLine(res.Report()), StartNs: 0, EndNs: end,
		Bands: c.bands, Outages: c.outages, Shades: c.shades, Spans: c.spans, Ticks: c.ticks.kept(), Arrows: c.arrows.kept()}
	for i := 0; i < c.r.sim.NumNodes(); i++ {
		kind := "client"
		if c.isServer(sim.NodeID(i)) {
			kind = "server"
		}
		m.Lanes = append(m.Lanes, timeline.Lane{Name: c.name(sim.NodeID(i)), Kind: kind})
	}
	closeAt := func(e *int64) {
		if *e < 0 {
			*e = end
		}
	}
	for i := range m.Bands {
		closeAt(&m.Bands[i].End)
	}
	for i := range m.Outages {
		closeAt(&m.Outages[i].End)
	}
	for i := range m.Shades {
		closeAt(&m.Shades[i].End)
	}
	for i := range m.Spans {
		sp := &m.Spans[i]
		closeAt(&sp.End)
		if sp.Open && sp.Detail == "" {
			sp.Detail = "never returned: the outcome is unknown"
		}
	}
	if c.arrows.lost > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("The run sent %d messages; the timeline keeps at most %d (Recording.MaxMessages), those nearest the failure: %d are not drawn.",
			c.arrows.seen, len(m.Arrows), c.arrows.lost))
	}
	if c.ticks.lost > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("The run made %d marks (commits, applies...); the timeline keeps at most %d (Recording.MaxMarks), those nearest the failure: %d are not drawn.",
			c.ticks.seen, len(m.Ticks), c.ticks.lost))
	}
	m.Violation = c.violation(res, m)
	return m
}

var laneMention = regexp.MustCompile(`\b[sc][0-9]+\b`)

// violation places what the checks found on the timeline and marks the operations they name.
func (c *recorder) violation(res *Result, m *timeline.Model) *timeline.Violation {
	if res.Status != Fail {
		return nil
	}
	const marginNs = int64(250 * sim.Millisecond)
	at := int64(res.FailedAt)
	v := &timeline.Violation{Check: res.Check, At: at, Start: max(0, at-marginNs), End: min(m.EndNs, at+marginNs),
		Label: res.Check, Detail: res.Report()}
	var named []checker.Op
	mark := ""
	switch res.Check {
	case CheckLinearizability:
		if res.Lin != nil {
			named, mark = res.Lin.Ops, "illegal"
		}
	case CheckLiveness:
		named, mark = res.Late, "late"
	}
	if len(named) > 0 {
		v.Start, v.End = int64(named[0].Call), int64(named[0].Call)
	}
	laneOf := map[string]int{}
	for i, l := range m.Lanes {
		laneOf[l.Name] = i
	}
	for _, op := range named {
		lane, ok := laneOf[clientName(op.Client)]
		if !ok {
			continue
		}
		v.Lanes = append(v.Lanes, lane)
		v.Start = min(v.Start, op.Call)
		for i := range m.Spans {
			sp := &m.Spans[i]
			if sp.Lane == lane && sp.Start == op.Call {
				sp.Mark = mark
				v.End = max(v.End, sp.End)
			}
		}
	}
	if res.Check == CheckLiveness && res.Schedule != nil {
		v.Start = min(v.Start, int64(ms(res.Schedule.DurationMs)))
		v.End = max(v.End, at)
	}
	if len(named) == 0 {
		for _, name := range laneMention.FindAllString(res.Message, -1) {
			if lane, ok := laneOf[name]; ok {
				v.Lanes = append(v.Lanes, lane)
			}
		}
	}
	v.Start = max(0, min(v.Start, v.At))
	v.End = min(m.EndNs, max(v.End, v.At))
	return v
}
