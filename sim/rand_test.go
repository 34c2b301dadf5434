package sim

import (
	"math"
	"slices"
	"testing"
)

// The reference xoshiro256** outputs for the state {1, 2, 3, 4}, as produced by the authors'
// C implementation.
func TestXoshiroMatchesReference(t *testing.T) {
	r := &Rand{s0: 1, s1: 2, s2: 3, s3: 4}
	want := []uint64{11520, 0, 1509978240, 1215971899390074240}
	for i, w := range want {
		if got := r.Uint64(); got != w {
			t.Fatalf("output %d = %d, want %d", i, got, w)
		}
	}
}

// Seeds must replay forever: these values pin StreamSeed and NewRand so that a change that
// would silently change every recorded seed's run fails here first.
func TestStreamsAreStable(t *testing.T) {
	if got := StreamSeed(1, "net/latency"); got != 0x50ef7922bebf64d1 {
		t.Fatalf("StreamSeed(1, net/latency) = %#x", got)
	}
	r := NewRand(1, "golden")
	for i, want := range []uint64{0x62438a52c4408aa0, 0x1d7d661ff054951d, 0x217c8c5f0825fd34} {
		if got := r.Uint64(); got != want {
			t.Fatalf("NewRand(1, golden) output %d = %#x, want %#x", i, got, want)
		}
	}
	if got := NewRand(0, "").Uint64(); got != 0xee8e4caeac743bdf {
		t.Fatalf("NewRand(0, \"\") first output = %#x", got)
	}
}

func TestStreamIndependence(t *testing.T) {
	draw := func(extraB int) []uint64 {
		s := New(Config{Seed: 99})
		a, b := s.Rand("A"), s.Rand("B")
		var out []uint64
		for i := 0; i < 100; i++ {
			out = append(out, a.Uint64())
			for j := 0; j < extraB; j++ {
				b.Uint64()
			}
		}
		return out
	}
	if !slices.Equal(draw(0), draw(7)) {
		t.Fatal("drawing more from stream B changed stream A")
	}
	s := New(Config{Seed: 99})
	if s.Rand("A") != s.Rand("A") {
		t.Fatal("Sim.Rand returned two generators for one stream name")
	}
	if NewRand(99, "A").Uint64() == NewRand(99, "B").Uint64() ||
		NewRand(99, "A").Uint64() == NewRand(100, "A").Uint64() {
		t.Fatal("different streams or seeds start with the same value")
	}
}

func TestRandRanges(t *testing.T) {
	r := NewRand(3, "ranges")
	counts := make([]int, 10)
	const draws = 100_000
	for i := 0; i < draws; i++ {
		counts[r.Intn(10)]++
		if f := r.Float64(); f < 0 || f >= 1 {
			t.Fatalf("Float64() = %v", f)
		}
		if v := r.Between(-5, 5); v < -5 || v > 5 {
			t.Fatalf("Between(-5, 5) = %v", v)
		}
	}
	for digit, c := range counts {
		if math.Abs(float64(c)-draws/10) > 5*math.Sqrt(draws*0.1*0.9) {
			t.Fatalf("Intn(10) gave %d %d times out of %d", digit, c, draws)
		}
	}
	if r.Between(7, 7) != 7 {
		t.Fatal("Between(7, 7) != 7")
	}
	if got := r.Between(math.MinInt64, math.MaxInt64); got == 0 && r.Between(math.MinInt64, math.MaxInt64) == 0 {
		t.Fatal("Between over the whole range returned 0 twice")
	}
	trues := 0
	for i := 0; i < draws; i++ {
		if r.Chance(0.25) {
			trues++
		}
	}
	if math.Abs(float64(trues)-draws/4) > 5*math.Sqrt(draws*0.25*0.75) {
		t.Fatalf("Chance(0.25) true %d times out of %d", trues, draws)
	}
	if r.Chance(0) || !r.Chance(1) {
		t.Fatal("Chance(0) or Chance(1) wrong")
	}
	perm := r.Perm(50)
	sorted := slices.Clone(perm)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("Perm(50) is not a permutation: %v", perm)
		}
	}
	if slices.IsSorted(perm) {
		t.Fatal("Perm(50) returned the identity")
	}
	for _, bad := range []func(){func() { r.Intn(0) }, func() { r.Between(2, 1) }, func() { r.Perm(-1) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("invalid argument did not panic")
				}
			}()
			bad()
		}()
	}
}
