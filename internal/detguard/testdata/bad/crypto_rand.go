package bad

import "crypto/rand" // want crypto-rand

func osRandom(buf []byte) {
	_, _ = rand.Read(buf)
}
