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

// DefaultMaxPageBytes bounds the size of a page written by Write. Opening a page costs about
// its size (the browser reads the whole file, then parses the part near the violation), so
// a bound on bytes is a bound on the time it takes to open; at this size a page opens in well
// under two seconds in headless Chromium on a busy two-core machine (see BENCHMARKS.md).
const DefaultMaxPageBytes = 3 << 19

// Write renders m as one self-contained HTML page of at most DefaultMaxPageBytes bytes (see
// WriteWithin).
func Write(w io.Writer, m *Model) error { return WriteWithin(w, m, DefaultMaxPageBytes) }

// WriteWithin renders m as one self-contained HTML page of at most maxBytes bytes. It sorts
// m's shapes by time and rejects a model that Validate rejects.
//
// When m does not fit, the page keeps what lies nearest the violation (the start of the run
// when there is none): the operations the checks name always; roles, outages, shades and
// client calls within half of the bytes; message arrows and marks within the rest. Each kind
// is kept whole inside a time range around the violation and left out beyond it, where a grey
// strip along each lane counts what was left out; a note at the top of the page says so.
func WriteWithin(w io.Writer, m *Model, maxBytes int) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.sortShapes()
	near, far, err := fit(m, maxBytes)
	if err != nil {
		return err
	}
	page, err := render(m.Title, near, far)
	if err != nil {
		return err
	}
	if len(page) > maxBytes { // fit's accounting is exact or over; this would be a bug in it
		return fmt.Errorf("timeline: the page has %d bytes, over its bound of %d", len(page), maxBytes)
	}
	_, err = io.WriteString(w, page)
	return err
}

// render assembles the page: the style, the model near the violation as JSON (escaped so that
// it cannot end its script element), the rest as a second JSON parsed only when the reader
// looks there, and the script.
func render(title string, near *wireModel, far *farModel) (string, error) {
	data, err := json.Marshal(near) // escapes <, > and &, so the JSON cannot end the script element
	if err != nil {
		return "", fmt.Errorf("timeline: encoding the model: %w", err)
	}
	farData, err := json.Marshal(far)
	if err != nil {
		return "", fmt.Errorf("timeline: encoding the model: %w", err)
	}
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>\n" + pageCSS + "</style>\n</head>\n<body>\n")
	b.WriteString(`<noscript>This page draws the run with JavaScript; turn it on to see the timeline.</noscript>` + "\n")
	b.WriteString(`<script id="model" type="application/json">`)
	b.Write(data)
	b.WriteString("</script>\n" + `<script id="model-far" type="application/json">`)
	b.Write(farData)
	b.WriteString("</script>\n<script>\n" + pageJS + "</script>\n</body>\n</html>\n")
	return b.String(), nil
}

// wireModel is the model as the page receives it. Arrows and ticks, most of a large page,
// travel as flat arrays of integers, their strings listed once in Strs (a commit or apply
// mark's label is the same on every server, a heartbeat's detail the same many times):
//
//	arrows: from, to, send, recv-send, type (index in Types), flags (1 dropped, 2 copy), detail
//	ticks:  lane, at, kind, label, detail
//
// where kind, label and detail are indexes in Strs (continued by farModel.Strs).
type wireModel struct {
	*Model
	Bands   []Band      `json:"bands"`
	Outages []Outage    `json:"outages"`
	Shades  []Shade     `json:"shades"`
	Spans   []Span      `json:"spans"`
	Notes   []string    `json:"notes"`
	Strs    []string    `json:"strs"`
	Types   [][2]string `json:"types"`
	Arrows  []int64     `json:"arrows"`
	Ticks   []int64     `json:"ticks"`
	// NearStart and NearEnd bound the arrows and ticks of this part (see minNearMarginNs); both
	// 0 when it holds them all.
	NearStart int64 `json:"nearStart"`
	NearEnd   int64 `json:"nearEnd"`
	// Kept is set when the page could not hold everything (see WriteWithin).
	Kept *kept `json:"kept,omitempty"`
}

// kept says what a page left out: every message arrow and mark that lies partly in
// (Start, End) is on the page, and every shape (role band, outage, shade, client call) in
// (ShapesStart, ShapesEnd); what is not is counted in Left.
type kept struct {
	Start       int64 `json:"s"`
	End         int64 `json:"e"`
	ShapesStart int64 `json:"ss"`
	ShapesEnd   int64 `json:"se"`
	// BucketNs is the width of the time buckets of Left; Left lists, for every lane and
	// bucket where something was left out, lane, bucket, messages (by their sender's lane and
	// send instant), marks, and other shapes (calls, bands, outages, shades).
	BucketNs int64   `json:"bucket"`
	Left     []int64 `json:"left"`
}

// farModel is the second JSON of a page: the arrows and ticks away from the violation, with
// the strings only they use.
type farModel struct {
	Strs   []string `json:"strs"`
	Arrows []int64  `json:"arrows"`
	Ticks  []int64  `json:"ticks"`
}

// The page's first JSON holds the arrows and ticks within a margin around the violation's
// window: a quarter of the window's length, at least minNearMarginNs. That covers the view
// the page opens on and its first message window (page.js: the window with 15% on each side;
// messages 250 ms beyond it, or 500 ms around its middle); those farther away go into the
// second JSON, parsed only when the reader looks there.
const minNearMarginNs = int64(500e6)
