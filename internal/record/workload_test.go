package record

import (
	"container/heap"
	"math/rand/v2"
	"net/netip"

	"github.com/twtrace/twtrace/internal/event"
)

// churnStream generates the events of a connection-churn workload as the
// tracer would report it: clients on 127.0.0.1 connecting to a server on
// port 5001 about 13,000 times a second and closing first, so each
// connection yields 12 events (5 client states, tw_enter, tw_exit when a
// later connect() reuses the port, 5 server states). Kernel socket
// addresses come from simulated slab free lists, so they are recycled the
// way real ones are. It is deterministic for a given seed.
type churnStream struct {
	rng     *rand.Rand
	start   uint64 // MonoNS of the next connection
	pending eventQueue
	port    uint16
	tws     map[uint16]liveTW
	socks   slab
	twSocks slab
	boot    int64
}

type liveTW struct {
	sock  uint64
	enter uint64
}

const (
	churnServerPort = 5001
	churnRate       = 13000 // connections per second
	initNetNS       = 4026531840
	twTimeout       = 60e9
)

var (
	loopback     = netip.MustParseAddr("127.0.0.1")
	churnClients = []uint32{4101, 4102, 4103, 4104}
	churnServer  = uint32(3001)
)

func newChurnStream(seed uint64) *churnStream {
	return &churnStream{
		rng:     rand.New(rand.NewPCG(seed, 1)),
		start:   3600e9 + seed%1e9,
		port:    32768,
		tws:     make(map[uint16]liveTW),
		socks:   slab{base: 0xffff888104000000, size: 2432},
		twSocks: slab{base: 0xffff88812c000000, size: 256},
		boot:    1_763_700_000e9,
	}
}

// next stores the next event, in time order, in e.
func (c *churnStream) next(e *event.Event) {
	for c.pending.Len() == 0 || c.pending[0].ev.MonoNS > c.start {
		c.connect(c.start)
		c.start += uint64(c.rng.ExpFloat64() * 1e9 / churnRate)
	}
	p := heap.Pop(&c.pending).(queued)
	*e = p.ev
	switch {
	case e.Kind == event.KindTWEnter:
		c.tws[e.LPort] = liveTW{sock: e.Sock, enter: e.MonoNS}
		c.socks.free(p.frees)
	case e.Kind == event.KindTWExit:
		c.twSocks.free(e.Sock)
	case p.frees != 0:
		c.socks.free(p.frees)
	}
}

// connect schedules the events of one connection starting at t.
func (c *churnStream) connect(t uint64) {
	pid := churnClients[c.rng.IntN(len(churnClients))]
	port := c.nextPort()
	if tw, ok := c.tws[port]; ok {
		delete(c.tws, port)
		c.push(queued{ev: c.base(t, tw.sock, port, true, event.KindTWExit, event.TimeWait, event.TimeWait, pid, func(e *event.Event) {
			e.Substate, e.Cause, e.Closer = event.TimeWait, event.CauseReused, event.CloserLocal
			e.DurNS, e.HasDur, e.TimeoutNS = t-tw.enter, true, twTimeout
			e.ByPID = pid
			event.SetComm(&e.ByComm, "churn")
		})})
	}
	us := func(lo, hi int) uint64 { return uint64(lo*1000 + c.rng.IntN((hi-lo)*1000+1)) }
	cli, srv := c.socks.alloc(c.rng), c.socks.alloc(c.rng)

	// The client connects, closes first and ends in TIME_WAIT.
	synRecv := t + us(4, 9)
	estC := synRecv + us(3, 6)
	estS := estC + us(1, 3)
	fin1 := estS + us(30, 120)
	closeWait := fin1 + us(3, 6)
	fin2 := closeWait + us(1, 3)
	lastAck := closeWait + us(8, 40)
	timeWait := lastAck + us(3, 6)
	closed := timeWait + us(1, 3)

	client := []struct {
		at       uint64
		old, new event.State
	}{{t, event.Close, event.SynSent}, {estC, event.SynSent, event.Established},
		{fin1, event.Established, event.FinWait1}, {fin2, event.FinWait1, event.FinWait2},
		{timeWait, event.FinWait2, event.TimeWait}}
	for i, s := range client {
		e := c.base(s.at, cli, port, true, event.KindState, s.old, s.new, pid, nil)
		if i > 0 {
			e.DurNS, e.HasDur = s.at-client[i-1].at, true
		}
		if s.at >= fin1 {
			e.Closer = event.CloserLocal
		}
		c.push(queued{ev: e})
	}
	c.push(queued{ev: c.base(timeWait, c.twSocks.alloc(c.rng), port, true, event.KindTWEnter, event.TimeWait, event.TimeWait, pid, func(e *event.Event) {
		e.Substate, e.Closer, e.TimeoutNS = event.TimeWait, event.CloserLocal, twTimeout
	}), frees: cli})

	// The server learns its owner at accept() and closes second.
	server := []struct {
		at       uint64
		old, new event.State
	}{{synRecv, event.Close, event.SynRecv}, {estS, event.SynRecv, event.Established},
		{closeWait, event.Established, event.CloseWait}, {lastAck, event.CloseWait, event.LastAck},
		{closed, event.LastAck, event.Close}}
	for i, s := range server {
		owner := uint32(0)
		if i >= 2 {
			owner = churnServer
		}
		e := c.base(s.at, srv, port, false, event.KindState, s.old, s.new, owner, nil)
		if i > 0 {
			e.DurNS, e.HasDur = s.at-server[i-1].at, true
		}
		if i >= 2 {
			e.Closer = event.CloserRemote
		}
		q := queued{ev: e}
		if s.new == event.Close {
			q.frees = srv
		}
		c.push(q)
	}
}

// base returns an event of the connection on the client port, seen from
// the client or the server side.
func (c *churnStream) base(at, sock uint64, port uint16, client bool, kind event.Kind, old, new event.State, pid uint32, more func(*event.Event)) event.Event {
	e := event.Event{MonoNS: at, WallNS: c.boot + int64(at), Sock: sock, NetNS: initNetNS,
		PID: pid, Kind: kind, Old: old, New: new, Role: event.RoleServer}
	e.SetLocal(loopback)
	e.SetRemote(loopback)
	e.LPort, e.RPort = churnServerPort, port
	if client {
		e.LPort, e.RPort, e.Role = port, churnServerPort, event.RoleClient
	}
	switch pid {
	case 0:
	case churnServer:
		event.SetComm(&e.Comm, "server")
	default:
		event.SetComm(&e.Comm, "churn")
	}
	if kind != event.KindState {
		e.Old, e.New = 0, 0
	}
	if more != nil {
		more(&e)
	}
	return e
}

// nextPort walks the even ephemeral ports as the kernel's connect() does,
// occasionally skipping one that another connection holds.
func (c *churnStream) nextPort() uint16 {
	c.port += 2
	if c.rng.IntN(16) == 0 {
		c.port += 2
	}
	if c.port > 60999 {
		c.port = 32768 + c.port%2
	}
	return c.port
}

func (c *churnStream) push(q queued) { heap.Push(&c.pending, q) }

// slab hands out kernel-like object addresses, reusing recently freed ones
// first as the kernel's per-CPU free lists do.
type slab struct {
	base, size uint64
	used       uint64
	freed      []uint64
}

func (s *slab) alloc(rng *rand.Rand) uint64 {
	if n := len(s.freed); n > 0 {
		i := n - 1 - rng.IntN(min(n, 8))
		a := s.freed[i]
		s.freed[i] = s.freed[n-1]
		s.freed = s.freed[:n-1]
		return a
	}
	s.used++
	return s.base + s.used*s.size
}

func (s *slab) free(a uint64) {
	if a != 0 {
		s.freed = append(s.freed, a)
	}
}

// queued is a scheduled event and the socket it frees once delivered.
type queued struct {
	ev    event.Event
	frees uint64
}

// eventQueue is a min-heap of queued events by time.
type eventQueue []queued

func (q eventQueue) Len() int           { return len(q) }
func (q eventQueue) Less(i, j int) bool { return q[i].ev.MonoNS < q[j].ev.MonoNS }
func (q eventQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)        { *q = append(*q, x.(queued)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// churnEvents returns the first n events of a churn stream.
func churnEvents(seed uint64, n int) []event.Event {
	c := newChurnStream(seed)
	evs := make([]event.Event, n)
	for i := range evs {
		c.next(&evs[i])
	}
	return evs
}
