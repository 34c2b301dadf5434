package simrun

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The deploy/ examples cannot be run here (no container engine, no cluster, no GitHub), but
// what they ask of simrun can be checked: their arguments are valid flags, and the Job passes
// the shard count its completions say.
func TestDeployExamplesUseValidFlags(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("../../deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	argsOf := func(name, manifest string) []string {
		m := regexp.MustCompile(`(?m)^\s*args: (\[.*\])`).FindStringSubmatch(manifest)
		if m == nil {
			t.Fatalf("%s: no args: [...] line", name)
		}
		var args []string
		if err := json.Unmarshal([]byte(m[1]), &args); err != nil {
			t.Fatalf("%s: args %s: %v", name, m[1], err)
		}
		return args
	}

	job := read("kubernetes/job.yaml")
	completions := regexp.MustCompile(`(?m)^\s*completions: (\d+)`).FindStringSubmatch(job)
	count := regexp.MustCompile(`(?s)name: ` + shardCountEnv + `\s+value: "(\d+)"`).FindStringSubmatch(job)
	if completions == nil || count == nil || completions[1] != count[1] {
		t.Fatalf("job.yaml: completions %v and %s %v must be set and equal", completions, shardCountEnv, count)
	}
	t.Setenv(shardIndexEnv, "0")
	t.Setenv(shardCountEnv, count[1])
	o, err := parseFlags(argsOf("job.yaml", job), &bytes.Buffer{})
	if n, _ := strconv.Atoi(count[1]); err != nil || !o.sweep || o.outDir == "" || o.shardIndex != 1 || o.shardCount != n {
		t.Fatalf("job.yaml's args: %+v %v", o, err)
	}
	if args := argsOf("merge.yaml", read("kubernetes/merge.yaml")); args[0] != "merge" || args[1] != o.outDir {
		t.Fatalf("merge.yaml merges %v, the Job writes to %s", args, o.outDir)
	}

	workflow := read("github-actions/sweep.yml")
	matrix := regexp.MustCompile(`shard: \[([\d, ]+)\]`).FindStringSubmatch(workflow)
	runs := regexp.MustCompile(`run: go run ./cmd/simrun (.*)`).FindAllStringSubmatch(workflow, -1)
	if matrix == nil || len(runs) != 2 {
		t.Fatalf("sweep.yml: matrix %v, simrun commands %v", matrix, runs)
	}
	shards := len(strings.Split(matrix[1], ","))
	os.Unsetenv(shardIndexEnv) // t.Setenv restores both after the test
	os.Unsetenv(shardCountEnv)
	sweepArgs := strings.Fields(strings.ReplaceAll(runs[0][1], "${{ matrix.shard }}", "1"))
	if o, err := parseFlags(sweepArgs, &bytes.Buffer{}); err != nil || o.shardCount != shards || o.outDir == "" {
		t.Fatalf("sweep.yml's sweep %v over a matrix of %d shards: %+v %v", sweepArgs, shards, o, err)
	}
	if merge := strings.Fields(runs[1][1]); merge[0] != "merge" || len(merge) != 2 {
		t.Fatalf("sweep.yml's merge: %v", merge)
	}
	if !strings.Contains(read("Dockerfile"), "FROM golang:1.26 AS build") || !strings.Contains(read("Dockerfile"), "./cmd/simrun") {
		t.Fatal("Dockerfile: want a golang:1.26 build stage that builds ./cmd/simrun")
	}
}
