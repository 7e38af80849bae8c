//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twtrace/twtrace/internal/churn"
	"github.com/twtrace/twtrace/internal/nettest"
)

// churnEnv, when set, makes a re-executed twbench run the churn workload
// instead of the benchmark (see newWorkload).
const churnEnv = "TWBENCH_CHURN"

// churnMain is main for the re-executed churn process.
func churnMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := churn.Command(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "churn:", err)
		return 2
	}
	return 0
}

// workload runs churn inside the benchmark's namespace.
type workload struct {
	ns      *nettest.NS
	exe     string // a symlink named "churn" to this binary, so churn's comm is "churn"
	mode    string
	workers int
	addr    string
}

// newWorkload prepares churn runs in ns. The kernel names a process after
// the file it executes, so a symlink gives the re-executed twbench the
// process name "churn", which is how peers' output and twtrace's --pid
// tell the workload apart.
func newWorkload(ns *nettest.NS, dir string, cfg config) (*workload, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding twbench's binary: %w", err)
	}
	link := filepath.Join(dir, "churn")
	if err := os.Symlink(self, link); err != nil {
		return nil, fmt.Errorf("naming the churn process: %w", err)
	}
	return &workload{ns: ns, exe: link, mode: cfg.mode, workers: cfg.workers, addr: cfg.addr}, nil
}

// run runs churn for d at rate (0: max) and returns its result. start, if
// not nil, is called just before churn starts, done just after it ends, so
// a caller can sample the tracer's CPU over exactly the run.
func (w *workload) run(ctx context.Context, d time.Duration, rate float64, start, done func()) (churn.Result, error) {
	cmd := w.ns.Command(w.exe, "-mode", w.mode, "-workers", strconv.Itoa(w.workers),
		"-duration", d.String(), "-addr", w.addr, "-rate", strconv.FormatFloat(rate, 'f', -1, 64))
	cmd.Env = append(os.Environ(), churnEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if start != nil {
		start()
	}
	if err := cmd.Start(); err != nil {
		return churn.Result{}, fmt.Errorf("starting churn: %w", err)
	}
	err := waitBounded(ctx, cmd, d+30*time.Second)
	if done != nil {
		done()
	}
	if err != nil {
		return churn.Result{}, fmt.Errorf("churn: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	res, err := churn.ParseResult(lines[len(lines)-1])
	if err != nil {
		return res, err
	}
	if res.Errors.Total() != 0 {
		fmt.Fprintf(os.Stderr, "twbench: churn had errors: %s\n", strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// waitBounded waits for cmd. On ctx's end or after limit it interrupts it,
// then kills it if it is still there 5 s later.
func waitBounded(ctx context.Context, cmd *exec.Cmd, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var why error
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		why = ctx.Err()
	case <-time.After(limit):
		why = fmt.Errorf("still running after %v", limit)
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	return why
}
