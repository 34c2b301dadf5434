package etcd36

import (
	"testing"

	"github.com/raftsim/raftsim/simtest"
	"github.com/raftsim/raftsim/sut/etcdhost/etcdtest"
)

func TestLayerCommitsAndApplies(t *testing.T) { etcdtest.CheckCommitsAndApplies(t, library{}) }

// The wire-format Classify says what Describe says of every message of 10 default seeds.
func TestClassifyAgreesWithDescribe(t *testing.T) {
	check := etcdtest.NewClassifyCheck(t, Name)
	simtest.Sweep{SUT: check.Name, Scenario: "default", First: 1, Last: 10}.Run(t)
	check.Done()
}

func TestFindingMaxSizePerMsgZeroNeverApplies(t *testing.T) {
	etcdtest.CheckFindingMaxSizePerMsgZero(t, library{})
}

// A short sweep of default on etcd@v3.6.0: every check passes (the sweep figures are in
// BENCHMARKS.md).
func TestDefaultSeedsPass(t *testing.T) {
	last := uint64(40)
	if testing.Short() {
		last = 10
	}
	simtest.Sweep{SUT: Name, Scenario: "default", First: 1, Last: last}.Run(t)
}
