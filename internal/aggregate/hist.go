package aggregate

import (
	"math"
	"math/bits"
)

// hist is a log-linear histogram of durations in nanoseconds: values below
// 2^subBits are counted exactly, larger ones in 2^subBits buckets per power
// of two, so a percentile is off by at most 1/2^subBits (3%) whatever the
// number of samples, and the histogram never grows.
type hist struct {
	counts   [histBuckets]uint64
	n        uint64
	min, max uint64
}

const (
	subBits     = 5
	subCount    = 1 << subBits
	histBuckets = (64 - subBits + 1) * subCount
)

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // >= subBits
	sub := int(v>>(exp-subBits)) & (subCount - 1)
	return (exp-subBits+1)*subCount + sub
}

// bucketMax returns the largest value that lands in bucket i.
func bucketMax(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(subCount+i%subCount) << shift
	return low + (1 << shift) - 1
}

func (h *hist) add(v uint64) {
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)]++
	h.n++
}

// quantile returns the value at quantile q (0 < q <= 1): the upper bound of
// the bucket holding the ceil(q*n)-th smallest sample, kept within the
// observed minimum and maximum so that identical samples report exactly.
func (h *hist) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(bucketMax(i), h.min), h.max)
		}
	}
	return h.max
}
