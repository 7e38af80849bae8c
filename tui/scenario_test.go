package tui

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// The tests look at a capture made up of the lives of a few connections,
// written as the tracer would report them, in the order of their times.

const (
	testNetNS = 4026531840
	bootWall  = 1_763_700_000 * int64(time.Second) // wall clock at mono 0
	monoStart = 1000 * time.Second                 // capture start, mono
)

func testMeta() *event.Meta {
	return &event.Meta{
		Version: "0.1.0", Host: "edge-7", Kernel: "6.18.0-arch1", Backend: "tracepoint",
		BootWallNS: bootWall, StartWallNS: bootWall + int64(monoStart),
		Sysctls: map[string]string{
			"tcp_tw_reuse": "2", "tcp_max_tw_buckets": "4096", "tcp_fin_timeout": "60",
			"ip_local_port_range": "32768\t60999", "tcp_timestamps": "1", "tcp_rfc1337": "0",
		},
	}
}

// script collects events.
type script struct{ evs []event.Event }

// conn is one side of a connection; at returns its events at time t
// after the capture began.
type conn struct{ e event.Event }

func newConn(role event.Role, local, remote string, pid uint32, comm string) conn {
	var c conn
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	c.e.SetLocal(l.Addr())
	c.e.SetRemote(r.Addr())
	c.e.LPort, c.e.RPort, c.e.NetNS, c.e.PID, c.e.Role = l.Port(), r.Port(), testNetNS, pid, role
	event.SetComm(&c.e.Comm, comm)
	return c
}

func (s *script) add(c *conn, t time.Duration, k event.Kind, f func(e *event.Event)) {
	e := c.e
	e.Kind, e.MonoNS, e.WallNS = k, uint64(monoStart+t), bootWall+int64(monoStart+t)
	if f != nil {
		f(&e)
	}
	c.e.Closer = e.Closer // the closer sticks once settled
	s.evs = append(s.evs, e)
}

func (s *script) state(c *conn, t time.Duration, old, new event.State) {
	s.add(c, t, event.KindState, func(e *event.Event) { e.Old, e.New = old, new })
}

// clientClose is a client that connects at t, sends a request and closes
// first, leaving a tw; its tw ends with cause after 60 s unless cause is
// CauseNone.
func (s *script) clientClose(c conn, t time.Duration, cause event.Cause) {
	s.state(&c, t, event.Close, event.SynSent)
	s.state(&c, t+time.Millisecond, event.SynSent, event.Established)
	c.e.Closer = event.CloserLocal
	s.state(&c, t+250*time.Millisecond, event.Established, event.FinWait1)
	s.state(&c, t+251*time.Millisecond, event.FinWait1, event.FinWait2)
	s.state(&c, t+260*time.Millisecond, event.FinWait2, event.TimeWait)
	s.add(&c, t+260*time.Millisecond, event.KindTWEnter, func(e *event.Event) {
		e.Substate, e.TimeoutNS = event.TimeWait, uint64(60*time.Second)
	})
	end := t + 260*time.Millisecond + 60*time.Second
	switch cause {
	case event.CauseNone:
		return
	case event.CauseReused:
		end = t + 20*time.Second
	}
	s.add(&c, end, event.KindTWExit, func(e *event.Event) {
		e.Substate, e.Cause, e.HasDur, e.DurNS = event.TimeWait, cause, true, uint64(end-t-260*time.Millisecond)
		if cause == event.CauseReused {
			e.ByPID = 4243
			event.SetComm(&e.ByComm, "curl")
		}
	})
	if cause == event.CauseReused {
		// The connect() that took the port: a new connection on the
		// same tuple.
		next := c
		next.e.PID, next.e.Closer = 4243, event.CloserNone
		s.state(&next, end, event.Close, event.SynSent)
		s.state(&next, end+time.Millisecond, event.SynSent, event.Established)
	}
}

// serverPassive is a server connection the peer closes first: no tw on
// this side. leak leaves it in CLOSE_WAIT.
func (s *script) serverPassive(c conn, t time.Duration, leak bool) {
	s.state(&c, t, event.SynRecv, event.Established)
	c.e.Closer = event.CloserRemote
	s.state(&c, t+2*time.Second, event.Established, event.CloseWait)
	if leak {
		return
	}
	s.state(&c, t+2*time.Second+time.Millisecond, event.CloseWait, event.LastAck)
	s.state(&c, t+2*time.Second+2*time.Millisecond, event.LastAck, event.Close)
}

// testScript is a reverse proxy's minute and a half: curl calls an
// upstream over and over and closes first, nginx serves clients that
// close first, one client is reset, two requests leak in CLOSE_WAIT,
// one tw is reused by a new connect(), and the kernel lost events and
// overflowed the tw table once.
func testScript() []event.Event {
	var s script
	for i := range 40 {
		cause := event.CauseNone
		if i < 12 {
			cause = event.CauseExpired
		}
		if i == 5 {
			cause = event.CauseReused
		}
		lport := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i))
		c := newConn(event.RoleClient, lport.String(), "10.0.2.1:443", uint32(4242+i%2), "curl")
		s.clientClose(c, time.Duration(i)*2*time.Second, cause)
	}
	for i := range 6 {
		remote := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), uint16(51000+i))
		s.serverPassive(newConn(event.RoleServer, "10.0.0.1:80", remote.String(), 1000, "nginx"), time.Duration(i)*7*time.Second, i >= 4)
	}
	rst := newConn(event.RoleServer, "10.0.0.1:80", "198.51.100.3:40404", 1000, "nginx")
	s.state(&rst, 30*time.Second, event.SynRecv, event.Established)
	s.add(&rst, 31*time.Second, event.KindState, func(e *event.Event) {
		e.Old, e.New, e.Closer = event.Established, event.Close, event.CloserRemoteReset
	})
	var none conn
	s.add(&none, 45*time.Second, event.KindLost, func(e *event.Event) { e.Count = 3 })
	s.add(&none, 46*time.Second, event.KindTWOverflow, nil)
	slices.SortStableFunc(s.evs, func(x, y event.Event) int { return cmp.Compare(x.MonoNS, y.MonoNS) })
	return s.evs
}

// testFeed is a Feed that has seen the test script.
func testFeed() *Feed {
	f := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 1000)
	evs := testScript()
	for i := range evs {
		f.Event(&evs[i])
	}
	return f
}
