package kv

import "strconv"

// Bug selects one planted KV bug of BUGS.md. Each is switched on at one place in this package,
// marked `// PLANTED BUG <name>:`; with BugNone the service is correct.
type Bug uint8

const (
	// BugNone is the correct implementation.
	BugNone Bug = iota
	// BugNoDedup makes the state machine apply a retried request again instead of answering it
	// from the duplicate table.
	BugNoDedup
	// BugReadLocal makes a leader answer Get from its local state, with no ReadIndex round and
	// no log entry.
	BugReadLocal
	// BugDedupNotInSnapshot leaves the duplicate table out of the state-machine snapshot.
	BugDedupNotInSnapshot
	bugCount
)

var bugNames = [bugCount]string{
	BugNone:               "none",
	BugNoDedup:            "no-dedup",
	BugReadLocal:          "read-local",
	BugDedupNotInSnapshot: "dedup-not-in-snapshot",
}

// String returns the BUGS.md name of the bug ("none" for BugNone).
func (b Bug) String() string {
	if b < bugCount {
		return bugNames[b]
	}
	return "kv.Bug(" + strconv.Itoa(int(b)) + ")"
}

// ParseBug maps a BUGS.md name ("no-dedup", "read-local", "dedup-not-in-snapshot"; "" or "none"
// for BugNone) to its Bug. The second result is false for a name that is not a KV bug.
func ParseBug(name string) (Bug, bool) {
	if name == "" {
		return BugNone, true
	}
	for b := BugNone; b < bugCount; b++ {
		if bugNames[b] == name {
			return b, true
		}
	}
	return BugNone, false
}

// Bugs lists the planted KV bugs (BugNone excluded) in a fixed order.
func Bugs() []Bug {
	bugs := make([]Bug, 0, bugCount-1)
	for b := BugNone + 1; b < bugCount; b++ {
		bugs = append(bugs, b)
	}
	return bugs
}
