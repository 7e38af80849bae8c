//go:build linux

package tracer_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/tracer"
)

// aggregated feeds a live tracer into an aggregator, as the command does.
type aggregated struct {
	mu  sync.Mutex
	agg *aggregate.Aggregator
	n   int // tw_enter seen
}

func (a *aggregated) Event(e *event.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.agg.Add(e)
	if e.Kind == event.KindTWEnter {
		a.n++
	}
}

func (a *aggregated) Idle() {}

// TestPortPressureFlagsExhaustion: connect() to one destination from a
// ten-port range, each connection leaving a tw, until the kernel refuses
// with EADDRNOTAVAIL. Before that first refusal twtrace must already say
// the destination is running out: every port held, and flagged.
func TestPortPressureFlagsExhaustion(t *testing.T) {
	nettest.RequirePrivileged(t)
	t.Parallel()
	ns := nettest.NewNS(t)
	ns.SetSysctl(t, "net.ipv4.tcp_tw_reuse", "0")
	ns.SetSysctl(t, "net.ipv4.ip_local_port_range", "40000 40009")
	const port, ports = 7501, 10

	a := &aggregated{agg: aggregate.New(aggregate.Config{
		PortRanges: map[uint32]aggregate.PortRange{ns.Inode: {Lo: 40000, Hi: 40009}},
	})}
	tr := open(t, tracer.Config{Filter: filterNS(ns)})
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Read(ctx, a) }()
	defer func() { cancel(); <-done }()

	srv := ns.Start(t, "twsrv", "server", "-addr", addr(port), "-n", strconv.Itoa(ports), "-close", "second")
	srv.Ready(t)

	var before *aggregate.Destination // the destination just before the refusal
	refusedAt := 0
	err := ns.Do(func() error {
		for i := 1; i <= ports+1; i++ {
			c, err := net.Dial("tcp", addr(port))
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				refusedAt = i
				return nil
			}
			if err != nil {
				return err
			}
			// The server role's exchange, then the client closes first.
			if _, err := c.Write([]byte("ping\n")); err != nil {
				return err
			}
			if _, err := c.Read(make([]byte, 16)); err != nil {
				return err
			}
			c.Close()
			// Wait until twtrace has seen this connection's tw.
			for deadline := time.Now().Add(awaitEvents); ; {
				a.mu.Lock()
				n := a.n
				a.mu.Unlock()
				if n >= i {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("tw %d never seen", i)
					return nil
				}
				time.Sleep(5 * time.Millisecond)
			}
			a.mu.Lock()
			for _, d := range a.agg.Snapshot().Destinations {
				if d.Remote.Port() == port {
					before = &d
				}
			}
			a.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Wait(t)
	if refusedAt != ports+1 {
		t.Fatalf("connect refused at attempt %d, want %d: the range did not run out as set up", refusedAt, ports+1)
	}
	if before == nil || before.Held != ports || before.Range != ports || !before.Flagged {
		t.Errorf("before the first EADDRNOTAVAIL twtrace reported %+v, want %d/%d ports held and flagged", before, ports, ports)
	}
}
