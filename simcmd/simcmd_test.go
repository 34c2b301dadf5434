package simcmd_test

import (
	"bytes"
	"strings"
	"testing"

	_ "github.com/raftsim/raftsim/raft/simhost" // SUT raftsim
	"github.com/raftsim/raftsim/simcmd"
)

// A command built on Main runs the SUTs its imports registered, and names them when asked for
// another.
func TestMainRunsTheRegisteredSUTs(t *testing.T) {
	var out, errs bytes.Buffer
	if code := simcmd.Main("mysimrun", []string{"-sut", "raftsim", "-scenario", "kv/Basic", "-seed", "1", "-json"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &out, &errs)
	}
	if !strings.Contains(out.String(), `"replay":"mysimrun -scenario kv/Basic -seed 1"`) {
		t.Errorf("the replay command does not name the command:\n%s", &out)
	}
	out.Reset()
	errs.Reset()
	code := simcmd.Main("mysimrun", []string{"-sut", "myraft", "-seed", "1"}, &out, &errs)
	if code != 2 || !strings.Contains(errs.String(), "valid: raftsim") {
		t.Fatalf("exit %d, want 2 and the valid SUTs named\n%s%s", code, &out, &errs)
	}
}
