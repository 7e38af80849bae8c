package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"

	"github.com/twtrace/twtrace/internal/filter"
)

// config is everything the command line decides.
type config struct {
	output    string // json, table, or "" to choose by the terminal
	write     string // -w: record to this file ("-" = stdout)
	read      string // -r: replay this recording ("-" = stdin)
	skip      bool   // --skip-corrupt
	demo      bool   // --demo: replay the built-in recording
	speed     float64
	noColor   bool
	noTUI     bool
	netns     string
	filter    filter.Filter // all but the netns, which run() resolves
	duration  time.Duration
	count     uint64
	ringBytes int
	backend   string // auto, fentry, kprobe or tracepoint
	version   bool
}

const usageHead = `twtrace traces TCP connections into and out of TIME_WAIT, live, with the
process that owns each one: who closed first, how long every closing state
lasted, and how each TIME_WAIT ended.

Usage:
  sudo twtrace [flags]          trace the live host
  sudo twtrace --pid nginx      only nginx's sockets (every worker, now or later)
  sudo twtrace -w trace.twt     record (and replay later with -r, anywhere)
  twtrace -r trace.twt          replay a recording
  twtrace doctor                check what this kernel allows

Flags:
`

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := pflag.NewFlagSet("twtrace", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVarP(&cfg.output, "output", "o", "", "print one line per event, no UI: json (JSON Lines) or table")
	fs.StringVarP(&cfg.write, "write", "w", "", "record to this file (- = stdout), while the UI runs or headless")
	fs.StringVarP(&cfg.read, "read", "r", "", "replay a recording (- = stdin); needs no privileges")
	fs.BoolVar(&cfg.skip, "skip-corrupt", false, "in replay, skip corrupt blocks instead of stopping")
	fs.BoolVar(&cfg.demo, "demo", false, "replay the built-in recording of a reverse proxy (no root needed)")
	fs.BoolVar(&cfg.noTUI, "no-tui", false, "no terminal UI: with -w, record only; otherwise print the table")
	fs.Float64Var(&cfg.speed, "speed", 1, "replay speed in the UI: 1 is real time, 10 ten times faster")
	fs.BoolVar(&cfg.noColor, "no-color", false, "draw the UI without colour (as NO_COLOR does)")
	pids := fs.StringSlice("pid", nil, "only sockets of these processes: PIDs or names, comma-separated or repeated (--pid nginx)")
	pnames := fs.StringSlice("pname", nil, "only sockets of processes with this name, even if it is a number")
	fs.BoolVar(&cfg.filter.Children, "children", false, "with --pid N: also the processes N starts, now or later")
	lports := fs.StringSliceP("lport", "L", nil, "only these local ports, comma-separated")
	rports := fs.StringSliceP("rport", "D", nil, "only these remote ports, comma-separated")
	ipv4 := fs.BoolP("ipv4", "4", false, "only IPv4")
	ipv6 := fs.BoolP("ipv6", "6", false, "only IPv6")
	fs.StringVar(&cfg.netns, "netns", "", "trace only this network namespace: a path (/run/netns/NAME), a name, or an inode")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop after this long (e.g. 30s)")
	fs.Uint64VarP(&cfg.count, "count", "c", 0, "stop after this many events")
	fs.IntVar(&cfg.ringBytes, "ring-size", 0, "kernel ring buffer size in bytes, a power of two (default 4 MiB)")
	fs.StringVar(&cfg.backend, "backend", "auto", "attach backend: auto (the most precise this kernel allows), fentry, kprobe or tracepoint")
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
	if err := parseFilter(&cfg.filter, *pids, *pnames, *lports, *rports, *ipv4, *ipv6); err != nil {
		return cfg, err
	}
	switch cfg.output {
	case "", "json", "table":
	default:
		return cfg, fmt.Errorf("invalid --output %q: want json or table", cfg.output)
	}
	if cfg.write == "-" && cfg.output != "" {
		return cfg, fmt.Errorf("-w - and -o both write to stdout: choose one")
	}
	if cfg.speed <= 0 {
		return cfg, fmt.Errorf("invalid --speed %g: want a positive number", cfg.speed)
	}
	if cfg.demo && cfg.read != "" {
		return cfg, fmt.Errorf("--demo and -r both choose what to replay: choose one")
	}
	if cfg.write != "" && cfg.write == cfg.read {
		return cfg, fmt.Errorf("-w and -r name the same file")
	}
	switch cfg.backend {
	case "auto", "fentry", "kprobe", "tracepoint":
	default:
		return cfg, fmt.Errorf("invalid --backend %q: want auto, fentry, kprobe or tracepoint", cfg.backend)
	}
	if r := cfg.ringBytes; r != 0 && (r < 4096 || r&(r-1) != 0) {
		return cfg, fmt.Errorf("invalid --ring-size %d: want a power of two of at least 4096", r)
	}
	return cfg, nil
}

func parseFilter(f *filter.Filter, pids, pnames, lports, rports []string, ipv4, ipv6 bool) error {
	if err := f.AddOwners(pids, false); err != nil {
		return fmt.Errorf("invalid --pid: %w", err)
	}
	if err := f.AddOwners(pnames, true); err != nil {
		return fmt.Errorf("invalid --pname: %w", err)
	}
	if f.Children && len(f.PIDs) == 0 {
		return fmt.Errorf("--children needs --pid with a PID")
	}
	var err error
	if f.LPorts, err = filter.ParsePorts(lports); err != nil {
		return fmt.Errorf("invalid --lport: %w", err)
	}
	if f.RPorts, err = filter.ParsePorts(rports); err != nil {
		return fmt.Errorf("invalid --rport: %w", err)
	}
	switch {
	case ipv4 && ipv6:
		return fmt.Errorf("-4 and -6 exclude each other")
	case ipv4:
		f.Family = 4
	case ipv6:
		f.Family = 6
	}
	return nil
}

// version is the module version stamped by the Go toolchain, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
