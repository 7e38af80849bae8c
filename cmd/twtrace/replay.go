package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/record"
)

// playback reads a recording into the same outputs as a live run, as fast as
// it can. It needs no privileges and runs on any OS.
func playback(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cfg.netns != "" {
		n, err := strconv.ParseUint(cfg.netns, 10, 32)
		if err != nil {
			return fmt.Errorf("in replay --netns takes the namespace's inode number, not %q", cfg.netns)
		}
		cfg.filter.NetNS = uint32(n)
	}
	if wantUI(cfg, stdout) {
		return replayUI(ctx, cfg, stderr)
	}
	in, name := io.Reader(os.Stdin), "stdin"
	switch {
	case cfg.demo:
		in, name = bytes.NewReader(demoRecording), "the built-in demo"
	case cfg.read != "-":
		f, err := os.Open(cfg.read)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, cfg.read
	}
	r, err := record.Open(bufio.NewReaderSize(in, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	snap := slices.DeleteFunc(r.Snapshot(), func(s event.Socket) bool { return !cfg.filter.MatchSocket(&s) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, summary, format, err := newPipe(cfg, r.Meta(), snap, stdout, cancel)
	if err != nil {
		return err
	}
	if cfg.filter.Active() {
		p.filter = &cfg.filter
	}
	rerr := replayEvents(ctx, r, p, cfg.skip, name, stderr)
	return errors.Join(rerr, p.finish(summary, format))
}

// replayEvents feeds the recording's events to p. A file cut short ends
// the replay with a warning; a corrupt block is an error unless skip.
func replayEvents(ctx context.Context, r *record.Reader, p *pipe, skip bool, name string, stderr io.Writer) error {
	defer p.Idle()
	var e event.Event
	for ctx.Err() == nil {
		err := r.Next(&e)
		var trunc *record.TruncatedError
		var corrupt *record.CorruptError
		switch {
		case err == nil:
			p.Event(&e)
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &trunc):
			fmt.Fprintf(stderr, "twtrace: warning: %s: %v; replayed everything before it\n", name, err)
			return nil
		case errors.As(err, &corrupt) && skip:
			fmt.Fprintf(stderr, "twtrace: warning: %s: %v; skipped\n", name, err)
		default:
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
