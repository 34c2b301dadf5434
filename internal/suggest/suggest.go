// Package suggest finds the valid names closest to a mistyped one, for error messages that say
// what the user probably meant.
package suggest

import "strings"

// maxSuggestions bounds how many names Closest returns.
const maxSuggestions = 3

// Closest returns up to three names of valid closest to name: names that contain it or that it
// contains (ignoring case and the separators - _ / .), else names within an edit distance of
// a third of name's length (at least 2), nearest first; ties keep the order of valid.
func Closest(name string, valid []string) []string {
	key := normalize(name)
	if key == "" {
		return nil
	}
	type candidate struct {
		name     string
		distance int
	}
	var found []candidate
	limit := max(2, len(key)/3)
	for _, v := range valid {
		vk := normalize(v)
		d := editDistance(key, vk)
		if strings.Contains(vk, key) || strings.Contains(key, vk) {
			d = min(d, 1)
		}
		if d <= limit {
			found = append(found, candidate{v, d})
		}
	}
	// Insertion sort: stable, and the lists are short.
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].distance < found[j-1].distance; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	out := make([]string, 0, maxSuggestions)
	for i := 0; i < len(found) && i < maxSuggestions; i++ {
		out = append(out, found[i].name)
	}
	return out
}

// Phrase is Closest as the end of an error message: ` (did you mean "a" or "b"?)`, or "" when
// nothing is close.
func Phrase(name string, valid []string) string {
	c := Closest(name, valid)
	if len(c) == 0 {
		return ""
	}
	quoted := make([]string, len(c))
	for i, n := range c {
		quoted[i] = `"` + n + `"`
	}
	return " (did you mean " + strings.Join(quoted, " or ") + "?)"
}

func normalize(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '/', '.':
			return -1
		}
		return r
	}, s)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
