package sim_test

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/raftsim/raftsim/sim"
)

// scheduledSpec describes one event of a random schedule.
type scheduledSpec struct {
	delay   sim.Time // after its creation (At at time delay for top-level events)
	parent  int      // -1: scheduled at setup; else scheduled when event `parent` fires
	cancels int      // -1: none; else the event it cancels when it fires
	viaNode bool     // a node timer (env.SetTimer) rather than a kernel event (Sim.At/After)
}

type firing struct {
	index int
	at    sim.Time
}

// referenceSchedule is the obvious model: a list scanned for the smallest (time, sequence).
func referenceSchedule(specs []scheduledSpec, cancelAtSetup []int) []firing {
	type entry struct {
		index     int
		at        sim.Time
		seq       int
		cancelled bool
		done      bool
	}
	var entries []entry
	position := map[int]int{} // event index -> entry position, once created
	seq := 0
	schedule := func(index int, at sim.Time) {
		seq++
		position[index] = len(entries)
		entries = append(entries, entry{index: index, at: at, seq: seq})
	}
	cancel := func(index int) {
		if pos, ok := position[index]; ok && !entries[pos].done {
			entries[pos].cancelled = true
		}
	}
	for i, spec := range specs {
		if spec.parent == -1 {
			schedule(i, spec.delay)
		}
	}
	for _, index := range cancelAtSetup {
		cancel(index)
	}
	var fired []firing
	for {
		best := -1
		for pos, e := range entries {
			if e.cancelled || e.done {
				continue
			}
			if best == -1 || e.at < entries[best].at || (e.at == entries[best].at && e.seq < entries[best].seq) {
				best = pos
			}
		}
		if best == -1 {
			return fired
		}
		entries[best].done = true
		now, index := entries[best].at, entries[best].index
		fired = append(fired, firing{index, now})
		for j, spec := range specs {
			if spec.parent == index {
				schedule(j, now+spec.delay)
			}
		}
		if target := specs[index].cancels; target >= 0 {
			cancel(target)
		}
	}
}

func simulatedSchedule(specs []scheduledSpec, cancelAtSetup []int) []firing {
	h := newHarness(sim.Config{}, 1)
	ids := map[int]sim.TimerID{}
	var fired []firing
	var onFire func(index int)
	schedule := func(index int) {
		spec := specs[index]
		if spec.viaNode {
			ids[index] = h.probes[0].env.SetTimer(spec.delay, uint64(index))
		} else {
			ids[index] = h.s.After(spec.delay, fmt.Sprintf("e%d", index), func() { onFire(index) })
		}
	}
	onFire = func(index int) {
		fired = append(fired, firing{index, h.s.Now()})
		for j, spec := range specs {
			if spec.parent == index {
				schedule(j)
			}
		}
		if target := specs[index].cancels; target >= 0 {
			if id, ok := ids[target]; ok {
				h.s.Cancel(id)
			}
		}
	}
	h.onTimer = func(_ *probe, tag uint64) { onFire(int(tag)) }
	h.s.Start(0)
	for i, spec := range specs {
		if spec.parent == -1 {
			schedule(i)
		}
	}
	for _, index := range cancelAtSetup {
		if id, ok := ids[index]; ok {
			h.s.Cancel(id)
		}
	}
	result := h.s.Run()
	if result.End != sim.EndIdle || result.Events != int64(len(fired)) {
		panic(fmt.Sprintf("run ended %v after %d events for %d firings", result.End, result.Events, len(fired)))
	}
	return fired
}

// Random sequences of At/After/SetTimer/Cancel, including events that schedule and cancel
// others when they fire, run in exactly the order of the reference model.
func TestPropertyScheduleMatchesReferenceModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		count := rapid.IntRange(1, 40).Draw(t, "count")
		specs := make([]scheduledSpec, count)
		for i := range specs {
			specs[i] = scheduledSpec{
				delay:   sim.Time(rapid.IntRange(0, 5).Draw(t, "delay")) * sim.Millisecond,
				parent:  rapid.IntRange(-1, i-1).Draw(t, "parent"),
				cancels: rapid.IntRange(-1, count-1).Draw(t, "cancels"),
				viaNode: rapid.Bool().Draw(t, "viaNode"),
			}
		}
		cancelAtSetup := rapid.SliceOfN(rapid.IntRange(0, count-1), 0, 5).Draw(t, "cancelAtSetup")
		want := referenceSchedule(specs, cancelAtSetup)
		got := simulatedSchedule(specs, cancelAtSetup)
		if !slices.Equal(got, want) {
			t.Fatalf("fired %v\nmodel %v", got, want)
		}
	})
}

// Random connectivity matrices, then optionally a Partition, Isolate or Heal on top, applied
// before the messages are sent or while they are in flight: the delivered set is exactly the
// set the final matrix allows.
func TestPropertyPartitionMatrixDecidesDelivery(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(2, 6).Draw(t, "nodes")
		allowed := make([][]bool, nodes)
		for from := range allowed {
			allowed[from] = make([]bool, nodes)
			for to := range allowed[from] {
				allowed[from][to] = rapid.Float64Range(0, 1).Draw(t, "up") < 0.7
			}
		}
		shape := rapid.IntRange(0, 3).Draw(t, "shape") // 0 matrix only, 1 partition, 2 isolate, 3 heal
		groupOf := make([]int, nodes)
		for i := range groupOf {
			groupOf[i] = rapid.IntRange(0, 3).Draw(t, "group") // 0: not listed
		}
		isolated := sim.NodeID(rapid.IntRange(0, nodes-1).Draw(t, "isolated"))
		inFlight := rapid.Bool().Draw(t, "inFlight")

		apply := func(net *sim.Network) {
			for from := range allowed {
				for to := range allowed[from] {
					net.SetLink(sim.NodeID(from), sim.NodeID(to), allowed[from][to])
				}
			}
			switch shape {
			case 1:
				groups := make([][]sim.NodeID, 3)
				for id, g := range groupOf {
					if g > 0 {
						groups[g-1] = append(groups[g-1], sim.NodeID(id))
					}
				}
				net.Partition(groups...)
			case 2:
				net.Isolate(isolated)
			case 3:
				net.Heal()
			}
		}
		want := func(from, to int) bool {
			switch shape {
			case 1:
				cutByPartition := groupOf[from] != 0 && groupOf[to] != 0 && groupOf[from] != groupOf[to]
				return allowed[from][to] && !cutByPartition
			case 2:
				isolatedLink := from != to && (sim.NodeID(from) == isolated || sim.NodeID(to) == isolated)
				return allowed[from][to] && !isolatedLink
			case 3:
				return true
			}
			return allowed[from][to]
		}

		h := newHarness(sim.Config{Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 2 * sim.Millisecond}}, nodes)
		delivered := make([][]bool, nodes)
		for i := range delivered {
			delivered[i] = make([]bool, nodes)
		}
		h.onStart = func(p *probe) {
			for to := 0; to < nodes; to++ {
				p.env.Send(sim.NodeID(to), nil)
			}
		}
		h.onReceive = func(p *probe, from sim.NodeID, _ []byte) { delivered[from][p.env.ID()] = true }
		if inFlight {
			h.s.At(500*sim.Microsecond, "links", func() { apply(h.s.Net()) })
		} else {
			apply(h.s.Net())
		}
		h.startAll()
		h.s.Run()
		for from := 0; from < nodes; from++ {
			for to := 0; to < nodes; to++ {
				if w := want(from, to); delivered[from][to] != w {
					t.Fatalf("%d->%d delivered=%v, matrix allows=%v\n%s", from, to, delivered[from][to], w, h.s.Net())
				}
				if got := h.s.Net().Link(sim.NodeID(from), sim.NodeID(to)); got != want(from, to) {
					t.Fatalf("Link(%d, %d) = %v, want %v", from, to, got, want(from, to))
				}
			}
		}
	})
}
