package tui

import (
	"reflect"
	"testing"

	"github.com/twtrace/twtrace/internal/aggregate"

	"github.com/twtrace/twtrace/internal/event"
)

// TestFeedLog checks the ring of recent events: oldest first, the latest
// logSize kept.
func TestFeedLog(t *testing.T) {
	evs := testScript()
	f := testFeed()
	got := f.Events(nil)
	if len(got) != len(evs) || got[0] != evs[0] {
		t.Fatalf("log of %d events starting %v, want the %d of the script", len(got), got[0], len(evs))
	}
	small := NewFeed(testFeed().agg, testMeta(), 10)
	for i := range evs {
		small.Event(&evs[i])
	}
	got = small.Events(nil)
	if len(got) != 10 || got[9] != evs[len(evs)-1] || got[0] != evs[len(evs)-10] {
		t.Errorf("a full log does not hold the latest 10 events in order")
	}
	if small.Received() != uint64(len(evs)) {
		t.Errorf("received %d, want %d", small.Received(), len(evs))
	}
}

// TestFeedAddBatches checks that events added in batches of any size,
// some larger than the log, some wrapping around it, give the same log,
// count and aggregate as events added one by one.
func TestFeedAddBatches(t *testing.T) {
	evs := testScript()
	one := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 50)
	for i := range evs {
		one.Event(&evs[i])
	}
	for _, size := range []int{1, 7, 50, 64, len(evs)} {
		batched := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 50)
		for i := 0; i < len(evs); i += size {
			batched.Add(evs[i:min(i+size, len(evs))])
		}
		if got, want := batched.Events(nil), one.Events(nil); !reflect.DeepEqual(got, want) {
			t.Errorf("batches of %d: the log differs from events added one by one", size)
		}
		if batched.Received() != uint64(len(evs)) {
			t.Errorf("batches of %d: received %d, want %d", size, batched.Received(), len(evs))
		}
		if got, want := batched.Snapshot(), one.Snapshot(); !reflect.DeepEqual(got, want) {
			t.Errorf("batches of %d: the snapshot differs from events added one by one", size)
		}
	}
}

// TestFeedAllocatesNothing checks the Feed's own cost per event: the
// reader's hot path allocates nothing.
func TestFeedAllocatesNothing(t *testing.T) {
	f := testFeed()
	e := event.Event{Kind: event.KindLost, Count: 1}
	if n := testing.AllocsPerRun(1000, func() { f.Event(&e) }); n != 0 {
		t.Errorf("%v allocations per event", n)
	}
	batch := make([]event.Event, 300)
	for i := range batch {
		batch[i] = e
	}
	if n := testing.AllocsPerRun(100, func() { f.Add(batch) }); n != 0 {
		t.Errorf("%v allocations per batch", n)
	}
}
