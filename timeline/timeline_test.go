package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func sample() *Model {
	return &Model{
		Title: "run </script><b>", StartNs: 0, EndNs: 100,
		Lanes:     []Lane{{Name: "s0", Kind: "server"}, {Name: "c0", Kind: "client"}},
		Bands:     []Band{{Lane: 0, Start: 0, End: 100, State: "leader", Num: 1}},
		Spans:     []Span{{Lane: 1, Start: 10, End: 60, Label: `put("k", "x")`, Mark: "illegal"}},
		Arrows:    []Arrow{{From: 1, To: 0, Send: 20, Recv: 25, Type: "request", Kind: "kv-request"}, {From: 1, To: 0, Send: 5, Recv: 9, Type: "request", Kind: "kv-request"}},
		Ticks:     []Tick{{Lane: 0, At: 30, Kind: "commit", Label: "commit 1"}},
		Outages:   []Outage{{Lane: 0, Start: 70, End: 80, Kind: "crash"}},
		Shades:    []Shade{{Start: 40, End: 50, Kind: "partition", Lanes: []int{0}}},
		Violation: &Violation{Check: "linearizability", At: 10, Start: 10, End: 60, Lanes: []int{1}},
	}
}

func TestWriteEmbedsTheModelAndNeedsNoNetwork(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	start := strings.Index(page, `<script id="model" type="application/json">`)
	end := strings.Index(page[start:], "</script>")
	if start < 0 || end < 0 {
		t.Fatalf("no model script element in the page")
	}
	var m struct {
		Title     string
		Arrows    []int64
		Types     [][2]string
		Violation *Violation
	}
	raw := page[start+len(`<script id="model" type="application/json">`) : start+end]
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("embedded model does not decode: %v", err)
	}
	if m.Title != "run </script><b>" || len(m.Arrows) != 2*arrowFields || m.Arrows[2] != 5 || len(m.Types) != 1 || m.Violation == nil {
		t.Errorf("embedded model %+v: want the title intact, arrows sorted by send time, one message type", m)
	}
	if strings.Contains(raw, "</script>") || strings.Contains(page, "<title>run </script>") {
		t.Errorf("the title or model can end a script element early")
	}
	local := strings.ReplaceAll(page, "'http://www.w3.org/2000/svg'", "") // a namespace name, not a load
	for _, remote := range []string{"http://", "https://", "src=", "@import", "<link"} {
		if strings.Contains(local, remote) {
			t.Errorf("the page refers to %q: it must open with no network access", remote)
		}
	}
	if !strings.Contains(page, "id: 'violation'") {
		t.Errorf("the page script does not create the violation marker")
	}
}

func TestValidateRejectsShapesOffTheModel(t *testing.T) {
	for name, breakIt := range map[string]func(m *Model){ // detguard:unordered each case is checked on its own
		"band on a missing lane": func(m *Model) { m.Bands[0].Lane = 2 },
		"span ending early":      func(m *Model) { m.Spans[0].End = 5 },
		"arrow to nowhere":       func(m *Model) { m.Arrows[0].To = -1 },
		"arrow back in time":     func(m *Model) { m.Arrows[0].Recv = 1 },
		"tick off the lanes":     func(m *Model) { m.Ticks[0].Lane = 9 },
		"outage reversed":        func(m *Model) { m.Outages[0].End = 60 },
		"shade on a bad lane":    func(m *Model) { m.Shades[0].Lanes = []int{7} },
		"violation lane":         func(m *Model) { m.Violation.Lanes = []int{3} },
		"run reversed":           func(m *Model) { m.EndNs = -1 },
	} {
		m := sample()
		breakIt(m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
		if err := Write(&bytes.Buffer{}, m); err == nil {
			t.Errorf("%s: Write accepted it", name)
		}
	}
	if err := sample().Validate(); err != nil {
		t.Errorf("the sample is rejected: %v", err)
	}
}

// Fields of an arrow and a tick in the page's flat arrays (see wireModel).
const arrowFields, tickFields = 7, 5

// page is a written page decoded back: the two JSON parts.
type page struct {
	near struct {
		Notes   []string
		Strs    []string
		Types   [][2]string
		Arrows  []int64
		Ticks   []int64
		Spans   []Span
		Bands   []Band
		Outages []Outage
		Shades  []Shade
		Kept    *kept
	}
	far farModel
}

func decodePage(t *testing.T, html string) page {
	t.Helper()
	var p page
	for _, part := range []struct {
		id  string
		out any
	}{{"model", &p.near}, {"model-far", &p.far}} {
		open := `<script id="` + part.id + `" type="application/json">`
		start := strings.Index(html, open)
		if start < 0 {
			t.Fatalf("no %s script element in the page", part.id)
		}
		raw := html[start+len(open):]
		raw = raw[:strings.Index(raw, "</script>")]
		if err := json.Unmarshal([]byte(raw), part.out); err != nil {
			t.Fatalf("%s does not decode: %v", part.id, err)
		}
	}
	return p
}

// bigRun is a model of a 30 s run with far more messages and marks than fit on a small page:
// a violation window of 14-15 s (instant 14.9 s) and one operation the check names at 5 s,
// far outside it.
func bigRun() *Model {
	rng := rand.New(rand.NewPCG(1, 2))
	const runNs = int64(30e9)
	m := &Model{Title: "big", EndNs: runNs,
		Violation: &Violation{Check: "linearizability", At: 14.9e9, Start: 14e9, End: 15e9, Lanes: []int{3}}}
	for i := 0; i < 3; i++ {
		m.Lanes = append(m.Lanes, Lane{Name: fmt.Sprintf("s%d", i), Kind: "server"})
	}
	m.Lanes = append(m.Lanes, Lane{Name: "c0", Kind: "client"})
	for i := int64(0); i < 30; i++ {
		m.Bands = append(m.Bands, Band{Lane: int(i % 3), Start: i * 1e9, End: i*1e9 + 9e8, State: "leader", Num: uint64(i)})
		m.Spans = append(m.Spans, Span{Lane: 3, Start: i * 1e9, End: i*1e9 + 5e8, Label: fmt.Sprintf("put(k, %d)", i)})
	}
	m.Spans[5].Mark = "illegal"
	m.Outages = append(m.Outages, Outage{Lane: 1, Start: 2e9, End: 3e9, Kind: "crash"})
	m.Shades = append(m.Shades, Shade{Start: 20e9, End: 21e9, Kind: "partition", Lanes: []int{0, 1}})
	for i := 0; i < 40000; i++ {
		send := rng.Int64N(runNs - 1e7)
		m.Arrows = append(m.Arrows, Arrow{From: rng.IntN(3), To: rng.IntN(4), Send: send, Recv: send + rng.Int64N(1e7),
			Type: "MsgApp", Kind: "append", Detail: fmt.Sprintf("MsgApp index %d", i%5000), Dropped: i%7 == 0})
	}
	for i := 0; i < 20000; i++ {
		m.Ticks = append(m.Ticks, Tick{Lane: rng.IntN(3), At: rng.Int64N(runNs), Kind: "apply", Label: fmt.Sprintf("applied %d", i/3)})
	}
	return m
}

// TestWriteWithinKeepsWhatIsNearestTheViolation: a page of a run too large for its bound stays
// within it, keeps the operations the checks name, every message and mark that meets the range
// it states and none beyond, counts what it left out, and says so.
func TestWriteWithinKeepsWhatIsNearestTheViolation(t *testing.T) {
	const bound = 300 << 10
	m := bigRun()
	var b bytes.Buffer
	if err := WriteWithin(&b, m, bound); err != nil {
		t.Fatal(err)
	}
	if b.Len() > bound {
		t.Fatalf("the page has %d bytes, over its bound of %d", b.Len(), bound)
	}
	p := decodePage(t, b.String())
	k := p.near.Kept
	if k == nil {
		t.Fatalf("the page does not say what it left out")
	}
	if !(k.Start < m.Violation.Start && k.End > m.Violation.End && k.End-k.Start < 10e9) {
		t.Errorf("kept range %d-%d: want a range around the violation's window 14e9-15e9, far from the whole run", k.Start, k.End)
	}
	strs := append(append([]string{}, p.near.Strs...), p.far.Strs...)
	type arrowKey struct{ from, to, send, recv int64 }
	kept := map[arrowKey]string{}
	for _, flat := range [][]int64{p.near.Arrows, p.far.Arrows} {
		for i := 0; i+arrowFields <= len(flat); i += arrowFields {
			kept[arrowKey{flat[i], flat[i+1], flat[i+2], flat[i+2] + flat[i+3]}] = strs[flat[i+6]]
		}
	}
	leftArrows := 0
	for _, a := range m.Arrows {
		detail, ok := kept[arrowKey{int64(a.From), int64(a.To), a.Send, a.Recv}]
		meets := a.Recv > k.Start && a.Send < k.End
		switch {
		case meets && !ok:
			t.Fatalf("arrow %+v meets the kept range %d-%d but is not on the page", a, k.Start, k.End)
		case ok && (a.Recv < k.Start || a.Send > k.End):
			t.Fatalf("arrow %+v lies outside the kept range %d-%d but is on the page", a, k.Start, k.End)
		case ok && detail != a.Detail:
			t.Fatalf("arrow %+v has detail %q on the page", a, detail)
		case !ok:
			leftArrows++
		}
	}
	keptTicks := (len(p.near.Ticks) + len(p.far.Ticks)) / tickFields
	if keptTicks == 0 || leftArrows == 0 || leftArrows == len(m.Arrows) {
		t.Errorf("%d ticks kept, %d of %d arrows left out: want some of each kept and some arrows left out", keptTicks, leftArrows, len(m.Arrows))
	}
	var countedArrows, countedTicks int64
	for i := 0; i+5 <= len(k.Left); i += 5 {
		countedArrows += k.Left[i+2]
		countedTicks += k.Left[i+3]
	}
	if countedArrows != int64(leftArrows) || countedTicks != int64(len(m.Ticks)-keptTicks) {
		t.Errorf("the page counts %d arrows and %d ticks left out, want %d and %d", countedArrows, countedTicks, leftArrows, len(m.Ticks)-keptTicks)
	}
	named := false
	for _, sp := range p.near.Spans {
		named = named || sp.Mark == "illegal"
	}
	if !named {
		t.Errorf("the operation the check names (at 5 s, outside the kept range) is not on the page")
	}
	if len(p.near.Notes) == 0 || !strings.Contains(p.near.Notes[len(p.near.Notes)-1], "limited to") {
		t.Errorf("no note says the page is limited: %q", p.near.Notes)
	}
	var again bytes.Buffer
	if err := WriteWithin(&again, bigRun(), bound); err != nil || again.String() != b.String() {
		t.Errorf("writing the same model twice gave different pages (err %v)", err)
	}
}

// TestWriteKeepsASmallRunWhole: a run that fits is on its page whole, with no note.
func TestWriteKeepsASmallRunWhole(t *testing.T) {
	m := bigRun()
	m.Arrows, m.Ticks = m.Arrows[:300], m.Ticks[:300]
	var b bytes.Buffer
	if err := Write(&b, m); err != nil {
		t.Fatal(err)
	}
	p := decodePage(t, b.String())
	arrows := (len(p.near.Arrows) + len(p.far.Arrows)) / arrowFields
	ticks := (len(p.near.Ticks) + len(p.far.Ticks)) / tickFields
	if p.near.Kept != nil || len(p.near.Notes) != 0 || arrows != 300 || ticks != 300 || len(p.near.Spans) != 30 || len(p.near.Bands) != 30 {
		t.Errorf("page holds %d arrows, %d ticks, %d spans, %d bands, kept %+v, notes %q: want everything and no note",
			arrows, ticks, len(p.near.Spans), len(p.near.Bands), p.near.Kept, p.near.Notes)
	}
	if len(p.far.Arrows) == 0 || len(p.near.Arrows) == 0 {
		t.Errorf("%d arrows in the near part, %d in the far part: want those away from the violation in the far part", len(p.near.Arrows)/arrowFields, len(p.far.Arrows)/arrowFields)
	}
}

func TestWriteWithinRejectsABoundTooSmall(t *testing.T) {
	err := WriteWithin(&bytes.Buffer{}, sample(), 4096)
	if err == nil || !strings.Contains(err.Error(), "needs at least") {
		t.Errorf("a 4 KB bound gave %v, want an error saying how many bytes a page needs", err)
	}
}
