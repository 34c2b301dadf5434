package sim_test

import (
	"slices"
	"testing"

	"github.com/raftsim/raftsim/sim"
)

// An AtFirst event runs before every other event of its instant, even those queued before it,
// and AtFirst events of one instant run in the order they were queued: what a replayed
// schedule needs to repeat the order of a run in which the event was queued late.
func TestAtFirstRunsBeforeEverythingAtItsInstant(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	var order []string
	note := func(name string) func() { return func() { order = append(order, name) } }
	s.At(10, "early-normal", note("normal-1"))
	s.At(5, "queue-late", func() {
		s.At(10, "late-normal", note("normal-2"))
		s.AtFirst(10, "first-a", note("first-a"))
		s.AtFirst(10, "first-b", note("first-b"))
	})
	s.AtFirst(9, "first-before", note("first-9"))
	s.Run()
	want := []string{"first-9", "first-a", "first-b", "normal-1", "normal-2"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// DropNext drops exactly the next message on its link, and Heal cancels a pending one.
func TestDropNextDropsOneMessage(t *testing.T) {
	h := newHarness(sim.Config{Seed: 1, Network: sim.NetworkConfig{LatencyMin: 1, LatencyMax: 1}}, 2)
	var got []string
	h.onReceive = func(p *probe, from sim.NodeID, payload []byte) { got = append(got, string(payload)) }
	h.startAll()
	net := h.s.Net()
	net.DropNext(0, 1)
	h.probes[0].env.Send(1, []byte("a")) // dropped
	h.probes[1].env.Send(0, []byte("b")) // other direction: delivered
	h.probes[0].env.Send(1, []byte("c"))
	net.DropNext(0, 1)
	net.Heal()
	h.probes[0].env.Send(1, []byte("d"))
	h.s.Run()
	if want := []string{"b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if st := h.s.Stats(); st.Dropped.Injected != 1 || st.MessagesDropped != 1 {
		t.Fatalf("dropped %+v (total %d), want 1 injected drop", st.Dropped, st.MessagesDropped)
	}
}
