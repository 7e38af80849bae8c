package record

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

// fuzzAllocBudget bounds what replaying any input may allocate: the
// Reader's fixed state (about 250 KiB: buffers, decoder tables, the block
// context), a multiple of the input, and room for one frame decoded to the
// 4 MiB limit with zstd's window, because a frame that passes its
// checksums may legitimately decompress to that much.
func fuzzAllocBudget(input int) uint64 {
	return 1<<20 + 2*maxRawSize + 64*uint64(input)
}

// FuzzReader replays arbitrary input the way the CLI does with
// --skip-corrupt, and checks that it never panics, always ends, and
// allocates no more than the input justifies. The seed corpus holds a small
// recording cut at every byte, and damaged copies of it.
func FuzzReader(f *testing.F) {
	data := record(f, testMeta(), testSnapshot(2), plainEventsForFuzz(), 15)
	for cut := range len(data) + 1 {
		f.Add(data[:cut])
	}
	for i := 0; i < len(data); i += 13 {
		d := bytes.Clone(data)
		d[i] ^= 0x55
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		replayFuzz(t, in)
		runtime.ReadMemStats(&after)
		if got, budget := after.TotalAlloc-before.TotalAlloc, fuzzAllocBudget(len(in)); got > budget {
			t.Fatalf("replaying %d bytes allocated %d bytes, more than the budget of %d", len(in), got, budget)
		}
	})
}

// plainEventsForFuzz is a short varied stream: churn and plausible events.
func plainEventsForFuzz() []event.Event {
	return append(churnEvents(9, 40), plausibleEventsSeeded(9, 20)...)
}

// replayFuzz reads in to the end, past corrupt frames.
func replayFuzz(t *testing.T, in []byte) {
	r, err := Open(bytes.NewReader(in))
	if err != nil {
		return
	}
	// Every event or error consumes input, and a block of n bytes holds
	// fewer than n events, so this bounds a reader that terminates.
	limit := len(in) * (maxRawSize / 4)
	var e event.Event
	for range limit {
		err := r.Next(&e)
		var ce *CorruptError
		if err != nil && !errors.As(err, &ce) {
			return
		}
	}
	t.Fatalf("replay of %d bytes did not end after %d calls to Next", len(in), limit)
}

// FuzzBlock feeds arbitrary bytes to the block decoder directly, past the
// checksums that keep FuzzReader's mutations from reaching it.
func FuzzBlock(f *testing.F) {
	for _, evs := range [][]event.Event{churnEvents(4, 60), plausibleEventsSeeded(4, 60)} {
		var enc blockEncoder
		enc.start()
		for i := range evs {
			enc.encode(&evs[i])
		}
		f.Add(enc.buf)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var d blockDecoder
		d.start(in)
		var e event.Event
		for range len(in) {
			if d.next(&e) != nil {
				return
			}
		}
	})
}
