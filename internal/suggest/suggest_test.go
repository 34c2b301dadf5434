package suggest

import (
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	valid := []string{"default", "figure8", "figure8-short", "isolate-leader", "kv/Basic", "raft/Figure8"}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"figure-8", []string{"figure8", "figure8-short", "raft/Figure8"}},
		{"defualt", []string{"default"}},
		{"Basic", []string{"kv/Basic"}},
		{"zzzzzz", nil},
		{"", nil},
	} {
		if got := Closest(tc.name, valid); !slices.Equal(got, tc.want) {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if p := Phrase("etd", []string{"etcd", "raftsim"}); p != ` (did you mean "etcd"?)` {
		t.Errorf("Phrase = %q", p)
	}
}
