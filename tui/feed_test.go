package tui

import (
	"testing"

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

// TestFeedAllocatesNothing checks the Feed's own cost per event: the
// reader's hot path allocates nothing.
func TestFeedAllocatesNothing(t *testing.T) {
	f := testFeed()
	e := event.Event{Kind: event.KindLost, Count: 1}
	if n := testing.AllocsPerRun(1000, func() { f.Event(&e) }); n != 0 {
		t.Errorf("%v allocations per event", n)
	}
}
