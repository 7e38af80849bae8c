package snapshot

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
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
// snapshot that seeds the aggregate, then the events. The tw inventory
// must equal /proc/net/sockstat and ss, by substate.
func TestLiveInventoryMatchesKernel(t *testing.T) {
	sc := newScene(t)
	ino, err := NetNSInode(sc.path)
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
	want := sc.wantTW()
	waitFor(t, "the aggregate to count every tw", func() bool { return agg.summary().TW == want })
	if got := sockstatTW(t, sc.name); got != want.Count {
		t.Errorf("sockstat tw = %d, want %d", got, want.Count)
	}
	var shown aggregate.TWCount
	for _, line := range ssSockets(t, sc.name) {
		switch {
		case strings.HasPrefix(line, "TIME-WAIT "):
			shown.TimeWait++
		case strings.HasPrefix(line, "FIN-WAIT-2 "):
			shown.FinWait2++ // no full socket stays in FIN_WAIT2 here
		}
	}
	shown.Count = shown.TimeWait + shown.FinWait2
	if s := agg.summary(); s.TW != shown || s.Lost != 0 {
		t.Errorf("aggregate tw %+v (lost %d), ss shows %+v", s.TW, s.Lost, shown)
	}
}
