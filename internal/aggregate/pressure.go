package aggregate

import "time"

// destKey is an outbound destination as connect() sees it: a local port
// must be unique per (local address, remote address, remote port), so
// this is the unit that runs out of ephemeral ports.
type destKey struct {
	laddr, raddr [16]byte
	netns        uint32
	rport        uint16
	family       uint8
}

// dest counts one destination's ports and how fast they turn over.
type dest struct {
	live, tw int
	created  window // connect()s
	released window // ports given back: a close without tw, or a tw's end
	reused   window // tw taken over by connect() (tcp_tw_reuse)
	lastNS   uint64 // the latest change, to forget idle destinations
}

// pressureSecs is the window the current rates are measured over.
const pressureSecs = 10

func destOf(c *conn) destKey {
	return destKey{c.laddr, c.raddr, c.netns, c.rport, c.family}
}

// dest returns the destination's counters, creating them.
func (a *Aggregator) dest(k destKey) *dest {
	d := a.dests[k]
	if d == nil {
		d = new(dest)
		a.dests[k] = d
	}
	d.lastNS = a.now
	return d
}

// hold counts a port taken (sign +1) or given back (-1) by a full socket
// or a tw.
func (d *dest) hold(ph phase, sign int) {
	if ph == phaseTW {
		d.tw += sign
	} else {
		d.live += sign
	}
}

// pressure materialises one destination's port pressure.
func (a *Aggregator) pressure(k destKey, d *dest) Destination {
	size := a.cfg.portRange(k.netns).Size()
	p := Destination{
		NetNS:         k.netns,
		Local:         addrOf(k.family, &k.laddr),
		Remote:        addrPortOf(k.family, &k.raddr, k.rport),
		Live:          d.live,
		TW:            d.tw,
		Held:          d.live + d.tw,
		Range:         size,
		CreatePerSec:  d.created.rate(a.now, a.start, pressureSecs),
		ReleasePerSec: d.released.rate(a.now, a.start, pressureSecs),
		ReusePerSec:   d.reused.rate(a.now, a.start, pressureSecs),
		Exhaustion:    -1,
	}
	free := size - p.Held
	growth := p.CreatePerSec - p.ReleasePerSec
	switch {
	case free <= 0:
		p.Exhaustion = 0
	case growth > 0:
		// Beyond a century the answer is "not running out".
		if secs := float64(free) / growth; secs < 100*365*24*3600 {
			p.Exhaustion = time.Duration(secs * float64(time.Second))
		}
	}
	p.Flagged = p.Exhaustion >= 0 && p.Exhaustion < a.cfg.ExhaustionHorizon
	return p
}
