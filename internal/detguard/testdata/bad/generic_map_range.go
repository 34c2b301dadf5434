package bad

func genericKeys[M ~map[K]V, K comparable, V any](m M) []K {
	var keys []K
	for k := range m { // want map-range
		keys = append(keys, k)
	}
	return keys
}
