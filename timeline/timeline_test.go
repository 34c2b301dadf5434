package timeline

import (
	"bytes"
	"encoding/json"
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
		Arrows    [][]any
		Types     [][2]string
		Violation *Violation
	}
	raw := page[start+len(`<script id="model" type="application/json">`) : start+end]
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("embedded model does not decode: %v", err)
	}
	if m.Title != "run </script><b>" || len(m.Arrows) != 2 || m.Arrows[0][2] != float64(5) || len(m.Types) != 1 || m.Violation == nil {
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
