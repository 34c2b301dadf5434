package simrun

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raftsim/raftsim/sim"
	"github.com/raftsim/raftsim/sut"
	"github.com/raftsim/raftsim/sut/hostkit"
)

// panickySUT is raftsim's SUT with a panic planted in its host: a server that restarts from
// a disk that holds a raft log panics before it starts.
const panickySUT = "test-panicky"

func init() {
	raftsim, err := sut.Lookup(sut.DefaultName)
	if err != nil {
		panic(err)
	}
	sut.Register(&sut.SUT{
		Name:        panickySUT,
		Description: "raftsim with a panic planted in the host on every restart (tests only)",
		NewServer:   func(cfg sut.Config) sut.Server { return &panicky{Server: raftsim.NewServer(cfg)} },
		Describe:    raftsim.Describe,
	})
}

type panicky struct{ sut.Server }

var panicMessageRE = regexp.MustCompile(`planted host panic: server \d+ restarted`)

func (p *panicky) Start(env *sim.Env) {
	if env.Disk().Read(hostkit.LogFile) != nil {
		panic(fmt.Sprintf("planted host panic: server %d restarted", env.ID()))
	}
	p.Server.Start(env)
}

// A panic in a host fails its run with check "panic" (message and stack in the report): the
// sweep goes on with the other seeds, the failure shrinks, and the shrunk schedule fails the
// same way.
func TestHostPanicIsAFailedRunThatShrinksAndReplays(t *testing.T) {
	code, out, errOut := runCLI("-sut", panickySUT, "-scenario", "crash-restart", "-seeds", "1-4", "-json", "-parallel", "2")
	if code != exitFail || errOut != "" {
		t.Fatalf("sweep: exit %d, stderr %q; want 1 and nothing on stderr", code, errOut)
	}
	if got := strings.Count(out, `"check":"panic"`); got != 4 || !strings.Contains(out, "planted host panic: server") {
		t.Fatalf("sweep: %d runs failed with check panic, want 4:\n%s", got, out)
	}
	code, out, _ = runCLI("-sut", panickySUT, "-scenario", "crash-restart", "-seed", "1")
	if code != exitFail || !strings.Contains(out, "FAILED panic") || !strings.Contains(out, "goroutine") {
		t.Fatalf("one run: exit %d, want a panic failure with its stack:\n%s", code, out)
	}
	message := panicMessageRE.FindString(out)
	dir := t.TempDir()
	code, out, errOut = runCLI("-sut", panickySUT, "-scenario", "crash-restart", "-seed", "1", "-shrink", "-out", dir)
	if code != exitFail {
		t.Fatalf("shrink: exit %d\n%s%s", code, out, errOut)
	}
	shrunk, err := filepath.Glob(filepath.Join(dir, "shrunk-*.json"))
	if err != nil || len(shrunk) != 1 {
		t.Fatalf("shrink wrote %v (%v)\n%s", shrunk, err, out)
	}
	code, out, _ = runCLI("-schedule", shrunk[0])
	if code != exitFail || !strings.Contains(out, "FAILED panic") || panicMessageRE.FindString(out) != message {
		t.Fatalf("replay of the shrunk schedule: exit %d, want the same panic (%q):\n%s", code, message, out)
	}
}
