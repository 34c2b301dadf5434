package checker

import (
	"strings"
	"testing"
)

func TestCheckLiveness(t *testing.T) {
	const (
		healAt = 1000
		bound  = 500
	)
	recovered := []Op{
		put(0, "k", "a", 100, 200),                 // before the fault window closed
		put(1, "k", "b", 900, 1300),                // outstanding at the heal, done in time
		get(2, "k", "b", 1100, 1550),               // called after the heal, within bound of its call
		pending(put(3, "k", "c", 1400, 0)),         // called after the heal, run may have ended: not judged
		pending(put(4, "k", "d", healAt+bound, 0)), // called at the deadline: not judged
	}
	cases := []struct {
		name    string
		history []Op
		leader  int64
		want    string // "" for OK, else a substring of Reason
	}{
		{"recovered", recovered, 1200, ""},
		{"leader exactly at the bound", recovered, healAt + bound, ""},
		{"no leader", recovered, -1, "no leader was elected"},
		{"leader too late", recovered, healAt + bound + 1, "elected at"},
		{"outstanding call never completed", append(append([]Op(nil), recovered...), pending(put(5, "k", "e", 950, 0))), 1200, "never completed"},
		{"outstanding call completed late", append(append([]Op(nil), recovered...), put(5, "k", "e", 950, 1600)), 1200, "completed only at"},
		{"call after the heal too slow", append(append([]Op(nil), recovered...), get(5, "k", "b", 1200, 1800)), 1200, "took"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckLiveness(tc.history, healAt, bound, tc.leader)
			if tc.want == "" {
				if !r.OK || r.Reason != "" {
					t.Fatalf("not OK: %s", r.Reason)
				}
				return
			}
			if r.OK {
				t.Fatal("OK, want a liveness failure")
			}
			if !strings.Contains(r.Reason, tc.want) {
				t.Fatalf("reason %q lacks %q", r.Reason, tc.want)
			}
		})
	}
}

func TestCheckLivenessLimitsReasons(t *testing.T) {
	var history []Op
	for i := 0; i < 20; i++ {
		history = append(history, pending(appendOp(i, "k", "x", 10, 0)))
	}
	r := CheckLiveness(history, 100, 50, 120)
	if r.OK || !strings.Contains(r.Reason, "20 operations") || !strings.Contains(r.Reason, "and 15 more") {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestCheckLivenessRejectsLeaderBeforeHeal(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a leader time before the heal")
		}
	}()
	CheckLiveness(nil, 100, 50, 99)
}
