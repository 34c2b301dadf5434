package simrun

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/timeline"
)

// Where simrun writes under -out, in one place so that every producer of artifacts names and
// guards its files the same way:
//
//	OUT/<run>/                     one failing run (-seed, -schedule): summary, schedule, traces, ...
//	OUT/<sweep>/results.jsonl      one line per finished run of a sweep
//	OUT/<sweep>/<run>/             the artifacts of each failing run of that sweep
//	OUT/shrunk-<run>.json          the minimal schedule -shrink found
//
// A run's name says what it ran (scenario, system under test, bug, seed, and for a schedule
// file a short hash of its bytes), so a rerun of the same run lands on the same name and a
// different run never does; an existing name is never overwritten without -force.

// sutName is the name a run's identity (artifact names, JSON records) carries for the system
// under test it ran on: "" (no -sut, a schedule naming none) is the default SUT.
func sutName(name string) string {
	if name == "" {
		return sut.DefaultName
	}
	return name
}

// runID is what names one run's artifacts.
type runID struct {
	Scenario string
	SUT      string
	Bug      string // "" for the correct build
	Seed     uint64
	// ScheduleHash is a short hash of the schedule file a -schedule run replayed ("" for a run
	// generated from scenario and seed): an edited or shrunk file is another run.
	ScheduleHash string
}

// Name is the run's directory name: scenario-sut[-bug]-seedN[-schedule-HASH], with every
// character that is unsafe in a file name made "_" (raft/Figure8 becomes raft_Figure8).
func (id runID) Name() string {
	parts := []string{id.Scenario, id.SUT}
	if id.Bug != "" {
		parts = append(parts, id.Bug)
	}
	parts = append(parts, fmt.Sprintf("seed%d", id.Seed))
	if id.ScheduleHash != "" {
		parts = append(parts, "schedule-"+id.ScheduleHash)
	}
	for i, p := range parts {
		parts[i] = pathSafe(p)
	}
	return strings.Join(parts, "-")
}

// scheduleHashLen is how many hex digits of the schedule file's SHA-256 a run name carries:
// 32 bits tell apart the few schedule files one directory sees.
const scheduleHashLen = 8

func scheduleHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:scheduleHashLen]
}

func pathSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

// errExists is returned for an artifact name that exists already and may not be replaced.
var errExists = errors.New("exists already")

// existsError says that path is taken and how to proceed.
func existsError(path string) error {
	return &usageError{fmt.Sprintf("%s %v from an earlier run: pass -force to replace it, or choose another -out", path, errExists)}
}

// prepareOut checks, before anything runs, that the -out directory can be created and written.
func prepareOut(outDir string) error {
	if outDir == "" {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return usagef("-out %s: %v: give a directory simrun can create and write", outDir, err)
	}
	probe, err := os.CreateTemp(outDir, ".simrun-probe*")
	if err != nil {
		return usagef("-out %s: %v: give a directory simrun can create and write", outDir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// checkFree reports, before anything runs, a usage error if path exists and force is off.
func checkFree(path string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return existsError(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return usagef("%s: %v", path, err)
	}
	return nil
}

// ArtifactDir is one run's artifact directory being written. Files go into a hidden temporary
// directory beside it and appear under the run's name together, at Commit, so a reader never
// finds a half-written run directory, and an interrupted write leaves only a hidden ".tmp"
// directory behind. Producers of artifacts (traces, visualizations, timelines) add their
// files with WriteFile, or write to Path(name) themselves.
type ArtifactDir struct {
	final string
	tmp   string
	force bool
}

// openArtifactDir starts writing the directory of run id under parent. Without force, an
// existing directory of that name is an error.
func openArtifactDir(parent string, id runID, force bool) (*ArtifactDir, error) {
	final := filepath.Join(parent, id.Name())
	if err := checkFree(final, force); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+id.Name()+".tmp*")
	if err != nil {
		return nil, err
	}
	return &ArtifactDir{final: final, tmp: tmp, force: force}, nil
}

// Path is where the artifact called name is to be written before Commit.
func (d *ArtifactDir) Path(name string) string { return filepath.Join(d.tmp, name) }

// WriteFile writes the artifact called name.
func (d *ArtifactDir) WriteFile(name string, data []byte) error {
	return os.WriteFile(d.Path(name), data, 0o644)
}

// Commit moves the directory into place and returns the paths of its files, sorted. With
// force, an existing directory of the same name is replaced; without it, Commit fails and
// leaves that directory be.
func (d *ArtifactDir) Commit() ([]string, error) {
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		d.Abort()
		return nil, err
	}
	if d.force {
		old := d.tmp + ".old"
		if err := os.Rename(d.final, old); err == nil {
			defer os.RemoveAll(old)
		}
	}
	// A rename onto an existing non-empty directory fails, so a run directory that appeared
	// since openArtifactDir is not overwritten either.
	if err := os.Rename(d.tmp, d.final); err != nil {
		d.Abort()
		if _, statErr := os.Lstat(d.final); statErr == nil {
			return nil, existsError(d.final)
		}
		return nil, err
	}
	files := make([]string, len(entries))
	for i, e := range entries {
		files[i] = filepath.Join(d.final, e.Name())
	}
	return files, nil
}

// Abort removes what was written.
func (d *ArtifactDir) Abort() { os.RemoveAll(d.tmp) }

// sweepName names a sweep's directory: scenario-sut[-bug]-seedsA-B[-shardKofN].
func (o *options) sweepName() string {
	parts := []string{o.scenario, sutName(o.sut)}
	if o.bug != "" {
		parts = append(parts, o.bug)
	}
	parts = append(parts, fmt.Sprintf("seeds%d-%d", o.seedFirst, o.seedLast))
	if o.shardCount > 1 {
		parts = append(parts, fmt.Sprintf("shard%dof%d", o.shardIndex, o.shardCount))
	}
	for i, p := range parts {
		parts[i] = pathSafe(p)
	}
	return strings.Join(parts, "-")
}

// resultsFile is the name of a sweep's stream of results, one JSON object per finished run.
const resultsFile = "results.jsonl"

// createSweepDir makes the sweep's directory under -out (replacing an old one with force) and
// opens its results file.
func createSweepDir(o *options) (dir string, results *os.File, err error) {
	dir = filepath.Join(o.outDir, o.sweepName())
	if err := checkFree(dir, o.force); err != nil {
		return "", nil, err
	}
	if o.force {
		if err := os.RemoveAll(dir); err != nil {
			return "", nil, err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", nil, existsError(dir)
		}
		return "", nil, err
	}
	results, err = os.OpenFile(filepath.Join(dir, resultsFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	return dir, results, err
}

// shrunkPath is where -shrink writes the minimal schedule of run id.
func shrunkPath(outDir string, id runID) string {
	if outDir == "" {
		outDir = "."
	}
	return filepath.Join(outDir, "shrunk-"+id.Name()+".json")
}

// maxTraceEvents bounds the size of a run's trace artifacts; hitting it is written into the
// trace.
const maxTraceEvents = 5_000_000

// writeArtifacts writes a run's summary, schedule, traces, timeline and (for a linearizability
// failure) Porcupine's page into its own directory under parent. The traces and the timeline
// come from a recorded replay of the same spec, which determinism makes event-for-event the run
// that was reported; the replay's hash is checked to prove it.
func writeArtifacts(parent string, id runID, force bool, spec scenarios.Spec, r *scenarios.Result, opts scenarios.Options, level scenarios.TraceLevel, replayCmd string) ([]string, error) {
	var text, jsonl strings.Builder
	traced := 0
	rec := &scenarios.Recording{Level: level, Of: r, Trace: func(e scenarios.Event) {
		traced++
		if traced > maxTraceEvents {
			return
		}
		text.WriteString(e.String())
		text.WriteByte('\n')
		b, _ := json.Marshal(e)
		jsonl.Write(b)
		jsonl.WriteByte('\n')
	}}
	opts.Record = rec
	replay, err := scenarios.Execute(spec, opts)
	if err != nil {
		return nil, err
	}
	if traced > maxTraceEvents {
		fmt.Fprintf(&text, "TRACE TRUNCATED: %d events, only the first %d written\n", traced, maxTraceEvents)
	}
	if replay.Hash != r.Hash {
		return nil, fmt.Errorf("traced replay of seed %d gave trace %016x, the run gave %016x: the run is not deterministic", r.Seed, replay.Hash, r.Hash)
	}
	dir, err := openArtifactDir(parent, id, force)
	if err != nil {
		return nil, err
	}
	write := func(name string, data []byte) {
		if err == nil {
			err = dir.WriteFile(name, data)
		}
	}
	write("summary.txt", []byte(r.Report()+"\n"+summaryLine(r, 0)+"\nreplay: "+replayCmd+"\n"))
	if r.Schedule != nil {
		write("schedule.json", r.Schedule.Marshal())
	}
	if r.PanicStack != "" {
		write("panic-stack.txt", []byte(r.Message+"\n\n"+r.PanicStack))
	}
	write("trace.txt", []byte("# "+rec.Header()+"\n"+text.String()))
	write("trace.jsonl", []byte(jsonl.String()))
	const porcupinePage, timelinePage = "linearizability.html", "timeline.html"
	hasPorcupine := replay.Lin != nil && replay.Lin.Verdict == checker.Illegal
	model := rec.Timeline
	model.Summary = []string{"replay: " + replayCmd}
	if r.Status == scenarios.Fail {
		model.Summary = append([]string{firstLine(strings.TrimPrefix(r.Message, "not linearizable: "))}, model.Summary...)
	}
	if hasPorcupine {
		model.Links = append(model.Links, timeline.Link{Label: "Porcupine's page of the history", Href: porcupinePage})
	}
	var page bytes.Buffer
	if err == nil {
		err = timeline.Write(&page, model)
	}
	write(timelinePage, page.Bytes())
	if err == nil && hasPorcupine {
		err = checker.WriteVisualizationWith(*replay.Lin, replay.Annotations, dir.Path(porcupinePage), checker.VisualizeOptions{BackLink: timelinePage})
	}
	if err != nil {
		dir.Abort()
		return nil, err
	}
	return dir.Commit()
}
