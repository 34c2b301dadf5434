package raft

// Code probes: named rare situations in this package (FoundationDB's CODE_PROBE, Antithesis's
// "sometimes" assertions). A test harness passes Config.Probe to learn which of them a run
// reached, so that a sweep can tell which situations its fault generator never produces (blind
// spots). A probe observes only: it changes nothing, and with Config.Probe nil it costs a nil
// check.

// ProbeInfo names a probe and says what situation it marks.
type ProbeInfo struct {
	Name, Description string
}

// The probes of this package.
const (
	ProbeLeaderStepsDownUncommitted = "raft/leader-steps-down-with-uncommitted"
	ProbeLeaderInheritsUncommitted  = "raft/leader-elected-with-uncommitted-tail"
	ProbeFollowerTruncatesConflict  = "raft/follower-truncates-conflicting-suffix"
	ProbeSnapshotKeepsSuffix        = "raft/snapshot-installed-below-follower-log"
	ProbeSnapshotReplacesLog        = "raft/snapshot-replaces-conflicting-log"
	ProbeVoteAfterRestartSameTerm   = "raft/vote-granted-in-term-recovered-from-disk"
	ProbeVoteIgnoredInLease         = "raft/vote-request-ignored-in-leader-lease"
	ProbeStaleTermAppend            = "raft/append-from-stale-term-answered"
	ProbeCandidateYieldsSameTerm    = "raft/candidate-yields-to-leader-of-same-term"
	ProbeElectionLost               = "raft/election-lost-by-rejections"
	ProbeCheckQuorumStepDown        = "raft/leader-steps-down-by-check-quorum"
	ProbeBacktrackByTerm            = "raft/leader-skips-conflicting-term"
	ProbeStaleRejectIgnored         = "raft/stale-append-rejection-ignored"
	ProbeAppendAlreadyCommitted     = "raft/append-entirely-below-commit"
	ProbeAppendOverlapsCommit       = "raft/append-overlaps-commit-index"
	ProbeReadWaitsForTermCommit     = "raft/read-waits-for-first-commit-of-term"
	ProbeReadsDroppedOnStepDown     = "raft/pending-reads-dropped-on-role-change"
	ProbeSnapshotResent             = "raft/snapshot-resent-after-silence"
	ProbeCommitClampedOnRestart     = "raft/persisted-commit-beyond-recovered-log"
	ProbeProposalRefused            = "raft/proposal-refused-uncommitted-limit"
	ProbeSnapshotSent               = "raft/snapshot-sent-to-follower"
	ProbeOldTermEntryCommitted      = "raft/entry-of-earlier-term-committed"
)

// Probes lists every probe of this package.
var Probes = []ProbeInfo{
	{ProbeLeaderStepsDownUncommitted, "a leader steps down holding entries beyond its commit index"},
	{ProbeLeaderInheritsUncommitted, "a new leader holds uncommitted entries of earlier terms (Figure 8's precondition)"},
	{ProbeFollowerTruncatesConflict, "a follower truncates a conflicting suffix of its log"},
	{ProbeSnapshotKeepsSuffix, "a snapshot is installed on a follower whose log has entries after it (kept)"},
	{ProbeSnapshotReplacesLog, "a snapshot from the leader replaces a follower log that disagrees with it"},
	{ProbeVoteAfterRestartSameTerm, "a vote is granted in the term the node recovered from its disk after a restart"},
	{ProbeVoteIgnoredInLease, "a vote request of a higher term is ignored because its receiver heard from a leader recently"},
	{ProbeStaleTermAppend, "an AppendEntries or heartbeat of an older term reaches a node, which answers with its term"},
	{ProbeCandidateYieldsSameTerm, "a candidate hears from a leader of its own term and becomes its follower"},
	{ProbeElectionLost, "a (pre-)candidate gets rejections from a quorum and gives up"},
	{ProbeCheckQuorumStepDown, "a leader that has not heard from a quorum steps down (CheckQuorum)"},
	{ProbeBacktrackByTerm, "a leader skips a follower's whole conflicting term while backtracking"},
	{ProbeStaleRejectIgnored, "a leader ignores a rejection that answers an older request"},
	{ProbeAppendAlreadyCommitted, "an AppendEntries arrives whose entries are all committed here (duplicate or reordered)"},
	{ProbeAppendOverlapsCommit, "an AppendEntries starts below the follower's commit index and is checked from it"},
	{ProbeReadWaitsForTermCommit, "a ReadIndex request waits for the new leader's first commit of its term"},
	{ProbeReadsDroppedOnStepDown, "pending ReadIndex requests are dropped by a role change"},
	{ProbeSnapshotResent, "a leader probes again a follower whose snapshot (or its reply) was lost"},
	{ProbeCommitClampedOnRestart, "a restarted node's persisted commit index is beyond the log it recovered"},
	{ProbeProposalRefused, "a leader refuses a proposal at its bound on uncommitted entries"},
	{ProbeSnapshotSent, "a leader sends a snapshot because the entries a follower needs were compacted"},
	{ProbeOldTermEntryCommitted, "a commit advance covers entries of earlier terms (through an entry of the current term)"},
}

// probe reports reaching a probe to the harness, if it listens.
func (n *Node) probe(name string) {
	if n.cfg.Probe != nil {
		n.cfg.Probe(name)
	}
}
