package simhost

import (
	"testing"

	"github.com/raftsim/raftsim/internal/detguard"
)

// The host runs inside simulations: it must follow the determinism rules (no clock, no global
// randomness, no goroutines or channels, no map iteration that can reach behaviour).
func TestHostIsDeterministic(t *testing.T) {
	findings, err := detguard.Check(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Text)
	}
}
