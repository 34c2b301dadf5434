package bad

import (
	"maps"
	"slices"
)

func mapIterators(m map[string]int) []int {
	for k := range maps.Keys(m) { // want map-iterator
		_ = k
	}
	return slices.Collect(maps.Values(m)) // want map-iterator
}
