// Package etcdtest drives a cluster of one etcd-io/raft version's nodes, through its
// etcdhost.Library, message by message in memory: no simulator, no network faults, the way
// etcd-io/raft's own tests drive RawNode. Each version's layer uses it to pin library
// behaviour (findings included) in its tests.
package etcdtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/etcdhost"
	"github.com/raftsim/raftsim/sut/hostkit"
)

// Cluster is n nodes of one library version with ids 1..n, all started from the initial
// snapshot that etcdhost gives every cluster.
type Cluster struct {
	Nodes []etcdhost.Node
	// Applied[i] are the entries node i+1 was handed to apply, in order.
	Applied [][]hostkit.Entry
	inbox   [][]byte
	to      []uint64
}

// maxRounds bounds Settle: a cluster that keeps talking after this many rounds is stuck in a
// loop, which is a failure of its own.
const maxRounds = 10_000

// New starts n nodes of lib with cfg (ID, Voters and Applied are filled in per node).
func New(lib etcdhost.Library, n int, cfg etcdhost.NodeConfig) (*Cluster, error) {
	c := &Cluster{Applied: make([][]hostkit.Entry, n)}
	voters := make([]uint64, n)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	for i := 0; i < n; i++ {
		cfg := cfg
		cfg.ID, cfg.Voters, cfg.Applied = uint64(i+1), voters, 1
		if cfg.Logger == nil {
			cfg.Logger = &etcdhost.Logger{}
		}
		p := &hostkit.Persisted{Snapshot: hostkit.Snapshot{Index: 1, Term: 1}, HardState: hostkit.HardState{Vote: -1}}
		node, err := lib.NewNode(cfg, p)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		c.Nodes = append(c.Nodes, node)
	}
	return c, nil
}

// Settle handles every node's Readys and delivers every message until the cluster is quiet.
func (c *Cluster) Settle() error {
	for round := 0; round < maxRounds; round++ {
		busy := false
		for i, node := range c.Nodes {
			for node.HasReady() {
				busy = true
				rd := node.Ready()
				for _, m := range rd.Messages {
					c.inbox, c.to = append(c.inbox, m.Payload), append(c.to, m.To)
					if m.Snapshot {
						node.ReportSnapshot(m.To)
					}
				}
				c.Applied[i] = append(c.Applied[i], rd.CommittedEntries...)
				node.Advance()
			}
		}
		inbox, to := c.inbox, c.to
		c.inbox, c.to = nil, nil
		for k, msg := range inbox {
			busy = true
			if _, err := c.Nodes[to[k]-1].Step(msg); err != nil {
				return fmt.Errorf("node %d refused a message: %w", to[k], err)
			}
		}
		if !busy {
			return nil
		}
	}
	return fmt.Errorf("the cluster was still busy after %d rounds", maxRounds)
}

// Elect ticks node id until it leads, settling the cluster after each tick.
func (c *Cluster) Elect(id uint64, maxTicks int) error {
	for tick := 0; tick < maxTicks; tick++ {
		c.Nodes[id-1].Tick()
		if err := c.Settle(); err != nil {
			return err
		}
		if c.Nodes[id-1].Status().Role == sut.Leader {
			return nil
		}
	}
	return fmt.Errorf("node %d did not become leader in %d ticks", id, maxTicks)
}

// ProposeOne elects node 1 of a fresh 3-node cluster configured with cfg, proposes one command
// and settles, and returns node 1's commit index and the commands each node was handed to
// apply: what a library must do with any valid configuration.
func ProposeOne(lib etcdhost.Library, cfg etcdhost.NodeConfig) (commit uint64, applied []int, err error) {
	c, err := New(lib, 3, cfg)
	if err != nil {
		return 0, nil, err
	}
	if err := c.Elect(1, 20*cfg.ElectionTick); err != nil {
		return 0, nil, err
	}
	if err := c.Nodes[0].Propose([]byte("x")); err != nil {
		return 0, nil, err
	}
	if err := c.Settle(); err != nil {
		return 0, nil, err
	}
	applied = make([]int, len(c.Nodes))
	for i, ents := range c.Applied {
		for _, e := range ents {
			if len(e.Data) > 0 {
				applied[i]++
			}
		}
	}
	return c.Nodes[0].Status().Commit, applied, nil
}

// CheckCommitsAndApplies fails t unless lib, driven message by message, commits and applies a
// command on every node (index 1 is the initial snapshot, 2 the leader's empty entry, 3 the
// command).
func CheckCommitsAndApplies(t testing.TB, lib etcdhost.Library) {
	t.Helper()
	commit, applied, err := ProposeOne(lib, etcdhost.NodeConfig{
		ElectionTick: 10, HeartbeatTick: 1, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256,
	})
	if err != nil {
		t.Fatal(err)
	}
	if commit != 3 || !slices.Equal(applied, []int{1, 1, 1}) {
		t.Fatalf("commit %d, commands applied per node %v; want 3 and [1 1 1]", commit, applied)
	}
}

// CheckFindingMaxSizePerMsgZero pins a finding (BENCHMARKS.md, "etcd-io/raft findings"):
// MaxSizePerMsg 0 is documented as "at most one entry per message", but MaxCommittedSizePerReady
// then defaults to 0: a node that starts with an applied index never applies a committed
// entry, and one that starts without (Applied 0) panics at its first commit. It fails t when
// lib no longer shows it (a release that fixes it), so that the finding can be closed.
func CheckFindingMaxSizePerMsgZero(t testing.TB, lib etcdhost.Library) {
	t.Helper()
	commit, applied, err := ProposeOne(lib, etcdhost.NodeConfig{
		ElectionTick: 10, HeartbeatTick: 1, MaxSizePerMsg: 0, MaxInflightMsgs: 256,
	})
	if err != nil {
		t.Fatal(err)
	}
	if commit != 3 || !slices.Equal(applied, []int{0, 0, 0}) {
		t.Fatalf("commit %d, commands applied per node %v: the finding no longer reproduces (want commit 3, nothing applied)", commit, applied)
	}
	// A node whose config does not name an applied index (Applied 0, as for a fresh node) is
	// not paused at start: its first commit panics instead.
	const want = "applying entry size (0-0)=0 not positive"
	if got := firstCommitPanic(lib, etcdhost.NodeConfig{ElectionTick: 10, HeartbeatTick: 1, MaxSizePerMsg: 0, MaxInflightMsgs: 256}); !strings.Contains(got, want) {
		t.Fatalf("a one-node cluster with Applied 0 and MaxSizePerMsg 0: panic %q, want one saying %q", got, want)
	}
}

// firstCommitPanic elects a one-node cluster whose node starts with Applied 0 and returns what
// it panicked with ("" if it did not) before it committed and handed out its first entry.
func firstCommitPanic(lib etcdhost.Library, cfg etcdhost.NodeConfig) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	cfg.ID, cfg.Voters, cfg.Applied, cfg.Logger = 1, []uint64{1}, 0, &etcdhost.Logger{}
	p := &hostkit.Persisted{Snapshot: hostkit.Snapshot{Index: 1, Term: 1}, HardState: hostkit.HardState{Vote: -1}}
	node, err := lib.NewNode(cfg, p)
	if err != nil {
		return "NewNode: " + err.Error()
	}
	for tick := 0; tick < 20*cfg.ElectionTick; tick++ {
		node.Tick()
		for node.HasReady() {
			if rd := node.Ready(); len(rd.CommittedEntries) > 0 {
				return ""
			}
			node.Advance()
		}
	}
	return ""
}

// ClassifyCheck compares an SUT's Classify (the wire-format scan that fault triggers use on
// every message) with its Describe (the full unmarshal) on every message of the runs made on
// it, through a copy of the SUT registered as Name. Run seeds on Name (package simtest; this
// package stays below the harness), then call Done.
type ClassifyCheck struct {
	Name       string
	t          *testing.T
	mismatches int
	seen       map[string]int
}

// classifyShownMismatches bounds the mismatches reported one by one.
const classifyShownMismatches = 5

// NewClassifyCheck registers the checked copy of the SUT name, and checks malformed payloads
// at once.
func NewClassifyCheck(t *testing.T, name string) *ClassifyCheck {
	t.Helper()
	target, err := sut.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if target.Classify == nil {
		t.Fatalf("%s has no Classify", name)
	}
	c := &ClassifyCheck{Name: name + "-classify-check", t: t, seen: map[string]int{}}
	classify := func(payload []byte) (sut.MessageKind, bool, bool) {
		kind, reject, ok := target.Classify(payload)
		m, described := target.Describe(payload)
		if ok != described || ok && (kind != m.Kind || reject != m.Reject) {
			if c.mismatches++; c.mismatches <= classifyShownMismatches {
				t.Errorf("Classify(%q) = kind %d, reject %v, ok %v; Describe: %q (kind %d, reject %v), ok %v",
					payload, kind, reject, ok, m.Text, m.Kind, m.Reject, described)
			}
		}
		return kind, reject, ok
	}
	for _, bad := range [][]byte{nil, {sut.TagConsensus, 0x08}, {sut.TagConsensus, 0xff}, {sut.TagConsensus, 0x3a, 0x05, 0x01}} {
		classify(bad)
	}
	checked := *target
	checked.Name = c.Name
	checked.Classify = func(payload []byte) (sut.MessageKind, bool, bool) {
		kind, reject, ok := classify(payload)
		switch {
		case kind == sut.KindVoteReply && !reject:
			c.seen["granted vote"]++
		case kind == sut.KindAppendReply && reject:
			c.seen["rejected append"]++
		case kind == sut.KindSnapshot:
			c.seen["snapshot"]++
		}
		return kind, reject, ok
	}
	sut.Register(&checked)
	return c
}

// Done reports the count of mismatches, and fails unless the runs showed the check the kinds
// triggers watch for: granted votes, rejected appends, snapshots.
func (c *ClassifyCheck) Done() {
	c.t.Helper()
	if c.mismatches > classifyShownMismatches {
		c.t.Errorf("%d mismatches in all", c.mismatches)
	}
	for _, what := range []string{"granted vote", "rejected append", "snapshot"} {
		if c.seen[what] == 0 {
			c.t.Errorf("no %s among the messages the check saw: run more seeds", what)
		}
	}
}
