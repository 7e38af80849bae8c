package aggregate

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// churn returns a client-close workload that keeps n tw tracked: each
// connection to one of 4 destinations connects, closes and enters
// TIME_WAIT in consecutive events, and the tw of the connection n earlier
// ends after them, as it would at a steady rate of connections. Replaying
// the slice with later times continues the steady state: its last n tw
// end early in the next replay.
func churn(n int) []event.Event {
	conns := make([]tconn, 2*n)
	for i := range conns {
		remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i % 4)}), 443)
		local := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(10000+i/4))
		conns[i] = newConn(event.RoleClient, local.String(), remote.String(), 100, "curl")
	}
	var evs []event.Event
	for i, c := range conns {
		lc := c.withCloser(event.CloserLocal)
		evs = append(evs,
			c.state(0, event.Close, event.SynSent),
			c.state(0, event.SynSent, event.Established),
			lc.state(0, event.Established, event.FinWait1),
			lc.state(0, event.FinWait1, event.FinWait2),
			lc.state(0, event.FinWait2, event.TimeWait),
			lc.twEnter(0, event.TimeWait),
		)
		old := conns[(i+n)%len(conns)].withCloser(event.CloserLocal)
		evs = append(evs, old.twExit(0, event.CauseExpired, 0))
	}
	return evs
}

// BenchmarkAdd measures the cost of one event in a steady churn with
// 50,000 tw tracked.
func BenchmarkAdd(b *testing.B) {
	round := churn(50_000)
	a := New(Config{})
	const step = uint64(time.Microsecond)
	mono := uint64(t0)
	replay := func(n int) {
		for i := range n {
			e := &round[i%len(round)]
			mono += step
			e.MonoNS = mono
			a.Add(e)
		}
	}
	replay(2 * len(round)) // grow every map and table first
	b.ReportAllocs()
	b.ResetTimer()
	replay(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	if tw := a.Summary().TW.Count; tw < 49_000 || tw > 50_001 {
		b.Fatalf("tracking %d tw, want about 50000", tw)
	}
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
