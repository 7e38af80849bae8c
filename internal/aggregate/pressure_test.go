package aggregate

import (
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// TestPortPressure fills a narrowed ephemeral range towards one
// destination and checks held/range, the rates and the time left.
func TestPortPressure(t *testing.T) {
	a := New(Config{PortRanges: map[uint32]PortRange{testNetNS: {40000, 40199}}})
	// 10 connects a second for 10 s, each closed at once into a tw that
	// stays; one tw reused each second.
	for i := range 100 {
		c := client(uint16(40000 + i)).withCloser(event.CloserLocal)
		at := time.Duration(i) * 100 * ms
		feed(a, one(
			c.state(at, event.Close, event.SynSent),
			c.state(at+ms, event.SynSent, event.Established),
			c.state(at+2*ms, event.Established, event.FinWait1),
			c.state(at+3*ms, event.FinWait1, event.FinWait2),
			c.state(at+4*ms, event.FinWait2, event.TimeWait),
			c.twEnter(at+4*ms, event.TimeWait),
		))
	}
	// Another destination, and a server connection: not outbound pressure.
	other := newConn(event.RoleClient, "10.0.0.1:40000", "10.0.0.3:443", 100, "curl")
	sv := server(1234)
	feed(a, one(
		other.state(9*sec, event.Close, event.SynSent),
		sv.state(9*sec, event.SynRecv, event.Established),
		tick(9*sec+900*ms),
	))
	s := a.Snapshot()
	if len(s.Destinations) != 2 {
		t.Fatalf("destinations = %+v, want 2", s.Destinations)
	}
	d := s.Destinations[0]
	if d.Remote.String() != "10.0.0.2:443" || d.Held != 100 || d.TW != 100 || d.Live != 0 || d.Range != 200 {
		t.Fatalf("destination = %+v, want 10.0.0.2:443 holding 100 tw of 200", d)
	}
	if d.CreatePerSec != 10 || d.ReleasePerSec != 0 {
		t.Errorf("create/release per s = %v/%v, want 10/0", d.CreatePerSec, d.ReleasePerSec)
	}
	// 100 ports left at 10 a second.
	if d.Exhaustion != 10*sec || !d.Flagged {
		t.Errorf("exhaustion = %v flagged %v, want 10s flagged", d.Exhaustion, d.Flagged)
	}
	if o := s.Destinations[1]; o.Held != 1 || o.Flagged {
		t.Errorf("other destination = %+v, want 1 held, not flagged", o)
	}

	// Reuse now gives back a port for every one taken: no longer running out.
	for i := range 20 {
		c := client(uint16(40000 + i)).withCloser(event.CloserLocal)
		n := client(uint16(40100 + i))
		at := 10*sec + time.Duration(i)*100*ms
		feed(a, one(
			n.state(at, event.Close, event.SynSent),
			c.twExit(at, event.CauseReused, 10*sec),
			n.state(at+ms, event.SynSent, event.Close),
		))
	}
	feed(a, one(tick(19*sec+900*ms)))
	d = a.Snapshot().Destinations[0]
	// The last 10 complete seconds: 10 first connects, 20 new ones, 20
	// reused tw and 20 closes.
	if d.Held != 80 || d.ReusePerSec != 2 || d.CreatePerSec != 3 || d.ReleasePerSec != 4 {
		t.Errorf("after reuse: held %d, reuse/create/release per s %v/%v/%v; want 80, 2/3/4",
			d.Held, d.ReusePerSec, d.CreatePerSec, d.ReleasePerSec)
	}
	if d.Exhaustion != -1 || d.Flagged {
		t.Errorf("after reuse: exhaustion %v flagged %v, want -1, not flagged", d.Exhaustion, d.Flagged)
	}
}

// TestRangeFull flags a destination that holds its whole range.
func TestRangeFull(t *testing.T) {
	a := New(Config{PortRanges: map[uint32]PortRange{testNetNS: {40000, 40001}}})
	for i := range 2 {
		c := client(uint16(40000 + i))
		feed(a, one(c.state(0, event.Close, event.SynSent)))
	}
	d := a.Snapshot().Destinations[0]
	if d.Held != 2 || d.Exhaustion != 0 || !d.Flagged {
		t.Errorf("destination = %+v, want 2 held, exhausted, flagged", d)
	}
}

// TestIdleDestinationsForgotten keeps memory to the destinations in use:
// one that holds no port and saw nothing for a minute is dropped.
func TestIdleDestinationsForgotten(t *testing.T) {
	a := New(Config{})
	c := client(40000)
	feed(a, one(c.state(0, event.Close, event.SynSent), c.state(ms, event.SynSent, event.Close)))
	if len(a.dests) != 1 {
		t.Fatalf("%d destinations tracked, want 1", len(a.dests))
	}
	feed(a, one(tick(2*time.Minute)))
	if len(a.dests) != 0 {
		t.Errorf("%d destinations tracked after 2 idle minutes, want 0", len(a.dests))
	}
}
