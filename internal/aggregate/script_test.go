package aggregate

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// The tests drive the aggregator with scripted event sequences. A tconn is
// one side of one connection; its methods return the events the tracer
// would report for it at a given time after the start of the script.

// t0 is the script's start in event time: far from zero, as on a real
// machine.
const t0 = 1000 * time.Second

const testNetNS = 4026531840

type tconn struct{ e event.Event }

// newConn describes the connection local -> remote owned by pid/comm.
func newConn(role event.Role, local, remote string, pid uint32, comm string) tconn {
	var c tconn
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	c.e.SetLocal(l.Addr())
	c.e.SetRemote(r.Addr())
	c.e.LPort, c.e.RPort = l.Port(), r.Port()
	c.e.NetNS, c.e.PID, c.e.Role = testNetNS, pid, role
	c.e.Sock = uint64(l.Port())<<16 | uint64(r.Port())
	event.SetComm(&c.e.Comm, comm)
	return c
}

// client is a curl connecting from port lport to 10.0.0.2:443.
func client(lport uint16) tconn {
	return newConn(event.RoleClient, netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), lport).String(),
		"10.0.0.2:443", 100, "curl")
}

// server is nginx's side of a connection from 10.0.0.9:rport to port 80.
func server(rport uint16) tconn {
	return newConn(event.RoleServer, "10.0.0.1:80",
		netip.AddrPortFrom(netip.MustParseAddr("10.0.0.9"), rport).String(), 200, "nginx")
}

func (c tconn) at(t time.Duration, k event.Kind) event.Event {
	e := c.e
	e.Kind = k
	e.MonoNS = uint64(t0 + t)
	e.WallNS = int64(1_700_000_000*time.Second + t)
	return e
}

func (c tconn) withCloser(cl event.Closer) tconn { c.e.Closer = cl; return c }
func (c tconn) withSock(sock uint64) tconn       { c.e.Sock = sock; return c }
func (c tconn) withOwner(pid uint32, comm string) tconn {
	c.e.PID = pid
	event.SetComm(&c.e.Comm, comm)
	return c
}

func (c tconn) state(t time.Duration, old, new event.State) event.Event {
	e := c.at(t, event.KindState)
	e.Old, e.New = old, new
	return e
}

// stateDur is a state event that carries the kernel's time in old.
func (c tconn) stateDur(t time.Duration, old, new event.State, dur time.Duration) event.Event {
	e := c.state(t, old, new)
	e.HasDur, e.DurNS = true, uint64(dur)
	return e
}

func (c tconn) twEnter(t time.Duration, sub event.State) event.Event {
	e := c.at(t, event.KindTWEnter)
	e.Substate, e.TimeoutNS = sub, uint64(60*time.Second)
	e.Sock |= 1 << 40 // a tw is a different kernel object
	return e
}

func (c tconn) twSubstate(t time.Duration) event.Event {
	e := c.at(t, event.KindTWSubstate)
	e.Substate, e.TimeoutNS = event.TimeWait, uint64(60*time.Second)
	e.Sock |= 1 << 40
	return e
}

// twExit ends the tw; age is the tw's age the kernel reports.
func (c tconn) twExit(t time.Duration, cause event.Cause, age time.Duration) event.Event {
	e := c.at(t, event.KindTWExit)
	e.Substate, e.Cause = event.TimeWait, cause
	e.HasDur, e.DurNS = true, uint64(age)
	e.Sock |= 1 << 40
	return e
}

// activeClose is a client's full life: connect at t, 1 ms handshake,
// close at t+10s, FIN_WAIT1 and FIN_WAIT2 1 ms each, then TIME_WAIT.
func (c tconn) activeClose(t time.Duration) []event.Event {
	c = c.withCloser(event.CloserNone)
	ms := time.Millisecond
	lc := c.withCloser(event.CloserLocal)
	return []event.Event{
		c.state(t, event.Close, event.SynSent),
		c.state(t+ms, event.SynSent, event.Established),
		lc.state(t+10*time.Second, event.Established, event.FinWait1),
		lc.state(t+10*time.Second+ms, event.FinWait1, event.FinWait2),
		lc.state(t+10*time.Second+2*ms, event.FinWait2, event.TimeWait),
		lc.twEnter(t+10*time.Second+2*ms, event.TimeWait),
	}
}

func lost(t time.Duration, n uint64) event.Event {
	return event.Event{Kind: event.KindLost, MonoNS: uint64(t0 + t), Count: n}
}

// tick is an event unrelated to any connection, to move event time on.
func tick(t time.Duration) event.Event { return lost(t, 0) }

// inOrder merges scripts into one stream in event time, as the tracer
// delivers them.
func inOrder(evs ...[]event.Event) []event.Event {
	var all []event.Event
	for _, batch := range evs {
		all = append(all, batch...)
	}
	slices.SortStableFunc(all, func(x, y event.Event) int { return cmp.Compare(x.MonoNS, y.MonoNS) })
	return all
}

func feed(a *Aggregator, evs ...[]event.Event) {
	for _, batch := range evs {
		for i := range batch {
			a.Add(&batch[i])
		}
	}
}

func one(e ...event.Event) []event.Event { return e }
