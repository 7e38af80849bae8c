package record

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

// chunkLog is an output that remembers where each Write ended: the writer
// writes every frame with one Write, so these are the frame boundaries.
type chunkLog struct {
	bytes.Buffer
	ends []int
}

func (c *chunkLog) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	c.ends = append(c.ends, c.Len())
	return n, err
}

// blocksRecording records blocks of perBlock churn events, with a
// snapshot, and returns the bytes and the frame boundaries: ends[0] is the
// end of the header, ends[i] the end of block i, and the last one the end.
func blocksRecording(t *testing.T, blocks, perBlock int) (data []byte, ends []int, evs []event.Event) {
	t.Helper()
	evs = churnEvents(3, blocks*perBlock)
	var out chunkLog
	w, err := NewWriter(&out, testMeta(), testSnapshot(2))
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
		if (i+1)%perBlock == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The header is written as the preamble and meta frame, then one
	// snapshot frame; merge them.
	ends = out.ends[1:]
	if len(ends) != blocks+2 {
		t.Fatalf("%d writes, want header, %d blocks and the end frame", len(ends), blocks)
	}
	return out.Bytes(), ends, evs
}

// TestTruncatedReplaysWholeBlocks cuts a recording at every byte and
// checks that the replay delivers exactly the blocks before the cut, then
// a *TruncatedError naming where the incomplete part begins.
func TestTruncatedReplaysWholeBlocks(t *testing.T) {
	const perBlock = 40
	data, ends, evs := blocksRecording(t, 4, perBlock)
	for cut := range len(data) {
		r, err := Open(bytes.NewReader(data[:cut]))
		if cut < ends[0] {
			var te *TruncatedError
			if !errors.As(err, &te) {
				t.Fatalf("cut at %d, inside the header: Open = %v, want *TruncatedError", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: Open: %v", cut, err)
		}
		whole := 0 // frames after the header that fit before the cut
		for whole+1 < len(ends) && ends[whole+1] <= cut {
			whole++
		}
		got, err := drain(r)
		var te *TruncatedError
		if !errors.As(err, &te) || te.Offset != int64(ends[whole]) {
			t.Fatalf("cut at %d: replay ended with %v, want truncation at byte %d", cut, err, ends[whole])
		}
		if want := min(whole, 4) * perBlock; len(got) != want || (want > 0 && got[want-1] != evs[want-1]) {
			t.Fatalf("cut at %d: replayed %d events, want the %d of the whole blocks", cut, len(got), want)
		}
		var e event.Event
		if again := r.Next(&e); again != err {
			t.Fatalf("cut at %d: Next after truncation = %v, want the same error again", cut, again)
		}
	}
}

// drain reads events until Next fails.
func drain(r *Reader) ([]event.Event, error) {
	var evs []event.Event
	for {
		var e event.Event
		if err := r.Next(&e); err != nil {
			return evs, err
		}
		evs = append(evs, e)
	}
}

// drainSkipping reads events like --skip-corrupt does: past every
// *CorruptError, which it collects.
func drainSkipping(r *Reader) ([]event.Event, []*CorruptError, error) {
	var evs []event.Event
	var skipped []*CorruptError
	for {
		got, err := drain(r)
		evs = append(evs, got...)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			return evs, skipped, err
		}
		skipped = append(skipped, ce)
	}
}

// TestCorruptBlock damages block 2 of 4 in several ways. A plain replay
// stops there with a *CorruptError naming the block's offset; a replay
// that skips corrupt frames reports each one and delivers every intact
// block.
func TestCorruptBlock(t *testing.T) {
	const perBlock = 40
	data, ends, evs := blocksRecording(t, 4, perBlock)
	block := ends[2] // block 2 starts where block 1 ends
	damages := []struct {
		name   string
		damage func([]byte) []byte
		lost   []int // blocks a skipping replay loses
		skips  int   // corrupt frames it reports
	}{
		{"payload bit flip", func(b []byte) []byte { b[block+frameHeaderSize+3] ^= 0x10; return b }, []int{2}, 1},
		{"length field", func(b []byte) []byte { b[block+12]++; return b }, []int{2}, 1},
		{"sync marker", func(b []byte) []byte { b[block] = 'x'; return b }, []int{2}, 1},
		{"garbage inserted", func(b []byte) []byte {
			return append(b[:block:block], append([]byte("some garbage\n"), b[block:]...)...)
		}, nil, 1},
		// The intact header's length now reaches into block 3, so the
		// skip lands inside it and block 3 is lost as well.
		{"bytes lost", func(b []byte) []byte { return append(b[:block+40:block+40], b[block+45:]...) }, []int{2, 3}, 2},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			damaged := d.damage(bytes.Clone(data))

			r, err := Open(bytes.NewReader(damaged))
			if err != nil {
				t.Fatal(err)
			}
			got, err := drain(r)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != int64(block) {
				t.Fatalf("replay ended with %v, want a *CorruptError at byte %d", err, block)
			}
			if len(got) != 2*perBlock {
				t.Errorf("replayed %d events before the damage, want %d", len(got), 2*perBlock)
			}

			r, _ = Open(bytes.NewReader(damaged))
			got, skipped, err := drainSkipping(r)
			if err != io.EOF {
				t.Fatalf("skipping replay ended with %v, want io.EOF", err)
			}
			if len(skipped) != d.skips || skipped[0].Offset != int64(block) {
				t.Errorf("skipped %v, want %d corrupt frames from byte %d", skipped, d.skips, block)
			}
			var want []event.Event
			for b := range 4 {
				if !slices.Contains(d.lost, b) {
					want = append(want, evs[b*perBlock:(b+1)*perBlock]...)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("skipping replay delivered %d events, want the %d of blocks other than %v", len(got), len(want), d.lost)
			}
		})
	}
}

// TestForeignFile checks that input that is not a recording is refused in
// one line that says so and names the offset.
func TestForeignFile(t *testing.T) {
	for _, in := range []string{"GIF89a\x01\x00\x01\x00", `{"time":"2026-01-01T00:00:00Z","kind":"hello"}`, "\x89TWT\r\n\x1a\r"} {
		_, err := Open(strings.NewReader(in))
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Offset != 0 {
			t.Fatalf("Open(%q) = %v, want a *FormatError at byte 0", in, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "not a twtrace recording") || !strings.Contains(msg, "byte 0") || strings.Contains(msg, "\n") {
			t.Errorf("error %q does not say in one line that this is not a recording, at byte 0", msg)
		}
	}
}

// TestUnknownMajorVersion checks that a recording from an incompatible
// future format is refused, naming both versions.
func TestUnknownMajorVersion(t *testing.T) {
	data := record(t, testMeta(), nil, churnEvents(1, 10), 0)
	data[8] = VersionMajor + 1
	_, err := Open(bytes.NewReader(data))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 8 {
		t.Fatalf("Open = %v, want a *FormatError at byte 8", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "version 2.0") || !strings.Contains(msg, "reads 1.x") {
		t.Errorf("error %q does not name the recording's version and the supported one", msg)
	}
}

// TestNewerMinorVersion checks the compatibility promise: a recording of a
// later minor version, with a frame type this reader does not know, replays
// in full.
func TestNewerMinorVersion(t *testing.T) {
	data, ends, evs := blocksRecording(t, 2, 10)
	data[10] = VersionMinor + 3
	extra := appendFrame(nil, frameHeader{typ: 200, flags: 0x80, rawLen: 5, count: 1}, []byte("later"))
	data = append(data[:ends[1]:ends[1]], append(extra, data[ends[1]:]...)...)
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(r)
	if err != io.EOF || len(got) != len(evs) {
		t.Fatalf("replayed %d events ending with %v, want all %d and io.EOF", len(got), err, len(evs))
	}
	if _, minor := r.Version(); minor != VersionMinor+3 {
		t.Errorf("Version minor = %d, want %d", minor, VersionMinor+3)
	}
}
