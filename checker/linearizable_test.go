package checker

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Helpers that build history records; times are virtual ns.

func put(client int, key, value string, call, ret int64) Op {
	return Op{Client: client, Kind: OpPut, Key: key, Value: value, Call: call, Return: ret}
}

func appendOp(client int, key, value string, call, ret int64) Op {
	return Op{Client: client, Kind: OpAppend, Key: key, Value: value, Call: call, Return: ret}
}

func get(client int, key, output string, call, ret int64) Op {
	return Op{Client: client, Kind: OpGet, Key: key, Output: output, Call: call, Return: ret}
}

func cas(client int, key, expected, value string, swapped bool, call, ret int64) Op {
	return Op{Client: client, Kind: OpCAS, Key: key, Expected: expected, Value: value, OK: swapped, Call: call, Return: ret}
}

func pending(op Op) Op {
	op.Pending = true
	op.Return = 0
	return op
}

const testTimeout = 10 * time.Second

// mustCheck runs Check on a history the test knows to be well formed.
func mustCheck(t interface {
	Helper()
	Fatalf(string, ...any)
}, history []Op, o Options) LinResult {
	t.Helper()
	r, err := Check(history, o)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func TestIllegalHistories(t *testing.T) {
	cases := []struct {
		name    string
		history []Op
		key     string
		// explainedBy: substrings the description must contain.
		explainedBy []string
	}{
		{
			name: "stale read",
			history: []Op{
				put(0, "k", "x", 0, 10),
				get(1, "k", "", 20, 30),
			},
			key:         "k",
			explainedBy: []string{`get returned "" but the value was "x"`, `c1 get("k") -> ""`, "returned at 0.000000030s"},
		},
		{
			name: "lost write",
			history: []Op{
				put(0, "k", "a", 0, 10),
				put(1, "k", "b", 20, 30),
				get(2, "k", "a", 40, 50),
			},
			key:         "k",
			explainedBy: []string{`get returned "a" but the value was "b"`},
		},
		{
			name: "duplicate append",
			history: []Op{
				appendOp(0, "k", "x", 0, 10),
				appendOp(1, "k", "y", 20, 30),
				get(2, "k", "xyy", 40, 50),
			},
			key:         "k",
			explainedBy: []string{`get returned "xyy" but the value was "xy"`},
		},
		{
			name: "CAS succeeded twice with the same expected value",
			history: []Op{
				put(0, "k", "a", 0, 10),
				cas(1, "k", "a", "b", true, 20, 30),
				cas(2, "k", "a", "c", true, 25, 35),
			},
			key:         "k",
			explainedBy: []string{"cas reported swapped, but the value was"},
		},
		{
			name: "failed CAS although the value was the expected one",
			history: []Op{
				put(0, "k", "a", 0, 10),
				cas(1, "k", "a", "b", false, 20, 30),
			},
			key:         "k",
			explainedBy: []string{`cas reported not swapped, but the value was the expected "a"`},
		},
		{
			name: "read of a value never written",
			history: []Op{
				get(0, "k", "ghost", 0, 10),
			},
			key:         "k",
			explainedBy: []string{"No operation can take effect first"},
		},
		{
			name: "first illegal key in sorted order is reported",
			history: []Op{
				put(0, "zeta", "1", 0, 10),
				get(1, "zeta", "", 20, 30),
				put(0, "alpha", "1", 0, 10),
				get(1, "alpha", "2", 20, 30),
				put(2, "middle", "1", 0, 10),
				get(2, "middle", "1", 20, 30),
			},
			key: "alpha",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustCheck(t, tc.history, Options{Timeout: testTimeout})
			if r.Verdict != Illegal {
				t.Fatalf("verdict %v, want illegal; %s", r.Verdict, r.Describe())
			}
			if r.Key != tc.key {
				t.Fatalf("key %q, want %q", r.Key, tc.key)
			}
			if len(r.Ops) == 0 {
				t.Fatal("no explaining operations")
			}
			for _, op := range r.Ops {
				if op.Key != tc.key {
					t.Fatalf("explaining op %+v is not on key %q", op, tc.key)
				}
			}
			// The explanation is itself a proof: checked alone it is illegal.
			if again := mustCheck(t, r.Ops, Options{Timeout: testTimeout}); again.Verdict != Illegal {
				t.Fatalf("explaining ops alone are %v: %+v", again.Verdict, r.Ops)
			}
			description := r.Describe()
			for _, want := range tc.explainedBy {
				if !strings.Contains(description, want) {
					t.Errorf("description lacks %q:\n%s", want, description)
				}
			}
			// Same history, same verdict, key, ops and explanation.
			again := mustCheck(t, tc.history, Options{Timeout: testTimeout})
			if again.Verdict != r.Verdict || again.Key != r.Key || !reflect.DeepEqual(again.Ops, r.Ops) || again.Describe() != description {
				t.Fatalf("second check differs: %v %q %+v", again.Verdict, again.Key, again.Ops)
			}
		})
	}
}

func TestLinearizableHistories(t *testing.T) {
	cases := []struct {
		name    string
		history []Op
	}{
		{"empty", nil},
		{
			name: "concurrent overlapping operations",
			history: []Op{
				put(0, "k", "a", 0, 100),
				get(1, "k", "", 5, 15),
				get(2, "k", "a", 10, 20),
				appendOp(3, "k", "b", 30, 60),
				get(1, "k", "ab", 50, 70),
				cas(2, "k", "ab", "c", true, 55, 90),
				get(3, "k", "c", 95, 99),
				get(1, "other", "", 0, 1),
			},
		},
		{
			name: "closed intervals: operations touching at one instant are concurrent",
			history: []Op{
				put(0, "k", "a", 0, 10),
				get(1, "k", "", 10, 20),
			},
		},
		{
			name: "pending write that took effect",
			history: []Op{
				pending(put(0, "k", "x", 0, 0)),
				get(1, "k", "x", 50, 60),
				get(1, "k", "x", 70, 80),
			},
		},
		{
			name: "pending write that did not take effect",
			history: []Op{
				pending(put(0, "k", "x", 0, 0)),
				get(1, "k", "", 50, 60),
				get(1, "k", "", 70, 80),
			},
		},
		{
			name: "pending write that took effect late",
			history: []Op{
				pending(appendOp(0, "k", "x", 0, 0)),
				get(1, "k", "", 50, 60),
				get(1, "k", "x", 70, 80),
			},
		},
		{
			name: "pending CAS accepted whatever its recorded result",
			history: []Op{
				put(0, "k", "a", 0, 10),
				pending(cas(1, "k", "a", "b", false, 20, 0)),
				get(2, "k", "b", 40, 50),
			},
		},
		{
			name: "pending get is dropped",
			history: []Op{
				put(0, "k", "a", 0, 10),
				pending(get(1, "k", "nonsense", 20, 0)),
			},
		},
		{
			name: "failed CAS",
			history: []Op{
				put(0, "k", "a", 0, 10),
				cas(1, "k", "z", "b", false, 20, 30),
				get(2, "k", "a", 40, 50),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustCheck(t, tc.history, Options{Timeout: testTimeout})
			if r.Verdict != Ok {
				t.Fatalf("verdict %v, want ok:\n%s", r.Verdict, r.Describe())
			}
			if !strings.HasPrefix(r.Describe(), "linearizable:") {
				t.Fatalf("description %q", r.Describe())
			}
		})
	}
}

func TestSizesCounted(t *testing.T) {
	r := mustCheck(t, []Op{
		put(0, "a", "1", 0, 10),
		pending(get(1, "a", "", 5, 0)),
		get(1, "b", "", 5, 6),
	}, Options{Timeout: testTimeout})
	if r.Keys != 2 || r.Operations != 2 {
		t.Fatalf("Keys %d Operations %d, want 2 and 2 (pending get dropped)", r.Keys, r.Operations)
	}
}

// staleReadAfterManyOps returns a history of 71 operations on one key with one stale read
// (returned too) after 60 operations, followed by 10 more.
func staleReadAfterManyOps() (history []Op, stale Op) {
	now := int64(0)
	value := ""
	for i := 0; i < 60; i++ {
		if i%4 == 0 {
			value = string(rune('a' + i%26))
			history = append(history, put(0, "k", value, now, now+5))
		} else {
			history = append(history, get(1+i%3, "k", value, now, now+5))
		}
		now += 10
	}
	stale = get(2, "k", "a", now, now+5) // value is not "a" any more
	history = append(history, stale)
	for i := 0; i < 10; i++ { // after the violation: cut off
		now += 10
		history = append(history, get(1, "k", value, now, now+5))
	}
	return history, stale
}

// TestShrinkKeepsWhatExplains: a long history with one stale read at its end is explained by
// the writes before the read and the read itself, not by the many unrelated reads.
func TestShrinkKeepsWhatExplains(t *testing.T) {
	history, stale := staleReadAfterManyOps()
	r := mustCheck(t, history, Options{Timeout: testTimeout})
	if r.Verdict != Illegal {
		t.Fatalf("verdict %v, want illegal", r.Verdict)
	}
	writes := 0
	for _, op := range r.Ops {
		if op.Kind == OpGet && op != stale {
			t.Errorf("explanation keeps an unneeded read %+v", op)
		}
		if op.Kind == OpPut {
			writes++
		}
	}
	if writes != 1 || len(r.Ops) != 2 || r.Ops[len(r.Ops)-1] != stale {
		t.Fatalf("explanation %d ops with %d writes, want the last put and the stale read:\n%s", len(r.Ops), writes, r.Describe())
	}
	if !strings.Contains(r.Describe(), "2 of the key's 71 operations") {
		t.Errorf("description does not say how much was left out:\n%s", r.Describe())
	}
}

// blowUp returns operations on key that make Porcupine's search factorial: appends that all
// overlap, and a read that no order of them explains.
func blowUp(key string, appends int) []Op {
	var history []Op
	for i := 0; i < appends; i++ {
		history = append(history, appendOp(i, key, string(rune('A'+i)), 0, 1000))
	}
	return append(history, get(appends, key, "impossible", 0, 1000))
}

// TestUnknownOnTimeBound: a tiny time bound on a blow-up gives Unknown, not Ok or Illegal.
func TestUnknownOnTimeBound(t *testing.T) {
	history := append(blowUp("hot", 40), put(41, "calm", "1", 0, 1))
	start := time.Now()
	r := mustCheck(t, history, Options{Timeout: 20 * time.Millisecond})
	if wall := time.Since(start); wall > 2*time.Second {
		t.Fatalf("check took %v, the time bound was not honoured", wall)
	}
	if r.Verdict != Unknown || r.Reason != ReasonTimeBound {
		t.Fatalf("verdict %v (%s), want unknown (time bound)", r.Verdict, r.Reason)
	}
	if r.Key != "hot" {
		t.Fatalf("key %q, want the key that hit the bound", r.Key)
	}
	if d := r.Describe(); !strings.Contains(d, "time bound of 20ms") || !strings.Contains(d, `"hot"`) {
		t.Fatalf("description %q", d)
	}
}

// TestMemoryBoundStopsABlowUp: with no time bound, a search whose memory grows without end
// stops at the memory budget, quickly, with Unknown and the reason.
func TestMemoryBoundStopsABlowUp(t *testing.T) {
	const budgetBytes = 16 << 20
	start := time.Now()
	// The time bound is only a safety net: were the memory bound not honoured, the verdict would
	// be Unknown for the time bound, and the test fail on the reason.
	r := mustCheck(t, blowUp("hot", 40), Options{Timeout: 20 * time.Second, MemoryBudgetBytes: budgetBytes})
	wall := time.Since(start)
	if r.Verdict != Unknown || r.Reason != ReasonMemoryBound || r.Key != "hot" {
		t.Fatalf("verdict %v (%s) on key %q, want unknown (memory bound) on \"hot\"", r.Verdict, r.Reason, r.Key)
	}
	if d := r.Describe(); !strings.Contains(d, "memory bound of 16.0 MiB") {
		t.Fatalf("description %q", d)
	}
	if wall > 10*time.Second {
		t.Fatalf("the memory bound took %v to stop the search", wall)
	}
	t.Logf("stopped after %v", wall)
}

// TestIllegalKeyDoesNotWaitForAHardOne: a key proven illegal decides the check at once, even
// when a key before it (in sorted order) would take forever.
func TestIllegalKeyDoesNotWaitForAHardOne(t *testing.T) {
	history := append(blowUp("a-hot", 40), put(0, "b", "x", 0, 10), get(1, "b", "", 20, 30))
	start := time.Now()
	r := mustCheck(t, history, Options{Timeout: time.Minute})
	if wall := time.Since(start); wall > 5*time.Second {
		t.Fatalf("the check took %v", wall)
	}
	if r.Verdict != Illegal || r.Key != "b" {
		t.Fatalf("verdict %v on key %q, want illegal on \"b\": %s", r.Verdict, r.Key, r.Describe())
	}
	if strings.Contains(r.Describe(), "Another key may") {
		t.Fatalf("the choice of key is said to be uncertain: %s", r.Describe())
	}
}

// TestReportedIllegalKeyIsDeterministic: of several illegal keys searched at once, the report
// names the one whose proof takes the fewest steps (ties: the first in sorted order), whichever
// search finishes first, so the same history gives the same report every time.
func TestReportedIllegalKeyIsDeterministic(t *testing.T) {
	history := blowUp("a-long-proof", 7) // illegal, after thousands of steps
	for _, key := range []string{"z-short-proof", "y-short-proof"} {
		history = append(history, put(0, key, "x", 0, 10), get(1, key, "", 20, 30))
	}
	first := mustCheck(t, history, Options{})
	if first.Verdict != Illegal || first.Key != "y-short-proof" {
		t.Fatalf("verdict %v on key %q, want illegal on the first of the two shortest proofs", first.Verdict, first.Key)
	}
	for i := 0; i < 20; i++ {
		again := mustCheck(t, history, Options{})
		if again.Describe() != first.Describe() || !reflect.DeepEqual(again.Ops, first.Ops) {
			t.Fatalf("check %d reports otherwise:\n%s\nfirst:\n%s", i+2, again.Describe(), first.Describe())
		}
	}
	// Alone, the long proof is found and reported.
	if r := mustCheck(t, blowUp("a-long-proof", 7), Options{}); r.Verdict != Illegal {
		t.Fatalf("the long proof alone: %v", r.Verdict)
	}
}

// TestExplanationBudget: the witness is shrunk under its own budget; an unfinished shrink says
// so and shows the witness it had, and the explanation can be switched off.
func TestExplanationBudget(t *testing.T) {
	history, _ := staleReadAfterManyOps()
	r := mustCheck(t, history, Options{ExplainTimeout: time.Nanosecond})
	if r.Verdict != Illegal || len(r.Ops) != len(history) {
		t.Fatalf("verdict %v with %d ops, want illegal with the unshrunk %d", r.Verdict, len(r.Ops), len(history))
	}
	d := r.Describe()
	for _, want := range []string{"Shrinking stopped at its time budget of 1ns", "[71] c1 get", "time budget was hit before the longest valid order"} {
		if !strings.Contains(d, want) {
			t.Errorf("description lacks %q:\n%s", want, d)
		}
	}

	off := mustCheck(t, history, Options{ExplainTimeout: -1})
	if off.Verdict != Illegal || len(off.Ops) != len(history) || !strings.Contains(off.Describe(), "the explanation is switched off") {
		t.Fatalf("explanation off: verdict %v, %d ops:\n%s", off.Verdict, len(off.Ops), off.Describe())
	}
	for i := 1; i < len(off.Ops); i++ {
		if off.Ops[i].Call < off.Ops[i-1].Call {
			t.Fatalf("ops not ordered by call time: %+v", off.Ops)
		}
	}
}

func TestMalformedHistoryIsAnError(t *testing.T) {
	cases := map[string]struct {
		op    Op
		field string
	}{
		"return before call": {put(0, "k", "v", 10, 5), "return"},
		"unknown kind":       {Op{Kind: OpKind(9), Key: "k"}, "op"},
		"unset kind":         {Op{Key: "k"}, "op"},
		"negative client":    {put(-1, "k", "v", 0, 1), "client"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Check([]Op{put(0, "k", "v", 0, 1), tc.op}, Options{})
			var inputErr *InputError
			if !errors.As(err, &inputErr) || inputErr.Index != 1 || inputErr.Field != tc.field {
				t.Fatalf("error %v, want an *InputError for history[1], field %q", err, tc.field)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("history[1]: field %q: ", tc.field)) {
				t.Fatalf("error %q does not say where", err)
			}
		})
	}
}

func TestVerdictAndKindStrings(t *testing.T) {
	if Ok.String() != "ok" || Illegal.String() != "illegal" || Unknown.String() != "unknown" {
		t.Fatal("verdict strings")
	}
	if (LinResult{}).Verdict != Unknown {
		t.Fatal("a zero result must not read as a pass")
	}
	if OpGet.String() != "get" || OpPut.String() != "put" || OpAppend.String() != "append" || OpCAS.String() != "cas" {
		t.Fatal("kind strings")
	}
	if formatNs(1_200_000_000) != "1.200000s" || formatNs(1_000_000_001) != "1.000000001s" {
		t.Fatalf("formatNs: %s %s", formatNs(1_200_000_000), formatNs(1_000_000_001))
	}
}
