// Package event is twtrace's portable event model: one fixed-size Event per
// thing the kernel reported, and the JSON Lines and table encodings that are
// the project's stable output contract (DESIGN.md, "The event contract").
//
// Event holds no pointers so the hot path (ring buffer -> decode ->
// aggregate -> encode) can reuse one value per event and allocate nothing.
package event

import (
	"net/netip"
	"time"
)

// Kind says what an Event reports.
type Kind uint8

// Kinds, in the order of a connection's life. Values are part of the
// recording format; append, never renumber.
const (
	KindNone       Kind = iota
	KindState           // a full socket changed state
	KindTWEnter         // a TIME_WAIT socket (tw) was created
	KindTWSubstate      // a FIN_WAIT2-substate tw became TIME_WAIT
	KindTWExit          // a tw ended; Cause says why
	KindTWOverflow      // a closing socket could not get a tw (tcp_max_tw_buckets)
	KindLost            // Count events the kernel could not deliver
)

var kindNames = [...]string{"", "state", "tw_enter", "tw_substate", "tw_exit", "tw_overflow", "lost"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// State is a kernel TCP state number (include/net/tcp_states.h).
type State uint8

// Kernel TCP states. The numbering is the kernel's.
const (
	StateNone State = iota
	Established
	SynSent
	SynRecv
	FinWait1
	FinWait2
	TimeWait
	Close
	CloseWait
	LastAck
	Listen
	Closing
	NewSynRecv
	BoundInactive
)

var stateNames = [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
	"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	"NEW_SYN_RECV", "BOUND_INACTIVE"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// ParseState accepts the kernel's names (TIME_WAIT, FIN_WAIT2) and ss's
// (time-wait, fin-wait-2).
func ParseState(s string) (State, bool) {
	norm := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			continue // fin-wait-2 -> FIN_WAIT2
		case c == '-':
			c = '_'
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		norm = append(norm, c)
	}
	for i, n := range stateNames {
		if i > 0 && n == string(norm) {
			return State(i), true
		}
	}
	return StateNone, false
}

// Role says how the socket came to be.
type Role uint8

// Roles.
const (
	RoleUnknown Role = iota
	RoleClient       // connect()ed
	RoleServer       // accepted from a listener
)

var roleNames = [...]string{"unknown", "client", "server"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// Closer says which side ended the connection. CloserNone means "not settled
// yet" and is left out of the output.
type Closer uint8

// Closers.
const (
	CloserNone Closer = iota
	CloserLocal
	CloserRemote
	CloserSimultaneous
	CloserLocalReset
	CloserRemoteReset
	CloserUnknown
)

var closerNames = [...]string{"", "local", "remote", "simultaneous", "local_reset", "remote_reset", "unknown"}

func (c Closer) String() string {
	if int(c) < len(closerNames) {
		return closerNames[c]
	}
	return "unknown"
}

// Cause says why a tw ended.
type Cause uint8

// Causes.
const (
	CauseNone      Cause = iota
	CauseExpired         // the 60 s timer ran out
	CauseReused          // a local connect() took the port (tcp_tw_reuse)
	CauseSYN             // an incoming SYN reopened the 4-tuple
	CauseRST             // an RST killed it (RFC 1337 assassination)
	CauseTWRST           // the tw answered a segment with an RST and died
	CauseDestroyed       // sock_destroy / ss -K
	CausePurged          // its network namespace was deleted
	CauseUnknown
)

var causeNames = [...]string{"", "expired", "reused", "syn", "rst", "tw_rst", "destroyed", "purged", "unknown"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "unknown"
}

// Event is one thing the kernel reported, in portable form.
type Event struct {
	MonoNS    uint64 // kernel CLOCK_MONOTONIC time of the event
	WallNS    int64  // the same instant as Unix nanoseconds (UTC)
	DurNS     uint64 // time spent in Old (state) or in the tw (tw_exit); valid when HasDur
	TimeoutNS uint64 // the tw's scheduled lifetime (tw_enter, tw_substate)
	Count     uint64 // events lost (KindLost)
	// Sock identifies the kernel socket or tw for as long as it lives. It is
	// opaque, never printed, and may be reused by a later socket.
	Sock uint64

	NetNS uint32
	PID   uint32 // the socket's owner; 0 when unknown
	ByPID uint32 // the process that reused the port (CauseReused)

	LPort, RPort uint16
	LAddr, RAddr [16]byte // IPv4 in the first 4 bytes when Family is 4

	Comm   [16]byte // the owner's command name, NUL-padded
	ByComm [16]byte

	Kind     Kind
	Family   uint8 // 4 or 6
	Old, New State
	Substate State // TimeWait or FinWait2 on tw events
	Role     Role
	Closer   Closer
	Cause    Cause
	HasDur   bool
	Inferred bool // Cause was deduced by the backend, not seen
}

// Time returns the event's wall-clock time.
func (e *Event) Time() time.Time { return time.Unix(0, e.WallNS).UTC() }

// Local returns the local address.
func (e *Event) Local() netip.Addr { return addr(e.Family, &e.LAddr) }

// Remote returns the remote address.
func (e *Event) Remote() netip.Addr { return addr(e.Family, &e.RAddr) }

func addr(family uint8, b *[16]byte) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b)
}

// SetLocal stores a local address and sets Family from it.
func (e *Event) SetLocal(a netip.Addr) { e.Family = setAddr(&e.LAddr, a) }

// SetRemote stores a remote address.
func (e *Event) SetRemote(a netip.Addr) { setAddr(&e.RAddr, a) }

func setAddr(dst *[16]byte, a netip.Addr) uint8 {
	*dst = [16]byte{}
	if a.Is4() {
		b := a.As4()
		copy(dst[:], b[:])
		return 4
	}
	*dst = a.As16()
	return 6
}

// CommString returns the owner's command name.
func (e *Event) CommString() string { return CString(e.Comm[:]) }

// ByCommString returns the reusing process's command name.
func (e *Event) ByCommString() string { return CString(e.ByComm[:]) }

// SetComm stores a command name, truncated to the kernel's 15 characters.
func SetComm(dst *[16]byte, s string) {
	*dst = [16]byte{}
	copy(dst[:15], s)
}

// CString returns a NUL-terminated name (a kernel comm) as a string.
func CString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
