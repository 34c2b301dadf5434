package scenarios

import (
	"fmt"
	"strings"

	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/sut"
)

// BugInfo describes a planted bug (docs/bugs.md).
type BugInfo struct {
	Name        string
	Description string
}

// kvBugs are the KV service's planted bugs, with what the faulty code does; they plant on every
// SUT.
var kvBugs = []BugInfo{
	{"no-dedup", "kv: server applies a retried request again"},
	{"read-local", "kv: leader answers Get from local state with no quorum round or log entry"},
	{"dedup-not-in-snapshot", "kv: duplicate table is left out of the KV snapshot"},
}

// Bugs lists the planted bugs a run on target can switch on: the SUT's own, then the KV
// service's.
func Bugs(target *sut.SUT) []BugInfo {
	var out []BugInfo
	for _, b := range target.Bugs {
		out = append(out, BugInfo{b.Name, b.Description})
	}
	return append(out, kvBugs...)
}

// Bug is a planted bug's name resolved to the layer that plants it (at most one is set).
type Bug struct {
	Name string
	// SUT is the name of a bug of the system under test (sut.Config.Bug).
	SUT string
	KV  kv.Bug
}

// LookupBug resolves a bug name ("" for none) for a run on target, or returns an error listing
// the valid names. A bug of another SUT is named as such.
func LookupBug(name string, target *sut.SUT) (Bug, error) {
	if name == "" {
		return Bug{}, nil
	}
	if target.HasBug(name) {
		return Bug{Name: name, SUT: name}, nil
	}
	if b, ok := kv.ParseBug(name); ok && b != kv.BugNone {
		return Bug{Name: name, KV: b}, nil
	}
	var names []string
	for _, b := range Bugs(target) {
		names = append(names, b.Name)
	}
	for _, other := range sut.All() {
		if other.HasBug(name) {
			return Bug{}, fmt.Errorf("bug %q is planted in %s, not in -sut %s; bugs for %s: %s",
				name, other.Name, target.Name, target.Name, strings.Join(names, ", "))
		}
	}
	return Bug{}, &UnknownNameError{Kind: "bug", Name: name, Valid: names}
}
