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

func (a *Aggregator) onState(e *event.Event) {
	if e.New == event.Listen || e.Old == event.Listen && e.New == event.Close {
		a.onListener(e)
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
		a.openFor(&k, phaseLive, e, e.New, a.evt, true)
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

func (a *Aggregator) onTWEnter(e *event.Event) {
	k := a.t.hash(keyOfEvent(e))
	sub := substateOf(e)
	id := a.t.find(&k, phaseTW)
	if id != 0 && a.t.at(id).unseen() {
		// The startup snapshot listed this tw already (the tracer
		// starts first so that nothing is missed): now its start is
		// known.
		a.annotate(id, e)
		a.restart(id, sub)
		a.reschedule(id, a.expiry(e))
		a.rates.twEnter.add(a.now, 1)
		return
	}
	if id != 0 {
		// The tuple's previous tw ended unseen.
		a.missed++
		a.end(id, EndMissed, event.CauseNone)
	}
	if id = a.t.find(&k, phaseLive); id == 0 {
		id = a.openFor(&k, phaseTW, e, sub, a.evt, false)
	} else {
		a.annotate(id, e)
		a.handOff(id, sub)
	}
	a.reschedule(id, a.expiry(e))
	a.rates.twEnter.add(a.now, 1)
}

func substateOf(e *event.Event) event.State {
	if e.Substate == event.FinWait2 {
		return event.FinWait2
	}
	return event.TimeWait
}

// handOff moves a full socket's record into its tw. A FIN_WAIT2 socket
// handed to a FIN_WAIT2-substate tw stays in one FIN_WAIT2 step: to the
// user it is one state, however the kernel stores it.
func (a *Aggregator) handOff(id uint32, sub event.State) {
	c := a.t.at(id)
	a.trackState(id, -1)
	switch {
	case c.state == sub:
	case c.state == event.FinWait2 || c.state == event.Closing:
		a.measure(c)
		c.push(sub, a.evt)
	case sub == event.TimeWait:
		c.push(sub, a.evt)
	default:
		c.push(sub, 0)
	}
	c.ph, c.leaked = phaseTW, false
	a.trackState(id, +1)
	a.trackTW(c, +1)
	if c.role == event.RoleClient {
		d := a.dest(c)
		d.hold(phaseLive, -1)
		d.hold(phaseTW, +1)
	}
}

// restart makes state st, begun with this event, the record's only step.
func (a *Aggregator) restart(id uint32, st event.State) {
	a.trackState(id, -1)
	c := a.t.at(id)
	c.nsteps = 0
	c.push(st, a.evt)
	a.trackState(id, +1)
}

// reschedule sets a tw's expected expiry and moves it to the back of the
// tw list.
func (a *Aggregator) reschedule(id uint32, deadline uint64) {
	a.trackState(id, -1)
	a.t.at(id).deadline = deadline
	a.trackState(id, +1)
}

// expiry returns when the tw that e starts or changes should expire.
func (a *Aggregator) expiry(e *event.Event) uint64 {
	if e.TimeoutNS == 0 {
		return a.evt + defaultTWTimeout
	}
	return a.evt + e.TimeoutNS
}

// twRecord finds the tw that e is about, creating it when it was never
// seen (it predates twtrace, or its tw_enter was lost).
func (a *Aggregator) twRecord(e *event.Event, sub event.State) uint32 {
	k := a.t.hash(keyOfEvent(e))
	if id := a.t.find(&k, phaseTW); id != 0 {
		a.annotate(id, e)
		return id
	}
	if id := a.t.find(&k, phaseLive); id != 0 {
		if s := a.t.at(id).state; s == event.FinWait2 || s == event.Closing {
			// Its tw_enter was lost.
			a.annotate(id, e)
			a.handOff(id, sub)
			return id
		}
	}
	return a.openFor(&k, phaseTW, e, sub, 0, false)
}

func (a *Aggregator) onTWSubstate(e *event.Event) {
	id := a.twRecord(e, event.FinWait2)
	if a.t.at(id).state != event.TimeWait {
		a.enter(id, event.TimeWait, a.evt, true)
	}
	a.reschedule(id, a.expiry(e))
}

func (a *Aggregator) onTWExit(e *event.Event) {
	id := a.twRecord(e, substateOf(e))
	c := a.t.at(id)
	if c.unseen() {
		// The tw's age is the time in its only known state.
		c.at[0] = startOf(e)
	}
	a.measure(c)
	cause := e.Cause
	if cause == event.CauseNone {
		cause = event.CauseUnknown
	}
	a.causes[cause]++
	a.rates.twExit.add(a.now, 1)
	a.end(id, EndTW, cause)
}

// open creates a record for a connection first seen now, starting in
// state st at time at (0 = unknown). A connection born now (connect() or
// accept) counts towards the rates.
func (a *Aggregator) open(k *hkey, ph phase, st event.State, at uint64, o owner, role event.Role, born bool) uint32 {
	id := a.t.insert(k, ph)
	c := a.t.at(id)
	c.pid, c.comm, c.role = o.pid, o.comm, role
	if role == event.RoleUnknown {
		c.role = a.inferRole(&k.key)
	}
	c.push(st, at)
	switch {
	case ph == phaseTW:
		c.deadline = a.evt + defaultTWTimeout
	case st == event.CloseWait:
		c.deadline = a.leakDeadline(at)
	}
	a.trackState(id, +1)
	a.trackTW(c, +1)
	if born {
		a.rates.opened.add(a.now, 1)
	}
	if c.role == event.RoleClient {
		d := a.dest(c)
		d.hold(ph, +1)
		if born {
			d.created.add(a.now, 1)
		}
	}
	return id
}

// openFor opens the record for the connection e is about.
func (a *Aggregator) openFor(k *hkey, ph phase, e *event.Event, st event.State, at uint64, born bool) uint32 {
	id := a.open(k, ph, st, at, owner{e.PID, e.Comm}, e.Role, born)
	a.settle(a.t.at(id), e.Closer)
	return id
}

// leakDeadline returns when a CLOSE_WAIT entered at time at (0 = unknown,
// so at the latest when twtrace started) becomes a leak.
func (a *Aggregator) leakDeadline(at uint64) uint64 {
	return max(at, a.start) + uint64(a.cfg.LeakAfter)
}

// annotate takes what e says about the connection's owner, role and
// closer.
func (a *Aggregator) annotate(id uint32, e *event.Event) {
	c := a.t.at(id)
	a.settle(c, e.Closer)
	role := e.Role
	if role == event.RoleUnknown {
		role = c.role
	}
	pid, comm := c.pid, c.comm
	if e.PID != 0 {
		pid, comm = e.PID, e.Comm
	}
	if role == c.role && pid == c.pid && comm == c.comm {
		return
	}
	a.trackGroups(c, -1)
	c.role, c.pid, c.comm = role, pid, comm
	a.trackGroups(c, +1)
}

// settle records who closed the connection. Totals count connections,
// so a closer that changes (a FIN followed by an RST) moves its count.
func (a *Aggregator) settle(c *conn, cl event.Closer) {
	if cl == event.CloserNone || cl == c.closer {
		return
	}
	if c.closer != event.CloserNone {
		a.closers[c.closer]--
	}
	a.closers[cl]++
	c.closer = cl
}

// enter moves a record to state s begun at time at, in the same phase.
// When measured, the step it leaves ended now and its duration counts.
func (a *Aggregator) enter(id uint32, s event.State, at uint64, measured bool) {
	c := a.t.at(id)
	if measured {
		a.measure(c)
	}
	a.trackState(id, -1)
	c.push(s, at)
	c.leaked = false
	if s == event.CloseWait && c.ph == phaseLive {
		c.deadline = a.leakDeadline(at)
	}
	a.trackState(id, +1)
}

// measure adds the current step's duration, ending with this event, to
// its state's histogram when the step's start is known.
func (a *Aggregator) measure(c *conn) {
	if at := c.at[c.cur()]; at != 0 {
		a.hists[c.state].add(a.evt - min(at, a.evt))
	}
}

// end retires a record: its contributions are withdrawn and it joins the
// ring of ended connections.
func (a *Aggregator) end(id uint32, how End, cause event.Cause) {
	c := a.t.at(id)
	a.trackState(id, -1)
	a.trackTW(c, -1)
	if c.closer == event.CloserNone {
		a.settle(c, event.CloserUnknown)
	}
	if c.role == event.RoleClient {
		d := a.dest(c)
		d.hold(c.ph, -1)
		d.released.add(a.now, 1)
		if cause == event.CauseReused {
			d.reused.add(a.now, 1)
		}
	}
	a.rates.closed.add(a.now, 1)
	a.closed.push(c, a.evt, how, cause)
	a.t.remove(id)
}
