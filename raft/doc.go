// Package raft is raftsim's own Raft consensus core, written as a deterministic state machine
// in the style of etcd-io/raft: it has no goroutines, no clock and no I/O, and it imports
// nothing of this module. A host drives a Node with three inputs — Tick (one unit of logical
// time), Step (one received Message) and the client calls Propose, ReadIndex and Compact — and
// collects everything the node wants done in a Ready batch.
//
// # Host contract
//
// After any input, while HasReady reports true, the host takes rd := n.Ready() and, in order:
//
//  1. persists rd: if rd.Snapshot != nil, the durable log becomes rd.Snapshot followed by
//     rd.Entries (everything else is discarded); otherwise, if rd.Entries is not empty, the
//     durable log drops its entries from rd.Entries[0].Index on and appends rd.Entries. If
//     rd.HardStateChanged, rd.HardState is written.
//  2. if rd.MustSync, fsyncs everything written so far;
//  3. sends rd.Messages (only now: they may promise durable state);
//  4. if rd.InstallSnapshot, loads rd.Snapshot.Data into the service; then applies
//     rd.CommittedEntries in order; answers reads of rd.ReadStates once applied >= Index;
//  5. calls n.Advance().
//
// Ready may be called again only after Advance; HasReady reports false in between, so the host
// checks it again after Advance. Tick and Step may be called between Ready and Advance (for
// example while a simulated fsync is pending); their output goes to the next Ready. The slices
// of a Ready (and the Entries of its Messages) are owned by the node and valid until Advance.
// Entry data passed to Propose and Compact is retained, not copied: the caller must not
// modify it afterwards.
//
// A restarted node is rebuilt with New from what the host persisted (Persisted); its first
// Ready delivers again the committed entries after the snapshot, for the service to re-apply
// on top of the snapshot.
//
// # Assertions
//
// Invariants that correct Raft guarantees (commit never decreases, commit <= last index,
// log terms never decrease, a leader never overwrites its log, applied <= commit, a leader
// never contradicts an entry this node committed) are asserted: a violation panics with a
// message starting "raft: invariant violated:". With BugNone that is a defect of this
// package; with a planted bug it is one way the bug gets caught, and a host should report it
// as a failure of the run rather than crash.
//
// # Planted bugs
//
// Config.Bug switches on one classic Raft bug (see BUGS.md of raftsim). Each is guarded at a
// single place marked with a "PLANTED BUG <name>" comment; with BugNone the code is correct.
package raft
