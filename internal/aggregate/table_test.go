package aggregate

import (
	"math/rand/v2"
	"testing"
)

// TestTableMatchesMap drives the index with random inserts and removals,
// through growth and wrap-around, and checks every lookup against a map.
func TestTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tb := newTable()
	model := map[hkey]uint32{}
	keys := make([]hkey, 0, 5000)
	for i := range 5000 {
		keys = append(keys, tb.hash(key{netns: 1, lport: uint16(i), rport: 80, family: 4}))
	}
	for range 200000 {
		k := keys[rng.IntN(len(keys))]
		if id, ok := model[k]; ok {
			if got := tb.find(&k, phaseTW); got != id {
				t.Fatalf("find %v = %d, want %d", k, got, id)
			}
			tb.remove(id)
			delete(model, k)
		} else {
			if got := tb.find(&k, phaseTW); got != 0 {
				t.Fatalf("find absent %v = %d", k, got)
			}
			model[k] = tb.insert(&k, phaseTW)
		}
	}
	for _, k := range keys {
		if got := tb.find(&k, phaseTW); got != model[k] {
			t.Fatalf("final find %v = %d, want %d", k, got, model[k])
		}
		if tb.find(&k, phaseLive) != 0 {
			t.Fatalf("found %v in the wrong phase", k)
		}
	}
	if tb.n != len(model) {
		t.Errorf("n = %d, want %d", tb.n, len(model))
	}
}
