package tui_test

import (
	"context"
	"fmt"
	"os"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/replay"
	"github.com/twtrace/twtrace/tui"
)

// newAggregator stands for the command's: configured from the capture's
// sysctls, and seeded with the sockets that existed when it began.
func newAggregator(snap []event.Socket) *aggregate.Aggregator {
	a := aggregate.New(aggregate.Config{})
	a.Seed(snap)
	return a
}

// Live: the goroutine that reads the tracer feeds the Feed, the UI reads
// it on its tick.
func Example_live() {
	var (
		ctx  = context.Background()
		meta = &event.Meta{Host: "edge-7", Backend: "tracepoint"}
		snap []event.Socket           // the startup snapshot
		next func(*event.Event) error // the tracer's reader
	)
	feed := tui.NewFeed(newAggregator(snap), meta, 2000)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		var e event.Event
		for next(&e) == nil {
			feed.Event(&e) // and the recording, when -w asks for one
		}
	}()
	err := tui.Run(ctx, feed, tui.Options{NoColor: false})
	cancel()
	fmt.Println(err, feed.Summary().TW.Count)
}

// Replay: the Player paces the recording into the Feed and the UI drives
// the Player with its keys. A backward seek replays the recording from
// the beginning into a new aggregate.
func Example_replay() {
	ctx := context.Background()
	p, err := replay.Open("trace.twt", replay.Options{Speed: 1}) // "-" reads stdin
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // *record.FormatError names the offset
		return
	}
	defer p.Close()
	feed := tui.NewFeed(newAggregator(p.Snapshot()), p.Meta(), 2000)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, feed.Event, func(snap []event.Socket) { feed.Reset(newAggregator(snap)) })
	}()
	err = tui.Run(ctx, feed, tui.Options{Replay: p})
	cancel()
	if rerr := <-done; err == nil {
		err = rerr
	}
	if st := p.Status(); st.Err != nil {
		fmt.Fprintln(os.Stderr, "warning:", st.Err) // a truncated or corrupt recording
	}
	fmt.Println(err)
}
