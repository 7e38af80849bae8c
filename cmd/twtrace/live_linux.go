//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
	"github.com/twtrace/twtrace/internal/netns"
	"github.com/twtrace/twtrace/internal/proc"
	"github.com/twtrace/twtrace/internal/snapshot"
	"github.com/twtrace/twtrace/internal/sysctl"
	"github.com/twtrace/twtrace/tracer"
	"github.com/twtrace/twtrace/tui"
)

// live traces the kernel until ctx ends or the event limit is reached.
func live(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	var nsPath string
	if cfg.netns != "" {
		var err error
		if cfg.filter.NetNS, nsPath, err = netns.Resolve(cfg.netns); err != nil {
			return err
		}
		cfg.filter.NetNSName = cfg.netns
	}
	note, err := ownerNote(&cfg.filter)
	if err != nil {
		return err
	}
	t, err := tracer.Open(ctx, tracer.Config{Filter: cfg.filter, RingBytes: cfg.ringBytes, Backend: cfg.backend})
	if err != nil {
		return err
	}
	defer t.Close()
	meta, err := liveMeta(t, nsPath, cfg, note)
	if err != nil {
		return err
	}
	// Taken once the tracer is attached, so nothing falls between the
	// two; the aggregator tolerates seeing a socket in both.
	snap, err := snapshot.Take(nsPath)
	if err != nil {
		fmt.Fprintf(stderr, "twtrace: no startup snapshot (%v): counts start from zero\n", err)
	}
	snap = slices.DeleteFunc(snap, func(s event.Socket) bool { return !cfg.filter.MatchSocket(&s) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, summary, format, err := newPipe(cfg, meta, snap, stdout, cancel)
	if err != nil {
		return err
	}
	if !wantUI(cfg, stdout) {
		rerr := t.Read(ctx, p)
		printCounts(stderr, p, t)
		return errors.Join(rerr, p.finish(summary, format))
	}
	// The UI owns the terminal; the reader runs beside it and never waits
	// for it (the feed hands the UI snapshots on its own tick).
	p.feed = tui.NewFeed(p.agg, meta, eventLog)
	p.batch = make([]event.Event, 0, feedBatch)
	read := make(chan error, 1)
	go func() { read <- t.Read(ctx, p) }()
	uerr := tui.Run(ctx, p.feed, tui.Options{NoColor: cfg.noColor})
	cancel()
	rerr := <-read
	printCounts(stderr, p, t) // after the UI has given the terminal back
	return errors.Join(uerr, rerr, p.finish(nil, ""))
}

// printCounts ends a live capture with what it delivered and lost, the line
// scripts (and twbench) read: "twtrace: events=N lost=M".
func printCounts(stderr io.Writer, p *pipe, t *tracer.Tracer) {
	fmt.Fprintf(stderr, "twtrace: events=%d lost=%d\n", p.n, t.Stats().Lost)
}

// liveMeta describes this capture: host, kernel, backend and the
// TIME_WAIT sysctls of the namespace being traced.
func liveMeta(t *tracer.Tracer, nsPath string, cfg config, note string) (*event.Meta, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, fmt.Errorf("reading the kernel release: %w", err)
	}
	host, _ := os.Hostname()
	var sysctls map[string]string
	if err := netns.Do(nsPath, func() error {
		sysctls = sysctl.TimeWait()
		return nil
	}); err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	m := &event.Meta{
		Version:     version(),
		Host:        host,
		Kernel:      unix.ByteSliceToString(uts.Release[:]),
		Backend:     t.Backend(),
		Hooks:       t.Hooks(),
		BootWallNS:  now - ts.Nano(),
		StartWallNS: now,
		Sysctls:     sysctls,
	}
	m.Filter = cfg.filter.String()
	if note != "" {
		m.Filter += " (" + note + ")"
	}
	return m, nil
}

// ownerNote checks --pid against the processes running now: a PID must
// exist; a name may not exist yet, which is said rather than refused.
func ownerNote(f *filter.Filter) (string, error) {
	for _, pid := range f.PIDs {
		if !proc.Exists(pid) {
			return "", fmt.Errorf("no process with PID %d", pid)
		}
	}
	var waiting []string
	for _, name := range f.Names {
		ps, err := proc.Named(name)
		if err != nil {
			return "", err
		}
		if len(ps) == 0 {
			waiting = append(waiting, name)
		}
	}
	if len(waiting) == 0 {
		return "", nil
	}
	return "waiting for " + strings.Join(waiting, ", "), nil
}
