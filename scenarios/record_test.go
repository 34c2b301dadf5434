package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// record runs spec with a recording at level and returns the result, the trace and the
// recording.
func record(t *testing.T, spec Spec, level TraceLevel, of *Result) (*Result, []Event, *Recording) {
	t.Helper()
	var events []Event
	rec := &Recording{Level: level, Of: of, Trace: func(e Event) { events = append(events, e) }}
	res, err := Execute(spec, Options{Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	return res, events, rec
}

// TestRecordingChangesNothing: the same seeds give the same trace hash and verdict with and
// without a recording, at every level.
func TestRecordingChangesNothing(t *testing.T) {
	specs := []Spec{
		{Scenario: "default", Seed: 1, Bug: "no-dedup"},
		{Scenario: "default", Seed: 7},
		{Scenario: "figure8", Seed: 1, Bug: "commit-old-term"},
		{Scenario: "raft/InitialElection", Seed: 2},
	}
	for _, spec := range specs {
		plain, err := Execute(spec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		levels := []TraceLevel{TraceDefault}
		if spec.Bug == "" {
			levels = append(levels, TraceAll)
		}
		for _, level := range levels {
			res, events, rec := record(t, spec, level, plain)
			if res.Hash != plain.Hash || res.Status != plain.Status || res.Events != plain.Events {
				t.Errorf("%s seed %d at level %s: trace %016x %s (%d events), without recording %016x %s (%d events)",
					spec.Scenario, spec.Seed, level, res.Hash, res.Status, res.Events, plain.Hash, plain.Status, plain.Events)
			}
			if len(events) == 0 || rec.Timeline == nil || len(rec.Timeline.Lanes) == 0 {
				t.Errorf("%s seed %d: recorded %d events and timeline %v", spec.Scenario, spec.Seed, len(events), rec.Timeline)
			}
		}
	}
}

// TestTraceFollowsTheNoDedupFailure: at the default level the trace of -bug no-dedup seed 11 is
// at most a tenth of the full kernel trace and still shows the failing call, its requests, the
// two applies of its command, and the marked lines.
func TestTraceFollowsTheNoDedupFailure(t *testing.T) {
	spec := Spec{Scenario: "default", Seed: 11, Bug: "no-dedup"}
	plain, err := Execute(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Check != CheckLinearizability {
		t.Fatalf("no-dedup seed 11 failed %q, want linearizability", plain.Check)
	}
	_, all, _ := record(t, spec, TraceAll, plain)
	_, events, rec := record(t, spec, TraceDefault, plain)
	if len(events)*10 > len(all) {
		t.Errorf("default trace has %d lines, more than a tenth of the %d of level all", len(events), len(all))
	}
	text := make([]string, len(events))
	for i, e := range events {
		text[i] = e.String()
	}
	joined := strings.Join(text, "\n")
	for _, want := range []string{
		`>> 4.587513905s #7075    c2     invoke    invoke append("k13", "7.26;")`,
		`c2→s3 request c2 seq 26 append("k13", "7.26;")`,
		`applied 73 (term 6): c2 seq 26 append("k13", "7.26;")`,
		`applied 78 (term 8): c2 seq 26 append("k13", "7.26;")`,
		`s3→c2 reply c2 seq 26 ErrRetry`,
		`>> 5.584347986s #8315    c2     return    return append("k13", "7.26;") -> ok`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("the default trace lacks %q", want)
		}
	}
	for _, e := range events {
		if e.Kind == "timer" || e.MsgKind == "heartbeat" || strings.Contains(e.Text, "client 1") {
			t.Errorf("the default trace shows %q", e.String())
			break
		}
		// Around a failure found after the run, the replication is left out (level full).
		if e.MsgKind == "append" || e.MsgKind == "append-reply" || e.Kind == "write" || e.Kind == "sync" || e.Kind == "commit" {
			t.Errorf("the default trace of a linearizability failure shows replication: %q", e.String())
			break
		}
	}
	if !strings.Contains(rec.Header(), "around the failure") {
		t.Errorf("header %q does not say where the detail is", rec.Header())
	}
	tl := rec.Timeline
	if tl.Violation == nil || tl.Violation.Check != CheckLinearizability || len(tl.Violation.Lanes) == 0 ||
		tl.Lanes[tl.Violation.Lanes[len(tl.Violation.Lanes)-1]].Name != "c3" {
		t.Fatalf("timeline violation %+v, want linearizability on c3", tl.Violation)
	}
	illegal := 0
	for _, sp := range tl.Spans {
		if sp.Mark == "illegal" {
			illegal++
		}
	}
	if illegal == 0 || illegal > 3 {
		t.Errorf("%d spans marked illegal, want the violation's calls (1 to 3)", illegal)
	}
}

// TestTraceMarksAnOnlineViolation: the violation line of a safety failure comes right after
// the lines of the kernel event at which the monitor fired.
func TestTraceMarksAnOnlineViolation(t *testing.T) {
	spec := Spec{Scenario: "figure8", Seed: 1, Bug: "commit-old-term"}
	plain, err := Execute(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Status != Fail || plain.FailedEvent < 0 {
		t.Fatalf("figure8 seed 1 with commit-old-term: %s", plain.Report())
	}
	_, events, rec := record(t, spec, TraceDefault, plain)
	marked := -1
	for i, e := range events {
		if e.Kind == "VIOLATION" {
			marked = i
			break
		}
	}
	if marked <= 0 || events[marked-1].Seq != plain.FailedEvent || !strings.Contains(events[marked].Text, plain.Check) {
		t.Fatalf("violation line at %d of %d; want it after the lines of event #%d", marked, len(events), plain.FailedEvent)
	}
	// Around a failure an online check caught, the window shows the replication that led to it.
	seen := map[string]bool{}
	for _, e := range events[:marked] {
		seen[e.Kind] = true
		if e.MsgKind == "append" {
			seen["append message"] = true
		}
	}
	for _, want := range []string{"append message", "append", "commit", "sync"} {
		if !seen[want] {
			t.Errorf("no %s line before the violation of an online check", want)
		}
	}
	if v := rec.Timeline.Violation; v == nil || v.At != int64(plain.FailedAt) || len(v.Lanes) == 0 {
		t.Errorf("timeline violation %+v, want at %d on the servers the message names", v, plain.FailedAt)
	}
}

// TestTimelineMarksEveryApply: every apply of the run is on a mark of its server's lane at its
// instant, alone or in a mark for a run of consecutive indexes (a restarted server replaying
// its log makes one mark, not hundreds); with MaxMarks the timeline keeps that many marks,
// those nearest the failure, and says so.
func TestTimelineMarksEveryApply(t *testing.T) {
	spec := Spec{Scenario: "default", Seed: 1, Bug: "no-dedup"}
	plain, err := Execute(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, events, rec := record(t, spec, TraceFull, plain)
	tl := rec.Timeline
	type place struct {
		node string
		at   int64
	}
	marked := map[place][][2]uint64{}
	runs := 0
	for _, tk := range tl.Ticks {
		if tk.Kind != "apply" {
			continue
		}
		var first, last, n uint64
		if _, err := fmt.Sscanf(tk.Label, "applied %d-%d (%d entries)", &first, &last, &n); err == nil {
			runs++
		} else if _, err := fmt.Sscanf(tk.Label, "applied %d ", &first); err == nil {
			last = first
		} else {
			t.Fatalf("apply mark %q", tk.Label)
		}
		p := place{tl.Lanes[tk.Lane].Name, tk.At}
		marked[p] = append(marked[p], [2]uint64{first, last})
	}
	applies := 0
	for _, e := range events {
		if e.Kind != "apply" {
			continue
		}
		applies++
		found := false
		for _, r := range marked[place{e.Node, e.AtNs}] {
			found = found || r[0] <= e.Index && e.Index <= r[1]
		}
		if !found {
			t.Fatalf("no mark for %s", e)
		}
	}
	if runs == 0 || applies == 0 {
		t.Errorf("%d applies, %d marks for runs of applies: want both", applies, runs)
	}

	const maxMarks = 50
	limited := &Recording{Of: plain, MaxMarks: maxMarks}
	if _, err := Execute(spec, Options{Record: limited}); err != nil {
		t.Fatal(err)
	}
	distance := func(tk int64) int64 { return max(tk-int64(plain.FailedAt), int64(plain.FailedAt)-tk) }
	var all []int64
	for _, tk := range tl.Ticks {
		all = append(all, distance(tk.At))
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(limited.Timeline.Ticks) != maxMarks {
		t.Fatalf("%d marks kept, want MaxMarks = %d", len(limited.Timeline.Ticks), maxMarks)
	}
	for _, tk := range limited.Timeline.Ticks {
		if distance(tk.At) > all[maxMarks-1] {
			t.Errorf("kept mark %+v at %d ns from the failure; the %d nearest are within %d", tk, distance(tk.At), maxMarks, all[maxMarks-1])
		}
	}
	if notes := strings.Join(limited.Timeline.Notes, " "); !strings.Contains(notes, "MaxMarks") {
		t.Errorf("notes %q do not say marks were left out", notes)
	}
}

func TestParseTraceLevel(t *testing.T) {
	for _, name := range []string{"default", "full", "all"} {
		if l, err := ParseTraceLevel(name); err != nil || l.String() != name {
			t.Errorf("ParseTraceLevel(%q) = %v, %v", name, l, err)
		}
	}
	if _, err := ParseTraceLevel("verbose"); err == nil || !strings.Contains(err.Error(), "default, full, all") {
		t.Errorf("ParseTraceLevel(verbose) error %v does not list the valid levels", err)
	}
}
