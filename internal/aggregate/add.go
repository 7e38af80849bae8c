package aggregate

import "github.com/twtrace/twtrace/internal/event"

// Add folds one event into the aggregate. It allocates nothing once the
// maps have grown to the workload's size.
func (a *Aggregator) Add(e *event.Event) {
	a.advance(e.MonoNS, e.WallNS)
	switch e.Kind {
	case event.KindState:
		a.onState(e)
	case event.KindTWEnter:
		a.onTWEnter(e)
	case event.KindTWSubstate:
		a.onTWSubstate(e)
	case event.KindTWExit:
		a.onTWExit(e)
	case event.KindTWOverflow:
		a.overflow++
		a.rates.overflow.add(a.now, 1)
	case event.KindLost:
		a.lost += e.Count
	}
}

// onState follows a full socket from state to state; its first event
// creates its record, its end (CLOSE) retires it.
func (a *Aggregator) onState(e *event.Event) {
	switch {
	case e.New == event.Listen || e.Old == event.Listen && e.New == event.Close:
		a.onListener(e)
		return
	case e.Old == event.TimeWait:
		// No full socket is ever in TIME_WAIT: not a transition to follow.
		return
	}
	if e.LPort == 0 {
		// connect() reports SYN_SENT before it picks the local port,
		// so the connection cannot be named yet. It is counted as
		// opened now and recorded from its next event, which carries
		// the port and how long SYN_SENT lasted.
		if e.Old == event.Close && e.New == event.SynSent {
			a.rates.opened.add(a.now, 1)
			a.dest(destKey{e.LAddr, e.RAddr, e.NetNS, e.RPort, e.Family}).created.add(a.now, 1)
		}
		return
	}
	k := a.t.hash(keyOfEvent(e))
	id := a.t.find(&k, phaseLive)
	// A socket is born by connect() (CLOSE -> SYN_SENT) or as a
	// listener's child (LISTEN -> SYN_RECV: the child starts as a copy of
	// its listener).
	born := e.Old == event.Close || e.Old == event.StateNone || e.Old == event.Listen
	if id != 0 && (born || e.Old == event.SynRecv) && a.t.at(id).state != e.Old {
		// A new socket on the tuple: the record is an earlier
		// connection whose end was lost.
		a.end(id, EndMissed, event.CauseNone)
		id = 0
	}
	if id == 0 && born {
		// A birth that is also an end leaves nothing to follow.
		if e.New != event.Close && e.New != event.TimeWait {
			a.openFor(&k, phaseLive, e, e.New, a.evt, true)
		}
		return
	}
	if id == 0 {
		// An accepted connection whose birth was not seen, or a socket
		// that existed before twtrace.
		id = a.openFor(&k, phaseLive, e, e.Old, startOf(e), e.Old == event.SynRecv)
	} else {
		a.annotate(id, e)
	}
	c := a.t.at(id)
	if c.state != e.Old {
		// Events were lost: when the recorded state ended is unknown.
		a.enter(id, e.Old, startOf(e), false)
	} else if c.at[c.cur()] == 0 && e.HasDur {
		c.at[c.cur()] = startOf(e)
	}
	switch e.New {
	case event.TimeWait:
		// The tw_enter that follows moves the connection into its tw.
	case event.Close:
		a.measure(c)
		a.end(id, EndClosed, event.CauseNone)
	default:
		a.enter(id, e.New, a.evt, true)
	}
}

// startOf returns when e's Old state began, 0 when unknown.
func startOf(e *event.Event) uint64 {
	if e.HasDur && e.DurNS <= e.MonoNS {
		return e.MonoNS - e.DurNS
	}
	return 0
}

// onListener counts listening sockets per port: a socket on a listening
// port was accepted, which gives a role to sockets the tracer could not
// attribute.
func (a *Aggregator) onListener(e *event.Event) {
	k := portKey{e.NetNS, e.LPort}
	switch {
	case e.New == event.Listen:
		addCount(a.listeners, k, 1)
	case a.listeners[k] > 0:
		addCount(a.listeners, k, -1)
	}
}
