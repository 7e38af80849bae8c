//go:build linux

// Command twbench measures what a tracer costs the reference churn workload
// (notes/performance-anchors.md §2.1 and §5), behind `make bench`. In a
// private network namespace it runs alternating pairs of churn runs, one
// without and one with the tracer attached, and prints per pair and as
// medians the throughput ratio, the events generated, delivered and lost,
// and the tracer's CPU. Separate runs with kernel.bpf_stats_enabled=1 give
// the BPF cost per event. A bpftrace map-counting control, whose ratio must
// come out at 0.97-1.03, declares a run too noisy to believe.
//
// The churn workload is twbench itself, re-executed inside the namespace
// under the process name "churn".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twtrace/twtrace/internal/churn"
)

// config is everything the command line decides.
type config struct {
	twtrace       string
	tracers       []string
	filterNothing bool
	ui            bool
	pairs         int
	duration      time.Duration
	warmup        time.Duration
	settle        time.Duration
	mode          string
	workers       int
	addr          string
	rate          float64
	statsRate     float64
	bpfStats      bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var tracers string
	fs := flag.NewFlagSet("twbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: twbench [flags]   (as root)\n\n"+
			"Runs the churn workload in a private netns without and with each tracer, in\n"+
			"alternating pairs, and prints per pair and medians. Tracers: twtrace (-o json),\n"+
			"twtrace-nomatch (twtrace filtering on a process name nobody has), twtrace-ui (the\n"+
			"terminal UI in tmux), bt-count (bpftrace counting in a map: the noise control) and\n"+
			"tcpstates (libbpf-tools, the peer baseline); peers that are not installed are skipped\n"+
			"with a note.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.twtrace, "twtrace", "./twtrace", "the twtrace binary to measure")
	fs.StringVar(&tracers, "tracers", "bt-count,twtrace,tcpstates", "comma-separated tracers to measure, in this order within each pair")
	fs.BoolVar(&cfg.filterNothing, "filter-nothing", false, "also measure twtrace-nomatch (--pname with a name no process has): the cost of a filter that matches nothing")
	fs.BoolVar(&cfg.ui, "ui", false, "also measure twtrace-ui: the terminal UI, run in tmux at its 10 frames a second; its CPU is the UI process's")
	fs.IntVar(&cfg.pairs, "pairs", 5, "without/with pairs per tracer (the method wants at least 5)")
	fs.DurationVar(&cfg.duration, "duration", 8*time.Second, "length of each churn run")
	fs.DurationVar(&cfg.warmup, "warmup", 4*time.Second, "an uncounted churn run first, to reach the steady TIME_WAIT population")
	fs.DurationVar(&cfg.settle, "settle", 2*time.Second, "wait after a tracer's first BPF program appears, for the rest to attach, before the churn run")
	fs.StringVar(&cfg.mode, "mode", churn.ClientClose, "churn -mode: client-close gates; server-close is a noisy smoke test")
	fs.IntVar(&cfg.workers, "workers", 2, "churn -workers")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:5001", "churn -addr: a fixed port outside the ephemeral range")
	fs.Float64Var(&cfg.rate, "rate", 0, "churn -rate for the pairs: 0 is max rate (throughput ratio); 5000 gives a fixed load (CPU per event)")
	fs.BoolVar(&cfg.bpfStats, "bpf-stats", true, "measure BPF ns per event in separate runs with kernel.bpf_stats_enabled=1")
	fs.Float64Var(&cfg.statsRate, "bpf-stats-rate", 5000, "churn -rate for the bpf_stats runs")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, name := range strings.Split(tracers, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.tracers = append(cfg.tracers, name)
		}
	}
	if cfg.filterNothing {
		cfg.tracers = append(cfg.tracers, "twtrace-nomatch")
	}
	if cfg.ui {
		cfg.tracers = append(cfg.tracers, "twtrace-ui")
	}
	switch {
	case cfg.pairs < 1:
		return cfg, fmt.Errorf("-pairs %d: want at least 1", cfg.pairs)
	case cfg.duration <= 0:
		return cfg, fmt.Errorf("-duration %v: want more than 0", cfg.duration)
	case len(cfg.tracers) == 0:
		return cfg, errors.New("-tracers: name at least one")
	}
	return cfg, nil
}

func main() {
	if os.Getenv(churnEnv) != "" {
		os.Exit(churnMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err == nil {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "twbench:", err)
		os.Exit(1)
	}
}
