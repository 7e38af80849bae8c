package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twtrace/twtrace/internal/aggregate"
)

// TestHeaderRates feeds the script in two parts, ten seconds of clock
// apart, and checks the header's events per second and tw trend.
func TestHeaderRates(t *testing.T) {
	evs := testScript()
	feed := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 1000)
	now := time.Unix(100, 0)
	m := newModel(feed, Options{}, func() time.Time { return now })
	split := 0
	for split < len(evs) && evs[split].MonoNS < uint64(monoStart+20*time.Second) {
		feed.Event(&evs[split])
		split++
	}
	m.apply(m.fetcher()())
	tw0 := feed.Snapshot().TW.Count
	for i := split; i < len(evs); i++ {
		feed.Event(&evs[i])
	}
	now = now.Add(10 * time.Second)
	m.apply(m.fetcher()())
	tw1 := feed.Snapshot().TW.Count

	header := ansi.Strip(m.header()[1])
	wantRate := rate(float64(len(evs)-split) / 10)
	wantTrend := "▲" + signed(tw1-tw0) + "/10s"
	if !strings.Contains(header, wantRate+" ev/s") || !strings.Contains(header, wantTrend) || tw1 <= tw0 {
		t.Errorf("header %q, want %s ev/s and %s", header, wantRate, wantTrend)
	}
}
