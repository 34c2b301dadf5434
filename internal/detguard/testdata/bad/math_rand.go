package bad

import "math/rand"

func globalRand() int {
	seeded := rand.New(rand.NewSource(1)) // a seeded generator is fine
	_ = seeded.Intn(10)
	_ = rand.Float64()  // want math-rand
	return rand.Intn(3) // want math-rand
}
