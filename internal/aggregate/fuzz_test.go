package aggregate

import (
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// FuzzAdd feeds arbitrary event sequences over a few tuples, including
// impossible orders and lost events, and checks after each event that the
// counters agree with the records they summarise: whatever the tracer
// sends, the inventory never drifts or goes negative.
func FuzzAdd(f *testing.F) {
	f.Add([]byte{0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67})
	f.Add([]byte{0x10, 0x21, 0x40, 0x61, 0x81, 0x07, 0x18, 0xff, 0x2a})
	f.Fuzz(func(t *testing.T, script []byte) {
		a := New(Config{LeakAfter: 3 * time.Second, TWGrace: time.Second, Closed: 4})
		for i := 0; i+1 < len(script); i += 2 {
			e := scriptedEvent(script[i], script[i+1], i)
			a.Add(&e)
			checkInvariants(t, a)
		}
		a.Snapshot()
	})
}

// scriptedEvent decodes two bytes into an event on one of 4 tuples, 250 ms
// after the previous one.
func scriptedEvent(b0, b1 byte, i int) event.Event {
	conns := []tconn{client(40000), client(40001), server(50000), server(50001).withOwner(0, "")}
	c := conns[b0&3]
	at := time.Duration(i/2) * 250 * time.Millisecond
	states := []event.State{event.Close, event.SynSent, event.SynRecv, event.Established, event.FinWait1,
		event.FinWait2, event.TimeWait, event.CloseWait, event.LastAck, event.Closing, event.Listen}
	switch (b0 >> 2) & 7 {
	case 0, 1, 2:
		return c.withCloser(event.Closer(b1>>5)%7).state(at, states[int(b1&15)%len(states)], states[int(b1>>4)%len(states)])
	case 3:
		sub := event.TimeWait
		if b1&1 == 1 {
			sub = event.FinWait2
		}
		return c.twEnter(at, sub)
	case 4:
		return c.twSubstate(at)
	case 5:
		return c.twExit(at, event.Cause(b1%9), time.Duration(b1)*time.Second)
	case 6:
		return c.at(at, event.KindTWOverflow)
	}
	return lost(at, uint64(b1))
}

// checkInvariants recounts everything from the records and compares.
func checkInvariants(t *testing.T, a *Aggregator) {
	t.Helper()
	var live, tw [numStates]int
	ownerTW, ownerLeaks := map[owner]int{}, map[owner]int{}
	lports, remotes := map[portKey]int{}, map[endpointKey]int{}
	held := map[destKey]int{}
	n := 0
	for id := uint32(1); id < a.t.unused; id++ {
		c := a.t.at(id)
		switch {
		case c.ph == phaseTW && c.state != event.TimeWait && c.state != event.FinWait2,
			c.ph == phaseLive && (c.state == event.Close || c.state == event.TimeWait):
			t.Fatalf("record %d: %v in phase %d, a state it can never leave", id, c.state, c.ph)
		}
		switch c.ph {
		case phaseFree:
			continue
		case phaseTW:
			tw[c.state]++
			ownerTW[c.owner()]++
			switch c.role {
			case event.RoleServer:
				lports[portKey{c.netns, c.lport}]++
			case event.RoleClient:
				remotes[endpointKey{c.raddr, c.netns, c.rport, c.family}]++
			}
		default:
			live[c.state]++
		}
		if c.leaked {
			ownerLeaks[c.owner()]++
		}
		if c.role == event.RoleClient {
			held[destOf(c)]++
		}
		n++
		if got := a.t.find(&hkey{c.key, a.t.tag(&c.key)}, c.ph); got != id {
			t.Fatalf("record %d not found by its key (found %d)", id, got)
		}
	}
	if live != a.live || tw != a.tw || n != a.t.n {
		t.Fatalf("recounted live %v tw %v n %d; aggregate says %v %v %d", live, tw, n, a.live, a.tw, a.t.n)
	}
	if !equalCounts(ownerTW, a.ownerTW) || !equalCounts(ownerLeaks, a.ownerLeaks) {
		t.Fatalf("recounted owners' tw %v and leaks %v, aggregate says %v and %v",
			ownerTW, ownerLeaks, a.ownerTW, a.ownerLeaks)
	}
	if !equalCounts(lports, a.lports) || !equalCounts(remotes, a.remotes) {
		t.Fatalf("recounted tw by port %v and by peer %v, aggregate says %v and %v", lports, remotes, a.lports, a.remotes)
	}
	for k, d := range a.dests {
		if d.live < 0 || d.tw < 0 || d.live+d.tw != held[k] {
			t.Fatalf("destination %v holds %d+%d, recounted %d", k, d.live, d.tw, held[k])
		}
	}
	if got := listLen(a, &a.twl); got != tw[event.TimeWait]+tw[event.FinWait2] {
		t.Fatalf("tw list has %d, tw count %v", got, tw)
	}
	if got := listLen(a, &a.cw) + listLen(a, &a.leaks); got != live[event.CloseWait] {
		t.Fatalf("CLOSE_WAIT lists have %d, CLOSE_WAIT count %d", got, live[event.CloseWait])
	}
}

// equalCounts compares counters, taking a missing entry for zero.
func equalCounts[K comparable](want, got map[K]int) bool {
	for k, n := range got {
		if want[k] != n {
			return false
		}
	}
	for k, n := range want {
		if got[k] != n {
			return false
		}
	}
	return true
}

func listLen(a *Aggregator, l *list) int {
	n := 0
	for id := l.head; id != 0; id = a.t.at(id).next {
		n++
	}
	return n
}
