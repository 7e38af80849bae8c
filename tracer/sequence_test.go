//go:build linux

package tracer

import (
	"math"
	"slices"
	"testing"
)

// batch encodes events as one ring-buffer record of a CPU's stage.
func batch(cpu uint32, ts ...uint64) []byte {
	var b []byte
	for _, t := range ts {
		b = append(b, raw(twtraceEvent{Ts: t, Cpu: cpu})...)
	}
	return b
}

func released(s *sequencer, w uint64) (ts []uint64, cpus []uint32) {
	s.release(w, func(r *twtraceEvent) {
		ts = append(ts, r.Ts)
		cpus = append(cpus, r.Cpu)
	})
	return ts, cpus
}

func TestSequencerReleasesInTimeOrderUpToTheWatermark(t *testing.T) {
	var s sequencer
	// CPU 1's batch reaches the ring before CPU 0's older events.
	s.add(batch(1, 5, 6, 9))
	s.add(batch(0, 1, 2, 8))
	if got, _ := released(&s, 7); !slices.Equal(got, []uint64{1, 2, 5, 6}) {
		t.Errorf("released %v below 7, want 1 2 5 6", got)
	}
	s.add(batch(0, 7))
	if got, _ := released(&s, 9); !slices.Equal(got, []uint64{7, 8}) {
		t.Errorf("released %v below 9, want the late 7 and the kept 8", got)
	}
	if got, _ := released(&s, math.MaxUint64); !slices.Equal(got, []uint64{9}) {
		t.Errorf("released %v at the end, want 9", got)
	}
	if got, _ := released(&s, math.MaxUint64); len(got) != 0 {
		t.Errorf("released %v again", got)
	}
}

func TestSequencerKeepsArrivalOrderForEqualTimes(t *testing.T) {
	var s sequencer
	s.add(batch(0, 3))
	s.add(batch(1, 3))
	s.add(batch(2, 3))
	if _, cpus := released(&s, 4); !slices.Equal(cpus, []uint32{0, 1, 2}) {
		t.Errorf("released CPUs %v, want arrival order 0 1 2", cpus)
	}
}

func TestSequencerIgnoresATrailingPartialEvent(t *testing.T) {
	var s sequencer
	b := batch(0, 1, 2)
	s.add(b[:len(b)-1])
	if got, _ := released(&s, math.MaxUint64); !slices.Equal(got, []uint64{1}) {
		t.Errorf("released %v, want only the whole event 1", got)
	}
}

// BenchmarkSequencer is the reordering cost per event at the reference
// workload's pace: two CPUs' batches of 16 interleaved, about 1,400 events
// a drain, a quarter of them kept for the next drain.
func BenchmarkSequencer(b *testing.B) {
	const perDrain, perBatch = 1400, 16
	var recs [][]byte
	for i := 0; i < perDrain/perBatch; i++ {
		ts := make([]uint64, perBatch)
		for j := range ts {
			ts[j] = uint64((i/2)*perBatch*2+j*2+i%2) * 7000
		}
		recs = append(recs, batch(uint32(i%2), ts...))
	}
	var s sequencer
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			s.add(r)
		}
		s.release(perDrain*3/4*7000, func(*twtraceEvent) {})
		s.release(math.MaxUint64, func(*twtraceEvent) {})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perDrain), "ns/event")
}
