//go:build linux

package tracer

import (
	"cmp"
	"slices"
	"unsafe"
)

// sequencer puts the kernel's records back in time order. Each CPU stages
// its events and sends them in batches (bpf/maps.h), so the ring holds one
// CPU's events of the last few milliseconds after another's; the decoder
// needs them as they happened, because a tw's birth on one CPU must come
// before its end on another. Events wait here until the stager says every
// event older than a watermark has been read.
type sequencer struct {
	evs  []twtraceEvent // waiting, in arrival order
	keys []seqKey
	next []twtraceEvent // the ones kept by release, in time order
}

// seqKey orders an event by time, then by arrival: one CPU's events reach
// the ring in the order they were staged.
type seqKey struct {
	ts  uint64
	idx int
}

const eventSize = int(unsafe.Sizeof(twtraceEvent{}))

// add keeps the events of one ring-buffer record: one event, or a batch
// a CPU staged. A trailing partial event cannot come from the kernel and
// is ignored.
func (s *sequencer) add(raw []byte) {
	for len(raw) >= eventSize {
		s.evs = append(s.evs, *(*twtraceEvent)(unsafe.Pointer(&raw[0])))
		raw = raw[eventSize:]
	}
}

// release hands f, in time order, every waiting event older than w, and
// keeps the rest for the next call.
func (s *sequencer) release(w uint64, f func(*twtraceEvent)) {
	s.keys = s.keys[:0]
	for i := range s.evs {
		s.keys = append(s.keys, seqKey{s.evs[i].Ts, i})
	}
	slices.SortFunc(s.keys, func(a, b seqKey) int {
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	cut, _ := slices.BinarySearchFunc(s.keys, w, func(k seqKey, w uint64) int { return cmp.Compare(k.ts, w) })
	for _, k := range s.keys[:cut] {
		f(&s.evs[k.idx])
	}
	s.next = s.next[:0]
	for _, k := range s.keys[cut:] {
		s.next = append(s.next, s.evs[k.idx])
	}
	s.evs, s.next = s.next, s.evs
}
