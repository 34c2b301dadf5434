package raft

import "strconv"

// Bug selects one planted Raft bug of raftsim's BUGS.md (BugNone = the correct protocol).
// Each bug is switched on at exactly one place in this package, marked "PLANTED BUG <name>".
type Bug uint8

const (
	BugNone Bug = iota
	// BugVoteNoPersist grants a vote without asking the host to persist and sync it.
	BugVoteNoPersist
	// BugVoteNoLogCheck grants votes without the up-to-date log check of section 5.4.1.
	BugVoteNoLogCheck
	// BugVoteTwice clears votedFor on a step-down without a term change.
	BugVoteTwice
	// BugTruncateAlways makes a follower truncate after prevLogIndex on every AppendEntries.
	BugTruncateAlways
	// BugCommitOldTerm lets a leader commit entries of earlier terms by counting replicas.
	BugCommitOldTerm
	// BugCommitNoMin sets a follower's commit index to leaderCommit without the min with the
	// index of the last new entry.
	BugCommitNoMin
	// BugMatchFromCurrent sets matchIndex from the leader's last index, not from the request
	// that was acknowledged.
	BugMatchFromCurrent
	// BugAckBeforeSync reports a follower's appended entries without asking for a sync.
	BugAckBeforeSync
	// BugSnapshotOffset is an off-by-one converting a log index to a slice offset after a
	// snapshot, in the term lookup of the AppendEntries consistency check.
	BugSnapshotOffset
	bugCount
)

// The names are those of BUGS.md, used by `simrun -bug NAME`.
var bugNames = [bugCount]string{
	BugNone:             "none",
	BugVoteNoPersist:    "vote-no-persist",
	BugVoteNoLogCheck:   "vote-no-log-check",
	BugVoteTwice:        "vote-twice",
	BugTruncateAlways:   "truncate-always",
	BugCommitOldTerm:    "commit-old-term",
	BugCommitNoMin:      "commit-no-min",
	BugMatchFromCurrent: "match-from-current",
	BugAckBeforeSync:    "ack-before-sync",
	BugSnapshotOffset:   "snapshot-offset",
}

// String returns the BUGS.md name of the bug ("none" for BugNone).
func (b Bug) String() string {
	if b < bugCount {
		return bugNames[b]
	}
	return "Bug(" + strconv.Itoa(int(b)) + ")"
}

// ParseBug returns the raft bug with the given BUGS.md name; "" and "none" give BugNone.
// It reports false for any other name, including the KV bugs of BUGS.md, which live in kv.
func ParseBug(name string) (Bug, bool) {
	if name == "" {
		return BugNone, true
	}
	for b := Bug(0); b < bugCount; b++ {
		if bugNames[b] == name {
			return b, true
		}
	}
	return BugNone, false
}

// Bugs lists every planted raft bug (without BugNone), in BUGS.md order.
func Bugs() []Bug {
	bugs := make([]Bug, 0, bugCount-1)
	for b := BugNone + 1; b < bugCount; b++ {
		bugs = append(bugs, b)
	}
	return bugs
}
