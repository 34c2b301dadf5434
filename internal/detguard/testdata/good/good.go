// Package good holds code that detguard must accept.
package good

import (
	"maps"
	"math/rand"
	"slices"
	"sort"
	"time"
)

type clock struct{ now time.Duration }

// Now is a method that happens to be called Now: not the host clock.
func (c *clock) Now() time.Duration { return c.now }

func durations(c *clock) time.Duration {
	return c.Now() + 5*time.Millisecond
}

// A local variable named rand shadows the package: rand.Intn is a method call.
func seeded() int {
	rand := rand.New(rand.NewSource(42))
	return rand.Intn(10)
}

func shadowedTime(time int) int { return time + 1 }

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m { // detguard:unordered the keys are sorted right below
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sum(m map[string]int) int {
	total := 0
	// detguard:unordered addition is commutative
	for _, v := range m {
		total += v
	}
	return total
}

func sortedIterator(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

func slicesAndStrings(xs []int, s string) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	for range s {
		n++
	}
	for i := range 10 {
		n += i
	}
	return n
}

func genericSlice[S ~[]E, E any](s S) int {
	n := 0
	for range s {
		n++
	}
	return n
}
