//go:build linux

package tracer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/churn"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/internal/vmtest"
	"github.com/twtrace/twtrace/tracer"
)

// backendEnv forces the backend of every tracer these tests open. Unset in
// a vmtest guest, TestMain runs the tests once per backend with it set; on
// the host the tests use the automatic choice, and a forced backend the
// kernel lacks skips them.
const backendEnv = "TWTRACE_BACKEND"

func TestMain(m *testing.M) {
	// The helper processes tests start inherit the variable.
	if vmtest.InVM() && os.Getenv(backendEnv) == "" {
		os.Exit(perBackend())
	}
	nettest.MainRoles(m, map[string]func([]string) error{
		"churn": func(args []string) error {
			return churn.Command(context.Background(), args, os.Stdout, os.Stderr)
		},
	})
}

// perBackend runs this test binary once per backend, with the same
// arguments, reports each result to the vmtest runner (for the
// kernel-support table) and returns the worst exit code.
func perBackend() int {
	worst := 0
	for _, b := range tracer.Backends {
		fmt.Printf("=== backend %s\n", b)
		start := time.Now()
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), backendEnv+"="+b)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		code := 0
		if err := cmd.Run(); err != nil {
			code = 1
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			}
		}
		result := "ok"
		if code != 0 {
			result = "FAIL"
		}
		fmt.Printf("--- backend %s: %s (%.1fs)\n", b, result, time.Since(start).Seconds())
		if err := vmtest.ReportBackend(b, code == 0); err != nil {
			fmt.Printf("reporting the backend's result: %v\n", err)
			code = 1
		}
		worst = max(worst, code)
	}
	return worst
}

// open opens a tracer with the backend backendEnv forces. A backend this
// kernel cannot attach skips the test outside a vmtest guest; inside one,
// every backend is expected to work.
func open(t *testing.T, cfg tracer.Config) *tracer.Tracer {
	t.Helper()
	cfg.Backend = os.Getenv(backendEnv)
	tr, err := tracer.Open(context.Background(), cfg)
	if errors.Is(err, tracer.ErrBackendUnavailable) && !vmtest.InVM() {
		t.Skipf("not available here: %v", err)
	}
	if err != nil {
		t.Fatalf("opening the tracer: %v", err)
	}
	return tr
}

// capture runs a tracer on one namespace and keeps every event it reports.
type capture struct {
	mu     sync.Mutex
	events []event.Event
	// slow makes the consumer take this many nanoseconds per event, as a
	// blocked output would.
	slow atomic.Int64
	// causes are the ways a tw may end in this test besides expiry; any
	// other cause fails the test when it ends.
	causes []event.Cause
	// inferring: the backend deduces end causes other than expiry.
	inferring bool
	// lossy: the test makes the kernel lose events on purpose.
	lossy bool
	// tr is the tracer, once traceInto has opened it.
	tr *tracer.Tracer
}

func (c *capture) Event(e *event.Event) {
	c.mu.Lock()
	c.events = append(c.events, *e)
	c.mu.Unlock()
	time.Sleep(time.Duration(c.slow.Load()))
}

func (c *capture) Idle() {}

// snapshot returns the events so far.
func (c *capture) snapshot() []event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.events...)
}

// trace starts a tracer filtered on ns and stops it when the test ends; a
// tw ending by anything but expiry or one of causes fails the test.
func trace(t *testing.T, ns *nettest.NS, cfg tracer.Config, causes ...event.Cause) *capture {
	t.Helper()
	return traceInto(t, ns, cfg, &capture{causes: causes})
}

func traceInto(t *testing.T, ns *nettest.NS, cfg tracer.Config, c *capture) *capture {
	t.Helper()
	cfg.Filter.NetNS = ns.Inode // on top of whatever else the test filters
	tr := open(t, cfg)
	c.tr = tr
	c.inferring = tr.Backend() == tracer.BackendTracepoint
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Read(ctx, c) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reading: %v", err)
		}
		tr.Close()
		c.checkCauses(t, ns)
		if lost := count(c.snapshot(), kind(event.KindLost)); t.Failed() && lost > 0 && !c.lossy {
			t.Logf("twtrace reported lost events %d times: a missing or incomplete event above may be one of them", lost)
		}
	})
	return c
}

// checkCauses fails the test for each tw that ended in a way it does not
// expect, with the connection's whole story and the namespace's counters:
// which of the kernel's resets, aborts and kills happened tells a kernel's
// doing from a misnamed cause.
//
// One end no test can rule out is the peer's RST (TIME_WAIT assassination,
// which tcp_rfc1337=0 allows): a tw answers any stray segment with an ACK,
// and a peer that has closed since answers that with an RST. On loopback a
// connection's segments queue on the CPU that sent them, so a delayed ACK
// can arrive after the FIN it preceded, and emulated CPUs make that window
// milliseconds wide. Such an end passes when the kernel confirms it: the
// namespace, which holds both ends, sent at least as many resets (Tcp
// OutRsts) as tw were reported killed by one.
func (c *capture) checkCauses(t *testing.T, ns *nettest.NS) {
	evs := c.snapshot()
	var unexpected, byRST []event.Event
	for _, e := range evs {
		switch {
		case e.Kind != event.KindTWExit, e.Cause == event.CauseExpired, slices.Contains(c.causes, e.Cause):
		case e.Cause == event.CauseRST:
			byRST = append(byRST, e)
		default:
			unexpected = append(unexpected, e)
		}
	}
	if len(byRST) > 0 {
		if sent := ns.Tcp(t)["OutRsts"]; sent >= uint64(len(byRST)) {
			t.Logf("%d tw killed by an RST, which this test does not send; the kernel sent %d in the namespace:\n%s", len(byRST), sent, dump(byRST))
		} else {
			t.Errorf("%d tw killed by an RST, but the kernel sent %d in the namespace", len(byRST), sent)
			unexpected = append(unexpected, byRST...)
		}
	}
	for _, e := range unexpected {
		t.Errorf("a tw ended with cause %v, unexpected here: %s\nits connection, both ends:\n%s",
			e.Cause, event.AppendTable(nil, &e), dump(only(evs, sameConnection(&e))))
	}
	if len(unexpected) > 0 {
		t.Logf("the namespace's counters: Tcp %s; TcpExt %s", nonzero(ns.Tcp(t)), nonzero(ns.TcpExt(t)))
	}
}

// nonzero lists the counters that are not zero, by name.
func nonzero(counters map[string]uint64) string {
	var list []string
	for name, v := range counters {
		if v != 0 {
			list = append(list, fmt.Sprintf("%s=%d", name, v))
		}
	}
	slices.Sort(list)
	return strings.Join(list, " ")
}

// sameConnection matches the events of e's connection, from either end.
func sameConnection(e *event.Event) func(*event.Event) bool {
	return func(o *event.Event) bool {
		return o.LPort == e.LPort && o.RPort == e.RPort || o.LPort == e.RPort && o.RPort == e.LPort
	}
}

// await waits until match holds for the events so far and returns them; it
// fails the test, listing what was seen, after timeout.
func (c *capture) await(t *testing.T, timeout time.Duration, what string, match func([]event.Event) bool) []event.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := c.snapshot()
		if match(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			if skipped := c.tr.Skipped(); skipped > 0 && vmtest.InVM() && !c.lossy {
				// Emulated CPUs are slow enough that softirqs often
				// run inside a program, and the kernel skips the
				// nested run (and counts it). Only those losses excuse
				// a missing event; a full ring never does.
				t.Skipf("the kernel skipped %d of twtrace's program runs: %s cannot be counted", skipped, what)
			}
			t.Fatalf("after %v, still waiting for %s; saw:\n%s", timeout, what, dump(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count returns how many events satisfy pred.
func count(evs []event.Event, pred func(*event.Event) bool) int {
	n := 0
	for i := range evs {
		if pred(&evs[i]) {
			n++
		}
	}
	return n
}

func dump(evs []event.Event) string {
	var b strings.Builder
	for i := range evs {
		b.Write(event.AppendTable(nil, &evs[i]))
		b.WriteByte('\n')
	}
	return b.String()
}

// kind matches events of kind k.
func kind(k event.Kind) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.Kind == k }
}

// transition matches state events old -> new.
func transition(old, new event.State) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.Kind == event.KindState && e.Old == old && e.New == new }
}

// on narrows pred to events whose local port is port.
func on(port uint16, pred func(*event.Event) bool) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.LPort == port && pred(e) }
}

// notOn narrows pred to events whose local port is not port.
func notOn(port uint16, pred func(*event.Event) bool) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.LPort != port && pred(e) }
}

// owner checks that every event matching pred is owned by p.
func owner(t *testing.T, evs []event.Event, what string, pred func(*event.Event) bool, p *nettest.Proc) {
	t.Helper()
	for i := range evs {
		e := &evs[i]
		if pred(e) && (e.PID != uint32(p.PID) || e.CommString() != p.Comm) {
			t.Errorf("%s owned by %d/%s, want %d/%s: %s", what, e.PID, e.CommString(), p.PID, p.Comm, event.AppendTable(nil, e))
		}
	}
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func filterNS(ns *nettest.NS) filter.Filter { return filter.Filter{NetNS: ns.Inode} }

// exchange runs n connections on port inside ns between a server named
// twsrv and a client named twcli, each closing as told (nettest's -close
// modes), and returns both once they are done. clientArgs go to the client.
func exchange(t *testing.T, ns *nettest.NS, port, n int, serverClose, clientClose string, clientArgs ...string) (srv, cli *nettest.Proc) {
	t.Helper()
	count := strconv.Itoa(n)
	srv = ns.Start(t, "twsrv", "server", "-addr", addr(port), "-n", count, "-close", serverClose)
	srv.Ready(t)
	cli = ns.Start(t, "twcli", "client", append([]string{"-addr", addr(port), "-n", count, "-close", clientClose}, clientArgs...)...)
	cli.Wait(t)
	srv.Wait(t)
	return srv, cli
}
