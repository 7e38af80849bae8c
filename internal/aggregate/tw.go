package aggregate

import "github.com/twtrace/twtrace/internal/event"

// The life of a tw: created from a full socket (or first seen), perhaps
// turning from FIN_WAIT2 to TIME_WAIT, ended for a cause.

// onTWEnter moves a connection into its tw, or starts a record for a tw
// whose full socket was never seen.
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
		d := a.dest(destOf(c))
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

// onTWSubstate is the peer's FIN reaching a FIN_WAIT2-substate tw.
func (a *Aggregator) onTWSubstate(e *event.Event) {
	id := a.twRecord(e, event.FinWait2)
	if a.t.at(id).state != event.TimeWait {
		a.enter(id, event.TimeWait, a.evt, true)
	}
	a.reschedule(id, a.expiry(e))
}

// onTWExit ends a tw and with it the connection.
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
