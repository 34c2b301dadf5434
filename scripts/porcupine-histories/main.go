// Command porcupine-histories converts the histories published with Porcupine (its test_data:
// the etcd Jepsen register logs and the 6.824 KV logs) to raftsim's JSON Lines history format,
// and writes the verdict Porcupine's own tests expect of each, so that raftsim's checker can be
// tried on histories nobody here wrote:
//
//	go run ./scripts/porcupine-histories [-out checker/testdata/porcupine]
//
// It reads the porcupine module this repository requires, from the module cache. Times are the
// line numbers of the logs (they order the events; the logs have no clock). Jepsen's register
// becomes the key "register"; nil reads as "" (no write writes ""), integers become strings.
// Jepsen outcomes: ok completes an operation; a failed cas did not swap; a failed (timed-out)
// read and an info (indeterminate) operation, or one still open at the end, never learned
// its outcome ("return": null).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/raftsim/raftsim/checker"
)

const porcupineModule = "github.com/anishathalye/porcupine"

// registerKey is the key Jepsen's single register is checked under.
const registerKey = "register"

func main() {
	out := flag.String("out", "checker/testdata/porcupine", "write the converted histories and expected.txt to `DIR`")
	flag.Parse()
	if err := convertAll(*out); err != nil {
		fmt.Fprintf(os.Stderr, "porcupine-histories: %v\n", err)
		os.Exit(1)
	}
}

func convertAll(outDir string) error {
	moduleDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", porcupineModule).Output()
	if err != nil {
		return fmt.Errorf("finding %s in the module cache (run go mod download): %w", porcupineModule, err)
	}
	dir := strings.TrimSpace(string(moduleDir))
	expected, err := expectedVerdicts(filepath.Join(dir, "porcupine_test.go"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(expected))
	for name := range expected {
		names = append(names, name)
	}
	sort.Strings(names)
	var manifest bytes.Buffer
	fmt.Fprintf(&manifest, "# Porcupine's published histories and the verdicts its tests expect (written by scripts/porcupine-histories).\n")
	for _, name := range names {
		var history []checker.Op
		if strings.HasPrefix(name, "etcd_") {
			history, err = convertJepsen(filepath.Join(dir, "test_data", "jepsen", name+".log"))
		} else {
			history, err = convertKV(filepath.Join(dir, "test_data", "kv", name+".txt"))
		}
		if err != nil {
			return err
		}
		var file bytes.Buffer
		if err := checker.WriteHistory(&file, history); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(outDir, name+".jsonl"), file.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&manifest, "%s %s\n", name, expected[name])
	}
	fmt.Printf("converted %d histories to %s\n", len(names), outDir)
	return os.WriteFile(filepath.Join(outDir, "expected.txt"), manifest.Bytes(), 0o644)
}

// expectedVerdicts reads which logs Porcupine's tests check and the verdict each expects, from
// calls such as checkJepsen(t, 12, false) and checkKv(t, "c10-ok", true, true).
func expectedVerdicts(testFile string) (map[string]string, error) {
	source, err := os.ReadFile(testFile)
	if err != nil {
		return nil, err
	}
	verdict := map[string]string{"true": "ok", "false": "illegal"}
	expected := make(map[string]string)
	for _, m := range regexp.MustCompile(`checkJepsen\(t, (\d+), (true|false)\)`).FindAllSubmatch(source, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		expected[fmt.Sprintf("etcd_%03d", n)] = verdict[string(m[2])]
	}
	for _, m := range regexp.MustCompile(`checkKv\(t, "([a-z0-9-]+)", (true|false), true\)`).FindAllSubmatch(source, -1) {
		expected[string(m[1])] = verdict[string(m[2])]
	}
	if len(expected) == 0 {
		return nil, fmt.Errorf("%s: no checkJepsen or checkKv calls found", testFile)
	}
	return expected, nil
}

// events builds a history from invoke and completion events, one process at a time.
type events struct {
	history []checker.Op
	open    map[int]int // process -> index in history of its operation in progress
}

// invoke starts op (Pending, called at line) for op.Client's process.
func (e *events) invoke(op checker.Op, line int) {
	if e.open == nil {
		e.open = make(map[int]int)
	}
	op.Call, op.Pending = int64(line), true
	e.open[op.Client] = len(e.history)
	e.history = append(e.history, op)
}

// abandon leaves the process's operation in progress pending: its outcome is unknown.
func (e *events) abandon(process int) { delete(e.open, process) }

// complete returns at line the process's operation in progress, for the caller to fill in.
func (e *events) complete(process, line int) (*checker.Op, error) {
	i, ok := e.open[process]
	if !ok {
		return nil, fmt.Errorf("line %d: process %d completes an operation it never invoked", line, process)
	}
	delete(e.open, process)
	op := &e.history[i]
	op.Pending, op.Return = false, int64(line)
	return op, nil
}

var jepsenLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*)$`)
var casArguments = regexp.MustCompile(`^\[(\d+) (\d+)\]$`)

// convertJepsen converts an etcd register log of Jepsen.
func convertJepsen(path string) ([]checker.Op, error) {
	var e events
	err := eachLine(path, func(line int, text string) error {
		m := jepsenLine.FindStringSubmatch(text)
		if m == nil {
			return fmt.Errorf("line %d: not a Jepsen register event: %q", line, text)
		}
		process, _ := strconv.Atoi(m[1])
		kind, f, value := m[2], m[3], m[4]
		if kind == "invoke" {
			op := checker.Op{Client: process, Key: registerKey}
			switch f {
			case "read":
				op.Kind = checker.OpGet
			case "write":
				op.Kind, op.Value = checker.OpPut, value
			case "cas":
				arguments := casArguments.FindStringSubmatch(value)
				if arguments == nil {
					return fmt.Errorf("line %d: cas arguments %q", line, value)
				}
				op.Kind, op.Expected, op.Value = checker.OpCAS, arguments[1], arguments[2]
			}
			e.invoke(op, line)
			return nil
		}
		switch {
		case kind == "info", kind == "fail" && f == "read":
			e.abandon(process)
			return nil
		case kind == "fail" && f != "cas":
			return fmt.Errorf("line %d: a failed %s is not expected in these logs", line, f)
		}
		op, err := e.complete(process, line)
		if err != nil {
			return err
		}
		switch f {
		case "read":
			if value != "nil" {
				op.Output = value
			}
		case "cas":
			op.OK = kind == "ok"
		}
		return nil
	})
	return e.history, err
}

var kvLine = regexp.MustCompile(`^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "([^"\\]*)", :value (nil|"[^"\\]*")\}$`)

// convertKV converts a 6.824 KV log (Jepsen's EDN event maps, one per line).
func convertKV(path string) ([]checker.Op, error) {
	var e events
	err := eachLine(path, func(line int, text string) error {
		m := kvLine.FindStringSubmatch(text)
		if m == nil {
			return fmt.Errorf("line %d: not a KV event: %q", line, text)
		}
		process, _ := strconv.Atoi(m[1])
		value := strings.Trim(m[5], `"`)
		if m[5] == "nil" {
			value = ""
		}
		kind, err := checker.ParseOpKind(m[3])
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if m[2] == "invoke" {
			op := checker.Op{Client: process, Kind: kind, Key: m[4]}
			if kind != checker.OpGet {
				op.Value = value
			}
			e.invoke(op, line)
			return nil
		}
		op, err := e.complete(process, line)
		if err != nil {
			return err
		}
		if kind == checker.OpGet {
			op.Output = value
		}
		return nil
	})
	return e.history, err
}

func eachLine(path string, f func(line int, text string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	line := 0
	for scanner.Scan() {
		line++
		if err := f(line, scanner.Text()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if line == 0 {
		return errors.New(path + ": empty")
	}
	return scanner.Err()
}
