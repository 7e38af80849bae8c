//go:build linux

package tracer_test

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/internal/vmtest"
	"github.com/twtrace/twtrace/tracer"
)

// tally counts events instead of keeping them: a soak makes millions. It
// keeps the live tw by tuple and each tuple's last events, so that a count
// that differs from the kernel's can name the connections it missed.
type tally struct {
	mu                sync.Mutex
	kinds             map[event.Kind]uint64
	causes            map[event.Cause]uint64
	longTW, shortTW   uint64 // tw_enter by timeout, the kernel's TW/TWKilled split
	lost, last        uint64
	unexpectedUnknown []string
	live              map[tuple]bool // the tw twtrace saw enter and not end
	unborn            []tuple        // tw that ended without a tw_enter
	recent            map[tuple]*history
}

// history is a tuple's last events, in a ring.
type history struct {
	ev [8]event.Event
	n  int // events seen; the newest is ev[(n-1)%len(ev)]
}

func newTally() *tally {
	return &tally{kinds: map[event.Kind]uint64{}, causes: map[event.Cause]uint64{},
		live: map[tuple]bool{}, recent: map[tuple]*history{}}
}

// tuple names a connection from its local end.
type tuple struct{ local, remote netip.AddrPort }

func (k tuple) String() string { return k.local.String() + " " + k.remote.String() }

func tupleOf(e *event.Event) tuple {
	return tuple{netip.AddrPortFrom(e.Local(), e.LPort), netip.AddrPortFrom(e.Remote(), e.RPort)}
}

func (c *tally) Event(e *event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kinds[e.Kind]++
	c.last = e.MonoNS
	if e.Kind != event.KindLost {
		key := tupleOf(e)
		h := c.recent[key]
		if h == nil {
			h = new(history)
			c.recent[key] = h
		}
		h.ev[h.n%len(h.ev)] = *e
		h.n++
	}
	switch e.Kind {
	case event.KindTWExit:
		c.causes[e.Cause]++
		if e.Cause == event.CauseUnknown {
			c.unexpectedUnknown = append(c.unexpectedUnknown, string(event.AppendTable(nil, e)))
		}
		if key := tupleOf(e); c.live[key] {
			delete(c.live, key)
		} else if len(c.unborn) < 10 {
			c.unborn = append(c.unborn, key)
		}
	case event.KindTWEnter:
		c.live[tupleOf(e)] = true
		if e.TimeoutNS > uint64(4*time.Second) {
			c.longTW++
		} else {
			c.shortTW++
		}
	case event.KindLost:
		c.lost += e.Count
	}
}

func (c *tally) Idle() {}

// history returns key's last events, oldest first, as table lines.
func (c *tally) history(key tuple) string {
	var b []byte
	h := c.recent[key]
	if h == nil {
		return ""
	}
	for i := max(0, h.n-len(h.ev)); i < h.n; i++ {
		b = append(b, "\n\t"...)
		b = event.AppendTable(b, &h.ev[i%len(h.ev)])
	}
	return string(b)
}

// mismatch names the tw that ss and the tally disagree on, each with its
// tuple's last events. c.mu must be held.
func (c *tally) mismatch(t *testing.T, ns *nettest.NS) string {
	t.Helper()
	kernel := map[tuple]bool{}
	for _, line := range strings.Split(ns.SS(t, "-tanH", "state", "time-wait", "state", "fin-wait-2"), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		local, err1 := netip.ParseAddrPort(f[3])
		remote, err2 := netip.ParseAddrPort(f[4])
		if err1 == nil && err2 == nil {
			kernel[tuple{local, remote}] = true
		}
	}
	var b strings.Builder
	for key := range kernel {
		if !c.live[key] {
			fmt.Fprintf(&b, "\nin ss, not in twtrace: %s%s", key, c.history(key))
		}
	}
	for key := range c.live {
		if !kernel[key] {
			fmt.Fprintf(&b, "\nin twtrace, not in ss: %s%s", key, c.history(key))
		}
	}
	for _, key := range c.unborn {
		fmt.Fprintf(&b, "\nended, never entered: %s%s", key, c.history(key))
	}
	return b.String()
}

func (c *tally) read(f func(*tally) uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c)
}

// TestMixedSoak interleaves every way out of TIME_WAIT with a churn
// workload for a minute, under a bucket limit that overflows, and checks
// twtrace's totals against the kernel's: the tw count, and every counter
// that exists for a cause, exactly up to the events twtrace said it lost.
func TestMixedSoak(t *testing.T) {
	nettest.RequirePrivileged(t)
	if testing.Short() || vmtest.InVM() {
		t.Skip("a one-minute soak, too long for short runs and emulated VMs")
	}
	t.Parallel()
	ns := nettest.NewNS(t)
	ns.SetSysctl(t, "net.ipv4.tcp_tw_reuse", "1")
	ns.SetSysctl(t, "net.ipv4.ip_local_port_range", "40000 44999")

	c := newTally()
	tr := open(t, tracer.Config{Filter: filterNS(ns)})
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Read(ctx, c) }()
	defer func() { cancel(); <-done }()

	kernel := func() (tw uint64, ext map[string]uint64) { return ns.Sockstat(t).TW, ns.TcpExt(t) }
	tw0, ext0 := kernel()

	const soak = 55 * time.Second
	churn := ns.Start(t, "churn", "churn", "-mode", "client-close", "-workers", "2",
		"-rate", "1500", "-duration", soak.String(), "-addr", "127.0.0.1:5001")
	for round, deadline := 0, time.Now().Add(soak-15*time.Second); time.Now().Before(deadline); round++ {
		port := 7400 + 10*(round%50)
		soakRound(t, ns, port)
	}
	// The last seconds under a bucket limit below the churn's population
	// of tw: closes overflow (the early ends above need a tw, so not
	// before).
	ns.SetSysctl(t, "net.ipv4.tcp_max_tw_buckets", "500")
	churn.Wait(t)

	// Quiet now: read the kernel between two identical readings of the
	// tally, so no event falls between. The second waits until the
	// reader has read the skipped program runs (once a second) since the
	// kernel was read: a run skipped in the last second is a loss the
	// totals may show.
	var tw uint64
	var ext map[string]uint64
	deadline := time.Now().Add(awaitEvents)
	for {
		before := c.read(func(c *tally) uint64 { return c.last })
		time.Sleep(100 * time.Millisecond) // let the reader drain
		tw, ext = kernel()
		time.Sleep(1500 * time.Millisecond)
		if c.read(func(c *tally) uint64 { return c.last }) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("events never stopped")
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	t.Logf("events: %v causes: %v lost: %d (skipped runs: %d)", c.kinds, c.causes, c.lost, tr.Skipped())
	// The kernel skips a program run that would nest inside a run of the
	// same program on that CPU (a softirq arriving while it runs in
	// process context); twtrace counts those as lost, never silently. They
	// are rare, and each can move a total by one at most.
	var events uint64
	for _, n := range c.kinds {
		events += n
	}
	if c.lost*10000 > events {
		t.Fatalf("%d of %d events lost: more than 1 in 10,000", c.lost, events)
	}
	near := func(got, want int64) bool { return got-want <= int64(c.lost) && want-got <= int64(c.lost) }
	if got, want := int64(c.kinds[event.KindTWEnter])-int64(c.kinds[event.KindTWExit]), int64(tw)-int64(tw0); !near(got, want) {
		t.Errorf("tw_enter - tw_exit = %d, sockstat tw changed by %d (%d events lost)%s", got, want, c.lost, c.mismatch(t, ns))
	}
	counters := []struct {
		name string
		got  uint64
	}{
		{"TWRecycled", c.causes[event.CauseReused]},
		{"TCPTimeWaitOverflow", c.kinds[event.KindTWOverflow]},
		{"TW", c.longTW},
		{"TWKilled", c.shortTW},
	}
	for _, k := range counters {
		if want := ext[k.name] - ext0[k.name]; !near(int64(k.got), int64(want)) {
			t.Errorf("twtrace counted %d for TcpExt %s, the kernel %d (%d events lost)", k.got, k.name, want, c.lost)
		}
	}
	for _, cause := range []event.Cause{event.CauseReused, event.CauseSYN, event.CauseRST, event.CauseTWRST, event.CauseDestroyed} {
		if c.causes[cause] == 0 {
			t.Errorf("no tw ended %v: the soak did not exercise it", cause)
		}
	}
	if c.kinds[event.KindTWOverflow] == 0 {
		t.Error("no overflow: the soak did not exercise it")
	}
	if len(c.unexpectedUnknown) > 0 {
		t.Errorf("tw ended with cause unknown:\n%s", strings.Join(c.unexpectedUnknown, "\n"))
	}
}

// soakRound runs one of each early end on ports from port: a SYN reopen, an
// RST kill, a tw answering data with an RST, and ss -K.
func soakRound(t *testing.T, ns *nettest.NS, port int) {
	t.Helper()
	// SYN: the server's tw reopened by the client's new SYN.
	srv := ns.Start(t, "twsrv", "server", "-addr", addr(port), "-n", "2", "-close", "first")
	srv.Ready(t)
	cli := ns.Start(t, "twcli", "client", "-addr", addr(port), "-n", "2", "-close", "second",
		"-bind", strconv.Itoa(50000+port), "-reuseaddr", "-gap", "50ms")
	cli.Wait(t)
	srv.Wait(t)

	// RST: a client tw, then the RST its ACK provokes.
	srv = ns.Start(t, "twsrv", "server", "-addr", addr(port+1), "-n", "1", "-close", "second")
	srv.Ready(t)
	cli = ns.Start(t, "twcli", "client", "-addr", addr(port+1), "-n", "1", "-close", "first",
		"-bind", strconv.Itoa(51000+port), "-reuseaddr")
	cli.Wait(t)
	srv.Wait(t)
	lo := netip.MustParseAddr("127.0.0.1")
	ns.InjectACK(t, netip.AddrPortFrom(lo, uint16(port+1)), netip.AddrPortFrom(lo, uint16(51000+port)))

	// tw_rst, then ss -K on a port of its own.
	twRST(t, ns, port+2)
	srv = ns.Start(t, "twsrv", "server", "-addr", addr(port+3), "-n", "1", "-close", "first")
	srv.Ready(t)
	cli = ns.Start(t, "twcli", "client", "-addr", addr(port+3), "-n", "1", "-close", "second")
	cli.Wait(t)
	srv.Wait(t)
	filter := fmt.Sprintf("( sport = :%d )", port+3)
	if out, err := ns.Command("ss", "-K", "-tan", "state", "time-wait", filter).CombinedOutput(); err != nil {
		t.Fatalf("ss -K: %v\n%s", err, out)
	}
}
