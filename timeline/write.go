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
	data, err := json.Marshal(compact(m)) // escapes <, > and &, so the JSON cannot end the script element
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
	_, err = io.WriteString(w, "</script>\n<script>\n"+pageJS+"</script>\n</body>\n</html>\n")
	return err
}

// wireModel is the model as the page receives it: arrows, most of a large page, as arrays
// [from, to, send, recv, type index, flags (1 dropped, 2 copy), detail] with their types
// ([name, kind]) listed once, which makes a page about half as large.
type wireModel struct {
	*Model
	Arrows [][]any     `json:"arrows"`
	Types  [][2]string `json:"types"`
}

func compact(m *Model) wireModel {
	w := wireModel{Model: m, Arrows: make([][]any, len(m.Arrows)), Types: [][2]string{}}
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
