package simhost_test

import (
	"fmt"

	"github.com/raftsim/raftsim/raft/simhost"
	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/logapp"
)

// proposer is a client node: once a leader had time to be elected, it asks every server to
// propose a command (servers that are not the leader ignore the request).
type proposer struct {
	env     *sim.Env
	servers []sim.NodeID
}

func (p *proposer) Start(env *sim.Env) {
	p.env = env
	env.SetTimer(sim.Second, 0)
}

func (p *proposer) Timer(uint64) {
	for _, s := range p.servers {
		p.env.Send(s, append([]byte{logapp.TagPropose}, "hello"...))
	}
}

func (p *proposer) Receive(sim.NodeID, []byte) {}

// A raft-only cluster: three servers whose logapp Services record what they apply.
func Example() {
	s := sim.New(sim.Config{Seed: 7, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond}})
	servers := []sim.NodeID{0, 1, 2}
	recorder := logapp.New(len(servers))
	cfg := sut.Config{Peers: servers, NewService: recorder.Service(0)}
	for i := range servers {
		s.AddNode(fmt.Sprintf("raft%d", i), simhost.Factory(cfg))
	}
	s.AddNode("client", func(sim.NodeID) sim.Node { return &proposer{servers: servers} })
	for id := 0; id < s.NumNodes(); id++ {
		s.Start(sim.NodeID(id))
	}
	s.RunUntil(2 * sim.Second)

	index, _ := recorder.IndexOf("hello")
	count, data := recorder.NCommitted(index)
	fmt.Printf("%q applied by %d servers; disagreements: %v\n", data, count, recorder.Err())
	// Output:
	// "hello" applied by 3 servers; disagreements: <nil>
}
