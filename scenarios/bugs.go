package scenarios

import (
	"fmt"
	"strings"

	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/raft"
)

// BugInfo describes a planted bug of BUGS.md.
type BugInfo struct {
	Name        string
	Description string
}

// bugDescriptions are the planted bugs of BUGS.md, in its order, with what the faulty code does.
var bugDescriptions = []BugInfo{
	{"vote-no-persist", "raft: grants a vote without persisting currentTerm/votedFor first"},
	{"vote-no-log-check", "raft: grants a vote without the up-to-date-log check"},
	{"vote-twice", "raft: clears votedFor on step-down, so it can vote twice in one term"},
	{"truncate-always", "raft: follower truncates its log on every AppendEntries, even when entries match"},
	{"commit-old-term", "raft: leader commits an entry of an earlier term by counting replicas (Figure 8)"},
	{"commit-no-min", "raft: follower sets commitIndex = leaderCommit"},
	{"match-from-current", "raft: leader sets matchIndex from its current log length, not from the acknowledged request"},
	{"ack-before-sync", "raft: follower acknowledges AppendEntries before the entries are synced to disk"},
	{"snapshot-offset", "raft: off-by-one converting log index to slice offset after a snapshot"},
	{"no-dedup", "kv: server applies a retried request again"},
	{"read-local", "kv: leader answers Get from local state with no quorum round or log entry"},
	{"dedup-not-in-snapshot", "kv: duplicate table is left out of the KV snapshot"},
}

// Bugs lists the planted bugs in BUGS.md order.
func Bugs() []BugInfo { return bugDescriptions }

// Bug is a planted bug's name resolved to the layer that plants it (at most one is set).
type Bug struct {
	Name string
	Raft raft.Bug
	KV   kv.Bug
}

// LookupBug resolves a bug name ("" for none), or returns an error listing the valid names.
func LookupBug(name string) (Bug, error) {
	if name == "" {
		return Bug{}, nil
	}
	if b, ok := raft.ParseBug(name); ok && b != raft.BugNone {
		return Bug{Name: name, Raft: b}, nil
	}
	if b, ok := kv.ParseBug(name); ok && b != kv.BugNone {
		return Bug{Name: name, KV: b}, nil
	}
	names := make([]string, len(bugDescriptions))
	for i, b := range bugDescriptions {
		names[i] = b.Name
	}
	return Bug{}, fmt.Errorf("unknown bug %q; valid bugs: %s", name, strings.Join(names, ", "))
}
