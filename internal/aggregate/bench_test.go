package aggregate

import (
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// churn generates a client-close workload that keeps n tw tracked: each
// connection connects, closes and enters TIME_WAIT in consecutive events,
// and then the tw of the connection n earlier ends, as at a steady rate of
// connections. Tuples cycle through 2n, so a tuple comes back as a new
// connection once its tw is gone. Events are made on the fly into one
// value, as the tracer decodes them, so a million tracked tw need no
// pre-built stream.
type churn struct {
	n int
	e event.Event
}

// churnSteps are a connection's events, the tuple and time left to fill in.
var churnSteps = [...]event.Event{
	{Kind: event.KindState, Old: event.Close, New: event.SynSent},
	{Kind: event.KindState, Old: event.SynSent, New: event.Established},
	{Kind: event.KindState, Old: event.Established, New: event.FinWait1, Closer: event.CloserLocal},
	{Kind: event.KindState, Old: event.FinWait1, New: event.FinWait2, Closer: event.CloserLocal},
	{Kind: event.KindState, Old: event.FinWait2, New: event.TimeWait, Closer: event.CloserLocal},
	{Kind: event.KindTWEnter, Substate: event.TimeWait, TimeoutNS: uint64(60 * time.Second), Closer: event.CloserLocal},
	{Kind: event.KindTWExit, Substate: event.TimeWait, Cause: event.CauseExpired, Closer: event.CloserLocal},
}

const perConn = len(churnSteps)

// event returns the i-th event of the stream, 1 µs after the previous.
func (g *churn) event(i int) *event.Event {
	conn, step := i/perConn, i%perConn
	tuple := conn % (2 * g.n)
	if step == perConn-1 {
		tuple = (conn + g.n) % (2 * g.n)
	}
	e := &g.e
	*e = churnSteps[step]
	e.MonoNS = uint64(t0) + uint64(i)*uint64(time.Microsecond)
	e.NetNS, e.Family, e.PID, e.Role = testNetNS, 4, 100, event.RoleClient
	e.LAddr = [16]byte{10, 0, 0, 1}
	e.RAddr = [16]byte{10, 1, byte(tuple / 50000 >> 8), byte(tuple / 50000)}
	e.LPort, e.RPort = uint16(10000+tuple%50000), 443
	return e
}

// BenchmarkAdd measures the cost of one event in a steady churn, with
// 50,000 and with 1,000,000 tw tracked.
func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{50_000, 1_000_000} {
		b.Run(fmt.Sprintf("tracked=%d", n), func(b *testing.B) {
			g := &churn{n: n}
			a := New(Config{})
			i := 0
			// A round first: every map and table is grown and the
			// population is steady.
			for ; i < 2*n*perConn; i++ {
				a.Add(g.event(i))
			}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				a.Add(g.event(i))
				i++
			}
			// The CPU time the process used per event, besides the wall
			// time per event: the benchmark machines are shared, and time
			// spent waiting for a CPU is not the aggregator's.
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
			if tw := a.Summary().TW.Count; tw < n-1 || tw > n+1 {
				b.Fatalf("tracking %d tw, want %d", tw, n)
			}
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// million makes an aggregate tracking 1,000,000 tw: 28232 ephemeral
// ports towards each of 36 destinations, owned by 100 processes, with a
// full ring of ended connections.
func million() *Aggregator {
	a := New(Config{})
	var e event.Event
	e.Kind, e.Role, e.Substate, e.Closer = event.KindTWEnter, event.RoleClient, event.TimeWait, event.CloserLocal
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	e.NetNS, e.RPort, e.TimeoutNS = testNetNS, 443, uint64(60*time.Second)
	for i := range 1_000_000 {
		e.SetRemote(netip.AddrFrom4([4]byte{10, 0, 2, byte(i / 28232)}))
		e.LPort = uint16(32768 + i%28232)
		e.PID = uint32(1000 + i%100)
		e.MonoNS = uint64(t0) + uint64(i)
		a.Add(&e)
	}
	for i := range a.cfg.Closed {
		c := server(uint16(i))
		feed(a, one(c.state(sec, event.SynRecv, event.Established), c.state(sec+ms, event.Established, event.Close)))
	}
	return a
}

// BenchmarkSnapshot1M measures Snapshot with a million tw tracked, and
// the memory each tracked tw costs.
func BenchmarkSnapshot1M(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := million()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := a.Summary().TW.Count; got != 1_000_000 {
		b.Fatalf("tracking %d tw, want 1000000", got)
	}
	b.ResetTimer()
	for b.Loop() {
		a.Snapshot()
	}
	// After the loop: resetting the timer drops reported metrics.
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "B/tw")
	runtime.KeepAlive(a)
}
