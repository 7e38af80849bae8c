package aggregate

import "github.com/twtrace/twtrace/internal/event"

// owner is a socket's owning process as the tracer reported it.
type owner struct {
	pid  uint32
	comm [16]byte
}

// portKey is a local port in a netns (a server's listening port).
type portKey struct {
	netns uint32
	port  uint16
}

// endpointKey is a remote endpoint seen from a netns (a client's peer).
type endpointKey struct {
	addr   [16]byte
	netns  uint32
	port   uint16
	family uint8
}

// Every record contributes to the counters according to its fields. To
// change a field a counter depends on, take the record's contribution out
// (sign -1), change it, and put it back (+1). The contributions are split
// in two so that a state change, the most common event, pays only for the
// cheap half.

// trackState applies the contributions that depend on phase, state and
// the leak flag: the per-state gauges, list membership and leaks by owner.
func (a *Aggregator) trackState(id uint32, sign int) {
	c := a.t.at(id)
	var l *list
	switch {
	case c.ph == phaseTW:
		a.tw[c.state] += sign
		l = &a.twl
	case c.leaked:
		a.live[c.state] += sign
		a.ownerLeaks[c.owner()] += sign
		l = &a.leaks
	default:
		a.live[c.state] += sign
		if c.state == event.CloseWait {
			l = &a.cw
		}
	}
	switch {
	case l == nil:
	case sign > 0:
		l.pushBack(&a.t, id)
	default:
		l.remove(&a.t, id)
	}
}

// trackGroups applies the contributions that depend on phase, role and
// owner: tw by owner, by local port (servers) and by remote endpoint
// (clients), and the ports a client holds towards its destination.
func (a *Aggregator) trackGroups(c *conn, sign int) {
	a.trackTW(c, sign)
	if c.role == event.RoleClient {
		a.dest(destOf(c)).hold(c.ph, sign)
	}
}

// trackTW applies the contributions only a tw makes.
func (a *Aggregator) trackTW(c *conn, sign int) {
	if c.ph != phaseTW {
		return
	}
	a.ownerTW[c.owner()] += sign
	switch c.role {
	case event.RoleServer:
		a.lports[portKey{c.netns, c.lport}] += sign
	case event.RoleClient:
		a.remotes[endpointKey{c.raddr, c.netns, c.rport, c.family}] += sign
	}
}

// addCount adds d to m[k], deleting the entry at zero.
func addCount[K comparable](m map[K]int, k K, d int) {
	n := m[k] + d
	if n == 0 {
		delete(m, k)
		return
	}
	m[k] = n
}

// dropZeros deletes the entries that fell to zero. The counters keyed by
// short-lived things (pids, ports, peers) are updated in place, one hash
// per change, and emptied by the periodic sweep, so they hold what the
// last minute saw rather than everything ever seen.
func dropZeros[K comparable](m map[K]int) {
	for k, n := range m {
		if n == 0 {
			delete(m, k)
		}
	}
}

// inferRole guesses the role of a socket the tracer could not attribute
// (one that existed before twtrace): a socket on a listening port was
// accepted, one on an ephemeral port was connect()ed.
func (a *Aggregator) inferRole(k *key) event.Role {
	switch {
	case a.listeners[portKey{k.netns, k.lport}] > 0:
		return event.RoleServer
	case a.cfg.portRange(k.netns).contains(k.lport):
		return event.RoleClient
	}
	return event.RoleUnknown
}
