package aggregate

import "github.com/twtrace/twtrace/internal/event"

// What every event does to a record: create it, take the owner, role
// and closer it reports, move it between states, retire it.

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
		d := a.dest(destOf(c))
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
		d := a.dest(destOf(c))
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
