package simrun

import (
	"strings"
	"testing"

	_ "github.com/raftsim/raftsim/raft/simhost" // registers the default SUT, as cmd/simrun does
	_ "github.com/raftsim/raftsim/sut/etcd"     // and etcd-io/raft v3.7
)

// etcd-io/raft runs are deterministic (its crypto/rand election jitter reads the node's seeded
// stream) and quiet (its logger writes to the trace only).
func TestEtcdRunsAreDeterministicAndQuiet(t *testing.T) {
	code, out, errOut := runCLI("-sut", "etcd", "-scenario", "crash-restart", "-seeds", "1-6", "-check-determinism", "-parallel", "2")
	if code != exitPass || !strings.Contains(out, "6 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if errOut != "" {
		t.Fatalf("a sweep on etcd wrote to stderr:\n%s", errOut)
	}
	code, out, errOut = runCLI("-sut", "etcd", "-seed", "2")
	if code != exitPass || errOut != "" || strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Fatalf("one run on etcd: exit %d, want the report and the summary line only:\n%s%s", code, out, errOut)
	}
}
