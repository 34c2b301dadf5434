// Package scenarios turns a seed into a checked run: it names the scenarios (the 6.5840 Raft
// and KV suites, Jepsen-style nemeses, swarm testing), describes a run as a Schedule (cluster,
// network, workload and an explicit timed list of faults) that can be saved and replayed,
// wires the kernel, the raft servers, the KV service, the clerks and the checkers into one run
// (Execute), and shrinks a failing schedule to a minimal one (Shrink).
//
// Two kinds of scenario exist. Workload scenarios generate a Schedule from the seed; the run
// applies its faults, heals everything at DurationMs, lets the clients finish (the liveness
// phase) and checks linearizability and liveness, while the online monitor checks Raft safety
// at every event. Scripted scenarios (raft/...) port the lab's Go tests: straight-line code on
// a Cluster whose Sleep advances virtual time, with tasks (coroutines) for the tests'
// goroutines.
//
// Everything here runs inside the simulation and follows the determinism rules: the guard in
// internal/detguard checks this package's source.
package scenarios
