package entropy

import (
	"crypto/rand"
	"math/big"
	"testing"
)

// counter is a deterministic Stream.
type counter struct{ n uint64 }

func (c *counter) Uint64() uint64 { c.n++; return c.n * 0x9e3779b97f4a7c15 }

func draws(src Stream) []int64 {
	Lock(src)
	defer Unlock()
	var out []int64
	for i := 0; i < 20; i++ {
		v, err := rand.Int(rand.Reader, big.NewInt(1000))
		if err != nil {
			panic(err)
		}
		out = append(out, v.Int64())
	}
	return out
}

func TestLockedReadsComeFromTheStream(t *testing.T) {
	a, b := draws(&counter{}), draws(&counter{})
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same stream, different draws: %v vs %v", a, b)
		}
	}
	c := draws(&counter{n: 7})
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatalf("different streams drew the same values %v", a)
	}
	// Outside a lock, crypto/rand still reads the operating system.
	x, y := make([]byte, 16), make([]byte, 16)
	rand.Reader.Read(x)
	rand.Reader.Read(y)
	if string(x) == string(y) {
		t.Fatal("two unlocked reads returned the same 16 bytes")
	}
}
