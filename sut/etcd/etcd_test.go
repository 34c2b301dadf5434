package etcd

import (
	"testing"

	"github.com/raftsim/raftsim/simtest"
	"github.com/raftsim/raftsim/sut/etcdhost/etcdtest"
)

func TestLayerCommitsAndApplies(t *testing.T) { etcdtest.CheckCommitsAndApplies(t, library{}) }

func TestFindingMaxSizePerMsgZeroNeverApplies(t *testing.T) {
	etcdtest.CheckFindingMaxSizePerMsgZero(t, library{})
}

// A short sweep of default on etcd: every check passes (the 10,000-seed figure is in
// BENCHMARKS.md).
func TestDefaultSeedsPass(t *testing.T) {
	last := uint64(40)
	if testing.Short() {
		last = 10
	}
	simtest.Sweep{SUT: Name, Scenario: "default", First: 1, Last: last}.Run(t)
}
