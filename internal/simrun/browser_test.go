package simrun

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/raftsim/raftsim/internal/browser"
	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/timeline"
)

// The viewport the pages must show their violation in: a laptop screen.
const (
	viewportWidthPx  = 1280
	viewportHeightPx = 800
	pageLoadTimeout  = 30 * time.Second
)

// startBrowser starts headless Chromium for a test: under CI=true a missing browser fails the
// test; elsewhere the test is skipped with a message saying how to install one.
func startBrowser(t testing.TB) *browser.Browser {
	t.Helper()
	path, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skipf("skipping the browser test: %v", err)
	}
	b, err := browser.Start(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newPage(t testing.TB, b *browser.Browser) *browser.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pageLoadTimeout)
	defer cancel()
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.SetViewport(ctx, viewportWidthPx, viewportHeightPx); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkPage loads a page and reports what is wrong with it as a person would see it: a
// JavaScript exception, or no element with id "violation" wholly inside the first viewport, as
// the browser laid the page out. It saves a screenshot to shot.
func checkPage(p *browser.Page, file, shot string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pageLoadTimeout)
	defer cancel()
	before := len(p.Exceptions())
	if _, err := p.Load(ctx, browser.FileURL(file)); err != nil {
		return err
	}
	if png, err := p.Screenshot(ctx); err == nil && shot != "" {
		os.WriteFile(shot, png, 0o644)
	}
	var problems []string
	// Show the whole run (the page then draws what it held back) and look for errors again.
	if strings.HasSuffix(file, "timeline.html") {
		var far string
		if err := p.Eval(ctx, `String(document.body.getAttribute('data-far'))`, &far); err != nil || far != "null" {
			problems = append(problems, fmt.Sprintf("the first screen needed the page's far part (data-far %q, %v)", far, err))
		}
		if err := p.Eval(ctx, `document.querySelector('button[title="show the whole run"]').click()`, nil); err != nil {
			problems = append(problems, "whole run: "+err.Error())
		}
		time.Sleep(300 * time.Millisecond) // the redraw runs on the next animation frame
	}
	if exc := p.Exceptions()[before:]; len(exc) > 0 {
		problems = append(problems, "JavaScript exceptions: "+strings.Join(exc, "; "))
	}
	rect, err := p.ElementRect(ctx, "violation")
	switch {
	case err != nil:
		problems = append(problems, err.Error())
	case !rect.Found:
		problems = append(problems, "no element with id \"violation\"")
	case !rect.InViewport():
		problems = append(problems, fmt.Sprintf("the violation marker (%.0f,%.0f)-(%.0f,%.0f) is not inside the first %.0fx%.0f viewport",
			rect.Left, rect.Top, rect.Right, rect.Bottom, rect.ViewportW, rect.ViewportH))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", filepath.Base(file), strings.Join(problems, "; "))
	}
	return nil
}

// showsProblems reports what a timeline page, looked at as a whole run, fails to show of what it
// must: a label per lane, role bands, crashes, partitions, client calls, message arrows,
// commit and apply marks, the control that widens the message window, the filters, the legend,
// zoom, and an arrow's content on a click. Call it after checkPage (which shows the whole run).
func showsProblems(p *browser.Page) []string {
	ctx, cancel := context.WithTimeout(context.Background(), pageLoadTimeout)
	defer cancel()
	var got map[string]int
	err := p.Eval(ctx, `(() => {
		const n = (sel) => document.querySelectorAll(sel).length;
		const status = document.getElementById('status').textContent;
		document.getElementById('chart').dispatchEvent(new WheelEvent('wheel', {deltaY: -300, clientX: 600, clientY: 300, bubbles: true, cancelable: true}));
		const arrow = document.querySelector('line.arrow');
		if (arrow) arrow.dispatchEvent(new MouseEvent('click', {bubbles: true}));
		return {lanes: n('text.lanelabel'), bands: n('rect.band'), crashes: n('rect.outage.crash'), partitions: n('rect.shade'),
			calls: n('rect.span'), arrows: n('line.arrow'), commits: n('line.tick.commit'), applies: n('line.tick.apply'),
			'message window choices': n('#msgwin option'), filters: n('details.filter input[type=checkbox]'), legend: n('#legend .lgroup'),
			'arrow content on a click': /sent .*delivered|dropped/.test(document.getElementById('details').textContent) ? 1 : 0,
			'a changed view after the wheel': 0, statusBefore: status.length};
	})()`, &got)
	if err != nil {
		return []string{err.Error()}
	}
	time.Sleep(300 * time.Millisecond) // the wheel's redraw runs on the next animation frame
	var status string
	if err := p.Eval(ctx, `document.getElementById('status').textContent`, &status); err == nil && !strings.HasPrefix(status, "view 0.000000000s") {
		got["a changed view after the wheel"] = 1
	}
	var problems []string
	for _, what := range []string{"lanes", "bands", "crashes", "partitions", "calls", "arrows", "commits", "applies",
		"message window choices", "filters", "legend", "arrow content on a click", "a changed view after the wheel"} {
		if got[what] == 0 {
			problems = append(problems, "no "+what)
		}
	}
	return problems
}

// TestLimitedPageShowsWhatItLeftOut: a page written within a bound too small for its run (the
// pages of a long sweep's runs hold many times more than -bug no-dedup -seed 1) still shows the
// violation on its first screen and all that a page must show, and shows what it left out: a
// note, and grey strips along the lanes that give their counts on a click.
func TestLimitedPageShowsWhatItLeftOut(t *testing.T) {
	b := startBrowser(t)
	p := newPage(t, b)
	spec := scenarios.Spec{Scenario: "default", Seed: 1, Bug: "no-dedup"}
	plain, err := scenarios.Execute(spec, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &scenarios.Recording{Of: plain}
	if _, err := scenarios.Execute(spec, scenarios.Options{Record: rec}); err != nil {
		t.Fatal(err)
	}
	const bound = 300 << 10
	var page bytes.Buffer
	if err := timeline.WriteWithin(&page, rec.Timeline, bound); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "timeline.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkPage(p, file, filepath.Join(t.ArtifactDir(), "limited-timeline.png")); err != nil {
		t.Fatal(err)
	}
	if problems := showsProblems(p); len(problems) > 0 {
		t.Errorf("a limited page: %s", strings.Join(problems, "; "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), pageLoadTimeout)
	defer cancel()
	var left struct {
		Strips int
		Note   string
		Detail string
	}
	err = p.Eval(ctx, `(() => {
		const strips = document.querySelectorAll('rect.leftout');
		if (strips.length) strips[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));
		return {Strips: strips.length, Note: document.getElementById('notes').textContent, Detail: document.getElementById('details').textContent};
	})()`, &left)
	if err != nil {
		t.Fatal(err)
	}
	if left.Strips == 0 || !strings.Contains(left.Note, "limited to") || !regexp.MustCompile(`left out of this page.*[0-9]+ messages sent`).MatchString(left.Detail) {
		t.Errorf("a %d-byte page of a larger run shows %d left-out strips, note %q, and on a click %q: want strips, a note, and their counts",
			page.Len(), left.Strips, left.Note, left.Detail)
	}
}

// failingRun runs simrun with args and -out, expects a failure of the given check, and returns
// the run's artifact directory.
func failingRun(t *testing.T, check string, args ...string) string {
	t.Helper()
	out := t.TempDir()
	code, stdout, stderr := runCLI(append(args, "-out", out)...)
	if code != exitFail || !strings.Contains(stdout, "check="+check) {
		t.Fatalf("simrun %v: exit %d, want a %s failure:\n%s%s", args, code, check, stdout, stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(dirs) != 1 {
		t.Fatalf("simrun %v wrote %d artifact directories, want 1", args, len(dirs))
	}
	return dirs[0]
}

// livenessSchedule writes a schedule that fails the liveness check: default seed 1 with a
// liveness bound too short for the calls outstanding at the final heal.
func livenessSchedule(t *testing.T) string {
	t.Helper()
	code, stdout, stderr := runCLI("-seed", "1", "-print-schedule", "-until", "1ms")
	if code != exitPass && code != exitInconclusive { // -until leaves the offline checks out
		t.Fatalf("-print-schedule: exit %d\n%s", code, stderr)
	}
	sched := regexp.MustCompile(`"liveness_bound_ms": [0-9]+`).ReplaceAllString(stdout[:strings.LastIndex(stdout, "}")+1], `"liveness_bound_ms": 5`)
	if !strings.Contains(sched, `"liveness_bound_ms": 5,`) {
		t.Fatalf("the schedule has no liveness_bound_ms to shorten:\n%s", sched)
	}
	path := filepath.Join(t.TempDir(), "liveness.json")
	if err := os.WriteFile(path, []byte(sched), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPagesShowTheViolationInABrowser loads the timeline and Porcupine pages of a failing run
// of each kind in headless Chromium: no JavaScript error, and the violation marker inside the
// first viewport. Screenshots go to the test's artifact directory (go test -artifacts keeps
// them; see docs/timeline.md).
func TestPagesShowTheViolationInABrowser(t *testing.T) {
	b := startBrowser(t)
	p := newPage(t, b)
	shots := t.ArtifactDir()
	cases := []struct {
		name, check string
		args        []string
	}{
		{"safety", "leader-completeness", []string{"-bug", "commit-old-term", "-scenario", "figure8", "-seed", "1"}},
		{"linearizability", "linearizability", []string{"-bug", "no-dedup", "-seed", "1"}},
		{"liveness", "liveness", []string{"-schedule", livenessSchedule(t)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := failingRun(t, tc.check, tc.args...)
			pages := []string{"timeline.html"}
			if tc.check == "linearizability" {
				pages = append(pages, "linearizability.html")
			}
			for _, page := range pages {
				shot := filepath.Join(shots, tc.name+"-"+strings.TrimSuffix(page, ".html")+".png")
				if err := checkPage(p, filepath.Join(dir, page), shot); err != nil {
					t.Error(err)
				}
				if page == "timeline.html" && tc.check == "linearizability" {
					if problems := showsProblems(p); len(problems) > 0 {
						t.Errorf("%s: %s", page, strings.Join(problems, "; "))
					}
				}
			}
			t.Logf("screenshots in %s", shots)
		})
	}
}

// TestBrowserCheckRejectsAHiddenViolation: the check above fails when the marker is missing or
// laid out off-screen, or when the page's script fails.
func TestBrowserCheckRejectsAHiddenViolation(t *testing.T) {
	b := startBrowser(t)
	p := newPage(t, b)
	dir := failingRun(t, "linearizability", "-bug", "no-dedup", "-seed", "1")
	page, err := os.ReadFile(filepath.Join(dir, "timeline.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPage(p, filepath.Join(dir, "timeline.html"), ""); err != nil {
		t.Fatalf("the unmodified page fails: %v", err)
	}
	variants := []struct{ name, old, new string }{
		{"marker-missing", `{id: 'violation'`, `{id: 'no-marker'`},
		{"marker-below-the-fold", `</style>`, "#head { height: 2000px; }\n</style>"},
		{"marker-right-of-the-screen", `</style>`, "#violation { margin-left: 3000px; }\n</style>"},
		{"script-error", `const M = JSON.parse(`, `undefinedFunction(); const M = JSON.parse(`},
	}
	for _, v := range variants {
		if !strings.Contains(string(page), v.old) {
			t.Fatalf("%s: the page has no %q to change", v.name, v.old)
		}
		file := filepath.Join(dir, v.name+".html")
		os.WriteFile(file, []byte(strings.Replace(string(page), v.old, v.new, 1)), 0o644)
		if err := checkPage(p, file, ""); err == nil {
			t.Errorf("%s: the check accepted a page whose violation a person would not see", v.name)
		} else {
			t.Logf("%s rejected: %v", v.name, err)
		}
	}
	// What the page must show: the unmodified page shows it all, and the check notices each
	// thing taken away.
	if err := checkPage(p, filepath.Join(dir, "timeline.html"), ""); err != nil {
		t.Fatal(err)
	}
	if problems := showsProblems(p); len(problems) > 0 {
		t.Fatalf("the page fails the content check: %s", strings.Join(problems, "; "))
	}
	missing := []struct{ name, old, new, want string }{
		{"no-arrows", `"arrows":[`, `"arrows":[],"gone":[`, "no arrows"},
		{"no-marks", `"ticks":[`, `"ticks":[],"gone":[`, "no commits"},
		{"no-legend", `document.body.appendChild(legend());`, ``, "no legend"},
		{"no-details", `details.textContent = text;`, ``, "no arrow content on a click"},
	}
	for _, v := range missing {
		if !strings.Contains(string(page), v.old) {
			t.Fatalf("%s: the page has no %q to change", v.name, v.old)
		}
		file := filepath.Join(dir, v.name+".html")
		os.WriteFile(file, []byte(strings.ReplaceAll(string(page), v.old, v.new)), 0o644)
		if err := checkPage(p, file, ""); err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		problems := strings.Join(showsProblems(p), "; ")
		if !strings.Contains(problems, v.want) {
			t.Errorf("%s: the content check found %q, want %q", v.name, problems, v.want)
		} else {
			t.Logf("%s rejected: %s", v.name, problems)
		}
	}
}

var (
	slowestPage     = map[string]string{}
	slowestPageTime = map[string]time.Duration{}
	firstPassMax    = map[string]time.Duration{}
)

var timelineDir = flag.String("timeline.dir", "", "BenchmarkTimelineLoad: measure every timeline.html under `DIR` (default: the page of -bug no-dedup -seed 1)")

// Of a pass over many pages, the slowest few are loaded again to find the slowest page: on a
// shared machine one load in a pass can be slow for reasons that are not the page's.
const (
	timelineRecheckPages = 10
	timelineRecheckLoads = 3
)

// BenchmarkTimelineLoad measures how long timeline pages take to load in headless Chromium
// (request to load event, the page's drawing included). After one load to warm the browser
// up, it loads every page under -timeline.dir once, loads the timelineRecheckPages slowest
// again timelineRecheckLoads times each, and reports the page with the slowest median as
// max-load-ms (its median) and the slowest single load of the first pass as
// first-pass-max-ms; then it loads that page b.N times (ns/op). scripts/timeline-load.sh runs
// it over the failing runs of a 1000-seed sweep.
func BenchmarkTimelineLoad(b *testing.B) {
	br := startBrowser(b)
	p := newPage(b, br)
	dir := *timelineDir
	if dir == "" {
		dir = b.TempDir()
		if code, out, errOut := runCLI("-bug", "no-dedup", "-seed", "1", "-out", dir); code != exitFail {
			b.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	}
	var pages []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "timeline.html" {
			pages = append(pages, path)
		}
		return nil
	})
	if len(pages) == 0 {
		b.Fatalf("no timeline.html under %s", dir)
	}
	load := func(page string) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), pageLoadTimeout)
		defer cancel()
		d, err := p.Load(ctx, browser.FileURL(page))
		if err != nil {
			b.Fatal(err)
		}
		if exc := p.Exceptions(); len(exc) > 0 {
			b.Fatalf("%s: JavaScript exceptions: %v", page, exc)
		}
		return d
	}
	// The testing package calls a benchmark more than once (b.N = 1 first): the passes over
	// the pages are made once per directory.
	if slowestPage[dir] == "" {
		load(pages[0]) // a fresh browser's first load is slow whatever the page
		times := make([]time.Duration, len(pages))
		order := make([]int, len(pages))
		for i, page := range pages {
			times[i], order[i] = load(page), i
		}
		sort.Slice(order, func(i, j int) bool { return times[order[i]] > times[order[j]] })
		firstPassMax[dir] = times[order[0]]
		for _, i := range order[:min(len(order), timelineRecheckPages)] {
			loads := []time.Duration{times[i]}
			for range timelineRecheckLoads {
				loads = append(loads, load(pages[i]))
			}
			sort.Slice(loads, func(a, b int) bool { return loads[a] < loads[b] })
			if median := loads[len(loads)/2]; median > slowestPageTime[dir] {
				slowestPage[dir], slowestPageTime[dir] = pages[i], median
			}
		}
		info, _ := os.Stat(slowestPage[dir])
		b.Logf("%d pages; slowest single load %v (%s); slowest page %s (%d bytes), median load %v",
			len(pages), firstPassMax[dir], pages[order[0]], slowestPage[dir], info.Size(), slowestPageTime[dir])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		load(slowestPage[dir])
	}
	b.ReportMetric(float64(slowestPageTime[dir].Microseconds())/1000, "max-load-ms")
	b.ReportMetric(float64(firstPassMax[dir].Microseconds())/1000, "first-pass-max-ms")
	b.ReportMetric(float64(len(pages)), "pages")
}
