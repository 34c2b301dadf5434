package raft
import "testing"
func TestHuntTmp(t *testing.T) {
	for _, bug := range []Bug{BugVoteTwice, BugCommitNoMin, BugSnapshotOffset} {
		n := 0
		for seed := int64(0); seed < 1500; seed++ {
			fc := fuzzConfig{size: 3 + 2*int(seed%2), steps: 3000, bug: bug, protective: seed%3 != 0, compactEvery: uint64(4 + seed%8)}
			v, _ := runFuzz(t, seed, fc)
			if v != "" {
				n++
				if n <= 3 { t.Logf("%v seed %d: %s", bug, seed, v) }
			}
		}
		t.Logf("%v: %d/1500", bug, n)
	}
}
