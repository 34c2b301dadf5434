package etcd

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

// A short sweep of default on etcd: every check passes (the 10,000-seed figure is in
// BENCHMARKS.md).
func TestDefaultSeedsPass(t *testing.T) {
	last := uint64(40)
	if testing.Short() {
		last = 10
	}
	simtest.Sweep{SUT: Name, Scenario: "default", First: 1, Last: last}.Run(t)
}

// Regression (adapter): a snapshot installed from the leader was persisted without a sync when
// the Ready's MustSync was false (it covers only hard state and entries); the follower
// acknowledged it, a crash lost it, and the leader's next commit index panicked the library
// ("tocommit(240) is out of range [lastIndex(236)]"). These seeds failed that way.
func TestRegressionInstalledSnapshotIsSynced(t *testing.T) {
	simtest.Sweep{SUT: Name, Scenario: "raft/SnapshotInstallCrash", First: 1}.Run(t)
	simtest.Sweep{SUT: Name, Scenario: "raft/SnapshotInstallUnCrash", First: 2}.Run(t)
}
