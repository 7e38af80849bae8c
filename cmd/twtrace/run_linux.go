//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/netns"
	"github.com/twtrace/twtrace/internal/sysctl"
	"github.com/twtrace/twtrace/tracer"
)

// run traces the live kernel until ctx ends or the event limit is reached.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	var nsInode uint32
	var nsPath string
	if cfg.netns != "" {
		var err error
		if nsInode, nsPath, err = netns.Resolve(cfg.netns); err != nil {
			return err
		}
	}
	t, err := tracer.Open(ctx, tracer.Config{NetNS: nsInode, RingBytes: cfg.ringBytes})
	if err != nil {
		return err
	}
	defer t.Close()

	meta, err := liveMeta(t, nsPath, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := newLineSink(stdout, cfg.output, cfg.count, cancel)
	if err := sink.header(meta); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	rerr := t.Read(ctx, sink)
	fmt.Fprintf(stderr, "twtrace: events=%d lost=%d\n", sink.n, t.Stats().Lost)
	if rerr != nil {
		return rerr
	}
	return sink.close()
}

// liveMeta describes this capture: host, kernel, backend and the
// TIME_WAIT sysctls of the namespace being traced.
func liveMeta(t *tracer.Tracer, nsPath string, cfg config) (*event.Meta, error) {
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
	if cfg.netns != "" {
		m.Filter = "netns " + cfg.netns
	}
	return m, nil
}
