package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/twtrace/twtrace/internal/event"
)

// Reader replays a recording. Open reads the header; Next returns the events
// in order. A Reader is not safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	off  int64 // file offset of the next unread byte
	zstd *zstd.Decoder

	meta  event.Meta
	snap  []event.Socket
	minor uint16

	hdr      frameHeader
	frameOff int64  // offset of the frame in hdr
	payload  []byte // hdr's stored payload
	raw      []byte // hdr's decoded payload
	block    blockDecoder
	left     int  // events left in the current block
	resync   bool // the frame at off is damaged: scan for the next one
	err      error
}

// Open reads the recording header and the startup snapshot from r. It
// returns a *FormatError for input that is not a recording it can read, a
// *TruncatedError when r ends inside the header, and a *CorruptError when
// the header is damaged.
func Open(r io.Reader) (*Reader, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxRawSize))
	if err != nil {
		return nil, fmt.Errorf("starting replay: %w", err)
	}
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10), zstd: dec}
	if err := rd.readHeader(); err != nil {
		dec.Close()
		return nil, err
	}
	rd.block.bootWall = rd.meta.BootWallNS
	return rd, nil
}

// Meta returns how the recording was captured.
func (r *Reader) Meta() *event.Meta { return &r.meta }

// Snapshot returns the sockets that existed when the recording began.
func (r *Reader) Snapshot() []event.Socket { return r.snap }

// Version returns the recording's format version.
func (r *Reader) Version() (major, minor int) { return VersionMajor, int(r.minor) }

// Next decodes the next event into e. It returns io.EOF after the last
// event of a finalised recording, and a *TruncatedError when the recording
// ends early (every whole block before it has been delivered). Both are
// final. After a *CorruptError, Next may be called again: it skips to the
// next intact frame and continues from there.
func (r *Reader) Next(e *event.Event) error {
	for r.err == nil {
		if r.left > 0 {
			return r.decode(e)
		}
		if err := r.nextFrame(); err != nil {
			return err
		}
		if r.hdr.typ == frameEnd {
			r.err = io.EOF
		}
	}
	return r.err
}

// decode decodes one event of the current block.
func (r *Reader) decode(e *event.Event) error {
	err := r.block.next(e)
	r.left--
	if err == nil && r.left == 0 && !r.block.done() {
		err = errors.New("events block has trailing bytes")
	}
	if err != nil {
		r.left = 0
		return &CorruptError{Offset: r.frameOff, Reason: err.Error()}
	}
	return nil
}

// nextFrame reads frames up to the next events or end frame, skipping
// frame types this version does not know.
func (r *Reader) nextFrame() error {
	for {
		if err := r.readFrame(); err != nil {
			return err
		}
		switch r.hdr.typ {
		case frameEvents:
			if err := r.decompress(); err != nil {
				return err
			}
			r.block.start(r.raw)
			r.left = int(r.hdr.count)
			return nil
		case frameEnd:
			return nil
		case frameMeta, frameSnapshot:
			return r.corrupt("header frame in the events")
		}
	}
}

// readHeader reads the preamble, the meta frame and the snapshot frames.
func (r *Reader) readHeader() error {
	pre, err := r.br.Peek(preambleSize)
	if !bytes.HasPrefix(magic[:], pre) && !bytes.HasPrefix(pre, magic[:]) {
		return &FormatError{Offset: 0, Reason: "not a twtrace recording (no twtrace signature)"}
	}
	if len(pre) < preambleSize {
		return r.inputEnded(err, "no complete file header")
	}
	major := binary.LittleEndian.Uint16(pre[8:])
	r.minor = binary.LittleEndian.Uint16(pre[10:])
	if major != VersionMajor {
		return &FormatError{Offset: 8, Reason: fmt.Sprintf(
			"recording format version %d.%d; this twtrace reads %d.x", major, r.minor, VersionMajor)}
	}
	r.discard(preambleSize)

	if err := r.readFrame(); err != nil {
		return err
	}
	if r.hdr.typ != frameMeta {
		return r.corrupt("the first frame is not the recording header")
	}
	if err := r.decompress(); err != nil {
		return err
	}
	if err := json.Unmarshal(r.raw, &r.meta); err != nil {
		return r.corrupt(fmt.Sprintf("recording header: %v", err))
	}
	want := int(r.hdr.count)
	if want > maxSnapshot {
		return r.corrupt(fmt.Sprintf("snapshot of %d sockets exceeds the limit of %d", want, maxSnapshot))
	}
	for len(r.snap) < want {
		if err := r.readFrame(); err != nil {
			return err
		}
		switch r.hdr.typ {
		case frameSnapshot:
			if err := r.readSnapshot(want - len(r.snap)); err != nil {
				return err
			}
		case frameMeta, frameEvents, frameEnd:
			return r.corrupt("the snapshot ends early")
		}
	}
	return nil
}

// readSnapshot decodes the snapshot frame in hdr, which may hold at most
// left sockets.
func (r *Reader) readSnapshot(left int) error {
	n := int(r.hdr.count)
	if n > left || uint64(n)*socketSize != uint64(r.hdr.rawLen) {
		return r.corrupt("snapshot frame size does not match its socket count")
	}
	if err := r.decompress(); err != nil {
		return err
	}
	for b := r.raw; len(b) > 0; b = b[socketSize:] {
		r.snap = append(r.snap, decodeSocket(b))
	}
	return nil
}

// readFrame reads the next frame's header and stored payload. After a
// damaged frame it first scans for the next intact header.
func (r *Reader) readFrame() error {
	if r.resync {
		if err := r.scan(); err != nil {
			return err
		}
		r.resync = false
	}
	r.frameOff = r.off
	b, err := r.br.Peek(frameHeaderSize)
	if len(b) < frameHeaderSize {
		if len(b) == 0 && err == io.EOF {
			return r.fail(&TruncatedError{Offset: r.off, Reason: "no end-of-recording frame"})
		}
		return r.inputEnded(err, "incomplete frame header")
	}
	h, ok := parseFrameHeader(b)
	switch {
	case !ok:
		r.resync = true
		return r.corrupt("bad frame header")
	case h.payloadLen > maxPayloadSize || h.rawLen > maxRawSize:
		r.resync = true
		return r.corrupt(fmt.Sprintf("frame of %d bytes (%d decoded) exceeds the limits", h.payloadLen, h.rawLen))
	}
	r.hdr = h
	r.discard(frameHeaderSize)
	if err := r.readPayload(int(h.payloadLen)); err != nil {
		return r.inputEnded(err, "incomplete frame")
	}
	if crc32.Checksum(r.payload, castagnoli) != h.payloadCRC {
		// Go on after the payload: the header is intact, so its length is
		// as written. (Scanning the payload again instead would find the
		// next frame even when bytes were lost inside this one, but could
		// make a hostile file cost quadratic time.)
		return r.corrupt("checksum mismatch")
	}
	return nil
}

// readPayload reads n bytes into r.payload, growing it only as the bytes
// arrive so a damaged length cannot make it allocate more than the input
// holds.
func (r *Reader) readPayload(n int) error {
	const chunk = 64 << 10
	r.payload = r.payload[:0]
	for len(r.payload) < n {
		m := min(n-len(r.payload), chunk)
		r.payload = slices.Grow(r.payload, m)
		got, err := io.ReadFull(r.br, r.payload[len(r.payload):len(r.payload)+m])
		r.payload = r.payload[:len(r.payload)+got]
		r.off += int64(got)
		if err != nil {
			return err
		}
	}
	return nil
}

// decompress decodes the payload of hdr into r.raw.
func (r *Reader) decompress() error {
	switch r.hdr.flags {
	case 0:
		r.raw = append(r.raw[:0], r.payload...)
	case flagZstd:
		raw, err := r.zstd.DecodeAll(r.payload, r.raw[:0])
		if err != nil {
			return r.corrupt(fmt.Sprintf("decompressing: %v", err))
		}
		r.raw = raw
	default:
		return r.corrupt(fmt.Sprintf("unknown frame flags %#x", r.hdr.flags))
	}
	if len(r.raw) != int(r.hdr.rawLen) {
		return r.corrupt("decoded size does not match the frame header")
	}
	return nil
}

// scan discards input up to the next frame header whose checksum holds.
// The frame at the current offset is known to be bad.
func (r *Reader) scan() error {
	r.discard(1)
	for {
		win, err := r.br.Peek(r.br.Size())
		i := bytes.Index(win, frameSync[:])
		switch {
		case i < 0 && err != nil:
			r.discard(len(win))
			return r.inputEnded(err, "no intact frame after the damaged one")
		case i < 0:
			// Keep a tail that may be the start of a marker.
			r.discard(len(win) - len(frameSync) + 1)
		case len(win)-i < frameHeaderSize && err != nil:
			r.discard(len(win))
			return r.inputEnded(err, "no intact frame after the damaged one")
		case len(win)-i < frameHeaderSize:
			r.discard(i) // bring the whole header into the window
		default:
			r.discard(i)
			if _, ok := parseFrameHeader(win[i:]); ok {
				return nil
			}
			r.discard(1)
		}
	}
}

func (r *Reader) discard(n int) {
	d, _ := r.br.Discard(n)
	r.off += int64(d)
}

// corrupt returns a *CorruptError for the frame being read.
func (r *Reader) corrupt(reason string) error {
	return &CorruptError{Offset: r.frameOff, Reason: reason}
}

// inputEnded returns the error for input that ended (or failed) early. A
// read error that is not the end of input is reported as itself.
func (r *Reader) inputEnded(err error, reason string) error {
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return r.fail(fmt.Errorf("reading recording at byte %d: %w", r.off, err))
	}
	return r.fail(&TruncatedError{Offset: r.frameOff, Reason: reason})
}

// fail makes err final.
func (r *Reader) fail(err error) error {
	r.err = err
	return err
}
