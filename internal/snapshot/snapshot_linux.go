package snapshot

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/netns"
)

// timerTW is the idiag_timer value of a TIME_WAIT socket (tw); its
// idiag_state then holds the tw's substate.
const timerTW = 3

// dumpTries bounds the retries when the kernel reports that the socket
// table changed during a dump (NLM_F_DUMP_INTR), which is common under
// churn.
const dumpTries = 10

// Take lists every TCP socket, IPv4 and IPv6, in the network namespace at
// netnsPath (such as /run/netns/NAME or /proc/PID/ns/net; empty for the
// current one). Owners are found by matching socket inodes with the file
// descriptors in /proc, as far as permissions allow; a tw has none.
//
// A dump that the kernel reports as interrupted by changes to the socket
// table is retried; when churn interrupts every try, the last dump is
// used, as ss would show it: a few sockets that came or went during it
// may be missing or listed twice.
func Take(netnsPath string) ([]event.Socket, error) {
	self := netnsPath == ""
	if self {
		netnsPath = "/proc/self/ns/net"
	}
	ino, err := netns.Inode(netnsPath)
	if err != nil {
		return nil, err
	}
	if self {
		netnsPath = ""
	}
	h, err := handleAt(netnsPath)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("reading the monotonic clock: %w", err)
	}
	mono := uint64(ts.Nano())
	var socks []event.Socket
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		diag, err := dump(h, family)
		if err != nil {
			return nil, err
		}
		for _, d := range diag {
			socks = append(socks, fromDiag(d, ino, mono))
		}
	}
	findOwners(socks)
	return socks, nil
}

// handleAt opens a netlink sock_diag socket inside the namespace; the
// socket keeps answering for that namespace whatever thread uses it.
func handleAt(path string) (*netlink.Handle, error) {
	if path == "" {
		h, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
		if err != nil {
			return nil, fmt.Errorf("opening sock_diag: %w", err)
		}
		return h, nil
	}
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening netns %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_INET_DIAG)
	if err != nil {
		return nil, fmt.Errorf("opening sock_diag in netns %s: %w", path, err)
	}
	return h, nil
}

func dump(h *netlink.Handle, family uint8) ([]*netlink.Socket, error) {
	for try := 1; ; try++ {
		socks, err := h.SocketDiagTCP(family)
		switch {
		case errors.Is(err, netlink.ErrDumpInterrupted) && try < dumpTries:
			continue
		case errors.Is(err, netlink.ErrDumpInterrupted):
			return socks, nil
		case err != nil:
			return nil, fmt.Errorf("dumping TCP sockets of family %d: %w", family, err)
		}
		return socks, nil
	}
}

// fromDiag converts one sock_diag answer.
func fromDiag(d *netlink.Socket, netnsIno uint32, mono uint64) event.Socket {
	s := event.Socket{
		MonoNS: mono,
		Inode:  d.INode,
		UID:    d.UID,
		NetNS:  netnsIno,
		LPort:  d.ID.SourcePort,
		RPort:  d.ID.DestinationPort,
		State:  event.State(d.State),
		Family: 6,
	}
	if d.Family == unix.AF_INET {
		s.Family = 4
		copy(s.LAddr[:], d.ID.Source.To4())
		copy(s.RAddr[:], d.ID.Destination.To4())
	} else {
		copy(s.LAddr[:], d.ID.Source.To16())
		copy(s.RAddr[:], d.ID.Destination.To16())
	}
	if d.Timer != 0 {
		s.TimerNS = uint64(d.Expires) * 1e6
	}
	if d.Timer == timerTW {
		s.State, s.Substate = event.TimeWait, event.State(d.State)
	}
	return s
}
