package ldapserver

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestUnionMergesSortedSets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		k := r.IntN(7)
		sets := make([][]int32, k)
		seen := map[int32]bool{}
		for i := range sets {
			for v := int32(0); v < 300; v++ {
				if r.IntN(4) == 0 {
					sets[i] = append(sets[i], v)
					seen[v] = true
				}
			}
		}
		var want []int32
		for v := range seen {
			want = append(want, v)
		}
		slices.Sort(want)
		if got := union(sets); !slices.Equal(got, want) {
			t.Fatalf("round %d, %d sets: got %v, want %v", round, k, got, want)
		}
	}
}
