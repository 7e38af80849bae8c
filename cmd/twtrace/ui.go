package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/replay"
	"github.com/twtrace/twtrace/tui"
)

// eventLog is how many recent events the UI's Events view keeps.
const eventLog = 2000

// replayUI plays a recording (or the demo) in the UI at --speed, with
// pause, step, speed and seek; a backward seek rebuilds the aggregate
// from the start.
func replayUI(ctx context.Context, cfg config, stderr io.Writer) error {
	opt := replay.Options{Speed: cfg.speed}
	var p *replay.Player
	var err error
	if cfg.demo {
		p, err = replay.OpenBytes("the built-in demo", demoRecording, opt)
	} else {
		p, err = replay.Open(cfg.read, opt)
	}
	if err != nil {
		return err
	}
	defer p.Close()
	seeded := func(snap []event.Socket) *aggregate.Aggregator {
		a := newAggregator(p.Meta(), cfg.filter.NetNS)
		a.Seed(slices.DeleteFunc(slices.Clone(snap), func(s event.Socket) bool { return !cfg.filter.MatchSocket(&s) }))
		return a
	}
	feed := tui.NewFeed(seeded(p.Snapshot()), p.Meta(), eventLog)
	deliver := feed.Event
	if cfg.filter.Active() {
		deliver = func(e *event.Event) {
			if cfg.filter.MatchEvent(e) {
				feed.Event(e)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	played := make(chan error, 1)
	go func() { played <- p.Run(ctx, deliver, func(snap []event.Socket) { feed.Reset(seeded(snap)) }) }()
	uerr := tui.Run(ctx, feed, tui.Options{Replay: p, NoColor: cfg.noColor})
	cancel()
	perr := <-played
	if errors.Is(perr, context.Canceled) {
		perr = nil
	}
	if st := p.Status(); st.Err != nil {
		fmt.Fprintf(stderr, "twtrace: warning: %v\n", st.Err)
	}
	return errors.Join(uerr, perr)
}
