package sut

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raftsim/raftsim/internal/suggest"
	"github.com/raftsim/raftsim/sim"
)

// DefaultName is the system under test of a run that names none: raftsim's own raft.
const DefaultName = "raftsim"

// SUT is a registered system under test.
type SUT struct {
	// Name is what simrun -sut takes: the library, and "@version" for a second version.
	Name        string
	Description string
	// Bugs are the planted bugs this host can switch on (Config.Bug).
	Bugs []Bug
	// NewServer builds one peer incarnation from a validated, defaulted Config. It is nil
	// for an SUT built by another module (Module).
	NewServer func(cfg Config) Server
	// Describe decodes a payload whose first byte is TagConsensus; ok false when it does not
	// decode.
	Describe func(payload []byte) (m Message, ok bool)
	// OrderedLinks: the library's real transport delivers each pair's messages in order (TCP
	// streams), and it relies on that for progress, so runs keep simulated links in send
	// order (sim.NetworkConfig.Ordered). Loss, duplication and delay still apply.
	OrderedLinks bool
	// Module, for an SUT whose library version cannot be built into this binary (Go builds
	// one version of a module at a time), is the directory of the Go module that builds a
	// simrun with it, relative to the repository root.
	Module string
	// Classify, when set, tells a consensus payload's kind and whether it is a rejection
	// without decoding the rest of it: what a harness that watches every message (fault
	// triggers) needs, at a fraction of Describe's cost. Nil: such harnesses use Describe.
	Classify func(payload []byte) (kind MessageKind, reject bool, ok bool)
	// Probes are the code probes the host's library reports through Config.Probe.
	Probes []Probe
}

// Probe is a named code probe: a rare situation a run may or may not reach.
type Probe struct {
	Name        string
	Description string
}

// ClassifyMessage returns the kind of a consensus payload and whether it rejects (Classify, else
// Describe).
func (s *SUT) ClassifyMessage(payload []byte) (kind MessageKind, reject bool, ok bool) {
	if s.Classify != nil {
		return s.Classify(payload)
	}
	m, ok := s.Describe(payload)
	return m.Kind, m.Reject, ok
}

// Bug is a planted bug of a host.
type Bug struct {
	Name        string
	Description string
}

// Runs reports whether this binary can run the SUT (as opposed to handing it to Module).
func (s *SUT) Runs() bool { return s.NewServer != nil }

// HasBug reports whether name is one of the SUT's planted bugs.
func (s *SUT) HasBug(name string) bool {
	for _, b := range s.Bugs {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Factory validates cfg and returns a builder of the SUT's peers for a sim node factory.
func (s *SUT) Factory(cfg Config) (func(id sim.NodeID) Server, error) {
	if !s.Runs() {
		return nil, fmt.Errorf("sut: %s is built by the module in %s, not by this binary", s.Name, s.Module)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Bug != "" && !s.HasBug(cfg.Bug) {
		return nil, fmt.Errorf("sut: %s has no planted bug %q", s.Name, cfg.Bug)
	}
	cfg = cfg.WithDefaults()
	return func(id sim.NodeID) Server { return s.NewServer(cfg) }, nil
}

var registry = map[string]*SUT{}

// Register adds an SUT; hosts call it from their package's init. A second registration of a
// name panics.
func Register(s *SUT) {
	switch {
	case s.Name == "" || strings.ContainsAny(s.Name, " \t\n/"):
		panic(fmt.Sprintf("sut: bad SUT name %q", s.Name))
	case registry[s.Name] != nil:
		panic("sut: duplicate SUT " + s.Name)
	case (s.NewServer == nil) == (s.Module == ""):
		panic("sut: " + s.Name + " must have exactly one of NewServer and Module")
	case s.NewServer != nil && s.Describe == nil:
		panic("sut: " + s.Name + " has no Describe")
	}
	registry[s.Name] = s
}

// Lookup returns the named SUT ("" is DefaultName), or an error that lists the valid names.
func Lookup(name string) (*SUT, error) {
	if name == "" {
		name = DefaultName
	}
	if s, ok := registry[name]; ok {
		return s, nil
	}
	return nil, &UnknownError{Name: name, Valid: Names()}
}

// UnknownError is Lookup's error for a name that is not registered.
type UnknownError struct {
	Name  string
	Valid []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown system under test %q%s; valid: %s", e.Name, suggest.Phrase(e.Name, e.Valid), strings.Join(e.Valid, ", "))
}

// Names returns the registered names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for name := range registry { // detguard:unordered sorted below
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// All returns every registered SUT, sorted by name.
func All() []*SUT {
	out := make([]*SUT, 0, len(registry))
	for _, name := range Names() {
		out = append(out, registry[name])
	}
	return out
}
