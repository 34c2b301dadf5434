// Package rapidchecks sets how many cases a rapid property test generates, for tests whose
// assertions need a minimum number of cases (a generator-coverage check, a bug search) in
// -short mode too, where rapid runs a fifth of -rapid.checks.
package rapidchecks

import (
	"flag"
	"strconv"
	"testing"
)

// Set makes the calling test generate n cases, in -short mode too, unless -rapid.checks was
// given on the command line (the user's choice wins). The flag is restored when the test ends.
// It needs rapid's flags, which the test binary has when it imports pgregory.net/rapid.
func Set(t testing.TB, n int) {
	t.Helper()
	f := flag.Lookup("rapid.checks")
	if f == nil {
		t.Fatal("rapidchecks: no -rapid.checks flag: the test binary does not import pgregory.net/rapid")
	}
	if f.Value.String() != f.DefValue {
		return
	}
	if testing.Short() {
		n *= 5 // rapid divides by 5 in -short mode
	}
	if err := flag.Set("rapid.checks", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set("rapid.checks", f.DefValue) })
}
