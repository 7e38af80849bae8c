//go:build linux

package nettest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RoleEnv names the environment variable that tells a re-executed test
// binary which role to play instead of running tests.
const RoleEnv = "TWTRACE_NETTEST_ROLE"

// Time limits for waiting on helper processes. Roles bound themselves with
// -timeout (default 60 s); these only catch a helper that hangs anyway.
// waitTimeout is also the longest a role can run after the test waits for it.
const (
	readyTimeout = 20 * time.Second
	waitTimeout  = 2 * time.Minute
)

// Main is the TestMain of every package that starts helper processes: in a
// helper (RoleEnv set) it plays the role and exits, otherwise it runs the
// tests.
func Main(m *testing.M) { MainRoles(m, nil) }

// MainRoles is Main with extra roles beside the built-in server, client
// and fork: a package whose tests need a helper of its own (the churn
// workload, say) passes it here and starts it by name with Start.
func MainRoles(m *testing.M, roles map[string]func(args []string) error) {
	role := os.Getenv(RoleEnv)
	if role == "" {
		os.Exit(m.Run())
	}
	run, ok := roles[role]
	if !ok {
		run = func(args []string) error { return runRole(role, args) }
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "nettest %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Proc is a helper process running a role inside a namespace.
type Proc struct {
	PID  int
	Comm string // the process name the kernel reports, for every thread

	cmd    *exec.Cmd
	stdout *lineWriter
	stderr lockedBuffer
	done   chan struct{} // closed once the process has exited
	err    error         // the exit status, valid after done
	waited bool
}

// Start runs the test binary inside the namespace as process name comm
// (at most 15 bytes, the kernel's limit) playing role with args, e.g.
//
//	srv := ns.Start(t, "nginx", "server", "-addr", "127.0.0.1:8080", "-n", "5", "-close", "second")
//	srv.Ready(t)
//
// The kernel takes a process's name from the file it executes, so Start
// execs a symlink named comm that points at the test binary. The process
// is killed, with any workers, when the test ends if it is still running.
func (ns *NS) Start(t testing.TB, comm, role string, args ...string) *Proc {
	t.Helper()
	if comm == "" || len(comm) > 15 || strings.ContainsRune(comm, '/') {
		t.Fatalf("process name %q: want 1 to 15 bytes without '/'", comm)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	link := filepath.Join(t.TempDir(), comm)
	if err := os.Symlink(self, link); err != nil {
		t.Fatalf("naming helper %s: %v", comm, err)
	}
	p := &Proc{Comm: comm, stdout: newLineWriter(), done: make(chan struct{})}
	p.cmd = ns.Command(link, args...)
	p.cmd.Env = append(os.Environ(), RoleEnv+"="+role)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = &p.stderr
	// Its own process group, so that cleanup also reaches fork's workers.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s %s: %v", comm, role, err)
	}
	p.PID = p.cmd.Process.Pid
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-p.PID, syscall.SIGKILL)
			<-p.done
			if !p.waited {
				t.Logf("%s (%s) was still running at the end of the test; killed", comm, role)
			}
		}
	})
	return p
}

// Ready waits until the process has printed "ready": a server is
// listening, a fork master's workers are all listening, a client is about
// to connect. It fails the test if the process exits first.
func (p *Proc) Ready(t testing.TB) {
	t.Helper()
	select {
	case <-p.stdout.ready:
	case <-p.done:
		// It may have printed "ready" and finished at once.
		select {
		case <-p.stdout.ready:
		default:
			t.Fatalf("%s exited before it was ready: %v\n%s", p.Comm, p.err, p.stderr.String())
		}
	case <-time.After(readyTimeout):
		t.Fatalf("%s not ready after %v\n%s", p.Comm, readyTimeout, p.stderr.String())
	}
}

// Wait waits for the process to exit and fails the test, quoting its
// stderr, unless it exited with status 0.
func (p *Proc) Wait(t testing.TB) {
	t.Helper()
	p.waited = true
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		syscall.Kill(-p.PID, syscall.SIGKILL)
		<-p.done
		t.Fatalf("%s still running after %v; killed\n%s", p.Comm, waitTimeout, p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("%s: %v\n%s", p.Comm, p.err, p.stderr.String())
	}
}

// Stdout returns what the process has printed so far: "ready", one
// "conn LOCAL REMOTE" line per connection, and for a fork master one
// "worker PID" line per worker.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Workers returns the PIDs of a fork master's workers, known once it is
// Ready.
func (p *Proc) Workers() []int {
	var pids []int
	for _, line := range strings.Split(p.Stdout(), "\n") {
		if s, ok := strings.CutPrefix(line, "worker "); ok {
			if pid, err := strconv.Atoi(s); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// lineWriter collects a process's stdout, signals the first line that
// reads "ready", and hands every other complete line to forward, if set
// (a fork master passes its workers' lines on that way, whole lines only,
// so that workers writing at once do not interleave).
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // bytes of buf already split into lines
	ready   chan struct{}
	isReady bool
	forward func(line string)
}

func newLineWriter() *lineWriter { return &lineWriter{ready: make(chan struct{})} }

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		rest := w.buf.Bytes()[w.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.scanned += i + 1
		switch line := string(rest[:i]); {
		case line == "ready" && !w.isReady:
			w.isReady = true
			close(w.ready)
		case w.forward != nil:
			w.forward(line)
		}
	}
	return len(b), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// lockedBuffer is a bytes.Buffer safe to read while exec's copying
// goroutine writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
