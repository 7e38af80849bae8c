package aggregate

import "github.com/twtrace/twtrace/internal/event"

// key identifies a connection: its network namespace and 4-tuple. A full
// socket and the tw that follows it share a key, and the kernel's opaque
// socket ids are reused, so the tuple is the only stable name a
// connection has.
type key struct {
	laddr, raddr [16]byte
	netns        uint32
	lport, rport uint16
	family       uint8
}

func keyOfEvent(e *event.Event) key {
	return key{laddr: e.LAddr, raddr: e.RAddr, netns: e.NetNS, lport: e.LPort, rport: e.RPort, family: e.Family}
}

func keyOfSocket(s *event.Socket) key {
	return key{laddr: s.LAddr, raddr: s.RAddr, netns: s.NetNS, lport: s.LPort, rport: s.RPort, family: s.Family}
}
