package sim_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sim"
)

// deliveredPairs makes every node send one message to every node (itself included) at
// Start, runs, and returns which (from, to) pairs were delivered.
func deliveredPairs(t *testing.T, nodes int, setup func(net *sim.Network)) [][]bool {
	t.Helper()
	h := newHarness(sim.Config{Seed: 3, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 3 * sim.Millisecond}}, nodes)
	got := make([][]bool, nodes)
	for i := range got {
		got[i] = make([]bool, nodes)
	}
	h.onStart = func(p *probe) {
		for to := 0; to < nodes; to++ {
			p.env.Send(sim.NodeID(to), encodeUint64(uint64(p.env.ID())))
		}
	}
	h.onReceive = func(p *probe, from sim.NodeID, payload []byte) {
		if sim.NodeID(decodeUint64(payload)) != from {
			t.Fatalf("node %d: payload says it is from %d, kernel says %d", p.env.ID(), decodeUint64(payload), from)
		}
		if got[from][p.env.ID()] {
			t.Fatalf("message %d->%d delivered twice", from, p.env.ID())
		}
		got[from][p.env.ID()] = true
	}
	setup(h.s.Net())
	h.startAll()
	h.s.Run()
	return got
}

func checkPairs(t *testing.T, got [][]bool, allowed func(from, to int) bool) {
	t.Helper()
	for from := range got {
		for to := range got[from] {
			if want := allowed(from, to); got[from][to] != want {
				t.Errorf("%d->%d delivered=%v, want %v", from, to, got[from][to], want)
			}
		}
	}
}

func TestOneWayLinkBlocksOnlyItsDirection(t *testing.T) {
	got := deliveredPairs(t, 3, func(net *sim.Network) { net.SetLink(0, 1, false) })
	checkPairs(t, got, func(from, to int) bool { return !(from == 0 && to == 1) })
}

func TestPartitionBlocksExactlyBetweenGroups(t *testing.T) {
	// Node 4 is in no group: it keeps all its links.
	got := deliveredPairs(t, 5, func(net *sim.Network) {
		net.Partition([]sim.NodeID{0, 1}, []sim.NodeID{2, 3})
	})
	group := []int{1, 1, 2, 2, 0}
	checkPairs(t, got, func(from, to int) bool {
		return group[from] == 0 || group[to] == 0 || group[from] == group[to]
	})
}

func TestIsolateAndHeal(t *testing.T) {
	got := deliveredPairs(t, 3, func(net *sim.Network) { net.Isolate(1) })
	checkPairs(t, got, func(from, to int) bool { return from == to || (from != 1 && to != 1) })
	got = deliveredPairs(t, 3, func(net *sim.Network) {
		net.Isolate(1)
		net.Partition([]sim.NodeID{0}, []sim.NodeID{2})
		net.Heal()
	})
	checkPairs(t, got, func(from, to int) bool { return true })
}

func TestNetworkString(t *testing.T) {
	h := newHarness(sim.Config{}, 3)
	h.s.Net().SetLink(0, 2, false)
	want := "from\\to  0  1  2\n" +
		"      0  .  .  x\n" +
		"      1  .  .  .\n" +
		"      2  .  .  .\n"
	if got := h.s.Net().String(); got != want {
		t.Fatalf("String():\n%s\nwant:\n%s", got, want)
	}
}

func TestPartitionRejectsNodeInTwoGroups(t *testing.T) {
	h := newHarness(sim.Config{}, 3)
	defer func() {
		if recover() == nil {
			t.Fatal("Partition accepted a node listed in two groups")
		}
	}()
	h.s.Net().Partition([]sim.NodeID{0, 1}, []sim.NodeID{1, 2})
}

// A link cut while a message is in flight drops it at delivery time.
func TestLinkCutInFlightDropsAtDelivery(t *testing.T) {
	h := newHarness(sim.Config{Network: sim.NetworkConfig{LatencyMin: 10 * sim.Millisecond, LatencyMax: 10 * sim.Millisecond}}, 2)
	received := 0
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.Send(1, []byte("in flight"))
		}
	}
	h.onReceive = func(*probe, sim.NodeID, []byte) { received++ }
	h.startAll()
	h.s.At(5*sim.Millisecond, "cut", func() { h.s.Net().SetLink(0, 1, false) })
	h.s.Run()
	if received != 0 {
		t.Fatalf("a message crossed a link cut while it was in flight")
	}
	if got := h.s.Stats().Dropped.Partition; got != 1 {
		t.Fatalf("Dropped.Partition = %d, want 1", got)
	}
}

// Sends one message per millisecond from node 0 to node 1 for `count` messages; returns the
// simulation after the run and the arrival times of each message id (duplicates included).
func sendStream(t *testing.T, cfg sim.Config, count int) (*sim.Sim, map[uint64][]sim.Time) {
	t.Helper()
	h := newHarness(cfg, 2)
	arrivals := make(map[uint64][]sim.Time, count)
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.SetTimer(0, 0)
		}
	}
	h.onTimer = func(p *probe, tag uint64) {
		p.env.Send(1, encodeUint64(tag))
		if int(tag)+1 < count {
			p.env.SetTimer(sim.Microsecond, tag+1)
		}
	}
	h.onReceive = func(p *probe, from sim.NodeID, payload []byte) {
		id := decodeUint64(payload)
		arrivals[id] = append(arrivals[id], p.env.Now())
	}
	h.startAll()
	h.s.Run()
	return h.s, arrivals
}

// withinSigmas checks a binomial count against its expectation.
func withinSigmas(t *testing.T, what string, got int64, trials int, p float64) {
	t.Helper()
	mean := float64(trials) * p
	sigma := math.Sqrt(float64(trials) * p * (1 - p))
	if math.Abs(float64(got)-mean) > 5*sigma {
		t.Errorf("%s: %d, expected %.0f ± %.0f (5 sigma)", what, got, mean, 5*sigma)
	}
}

func TestDropAndDuplicateRates(t *testing.T) {
	const messages = 100_000
	const dropRate, duplicateRate = 0.1, 0.2
	s, arrivals := sendStream(t, sim.Config{Seed: 5, Network: sim.NetworkConfig{
		LatencyMin: sim.Millisecond, LatencyMax: 5 * sim.Millisecond,
		DropRate: dropRate, DuplicateRate: duplicateRate,
	}}, messages)
	stats := s.Stats()
	if stats.MessagesSent != messages {
		t.Fatalf("sent %d messages, want %d", stats.MessagesSent, messages)
	}
	withinSigmas(t, "dropped", stats.Dropped.Random, messages, dropRate)
	withinSigmas(t, "duplicated", stats.MessagesDuplicated, messages, (1-dropRate)*duplicateRate)
	delivered := int64(0)
	for _, times := range arrivals {
		delivered += int64(len(times))
		if len(times) > 2 {
			t.Fatalf("a message arrived %d times", len(times))
		}
	}
	if delivered != stats.MessagesDelivered || delivered != messages-stats.Dropped.Random+stats.MessagesDuplicated {
		t.Fatalf("delivered %d (stats %d), sent %d, dropped %d, duplicated %d",
			delivered, stats.MessagesDelivered, messages, stats.Dropped.Random, stats.MessagesDuplicated)
	}
	if stats.MessagesDropped != stats.Dropped.Random {
		t.Fatalf("MessagesDropped %d != sum of causes %+v", stats.MessagesDropped, stats.Dropped)
	}
}

func TestLatencyBoundsAndLongDelay(t *testing.T) {
	const messages = 20_000
	const longDelayRate = 0.05
	s, arrivals := sendStream(t, sim.Config{Seed: 9, Network: sim.NetworkConfig{
		LatencyMin: 2 * sim.Millisecond, LatencyMax: 4 * sim.Millisecond,
		LongDelayRate: longDelayRate, LongDelayMax: sim.Second,
	}}, messages)
	long := int64(0)
	reordered := false
	for id := uint64(0); id < messages; id++ {
		sentAt := sim.Time(id) * sim.Microsecond
		times := arrivals[id]
		if len(times) != 1 {
			t.Fatalf("message %d arrived %d times", id, len(times))
		}
		latency := times[0] - sentAt
		if latency < 2*sim.Millisecond || latency > 4*sim.Millisecond+sim.Second {
			t.Fatalf("message %d latency %v out of bounds", id, latency)
		}
		if latency > 4*sim.Millisecond {
			long++
		}
		if id > 0 && times[0] < arrivals[id-1][0] {
			reordered = true
		}
	}
	withinSigmas(t, "long delays", long, messages, longDelayRate)
	if !reordered {
		t.Fatal("random latency never reordered two messages")
	}
	if s.Stats().MessagesDelivered != messages {
		t.Fatalf("delivered %d", s.Stats().MessagesDelivered)
	}
}

// An ordered network delivers each link's messages in send order, long delays and
// duplicates included, and still loses the dropped ones.
func TestOrderedLinksDeliverInSendOrder(t *testing.T) {
	const messages = 5_000
	order := []uint64(nil)
	h := newHarness(sim.Config{Seed: 9, Network: sim.NetworkConfig{
		LatencyMin: 2 * sim.Millisecond, LatencyMax: 4 * sim.Millisecond,
		LongDelayRate: 0.05, LongDelayMax: sim.Second, DuplicateRate: 0.05, DropRate: 0.05, Ordered: true,
	}}, 2)
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.SetTimer(0, 0)
		}
	}
	h.onTimer = func(p *probe, tag uint64) {
		p.env.Send(1, encodeUint64(tag))
		if int(tag)+1 < messages {
			p.env.SetTimer(sim.Microsecond, tag+1)
		}
	}
	h.onReceive = func(p *probe, from sim.NodeID, payload []byte) { order = append(order, decodeUint64(payload)) }
	h.startAll()
	h.s.Run()
	if !slices.IsSorted(order) {
		t.Fatal("an ordered link delivered a message before one sent earlier")
	}
	st := h.s.Stats()
	if st.MessagesDuplicated == 0 || st.Dropped.Random == 0 || len(order) != messages-int(st.Dropped.Random)+int(st.MessagesDuplicated) {
		t.Fatalf("delivered %d of %d (%d dropped, %d duplicated)", len(order), messages, st.Dropped.Random, st.MessagesDuplicated)
	}
}

// Changing one fault's rate must not change the other faults' decisions: the latency of every
// message that gets through is the same whatever the drop, duplicate and long-delay rates.
func TestNetworkStreamsAreIndependent(t *testing.T) {
	const messages = 2000
	base := sim.Config{Seed: 21, Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: 50 * sim.Millisecond}}
	_, reference := sendStream(t, base, messages)

	withDrops, withDuplicates := base.Network, base.Network
	withDrops.DropRate = 0.3
	withDuplicates.DuplicateRate = 0.3
	variants := []struct {
		name    string
		network sim.NetworkConfig
	}{{"drop", withDrops}, {"duplicate", withDuplicates}}
	for _, variant := range variants {
		name := variant.name
		cfg := base
		cfg.Network = variant.network
		_, got := sendStream(t, cfg, messages)
		for id := uint64(0); id < messages; id++ {
			times := got[id]
			found := len(times) == 0 && name == "drop"
			for _, at := range times {
				found = found || at == reference[id][0]
			}
			if !found {
				t.Fatalf("%s: message %d arrived at %v, without that fault at %v", name, id, times, reference[id])
			}
		}
	}

	// Drop decisions do not depend on the long-delay rate or on duplicates.
	dropOnly := base
	dropOnly.Network.DropRate = 0.3
	_, dropped := sendStream(t, dropOnly, messages)
	dropAndMore := dropOnly
	dropAndMore.Network.DuplicateRate = 0.5
	dropAndMore.Network.LongDelayRate = 0.5
	dropAndMore.Network.LongDelayMax = sim.Second
	_, droppedToo := sendStream(t, dropAndMore, messages)
	for id := uint64(0); id < messages; id++ {
		if (len(dropped[id]) == 0) != (len(droppedToo[id]) == 0) {
			t.Fatalf("message %d: dropped=%v with drops only, dropped=%v with duplicates and long delays",
				id, len(dropped[id]) == 0, len(droppedToo[id]) == 0)
		}
	}
}

func TestInFlightLimitDropsAndCounts(t *testing.T) {
	s, arrivals := sendStream(t, sim.Config{Network: sim.NetworkConfig{
		LatencyMin: sim.Second, LatencyMax: sim.Second, MaxInFlight: 10,
	}}, 50)
	if got := s.Stats().Dropped.InFlightLimit; got != 40 {
		t.Fatalf("Dropped.InFlightLimit = %d, want 40", got)
	}
	if len(arrivals) != 10 {
		t.Fatalf("%d messages arrived, want 10", len(arrivals))
	}
}

func TestOversizedMessagePanics(t *testing.T) {
	h := newHarness(sim.Config{Network: sim.NetworkConfig{MaxMessageBytes: 100}}, 2)
	h.onStart = func(p *probe) { p.env.Send(1, make([]byte, 101)) }
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "MaxMessageBytes") {
			t.Fatalf("oversized message: recovered %v", r)
		}
	}()
	h.s.Start(0)
}

// The payload the receiver gets is its own copy: the sender reusing its buffer, or one
// receiver scribbling on it, affects no one else.
func TestPayloadsAreCopied(t *testing.T) {
	h := newHarness(sim.Config{}, 3)
	buf := []byte("original")
	var received []string
	var buffers [][]byte
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.Send(1, buf)
			p.env.Send(2, buf)
			copy(buf, "MUTATED!")
		}
	}
	h.onReceive = func(p *probe, _ sim.NodeID, payload []byte) {
		received = append(received, string(payload))
		buffers = append(buffers, payload)
		payload[0] = 'X'
	}
	h.startAll()
	h.s.Run()
	if len(received) != 2 || received[0] != "original" || received[1] != "original" {
		t.Fatalf("payloads received: %q", received)
	}
	if &buffers[0][0] == &buffers[1][0] {
		t.Fatal("two receivers share one payload buffer")
	}
}

// A message's latency, drop and duplicate draws depend on its sender and send instant, not on
// the traffic before it: removing earlier sends (as removing a fault does) leaves the fate of
// later messages alone.
func TestMessageFateIsKeyedBySendInstant(t *testing.T) {
	arrivals := func(earlySends int) []sim.Time {
		h := newHarness(sim.Config{Seed: 5, Network: sim.NetworkConfig{
			LatencyMin: sim.Millisecond, LatencyMax: 50 * sim.Millisecond, DropRate: 0.3, DuplicateRate: 0.3,
		}}, 3)
		var got []sim.Time
		h.onStart = func(p *probe) {
			if p.env.ID() != 0 {
				return
			}
			for range earlySends {
				p.env.Send(1, []byte("early"))
				p.env.Send(2, []byte("early"))
			}
			p.env.SetTimer(20*sim.Millisecond, 1)
		}
		h.onTimer = func(p *probe, tag uint64) {
			for i := range 10 {
				p.env.Send(sim.NodeID(1+i%2), []byte("late"))
			}
		}
		h.onReceive = func(p *probe, from sim.NodeID, payload []byte) {
			if string(payload) == "late" {
				got = append(got, h.s.Now()*10+sim.Time(p.env.ID()))
			}
		}
		h.startAll()
		h.s.Run()
		return got
	}
	base := arrivals(0)
	if len(base) == 0 {
		t.Fatal("no late message arrived")
	}
	for _, early := range []int{1, 7} {
		if got := arrivals(early); !slices.Equal(got, base) {
			t.Fatalf("with %d early sends the late messages arrived at %v, without at %v", early, got, base)
		}
	}
}
