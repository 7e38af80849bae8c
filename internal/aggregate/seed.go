package aggregate

import (
	"cmp"
	"slices"

	"github.com/twtrace/twtrace/internal/event"
)

// Seed adds the sockets that existed when capture began (the startup
// snapshot), so the inventory equals the kernel's from the first second.
// Call it once, before Add. Their owners are what the snapshot found
// (none for a tw), their roles are inferred from listening ports and the
// ephemeral range, and when they entered their state is unknown.
//
// The tracer starts before the snapshot, so events from just before it
// can follow: a tw both listed and reported entering counts once, and a
// listed socket that events show ending, or replaced by a newer one on
// its tuple, leaves the inventory.
func (a *Aggregator) Seed(socks []event.Socket) {
	for i := range socks {
		if socks[i].State == event.Listen {
			addCount(a.listeners, portKey{socks[i].NetNS, socks[i].LPort}, 1)
		}
	}
	// Tw go on the tw list in order of expiry, as later ones will.
	sorted := make([]*event.Socket, 0, len(socks))
	for i := range socks {
		sorted = append(sorted, &socks[i])
	}
	slices.SortStableFunc(sorted, func(x, y *event.Socket) int {
		return cmp.Compare(x.MonoNS+x.TimerNS, y.MonoNS+y.TimerNS)
	})
	for _, s := range sorted {
		a.seed(s)
	}
}

func (a *Aggregator) seed(s *event.Socket) {
	ph, st := phaseLive, s.State
	switch {
	case s.IsTW():
		ph, st = phaseTW, event.TimeWait
		if s.Substate == event.FinWait2 {
			st = event.FinWait2
		}
	case s.State == event.Listen, s.State == event.Close, s.State == event.SynRecv,
		s.State == event.NewSynRecv, s.State == event.StateNone:
		// Listeners and half-open requests are not connections yet.
		return
	}
	a.advance(s.MonoNS, a.wall)
	k := a.t.hash(keyOfSocket(s))
	if a.t.find(&k, ph) != 0 {
		return
	}
	id := a.open(&k, ph, st, 0, owner{s.PID, s.Comm}, event.RoleUnknown, false)
	if ph == phaseTW {
		a.reschedule(id, s.MonoNS+s.TimerNS)
	}
}
