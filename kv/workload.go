package kv

import (
	"fmt"
	"strconv"

	"github.com/raftsim/raftsim/sim"
)

// Workload says what operations a clerk generates. Every draw comes from the clerk's own PRNG
// stream, so a clerk's operations do not shift when another clerk or a fault is added.
type Workload struct {
	// Keys is the number of keys, named "k0".."k<Keys-1>", each op picks one uniformly
	// (0 = DefaultKeys).
	Keys int
	// Relative weights of the operation kinds; all zero means equal weights.
	GetWeight, PutWeight, AppendWeight, CASWeight int
	// ThinkMin..ThinkMax is the pause between the end of one call and the start of the next
	// (uniform; both zero: no pause). The first call starts after one think time too.
	ThinkMin, ThinkMax sim.Time
	// ValueBytes pads generated values to at least this length. Values are unique per
	// (clerk, sequence number) whatever the padding: "<clerk>.<seq>" + 'x' padding + ";", so the
	// pieces of an appended value can be told apart and a duplicated append is visible.
	ValueBytes int
	// MaxOps caps the calls one clerk makes (0 = no cap).
	MaxOps int
	// StopAt: no call starts at or after this global virtual time (0 = no stop time).
	StopAt sim.Time

	// Workload shapes that crowd the moments where replication bugs show (all off when zero).
	// HotKeyChance: a call picks key k0 with this probability, so that clients contend on it.
	HotKeyChance float64
	// ReadAfterWrite: after a write succeeds, the clerk's next call is, with this
	// probability, a Get of the same key started at once (read-your-writes under contention).
	ReadAfterWrite float64
	// BurstOps: after a call that needed more than one attempt (a sign of a leader change)
	// completes, the next BurstOps calls start with no think time, so proposals pile up on a
	// new leader.
	BurstOps int
	// Roam: every call starts at a random server instead of the one believed to lead, so
	// followers see requests and redirect them.
	Roam bool
}

// Workload limits.
const (
	DefaultKeys      = 5
	MaxWorkloadKeys  = 1 << 20
	MaxValuePadBytes = 1 << 20
	MaxBurstOps      = 1000
)

func (w Workload) withDefaults() Workload {
	if w.Keys == 0 {
		w.Keys = DefaultKeys
	}
	if w.GetWeight == 0 && w.PutWeight == 0 && w.AppendWeight == 0 && w.CASWeight == 0 {
		w.GetWeight, w.PutWeight, w.AppendWeight, w.CASWeight = 1, 1, 1, 1
	}
	return w
}

// Validate reports a workload that cannot run, saying which field to fix.
func (w Workload) Validate() error {
	w = w.withDefaults()
	switch {
	case w.Keys < 0 || w.Keys > MaxWorkloadKeys:
		return fmt.Errorf("kv: Workload.Keys = %d, want 1..%d", w.Keys, MaxWorkloadKeys)
	case w.GetWeight < 0 || w.PutWeight < 0 || w.AppendWeight < 0 || w.CASWeight < 0:
		return fmt.Errorf("kv: Workload weights must not be negative (get %d, put %d, append %d, cas %d)",
			w.GetWeight, w.PutWeight, w.AppendWeight, w.CASWeight)
	case w.ThinkMin < 0 || w.ThinkMax < w.ThinkMin:
		return fmt.Errorf("kv: Workload think time %v..%v, want 0 <= ThinkMin <= ThinkMax", w.ThinkMin, w.ThinkMax)
	case w.ValueBytes < 0 || w.ValueBytes > MaxValuePadBytes:
		return fmt.Errorf("kv: Workload.ValueBytes = %d, want 0..%d", w.ValueBytes, MaxValuePadBytes)
	case w.MaxOps < 0:
		return fmt.Errorf("kv: Workload.MaxOps = %d, want >= 0", w.MaxOps)
	case !(w.HotKeyChance >= 0 && w.HotKeyChance <= 1) || !(w.ReadAfterWrite >= 0 && w.ReadAfterWrite <= 1):
		return fmt.Errorf("kv: Workload.HotKeyChance (%v) and ReadAfterWrite (%v) must be probabilities in [0, 1]", w.HotKeyChance, w.ReadAfterWrite)
	case w.BurstOps < 0 || w.BurstOps > MaxBurstOps:
		return fmt.Errorf("kv: Workload.BurstOps = %d, want 0..%d", w.BurstOps, MaxBurstOps)
	}
	total := w.GetWeight + w.PutWeight + w.AppendWeight + w.CASWeight
	if total <= 0 || total > 1<<30 {
		return fmt.Errorf("kv: Workload weights sum to %d, want 1..2^30", total)
	}
	return nil
}

// generator draws one clerk's operations.
type generator struct {
	w        Workload
	rnd      *sim.Rand
	clerk    int
	keyNames []string
	// lastSeen is, per key, the last value this clerk knows the key held (read by a Get, or
	// written by its own Put or successful CAS): the expected value of its next CAS on the key,
	// so that CASes succeed as often as the interleaving allows.
	lastSeen []string
	issued   int
	// readKey is the key of a Get to make next (read-after-write), or -1.
	readKey int
	// burstLeft calls start with no think time.
	burstLeft int
}

func newGenerator(w Workload, rnd *sim.Rand, clerk int) *generator {
	if err := w.Validate(); err != nil {
		panic(err)
	}
	w = w.withDefaults()
	g := &generator{w: w, rnd: rnd, clerk: clerk, keyNames: make([]string, w.Keys), lastSeen: make([]string, w.Keys), readKey: -1}
	for i := range g.keyNames {
		g.keyNames[i] = "k" + strconv.Itoa(i)
	}
	return g
}

// think draws the pause before the next call.
func (g *generator) think() sim.Time {
	if g.readKey >= 0 {
		return 0
	}
	if g.burstLeft > 0 {
		g.burstLeft--
		return 0
	}
	if g.w.ThinkMax == 0 {
		return 0
	}
	return g.rnd.Between(g.w.ThinkMin, g.w.ThinkMax)
}

// more reports whether another call may start at global time now.
func (g *generator) more(now sim.Time) bool {
	if g.w.MaxOps > 0 && g.issued >= g.w.MaxOps {
		return false
	}
	return g.w.StopAt == 0 || now < g.w.StopAt
}

// next draws the next call (Client is left for the clerk to fill in); keyIndex says which key.
func (g *generator) next(seq uint64) (c Command, keyIndex int) {
	g.issued++
	w := &g.w
	if g.readKey >= 0 {
		keyIndex, g.readKey = g.readKey, -1
		return Command{Kind: OpGet, Seq: seq, Key: g.keyNames[keyIndex]}, keyIndex
	}
	pick := g.rnd.Intn(w.GetWeight + w.PutWeight + w.AppendWeight + w.CASWeight)
	switch {
	case pick < w.GetWeight:
		c.Kind = OpGet
	case pick < w.GetWeight+w.PutWeight:
		c.Kind = OpPut
	case pick < w.GetWeight+w.PutWeight+w.AppendWeight:
		c.Kind = OpAppend
	default:
		c.Kind = OpCAS
	}
	keyIndex = g.rnd.Intn(w.Keys)
	if w.HotKeyChance > 0 && g.rnd.Chance(w.HotKeyChance) {
		keyIndex = 0
	}
	c.Seq = seq
	c.Key = g.keyNames[keyIndex]
	if c.Kind != OpGet {
		c.Value = g.value(seq)
	}
	if c.Kind == OpCAS {
		c.Expected = g.lastSeen[keyIndex]
	}
	return c, keyIndex
}

// value builds the unique value "<clerk>.<seq>" + padding + ";".
func (g *generator) value(seq uint64) string {
	buf := make([]byte, 0, max(g.w.ValueBytes, 24))
	buf = strconv.AppendInt(buf, int64(g.clerk), 10)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, seq, 10)
	for len(buf) < g.w.ValueBytes-1 {
		buf = append(buf, 'x')
	}
	buf = append(buf, ';')
	return string(buf)
}

// observe learns from a completed call what the key held.
func (g *generator) observe(c *Command, keyIndex int, output string, swapped bool) {
	switch {
	case c.Kind == OpGet:
		g.lastSeen[keyIndex] = output
	case c.Kind == OpPut, c.Kind == OpCAS && swapped:
		g.lastSeen[keyIndex] = c.Value
	}
	if c.Kind != OpGet && g.w.ReadAfterWrite > 0 && g.rnd.Chance(g.w.ReadAfterWrite) {
		g.readKey = keyIndex
	}
}

// retried tells the generator that the call just completed needed more than one attempt.
func (g *generator) retried() { g.burstLeft = g.w.BurstOps }
