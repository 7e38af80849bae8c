package aggregate

import (
	"cmp"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// Summary returns the situation in numbers. Its cost grows with the
// number of owners, destinations and CLOSE_WAIT leaks, never with the
// number of tw.
func (a *Aggregator) Summary() *Summary {
	s := a.summary()
	return &s
}

// Snapshot returns everything the UI shows. It is cheap enough to take
// ten times a second with a million tw: counters are kept as events
// arrive, and only the ranked lists are built here.
func (a *Aggregator) Snapshot() *Snapshot {
	s := &Snapshot{
		Summary: a.summary(),
		Live:    a.live,
		Tracked: a.t.n,
		Rates:   a.ratesView(),
	}
	n := a.cfg.TopN
	for k, tw := range a.lports {
		if tw == 0 {
			continue
		}
		s.TopLocalPorts = insertTop(s.TopLocalPorts, n, PortTW{k.netns, k.port, tw}, func(x, y *PortTW) bool {
			return cmp.Or(cmp.Compare(y.TW, x.TW), cmp.Compare(x.NetNS, y.NetNS), cmp.Compare(x.Port, y.Port)) < 0
		})
	}
	for k, tw := range a.remotes {
		if tw == 0 {
			continue
		}
		r := RemoteTW{k.netns, addrPortOf(k.family, &k.addr, k.port), tw}
		s.TopRemotes = insertTop(s.TopRemotes, n, r, func(x, y *RemoteTW) bool {
			return cmp.Or(cmp.Compare(y.TW, x.TW), cmp.Compare(x.NetNS, y.NetNS), x.Remote.Compare(y.Remote)) < 0
		})
	}
	// The steps of every listed connection share one array: a snapshot
	// taken ten times a second makes a few objects, not one per step.
	steps := 0
	for i := range a.closed.n {
		steps += int(a.closed.newest(i).conn.nsteps)
	}
	for id, k := a.leaks.head, 0; id != 0 && k < n; id, k = a.t.at(id).next, k+1 {
		steps += int(a.t.at(id).nsteps)
	}
	buf := make([]Step, steps)
	s.Recent = make([]Conn, a.closed.n)
	for i := range s.Recent {
		e := a.closed.newest(i)
		s.Recent[i], buf = a.view(&e.conn, e, buf)
	}
	for id := a.leaks.head; id != 0 && len(s.Leaks) < n; id = a.t.at(id).next {
		var c Conn
		c, buf = a.view(a.t.at(id), nil, buf)
		s.Leaks = append(s.Leaks, c)
	}
	return s
}

func (a *Aggregator) summary() Summary {
	s := Summary{
		MonoNS:   a.now,
		WallNS:   a.wall,
		TW:       TWCount{a.tw[event.TimeWait] + a.tw[event.FinWait2], a.tw[event.TimeWait], a.tw[event.FinWait2]},
		States:   make([]Durations, len(DurationStates)),
		Closers:  a.closers,
		Causes:   a.causes,
		Lost:     a.lost,
		Overflow: a.overflow,
		Missed:   a.missed,
		CloseWait: CloseWait{
			Count:     a.live[event.CloseWait],
			Threshold: a.cfg.LeakAfter,
		},
	}
	for i, st := range DurationStates {
		h := &a.hists[st]
		s.States[i] = Durations{st, h.n, ns(h.quantile(0.5)), ns(h.quantile(0.9)), ns(h.quantile(0.99)), ns(h.max)}
	}
	n := a.cfg.TopN
	for o, tw := range a.ownerTW {
		if tw == 0 {
			continue
		}
		s.TopOwners = insertTop(s.TopOwners, n, OwnerTW{a.owner(o.pid, &o.comm), tw}, func(x, y *OwnerTW) bool {
			return cmp.Or(cmp.Compare(y.TW, x.TW), compareOwners(&x.Owner, &y.Owner)) < 0
		})
	}
	for o, leaks := range a.ownerLeaks {
		if leaks == 0 {
			continue
		}
		s.CloseWait.Leaked += leaks
		s.CloseWait.Owners = insertTop(s.CloseWait.Owners, n, Leak{Owner: a.owner(o.pid, &o.comm), Count: leaks}, func(x, y *Leak) bool {
			return cmp.Or(cmp.Compare(y.Count, x.Count), compareOwners(&x.Owner, &y.Owner)) < 0
		})
	}
	a.oldestLeaks(s.CloseWait.Owners)
	for k, d := range a.dests {
		if d.live+d.tw == 0 {
			continue
		}
		s.Destinations = insertTop(s.Destinations, n, a.pressure(k, d), func(x, y *Destination) bool {
			return compareDestinations(x, y) < 0
		})
	}
	return s
}

// oldestLeaks fills in the age of each listed owner's oldest leak. The
// leak list is in order of entry to CLOSE_WAIT, so the walk stops once
// every owner has been met.
func (a *Aggregator) oldestLeaks(owners []Leak) {
	left := len(owners)
	for id := a.leaks.head; id != 0 && left > 0; id = a.t.at(id).next {
		c := a.t.at(id)
		o := a.owner(c.pid, &c.comm)
		for i := range owners {
			if owners[i].Owner == o && owners[i].Oldest == 0 {
				owners[i].Oldest = ns(a.now - (c.deadline - uint64(a.cfg.LeakAfter)))
				left--
			}
		}
	}
}

func compareOwners(x, y *Owner) int {
	return cmp.Or(cmp.Compare(x.PID, y.PID), cmp.Compare(x.Comm, y.Comm))
}

// compareDestinations ranks flagged destinations first, then by ports held.
func compareDestinations(x, y *Destination) int {
	if x.Flagged != y.Flagged {
		if x.Flagged {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(y.Held, x.Held), cmp.Compare(x.NetNS, y.NetNS),
		x.Local.Compare(y.Local), x.Remote.Compare(y.Remote))
}

func ns(v uint64) time.Duration { return time.Duration(v) }

// view materialises a connection; e describes its end, or is nil while
// it is open, when its current step lasts until now. Its steps are cut
// from the front of buf, and the rest of buf is returned.
func (a *Aggregator) view(c *conn, e *ended, buf []Step) (Conn, []Step) {
	v := Conn{
		NetNS:  c.netns,
		Local:  addrPortOf(c.family, &c.laddr, c.lport),
		Remote: addrPortOf(c.family, &c.raddr, c.rport),
		Owner:  a.owner(c.pid, &c.comm),
		Role:   c.role,
		Closer: c.closer,
		Steps:  buf[:c.nsteps:c.nsteps],
	}
	last := a.now
	if e != nil {
		v.End, v.Cause, v.EndNS = e.how, e.cause, e.endNS
		last = e.endNS
		if e.how == EndMissed {
			last = 0 // when it really ended is unknown
		}
	}
	for i := range v.Steps {
		st := Step{State: c.steps[i], StartNS: c.at[i]}
		next := last
		if i+1 < len(v.Steps) {
			next = c.at[i+1]
		}
		if st.StartNS != 0 && next >= st.StartNS {
			st.DurNS = next - st.StartNS
		}
		v.Steps[i] = st
	}
	return v, buf[c.nsteps:]
}
