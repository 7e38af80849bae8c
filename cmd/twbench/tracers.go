//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tracer is one program measured against the workload.
type tracer struct {
	name string
	argv []string
	// captureStdout keeps stdout for counts; otherwise it goes to
	// /dev/null, the cheapest sink, as in `twtrace -o json > /dev/null`.
	captureStdout bool
	// setStateProg is the name the kernel keeps (15 bytes) of the program
	// on sock:inet_sock_set_state, whose ns per run is the per-event cost.
	setStateProg string
	// counts returns the events the tracer says it delivered and lost, -1
	// for a figure it does not report.
	counts func(stdout, stderr string) (delivered, lost int64)
	// control marks the noise control: its ratio must be 0.97-1.03.
	control bool
	// inTmux runs the tracer in a detached tmux session, as a user at a
	// terminal runs the UI; the CPU measured is the UI process's own.
	inTmux bool
}

// The terminal the UI is measured in.
const uiWidth, uiHeight = 120, 40

// Bounds on the control's median ratio: outside them the machine was too
// noisy for the run to mean anything (performance-anchors.md §5).
const controlLow, controlHigh = 0.97, 1.03

// noMatchName is the process name twtrace-nomatch filters on.
const noMatchName = "twbench-nomatc" // at most 15 bytes, as comm

// btCountScript counts transitions in a map, sending nothing per event to
// userspace: it costs about 138 ns per event and should not slow the
// workload measurably.
const btCountScript = `tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { @[args->oldstate, args->newstate] = count(); }`

// newTracer returns the tracer called name. A peer that is not installed
// yields a nil tracer and a note saying so; an unknown name or a missing
// twtrace binary is an error.
func newTracer(name string, cfg config, nsPath string) (*tracer, string, error) {
	switch name {
	case "twtrace", "twtrace-nomatch":
		if _, err := exec.LookPath(cfg.twtrace); err != nil {
			return nil, "", fmt.Errorf("twtrace binary %s: %w (build it with `make build`, or pass -twtrace)", cfg.twtrace, err)
		}
		t := &tracer{
			name:         name,
			argv:         []string{cfg.twtrace, "-o", "json", "--netns", nsPath},
			setStateProg: "tw_set_state",
			counts:       twtraceCounts,
		}
		if name == "twtrace-nomatch" {
			// A process name nothing has (twtrace refuses a PID that is
			// not running, but waits for a name): the filter matches
			// nothing, so only its in-kernel check costs (issue 7).
			t.argv = append(t.argv, "--pname", noMatchName)
		}
		return t, "", nil
	case "twtrace-ui":
		if _, err := exec.LookPath(cfg.twtrace); err != nil {
			return nil, "", fmt.Errorf("twtrace binary %s: %w (build it with `make build`, or pass -twtrace)", cfg.twtrace, err)
		}
		if _, err := exec.LookPath("tmux"); err != nil {
			return nil, "twtrace-ui skipped: tmux is not installed (apt-get install tmux)", nil
		}
		// The UI as a user starts it, on the Overview at its 10 frames a
		// second; it prints no counts.
		return &tracer{
			name:         name,
			argv:         []string{cfg.twtrace, "--netns", nsPath},
			setStateProg: "tw_set_state",
			counts:       func(string, string) (int64, int64) { return -1, -1 },
			inTmux:       true,
		}, "", nil
	case "bt-count":
		bt, err := exec.LookPath("bpftrace")
		if err != nil {
			return nil, "bt-count skipped: bpftrace is not installed (apt-get install bpftrace); without this control the run cannot be declared void", nil
		}
		return &tracer{
			name:          name,
			argv:          []string{bt, "-e", btCountScript},
			captureStdout: true,
			setStateProg:  "inet_sock_set_s",
			counts:        bpftraceCounts,
			control:       true,
		}, "", nil
	case "tcpstates":
		ts, err := exec.LookPath("tcpstates")
		if err != nil {
			return nil, "tcpstates skipped: libbpf-tools tcpstates is not in PATH (the bcc python tcpstates-bpfcc does not run on kernels without headers)", nil
		}
		return &tracer{
			name:         name,
			argv:         []string{ts},
			setStateProg: "handle_set_stat",
			counts:       tcpstatesCounts,
		}, "", nil
	}
	return nil, "", fmt.Errorf("unknown tracer %q (want twtrace, twtrace-nomatch, twtrace-ui, bt-count or tcpstates)", name)
}

var (
	twtraceSummary = regexp.MustCompile(`(?m)^twtrace: events=(\d+) lost=(\d+)$`)
	bpftraceCount  = regexp.MustCompile(`(?m)^@\[[^\]]*\]: (\d+)$`)
	tcpstatesLost  = regexp.MustCompile(`lost (\d+) events`)
)

// twtraceCounts reads twtrace's exit line, "twtrace: events=N lost=M".
func twtraceCounts(_, stderr string) (int64, int64) {
	m := twtraceSummary.FindAllStringSubmatch(stderr, -1)
	if m == nil {
		return -1, -1
	}
	last := m[len(m)-1]
	return atoi(last[1]), atoi(last[2])
}

// bpftraceCounts sums the map bpftrace prints at exit. Nothing is lost: the
// counting happens in the kernel. The probe is not limited to the
// benchmark's namespace, so the sum includes the host's transitions.
func bpftraceCounts(stdout, _ string) (int64, int64) {
	var sum int64
	for _, m := range bpftraceCount.FindAllStringSubmatch(stdout, -1) {
		sum += atoi(m[1])
	}
	return sum, 0
}

// tcpstatesCounts sums libbpf-tools' "lost N events on CPU #k" messages;
// tcpstates does not report what it delivered.
func tcpstatesCounts(_, stderr string) (int64, int64) {
	var lost int64
	for _, m := range tcpstatesLost.FindAllStringSubmatch(stderr, -1) {
		lost += atoi(m[1])
	}
	return -1, lost
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// running is a started tracer.
type running struct {
	t              *tracer
	pid            int
	cmd            *exec.Cmd // nil in tmux
	tmux           string    // the tmux server's socket, in tmux
	stderrFile     string    // where the tracer's stderr goes, in tmux
	stdout, stderr bytes.Buffer
	exited         chan struct{} // closed when the process has exited
	err            error         // its exit status, once exited is closed
}

// attachTimeout bounds how long a tracer may take to load its first BPF
// program (bpftrace compiles its script first; a busy machine is slow).
const attachTimeout = 30 * time.Second

// start starts t, waits until it holds a BPF program, then waits settle
// more for the rest to load and attach. A tracer that exits meanwhile (a
// flag this twtrace lacks, say) is an error quoting its stderr.
func (t *tracer) start(ctx context.Context, settle time.Duration) (*running, error) {
	var r *running
	var err error
	if t.inTmux {
		r, err = t.startInTmux()
	} else {
		r, err = t.startProcess()
	}
	if err != nil {
		return nil, err
	}
	if err := r.awaitAttach(ctx, settle); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (t *tracer) startProcess() (*running, error) {
	r := &running{t: t, cmd: exec.Command(t.argv[0], t.argv[1:]...), exited: make(chan struct{})}
	if t.captureStdout {
		r.cmd.Stdout = &r.stdout
	}
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", t.name, err)
	}
	r.pid = r.cmd.Process.Pid
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// startInTmux starts t in a detached tmux session of its own server, the
// tracer exec'd by the pane's shell so that the pane's process is the
// tracer itself. The tmux server, not twbench, is its parent, so its exit
// is noticed by polling.
func (t *tracer) startInTmux() (*running, error) {
	f, err := os.CreateTemp("", "twbench-ui-*.stderr")
	if err != nil {
		return nil, err
	}
	f.Close()
	r := &running{t: t, tmux: filepath.Join(os.TempDir(), fmt.Sprintf("twbench-%d.tmux", os.Getpid())), stderrFile: f.Name(), exited: make(chan struct{})}
	quoted := make([]string, len(t.argv))
	for i, a := range t.argv {
		quoted[i] = shellQuote(a)
	}
	shell := "exec " + strings.Join(quoted, " ") + " 2>" + shellQuote(f.Name())
	out, err := exec.Command("tmux", "-S", r.tmux, "new-session", "-d", "-x", strconv.Itoa(uiWidth), "-y", strconv.Itoa(uiHeight),
		"-P", "-F", "#{pane_pid}", shell).CombinedOutput()
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("starting %s in tmux: %w: %s", t.name, err, strings.TrimSpace(string(out)))
	}
	if r.pid, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
		r.killTmux()
		return nil, fmt.Errorf("starting %s in tmux: pane pid %q: %w", t.name, out, err)
	}
	go func() {
		for syscall.Kill(r.pid, 0) == nil {
			time.Sleep(100 * time.Millisecond)
		}
		b, _ := os.ReadFile(r.stderrFile)
		r.stderr.Write(b)
		close(r.exited)
	}()
	return r, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// killTmux ends the tmux server of a tracer run in tmux, and removes its
// socket and stderr file.
func (r *running) killTmux() {
	exec.Command("tmux", "-S", r.tmux, "kill-server").Run()
	os.Remove(r.tmux)
	os.Remove(r.stderrFile)
}

func (r *running) awaitAttach(ctx context.Context, settle time.Duration) error {
	giveUp := time.After(attachTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for loaded := false; !loaded; {
		select {
		case <-r.exited:
			return r.exitedEarly()
		case <-ctx.Done():
			return ctx.Err()
		case <-giveUp:
			return fmt.Errorf("%s loaded no BPF program within %v", r.t.name, attachTimeout)
		case <-tick.C:
			ids, _ := processPrograms(r.pid)
			loaded = len(ids) > 0
		}
	}
	select {
	case <-r.exited:
		return r.exitedEarly()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settle):
		return nil
	}
}

func (r *running) exitedEarly() error {
	return fmt.Errorf("%s exited while attaching (%v): %s", r.t.name, r.err, lastLines(r.stderr.String(), 3))
}

// stop interrupts the tracer, as Ctrl-C would so it prints its summary,
// and waits for it; one that does not exit within 15 s is killed.
func (r *running) stop() error {
	if r.cmd == nil {
		defer r.killTmux()
	}
	syscall.Kill(r.pid, syscall.SIGINT)
	select {
	case <-r.exited:
		var ee *exec.ExitError
		if errors.As(r.err, &ee) && ee.ExitCode() == 130 {
			return nil // the conventional status after SIGINT
		}
		return r.err
	case <-time.After(15 * time.Second):
		syscall.Kill(r.pid, syscall.SIGKILL)
		<-r.exited
		return fmt.Errorf("%s ignored SIGINT for 15 s; killed", r.t.name)
	}
}

// cpuTicks returns the tracer's user+system CPU time in clock ticks
// (USER_HZ, 100 per second on every Linux architecture Go supports).
func (r *running) cpuTicks() (uint64, error) {
	return procCPUTicks(r.pid)
}

const ticksPerSecond = 100

// procCPUTicks reads utime+stime from /proc/PID/stat. Fields are counted
// after the ")" that ends the process name, which may itself hold spaces.
func procCPUTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	// After ")": state(3) ppid(4) ... utime(14) stime(15).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}

// lastLines returns the last n lines of s, joined by " | ", for one-line
// error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
