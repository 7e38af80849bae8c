package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"
)

// config is everything the command line decides.
type config struct {
	output    string
	netns     string
	duration  time.Duration
	count     uint64
	ringBytes int
	version   bool
}

const usageHead = `twtrace traces TCP connections into and out of TIME_WAIT, live, with the
process that owns each one: who closed first, how long every closing state
lasted, and how each TIME_WAIT ended.

Usage:
  sudo twtrace [flags]          trace the live host
  twtrace doctor                check what this kernel allows

Flags:
`

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := pflag.NewFlagSet("twtrace", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVarP(&cfg.output, "output", "o", "table", "output format: json (JSON Lines) or table")
	fs.StringVar(&cfg.netns, "netns", "", "trace only this network namespace: a path (/run/netns/NAME), a name, or an inode")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this long (e.g. 30s)")
	fs.Uint64VarP(&cfg.count, "count", "c", 0, "stop after this many events")
	fs.IntVar(&cfg.ringBytes, "ring-size", 0, "kernel ring buffer size in bytes, a power of two (default 4 MiB)")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprint(stdout, usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch cfg.output {
	case "json", "table":
	default:
		return cfg, fmt.Errorf("invalid --output %q: want json or table", cfg.output)
	}
	if r := cfg.ringBytes; r != 0 && (r < 4096 || r&(r-1) != 0) {
		return cfg, fmt.Errorf("invalid --ring-size %d: want a power of two of at least 4096", r)
	}
	return cfg, nil
}

// version is the module version stamped by the Go toolchain, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
