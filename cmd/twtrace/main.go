// Command twtrace traces TCP connections into and out of TIME_WAIT, live
// from the kernel, with the process that owns each one.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// realMain parses args, runs twtrace and returns the exit code; it is the
// whole program minus os.Exit, so tests can call it.
func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "doctor" {
		return doctor(stdout)
	}
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "twtrace: %v\n", err)
		fmt.Fprintln(stderr, "Try 'twtrace --help' for more information.")
		return exitUsage
	}
	if cfg.version {
		fmt.Fprintln(stdout, "twtrace", version())
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	run := live
	if cfg.read != "" || cfg.demo {
		run = playback
	}
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "twtrace: %v\n", err)
		return exitError
	}
	return exitOK
}
