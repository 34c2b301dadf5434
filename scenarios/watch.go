package scenarios

import (
	"fmt"
	"slices"
	"sort"

	"github.com/raftsim/raftsim/kv"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
)

// watch is what a workload run observes of itself without changing it: the servers' reports
// (it is a sut.Observer, teed after the safety monitor), the messages nodes send, the code
// probes of the system under test, the KV service and the clerks, and the KV state digests.
// It feeds the fault triggers, records which probes the run reached, pairs each state digest
// with its applied index for the replica state check, and notices the harness's own probes.
type watch struct {
	r        *run
	s        *Schedule
	triggers *triggerEngine // nil: the schedule has none
	// Per server, from its reports.
	roles       []sut.Role
	terms       []uint64
	lastIndex   []uint64
	commit      []uint64
	applied     []uint64 // by Observer.Applied, in this incarnation
	restartedAt []sim.Time
	// stateDigest is a digest the service reported before the Observer reported its index
	// applied (the order depends on the host).
	stateDigest []pendingDigest
	// leaderChanges are the instants at which some server became leader.
	leaderChanges []sim.Time
	hits          map[string]bool
}

type pendingDigest struct {
	index, digest uint64
	set           bool
}

// The harness's own probes.
const (
	ProbeTwoLeaders             = "harness/two-servers-lead-at-once"
	ProbeRestartFromSnapshot    = "harness/server-restarts-from-a-snapshot"
	ProbeSnapshotFromLeader     = "harness/snapshot-installed-from-the-leader"
	ProbeLeaderCrashUncommitted = "harness/leader-crashes-with-uncommitted-entries"
	ProbeAllServersDown         = "harness/every-server-down-at-once"
	ProbeDeposedLeaderResumes   = "harness/deposed-leader-resumes-from-pause"
	ProbeReadSpansLeaderChange  = "harness/read-spans-a-leader-change"
	ProbeWriteSpansLeaderChange = "harness/write-spans-a-leader-change"
)

// harnessProbes are the harness's probes with what each marks.
var harnessProbes = []sut.Probe{
	{Name: ProbeTwoLeaders, Description: "a server becomes leader while another (of an older term) still believes it leads"},
	{Name: ProbeRestartFromSnapshot, Description: "a server restarts from a snapshot on its disk"},
	{Name: ProbeSnapshotFromLeader, Description: "a server installs a snapshot sent by the leader"},
	{Name: ProbeLeaderCrashUncommitted, Description: "a leader crashes holding entries beyond its commit index"},
	{Name: ProbeAllServersDown, Description: "every server is down at the same time"},
	{Name: ProbeDeposedLeaderResumes, Description: "a paused leader resumes after another server led a newer term"},
	{Name: ProbeReadSpansLeaderChange, Description: "a client's Get is in flight while a new leader is elected"},
	{Name: ProbeWriteSpansLeaderChange, Description: "a client's write is in flight while a new leader is elected"},
}

// Probes lists the code probes a run on target can report: the SUT's, the KV service's and the
// harness's.
func Probes(target *sut.SUT) []sut.Probe {
	out := append([]sut.Probe(nil), target.Probes...)
	out = append(out, kv.Probes...)
	return append(out, harnessProbes...)
}

func newWatch(r *run, s *Schedule) *watch {
	n := s.Nodes
	return &watch{r: r, s: s, roles: make([]sut.Role, n), terms: make([]uint64, n), lastIndex: make([]uint64, n),
		commit: make([]uint64, n), applied: make([]uint64, n), restartedAt: make([]sim.Time, n),
		stateDigest: make([]pendingDigest, n), hits: map[string]bool{}}
}

// needsMessages reports whether a schedule's triggers fire on events seen in messages, which
// the watch then reads as they are sent.
func needsMessages(s *Schedule) bool {
	for _, t := range s.Triggers {
		for _, ev := range t.On {
			if slices.Contains(messageEvents, ev) {
				return true
			}
		}
	}
	return false
}

func (w *watch) hit(name string) { w.hits[name] = true }

func (w *watch) happened(ev eventID, subject, peer, client int) {
	if w.triggers.wants(ev) {
		w.triggers.happened(occurrence{ev: ev, subject: subject, peer: peer, client: client})
	}
}

// probe hears the probes and events of the SUT, the KV servers and the clerks.
func (w *watch) probe(node sim.NodeID, name string) {
	switch name {
	case kv.EventReadStarted:
		w.happened(evReadStarted, int(node), -1, -1)
	case kv.EventReadServed:
		w.happened(evReadServed, int(node), -1, -1)
	case kv.EventProposed:
		w.happened(evProposal, int(node), -1, -1)
	default:
		w.hit(name)
	}
}

// onSend sees every message as it is sent (only when a trigger fires on message events).
func (w *watch) onSend(from, to sim.NodeID, payload []byte) {
	if len(payload) == 0 {
		return
	}
	n := sim.NodeID(w.s.Nodes)
	switch payload[0] {
	case sut.TagConsensus:
		kind, reject, ok := w.r.sut.ClassifyMessage(payload)
		switch {
		case !ok:
		case kind == sut.KindVoteReply && !reject:
			w.happened(evVoteGranted, int(from), int(to), -1)
		case kind == sut.KindAppendReply && reject:
			w.happened(evAppendRejected, int(from), int(to), -1)
		case kind == sut.KindSnapshot:
			w.happened(evSnapshotSent, int(from), int(to), -1)
		}
	case kv.TagRequest:
		if from >= n && to < n {
			w.happened(evClientRequest, int(to), -1, int(from-n))
		}
	case kv.TagReply:
		if from < n && to >= n {
			w.happened(evClientReply, int(from), -1, int(to-n))
		}
	}
}

// stateApplied hears a KV server's state digest after it applied index.
func (w *watch) stateApplied(node sim.NodeID, index, digest uint64) {
	if w.r.opts.skipStateCheck {
		return
	}
	x := int(node)
	if w.applied[x] == index {
		w.r.monitor.StateApplied(x, index, digest)
		return
	}
	w.stateDigest[x] = pendingDigest{index: index, digest: digest, set: true}
}

// leader is the running server that reported leadership of the highest term, or -1.
func (w *watch) leader() int {
	best := -1
	for x, role := range w.roles {
		id := sim.NodeID(x)
		if role == sut.Leader && w.r.sim.IsUp(id) && !w.r.sim.IsPaused(id) && (best < 0 || w.terms[x] > w.terms[best]) {
			best = x
		}
	}
	return best
}

// crashing is told by the nemesis that server x is about to crash.
func (w *watch) crashing(x int) {
	if w.roles[x] == sut.Leader && w.lastIndex[x] > w.commit[x] {
		w.hit(ProbeLeaderCrashUncommitted)
	}
}

// crashed is told by the nemesis that a server crashed.
func (w *watch) crashed() {
	for x := 0; x < w.s.Nodes; x++ {
		if w.r.sim.IsUp(sim.NodeID(x)) {
			return
		}
	}
	w.hit(ProbeAllServersDown)
}

// resuming is told by the nemesis that server x resumes from a pause.
func (w *watch) resuming(x int) {
	if w.roles[x] != sut.Leader {
		return
	}
	for y := range w.roles {
		if y != x && w.terms[y] > w.terms[x] && w.roles[y] == sut.Leader {
			w.hit(ProbeDeposedLeaderResumes)
			return
		}
	}
}

// historyProbes notices the probes that need the clients' whole history.
func (w *watch) historyProbes(records []kv.Record) {
	for _, rec := range records {
		call, end := sim.Time(rec.Call), sim.Time(rec.Return)
		if rec.Pending {
			end = sim.Time(1<<62 - 1)
		}
		i := sort.Search(len(w.leaderChanges), func(i int) bool { return w.leaderChanges[i] > call })
		if i == len(w.leaderChanges) || w.leaderChanges[i] >= end {
			continue
		}
		if rec.Kind == kv.OpGet {
			w.hit(ProbeReadSpansLeaderChange)
		} else {
			w.hit(ProbeWriteSpansLeaderChange)
		}
	}
}

// probesHit returns the names of the probes the run reached, sorted.
func (w *watch) probesHit() []string {
	out := make([]string, 0, len(w.hits))
	for name := range w.hits { // detguard:unordered sorted below
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// converged reports whether every server is up, applied the same index and holds the same KV
// state, or describes how they differ.
func (w *watch) converged() (ok bool, node, other int, index uint64, why string) {
	refNode, refApplied, refDigest := -1, uint64(0), uint64(0)
	for x := 0; x < w.s.Nodes; x++ {
		srv := w.r.server(x)
		if srv == nil || w.r.sim.IsPaused(sim.NodeID(x)) {
			return false, x, -1, 0, fmt.Sprintf("server %d is not running", x)
		}
		kvs, isKV := srv.Service().(*kv.Server)
		if !isKV || w.r.opts.skipStateCheck {
			return true, 0, 0, 0, ""
		}
		applied, digest := srv.Status().Applied, kvs.StateMachine().Digest()
		if refNode < 0 {
			refNode, refApplied, refDigest = x, applied, digest
			continue
		}
		if applied != refApplied {
			return false, x, refNode, applied, fmt.Sprintf("server %d applied up to index %d, server %d up to %d", refNode, refApplied, x, applied)
		}
		if digest != refDigest {
			return false, x, refNode, applied, fmt.Sprintf("servers %d and %d applied up to index %d but their state machines differ (state digest %#x vs %#x)",
				refNode, x, applied, refDigest, digest)
		}
	}
	return true, 0, 0, 0, ""
}

// The sut.Observer methods.

func (w *watch) SetNow(int64) {}

func (w *watch) Restarted(node int) {
	w.roles[node], w.lastIndex[node], w.commit[node], w.applied[node] = sut.Follower, 0, 0, 0
	w.stateDigest[node] = pendingDigest{}
	w.restartedAt[node] = w.r.sim.Now()
	w.happened(evRestart, node, -1, -1)
}

func (w *watch) LogTruncated(node int, fromIndex uint64) {
	w.lastIndex[node] = fromIndex - 1
	w.happened(evTruncate, node, -1, -1)
}

func (w *watch) LogAppended(node int, index, term, digest uint64) { w.lastIndex[node] = index }

func (w *watch) SnapshotInstalled(node int, index, term uint64) {
	w.lastIndex[node] = max(w.lastIndex[node], index)
	if w.restartedAt[node] == w.r.sim.Now() && w.applied[node] == 0 {
		w.hit(ProbeRestartFromSnapshot)
		return
	}
	if index > w.applied[node] {
		w.hit(ProbeSnapshotFromLeader)
	}
	w.happened(evSnapshot, node, -1, -1)
}

func (w *watch) BecameLeader(node int, term uint64) {
	for x, role := range w.roles {
		if x != node && role == sut.Leader && w.r.sim.IsUp(sim.NodeID(x)) {
			w.hit(ProbeTwoLeaders)
			break
		}
	}
	w.roles[node], w.terms[node] = sut.Leader, term
	w.leaderChanges = append(w.leaderChanges, w.r.sim.Now())
	w.happened(evLeaderElected, node, -1, -1)
}

func (w *watch) PersistedTerm(node int, term uint64) {}

func (w *watch) Committed(node int, commitIndex uint64) {
	w.commit[node] = commitIndex
	w.happened(evCommit, node, -1, -1)
}

func (w *watch) Applied(node int, index, term, digest uint64) {
	w.applied[node] = index
	if p := &w.stateDigest[node]; p.set && p.index == index {
		w.r.monitor.StateApplied(node, index, p.digest)
		*p = pendingDigest{}
	}
	w.happened(evApply, node, -1, -1)
}

func (w *watch) RoleChanged(node int, role sut.Role, term uint64) {
	old := w.roles[node]
	w.roles[node], w.terms[node] = role, term
	if old == sut.Leader && role != sut.Leader {
		w.happened(evLeaderLost, node, -1, -1)
	}
	if (role == sut.Candidate || role == sut.PreCandidate) && old != sut.Candidate && old != sut.PreCandidate {
		w.happened(evCampaign, node, -1, -1)
	}
}
