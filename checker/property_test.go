package checker

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/raftsim/raftsim/internal/rapidchecks"
	"pgregory.net/rapid"
)

// bruteForceLinearizable decides linearizability of a small history on its own terms, without
// Porcupine or per-key partitioning: it tries every order of the operations in which a before b
// whenever a returned before b was called, and runs each order against a map of values. A
// pending write has no return (it may come anywhere after its call) and may also never take
// effect; a pending Get constrains nothing.
func bruteForceLinearizable(history []Op) bool {
	var ops []Op
	for _, op := range history {
		if !(op.Pending && op.Kind == OpGet) {
			ops = append(ops, op)
		}
	}
	if len(ops) > 10 {
		panic("bruteForceLinearizable: history too long for brute force")
	}
	done := make([]bool, len(ops))
	values := map[string]string{}
	var search func(left int) bool
	search = func(left int) bool {
		if left == 0 {
			return true
		}
		for j := range ops {
			if done[j] || !canGoNext(ops, done, j) {
				continue
			}
			op := ops[j]
			done[j] = true
			if op.Pending && search(left-1) { // never took effect
				done[j] = false
				return true
			}
			old, ok := values[op.Key]
			fits := true
			switch op.Kind {
			case OpGet:
				fits = op.Output == old
			case OpPut:
				values[op.Key] = op.Value
			case OpAppend:
				values[op.Key] = old + op.Value
			case OpCAS:
				swapped := old == op.Expected
				fits = op.Pending || op.OK == swapped
				if fits && swapped {
					values[op.Key] = op.Value
				}
			}
			if fits && search(left-1) {
				return true
			}
			if ok {
				values[op.Key] = old
			} else {
				delete(values, op.Key)
			}
			done[j] = false
		}
		return false
	}
	return search(len(ops))
}

// canGoNext: ops[j] may take effect before every other remaining operation, that is no
// remaining operation returned before ops[j] was called.
func canGoNext(ops []Op, done []bool, j int) bool {
	for i, other := range ops {
		if i != j && !done[i] && !other.Pending && other.Return < ops[j].Call {
			return false
		}
	}
	return true
}

// drawHistory draws a small concurrent history. Outputs come from running the operations in a
// random order (so they are plausible values of the keys) and are then sometimes replaced by
// another plausible-looking value, so that both linearizable and non-linearizable histories are
// common.
func drawHistory(t *rapid.T) []Op {
	count := rapid.IntRange(1, 7).Draw(t, "operations")
	keyCount := rapid.IntRange(1, 2).Draw(t, "keys")
	keys := []string{"a", "b"}[:keyCount]
	letters := []string{"x", "y", "z"}
	history := make([]Op, count)
	for i := range history {
		call := rapid.Int64Range(0, 20).Draw(t, "call")
		op := Op{
			Client: i,
			Kind:   OpKind(rapid.IntRange(int(OpGet), int(OpCAS)).Draw(t, "kind")),
			Key:    rapid.SampledFrom(keys).Draw(t, "key"),
			Value:  rapid.SampledFrom(letters).Draw(t, "value"),
			Call:   call,
			Return: call + rapid.Int64Range(0, 10).Draw(t, "duration"),
		}
		if op.Kind == OpCAS {
			op.Expected = rapid.SampledFrom([]string{"", "x", "y", "z", "xy"}).Draw(t, "expected")
		}
		op.Pending = op.Kind != OpGet && rapid.IntRange(0, 5).Draw(t, "pending?") == 0
		history[i] = op
	}
	order := rapid.Permutation(indices(count)).Draw(t, "execution order")
	values := map[string]string{}
	for _, i := range order {
		op := &history[i]
		current := values[op.Key]
		switch op.Kind {
		case OpGet:
			op.Output = current
		case OpPut:
			values[op.Key] = op.Value
		case OpAppend:
			values[op.Key] = current + op.Value
		case OpCAS:
			op.OK = current == op.Expected
			if op.OK {
				values[op.Key] = op.Value
			}
		}
	}
	for i := range history {
		op := &history[i]
		if rapid.IntRange(0, 3).Draw(t, "tamper?") != 0 {
			continue
		}
		switch op.Kind {
		case OpGet:
			op.Output = rapid.SampledFrom([]string{"", "x", "y", "z", "xy", "yx", "xx"}).Draw(t, "output")
		case OpCAS:
			op.OK = !op.OK
		}
	}
	return history
}

func indices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestPorcupineAgreesWithBruteForce compares the verdict with the brute-force checker on
// random small histories, and checks that an Illegal explanation is illegal on its own.
func TestPorcupineAgreesWithBruteForce(t *testing.T) {
	rapidchecks.Set(t, 100) // the balance check below needs the full 100, -short too
	var linearizable, illegal int
	rapid.Check(t, func(t *rapid.T) {
		history := drawHistory(t)
		want := bruteForceLinearizable(history)
		r := mustCheck(t, history, Options{})
		if want {
			linearizable++
			if r.Verdict != Ok {
				t.Fatalf("brute force finds a linearization, checker says %v:\n%s", r.Verdict, r.Describe())
			}
			return
		}
		illegal++
		if r.Verdict != Illegal {
			t.Fatalf("brute force finds no linearization, checker says %v", r.Verdict)
		}
		if bruteForceLinearizable(r.Ops) {
			t.Fatalf("explaining ops are linearizable on their own: %+v", r.Ops)
		}
	})
	t.Logf("%d linearizable, %d illegal histories", linearizable, illegal)
	// The generator must exercise both outcomes, or the comparison proves little.
	if linearizable < 10 || illegal < 10 {
		t.Fatalf("generator is lopsided: %d linearizable, %d illegal histories", linearizable, illegal)
	}
}

func TestBruteForceRejectsKnownBad(t *testing.T) {
	if bruteForceLinearizable([]Op{put(0, "k", "x", 0, 10), get(1, "k", "", 20, 30)}) {
		t.Fatal("stale read accepted by brute force")
	}
	if !bruteForceLinearizable([]Op{pending(put(0, "k", "x", 0, 0)), get(1, "k", "", 20, 30)}) {
		t.Fatal("pending write that never took effect rejected by brute force")
	}
}

// realisticHistory simulates a linearizable store: clients issue calls one after another;
// each call takes effect at a random instant inside its interval, and outputs are computed by
// applying calls in the order of those instants. About 1% of calls stay pending (half of them
// took effect). The result is linearizable by construction.
func realisticHistory(seed uint64, operations, clients, keys int) []Op {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	type timed struct {
		op       Op
		effectNs int64
		effect   bool
	}
	all := make([]timed, 0, operations)
	nextCallNs := make([]int64, clients)
	for len(all) < operations {
		client := len(all) % clients
		call := nextCallNs[client] + rng.Int64N(2_000_000)
		effect := call + 100_000 + rng.Int64N(5_000_000)
		ret := effect + 100_000 + rng.Int64N(5_000_000)
		nextCallNs[client] = ret
		op := Op{Client: client, Key: "k" + strconv.Itoa(rng.IntN(keys)), Value: strconv.Itoa(len(all)) + ";", Call: call, Return: ret}
		switch roll := rng.IntN(100); {
		case roll < 50:
			op.Kind = OpGet
		case roll < 75:
			op.Kind = OpPut
		case roll < 95:
			op.Kind = OpAppend
		default:
			op.Kind = OpCAS
		}
		tookEffect := true
		if op.Kind != OpGet && rng.IntN(100) == 0 {
			op.Pending = true
			tookEffect = rng.IntN(2) == 0
		}
		all = append(all, timed{op: op, effectNs: effect, effect: tookEffect})
	}
	order := indices(len(all))
	// Effect instants are distinct with overwhelming probability; ties break by index.
	sortStable(order, func(a, b int) bool { return all[a].effectNs < all[b].effectNs })
	values := map[string]string{}
	for _, i := range order {
		op := &all[i].op
		current := values[op.Key]
		if op.Kind == OpCAS {
			// Expect the current value most of the time, so that swaps happen.
			if rng.IntN(4) != 0 {
				op.Expected = current
			} else {
				op.Expected = "stale"
			}
		}
		if !all[i].effect {
			continue
		}
		switch op.Kind {
		case OpGet:
			op.Output = current
		case OpPut:
			values[op.Key] = op.Value
		case OpAppend:
			values[op.Key] = current + op.Value
		case OpCAS:
			op.OK = current == op.Expected
			if op.OK {
				values[op.Key] = op.Value
			}
		}
	}
	history := make([]Op, len(all))
	for i := range all {
		history[i] = all[i].op
	}
	return history
}

func sortStable(order []int, less func(a, b int) bool) {
	sort.SliceStable(order, func(x, y int) bool { return less(order[x], order[y]) })
}

func TestRealisticHistory(t *testing.T) {
	operations := 2000
	if !testing.Short() {
		operations = 10000
	}
	history := realisticHistory(1, operations, 8, 50)
	r := mustCheck(t, history, Options{Timeout: 30 * time.Second})
	if r.Verdict != Ok {
		t.Fatalf("simulated linearizable store judged %v:\n%s", r.Verdict, r.Describe())
	}
	// One tampered read makes it illegal, on that read's key.
	for i := len(history) / 2; i < len(history); i++ {
		if history[i].Kind == OpGet && !history[i].Pending {
			history[i].Output += "!"
			r = mustCheck(t, history, Options{Timeout: 30 * time.Second})
			if r.Verdict != Illegal || r.Key != history[i].Key {
				t.Fatalf("tampered read of %q: verdict %v key %q", history[i].Key, r.Verdict, r.Key)
			}
			t.Logf("explanation: %d ops\n%s", len(r.Ops), r.Describe())
			return
		}
	}
	t.Fatal("no read to tamper with")
}

func BenchmarkCheck10kOps(b *testing.B) {
	history := realisticHistory(7, 10000, 8, 50)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := mustCheck(b, history, Options{Timeout: time.Minute}); r.Verdict != Ok {
			b.Fatalf("verdict %v", r.Verdict)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/check")
}
