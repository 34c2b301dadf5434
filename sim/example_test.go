package sim_test

import (
	"encoding/binary"
	"fmt"

	"github.com/raftsim/raftsim/sim"
)

// pingPong is a minimal node: node 0 sends a counter to node 1, which sends it back
// incremented, until the counter reaches a limit. The counter survives a crash only when it
// was synced to disk.
type pingPong struct {
	env      *sim.Env
	peer     sim.NodeID
	maxCount uint64
}

func (p *pingPong) Start(env *sim.Env) {
	p.env = env
	if env.ID() == 0 {
		p.send(1)
	}
}

func (p *pingPong) Receive(from sim.NodeID, payload []byte) {
	count := binary.BigEndian.Uint64(payload)
	fmt.Printf("%v node %d got %d from node %d\n", p.env.Now(), p.env.ID(), count, from)
	if count < p.maxCount {
		p.send(count + 1)
	}
}

func (p *pingPong) Timer(tag uint64) {}

func (p *pingPong) send(count uint64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], count)
	p.env.Send(p.peer, buf[:])
}

// Example runs two nodes exchanging a counter over a network with 1-5 ms of latency.
func Example() {
	s := sim.New(sim.Config{
		Seed:    42,
		Network: sim.NetworkConfig{LatencyMin: 1 * sim.Millisecond, LatencyMax: 5 * sim.Millisecond},
	})
	for i := 0; i < 2; i++ {
		peer := sim.NodeID(1 - i)
		s.AddNode(fmt.Sprintf("n%d", i), func(id sim.NodeID) sim.Node {
			return &pingPong{peer: peer, maxCount: 5}
		})
	}
	s.Start(0)
	s.Start(1)
	result := s.Run()
	fmt.Println("end:", result.End, "at", result.Now, "after", result.Events, "events")
	// Output:
	// 0.002696856s node 1 got 1 from node 0
	// 0.007560424s node 0 got 2 from node 1
	// 0.011407196s node 1 got 3 from node 0
	// 0.015283793s node 0 got 4 from node 1
	// 0.019678357s node 1 got 5 from node 0
	// end: idle at 0.019678357s after 5 events
}
