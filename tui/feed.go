package tui

import (
	"sync"
	"unsafe"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// Source is what the UI reads, once per frame. Implementations are safe
// for concurrent use: the UI reads from its own goroutine while events
// arrive in another.
type Source interface {
	// Snapshot returns the latest aggregate view. It is called once per
	// frame, so it must be cheap.
	Snapshot() *aggregate.Snapshot
	// Events appends the most recent events, oldest first, to dst.
	Events(dst []event.Event) []event.Event
	// Received returns how many events arrived so far, for the events/s
	// of the header.
	Received() uint64
	Meta() *event.Meta
}

// Feed is the Source the command feeds from the goroutine that reads
// events: it owns the aggregate and a fixed ring of the latest events
// behind one mutex, so the reader only ever waits for a snapshot being
// copied, never for the UI to draw.
type Feed struct {
	meta *event.Meta

	mu       sync.Mutex
	agg      *aggregate.Aggregator
	log      []event.Event // ring of the latest events
	next     int           // where the next event goes in log
	n        int           // events in log
	received uint64
}

// NewFeed returns a Feed over agg (already seeded with the startup
// snapshot) that keeps the latest logSize events for the Events view.
func NewFeed(agg *aggregate.Aggregator, meta *event.Meta, logSize int) *Feed {
	return &Feed{meta: meta, agg: agg, log: make([]event.Event, max(logSize, 1))}
}

// Event adds one event: a batch of one (see Add). It allocates nothing,
// and e may be reused once it returns. A reader with many events at hand
// should use Add.
func (f *Feed) Event(e *event.Event) { f.Add(unsafe.Slice(e, 1)) }

// Add adds a batch of events, oldest first, under one acquisition of the
// lock: the live reader hands over what it drained from the ring buffer
// in batches, so that at a hundred thousand events a second the cost per
// event is the aggregator's alone, not a lock's. It allocates nothing;
// batch may be reused once it returns.
func (f *Feed) Add(batch []event.Event) {
	f.mu.Lock()
	for i := range batch {
		f.agg.Add(&batch[i])
	}
	f.received += uint64(len(batch))
	// Only the latest events reach the log, copied in at most two runs.
	if len(batch) > len(f.log) {
		batch = batch[len(batch)-len(f.log):]
	}
	k := copy(f.log[f.next:], batch)
	copy(f.log, batch[k:])
	f.next = (f.next + len(batch)) % len(f.log)
	f.n = min(f.n+len(batch), len(f.log))
	f.mu.Unlock()
}

// Reset starts over with agg and an empty log: a replay that seeks
// backwards replays the recording from its beginning into a new
// aggregate.
func (f *Feed) Reset(agg *aggregate.Aggregator) {
	f.mu.Lock()
	f.agg, f.next, f.n, f.received = agg, 0, 0, 0
	f.mu.Unlock()
}

// Snapshot returns the aggregate's current view.
func (f *Feed) Snapshot() *aggregate.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agg.Snapshot()
}

// Events appends the logged events, oldest first, to dst.
func (f *Feed) Events(dst []event.Event) []event.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	start := (f.next - f.n + len(f.log)) % len(f.log)
	if start+f.n <= len(f.log) {
		return append(dst, f.log[start:start+f.n]...)
	}
	dst = append(dst, f.log[start:]...)
	return append(dst, f.log[:f.next]...)
}

// Received returns how many events were added since the Feed began or
// was last reset.
func (f *Feed) Received() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.received
}

// Meta returns how the events are captured.
func (f *Feed) Meta() *event.Meta { return f.meta }

// Summary returns the aggregate's summary, for the report printed when
// the UI exits while events may still be arriving.
func (f *Feed) Summary() *aggregate.Summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agg.Summary()
}
