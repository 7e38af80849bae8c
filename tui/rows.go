package tui

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// rows are what the list views show, derived from a frame once per frame
// rather than once per draw.
type rows struct {
	// conns are the open connections the snapshot lists (CLOSE_WAIT
	// leaks), then the ended ones, filtered and sorted.
	conns  []aggregate.Conn
	events []*event.Event // Events, filtered, oldest first
	groups []group        // TIME_WAIT, filtered and sorted
	twSum  int            // tw in the listed groups
}

// group is a row of the TIME_WAIT view: who or what holds tw.
type group struct {
	name, extra string // e.g. nginx and its pid
	tw          int
	// drill is the filter that shows this group's connections.
	drill string
}

// groupBy is how the TIME_WAIT view groups tw.
type groupBy int

const (
	byOwner groupBy = iota
	byLocalPort
	byRemote
	numGroups
)

var groupNames = [numGroups]string{"owner", "local port", "remote endpoint"}

// connSort is the order of the Connections view.
type connSort int

const (
	sortEnded connSort = iota // most recently ended first
	sortOwner
	sortLocal
	sortRemote
	sortLasted // longest last state first
	numConnSorts
)

var connSortNames = [numConnSorts]string{"ENDED", "OWNER", "LOCAL", "REMOTE", "LASTED"}

func deriveRows(f *frame, flt *filter, by groupBy, byName bool, cs connSort) rows {
	var r rows
	for _, list := range [][]aggregate.Conn{f.snap.Leaks, f.snap.Recent} {
		for i := range list {
			if flt.conn(&list[i]) {
				r.conns = append(r.conns, list[i])
			}
		}
	}
	sortConns(r.conns, cs)
	for i := range f.events {
		if flt.event(&f.events[i]) {
			r.events = append(r.events, &f.events[i])
		}
	}
	r.groups = groups(f.snap, flt, by)
	if byName {
		slices.SortStableFunc(r.groups, func(x, y group) int {
			return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.extra, y.extra))
		})
	}
	for _, g := range r.groups {
		r.twSum += g.tw
	}
	return r
}

func sortConns(cs []aggregate.Conn, by connSort) {
	var f func(x, y *aggregate.Conn) int
	switch by {
	case sortEnded:
		return // open first, then the latest ended, as listed
	case sortOwner:
		f = func(x, y *aggregate.Conn) int {
			return cmp.Or(cmp.Compare(x.Comm, y.Comm), cmp.Compare(x.PID, y.PID))
		}
	case sortLocal:
		f = func(x, y *aggregate.Conn) int { return x.Local.Compare(y.Local) }
	case sortRemote:
		f = func(x, y *aggregate.Conn) int { return x.Remote.Compare(y.Remote) }
	case sortLasted:
		f = func(x, y *aggregate.Conn) int { return cmp.Compare(lastStep(y).DurNS, lastStep(x).DurNS) }
	}
	slices.SortStableFunc(cs, func(x, y aggregate.Conn) int { return f(&x, &y) })
}

// lastStep returns the state a connection was last in.
func lastStep(c *aggregate.Conn) aggregate.Step {
	if len(c.Steps) == 0 {
		return aggregate.Step{}
	}
	return c.Steps[len(c.Steps)-1]
}

// groups lists the snapshot's tw ranking for by, keeping the groups the
// filter matches.
func groups(s *aggregate.Snapshot, flt *filter, by groupBy) []group {
	var gs []group
	switch by {
	case byOwner:
		for _, o := range s.TopOwners {
			sub := subject{owner: o.Owner, hasOwner: true}
			if !flt.match(&sub) {
				continue
			}
			pid := strconv.FormatUint(uint64(o.PID), 10)
			g := group{name: cmp.Or(o.Comm, "-"), extra: pid, tw: o.TW, drill: "pid:" + pid}
			if o.PID == 0 {
				g.extra = "-" // pid:0 lists the connections of unknown owner
			}
			gs = append(gs, g)
		}
	case byLocalPort:
		for _, p := range s.TopLocalPorts {
			port := strconv.Itoa(int(p.Port))
			sub := subject{endpoints: endpoints(netip.AddrPortFrom(netip.Addr{}, p.Port)), states: twStates}
			if !flt.match(&sub) {
				continue
			}
			gs = append(gs, group{name: port, extra: netnsText(p.NetNS), tw: p.TW, drill: "port:" + port})
		}
	case byRemote:
		for _, rm := range s.TopRemotes {
			sub := subject{endpoints: endpoints(rm.Remote), states: twStates}
			if !flt.match(&sub) {
				continue
			}
			gs = append(gs, group{name: endpoint(rm.Remote), extra: netnsText(rm.NetNS), tw: rm.TW, drill: endpoint(rm.Remote)})
		}
	}
	return gs
}

// twStates are the states every tw group matches: a filter on
// time-wait keeps them all.
var twStates = []event.State{event.TimeWait}

func endpoints(ap ...netip.AddrPort) []netip.AddrPort { return ap }

// netnsText prints a network namespace inode, a dash for none.
func netnsText(ns uint32) string {
	if ns == 0 {
		return "-"
	}
	return strconv.FormatUint(uint64(ns), 10)
}
