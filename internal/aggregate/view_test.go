package aggregate

import (
	"slices"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// TestTopOwners ranks owners by the tw they hold, attributing each tw to
// the process the tracer named, even when it changed along the way.
func TestTopOwners(t *testing.T) {
	a := New(Config{TopN: 2})
	var evs []event.Event
	for i := range 3 {
		evs = append(evs, client(uint16(40000+i)).activeClose(0)...)
	}
	for i := range 2 {
		evs = append(evs, client(uint16(41000+i)).withOwner(7, "wget").activeClose(0)...)
	}
	// Forked after connect: the close names another process.
	h := client(42000).withOwner(0, "")
	evs = append(evs, h.state(0, event.Close, event.SynSent),
		h.withOwner(8, "worker").state(sec, event.SynSent, event.Established))
	evs = append(evs, h.withOwner(9, "child").activeClose(2 * sec)[2:]...)
	feed(a, evs)
	want := []OwnerTW{{Owner{100, "curl"}, 3}, {Owner{7, "wget"}, 2}}
	if got := a.Summary().TopOwners; !slices.Equal(got, want) {
		t.Errorf("top owners = %v, want %v", got, want)
	}
	a.cfg.TopN = 3
	want = append(want, OwnerTW{Owner{9, "child"}, 1})
	if got := a.Summary().TopOwners; !slices.Equal(got, want) {
		t.Errorf("top 3 owners = %v, want %v", got, want)
	}
}

// TestRecentIsBounded keeps only the latest ended connections, newest
// first, however many come and go.
func TestRecentIsBounded(t *testing.T) {
	a := New(Config{Closed: 3})
	for i := range 10 {
		c := client(uint16(40000 + i))
		at := time.Duration(i) * sec
		feed(a, one(c.state(at, event.Close, event.SynSent), c.state(at+ms, event.SynSent, event.Close)))
	}
	var ports []uint16
	for _, c := range a.Snapshot().Recent {
		ports = append(ports, c.Local.Port())
	}
	if want := []uint16{40009, 40008, 40007}; !slices.Equal(ports, want) {
		t.Errorf("recent ports = %v, want %v", ports, want)
	}
	r := a.Snapshot().Recent[0]
	want := []Step{{event.SynSent, uint64(t0 + 9*sec), uint64(ms)}}
	if !slices.Equal(r.Steps, want) || r.End != EndClosed || r.Direction() != DirectionOutbound {
		t.Errorf("latest = %+v, want one 1 ms SYN_SENT step, closed, outbound", r)
	}
}

// TestRates counts per second over the last 1, 10 and 60 complete
// seconds of event time.
func TestRates(t *testing.T) {
	a := New(Config{})
	// 5 connections a second for 20 s.
	for i := range 100 {
		c := client(uint16(40000 + i))
		feed(a, one(c.state(time.Duration(i)*200*ms, event.Close, event.SynSent)))
	}
	feed(a, one(tick(19*sec+900*ms)))
	got := a.Snapshot().Rates.Opened
	if want := (Rate{Last1s: 5, Last10s: 5, Last60s: 5}); got != want {
		t.Errorf("opened = %+v, want %+v", got, want)
	}
	feed(a, one(tick(24*sec+900*ms)))
	got = a.Snapshot().Rates.Opened
	// 6 of the last 10 seconds had 5 a second; 100 in the 24 s since start.
	if want := (Rate{Last1s: 0, Last10s: 3, Last60s: 100.0 / 24}); got != want {
		t.Errorf("5 s later: opened = %+v, want %+v", got, want)
	}
}

// TestAcceptedConnection follows a server connection from its birth as a
// listener's child: counted once as opened, and the listener tells the
// role of a socket the tracer could not attribute.
func TestAcceptedConnection(t *testing.T) {
	a := New(Config{})
	listener := newConn(event.RoleUnknown, "10.0.0.1:80", "0.0.0.0:0", 200, "nginx")
	s := server(50000)
	unattributed := server(50001).withOwner(0, "")
	unattributed.e.Role = event.RoleUnknown
	feed(a, one(
		listener.state(0, event.Close, event.Listen),
		s.state(sec, event.Listen, event.SynRecv),
		s.state(sec+ms, event.SynRecv, event.Established),
		unattributed.twEnter(sec+2*ms, event.TimeWait),
		tick(2*sec),
	))
	snap := a.Snapshot()
	if snap.Live[event.Established] != 1 || snap.Rates.Opened.Last1s != 1 {
		t.Errorf("established %d, opened %v/s; want 1, 1", snap.Live[event.Established], snap.Rates.Opened.Last1s)
	}
	if want := []PortTW{{testNetNS, 80, 1}}; !slices.Equal(snap.TopLocalPorts, want) {
		t.Errorf("tw by local port = %v, want %v", snap.TopLocalPorts, want)
	}
}
