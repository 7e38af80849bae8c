package aggregate

import (
	"maps"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

const ms = time.Millisecond
const sec = time.Second

// samples returns each measured state's only duration, failing the test
// when a state was measured more than once.
func samples(t *testing.T, s *Summary) map[event.State]time.Duration {
	t.Helper()
	got := map[event.State]time.Duration{}
	for _, d := range s.States {
		switch d.Count {
		case 0:
		case 1:
			got[d.State] = d.Max
		default:
			t.Errorf("%v measured %d times, want at most once", d.State, d.Count)
		}
	}
	return got
}

// counts returns how many times each measured state was measured.
func counts(s *Summary) map[event.State]uint64 {
	got := map[event.State]uint64{}
	for _, d := range s.States {
		if d.Count > 0 {
			got[d.State] = d.Count
		}
	}
	return got
}

func nonzero[T comparable](counts []uint64, name func(int) T) map[T]uint64 {
	got := map[T]uint64{}
	for i, n := range counts {
		if n != 0 {
			got[name(i)] = n
		}
	}
	return got
}

func closersOf(s *Summary) map[event.Closer]uint64 {
	return nonzero(s.Closers[:], func(i int) event.Closer { return event.Closer(i) })
}

func causesOf(s *Summary) map[event.Cause]uint64 {
	return nonzero(s.Causes[:], func(i int) event.Cause { return event.Cause(i) })
}

// TestLifecycles follows one connection through each way a connection can
// close and each way its tw can end, and checks what a user reads in the
// summary: how long each state lasted, who closed, why the tw ended, and
// that nothing is left behind.
func TestLifecycles(t *testing.T) {
	c := client(40000)
	lc := c.withCloser(event.CloserLocal)
	s := server(50000)
	rs := s.withCloser(event.CloserRemote)
	tw := func(cause event.Cause) []event.Event {
		return append(c.activeClose(0), lc.twExit(70*sec+2*ms, cause, 60*sec))
	}
	// The durations of a client's active close (see activeClose).
	clientDurs := map[event.State]time.Duration{
		event.SynSent: ms, event.Established: 10*sec - ms, event.FinWait1: ms, event.FinWait2: ms,
	}
	with := func(m map[event.State]time.Duration, st event.State, d time.Duration) map[event.State]time.Duration {
		m = maps.Clone(m)
		m[st] = d
		return m
	}
	for _, tc := range []struct {
		name    string
		events  []event.Event
		durs    map[event.State]time.Duration
		closers map[event.Closer]uint64
		causes  map[event.Cause]uint64
		tw      int
	}{{
		name:    "client closes, tw expires",
		events:  tw(event.CauseExpired),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseExpired: 1},
	}, {
		name:    "client closes, tw still there",
		events:  c.activeClose(0),
		durs:    clientDurs,
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{},
		tw:      1,
	}, {
		name:    "tw reused by connect",
		events:  tw(event.CauseReused),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseReused: 1},
	}, {
		name:    "tw reopened by SYN",
		events:  tw(event.CauseSYN),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseSYN: 1},
	}, {
		name:    "tw killed by RST",
		events:  tw(event.CauseRST),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseRST: 1},
	}, {
		name:    "tw answered with RST",
		events:  tw(event.CauseTWRST),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseTWRST: 1},
	}, {
		name:    "tw destroyed by ss -K",
		events:  tw(event.CauseDestroyed),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseDestroyed: 1},
	}, {
		name:    "tw purged with its netns",
		events:  tw(event.CausePurged),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CausePurged: 1},
	}, {
		name:    "tw ends for no reported reason",
		events:  tw(event.CauseNone),
		durs:    with(clientDurs, event.TimeWait, 60*sec),
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseUnknown: 1},
	}, {
		name: "server: peer closes first, no tw here",
		events: one(
			s.state(-ms, event.Listen, event.SynRecv),
			s.state(0, event.SynRecv, event.Established),
			rs.state(5*sec, event.Established, event.CloseWait),
			rs.state(5*sec+3*ms, event.CloseWait, event.LastAck),
			rs.state(5*sec+4*ms, event.LastAck, event.Close),
		),
		durs:    map[event.State]time.Duration{event.Established: 5 * sec, event.CloseWait: 3 * ms, event.LastAck: ms},
		closers: map[event.Closer]uint64{event.CloserRemote: 1},
		causes:  map[event.Cause]uint64{},
	}, {
		name: "simultaneous close goes through CLOSING",
		events: one(
			c.state(0, event.Close, event.SynSent),
			c.state(ms, event.SynSent, event.Established),
			c.withCloser(event.CloserSimultaneous).state(sec, event.Established, event.FinWait1),
			c.withCloser(event.CloserSimultaneous).state(sec+ms, event.FinWait1, event.Closing),
			c.withCloser(event.CloserSimultaneous).state(sec+3*ms, event.Closing, event.TimeWait),
			c.withCloser(event.CloserSimultaneous).twEnter(sec+3*ms, event.TimeWait),
			c.withCloser(event.CloserSimultaneous).twExit(61*sec+3*ms, event.CauseExpired, 60*sec),
		),
		durs: map[event.State]time.Duration{event.SynSent: ms, event.Established: sec - ms,
			event.FinWait1: ms, event.Closing: 2 * ms, event.TimeWait: 60 * sec},
		closers: map[event.Closer]uint64{event.CloserSimultaneous: 1},
		causes:  map[event.Cause]uint64{event.CauseExpired: 1},
	}, {
		name: "local reset",
		events: one(
			c.state(0, event.Close, event.SynSent),
			c.state(ms, event.SynSent, event.Established),
			c.withCloser(event.CloserLocalReset).state(2*sec, event.Established, event.Close),
		),
		durs:    map[event.State]time.Duration{event.SynSent: ms, event.Established: 2*sec - ms},
		closers: map[event.Closer]uint64{event.CloserLocalReset: 1},
		causes:  map[event.Cause]uint64{},
	}, {
		name: "remote reset while closing",
		events: one(
			c.state(0, event.Close, event.SynSent),
			c.state(ms, event.SynSent, event.Established),
			lc.state(2*sec, event.Established, event.FinWait1),
			c.withCloser(event.CloserRemoteReset).state(2*sec+5*ms, event.FinWait1, event.Close),
		),
		durs:    map[event.State]time.Duration{event.SynSent: ms, event.Established: 2*sec - ms, event.FinWait1: 5 * ms},
		closers: map[event.Closer]uint64{event.CloserRemoteReset: 1},
		causes:  map[event.Cause]uint64{},
	}, {
		name: "connect refused: no closer reported",
		events: one(
			c.state(0, event.Close, event.SynSent),
			c.state(ms, event.SynSent, event.Close),
		),
		durs:    map[event.State]time.Duration{event.SynSent: ms},
		closers: map[event.Closer]uint64{event.CloserUnknown: 1},
		causes:  map[event.Cause]uint64{},
	}, {
		name: "orphaned FIN_WAIT2 tw, then the peer's FIN",
		events: one(
			c.state(0, event.Close, event.SynSent),
			c.state(ms, event.SynSent, event.Established),
			lc.state(sec, event.Established, event.FinWait1),
			lc.state(sec+ms, event.FinWait1, event.FinWait2),
			lc.state(sec+2*ms, event.FinWait2, event.TimeWait),
			lc.twEnter(sec+2*ms, event.FinWait2),
			lc.twSubstate(3*sec+ms),
			lc.twExit(63*sec+ms, event.CauseExpired, 62*sec-ms),
		),
		// FIN_WAIT2 is one state to the user, in the socket and then in
		// the tw; TIME_WAIT counts from the peer's FIN.
		durs: map[event.State]time.Duration{event.SynSent: ms, event.Established: sec - ms,
			event.FinWait1: ms, event.FinWait2: 2 * sec, event.TimeWait: 60 * sec},
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseExpired: 1},
	}, {
		name: "socket from before twtrace: durations the kernel measured",
		events: one(
			lc.stateDur(0, event.Established, event.FinWait1, 5*time.Minute),
			lc.stateDur(ms, event.FinWait1, event.FinWait2, ms),
			lc.state(2*ms, event.FinWait2, event.TimeWait),
			lc.twEnter(2*ms, event.TimeWait),
			lc.twExit(60*sec+2*ms, event.CauseExpired, 60*sec),
		),
		durs: map[event.State]time.Duration{event.Established: 5 * time.Minute,
			event.FinWait1: ms, event.FinWait2: ms, event.TimeWait: 60 * sec},
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseExpired: 1},
	}, {
		name:    "tw never seen entering",
		events:  one(lc.twExit(sec, event.CauseReused, 3*sec)),
		durs:    map[event.State]time.Duration{event.TimeWait: 3 * sec},
		closers: map[event.Closer]uint64{event.CloserLocal: 1},
		causes:  map[event.Cause]uint64{event.CauseReused: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Config{})
			feed(a, tc.events)
			sum := a.Summary()
			if got := samples(t, sum); !maps.Equal(got, tc.durs) {
				t.Errorf("durations = %v, want %v", got, tc.durs)
			}
			if got := closersOf(sum); !maps.Equal(got, tc.closers) {
				t.Errorf("closers = %v, want %v", got, tc.closers)
			}
			if got := causesOf(sum); !maps.Equal(got, tc.causes) {
				t.Errorf("causes = %v, want %v", got, tc.causes)
			}
			if sum.TW.Count != tc.tw {
				t.Errorf("tw = %d, want %d", sum.TW.Count, tc.tw)
			}
			snap := a.Snapshot()
			if snap.Tracked != tc.tw {
				t.Errorf("tracked = %d, want %d (only the remaining tw)", snap.Tracked, tc.tw)
			}
			if live := sumInts(snap.Live[:]); live != 0 {
				t.Errorf("live sockets = %d, want 0", live)
			}
		})
	}
}

// TestConnectBeforePort follows a connection whose SYN_SENT is reported
// before connect() picked its local port, as the tracer sees it.
func TestConnectBeforePort(t *testing.T) {
	a := New(Config{})
	c := client(40000)
	unnamed := client(0)
	feed(a, one(
		unnamed.state(0, event.Close, event.SynSent),
		c.stateDur(ms, event.SynSent, event.Established, ms),
		c.withCloser(event.CloserLocalReset).state(2*ms, event.Established, event.Close),
		tick(sec),
	))
	s := a.Snapshot()
	want := map[event.State]time.Duration{event.SynSent: ms, event.Established: ms}
	if got := samples(t, &s.Summary); !maps.Equal(got, want) {
		t.Errorf("durations = %v, want %v", got, want)
	}
	if s.Tracked != 0 || len(s.Recent) != 1 || s.Rates.Opened.Last1s != 1 {
		t.Errorf("tracked %d, ended %d, opened %v/s; want 0, 1, 1", s.Tracked, len(s.Recent), s.Rates.Opened.Last1s)
	}
	if d := s.Destinations; len(d) != 0 {
		t.Errorf("destinations = %+v, want none holding ports", d)
	}
}

func sumInts(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}
