package bad

import randv2 "math/rand/v2"

func globalRandV2() int {
	seeded := randv2.New(randv2.NewPCG(1, 2)) // a seeded generator is fine
	_ = seeded.IntN(10)
	_ = randv2.N(10)      // want math-rand
	return randv2.IntN(5) // want math-rand
}
