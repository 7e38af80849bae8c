package snapshot

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
	"github.com/twtrace/twtrace/internal/netns"
	"github.com/twtrace/twtrace/tracer"
)

// lockedAggregate lets the tracer's reader add events while the test
// reads the aggregate, as twtrace's event loop and UI tick do.
type lockedAggregate struct {
	mu sync.Mutex
	a  *aggregate.Aggregator
}

func (l *lockedAggregate) Event(e *event.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.Add(e)
}

func (l *lockedAggregate) Idle() {}

func (l *lockedAggregate) summary() *aggregate.Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.a.Summary()
}

// TestLiveInventoryMatchesKernel starts as twtrace does, with tw made
// before it starts and more while it runs: the tracer first, then the
// snapshot that seeds the aggregate, then the events. The tw count must
// equal /proc/net/sockstat and the tw ss lists in both substates.
//
// The split by substate is not compared: a tw born in FIN_WAIT2 that
// then gets its peer's FIN turns TIME_WAIT without an event on the
// tracepoint backend when its new expiry lands in the same timer-wheel
// bucket, and which substate a client's tw is born in here depends on
// whether the peer's FIN comes with its ACK.
func TestLiveInventoryMatchesKernel(t *testing.T) {
	sc := newScene(t)
	ino, err := netns.Inode(sc.path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tracer.Open(t.Context(), tracer.Config{Filter: filter.Filter{NetNS: ino}})
	if err != nil {
		t.Fatalf("opening the tracer: %v", err)
	}
	defer tr.Close()
	socks, err := Take(sc.path)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	agg := &lockedAggregate{a: aggregate.New(aggregate.Config{})}
	agg.a.Seed(socks)
	ctx, stop := context.WithCancel(t.Context())
	read := make(chan error, 1)
	go func() { read <- tr.Read(ctx, agg) }()
	defer func() {
		stop()
		if err := <-read; err != nil {
			t.Errorf("reading events: %v", err)
		}
	}()

	sc.round(t)
	want := sc.wantTW().Count
	waitFor(t, "the aggregate to count every tw", func() bool { return agg.summary().TW.Count == want })
	if got := sockstatTW(t, sc.name); got != want {
		t.Errorf("sockstat tw = %d, want %d", got, want)
	}
	shown := 0
	for _, line := range ssSockets(t, sc.name) {
		// No full socket stays in FIN_WAIT2 here: those lines are tw.
		if strings.HasPrefix(line, "TIME-WAIT ") || strings.HasPrefix(line, "FIN-WAIT-2 ") {
			shown++
		}
	}
	if s := agg.summary(); s.TW.Count != shown || s.Lost != 0 || s.Missed != 0 {
		t.Errorf("aggregate counts %d tw (lost %d, missed %d), ss shows %d", s.TW.Count, s.Lost, s.Missed, shown)
	}
}
