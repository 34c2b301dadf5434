package simrun

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/raftsim/raftsim/sut"
)

// rootModule is the module path whose directory is the repository root.
const rootModule = "github.com/raftsim/raftsim"

// runElsewhere runs simrun for an SUT that another module of this repository builds (a second
// version of a library: Go builds one version of a module at a time). It builds that module's
// simrun and runs it with the same arguments, in the same directory, so that relative paths
// keep their meaning; its output and exit code are this run's. Every SIGINT and SIGTERM this
// process gets is passed on to the child, which runs in a process group of its own so that a
// terminal's Ctrl-C reaches it once: the child stops as simrun does (a sweep keeps what
// finished), and a second signal stops it at once.
func runElsewhere(target *sut.SUT, args []string, stdout, stderr io.Writer) (int, error) {
	root, err := repositoryRoot()
	if err != nil {
		return exitUsage, fmt.Errorf("-sut %s is built by the module in %s of raftsim's repository: %w", target.Name, target.Module, err)
	}
	tmp, err := os.MkdirTemp("", "raftsim-simrun-")
	if err != nil {
		return exitUsage, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "simrun")
	build := exec.Command("go", "build", "-o", bin, "./cmd/simrun")
	build.Dir = filepath.Join(root, filepath.FromSlash(target.Module))
	var buildOut bytes.Buffer
	build.Stdout, build.Stderr = &buildOut, &buildOut
	if err := build.Run(); err != nil {
		return exitUsage, fmt.Errorf("building the simrun of -sut %s (go build ./cmd/simrun in %s): %v\n%s", target.Name, build.Dir, err, buildOut.String())
	}
	run := exec.Command(bin, args...)
	run.Stdout, run.Stderr = stdout, stderr // no path of simrun that runs elsewhere reads standard input
	run.SysProcAttr = ownProcessGroup()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := run.Start(); err != nil {
		return exitUsage, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-signals:
				run.Process.Signal(sig) // an error means the child has exited: nothing to stop
			case <-done:
				return
			}
		}
	}()
	err = run.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return exitUsage, err
	}
	return exitPass, nil
}

// repositoryRoot finds the directory of the main module: above the working directory, or
// else where this file was compiled from.
func repositoryRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isRootModule(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("no checkout of %s found above the working directory: run simrun from the repository", rootModule)
}

// isRootModule reports whether the go.mod file at path declares the main module.
func isRootModule(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(rest) == rootModule
		}
	}
	return false
}
