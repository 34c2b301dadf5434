package simrun

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raftsim/raftsim/internal/browser"
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
}

var (
	slowestPage     = map[string]string{}
	slowestPageTime = map[string]time.Duration{}
)

var timelineDir = flag.String("timeline.dir", "", "BenchmarkTimelineLoad: measure every timeline.html under `DIR` (default: the page of -bug no-dedup -seed 1)")

// BenchmarkTimelineLoad measures how long timeline pages take to load in headless Chromium
// (request to load event, the page's drawing included). It loads every page under
// -timeline.dir once, reports the slowest as max-load-ms, then loads that one b.N times
// (ns/op). scripts/timeline-load.sh runs it over the failing runs of a 1000-seed sweep.
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
	// The testing package calls a benchmark more than once (b.N = 1 first): the pass over
	// every page is made once per directory.
	slowest, slowestTime := slowestPage[dir], slowestPageTime[dir]
	if slowest == "" {
		for _, page := range pages {
			if d := load(page); d > slowestTime {
				slowest, slowestTime = page, d
			}
		}
		slowestPage[dir], slowestPageTime[dir] = slowest, slowestTime
		info, _ := os.Stat(slowest)
		b.Logf("%d pages; slowest %s (%d bytes) loaded in %v", len(pages), slowest, info.Size(), slowestTime)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		load(slowest)
	}
	b.ReportMetric(float64(slowestTime.Microseconds())/1000, "max-load-ms")
	b.ReportMetric(float64(len(pages)), "pages")
}
