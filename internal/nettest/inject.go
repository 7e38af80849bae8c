//go:build linux

package nettest

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// InjectACK sends one bare IPv4 ACK with an out-of-window sequence number
// from src to dst through a raw socket in the namespace. Aimed at a tw, it
// makes the tw answer with an ACK; if nothing listens at src any more, the
// kernel answers that ACK with an RST carrying exactly the sequence number
// the tw expects — the in-window RST of an RFC 1337 assassination.
func (ns *NS) InjectACK(t testing.TB, src, dst netip.AddrPort) {
	t.Helper()
	pkt := make([]byte, 40)
	ip, tcp := pkt[:20], pkt[20:]
	ip[0] = 0x45 // IPv4, 5-word header; the kernel fills length and checksum
	binary.BigEndian.PutUint16(ip[2:], uint16(len(pkt)))
	ip[8], ip[9] = 64, unix.IPPROTO_TCP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], 0x12345678) // out of any window
	binary.BigEndian.PutUint32(tcp[8:], 0x9abcdef0)
	tcp[12], tcp[13] = 5<<4, 0x10 // header length, ACK
	binary.BigEndian.PutUint16(tcp[14:], 1024)
	binary.BigEndian.PutUint16(tcp[16:], tcpChecksum(s4, d4, tcp))
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: d4})
	})
	if err != nil {
		t.Fatalf("injecting an ACK into %s: %v", ns.Name, err)
	}
}

// tcpChecksum is the TCP checksum of seg over the IPv4 pseudo-header.
func tcpChecksum(src, dst [4]byte, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += unix.IPPROTO_TCP + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
