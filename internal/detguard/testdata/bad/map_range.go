package bad

type registry map[string]int

func lookup() map[int]bool { return nil }

func mapRanges(m map[string]int, r registry) int {
	total := 0
	for _, v := range m { // want map-range
		total += v
	}
	for k := range r { // want map-range
		total += len(k)
	}
	for k := range lookup() { // want map-range
		total += k
	}
	// detguard:unordered
	for _, v := range m { // want map-range
		total += v
	}
	return total
}
