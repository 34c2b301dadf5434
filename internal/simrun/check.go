package simrun

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/scenarios"
	"github.com/raftsim/raftsim/timeline"
)

// stdin is where `simrun check -` reads; tests replace it.
var stdin io.Reader = os.Stdin

// timeUnits are the values of `simrun check -time-unit`.
var timeUnits = map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "none": -1}

const checkUsage = `usage: simrun check [flags] FILE

Checks a history of a key-value store's clients for linearizability (FILE, or - for standard
input: JSON Lines, one operation per line; docs/checker.md describes the format), prints the
verdict and why, and exits 0 (linearizable), 1 (not linearizable), 2 (bad input or usage) or
3 (unknown: a bound was hit before a verdict).

Flags:
`

// checkJSON is what `simrun check -json` prints.
type checkJSON struct {
	Verdict     string   `json:"verdict"`
	Key         string   `json:"key,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Operations  int      `json:"operations"`
	Keys        int      `json:"keys"`
	VerdictMs   float64  `json:"verdict_ms"`
	ExplainMs   float64  `json:"explain_ms"`
	Explanation string   `json:"explanation"`
	Files       []string `json:"files,omitempty"`
}

// checkCommand is `simrun check [flags] FILE`.
func checkCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simrun check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), checkUsage)
		fs.PrintDefaults()
	}
	timeout := fs.Duration("timeout", checker.DefaultTimeout, "time bound of the verdict (0: none); past it the verdict is unknown")
	explainTimeout := fs.Duration("explain-timeout", checker.DefaultExplainTimeout, "time budget for shrinking and explaining a violation, on top of -timeout (0: no explanation)")
	memory := fs.String("memory", formatSize(checker.DefaultMemoryBudgetBytes), "how much the heap may grow during the check, e.g. 512MiB or 4GiB (0: no bound); past it the verdict is unknown")
	timeUnit := fs.String("time-unit", "none", "the unit of call and return, for the explanation: ns, us, ms, s, or none (printed as given)")
	outDir := fs.String("out", "", "write the pages to `DIR`: timeline.html (one lane per client) and Porcupine's linearizability.html")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage // the flag package has said why
	}
	o, err := checkOptions(*timeout, *explainTimeout, *memory, *timeUnit)
	if err != nil {
		fmt.Fprintf(stderr, "simrun check: %v\n", err)
		return exitUsage
	}
	switch {
	case fs.NArg() == 0:
		fmt.Fprintf(stderr, "simrun check: give a history file, or - for standard input (simrun check -h describes the flags)\n")
		return exitUsage
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "simrun check: unexpected argument %q after %s: flags go before the file\n", fs.Arg(1), fs.Arg(0))
		return exitUsage
	}
	path := fs.Arg(0)
	history, err := readHistoryFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "simrun check: %v\n", err)
		return exitUsage
	}

	r, err := checker.Check(history, o)
	if err != nil { // ReadHistory validated every operation already
		fmt.Fprintf(stderr, "simrun check: %s: %v\n", path, err)
		return exitUsage
	}
	var files []string
	if *outDir != "" {
		written, err := writeCheckPages(*outDir, path, history, r, o)
		if err != nil {
			fmt.Fprintf(stderr, "simrun check: %v\n", err)
			return exitUsage
		}
		files = written
	}

	if *asJSON {
		line, _ := json.Marshal(checkJSON{
			Verdict: r.Verdict.String(), Key: r.Key, Reason: r.Reason, Operations: r.Operations, Keys: r.Keys,
			VerdictMs:   float64(r.Elapsed-r.ExplainElapsed) / float64(time.Millisecond),
			ExplainMs:   float64(r.ExplainElapsed) / float64(time.Millisecond),
			Explanation: r.Describe(), Files: files,
		})
		fmt.Fprintf(stdout, "%s\n", line)
	} else {
		fmt.Fprintln(stdout, strings.TrimRight(r.Describe(), "\n"))
		fmt.Fprintf(stdout, "verdict %s in %v", r.Verdict, (r.Elapsed - r.ExplainElapsed).Round(time.Microsecond))
		if r.Verdict == checker.Illegal {
			fmt.Fprintf(stdout, ", explanation in %v", r.ExplainElapsed.Round(time.Microsecond))
		}
		fmt.Fprintf(stdout, " (%s on %s)\n", plural(r.Operations, "operation"), plural(r.Keys, "key"))
		for _, file := range files {
			fmt.Fprintf(stdout, "wrote %s\n", file)
		}
	}
	switch r.Verdict {
	case checker.Ok:
		return exitPass
	case checker.Illegal:
		return exitFail
	}
	return exitInconclusive
}

// checkOptions turns the flags into checker options (a 0 flag switches its bound off).
func checkOptions(timeout, explainTimeout time.Duration, memory, timeUnit string) (checker.Options, error) {
	var o checker.Options
	var err error
	if o.Timeout, err = durationBound("-timeout", timeout, "no time bound"); err != nil {
		return o, err
	}
	if o.ExplainTimeout, err = durationBound("-explain-timeout", explainTimeout, "no explanation"); err != nil {
		return o, err
	}
	budget, err := parseSize(memory)
	if err != nil {
		return o, fmt.Errorf("-memory %q: %v", memory, err)
	}
	o.MemoryBudgetBytes = budget
	if budget == 0 {
		o.MemoryBudgetBytes = -1
	}
	unit, ok := timeUnits[timeUnit]
	if !ok {
		return o, fmt.Errorf("-time-unit %q: want ns, us, ms, s or none", timeUnit)
	}
	o.TimeUnit = unit
	return o, nil
}

// durationBound turns a duration flag into a checker bound: 0 switches it off (what off means).
func durationBound(flagName string, d time.Duration, off string) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%s %v: want a duration >= 0 (0: %s)", flagName, d, off)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

// sizeUnits are the suffixes -memory accepts.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads a byte count such as 4GiB, 512MiB or 1048576.
func parseSize(s string) (int64, error) {
	number, multiplier := s, int64(1)
	for _, unit := range sizeUnits {
		if strings.HasSuffix(s, unit.suffix) {
			number, multiplier = strings.TrimSuffix(s, unit.suffix), unit.bytes
			break
		}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/multiplier {
		return 0, errors.New("want a size in bytes such as 4GiB, 512MiB, 65536KiB or 1048576 (0: no bound)")
	}
	return n * multiplier, nil
}

func formatSize(n int64) string {
	for _, unit := range sizeUnits {
		if n >= unit.bytes && n%unit.bytes == 0 {
			return fmt.Sprintf("%d%s", n/unit.bytes, unit.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}

// readHistoryFile reads a history from path, or standard input for "-"; an error names the
// file and, for a malformed line, the line and field.
func readHistoryFile(path string) ([]checker.Op, error) {
	in := stdin
	name := "standard input"
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		in, name = file, path
	}
	history, err := checker.ReadHistory(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(history) == 0 {
		return nil, fmt.Errorf("%s holds no operations (one JSON object per line; docs/checker.md describes the format)", name)
	}
	return history, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// The pages `simrun check -out DIR` writes, each linking the other.
const (
	checkTimelinePage  = "timeline.html"
	checkPorcupinePage = "linearizability.html"
)

// writeCheckPages writes the timeline and Porcupine's page of a checked history into dir.
func writeCheckPages(dir, source string, history []checker.Op, r checker.LinResult, o checker.Options) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var page strings.Builder
	if err := timeline.Write(&page, checkTimeline(source, history, r)); err != nil {
		return nil, err
	}
	timelinePath := filepath.Join(dir, checkTimelinePage)
	if err := scenarios.WriteFileAtomic(timelinePath, []byte(page.String())); err != nil {
		return nil, err
	}
	porcupinePath := filepath.Join(dir, checkPorcupinePage)
	if err := checker.WriteVisualizationWith(r, nil, porcupinePath, checker.VisualizeOptions{BackLink: checkTimelinePage}); err != nil {
		return nil, err
	}
	return []string{timelinePath, porcupinePath}, nil
}

// checkTimeline draws a history with client lanes only (a history has no servers): one span
// per operation, those the check names marked "illegal", the page opened on them.
func checkTimeline(source string, history []checker.Op, r checker.LinResult) *timeline.Model {
	named := make(map[checker.Op]bool, len(r.Ops))
	for _, op := range r.Ops {
		named[op] = true
	}
	laneOf := map[int]int{}
	var clients []int
	start, end := int64(math.MaxInt64), int64(math.MinInt64)
	for _, op := range history {
		if _, seen := laneOf[op.Client]; !seen {
			laneOf[op.Client] = -1
			clients = append(clients, op.Client)
		}
		start, end = min(start, op.Call), max(end, op.Call)
		if !op.Pending {
			end = max(end, op.Return)
		}
	}
	sort.Ints(clients)
	m := &timeline.Model{
		Title:   "simrun check " + source,
		Summary: []string{strings.SplitN(r.Describe(), "\n", 2)[0]},
		StartNs: start, EndNs: end + 1,
		Links: []timeline.Link{{Label: "Porcupine's page", Href: checkPorcupinePage}},
		Notes: []string{"call and return times are drawn as nanoseconds, whatever their unit in the history"},
	}
	for i, client := range clients {
		laneOf[client] = i
		m.Lanes = append(m.Lanes, timeline.Lane{Name: fmt.Sprintf("c%d", client), Kind: "client"})
	}
	var v *timeline.Violation
	for _, op := range history {
		span := timeline.Span{Lane: laneOf[op.Client], Start: op.Call, End: op.Return, Label: op.Label(),
			Detail: fmt.Sprintf("c%d %s, called at %d", op.Client, op.Label(), op.Call)}
		if op.Pending {
			span.End, span.Open = m.EndNs, true
			span.Detail += ", outcome never learned"
		} else {
			span.Detail += fmt.Sprintf(", returned at %d", op.Return)
		}
		if named[op] {
			span.Mark = "illegal"
			if v == nil {
				v = &timeline.Violation{Check: "linearizability", At: op.Call, Start: op.Call, End: op.Call,
					Label: "not linearizable: key " + strconv.Quote(r.Key), Detail: r.Describe()}
			}
			v.At, v.Start, v.End = max(v.At, op.Call), min(v.Start, op.Call), max(v.End, span.End)
			if !slices.Contains(v.Lanes, span.Lane) {
				v.Lanes = append(v.Lanes, span.Lane)
			}
		}
		m.Spans = append(m.Spans, span)
	}
	m.Violation = v
	return m
}
