package sim_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sim"
)

// A crashed node receives nothing: not while it is down, and not messages that were in flight
// when it crashed, even if they arrive after its restart. Messages sent after the restart are
// delivered.
func TestCrashedNodeReceivesNothing(t *testing.T) {
	h := newHarness(sim.Config{Network: sim.NetworkConfig{LatencyMin: 10 * sim.Millisecond, LatencyMax: 10 * sim.Millisecond}}, 2)
	h.onReceive = func(p *probe, from sim.NodeID, payload []byte) {
		h.logf("%v n%d incarnation %d got %s", p.env.Now(), p.env.ID(), h.s.Incarnation(p.env.ID()), payload)
	}
	h.startAll()
	send := func(at sim.Time, what string) {
		h.s.At(at, "send", func() { h.probes[0].env.Send(1, []byte(what)) })
	}
	send(0, "before-crash") // arrives at 10ms, after the crash at 5ms
	h.s.At(5*sim.Millisecond, "crash", func() { h.s.Crash(1) })
	send(6*sim.Millisecond, "while-down") // arrives at 16ms, after the restart at 12ms: delivered
	h.s.At(12*sim.Millisecond, "restart", func() { h.s.Restart(1) })
	send(20*sim.Millisecond, "after-restart")
	h.s.At(35*sim.Millisecond, "crash-again", func() { h.s.Crash(1) })
	send(36*sim.Millisecond, "to-a-down-node")
	h.s.Run()
	want := []string{
		"0.016000s n1 incarnation 2 got while-down",
		"0.030000s n1 incarnation 2 got after-restart",
	}
	if !reflect.DeepEqual(h.log, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(h.log, "\n"), strings.Join(want, "\n"))
	}
	if got := h.s.Stats().Dropped.Crashed; got != 2 {
		t.Fatalf("Dropped.Crashed = %d, want 2 (in flight at the first crash, sent to a down node)", got)
	}
}

func TestCrashLosesUnsyncedWritesAndKeepsSyncedOnes(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	var seenAtStart []string
	h.onStart = func(p *probe) {
		d := p.env.Disk()
		seenAtStart = nil
		for _, f := range d.Files() {
			seenAtStart = append(seenAtStart, f+"="+string(d.Read(f)))
		}
		if h.s.Incarnation(0) > 1 {
			return
		}
		d.Write("state", []byte("term=1"))
		d.Append("log", []byte("a"))
		d.Sync()
		d.Write("state", []byte("term=2")) // not synced
		d.Append("log", []byte("b"))       // not synced
		d.Write("scratch", []byte("x"))    // never synced: disappears
		if got := string(d.Read("state")); got != "term=2" {
			t.Errorf("Read sees %q before the crash, want the unsynced term=2", got)
		}
		if got := d.Files(); !slices.Equal(got, []string{"log", "scratch", "state"}) {
			t.Errorf("Files() = %q", got)
		}
	}
	h.s.Start(0)
	old := h.probes[0]
	h.s.Crash(0)
	old.env.Disk().Write("state", []byte("from a dead incarnation"))
	old.env.Send(0, []byte("from a dead incarnation"))
	if old.env.SetTimer(sim.Millisecond, 1) != 0 {
		t.Error("SetTimer through a crashed incarnation's Env returned a timer")
	}
	if old.env.Disk().Read("state") != nil {
		t.Error("a crashed incarnation's Disk still reads")
	}
	h.s.Restart(0)
	if h.probes[0] == old {
		t.Fatal("Restart reused the old Node value")
	}
	want := []string{"log=a", "state=term=1"}
	if !slices.Equal(seenAtStart, want) {
		t.Fatalf("after restart Start saw %q, want %q", seenAtStart, want)
	}
	if got := h.s.NodeDisk(0).Read("state"); string(got) != "term=1" {
		t.Fatalf("kernel disk handle reads %q", got)
	}
	stats := h.s.Stats()
	if stats.DiskSyncs != 1 || stats.DiskBytesWritten != int64(len("term=1a")+len("term=2b")+1) {
		t.Fatalf("disk stats: %d syncs, %d bytes", stats.DiskSyncs, stats.DiskBytesWritten)
	}
	if h.s.Run().Events != 0 {
		t.Fatal("the dead incarnation's send or timer produced an event")
	}
}

// Appending after a crash must never expose or overwrite bytes of the lost writes.
func TestAppendAfterCrashStartsFromSyncedContents(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	h.s.Start(0)
	d := h.s.NodeDisk(0)
	d.Append("log", []byte("abc"))
	d.Sync()
	d.Append("log", []byte("LOST"))
	held := d.Read("log")
	h.s.Crash(0)
	d.Append("log", []byte("de"))
	if got := string(d.Read("log")); got != "abcde" {
		t.Fatalf("log = %q, want abcde", got)
	}
	if string(held) != "abcLOST" {
		t.Fatalf("a slice read before the crash changed to %q", held)
	}
}

func TestTimersOfACrashedIncarnationNeverFire(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	h.onStart = func(p *probe) {
		p.env.SetTimer(10*sim.Millisecond, uint64(h.s.Incarnation(0)))
	}
	h.onTimer = func(p *probe, tag uint64) { h.logf("%v timer %d", h.s.Now(), tag) }
	h.s.Start(0)
	h.s.At(5*sim.Millisecond, "crash", func() { h.s.Crash(0) })
	h.s.At(7*sim.Millisecond, "restart", func() { h.s.Restart(0) })
	result := h.s.Run()
	if want := []string{"0.017000s timer 2"}; !slices.Equal(h.log, want) {
		t.Fatalf("log %q, want %q", h.log, want)
	}
	if result.Events != 3 { // crash, restart, timer 2
		t.Fatalf("%d events, want 3", result.Events)
	}
}

func TestStartTwicePanicsAndRestartOfALiveNodeCrashesIt(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	h.s.Start(0)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("second Start did not panic")
			}
		}()
		h.s.Start(0)
	}()
	h.s.Restart(0)
	if h.s.Incarnation(0) != 2 || !h.s.IsUp(0) {
		t.Fatalf("after Restart of a live node: incarnation %d, up %v", h.s.Incarnation(0), h.s.IsUp(0))
	}
}

func TestEnvRandDiffersPerNodeAndInstant(t *testing.T) {
	h := newHarness(sim.Config{Seed: 1}, 2)
	draws := map[uint64]string{}
	record := func(p *probe, when string) {
		v := p.env.Rand().Uint64()
		who := fmt.Sprintf("node %d %s", p.env.ID(), when)
		if other, ok := draws[v]; ok {
			t.Fatalf("%s and %s drew the same first value", who, other)
		}
		draws[v] = who
	}
	h.onStart = func(p *probe) {
		record(p, fmt.Sprintf("at %v", h.s.Now()))
		p.env.SetTimer(7*sim.Millisecond, 1)
	}
	h.onTimer = func(p *probe, tag uint64) { record(p, fmt.Sprintf("timer at %v", h.s.Now())) }
	h.startAll()
	h.s.RunUntil(5 * sim.Millisecond)
	h.s.Restart(0) // a new incarnation at a new instant draws anew
	h.s.RunUntil(20 * sim.Millisecond)
}

// What a node draws at an instant does not depend on what it drew before: removing a fault
// (and the draws it caused) early in a run leaves later instants' draws alone.
func TestEnvRandIsKeyedByInstant(t *testing.T) {
	drawAt10ms := func(drawsAtStart int) [2]uint64 {
		h := newHarness(sim.Config{Seed: 3}, 1)
		var got [2]uint64
		h.onStart = func(p *probe) {
			for range drawsAtStart {
				p.env.Rand().Uint64()
			}
			p.env.SetTimer(10*sim.Millisecond, 1)
		}
		h.onTimer = func(p *probe, tag uint64) { got = [2]uint64{p.env.Rand().Uint64(), p.env.Rand().Uint64()} }
		h.startAll()
		h.s.RunUntil(20 * sim.Millisecond)
		return got
	}
	base := drawAt10ms(0)
	if base[0] == base[1] {
		t.Fatal("two draws at one instant are equal: the stream restarted within an instant")
	}
	for _, n := range []int{1, 5} {
		if got := drawAt10ms(n); got != base {
			t.Fatalf("with %d extra draws at start, the draws at 10ms changed: %x, want %x", n, got, base)
		}
	}
}

func TestCancelledTimersNeverFire(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	var keep, drop []sim.TimerID
	h.onStart = func(p *probe) {
		for i := 0; i < 100; i++ {
			id := p.env.SetTimer(sim.Time(i)*sim.Millisecond, uint64(i))
			if i%2 == 0 {
				drop = append(drop, id)
			} else {
				keep = append(keep, id)
			}
		}
		for _, id := range drop {
			p.env.CancelTimer(id)
			p.env.CancelTimer(id) // a second cancel is a no-op
		}
	}
	h.onTimer = func(p *probe, tag uint64) {
		if tag%2 == 0 {
			t.Fatalf("cancelled timer %d fired", tag)
		}
		p.env.CancelTimer(keep[tag/2]) // cancelling the timer that is firing: no-op
	}
	h.s.Start(0)
	kernelFired := false
	id := h.s.At(sim.Millisecond, "cancelled", func() { kernelFired = true })
	h.s.Cancel(id)
	h.s.Cancel(id)
	h.s.Cancel(0)
	h.s.Cancel(1 << 40)
	result := h.s.Run()
	if kernelFired {
		t.Fatal("cancelled kernel event ran")
	}
	if result.Events != 50 {
		t.Fatalf("%d events, want 50 (cancelled timers are not events)", result.Events)
	}
	if got := h.s.Stats().TimersCancelled; got != 51 {
		t.Fatalf("TimersCancelled = %d, want 51", got)
	}
}

// A node cannot cancel another node's timers with a guessed id.
func TestCancelTimerIgnoresOtherNodesTimers(t *testing.T) {
	h := newHarness(sim.Config{}, 2)
	var victim sim.TimerID
	fired := false
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			victim = p.env.SetTimer(sim.Millisecond, 7)
		} else {
			p.env.CancelTimer(victim)
		}
	}
	h.onTimer = func(*probe, uint64) { fired = true }
	h.startAll()
	h.s.Run()
	if !fired {
		t.Fatal("node 1 cancelled node 0's timer")
	}
}

// Cancelled timers leave no trace: a run that sets and cancels extra timers has the same
// hash and event count as one that never set them.
func TestCancelledTimersDoNotChangeTheHash(t *testing.T) {
	run := func(extraTimers bool) sim.Result {
		h := newHarness(sim.Config{Seed: 4}, 2)
		h.onStart = func(p *probe) { p.env.SetTimer(sim.Millisecond, 0) }
		h.onTimer = func(p *probe, tag uint64) {
			if extraTimers {
				p.env.CancelTimer(p.env.SetTimer(sim.Microsecond, 1000+tag))
				h.s.Cancel(h.s.After(0, "noise", func() {}))
			}
			p.env.Send(1-p.env.ID(), encodeUint64(tag))
			if tag < 20 {
				p.env.SetTimer(sim.Millisecond, tag+1)
			}
		}
		h.startAll()
		return h.s.Run()
	}
	plain, noisy := run(false), run(true)
	if plain != noisy {
		t.Fatalf("cancelled timers changed the run:\n%+v\n%+v", plain, noisy)
	}
}

// Many cancelled timers trigger queue compaction; the surviving timers must still fire in
// order and the cancelled ones never.
func TestQueueCompactionKeepsOrder(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	const timers = 20_000
	h.onStart = func(p *probe) {
		for i := 0; i < timers; i++ {
			id := p.env.SetTimer(sim.Time(timers-i)*sim.Microsecond, uint64(timers-i))
			if i%5 != 0 {
				p.env.CancelTimer(id)
			}
		}
	}
	var fired []uint64
	h.onTimer = func(p *probe, tag uint64) { fired = append(fired, tag) }
	h.s.Start(0)
	h.s.Run()
	if len(fired) != timers/5 {
		t.Fatalf("%d timers fired, want %d", len(fired), timers/5)
	}
	if !slices.IsSorted(fired) {
		t.Fatal("timers fired out of order after compaction")
	}
	if q := h.s.Stats().MaxQueueLen; q > timers {
		t.Fatalf("queue reached %d", q)
	}
}

func TestTiesRunInInsertionOrder(t *testing.T) {
	h := newHarness(sim.Config{}, 2) // zero latency: messages arrive at the send instant
	var order []string
	h.onTimer = func(p *probe, tag uint64) { order = append(order, fmt.Sprintf("timer%d", tag)) }
	h.onReceive = func(p *probe, _ sim.NodeID, payload []byte) { order = append(order, string(payload)) }
	h.startAll()
	for i := 0; i < 5; i++ {
		h.s.At(sim.Second, "tie", func() {
			order = append(order, fmt.Sprintf("event%d", i))
			h.probes[0].env.Send(1, []byte(fmt.Sprintf("msg%d", i)))
			h.probes[1].env.SetTimer(0, uint64(i))
		})
	}
	h.s.Run()
	want := []string{"event0", "event1", "event2", "event3", "event4",
		"msg0", "timer0", "msg1", "timer1", "msg2", "timer2", "msg3", "timer3", "msg4", "timer4"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q\nwant  %q", order, want)
	}
}

func TestEventLimitEndsTheRun(t *testing.T) {
	h := newHarness(sim.Config{MaxEvents: 1000}, 1)
	h.onStart = func(p *probe) { p.env.SetTimer(sim.Millisecond, 0) }
	h.onTimer = func(p *probe, tag uint64) { p.env.SetTimer(sim.Millisecond, tag+1) } // forever
	h.s.Start(0)
	result := h.s.Run()
	if result.End != sim.EndEventLimit || result.Events != 1000 || result.Now != 1000*sim.Millisecond {
		t.Fatalf("result %+v, want event-limit after 1000 events at 1s", result)
	}
	if again := h.s.Run(); again.End != sim.EndEventLimit || again.Events != 1000 {
		t.Fatalf("second Run: %+v", again)
	}
}

func TestTimeLimitEndsTheRun(t *testing.T) {
	h := newHarness(sim.Config{MaxTime: 10 * sim.Millisecond}, 1)
	h.onStart = func(p *probe) { p.env.SetTimer(sim.Millisecond, 0) }
	h.onTimer = func(p *probe, tag uint64) { p.env.SetTimer(sim.Millisecond, tag+1) }
	h.s.Start(0)
	result := h.s.Run()
	if result.End != sim.EndTimeLimit || result.Now != 10*sim.Millisecond || result.Events != 10 {
		t.Fatalf("result %+v, want time-limit at 10ms after 10 events (one at exactly MaxTime)", result)
	}
}

func TestRunUntilAndStop(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	h.onStart = func(p *probe) { p.env.SetTimer(sim.Millisecond, 0) }
	h.onTimer = func(p *probe, tag uint64) {
		if tag == 50 {
			h.s.Stop("enough")
		}
		p.env.SetTimer(sim.Millisecond, tag+1)
	}
	h.s.Start(0)
	r := h.s.RunUntil(10*sim.Millisecond + 500*sim.Microsecond)
	if r.End != sim.EndUntil || r.Now != 10*sim.Millisecond+500*sim.Microsecond || r.Events != 10 {
		t.Fatalf("RunUntil: %+v", r)
	}
	r = h.s.Run()
	if r.End != sim.EndStopped || r.StopReason != "enough" || r.Now != 51*sim.Millisecond {
		t.Fatalf("Run after Stop: %+v", r)
	}
	idle := newHarness(sim.Config{}, 1)
	if r := idle.s.RunUntil(sim.Second); r.End != sim.EndIdle || r.Now != sim.Second {
		t.Fatalf("RunUntil on an empty queue: %+v", r)
	}
}

func TestClockSkewScalesTimers(t *testing.T) {
	h := newHarness(sim.Config{}, 3)
	fired := map[sim.NodeID]sim.Time{}
	localAtFire := map[sim.NodeID]sim.Time{}
	h.onStart = func(p *probe) { p.env.SetTimer(100*sim.Millisecond, 0) }
	h.onTimer = func(p *probe, _ uint64) {
		fired[p.env.ID()] = h.s.Now()
		localAtFire[p.env.ID()] = p.env.Now()
	}
	h.s.SetClockRate(1, 1.25) // fast clock: fires sooner in global time
	h.s.SetClockRate(2, 0.5)  // slow clock: fires later
	h.startAll()
	h.s.Run()
	want := map[sim.NodeID]sim.Time{0: 100 * sim.Millisecond, 1: 80 * sim.Millisecond, 2: 200 * sim.Millisecond}
	if !reflect.DeepEqual(fired, want) {
		t.Fatalf("timers fired at %v, want %v", fired, want)
	}
	for id, local := range localAtFire { // detguard:unordered each entry is checked on its own
		if local != 100*sim.Millisecond {
			t.Fatalf("node %d: local clock at firing %v, want 100ms", id, local)
		}
	}
}

func TestClockRateChangeKeepsLocalTimeContinuous(t *testing.T) {
	h := newHarness(sim.Config{}, 1)
	h.s.Start(0)
	h.s.RunUntil(10 * sim.Millisecond)
	h.s.SetClockRate(0, 2)
	h.s.RunUntil(20 * sim.Millisecond)
	if got := h.s.LocalTime(0); got != 30*sim.Millisecond {
		t.Fatalf("local time %v, want 30ms (10ms at rate 1, then 10ms at rate 2)", got)
	}
	h.s.SetClockRate(0, 0.25)
	h.s.RunUntil(50 * sim.Millisecond)
	if got := h.s.LocalTime(0); got != 37500*sim.Microsecond {
		t.Fatalf("local time %v, want 37.5ms", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a zero clock rate was accepted")
		}
	}()
	h.s.SetClockRate(0, 0)
}

func TestPauseHoldsThenDeliversInOrder(t *testing.T) {
	h := newHarness(sim.Config{Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: sim.Millisecond}}, 2)
	h.onStart = func(p *probe) {
		if p.env.ID() == 1 {
			p.env.SetTimer(15*sim.Millisecond, 7)
		}
	}
	h.onReceive = func(p *probe, _ sim.NodeID, payload []byte) { h.logf("%v got %s", h.s.Now(), payload) }
	h.onTimer = func(p *probe, tag uint64) { h.logf("%v timer %d", h.s.Now(), tag) }
	h.startAll()
	h.s.At(5*sim.Millisecond, "pause", func() { h.s.Pause(1) })
	for i := 0; i < 4; i++ {
		h.s.At(sim.Time(10+3*i)*sim.Millisecond, "send", func() { h.probes[0].env.Send(1, []byte(fmt.Sprintf("m%d", i))) })
	}
	h.s.At(30*sim.Millisecond, "resume", func() {
		if !h.s.IsPaused(1) {
			t.Error("IsPaused is false during the pause")
		}
		h.s.Resume(1)
	})
	h.s.At(31*sim.Millisecond, "send", func() { h.probes[0].env.Send(1, []byte("after")) })
	h.s.Run()
	want := []string{
		"0.030000s got m0", "0.030000s got m1", "0.030000s timer 7", "0.030000s got m2", "0.030000s got m3",
		"0.032000s got after",
	}
	if !slices.Equal(h.log, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(h.log, "\n"), strings.Join(want, "\n"))
	}
}

func TestPauseDropsMessagesWhenConfiguredOrFull(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       sim.Config
		delivered int
	}{
		{"drop", sim.Config{PauseDropsMessages: true}, 0},
		{"limit", sim.Config{PauseQueueLimit: 3}, 3},
	} {
		h := newHarness(tc.cfg, 2)
		delivered := 0
		h.onReceive = func(*probe, sim.NodeID, []byte) { delivered++ }
		h.startAll()
		h.s.Pause(1)
		for i := 0; i < 10; i++ {
			h.probes[0].env.Send(1, []byte("x"))
		}
		h.s.Run()
		h.s.Resume(1)
		h.s.Run()
		if delivered != tc.delivered || h.s.Stats().Dropped.Paused != int64(10-tc.delivered) {
			t.Errorf("%s: delivered %d, dropped %d; want %d delivered", tc.name, delivered, h.s.Stats().Dropped.Paused, tc.delivered)
		}
	}
}

func TestCrashWhilePausedDropsHeldEvents(t *testing.T) {
	h := newHarness(sim.Config{}, 2)
	h.onStart = func(p *probe) { p.env.SetTimer(sim.Millisecond, 1) }
	h.onReceive = func(*probe, sim.NodeID, []byte) { t.Fatal("held message delivered after crash") }
	h.onTimer = func(p *probe, _ uint64) {
		if p.env.ID() == 1 && h.s.Incarnation(1) == 1 {
			t.Fatal("held timer fired after crash")
		}
	}
	h.startAll()
	h.s.Pause(1)
	h.probes[0].env.Send(1, []byte("x"))
	h.s.RunUntil(10 * sim.Millisecond)
	h.s.Crash(1)
	h.s.Restart(1)
	h.s.Run()
	if got := h.s.Stats().Dropped.Crashed; got != 1 {
		t.Fatalf("Dropped.Crashed = %d, want 1", got)
	}
}

func TestTraceDescribesEvents(t *testing.T) {
	var lines []string
	cfg := sim.Config{
		Trace: func(e sim.TraceEvent) {
			lines = append(lines, fmt.Sprintf("%d %v %d %s %s", e.Seq, e.At, e.Node, e.Kind, e.Detail))
		},
		Describe: func(p []byte) string { return "msg " + string(p) },
	}
	h := newHarness(cfg, 2)
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.Send(1, []byte("hello"))
			p.env.SetTimer(sim.Millisecond, 3)
		}
	}
	h.onTimer = func(p *probe, tag uint64) {
		if !p.env.Tracing() {
			t.Error("Tracing() is false with a trace sink")
		}
		p.env.Logf("tick %d", tag)
		h.s.Net().Isolate(0)
		p.env.Send(1, []byte("lost"))
	}
	h.startAll()
	h.s.After(2*sim.Millisecond, "crash-n1", func() { h.s.Crash(1) })
	h.s.Run()
	want := []string{
		"0 0.000000s 0 start n0 incarnation 1",
		"0 0.000000s 1 start n1 incarnation 1",
		"1 0.000000s 1 deliver from n0: msg hello",
		"2 0.001000s 0 timer tag 3",
		"2 0.001000s 0 note tick 3",
		"2 0.001000s -1 link isolate n0",
		"2 0.001000s 1 drop from n0: msg lost (at send: partition)",
		"3 0.002000s -1 event crash-n1",
		"3 0.002000s 1 crash n1 incarnation 1 (0 files reverted to their synced contents)",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("trace:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestTimeString(t *testing.T) {
	for _, tc := range []struct {
		t    sim.Time
		want string
	}{
		{0, "0.000000s"},
		{12*sim.Second + 345678*sim.Microsecond, "12.345678s"},
		{1, "0.000000001s"},
		{-1500 * sim.Millisecond, "-1.500000s"},
		{3*sim.Second + 7, "3.000000007s"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("Time(%d).String() = %q, want %q", int64(tc.t), got, tc.want)
		}
	}
}

func TestEndString(t *testing.T) {
	for end, want := range map[sim.End]string{ // detguard:unordered each entry is checked on its own
		sim.EndIdle: "idle", sim.EndStopped: "stopped", sim.EndTimeLimit: "time-limit",
		sim.EndEventLimit: "event-limit", sim.EndUntil: "until",
	} {
		if got := end.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(end), got, want)
		}
	}
}

func TestTraceStructuredFields(t *testing.T) {
	var events []sim.TraceEvent
	cfg := sim.Config{
		Network: sim.NetworkConfig{LatencyMin: sim.Millisecond, LatencyMax: sim.Millisecond, DuplicateRate: 1},
		Trace: func(e sim.TraceEvent) {
			e.Payload = append([]byte(nil), e.Payload...) // valid during the call only
			events = append(events, e)
		},
	}
	h := newHarness(cfg, 2)
	h.onStart = func(p *probe) {
		if p.env.ID() == 0 {
			p.env.Send(1, []byte("one"))
			p.env.Send(1, []byte("two"))
			p.env.Disk().Append("log", []byte("abc"))
			p.env.Disk().Sync()
		}
	}
	h.startAll()
	h.s.Run()
	type msg struct {
		kind    string
		ordinal int64
		copy    bool
		payload string
	}
	var got []msg
	var disk []string
	for _, e := range events {
		switch e.Kind {
		case "deliver":
			if e.From != 0 || e.Node != 1 || e.SentAt != 0 || e.At != sim.Millisecond {
				t.Errorf("delivery %+v: want from 0 to 1, sent at 0, delivered at 1ms", e)
			}
			got = append(got, msg{e.Kind, e.Msg, e.Copy, string(e.Payload)})
		case "write", "sync":
			disk = append(disk, fmt.Sprintf("%s %s %d", e.Kind, e.File, e.Bytes))
		}
	}
	want := []msg{{"deliver", 1, false, "one"}, {"deliver", 1, true, "one"}, {"deliver", 2, false, "two"}, {"deliver", 2, true, "two"}}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries %+v, want %+v", got, want)
	}
	if wantDisk := []string{"write log 3", "sync  1"}; !slices.Equal(disk, wantDisk) {
		t.Errorf("disk events %q, want %q", disk, wantDisk)
	}
}
