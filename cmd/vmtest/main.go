// Command vmtest runs test binaries on other kernels: it boots each kernel
// image in a QEMU virtual machine, runs the binaries there as root, and
// reports which kernels passed. It is how `make vmtest` tests the BPF
// backends that the development machine cannot load (fentry, kprobes) on
// stock distribution kernels.
//
//	vmtest -init vminit -kernel K1 -kernel K2 ... -- bins... [-- test-args...]
//
// Every guest boots the same initramfs, written here in Go: cmd/vminit as
// PID 1, the binaries, their arguments and any -tool; plus, per kernel, the
// config and modules that fetch-kernels.sh keeps next to its image. To run
// one test on one kernel by hand, after `make vmtest` has fetched and built
// everything once:
//
//	go run ./cmd/vmtest -init .vmtest/vminit -tool ip -tool ss \
//	  -kernel ~/.cache/twtrace-vmtest/6.1.0-50-cloud-amd64/vmlinuz \
//	  -- .vmtest/bins/tracer.test -- -test.v -test.run TestClientClosesFirst
//
// vminit runs the binaries with VMTEST=1 in their environment, prints their
// output on the console (copied here, each line prefixed with "[<kernel>] ")
// and reports each exit code on a second serial port, which decides the
// result. A kernel fails if a binary exits non-zero, the guest never reports that it
// finished (a panic), or -timeout passes. Each kernel then gets a line
//
//	vmtest: ok <kernel> (<seconds>s)
//	vmtest: FAIL <kernel> (<seconds>s): <why>
//
// in the order given, to build a support table from; then, for each kernel
// that failed, what its console said of the failure (the failed tests with
// their log lines, a panic, an oops), each line prefixed "vmtest: <kernel>
// "; and the last line is
//
//	vmtest: N passed, M failed
//
// counting kernels, and the exit status is 1 if any failed. A test binary
// that runs its tests once per attach backend reports each (see
// internal/vmtest/guest), and the kernel's line lists them:
// "fentry=ok kprobe=FAIL ...". With -table FILE those results become the
// kernel-support table in FILE, between the markers table.go names.
//
// -slow TEXT gives the guests of the kernels whose name contains TEXT
// VMTEST_SLOW=1: tests too slow to repeat on every kernel (a TIME_WAIT
// lasts a minute) run there only.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	init     string
	kernels  []string
	bins     []string
	testArgs []string
	tools    []string
	qemu     string
	smp      int
	mem      string
	timeout  time.Duration
	parallel int
	slow     string // kernels whose name contains it run the slow tests
	table    string // a file whose kernel-support section to rewrite
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseArgs(args []string) (config, error) {
	var cfg config
	fl := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: vmtest -init VMINIT -kernel IMAGE... [flags] -- BINARY... [-- TEST-ARGS...]")
		fl.PrintDefaults()
	}
	fl.StringVar(&cfg.init, "init", "", "the guest's PID 1, a static build of ./cmd/vminit")
	fl.Var((*listFlag)(&cfg.kernels), "kernel", "a kernel image (`vmlinuz`) to boot; repeat for more")
	fl.Var((*listFlag)(&cfg.tools), "tool", "a host `command` (such as ip) to pack into the guest with its shared libraries; repeat for more")
	fl.StringVar(&cfg.qemu, "qemu", "qemu-system-x86_64", "the QEMU binary")
	fl.IntVar(&cfg.smp, "smp", 2, "CPUs per guest")
	fl.StringVar(&cfg.mem, "m", "1G", "memory per guest")
	fl.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "time allowed per kernel, boot included")
	fl.IntVar(&cfg.parallel, "parallel", 1, "guests to run at once")
	fl.StringVar(&cfg.slow, "slow", "", "run the slow tests (a TIME_WAIT expiry) on the kernels whose name contains this `text`")
	fl.StringVar(&cfg.table, "table", "", "rewrite the kernel-support table between the markers in this `file` (README.md) from the results")
	if err := fl.Parse(args); err != nil {
		return cfg, err
	}
	rest := fl.Args()
	if i := slices.Index(rest, "--"); i >= 0 {
		rest, cfg.testArgs = rest[:i], rest[i+1:]
	}
	cfg.bins = rest
	switch {
	case cfg.init == "":
		return cfg, errors.New("-init is required")
	case len(cfg.kernels) == 0:
		return cfg, errors.New("no -kernel given")
	case len(cfg.bins) == 0:
		return cfg, errors.New("no test binaries given")
	case cfg.parallel < 1 || cfg.smp < 1:
		return cfg, errors.New("-parallel and -smp must be at least 1")
	}
	return cfg, nil
}

func main() {
	cfg, err := parseArgs(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// run boots every kernel, at most cfg.parallel at a time, and returns how
// many failed.
func run(ctx context.Context, cfg config, w io.Writer) (failed int, err error) {
	if _, err := os.Stat(cfg.init); err != nil {
		return 0, fmt.Errorf("-init: %w", err)
	}
	dir, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)

	var common bytes.Buffer
	if err := (initramfs{init: cfg.init, bins: cfg.bins, args: cfg.testArgs, tools: cfg.tools}).write(&common); err != nil {
		return 0, fmt.Errorf("writing the initramfs: %w", err)
	}
	q := &qemu{
		binary:  cfg.qemu,
		common:  common.Bytes(),
		dir:     dir,
		smp:     cfg.smp,
		mem:     cfg.mem,
		timeout: cfg.timeout,
		slow:    cfg.slow,
		out:     &console{w: w},
	}

	outcomes := make([]outcome, len(cfg.kernels))
	slots := make(chan struct{}, cfg.parallel)
	var wg sync.WaitGroup
	for i, k := range cfg.kernels {
		slots <- struct{}{} // taken here, so kernels start in the order given
		wg.Go(func() {
			defer func() { <-slots }()
			outcomes[i] = q.boot(ctx, i, k)
		})
	}
	wg.Wait()

	// One line per kernel, in the order given.
	for _, o := range outcomes {
		secs := o.took.Round(100 * time.Millisecond).Seconds()
		var backends string
		for _, b := range o.backends {
			backends += fmt.Sprintf(" %s=%s", b.Name, result(b.OK))
		}
		if o.err != nil {
			failed++
			q.out.println(fmt.Sprintf("vmtest: FAIL %s (%.1fs)%s: %s", o.kernel, secs, backends, strings.ReplaceAll(o.err.Error(), "\n", "; ")))
		} else {
			q.out.println(fmt.Sprintf("vmtest: ok %s (%.1fs)%s", o.kernel, secs, backends))
		}
	}
	// Why each failed, for logs that show only their end.
	for _, o := range outcomes {
		if o.err == nil {
			continue
		}
		for _, l := range o.failures {
			q.out.println(fmt.Sprintf("vmtest: %s %s", o.kernel, l))
		}
	}
	if cfg.table != "" {
		if err := updateTable(cfg.table, outcomes, time.Now()); err != nil {
			return failed, err
		}
		q.out.println("vmtest: wrote the kernel-support table in " + cfg.table)
	}
	q.out.println(fmt.Sprintf("vmtest: %d passed, %d failed", len(outcomes)-failed, failed))
	return failed, nil
}
