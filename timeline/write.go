package timeline

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

//go:embed page.js
var pageJS string

//go:embed page.css
var pageCSS string

// Write renders m as one self-contained HTML page. It sorts m's shapes by time and rejects a
// model that Validate rejects.
func Write(w io.Writer, m *Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.sortShapes()
	near, far := split(m)
	data, err := json.Marshal(near) // escapes <, > and &, so the JSON cannot end the script element
	if err != nil {
		return fmt.Errorf("timeline: encoding the model: %w", err)
	}
	farData, err := json.Marshal(far)
	if err != nil {
		return fmt.Errorf("timeline: encoding the model: %w", err)
	}
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(m.Title))
	b.WriteString("<style>\n" + pageCSS + "</style>\n</head>\n<body>\n")
	b.WriteString(`<noscript>This page draws the run with JavaScript; turn it on to see the timeline.</noscript>` + "\n")
	b.WriteString(`<script id="model" type="application/json">`)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "</script>\n"+`<script id="model-far" type="application/json">`); err != nil {
		return err
	}
	if _, err := w.Write(farData); err != nil {
		return err
	}
	_, err = io.WriteString(w, "</script>\n<script>\n"+pageJS+"</script>\n</body>\n</html>\n")
	return err
}

// nearMarginNs is how far around the violation's window the page's first JSON reaches; arrows
// and ticks farther away go into a second one, parsed only when the reader looks there, so
// that a page of a long run with a hundred thousand messages still opens at once.
const nearMarginNs = int64(2e9)

// farModel is the second JSON of a page: the arrows and ticks away from the violation.
type farModel struct {
	Arrows [][]any `json:"arrows"`
	Ticks  []Tick  `json:"ticks"`
}

// split encodes m for the page: everything, except the arrows and ticks outside the near
// range, which go into the far part (empty for a run without a violation).
func split(m *Model) (wireModel, farModel) {
	w := compact(m)
	far := farModel{Arrows: [][]any{}, Ticks: []Tick{}}
	if m.Violation == nil {
		return w, far
	}
	w.NearStart, w.NearEnd = m.Violation.Start-nearMarginNs, m.Violation.End+nearMarginNs
	var nearArrows [][]any
	for i, a := range m.Arrows {
		if a.Recv >= w.NearStart && a.Send <= w.NearEnd {
			nearArrows = append(nearArrows, w.Arrows[i])
		} else {
			far.Arrows = append(far.Arrows, w.Arrows[i])
		}
	}
	var nearTicks []Tick
	for _, t := range m.Ticks {
		if t.At >= w.NearStart && t.At <= w.NearEnd {
			nearTicks = append(nearTicks, t)
		} else {
			far.Ticks = append(far.Ticks, t)
		}
	}
	w.Arrows, w.Ticks = nearArrows, nearTicks
	if w.Arrows == nil {
		w.Arrows = [][]any{}
	}
	if w.Ticks == nil {
		w.Ticks = []Tick{}
	}
	return w, far
}

// wireModel is the model as the page receives it: arrows, most of a large page, as arrays
// [from, to, send, recv, type index, flags (1 dropped, 2 copy), detail] with their types
// ([name, kind]) listed once, which makes a page about half as large.
type wireModel struct {
	*Model
	Arrows [][]any     `json:"arrows"`
	Types  [][2]string `json:"types"`
	Ticks  []Tick      `json:"ticks"`
	// NearStart and NearEnd bound the arrows and ticks of this part (see split); both 0 when
	// it holds them all.
	NearStart int64 `json:"nearStart"`
	NearEnd   int64 `json:"nearEnd"`
}

func compact(m *Model) wireModel {
	w := wireModel{Model: m, Arrows: make([][]any, len(m.Arrows)), Types: [][2]string{}, Ticks: m.Ticks}
	typeIndex := map[[2]string]int{}
	for i, a := range m.Arrows {
		key := [2]string{a.Type, a.Kind}
		t, ok := typeIndex[key]
		if !ok {
			t = len(w.Types)
			typeIndex[key] = t
			w.Types = append(w.Types, key)
		}
		flags := 0
		if a.Dropped {
			flags |= 1
		}
		if a.Copy {
			flags |= 2
		}
		w.Arrows[i] = []any{a.From, a.To, a.Send, a.Recv, t, flags, a.Detail}
	}
	return w
}
