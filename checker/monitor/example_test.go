package monitor_test

import (
	"fmt"

	"github.com/raftsim/raftsim/checker/monitor"
)

func Example() {
	m := monitor.New(3)
	m.OnViolation(func(v monitor.Violation) { fmt.Println(v.Property, "at", v.At) })
	m.SetNow(1_500_000_000)
	m.PersistedTerm(0, 4)
	m.BecameLeader(0, 4)
	m.PersistedTerm(2, 4)
	m.BecameLeader(2, 4)
	fmt.Println(m.Violation().Message)
	// Output:
	// election-safety at 1500000000
	// election safety: nodes 0 and 2 both leader in term 4
}
