package aggregate

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// socket is a startup-snapshot entry taken at t0.
func socket(local, remote string, st, sub event.State, timer time.Duration) event.Socket {
	l, r := netip.MustParseAddrPort(local), netip.MustParseAddrPort(remote)
	var e event.Event
	e.SetLocal(l.Addr())
	e.SetRemote(r.Addr())
	return event.Socket{MonoNS: uint64(t0), TimerNS: uint64(timer), NetNS: testNetNS,
		LAddr: e.LAddr, RAddr: e.RAddr, LPort: l.Port(), RPort: r.Port(), Family: e.Family,
		State: st, Substate: sub}
}

// TestSeededSocketsEnd checks that the startup snapshot counts from the
// first moment and that its sockets end cleanly though their start was
// never seen: a tw without a tw_enter, a FIN_WAIT2 tw that turns, a full
// socket that closes.
func TestSeededSocketsEnd(t *testing.T) {
	a := New(Config{})
	a.Seed([]event.Socket{
		socket("10.0.0.1:80", "0.0.0.0:0", event.Listen, event.StateNone, 0),
		socket("10.0.0.1:40000", "10.0.0.2:443", event.TimeWait, event.TimeWait, 20*sec),
		socket("10.0.0.1:40001", "10.0.0.2:443", event.TimeWait, event.FinWait2, 50*sec),
		socket("10.0.0.1:80", "10.0.0.9:50000", event.TimeWait, event.TimeWait, 30*sec),
		socket("10.0.0.1:80", "10.0.0.9:50001", event.Established, event.StateNone, 0),
	})
	s := a.Snapshot()
	if want := (TWCount{Count: 3, TimeWait: 2, FinWait2: 1}); s.TW != want {
		t.Fatalf("tw after seed = %+v, want %+v", s.TW, want)
	}
	if s.Live[event.Established] != 1 {
		t.Errorf("established after seed = %d, want 1", s.Live[event.Established])
	}
	// Roles come from the listener on port 80 and the ephemeral range.
	if want := []PortTW{{testNetNS, 80, 1}}; !slices.Equal(s.TopLocalPorts, want) {
		t.Errorf("tw by local port = %v, want %v", s.TopLocalPorts, want)
	}
	if len(s.Destinations) != 1 || s.Destinations[0].TW != 2 {
		t.Errorf("destinations = %+v, want one holding 2 tw", s.Destinations)
	}

	c0 := client(40000).withCloser(event.CloserNone)
	c1 := client(40001).withCloser(event.CloserLocal)
	sv := server(50000)
	sv1 := server(50001).withCloser(event.CloserRemote)
	feed(a, one(
		c1.twSubstate(5*sec),
		c0.twExit(20*sec, event.CauseExpired, 55*sec),
		sv.twExit(30*sec, event.CauseExpired, 60*sec),
		sv1.state(31*sec, event.Established, event.CloseWait),
		sv1.state(31*sec+ms, event.CloseWait, event.LastAck),
		sv1.state(31*sec+2*ms, event.LastAck, event.Close),
		c1.twExit(65*sec, event.CauseExpired, 70*sec),
	))
	s = a.Snapshot()
	if s.TW != (TWCount{}) || s.Tracked != 0 {
		t.Errorf("after all ended: tw %+v, tracked %d; want none", s.TW, s.Tracked)
	}
	// The seeded TIME_WAIT tw report their age (55 s and 60 s); the
	// FIN_WAIT2 one was measured from its substate change (60 s).
	wantCounts := map[event.State]uint64{event.TimeWait: 3, event.CloseWait: 1, event.LastAck: 1}
	if got := counts(&s.Summary); !maps.Equal(got, wantCounts) {
		t.Errorf("measured %v, want %v", got, wantCounts)
	}
	tw := s.States[len(s.States)-1]
	if tw.State != event.TimeWait || tw.P50 != 60*sec || tw.Max != 60*sec {
		t.Errorf("TIME_WAIT durations = %+v, want p50 and max 1m0s", tw)
	}
	if s.Causes[event.CauseExpired] != 3 {
		t.Errorf("expired = %d, want 3", s.Causes[event.CauseExpired])
	}
	if s.Closers[event.CloserUnknown] != 2 || s.Closers[event.CloserLocal] != 1 || s.Closers[event.CloserRemote] != 1 {
		t.Errorf("closers = %v, want unknown 2, local 1, remote 1", closersOf(&s.Summary))
	}
}

// TestSnapshotOverlap covers the start-up race: the tracer starts before
// the snapshot, so a tw can be both in the snapshot and reported entering.
// It is one tw, not a lost exit and a new tw.
func TestSnapshotOverlap(t *testing.T) {
	a := New(Config{})
	a.Seed([]event.Socket{socket("10.0.0.1:40000", "10.0.0.2:443", event.TimeWait, event.TimeWait, 60*sec)})
	c := client(40000).withCloser(event.CloserLocal)
	feed(a, one(c.twEnter(0, event.TimeWait)))
	if s := a.Summary(); s.TW.Count != 1 || s.Missed != 0 {
		t.Errorf("tw %d, missed %d; want 1, 0", s.TW.Count, s.Missed)
	}
	feed(a, one(c.twExit(60*sec, event.CauseExpired, 60*sec)))
	s := a.Summary()
	if s.TW.Count != 0 || s.Causes[event.CauseExpired] != 1 {
		t.Errorf("after exit: tw %d, expired %d; want 0, 1", s.TW.Count, s.Causes[event.CauseExpired])
	}
	if got := samples(t, s)[event.TimeWait]; got != 60*sec {
		t.Errorf("TIME_WAIT lasted %v, want 1m0s", got)
	}
}

// TestTupleReuse covers the kernel reusing what identifies a socket: a
// connect() taking over a tw's port reports the new socket before the old
// tw's exit, and kernel ids recur on unrelated sockets.
func TestTupleReuse(t *testing.T) {
	a := New(Config{})
	c := client(40000)
	other := client(40001).withSock(c.e.Sock) // same kernel id, other tuple
	feed(a, c.activeClose(0), other.activeClose(sec))
	feed(a, one(
		c.state(20*sec, event.Close, event.SynSent), // the new socket first
		c.withCloser(event.CloserLocal).twExit(20*sec, event.CauseReused, 10*sec),
	))
	s := a.Snapshot()
	if s.TW.Count != 1 {
		t.Errorf("tw = %d, want 1 (the other connection's)", s.TW.Count)
	}
	if s.Live[event.SynSent] != 1 {
		t.Errorf("SYN_SENT = %d, want 1 (the new connection)", s.Live[event.SynSent])
	}
	if s.Causes[event.CauseReused] != 1 {
		t.Errorf("reused = %d, want 1", s.Causes[event.CauseReused])
	}
	d := s.Destinations[0]
	if d.Live != 1 || d.TW != 1 || d.Held != 2 {
		t.Errorf("destination live/tw/held = %d/%d/%d, want 1/1/2", d.Live, d.TW, d.Held)
	}
	if len(s.Recent) != 1 || s.Recent[0].Local.Port() != 40000 || s.Recent[0].Cause != event.CauseReused {
		t.Errorf("recent = %+v, want the reused connection", s.Recent)
	}
	// The new connection lives on as its own.
	feed(a, one(c.state(20*sec+ms, event.SynSent, event.Established)))
	if s := a.Snapshot(); s.Live[event.Established] != 1 || s.Live[event.SynSent] != 0 {
		t.Errorf("after handshake: established %d, SYN_SENT %d; want 1, 0", s.Live[event.Established], s.Live[event.SynSent])
	}
}

// TestLostEvents checks that lost events are counted and that what they
// hid does not stay in the inventory: a tw whose exit was lost is dropped
// once well past its expiry, and a socket whose end was lost is replaced
// by the next one on its tuple.
func TestLostEvents(t *testing.T) {
	a := New(Config{})
	c := client(40000)
	feed(a, c.activeClose(0), one(lost(20*sec, 7)))
	if s := a.Summary(); s.Lost != 7 || s.TW.Count != 1 {
		t.Fatalf("lost %d, tw %d; want 7, 1", s.Lost, s.TW.Count)
	}
	// Expected expiry at 70.002 s, plus 10 s of grace.
	feed(a, one(tick(80*sec)))
	if s := a.Summary(); s.TW.Count != 1 {
		t.Errorf("tw dropped before the grace ran out")
	}
	feed(a, one(tick(80*sec+2*ms)))
	s := a.Summary()
	if s.TW.Count != 0 || s.Missed != 1 {
		t.Errorf("tw %d, missed %d; want 0, 1", s.TW.Count, s.Missed)
	}
	if s.Causes != ([event.CauseUnknown + 1]uint64{}) {
		t.Errorf("causes = %v, want none: the exit was not seen", causesOf(s))
	}
	// A late exit for the dropped tw is counted, without going negative.
	feed(a, one(c.withCloser(event.CloserLocal).twExit(81*sec, event.CauseExpired, 71*sec)))
	if s := a.Summary(); s.TW.Count != 0 || s.Causes[event.CauseExpired] != 1 {
		t.Errorf("after late exit: tw %d, expired %d; want 0, 1", s.TW.Count, s.Causes[event.CauseExpired])
	}

	// An ESTABLISHED socket whose close was lost, then a new connect().
	d := client(40001)
	feed(a, one(
		d.state(100*sec, event.Close, event.SynSent),
		d.state(100*sec+ms, event.SynSent, event.Established),
		d.state(200*sec, event.Close, event.SynSent),
	))
	snap := a.Snapshot()
	if snap.Live[event.Established] != 0 || snap.Live[event.SynSent] != 1 || snap.Tracked != 1 {
		t.Errorf("established %d, SYN_SENT %d, tracked %d; want 0, 1, 1",
			snap.Live[event.Established], snap.Live[event.SynSent], snap.Tracked)
	}
	if snap.Recent[0].End != EndMissed {
		t.Errorf("replaced connection ended %v, want missed", snap.Recent[0].End)
	}
}

func TestOverflow(t *testing.T) {
	a := New(Config{})
	c := client(40000).withCloser(event.CloserLocal)
	feed(a, one(
		c.state(0, event.Close, event.SynSent),
		c.state(ms, event.SynSent, event.Established),
		c.state(sec, event.Established, event.FinWait1),
		c.state(sec+ms, event.FinWait1, event.FinWait2),
		c.at(sec+2*ms, event.KindTWOverflow),
		c.state(sec+2*ms, event.FinWait2, event.Close),
	))
	s := a.Snapshot()
	if s.Overflow != 1 || s.TW.Count != 0 || s.Tracked != 0 {
		t.Errorf("overflow %d, tw %d, tracked %d; want 1, 0, 0", s.Overflow, s.TW.Count, s.Tracked)
	}
	if s.Recent[0].End != EndClosed {
		t.Errorf("ended %v, want closed (no tw)", s.Recent[0].End)
	}
}

// TestCloseWaitLeak lists CLOSE_WAIT sockets the application never closed
// by owner, once they pass the threshold, and forgets them once closed.
func TestCloseWaitLeak(t *testing.T) {
	a := New(Config{})
	s1, s2 := server(50000).withCloser(event.CloserRemote), server(50001).withCloser(event.CloserRemote)
	s3 := server(50002).withCloser(event.CloserRemote).withOwner(300, "java")
	feed(a, one(
		s1.state(0, event.SynRecv, event.Established),
		s2.state(0, event.SynRecv, event.Established),
		s3.state(0, event.SynRecv, event.Established),
		s1.state(sec, event.Established, event.CloseWait),
		s3.state(2*sec, event.Established, event.CloseWait),
		s2.state(5*sec, event.Established, event.CloseWait),
		tick(33*sec),
	))
	cw := a.Summary().CloseWait
	want := CloseWait{Count: 3, Leaked: 2, Threshold: 30 * sec, Owners: []Leak{
		{Owner{200, "nginx"}, 1, 32 * sec},
		{Owner{300, "java"}, 1, 31 * sec},
	}}
	if !equalCloseWait(cw, want) {
		t.Errorf("close_wait = %+v, want %+v", cw, want)
	}
	feed(a, one(tick(36*sec)))
	want = CloseWait{Count: 3, Leaked: 3, Threshold: 30 * sec, Owners: []Leak{
		{Owner{200, "nginx"}, 2, 35 * sec},
		{Owner{300, "java"}, 1, 34 * sec},
	}}
	if cw := a.Summary().CloseWait; !equalCloseWait(cw, want) {
		t.Errorf("close_wait = %+v, want %+v", cw, want)
	}
	leaks := a.Snapshot().Leaks
	if len(leaks) != 3 || leaks[0].Remote.Port() != 50000 || leaks[0].End != 0 {
		t.Fatalf("leaks = %+v, want 3 open connections, the one from port 50000 first", leaks)
	}
	if st := leaks[0].Steps[len(leaks[0].Steps)-1]; st.State != event.CloseWait || st.DurNS != uint64(35*sec) {
		t.Errorf("oldest leak's CLOSE_WAIT step = %+v, want 35 s so far", st)
	}
	feed(a, one(s1.state(40*sec, event.CloseWait, event.LastAck)))
	want = CloseWait{Count: 2, Leaked: 2, Threshold: 30 * sec, Owners: []Leak{
		{Owner{200, "nginx"}, 1, 35 * sec},
		{Owner{300, "java"}, 1, 38 * sec},
	}}
	if cw := a.Summary().CloseWait; !equalCloseWait(cw, want) {
		t.Errorf("after one closed: close_wait = %+v, want %+v", cw, want)
	}
}

func equalCloseWait(a, b CloseWait) bool {
	return a.Count == b.Count && a.Leaked == b.Leaked && a.Threshold == b.Threshold && slices.Equal(a.Owners, b.Owners)
}

// TestSeededLeak lists a CLOSE_WAIT socket from the startup snapshot as a
// leak once it has been in CLOSE_WAIT for the threshold since capture
// began (its real age is at least that), owned by whom the snapshot found.
func TestSeededLeak(t *testing.T) {
	a := New(Config{})
	s := socket("10.0.0.1:80", "10.0.0.9:50000", event.CloseWait, event.StateNone, 0)
	s.PID = 300
	event.SetComm(&s.Comm, "java")
	a.Seed([]event.Socket{s})
	feed(a, one(tick(29*sec)))
	if cw := a.Summary().CloseWait; cw.Count != 1 || cw.Leaked != 0 {
		t.Errorf("after 29 s: CLOSE_WAIT %d, leaked %d; want 1, 0", cw.Count, cw.Leaked)
	}
	feed(a, one(tick(31*sec)))
	want := []Leak{{Owner{300, "java"}, 1, 31 * sec}}
	if cw := a.Summary().CloseWait; !slices.Equal(cw.Owners, want) {
		t.Errorf("after 31 s: leaks %+v, want %+v", cw.Owners, want)
	}
}
