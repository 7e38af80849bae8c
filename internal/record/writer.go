package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/twtrace/twtrace/internal/event"
)

// Blocks are flushed when they reach blockTarget encoded bytes or when they
// span blockSpan of event time, so a crash loses at most about a second.
const (
	blockTarget = 1 << 20
	blockSpan   = int64(time.Second)
)

// Writer records events in the twtrace recording format (FORMAT.md).
//
// Events are buffered into blocks; a block is written as one frame when it
// is full, when a new event is a second newer than its first, or on Flush.
// With sparse events, call Flush at least once a second so that a crash
// loses at most that second. A Writer is not safe for concurrent use.
//
// The first write error stops the Writer and is returned once, by the call
// that met it; later calls do nothing and return nil, and Err reports it.
// The output then replays up to the last block written in full.
type Writer struct {
	w      io.Writer
	name   string    // the output's name in errors, or ""
	file   io.Closer // the file Create opened; Close closes it
	zstd   *zstd.Encoder
	block  blockEncoder
	zbuf   []byte // the compressed block
	frame  []byte // the frame being written
	err    error
	closed bool
}

// Create creates (or truncates) the file at path with mode 0600 and starts a
// recording in it. Close finalises the recording and closes the file.
func Create(path string, meta *event.Meta, snap []event.Socket) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating recording: %w", err)
	}
	// A file that existed keeps its mode through O_TRUNC; narrow it so an
	// old world-readable file does not expose host and process names.
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("creating recording: %w", err)
		}
	}
	w, err := NewWriter(f, meta, snap)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// NewWriter writes the recording header (meta and the startup snapshot) to
// w and returns a Writer for the events. If w has a Name method (as
// *os.File does), errors name it. Close does not close w.
func NewWriter(w io.Writer, meta *event.Meta, snap []event.Socket) (*Writer, error) {
	if meta == nil {
		meta = &event.Meta{}
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("starting recording: %w", err)
	}
	wr := &Writer{w: w, zstd: enc}
	if n, ok := w.(interface{ Name() string }); ok {
		wr.name = n.Name()
	}
	wr.block.bootWall = meta.BootWallNS
	wr.block.start()
	if err := wr.writeHeader(meta, snap); err != nil {
		enc.Close()
		return nil, err
	}
	return wr, nil
}

// writeHeader writes the preamble, the meta frame and the snapshot frames.
func (w *Writer) writeHeader(meta *event.Meta, snap []event.Socket) error {
	j, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encoding recording header: %w", err)
	}
	if len(j) > maxRawSize {
		return fmt.Errorf("encoding recording header: %d bytes of metadata exceed the %d-byte limit", len(j), maxRawSize)
	}
	b := append(magic[:], VersionMajor, 0, VersionMinor, 0)
	b = appendFrame(b, frameHeader{typ: frameMeta, rawLen: uint32(len(j)), count: uint32(len(snap))}, j)
	if err := w.write(b); err != nil {
		return err
	}
	var raw []byte
	for len(snap) > 0 {
		n := min(len(snap), socketsPerFrame)
		raw = raw[:0]
		for i := range snap[:n] {
			raw = appendSocket(raw, &snap[i])
		}
		if err := w.writeFrame(frameSnapshot, raw, n); err != nil {
			return err
		}
		snap = snap[n:]
	}
	return nil
}

// Write records e. It allocates nothing once the buffers have grown to a
// block's size.
func (w *Writer) Write(e *event.Event) error {
	if w.closed {
		return w.wrap(os.ErrClosed)
	}
	if w.err != nil {
		return nil
	}
	if w.block.n > 0 && int64(e.MonoNS-w.block.firstMono) >= blockSpan {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	w.block.encode(e)
	if len(w.block.buf) >= blockTarget {
		return w.Flush()
	}
	return nil
}

// Flush writes the buffered events as one block.
func (w *Writer) Flush() error {
	if w.err != nil || w.closed || w.block.n == 0 {
		return nil
	}
	err := w.writeFrame(frameEvents, w.block.buf, w.block.n)
	w.block.start()
	return err
}

// Close flushes the buffered events, writes the end-of-recording frame that
// tells readers the recording is complete, and closes the file Create
// opened. After a write error it only closes the file.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	err := w.Flush()
	if err == nil && w.err == nil {
		err = w.write(appendFrame(w.frame[:0], frameHeader{typ: frameEnd}, nil))
	}
	w.closed = true
	w.zstd.Close()
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil && err == nil && w.err == nil {
			err = w.wrap(cerr)
		}
	}
	return err
}

// Err returns the write error that stopped the Writer, or nil.
func (w *Writer) Err() error { return w.err }

// writeFrame compresses raw and writes it as a frame of type typ.
func (w *Writer) writeFrame(typ uint8, raw []byte, count int) error {
	w.zbuf = w.zstd.EncodeAll(raw, w.zbuf[:0])
	h := frameHeader{typ: typ, flags: flagZstd, rawLen: uint32(len(raw)), count: uint32(count)}
	w.frame = appendFrame(w.frame[:0], h, w.zbuf)
	return w.write(w.frame)
}

// write writes b in one call, so a frame is never interleaved with others,
// and stops the Writer on error.
func (w *Writer) write(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		w.err = w.wrap(err)
		return w.err
	}
	return nil
}

// wrap names the output in err. A *fs.PathError is unwrapped because the
// name already says which file it was.
func (w *Writer) wrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if w.name == "" {
		return fmt.Errorf("recording: %w", err)
	}
	return fmt.Errorf("recording to %s: %w", w.name, err)
}
