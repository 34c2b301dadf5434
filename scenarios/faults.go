package scenarios

import (
	"fmt"
	"strings"

	"github.com/raftsim/raftsim/checker"
	"github.com/raftsim/raftsim/sim"
)

// nemesis applies a schedule's faults to a run and remembers the windows in which each was
// active, for the visualization's annotations.
type nemesis struct {
	r     *run
	s     *Schedule
	base  sim.NetworkConfig
	open  map[string]sim.Time // fault window label -> start; closed by the matching heal
	order []string            // open labels in opening order, so windows close deterministically
	anns  []checker.Annotation
}

func newNemesis(r *run, s *Schedule, base sim.NetworkConfig) *nemesis {
	return &nemesis{r: r, s: s, base: base, open: map[string]sim.Time{}}
}

func (n *nemesis) openWindow(label string) {
	if _, ok := n.open[label]; ok {
		return
	}
	n.open[label] = n.r.sim.Now()
	n.order = append(n.order, label)
}

// closeWindows closes the open windows whose label starts with prefix.
func (n *nemesis) closeWindows(prefix string) {
	kept := n.order[:0]
	for _, label := range n.order {
		if strings.HasPrefix(label, prefix) {
			n.anns = append(n.anns, checker.Annotation{Start: int64(n.open[label]), End: int64(n.r.sim.Now()), Label: label})
			delete(n.open, label)
			continue
		}
		kept = append(kept, label)
	}
	n.order = kept
}

// leaderOrNone resolves a "-leader" fault to the current leader, or -1 when there is none (the
// fault then does nothing, as a Jepsen nemesis that finds no leader).
func (n *nemesis) leaderOrNone(kind string) int {
	l := n.r.leader()
	if l >= 0 {
		n.r.sim.Logf("%s resolves to %s", kind, n.r.sim.NodeName(sim.NodeID(l)))
	} else {
		n.r.sim.Logf("%s finds no leader: nothing to do", kind)
	}
	return l
}

func (n *nemesis) apply(f Fault) {
	// Node faults: one action per listed node, or on the leader for the "-leader" kinds.
	nodeActions := map[string]func(int){
		FaultIsolate: n.isolate, FaultCrash: n.crash, FaultRestart: n.restart, FaultPause: n.pause, FaultResume: n.resume,
	}
	leaderActions := map[string]func(int){FaultIsolateLeader: n.isolate, FaultCrashLeader: n.crash, FaultPauseLeader: n.pause}
	if act, ok := nodeActions[f.Kind]; ok {
		for _, x := range f.Nodes {
			act(x)
		}
		return
	}
	if act, ok := leaderActions[f.Kind]; ok {
		if l := n.leaderOrNone(f.Kind); l >= 0 {
			act(l)
		}
		return
	}
	net := n.r.sim.Net()
	id := func(i int) sim.NodeID { return sim.NodeID(i) }
	switch f.Kind {
	case FaultPartition:
		groups := make([][]sim.NodeID, len(f.Groups))
		for i, g := range f.Groups {
			for _, x := range g {
				groups[i] = append(groups[i], id(x))
			}
		}
		net.Partition(groups...)
		n.openWindow("net: partition " + n.groups(f.Groups))
	case FaultLinkDown:
		for _, l := range f.Links {
			net.SetLink(id(l[0]), id(l[1]), false)
		}
		n.openWindow("net: links down " + n.links(f.Links))
	case FaultLinkUp:
		for _, l := range f.Links {
			net.SetLink(id(l[0]), id(l[1]), true)
		}
	case FaultHeal:
		net.Heal()
		n.closeWindows("net:")
	case FaultClock:
		for _, x := range f.Nodes {
			n.r.sim.SetClockRate(id(x), f.Rate)
			n.closeWindows(fmt.Sprintf("clock: %s ", n.name(x)))
			if f.Rate != 1 {
				n.openWindow(fmt.Sprintf("clock: %s at %.3gx", n.name(x), f.Rate))
			}
		}
	case FaultDropNext:
		for _, l := range f.Links {
			net.DropNext(id(l[0]), id(l[1]))
		}
	case FaultDropReply:
		for _, x := range f.Nodes {
			for _, c := range f.Clients {
				net.DropNext(id(x), id(n.s.Nodes+c))
			}
		}
	case FaultNet:
		c := net.Config()
		c.DropRate, c.DuplicateRate, c.LongDelayRate = f.Drop, f.Duplicate, f.LongDelay
		if c.LongDelayMax == 0 {
			c.LongDelayMax = 2 * sim.Second
		}
		net.SetConfig(c)
	default:
		panic("scenarios: validated schedule has fault kind " + f.Kind)
	}
}

func (n *nemesis) isolate(x int) {
	n.r.sim.Net().Isolate(sim.NodeID(x))
	n.openWindow(fmt.Sprintf("net: %s isolated", n.name(x)))
}

func (n *nemesis) crash(x int) {
	if n.r.sim.IsUp(sim.NodeID(x)) {
		if n.r.watch != nil {
			n.r.watch.crashing(x)
		}
		n.r.sim.Crash(sim.NodeID(x))
		n.openWindow(fmt.Sprintf("crash: %s down", n.name(x)))
		if n.r.watch != nil {
			n.r.watch.crashed()
		}
	}
}

func (n *nemesis) restart(x int) {
	if !n.r.sim.IsUp(sim.NodeID(x)) {
		n.r.sim.Restart(sim.NodeID(x))
		n.closeWindows(fmt.Sprintf("crash: %s ", n.name(x)))
	}
}

func (n *nemesis) pause(x int) {
	if n.r.sim.IsUp(sim.NodeID(x)) && !n.r.sim.IsPaused(sim.NodeID(x)) {
		n.r.sim.Pause(sim.NodeID(x))
		n.openWindow(fmt.Sprintf("pause: %s paused", n.name(x)))
	}
}

func (n *nemesis) resume(x int) {
	if n.r.sim.IsPaused(sim.NodeID(x)) {
		if n.r.watch != nil {
			n.r.watch.resuming(x)
		}
		n.r.sim.Resume(sim.NodeID(x))
		n.closeWindows(fmt.Sprintf("pause: %s ", n.name(x)))
	}
}

// healAll ends every fault: the network is whole and reliable again, crashed nodes restart,
// paused nodes resume, clocks keep true time. What follows is the liveness phase.
func (n *nemesis) healAll() {
	net := n.r.sim.Net()
	net.Heal()
	net.SetConfig(n.base)
	for x := 0; x < n.s.Nodes; x++ {
		n.restart(x)
		n.resume(x)
		n.r.sim.SetClockRate(sim.NodeID(x), 1)
	}
	n.closeWindows("")
}

// name is a node's name (s0, c1) as every report of the run gives it.
func (n *nemesis) name(x int) string { return n.r.sim.NodeName(sim.NodeID(x)) }

func (n *nemesis) groups(groups [][]int) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		names := make([]string, len(g))
		for j, x := range g {
			names[j] = n.name(x)
		}
		parts[i] = strings.Join(names, " ")
	}
	return strings.Join(parts, " | ")
}

func (n *nemesis) links(links [][2]int) string {
	parts := make([]string, len(links))
	for i, l := range links {
		parts[i] = n.name(l[0]) + "->" + n.name(l[1])
	}
	return strings.Join(parts, ", ")
}
