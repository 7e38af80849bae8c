package aggregate

import (
	"net/netip"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// Summary is the situation in numbers: the `kind=summary` line and the
// report printed at the end of a headless run.
type Summary struct {
	MonoNS uint64 // event time of the latest event
	WallNS int64  // its wall clock
	TW     TWCount
	// States holds duration statistics for DurationStates, in order.
	States []Durations
	// Closers counts connections by who closed them, indexed by Closer;
	// a connection that ended unsettled counts as CloserUnknown.
	Closers [event.CloserUnknown + 1]uint64
	// Causes counts ended tw by why, indexed by Cause.
	Causes [event.CauseUnknown + 1]uint64
	// TopOwners ranks processes by the tw they hold.
	TopOwners    []OwnerTW
	Destinations []Destination
	CloseWait    CloseWait
	Lost         uint64 // events the kernel could not deliver
	Overflow     uint64 // closing sockets that got no tw
	// Missed counts tw dropped long after their expected expiry because
	// their exit was never seen (lost events).
	Missed uint64
}

// Snapshot is everything the UI shows, taken at one moment. It shares no
// memory with the Aggregator.
type Snapshot struct {
	Summary
	// Live counts full sockets by state, indexed by event.State.
	Live    [event.BoundInactive + 1]int
	Tracked int // connections in memory, full sockets and tw
	Rates   Rates
	// TopLocalPorts ranks servers' local ports by the tw they hold;
	// TopRemotes ranks clients' remote endpoints the same way.
	TopLocalPorts []PortTW
	TopRemotes    []RemoteTW
	// Recent lists ended connections, the latest first.
	Recent []Conn
	// Leaks lists the oldest CLOSE_WAIT leaks, oldest first.
	Leaks []Conn
}

// DurationStates are the states whose durations are measured, in the
// order a connection passes them.
var DurationStates = [...]event.State{event.SynSent, event.Established, event.FinWait1,
	event.FinWait2, event.CloseWait, event.LastAck, event.Closing, event.TimeWait}

// Durations sums up how long connections stayed in one state.
type Durations struct {
	State              event.State
	Count              uint64
	P50, P90, P99, Max time.Duration
}

// TWCount is the tw inventory: what /proc/net/sockstat calls tw.
type TWCount struct{ Count, TimeWait, FinWait2 int }

// Owner is a process that owns sockets; PID 0 when unknown.
type Owner struct {
	PID  uint32
	Comm string
}

// OwnerTW is an owner and the tw it holds.
type OwnerTW struct {
	Owner
	TW int
}

// PortTW is a server's local port and the tw on it.
type PortTW struct {
	NetNS uint32
	Port  uint16
	TW    int
}

// RemoteTW is a client's remote endpoint and the tw towards it.
type RemoteTW struct {
	NetNS  uint32
	Remote netip.AddrPort
	TW     int
}

// Destination is the ephemeral-port pressure towards one outbound
// destination.
type Destination struct {
	NetNS  uint32
	Local  netip.Addr
	Remote netip.AddrPort
	// Held is Live + TW: ports connect() cannot pick for this destination
	// (tcp_tw_reuse may still take a tw's); Range is the size of
	// ip_local_port_range.
	Live, TW, Held, Range int
	// Rates over the last 10 s: connect()s, ports given back, tw reused.
	CreatePerSec, ReleasePerSec, ReusePerSec float64
	// Exhaustion is the time until Held reaches Range at the current
	// rates; 0 when it has, -1 when Held is not growing.
	Exhaustion time.Duration
	Flagged    bool // Exhaustion is under Config.ExhaustionHorizon
}

// CloseWait describes sockets the peer closed and the application has not.
type CloseWait struct {
	Count     int           // sockets in CLOSE_WAIT now
	Leaked    int           // of which older than Threshold
	Threshold time.Duration // Config.LeakAfter
	Owners    []Leak        // leaks by owner, most first
}

// Leak is an owner's CLOSE_WAIT sockets older than the threshold.
type Leak struct {
	Owner
	Count  int
	Oldest time.Duration // age of the oldest
}

// Conn is one connection's life as far as it was seen.
type Conn struct {
	NetNS         uint32
	Local, Remote netip.AddrPort
	Owner
	Role   event.Role
	Closer event.Closer
	Steps  []Step
	End    End         // 0 while the connection is open
	Cause  event.Cause // why the tw ended, when End is EndTW
	EndNS  uint64
}

// Direction says which side opened a connection.
type Direction uint8

// Directions.
const (
	DirectionUnknown  Direction = iota
	DirectionInbound            // accepted on a listening port (role server)
	DirectionOutbound           // connect()ed (role client)
)

func (d Direction) String() string {
	switch d {
	case DirectionInbound:
		return "inbound"
	case DirectionOutbound:
		return "outbound"
	}
	return "unknown"
}

// Direction returns which side opened the connection.
func (c *Conn) Direction() Direction {
	switch c.Role {
	case event.RoleServer:
		return DirectionInbound
	case event.RoleClient:
		return DirectionOutbound
	}
	return DirectionUnknown
}

// Step is a state a connection was in. StartNS is 0 when the entry was
// not seen; DurNS is then unknown too and 0. The current step of an open
// connection lasts until the snapshot.
type Step struct {
	State   event.State
	StartNS uint64
	DurNS   uint64
}

// End says how a connection's record ended.
type End uint8

// Ends.
const (
	EndClosed End = iota + 1 // the socket closed without a tw
	EndTW                    // its tw ended; see Cause
	EndMissed                // its end was never seen (events were lost)
)

func (e End) String() string {
	switch e {
	case EndClosed:
		return "closed"
	case EndTW:
		return "tw_exit"
	case EndMissed:
		return "missed"
	}
	return "unknown"
}

func addrOf(family uint8, b *[16]byte) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b)
}

func addrPortOf(family uint8, b *[16]byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(addrOf(family, b), port)
}

// maxComms bounds the interned command names; past it they start over.
const maxComms = 1024

// owner returns an Owner, its command name interned: a snapshot lists a
// thousand connections of a handful of processes ten times a second.
func (a *Aggregator) owner(pid uint32, comm *[16]byte) Owner {
	if comm[0] == 0 {
		return Owner{PID: pid}
	}
	s, ok := a.comms[*comm]
	if !ok {
		n := 0
		for n < len(comm) && comm[n] != 0 {
			n++
		}
		if len(a.comms) >= maxComms {
			clear(a.comms)
		}
		s = string(comm[:n])
		a.comms[*comm] = s
	}
	return Owner{PID: pid, Comm: s}
}
