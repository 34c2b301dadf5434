package raft_test

import (
	"fmt"
	"math/rand"

	"github.com/raftsim/raftsim/raft"
)

// A minimal host: three nodes in one process, messages passed through a slice in order, no
// disk (everything counts as persisted at once). Node 1 times out first and becomes leader;
// a proposal is then committed and applied by every node.
func Example() {
	peers := []int{1, 2, 3}
	nodes := map[int]*raft.Node{}
	for _, id := range peers {
		nodes[id] = raft.New(raft.Config{
			ID: id, Peers: peers, ElectionTicks: 10, HeartbeatTicks: 1,
			PreVote: true, CheckQuorum: true,
			Rand: rand.New(rand.NewSource(int64(id))),
		}, raft.Persisted{})
	}
	var network []raft.Message
	applied := map[int][]string{}
	process := func(id int) {
		n := nodes[id]
		for n.HasReady() {
			rd := n.Ready()
			// A real host persists rd.Entries / rd.HardState / rd.Snapshot here (and fsyncs
			// if rd.MustSync) before sending.
			network = append(network, rd.Messages...)
			for _, e := range rd.CommittedEntries {
				if e.Type == raft.EntryNormal {
					applied[id] = append(applied[id], string(e.Data))
				}
			}
			n.Advance()
		}
	}
	deliverAll := func() {
		for len(network) > 0 {
			m := network[0]
			network = network[1:]
			nodes[m.To].Step(m)
			process(m.To)
		}
	}
	// Tick node 1 alone until it campaigns, then let the election run.
	for nodes[1].Status().Role == raft.Follower {
		nodes[1].Tick()
	}
	process(1)
	deliverAll()
	fmt.Println("leader:", nodes[1].Status().Role)

	index, term, _ := nodes[1].Propose([]byte("x=1"))
	process(1)
	deliverAll()
	// Followers learn the new commit index with the next heartbeat.
	nodes[1].Tick()
	process(1)
	deliverAll()
	fmt.Printf("committed at index %d of term %d\n", index, term)
	for _, id := range peers {
		fmt.Println(id, applied[id])
	}
	// Output:
	// leader: Leader
	// committed at index 2 of term 1
	// 1 [x=1]
	// 2 [x=1]
	// 3 [x=1]
}
