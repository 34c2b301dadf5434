package scenarios

import (
	"iter"

	"github.com/raftsim/raftsim/sim"
)

// Scripts are written like the 6.5840 tests they port: straight-line code that sleeps, and
// "goroutines" for concurrent clients. Both run on virtual time without threads. The script's
// main line advances the simulation itself (Sleep runs the kernel up to the wake-up instant);
// each Task is a coroutine (iter.Pull: a synchronous hand-off, no scheduler and no parallelism)
// that the kernel resumes from an ordinary timed event, so the interleaving of tasks and nodes
// is fixed by the event order and the run stays a pure function of the seed.

// scriptAbort unwinds a script (and any task) when the run must end: a check failed, a safety
// violation stopped the kernel, or a limit was hit.
type scriptAbort struct{}

// Task is one concurrent activity of a script (a goroutine in the original test).
type Task struct {
	c      *Cluster
	name   string
	yield  func(struct{}) bool
	wakeAt sim.Time
	done   bool
}

// Sleep suspends the task for d of virtual time while the simulation goes on.
func (t *Task) Sleep(d sim.Time) { t.c.Sleep(d) }

// Go starts fn as a concurrent task at the current instant.
func (c *Cluster) Go(name string, fn func(t *Task)) {
	t := &Task{c: c, name: name}
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		t.yield = yield
		defer func() {
			// An abort ends this task only; the main line learns of it from c.aborted (set
			// by whatever aborted) at its next Sleep.
			if p := recover(); p != nil {
				if _, ok := p.(scriptAbort); !ok {
					panic(p)
				}
			}
		}()
		fn(t)
	})
	c.stops = append(c.stops, stop)
	var resume func()
	resume = func() {
		prev := c.current
		c.current = t
		_, more := next()
		c.current = prev
		if !more {
			t.done = true
			return
		}
		c.sim.At(t.wakeAt, "task "+t.name, resume)
	}
	c.sim.At(c.sim.Now(), "task "+name, resume)
}

// Sleep advances virtual time by d: inside a task it suspends the task; on the script's main
// line it runs the simulation (nodes, tasks, faults) up to the wake-up instant.
func (c *Cluster) Sleep(d sim.Time) {
	if d < 0 {
		panic("scenarios: negative sleep")
	}
	wake := c.sim.Now() + d
	if t := c.current; t != nil {
		t.wakeAt = wake
		if !t.yield(struct{}{}) {
			panic(scriptAbort{}) // the script ended while this task slept
		}
		if c.aborted {
			panic(scriptAbort{})
		}
		return
	}
	r := c.sim.RunUntil(wake)
	switch r.End {
	case sim.EndUntil, sim.EndIdle:
	default:
		c.aborted = true
		c.end = r.End
		panic(scriptAbort{})
	}
	if c.aborted {
		panic(scriptAbort{})
	}
}
