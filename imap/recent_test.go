package imap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The cursor agrees with a plain lookup whatever order the uids are asked in.
func TestRecentCursor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		set := map[uint32]bool{}
		var recent []uint32
		for u := uint32(1); u <= 60; u++ {
			if rng.IntN(3) == 0 {
				set[u] = true
				recent = append(recent, u)
			}
		}
		asks := make([]uint32, rng.IntN(80))
		for i := range asks {
			asks[i] = uint32(rng.IntN(64))
		}
		if round%2 == 0 {
			slices.Sort(asks) // a FETCH of a sequence set
		}
		c := recentCursor{uids: recent}
		for _, u := range asks {
			if got := c.has(u); got != set[u] {
				t.Fatalf("round %d: has(%d) = %v, recent %v, asked %v", round, u, got, recent, asks)
			}
		}
	}
}
