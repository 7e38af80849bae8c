package record

import (
	"encoding/binary"

	"github.com/twtrace/twtrace/internal/event"
)

// socketSize is the encoded size of one snapshot socket: fixed, so a
// snapshot frame's size is checked against its count before decoding.
const socketSize = 87

// socketsPerFrame keeps each snapshot frame under maxRawSize.
const socketsPerFrame = maxRawSize / socketSize / 2

// appendSocket appends s in the layout FORMAT.md gives. Fields are written
// one by one, never by reflection, so a field added to event.Socket cannot
// change the format unnoticed.
func appendSocket(b []byte, s *event.Socket) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, s.MonoNS)
	b = le.AppendUint64(b, s.TimerNS)
	b = le.AppendUint32(b, s.Inode)
	b = le.AppendUint32(b, s.UID)
	b = le.AppendUint32(b, s.NetNS)
	b = le.AppendUint32(b, s.PID)
	b = append(b, s.Comm[:]...)
	b = le.AppendUint16(b, s.LPort)
	b = le.AppendUint16(b, s.RPort)
	b = append(b, s.LAddr[:]...)
	b = append(b, s.RAddr[:]...)
	return append(b, s.Family, byte(s.State), byte(s.Substate))
}

// decodeSocket is the inverse of appendSocket; b holds socketSize bytes.
func decodeSocket(b []byte) event.Socket {
	le := binary.LittleEndian
	var s event.Socket
	s.MonoNS = le.Uint64(b[0:])
	s.TimerNS = le.Uint64(b[8:])
	s.Inode = le.Uint32(b[16:])
	s.UID = le.Uint32(b[20:])
	s.NetNS = le.Uint32(b[24:])
	s.PID = le.Uint32(b[28:])
	copy(s.Comm[:], b[32:48])
	s.LPort = le.Uint16(b[48:])
	s.RPort = le.Uint16(b[50:])
	copy(s.LAddr[:], b[52:68])
	copy(s.RAddr[:], b[68:84])
	s.Family, s.State, s.Substate = b[84], event.State(b[85]), event.State(b[86])
	return s
}
