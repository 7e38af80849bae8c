package aggregate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistQuantiles compares the histogram's quantiles with the exact
// ones: within the 1/32 relative error its buckets promise.
func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h hist
	var all []uint64
	for range 10000 {
		v := uint64(rng.ExpFloat64() * 1e9)
		h.add(v)
		all = append(all, v)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subCount {
			t.Errorf("p%v = %d, exact %d", q*100, got, exact)
		}
	}
	if h.quantile(1) != all[len(all)-1] || h.max != all[len(all)-1] {
		t.Errorf("max = %d, want %d", h.max, all[len(all)-1])
	}
}

func TestHistBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 40, 1<<64 - 1} {
		i := bucketOf(v)
		if bucketMax(i) < v || (i > 0 && bucketMax(i-1) >= v) {
			t.Errorf("value %d in bucket %d holding (%d, %d]", v, i, bucketMax(i-1), bucketMax(i))
		}
	}
}
