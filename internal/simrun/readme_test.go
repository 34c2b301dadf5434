package simrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README cannot drift from the tool: TestReadmeCommands runs every command of README.md's
// shell code blocks (```sh, ```bash, ```shell) and checks its exit code. Commands run in order,
// in one scratch directory (so a recipe's files, such as sched.json or out/, carry from one
// command to the next), with `go run ./cmd/simrun` replaced by a built binary; `go` commands
// run in the repository's root.
//
// A command runs as written when it is known to be fast: a simrun command that sweeps at most
// maxReadmeSeeds seeds and does not hunt. Every other command must be in readmeRewrites, which
// either cuts it down or says why it cannot run here; a command that is neither fails the
// test, so a long command added to the README is never skipped silently.
//
// The exit code a command must give: 3 with -until, 1 with -bug, -shrink or a shrunk schedule
// file, else 0 (a rewrite may say otherwise).

// maxReadmeSeeds is the largest sweep the test runs as written.
const maxReadmeSeeds = 30

type readmeRewrite struct {
	run  string // the command to run instead ("" with skip)
	skip string // why the command cannot run here
	exit int    // the exit code run must give; -1: the rule above
}

// readmeRewrites is keyed by the command as README.md has it, comments and extra spaces
// removed.
var readmeRewrites = map[string]readmeRewrite{
	"go test ./... && go -C sut/etcd36 test ./...":             {skip: "the whole test suite: CI runs it, and this test is part of it", exit: -1},
	"go run ./cmd/simrun -seeds 1-1000":                        {run: "go run ./cmd/simrun -seeds 1-20", exit: -1},
	"go run ./cmd/simrun -bug match-from-current -seeds 1-100": {run: "go run ./cmd/simrun -bug match-from-current -seeds 1-4", exit: -1},
	// default's first failure of commit-old-term is seed 99 (BENCHMARKS.md).
	"go run ./cmd/simrun -bug commit-old-term -scenario figure8 -seeds 1-300": {run: "go run ./cmd/simrun -bug commit-old-term -scenario figure8 -seeds 1-6", exit: -1},
	"go run ./cmd/simrun -sut etcd -seeds 1-200 -check-determinism":           {run: "go run ./cmd/simrun -sut etcd -seeds 1-6 -check-determinism", exit: -1},
	"go run ./cmd/simrun -seeds 1-200 -check-determinism":                     {run: "go run ./cmd/simrun -seeds 1-6 -check-determinism", exit: -1},
	// One bug, three seeds (no-dedup fails seed 1), and the correct build on the same three.
	"go run ./cmd/simrun -hunt": {run: "go run ./cmd/simrun -hunt -bug no-dedup -hunt-cap 3", exit: exitPass}, // exits 0 when it finds every bug
	// The planted-bug property needs many cases to find each bug; the correct build's needs few.
	"go test ./scenarios -run Property -rapid.checks 3000 -rapid.seed 0": {run: "go test ./scenarios -run PropertyCorrectSystem -rapid.checks 5 -rapid.seed 0", exit: -1},
	"go test ./raft -run TestMiniSafetyFuzz -raft.seeds 5000":            {run: "go test ./raft -run TestMiniSafetyFuzz -raft.seeds 20", exit: -1},
	"go run ./cmd/simrun -seeds 1-100 -probes":                           {run: "go run ./cmd/simrun -seeds 1-10 -probes", exit: -1},
	"go run ./cmd/simrun -seeds 1-10000":                                 {run: "go run ./cmd/simrun -seeds 1-20", exit: -1},
	"go run ./cmd/simrun -seeds 1-30000 -shard 1/3 -out results/":        {run: "go run ./cmd/simrun -seeds 1-30 -shard 1/3 -out results/", exit: -1},
	"go run ./cmd/simrun -seeds 1-30000 -shard 2/3 -out results/":        {run: "go run ./cmd/simrun -seeds 1-30 -shard 2/3 -out results/", exit: -1},
	"go run ./cmd/simrun -seeds 1-30000 -shard 3/3 -out results/":        {run: "go run ./cmd/simrun -seeds 1-30 -shard 3/3 -out results/", exit: -1},
	// The same sweep and shard directories (-seeds1-1000-shardKof2) over a scenario that runs
	// in a millisecond.
	"JOB_COMPLETION_INDEX=0 SIMRUN_SHARD_COUNT=2 go run ./cmd/simrun -seeds 1-1000 -out results/": {
		run: "JOB_COMPLETION_INDEX=0 SIMRUN_SHARD_COUNT=2 go run ./cmd/simrun -seeds 1-1000 -out results/ -scenario raft/FailAgree", exit: -1},
	"JOB_COMPLETION_INDEX=1 SIMRUN_SHARD_COUNT=2 go run ./cmd/simrun -seeds 1-1000 -out results/": {
		run: "JOB_COMPLETION_INDEX=1 SIMRUN_SHARD_COUNT=2 go run ./cmd/simrun -seeds 1-1000 -out results/ -scenario raft/FailAgree", exit: -1},
	// A history with a stale read: not linearizable.
	`printf '%s\n' '{"client":1,"op":"put","key":"x","value":"a","call":0,"return":10}' '{"client":2,"op":"get","key":"x","output":"","call":20,"return":30}' | go run ./cmd/simrun check -out out/ -`: {
		run: `printf '%s\n' '{"client":1,"op":"put","key":"x","value":"a","call":0,"return":10}' '{"client":2,"op":"get","key":"x","output":"","call":20,"return":30}' | go run ./cmd/simrun check -out out/ -`, exit: exitFail},
	"docker build -f deploy/Dockerfile -t simrun .": {skip: "needs a container engine, which CI does not have", exit: -1},
	"kubectl apply -f deploy/kubernetes/job.yaml":   {skip: "needs a Kubernetes cluster; TestShardsOfAJobMergeToTheUnsplitSweep runs what its tasks run", exit: -1},
	"kubectl apply -f deploy/kubernetes/merge.yaml": {skip: "needs a Kubernetes cluster; TestShardsOfAJobMergeToTheUnsplitSweep merges as it does", exit: -1},
}

// readmeCommandTimeout bounds one command; the whole test takes seconds.
const readmeCommandTimeout = 2 * time.Minute

const simrunInvocation = "go run ./cmd/simrun"

var (
	fenceRE     = regexp.MustCompile("^```\\s*(\\w*)")
	seedRangeRE = regexp.MustCompile(`-seeds (\d+)-(\d+)`)
)

// readmeCommands returns the commands of README's shell code blocks, in order: comment lines
// dropped, trailing "# ..." comments cut, continued lines joined, spaces collapsed.
func readmeCommands(readme string) []string {
	var cmds []string
	inShell, inBlock := false, false
	pending := ""
	for _, line := range strings.Split(readme, "\n") {
		if m := fenceRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			if !inBlock {
				inBlock, inShell = true, m[1] == "sh" || m[1] == "bash" || m[1] == "shell"
			} else {
				inBlock, inShell = false, false
			}
			continue
		}
		if !inShell {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cmds = append(cmds, strings.Join(strings.Fields(pending+line), " "))
		pending = ""
	}
	return cmds
}

// plan says how the README test treats cmd: the command to run and its exit code, or why it
// does not run; an error for a command it does not know to be fast.
func plan(cmd string) (run string, exit int, skip string, err error) {
	run, exit = cmd, -1
	if rw, ok := readmeRewrites[cmd]; ok {
		if rw.skip != "" {
			return "", 0, rw.skip, nil
		}
		run, exit = rw.run, rw.exit
	} else if !strings.Contains(cmd, simrunInvocation+" ") && !strings.HasSuffix(cmd, simrunInvocation) {
		return "", 0, "", fmt.Errorf("README command %q is not a simrun command: add it to readmeRewrites (cut down, or with the reason it cannot run here)", cmd)
	} else if strings.Contains(cmd, "-hunt") {
		return "", 0, "", fmt.Errorf("README command %q hunts every bug (minutes): add it to readmeRewrites, cut down", cmd)
	} else if m := seedRangeRE.FindStringSubmatch(cmd); m != nil {
		first, _ := strconv.ParseUint(m[1], 10, 64)
		last, _ := strconv.ParseUint(m[2], 10, 64)
		if last-first+1 > maxReadmeSeeds {
			return "", 0, "", fmt.Errorf("README command %q sweeps %d seeds (more than %d): add it to readmeRewrites with a smaller range", cmd, last-first+1, maxReadmeSeeds)
		}
	}
	if exit < 0 {
		switch {
		case strings.Contains(run, "-until"):
			exit = exitInconclusive
		case strings.Contains(run, " -bug ") || strings.Contains(run, " -shrink") || strings.Contains(run, "shrunk-"):
			exit = exitFail
		default:
			exit = exitPass
		}
	}
	// Sweeps share the machine with the rest of the suite.
	if (strings.Contains(run, "-seeds ") || strings.Contains(run, "-hunt")) && !strings.Contains(run, "-parallel") {
		run += " -parallel 2"
	}
	return run, exit, "", nil
}

func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README command; -short skips it")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(string(readme))
	if len(cmds) < 10 {
		t.Fatalf("found only %d commands in README.md's shell blocks: is the extraction broken?\n%q", len(cmds), cmds)
	}
	inReadme := map[string]bool{}
	for _, c := range cmds {
		inReadme[c] = true
	}
	for c := range readmeRewrites { // detguard:unordered each is checked on its own
		if !inReadme[c] {
			t.Errorf("readmeRewrites has %q, which README.md no longer has: remove or update it", c)
		}
	}

	bin := simrunBinary(t)
	work := t.TempDir()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shardIndexEnv+"=") && !strings.HasPrefix(kv, shardCountEnv+"=") {
			env = append(env, kv)
		}
	}
	for _, c := range cmds {
		run, exit, skip, err := plan(c)
		if err != nil {
			t.Error(err)
			continue
		}
		if skip != "" {
			t.Logf("not run: %s: %s", c, skip)
			continue
		}
		dir := work
		if !strings.Contains(run, simrunInvocation) {
			dir = root // go test and the like run in the module
		}
		shell := strings.ReplaceAll(run, simrunInvocation, strconv.Quote(bin))
		ctx, cancel := context.WithTimeout(context.Background(), readmeCommandTimeout)
		cmd := exec.CommandContext(ctx, "bash", "-c", shell)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		got := exitCodeOfProcess(t, cmd.Run())
		cancel()
		if ctx.Err() == context.DeadlineExceeded {
			t.Errorf("README command %q (run as %q) did not finish in %s", c, run, readmeCommandTimeout)
			continue
		}
		t.Logf("exit %d in %s: %s", got, time.Since(start).Round(time.Millisecond), run)
		if got != exit {
			t.Errorf("README command %q (run as %q): exit %d, want %d\n%s", c, run, got, exit, &out)
		}
	}
}

// The planner refuses what it does not know to be fast, and cuts what it knows.
func TestReadmePlan(t *testing.T) {
	for _, c := range []struct {
		cmd, run string
		exit     int
		bad      bool
	}{
		{cmd: "go run ./cmd/simrun -seed 1", run: "go run ./cmd/simrun -seed 1", exit: 0},
		{cmd: "go run ./cmd/simrun -seeds 1-30", run: "go run ./cmd/simrun -seeds 1-30 -parallel 2", exit: 0},
		{cmd: "go run ./cmd/simrun -seeds 1-31", bad: true},
		{cmd: "go run ./cmd/simrun -hunt -bug no-dedup", bad: true},
		{cmd: "go test ./sim", bad: true},
		{cmd: "make everything", bad: true},
		{cmd: "go run ./cmd/simrun -bug no-dedup -seed 1", run: "go run ./cmd/simrun -bug no-dedup -seed 1", exit: 1},
		{cmd: "go run ./cmd/simrun -seed 3 -until 1s", run: "go run ./cmd/simrun -seed 3 -until 1s", exit: 3},
		{cmd: "go run ./cmd/simrun -seeds 1-1000", run: "go run ./cmd/simrun -seeds 1-20 -parallel 2", exit: 0},
	} {
		run, exit, _, err := plan(c.cmd)
		if c.bad {
			if err == nil {
				t.Errorf("%q: planned as %q, want it refused", c.cmd, run)
			}
			continue
		}
		if err != nil || run != c.run || exit != c.exit {
			t.Errorf("%q: %q exit %d (%v), want %q exit %d", c.cmd, run, exit, err, c.run, c.exit)
		}
	}
	cmds := readmeCommands("text\n```sh\n# a comment\ngo run ./cmd/simrun -seed 1   # trailing\ngo run ./cmd/simrun \\\n  -seed 2\n```\n```yaml\nkey: value\n```\n```text\nout/x\n```\n")
	if want := []string{"go run ./cmd/simrun -seed 1", "go run ./cmd/simrun -seed 2"}; strings.Join(cmds, "|") != strings.Join(want, "|") {
		t.Fatalf("extracted %q, want %q", cmds, want)
	}
}
