package sim

import "math/bits"

// Rand is a small, fast, seedable pseudo-random generator (xoshiro256**, seeded through
// SplitMix64). Its output depends only on its seed: it is identical across Go versions,
// platforms and processes, which math/rand does not promise. It is not safe for concurrent
// use, which the single-threaded kernel never needs.
type Rand struct {
	s0, s1, s2, s3 uint64

	// An instant-keyed stream (newInstantRand) restarts from (key, *clock) whenever the virtual
	// clock has moved since its last draw; clock is nil for a plain sequential stream.
	clock *Time
	key   uint64
	at    Time
}

const (
	splitMixIncrement = 0x9e3779b97f4a7c15
	fnvOffset64       = 0xcbf29ce484222325
	fnvPrime64        = 0x100000001b3
)

// mix64 is the SplitMix64 finaliser: a bijective avalanche of 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func splitMix64(state *uint64) uint64 {
	*state += splitMixIncrement
	return mix64(*state)
}

func fnv1a64(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// StreamSeed derives the seed of the named stream from the run seed. Streams with different
// names are independent, so drawing more from one stream never shifts another one's draws.
func StreamSeed(seed uint64, stream string) uint64 {
	return mix64(mix64(seed+splitMixIncrement) ^ fnv1a64(stream))
}

// NewRand returns the generator of the named stream of the run seed.
func NewRand(seed uint64, stream string) *Rand {
	r := &Rand{}
	r.reseed(StreamSeed(seed, stream))
	return r
}

func (r *Rand) reseed(streamSeed uint64) {
	state := streamSeed
	r.s0 = splitMix64(&state)
	r.s1 = splitMix64(&state)
	r.s2 = splitMix64(&state)
	r.s3 = splitMix64(&state)
	// xoshiro's only forbidden state is all zeros; SplitMix64 cannot produce four zero outputs
	// in a row, but assert it since a zero state would silently return zeros forever.
	if r.s0|r.s1|r.s2|r.s3 == 0 {
		panic("sim: Rand seeded with the all-zero state")
	}
}

// newInstantRand returns a stream whose draws at virtual instant t depend only on (seed,
// stream, t) and on how many draws were made earlier at t: it restarts at every instant.
// A sequential stream's k-th draw depends on every draw before it, so one fault more or less
// early in a run shifts every later draw; an instant-keyed stream keeps the draws of an
// unchanged instant unchanged, which is what lets a shrinker remove faults without
// reshuffling the rest of the run.
func newInstantRand(seed uint64, stream string, clock *Time) *Rand {
	r := &Rand{clock: clock, key: StreamSeed(seed, stream), at: -1}
	r.reseed(r.key) // a valid state until the first draw restarts it
	return r
}

// Uint64 returns 64 uniformly distributed bits.
func (r *Rand) Uint64() uint64 {
	if r.clock != nil && *r.clock != r.at {
		r.at = *r.clock
		r.reseed(mix64(r.key ^ mix64(uint64(r.at))))
	}
	result := bits.RotateLeft64(r.s1*5, 7) * 9
	shifted := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= shifted
	r.s3 = bits.RotateLeft64(r.s3, 45)
	return result
}

// uint64n returns a uniform value in [0, n) without modulo bias (Lemire's multiply-shift with
// rejection). The rejection loop repeats with probability below n/2^64 per round, so it ends
// after one round in practice; it has no fixed bound because a bound would bias the result.
func (r *Rand) uint64n(n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// Intn returns a uniform value in [0, n). It panics if n <= 0.
func (r *Rand) Intn(n int) int {
	if n <= 0 {
		panic("sim: Rand.Intn called with n <= 0")
	}
	return int(r.uint64n(uint64(n)))
}

// Float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *Rand) Float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// Chance returns true with probability p. It always consumes exactly one draw, whatever p, so
// that changing a probability does not shift the stream.
func (r *Rand) Chance(p float64) bool {
	return r.Float64() < p
}

// Between returns a uniform value in [min, max], consuming exactly one draw (except in the
// rejection case of uint64n). It panics if max < min.
func (r *Rand) Between(min, max Time) Time {
	if max < min {
		panic("sim: Rand.Between called with max < min")
	}
	span := uint64(max-min) + 1
	if span == 0 { // the whole int64 range
		return Time(r.Uint64())
	}
	return min + Time(r.uint64n(span))
}

// Perm returns a uniformly random permutation of [0, n).
func (r *Rand) Perm(n int) []int {
	if n < 0 {
		panic("sim: Rand.Perm called with n < 0")
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	r.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}

// Shuffle permutes n elements uniformly (Fisher-Yates), calling swap to exchange two.
func (r *Rand) Shuffle(n int, swap func(i, j int)) {
	if n < 0 {
		panic("sim: Rand.Shuffle called with n < 0")
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.uint64n(uint64(i + 1)))
		swap(i, j)
	}
}
