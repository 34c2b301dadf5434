//go:build !unix

package checker

import "time"

// processCPUTime is not measured on this platform (the benchmarks report 0).
func processCPUTime() time.Duration { return 0 }
