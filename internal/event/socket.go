package event

import "net/netip"

// Socket is one TCP socket that existed when capture began, as the kernel's
// sock_diag reports it. A capture's snapshot of these seeds the aggregator so
// counts are right from the first second, and is stored in recordings.
type Socket struct {
	// MonoNS is when the snapshot was taken (CLOCK_MONOTONIC).
	MonoNS uint64
	// TimerNS is the time left on the socket's timer when it has one; for a
	// tw it is the time to expiry.
	TimerNS uint64
	// Inode is the socket's inode; 0 for a tw, which has none.
	Inode uint32
	UID   uint32
	NetNS uint32
	// PID and Comm name the process holding the socket's inode, when one
	// was found; tw sockets have no owner the kernel can report.
	PID  uint32
	Comm [16]byte

	LPort, RPort uint16
	LAddr, RAddr [16]byte
	Family       uint8
	// State is the kernel state; TimeWait for every tw.
	State State
	// Substate is a tw's substate (TimeWait or FinWait2); StateNone for a
	// full socket.
	Substate State
}

// IsTW reports whether the socket is a TIME_WAIT socket (either substate).
func (s *Socket) IsTW() bool { return s.State == TimeWait }

// Local returns the local address.
func (s *Socket) Local() netip.Addr { return addr(s.Family, &s.LAddr) }

// Remote returns the remote address.
func (s *Socket) Remote() netip.Addr { return addr(s.Family, &s.RAddr) }
