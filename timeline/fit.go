package timeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Limits that keep a page within its bytes whatever the run.
const (
	// maxStringBytes bounds a label or detail (cut with an ellipsis beyond it);
	// maxViolationBytes bounds the violation's description.
	maxStringBytes    = 2 << 10
	maxViolationBytes = 32 << 10
	// leftBuckets is how many time buckets count, per lane, what a page left out.
	leftBuckets = 200
	// noteReserveBytes is room kept for the note saying what was left out and its ranges.
	noteReserveBytes = 1 << 10
)

// A candidate is a shape that may go on the page, with its nearness to the violation: d1 is
// its distance from the violation's window, d2 from the violation's instant (the shapes inside
// the window are taken nearest the instant first).
type candidate struct {
	d1, d2 int64
	kind   byte // 'b' band, 'o' outage, 'h' shade, 's' span, 'a' arrow, 't' tick
	i      int
}

func (c candidate) before(o candidate) bool {
	if c.d1 != o.d1 {
		return c.d1 < o.d1
	}
	if c.d2 != o.d2 {
		return c.d2 < o.d2
	}
	if c.kind != o.kind {
		return c.kind < o.kind
	}
	return c.i < o.i
}

// focus is what a page is kept around: the violation's window [s, e] and instant at, or the
// start of the run when nothing failed.
type focus struct{ s, e, at int64 }

func focusOf(m *Model) focus {
	if v := m.Violation; v != nil {
		return focus{v.Start, v.End, v.At}
	}
	return focus{m.StartNs, m.StartNs, m.StartNs}
}

func (f focus) candidate(kind byte, i int, s, e int64) candidate {
	return candidate{d1: gap(s, e, f.s, f.e), d2: gap(s, e, f.at, f.at), kind: kind, i: i}
}

// keptRange is the range whose shapes a page holds when it left out stop and all farther:
// the shapes nearer than stop are exactly those that meet it.
func (f focus) keptRange(stop candidate) (int64, int64) {
	if stop.d1 > 0 {
		return f.s - stop.d1, f.e + stop.d1
	}
	return max(f.s, f.at-stop.d2), min(f.e, f.at+stop.d2)
}

// gap is the distance between the intervals [s, e] and [fs, fe] (0 when they meet).
func gap(s, e, fs, fe int64) int64 {
	switch {
	case e < fs:
		return fs - e
	case s > fe:
		return s - fe
	}
	return 0
}

// take keeps the candidates, nearest first, while their sizes fit in budget bytes. When one
// does not fit, it also leaves out those of the same nearness, so that what is kept is all
// that meets a range (focus.keptRange of the first left out). It returns the bytes used.
func take(cands []candidate, budget int, size func(candidate) int) (kept, left []candidate, used int) {
	sort.Slice(cands, func(i, j int) bool { return cands[i].before(cands[j]) })
	sizes := make([]int, 0, len(cands))
	for i, c := range cands {
		n := size(c)
		if used+n > budget {
			k := i
			for k > 0 && sameNearness(cands[k-1], c) {
				k--
				used -= sizes[k]
			}
			return cands[:k], cands[k:], used
		}
		sizes = append(sizes, n)
		used += n
	}
	return cands, nil, used
}

func sameNearness(a, b candidate) bool {
	if b.d1 > 0 {
		return a.d1 == b.d1
	}
	return a.d1 == 0 && a.d2 == b.d2
}

// fit chooses what of m goes on a page of at most maxBytes and encodes it: the part near the
// violation and the far part.
func fit(m *Model, maxBytes int) (*wireModel, *farModel, error) {
	skeleton := *m
	skeleton.Title = clip(m.Title, maxStringBytes)
	skeleton.Summary = clipAll(m.Summary)
	skeleton.Links = append([]Link(nil), m.Links...)
	for i := range skeleton.Links {
		skeleton.Links[i].Label = clip(skeleton.Links[i].Label, maxStringBytes)
		skeleton.Links[i].Href = clip(skeleton.Links[i].Href, maxStringBytes)
	}
	if m.Violation != nil {
		v := *m.Violation
		v.Label, v.Detail = clip(v.Label, maxStringBytes), clip(v.Detail, maxViolationBytes)
		skeleton.Violation = &v
	}
	near := &wireModel{Model: &skeleton, Bands: []Band{}, Outages: []Outage{}, Shades: []Shade{}, Spans: []Span{},
		Notes: clipAll(m.Notes), Strs: []string{}, Types: arrowTypes(m.Arrows), Arrows: []int64{}, Ticks: []int64{}}
	far := &farModel{Strs: []string{}, Arrows: []int64{}, Ticks: []int64{}}
	f := focusOf(m)
	if m.Violation != nil {
		margin := max((f.e-f.s)/4, minNearMarginNs)
		near.NearStart, near.NearEnd = f.s-margin, f.e+margin
	}
	empty, err := render(skeleton.Title, near, far)
	if err != nil {
		return nil, nil, err
	}
	items := len(m.Bands) + len(m.Outages) + len(m.Shades) + len(m.Spans) + len(m.Arrows) + len(m.Ticks)
	fixed := len(empty) + noteReserveBytes + leftReserveBytes(len(m.Lanes), items)
	if fixed > maxBytes {
		return nil, nil, fmt.Errorf("timeline: a page of this run needs at least %d bytes; the bound is %d", fixed, maxBytes)
	}
	avail := maxBytes - fixed

	// The operations the checks name, always; then the other shapes within half of the rest;
	// arrows and ticks within what is left.
	for _, s := range m.Spans {
		if s.Mark != "" {
			near.Spans = append(near.Spans, clipSpan(s))
			avail -= jsonSize(near.Spans[len(near.Spans)-1])
		}
	}
	leftShapes, used := fitShapes(m, f, max(0, avail/2), near)
	keptMarks, leftMarks := fitMarks(m, f, avail-used, near, far)
	if len(leftShapes) > 0 || len(leftMarks) > 0 {
		near.Kept = leftOut(m, f, leftShapes, leftMarks)
		near.Notes = append(near.Notes, keptNote(m, near.Kept, len(keptMarks), maxBytes))
	}
	return near, far, nil
}

// fitShapes puts into near the bands, outages, shades and unnamed spans nearest the focus
// that fit in budget bytes, and returns those left out and the bytes used.
func fitShapes(m *Model, f focus, budget int, near *wireModel) (left []candidate, used int) {
	var shapes []candidate
	for i, s := range m.Spans {
		if s.Mark == "" {
			shapes = append(shapes, f.candidate('s', i, s.Start, s.End))
		}
	}
	for i, b := range m.Bands {
		shapes = append(shapes, f.candidate('b', i, b.Start, b.End))
	}
	for i, o := range m.Outages {
		shapes = append(shapes, f.candidate('o', i, o.Start, o.End))
	}
	for i, h := range m.Shades {
		shapes = append(shapes, f.candidate('h', i, h.Start, h.End))
	}
	kept, left, used := take(shapes, budget, func(c candidate) int {
		switch c.kind {
		case 'b':
			return jsonSize(m.Bands[c.i])
		case 'o':
			return jsonSize(clipOutage(m.Outages[c.i]))
		case 'h':
			return jsonSize(clipShade(m.Shades[c.i]))
		}
		return jsonSize(clipSpan(m.Spans[c.i]))
	})
	for i, ok := range picked(kept, 'b', len(m.Bands)) {
		if ok {
			near.Bands = append(near.Bands, m.Bands[i])
		}
	}
	for i, ok := range picked(kept, 'o', len(m.Outages)) {
		if ok {
			near.Outages = append(near.Outages, clipOutage(m.Outages[i]))
		}
	}
	for i, ok := range picked(kept, 'h', len(m.Shades)) {
		if ok {
			near.Shades = append(near.Shades, clipShade(m.Shades[i]))
		}
	}
	for i, ok := range picked(kept, 's', len(m.Spans)) {
		if ok {
			near.Spans = append(near.Spans, clipSpan(m.Spans[i]))
		}
	}
	sort.SliceStable(near.Spans, func(i, j int) bool { return near.Spans[i].Start < near.Spans[j].Start })
	return left, used
}

// fitMarks encodes the arrows and ticks nearest the focus that fit in budget bytes, their
// strings counted once: into near when they meet its range, into far otherwise, with their
// strings listed in the same order (the near part's first).
func fitMarks(m *Model, f focus, budget int, near *wireModel, far *farModel) (kept, left []candidate) {
	var marks []candidate
	for i, a := range m.Arrows {
		marks = append(marks, f.candidate('a', i, a.Send, a.Recv))
	}
	for i, t := range m.Ticks {
		marks = append(marks, f.candidate('t', i, t.At, t.At))
	}
	indexDigits := digits(int64(len(m.Arrows) + 3*len(m.Ticks) + 1)) // an upper bound on a string index's
	counted := map[string]bool{}
	str := func(s string) int {
		s = clip(s, maxStringBytes)
		if counted[s] {
			return indexDigits + 1
		}
		counted[s] = true
		return indexDigits + 1 + jsonSize(s) + 1
	}
	kept, left, _ = take(marks, budget, func(c candidate) int {
		if c.kind == 'a' {
			a := m.Arrows[c.i]
			return digits(int64(a.From)) + digits(int64(a.To)) + digits(a.Send) + digits(a.Recv-a.Send) +
				digits(int64(len(near.Types))) + 1 + 6 + str(a.Detail)
		}
		t := m.Ticks[c.i]
		return digits(int64(t.Lane)) + digits(t.At) + 2 + str(t.Kind) + str(t.Label) + str(t.Detail)
	})

	keptArrows, keptTicks := picked(kept, 'a', len(m.Arrows)), picked(kept, 't', len(m.Ticks))
	inNear := func(s, e int64) bool {
		return near.NearEnd <= near.NearStart || e >= near.NearStart && s <= near.NearEnd
	}
	typeIndex := map[[2]string]int64{}
	for i, t := range near.Types {
		typeIndex[t] = int64(i)
	}
	index := map[string]int64{}
	intern := func(s string, strs *[]string) int64 {
		s = clip(s, maxStringBytes)
		i, ok := index[s]
		if !ok {
			i = int64(len(index))
			index[s] = i
			*strs = append(*strs, s)
		}
		return i
	}
	for _, isNear := range []bool{true, false} {
		arrows, ticks, strs := &near.Arrows, &near.Ticks, &near.Strs
		if !isNear {
			arrows, ticks, strs = &far.Arrows, &far.Ticks, &far.Strs
		}
		for i, a := range m.Arrows {
			if keptArrows[i] && inNear(a.Send, a.Recv) == isNear {
				flags := int64(0)
				if a.Dropped {
					flags |= 1
				}
				if a.Copy {
					flags |= 2
				}
				*arrows = append(*arrows, int64(a.From), int64(a.To), a.Send, a.Recv-a.Send,
					typeIndex[[2]string{a.Type, a.Kind}], flags, intern(a.Detail, strs))
			}
		}
		for i, t := range m.Ticks {
			if keptTicks[i] && inNear(t.At, t.At) == isNear {
				*ticks = append(*ticks, int64(t.Lane), t.At, intern(t.Kind, strs), intern(t.Label, strs), intern(t.Detail, strs))
			}
		}
	}
	return kept, left
}

// picked says, for each of the n shapes of a kind, whether it is among the candidates.
func picked(cands []candidate, kind byte, n int) []bool {
	is := make([]bool, n)
	for _, c := range cands {
		if c.kind == kind {
			is[c.i] = true
		}
	}
	return is
}

// leftOut describes what a page that could not hold everything kept, and counts what it left
// out per lane and time bucket.
func leftOut(m *Model, f focus, leftShapes, leftMarks []candidate) *kept {
	k := &kept{Start: m.StartNs, End: m.EndNs, ShapesStart: m.StartNs, ShapesEnd: m.EndNs,
		BucketNs: max(1, (m.EndNs-m.StartNs+leftBuckets)/leftBuckets), Left: []int64{}}
	within := func(s, e int64) (int64, int64) { return max(s, m.StartNs), min(e, m.EndNs) }
	if len(leftMarks) > 0 {
		k.Start, k.End = within(f.keptRange(leftMarks[0]))
	}
	if len(leftShapes) > 0 {
		k.ShapesStart, k.ShapesEnd = within(f.keptRange(leftShapes[0]))
	}
	const messages, marks, others = 0, 1, 2
	counts := make([][leftBuckets][3]int64, len(m.Lanes))
	for _, c := range append(leftShapes, leftMarks...) {
		lane, at := placeOf(m, c)
		if lane >= len(counts) {
			continue // a shade over every lane of a model with none
		}
		what := others
		switch c.kind {
		case 'a':
			what = messages
		case 't':
			what = marks
		}
		counts[lane][min(leftBuckets-1, max(0, (at-m.StartNs)/k.BucketNs))][what]++
	}
	for lane := range counts {
		for b, c := range counts[lane] {
			if c[messages]+c[marks]+c[others] > 0 {
				k.Left = append(k.Left, int64(lane), int64(b), c[messages], c[marks], c[others])
			}
		}
	}
	return k
}

// placeOf is where a shape is counted when left out: its lane (a message's sender, a shade's
// first lane) and its start.
func placeOf(m *Model, c candidate) (int, int64) {
	switch c.kind {
	case 'a':
		return m.Arrows[c.i].From, m.Arrows[c.i].Send
	case 't':
		return m.Ticks[c.i].Lane, m.Ticks[c.i].At
	case 'b':
		return m.Bands[c.i].Lane, m.Bands[c.i].Start
	case 'o':
		return m.Outages[c.i].Lane, m.Outages[c.i].Start
	case 'h':
		if h := m.Shades[c.i]; len(h.Lanes) > 0 {
			return h.Lanes[0], h.Start
		}
		return 0, m.Shades[c.i].Start
	}
	return m.Spans[c.i].Lane, m.Spans[c.i].Start
}

// leftReserveBytes bounds the JSON of kept.Left: five numbers per lane and bucket.
func leftReserveBytes(lanes, items int) int {
	return 2 + lanes*leftBuckets*(digits(int64(lanes))+digits(leftBuckets)+3*digits(int64(items))+5)
}

// keptNote says in words what a page left out.
func keptNote(m *Model, k *kept, keptMarks, maxBytes int) string {
	around := "nearest the violation"
	if m.Violation == nil {
		around = "from the start of the run"
	}
	total := len(m.Arrows) + len(m.Ticks)
	note := fmt.Sprintf("This page is limited to %.1f MB, so it keeps what lies %s: ", float64(maxBytes)/(1<<20), around)
	if keptMarks < total {
		note += fmt.Sprintf("%d of the run's %d messages and marks (commits, applies...), those from %s to %s",
			keptMarks, total, seconds(k.Start), seconds(k.End))
	} else {
		note += "every message and mark"
	}
	if k.ShapesStart > m.StartNs || k.ShapesEnd < m.EndNs {
		note += fmt.Sprintf("; the client calls, roles, outages and shades from %s to %s", seconds(k.ShapesStart), seconds(k.ShapesEnd))
	}
	return clip(note+". A grey strip along the bottom of each lane counts what was left out (click it).", noteReserveBytes/2)
}

// seconds formats virtual nanoseconds as the page does.
func seconds(ns int64) string {
	sign := ""
	if ns < 0 {
		sign, ns = "-", -ns
	}
	return fmt.Sprintf("%s%d.%09ds", sign, ns/1e9, ns%1e9)
}

// arrowTypes lists the message types of arrows, [type, kind], in order of first appearance.
func arrowTypes(arrows []Arrow) [][2]string {
	types := [][2]string{}
	seen := map[[2]string]bool{}
	for _, a := range arrows {
		key := [2]string{a.Type, a.Kind}
		if !seen[key] {
			seen[key] = true
			types = append(types, key)
		}
	}
	return types
}

func clip(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	cut := maxBytes - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func clipAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = clip(s, maxStringBytes)
	}
	return out
}

func clipOutage(o Outage) Outage {
	o.Detail = clip(o.Detail, maxStringBytes)
	return o
}

func clipShade(h Shade) Shade {
	h.Label, h.Detail = clip(h.Label, maxStringBytes), clip(h.Detail, maxStringBytes)
	return h
}

func clipSpan(s Span) Span {
	s.Label, s.Detail = clip(s.Label, maxStringBytes), clip(s.Detail, maxStringBytes)
	return s
}

// jsonSize is the size of v's JSON and the comma that follows it in a list.
func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic("timeline: " + err.Error()) // the model's types always encode
	}
	return len(b) + 1
}

func digits(n int64) int { return len(strconv.FormatInt(n, 10)) }
