package aggregate

import (
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// PortRange is a netns's ip_local_port_range, the ports connect() picks from.
type PortRange struct{ Lo, Hi uint16 }

// Size returns the number of ports in the range.
func (r PortRange) Size() int { return int(r.Hi) - int(r.Lo) + 1 }

func (r PortRange) contains(p uint16) bool { return p >= r.Lo && p <= r.Hi }

// Config tunes an Aggregator. Zero (or negative) fields take the
// documented defaults.
type Config struct {
	// PortRanges holds ip_local_port_range by netns inode; netns not
	// listed use DefaultPortRange (default 32768-60999, the kernel's).
	// A range with Lo above Hi counts as not given.
	PortRanges       map[uint32]PortRange
	DefaultPortRange PortRange
	// LeakAfter is how long a CLOSE_WAIT may last before it is listed as
	// a leak: the application never called close(). Default 30 s.
	LeakAfter time.Duration
	// ExhaustionHorizon flags a destination whose ports would run out
	// sooner than this at the current rates. Default 5 minutes.
	ExhaustionHorizon time.Duration
	// TWGrace is how long past its expected expiry a tw is kept when its
	// exit was never seen (events were lost) before it is dropped, so the
	// count stays the kernel's. Default 10 s: timers fire up to a timer
	// wheel bucket (2 s at HZ=250) late.
	TWGrace time.Duration
	// Closed is how many ended connections are kept. Default 1024.
	Closed int
	// TopN bounds every ranked list. Default 10.
	TopN int
}

func (c Config) withDefaults() Config {
	if c.DefaultPortRange.Size() <= 0 || c.DefaultPortRange == (PortRange{}) {
		c.DefaultPortRange = PortRange{32768, 60999}
	}
	if c.LeakAfter <= 0 {
		c.LeakAfter = 30 * time.Second
	}
	if c.ExhaustionHorizon <= 0 {
		c.ExhaustionHorizon = 5 * time.Minute
	}
	if c.TWGrace <= 0 {
		c.TWGrace = 10 * time.Second
	}
	if c.Closed <= 0 {
		c.Closed = 1024
	}
	if c.TopN <= 0 {
		c.TopN = 10
	}
	return c
}

func (c *Config) portRange(netns uint32) PortRange {
	if r, ok := c.PortRanges[netns]; ok && r.Size() > 0 {
		return r
	}
	return c.DefaultPortRange
}

// defaultTWTimeout is the kernel's TCP_TIMEWAIT_LEN, assumed when a tw
// event carries no timeout.
const defaultTWTimeout = 60 * nsPerSec

const numStates = int(event.BoundInactive) + 1

// Aggregator holds the state built from the events so far.
type Aggregator struct {
	cfg Config
	t   table

	started    bool
	start, now uint64 // first and latest event time (MonoNS)
	wall       int64  // wall clock of the latest event
	// evt is the time of the event being added. States begin and end at
	// their events' times, so a duration is right even when events from
	// different CPUs arrive slightly out of order; the rest of the
	// aggregate moves with now, which never goes back.
	evt uint64

	live  [numStates]int // full sockets per state
	tw    [numStates]int // tw per substate
	hists [numStates]hist

	closers  [event.CloserUnknown + 1]uint64
	causes   [event.CauseUnknown + 1]uint64
	lost     uint64
	overflow uint64
	missed   uint64 // tw dropped because their exit was never seen

	// Lists of records, oldest first (see list).
	twl, cw, leaks list

	// Counters by group; zeros are deleted by sweep.
	ownerTW    map[owner]int
	ownerLeaks map[owner]int
	lports     map[portKey]int     // servers' tw by local port
	remotes    map[endpointKey]int // clients' tw by remote endpoint
	dests      map[destKey]*dest
	listeners  map[portKey]int // listening sockets per port

	rates  rates
	closed ring
	comms  map[[16]byte]string // see owner
	// nextSweep is when idle counters are next forgotten.
	nextSweep uint64
}

// sweep forgets counters that fell to zero and destinations idle for a
// window, so memory follows the present and not every pid, port and peer
// ever seen.
func (a *Aggregator) sweep() {
	dropZeros(a.ownerTW)
	dropZeros(a.ownerLeaks)
	dropZeros(a.lports)
	dropZeros(a.remotes)
	for k, d := range a.dests {
		if d.live+d.tw == 0 && d.lastNS+windowSecs*nsPerSec <= a.now {
			delete(a.dests, k)
		}
	}
}

// New returns an empty Aggregator.
func New(cfg Config) *Aggregator {
	cfg = cfg.withDefaults()
	return &Aggregator{
		cfg:        cfg,
		t:          newTable(),
		ownerTW:    make(map[owner]int),
		ownerLeaks: make(map[owner]int),
		lports:     make(map[portKey]int),
		remotes:    make(map[endpointKey]int),
		dests:      make(map[destKey]*dest),
		listeners:  make(map[portKey]int),
		closed:     newRing(cfg.Closed),
		comms:      make(map[[16]byte]string),
	}
}

// advance moves event time forward to mono and does what the passing of
// time implies: CLOSE_WAIT sockets become leaks, tw long past their
// expiry whose exit was lost are dropped, and counters idle for a window
// are forgotten.
func (a *Aggregator) advance(mono uint64, wall int64) {
	if !a.started {
		a.started, a.start = true, mono
	}
	a.evt = mono
	if mono >= a.now {
		a.now, a.wall = mono, wall
	}
	for id := a.cw.head; id != 0 && a.t.at(id).deadline <= a.now; id = a.cw.head {
		a.trackState(id, -1)
		a.t.at(id).leaked = true
		a.trackState(id, +1)
	}
	grace := uint64(a.cfg.TWGrace)
	for id := a.twl.head; id != 0 && a.t.at(id).deadline+grace <= a.now; id = a.twl.head {
		a.missed++
		a.end(id, EndMissed, event.CauseNone)
	}
	if a.now >= a.nextSweep {
		a.sweep()
		a.nextSweep = a.now + windowSecs*nsPerSec
	}
}
