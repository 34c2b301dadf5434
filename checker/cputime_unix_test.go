//go:build unix

package checker

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time (user and system) the process has used: benchmarks report it
// beside wall time, which on a shared machine says more about the other load than about the code.
func processCPUTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
