package simrun

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/raftsim/raftsim/scenarios"
)

// printProbeTable prints, for every code probe of the sweep's system under test, how many of
// the sweep's runs reached it, then the blind spots: probes no run reached. Probes a run
// reported that the catalogue does not list (a library reporting a name it does not declare)
// are listed too, so that nothing is hidden.
func printProbeTable(w io.Writer, o *options, counts map[string]int, runs int) {
	target, err := o.target()
	if err != nil || runs == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "probe\truns\tshare\twhat it marks\n")
	var blind []string
	listed := map[string]bool{}
	for _, p := range scenarios.Probes(target) {
		listed[p.Name] = true
		n := counts[p.Name]
		if n == 0 {
			blind = append(blind, p.Name)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%s\n", p.Name, n, 100*float64(n)/float64(runs), p.Description)
	}
	for _, name := range sortedKeys(counts) {
		if !listed[name] {
			fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t(not in the catalogue)\n", name, counts[name], 100*float64(counts[name])/float64(runs))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d probes, %d reached by at least one of %d runs; blind spots: %d\n", len(listed), len(listed)-len(blind), runs, len(blind))
	for _, name := range blind {
		fmt.Fprintf(w, "  blind spot: %s\n", name)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
