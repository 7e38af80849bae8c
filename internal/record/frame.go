package record

import (
	"encoding/binary"
	"hash/crc32"
)

// The format version this package writes. Readers accept any minor version
// of their major (minor versions only add what old readers can skip) and
// refuse any other major. FORMAT.md is the specification.
const (
	VersionMajor = 1
	VersionMinor = 0
)

// magic opens every recording. Like PNG's signature, its non-ASCII first
// byte and its CR LF ^Z LF tail reveal text-mode transfers that mangle bytes.
var magic = [8]byte{0x89, 'T', 'W', 'T', '\r', '\n', 0x1a, '\n'}

// preambleSize is the magic followed by the major and minor version.
const preambleSize = len(magic) + 4

// frameSync opens every frame so that a reader can find the next frame after
// a damaged one by scanning for it.
var frameSync = [8]byte{0x89, 'T', 'W', 'F', 'R', 'M', '\r', '\n'}

// frameHeaderSize is the fixed size of a frame header (see FORMAT.md).
const frameHeaderSize = 32

// Frame types. Readers skip types they do not know, so a minor version may
// add new ones.
const (
	frameMeta     = 1 // JSON event.Meta; count = sockets in the snapshot frames that follow
	frameSnapshot = 2 // encoded event.Socket records; count = sockets in this frame
	frameEvents   = 3 // one encoded block of events; count = events in it
	frameEnd      = 4 // the recording was finalised; nothing follows
)

// flagZstd marks a payload compressed as one zstd frame. It is the only
// flag; a reader refuses a frame with any other flag bit set.
const flagZstd = 1

// Size limits protect readers from hostile or damaged input: nothing is
// allocated for a frame before its declared sizes pass these checks.
const (
	maxRawSize     = 4 << 20             // decoded payload of one frame
	maxPayloadSize = maxRawSize + 64<<10 // stored payload, leaving room for zstd's worst case
	maxSnapshot    = 1 << 22             // sockets in a snapshot
)

// castagnoli is the CRC32C table; CRC32C is hardware-accelerated on amd64
// and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	typ        uint8
	flags      uint8
	payloadLen uint32 // bytes stored after the header
	rawLen     uint32 // bytes after decompression
	count      uint32 // meaning depends on typ
	payloadCRC uint32 // CRC32C of the stored payload
}

// appendFrame appends a complete frame to b.
func appendFrame(b []byte, h frameHeader, payload []byte) []byte {
	h.payloadLen = uint32(len(payload))
	h.payloadCRC = crc32.Checksum(payload, castagnoli)
	start := len(b)
	b = append(b, frameSync[:]...)
	b = append(b, h.typ, h.flags, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, h.payloadLen)
	b = binary.LittleEndian.AppendUint32(b, h.rawLen)
	b = binary.LittleEndian.AppendUint32(b, h.count)
	b = binary.LittleEndian.AppendUint32(b, h.payloadCRC)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return append(b, payload...)
}

// parseFrameHeader decodes b[:frameHeaderSize]. It reports false unless b
// starts with the sync marker and the header checksum holds, so that a
// damaged length is never trusted.
func parseFrameHeader(b []byte) (frameHeader, bool) {
	if len(b) < frameHeaderSize || [8]byte(b[:8]) != frameSync {
		return frameHeader{}, false
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.LittleEndian.Uint32(b[28:]) {
		return frameHeader{}, false
	}
	return frameHeader{
		typ:        b[8],
		flags:      b[9],
		payloadLen: binary.LittleEndian.Uint32(b[12:]),
		rawLen:     binary.LittleEndian.Uint32(b[16:]),
		count:      binary.LittleEndian.Uint32(b[20:]),
		payloadCRC: binary.LittleEndian.Uint32(b[24:]),
	}, true
}
