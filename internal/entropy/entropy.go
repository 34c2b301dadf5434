// Package entropy makes a library that draws randomness from crypto/rand.Reader deterministic
// inside a simulation. etcd-io/raft, for one, draws every randomized election timeout from
// crypto/rand (its package-level globalRand), so a run hosting it would differ from process to
// process whatever its seed. The host of such a library calls it only between Lock(stream) and
// Unlock: while the lock is held, crypto/rand.Reader reads from the node's seeded stream.
//
// crypto/rand.Reader is a process-wide variable, so this takes it over for the process once the
// first Lock runs: reads outside a Lock still get operating-system randomness, but one lock
// serializes every locked library call of the process (parallel sweeps keep their other work
// in parallel). Code that passes crypto/rand.Reader explicitly for cryptography must not share
// a process with simulations that use this package; raftsim's command does no cryptography.
package entropy

import (
	"crypto/rand"
	"io"
	"sync"
)

// Stream is a seeded source of bytes (sim.Rand).
type Stream interface {
	Uint64() uint64
}

var (
	mu      sync.Mutex
	current Stream // set while mu is held
	install sync.Once
	osRand  io.Reader
)

// Lock routes crypto/rand.Reader to src until Unlock. Calls do not nest.
func Lock(src Stream) {
	install.Do(func() {
		osRand = rand.Reader
		rand.Reader = reader{}
	})
	mu.Lock()
	current = src
}

// Unlock ends the routing started by Lock; call it deferred, so that a panic in the library
// releases the lock.
func Unlock() {
	current = nil
	mu.Unlock()
}

// reader is what crypto/rand.Reader becomes.
type reader struct{}

func (reader) Read(p []byte) (int, error) {
	src := current
	if src == nil {
		return osRand.Read(p)
	}
	for i := 0; i < len(p); i += 8 {
		v := src.Uint64()
		for j := i; j < len(p) && j < i+8; j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
	return len(p), nil
}
