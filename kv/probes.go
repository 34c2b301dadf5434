package kv

import (
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// Code probes of the KV service and its clerks: named rare situations (see sut.Probe), reported
// through ServerConfig.Probe and ClerkConfig.Probe when set. They observe only.
const (
	ProbeDuplicateWriteApplied  = "kv/retried-write-answered-from-duplicate-table"
	ProbeRetryJoinsPending      = "kv/retry-joins-its-pending-proposal"
	ProbeProposalReplaced       = "kv/proposal-replaced-by-another-entry"
	ProbePendingFailedOnChange  = "kv/pending-requests-failed-by-leader-change"
	ProbeSnapshotOverPending    = "kv/snapshot-restored-over-pending-requests"
	ProbeReadRetried            = "kv/read-round-started-again"
	ProbeServerBusy             = "kv/request-refused-busy"
	ProbeClerkTimeoutOtherSrv   = "kv/call-retried-on-another-server-after-timeout"
	ProbeClerkLateReply         = "kv/late-reply-from-an-earlier-attempt"
	ProbeClerkReplyAfterCall    = "kv/reply-to-a-finished-call"
	ProbeClerkGaveUp            = "kv/call-abandoned-after-max-attempts"
	ProbeFollowerRedirectedRead = "kv/read-redirected-by-a-follower"
)

// Probes lists the KV service's code probes.
var Probes = []sut.Probe{
	{Name: ProbeDuplicateWriteApplied, Description: "a retried write is applied again and recognized by the duplicate table"},
	{Name: ProbeRetryJoinsPending, Description: "a retry reaches the leader while its first copy is still pending there"},
	{Name: ProbeProposalReplaced, Description: "a proposal's index is applied with another entry (its leader lost the entry)"},
	{Name: ProbePendingFailedOnChange, Description: "pending requests are failed because the server is no longer leader of their term"},
	{Name: ProbeSnapshotOverPending, Description: "a snapshot from the leader is restored while requests are pending here"},
	{Name: ProbeReadRetried, Description: "a read round did not complete in time and is started again (its request or answer was lost)"},
	{Name: ProbeServerBusy, Description: "a server refuses a request at its bound on pending requests (or raft refuses the proposal)"},
	{Name: ProbeClerkTimeoutOtherSrv, Description: "a clerk's call times out and is retried on another server"},
	{Name: ProbeClerkLateReply, Description: "a reply arrives from a server the clerk already gave up on for this call"},
	{Name: ProbeClerkReplyAfterCall, Description: "a reply arrives for a call the clerk already finished or abandoned"},
	{Name: ProbeClerkGaveUp, Description: "a clerk abandons a call after its last attempt (outcome unknown)"},
	{Name: ProbeFollowerRedirectedRead, Description: "a Get reaches a follower and is redirected"},
}

// Events of the KV service, reported through the same hooks as its probes: frequent protocol
// moments that fault triggers can fire on, not rare situations.
const (
	EventReadStarted = "kv/event/read-started"
	EventReadServed  = "kv/event/read-served"
	EventProposed    = "kv/event/proposed"
)

// ProbeFunc is the hook that hears probes and events: the node that reached it and its name.
type ProbeFunc func(node sim.NodeID, name string)

func (f ProbeFunc) hit(node sim.NodeID, name string) {
	if f != nil {
		f(node, name)
	}
}
