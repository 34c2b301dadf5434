// Package kv is the replicated key/value service of raftsim, in the 6.5840 (6.824) mould: a
// StateMachine (Get, Put, Append, CAS, with a duplicate table that makes every write take effect
// exactly once, included in every snapshot), a Server that runs it on any system under test
// through the seam of package sut (client requests become log entries or ReadIndex rounds;
// replies go out only once the outcome is known), a Clerk that is a simulated client process
// (unique client id, sequence numbers, timeouts, retries with leader hints, a retry cap), a
// Workload generator that drives clerks, and a History that records every call with its
// invocation and return times for the linearizability checker.
//
// Everything here runs inside the deterministic simulation (no clock but the sim's, no global
// randomness, no goroutines, no map iteration that reaches behaviour). Messages are compact
// binary encodings (TagRequest/TagReply payloads); decoders reject garbage with an error.
//
// Compaction: a server's host (sut.Config.MaxRaftStateBytes) asks Server.Snapshot for the
// state when the raft log file outgrows the limit, and compacts the log; a server that restarts
// or falls behind loads the snapshot with Restore.
//
// Planted bugs (Bug, see docs/bugs.md): no-dedup, read-local and dedup-not-in-snapshot, each switched
// on at one place marked "PLANTED BUG <name>".
package kv
