package record

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

// fullDisk accepts limit bytes, keeping them, then fails like a full disk:
// the write that crosses the limit is cut short.
type fullDisk struct {
	bytes.Buffer
	limit int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if room := d.limit - d.Len(); len(p) > room {
		d.Buffer.Write(p[:max(room, 0)])
		return max(room, 0), syscall.ENOSPC
	}
	return d.Buffer.Write(p)
}

// recordUntilFull records evs, flushing every perBlock events, to out, and
// returns every error the Writer returned, in order.
func recordUntilFull(t *testing.T, out io.Writer, evs []event.Event, perBlock int) []error {
	t.Helper()
	w, err := NewWriter(out, testMeta(), testSnapshot(2))
	if err != nil {
		return []error{err}
	}
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for i := range evs {
		keep(w.Write(&evs[i]))
		if (i+1)%perBlock == 0 {
			keep(w.Flush())
		}
	}
	keep(w.Close())
	if len(errs) > 0 && w.Err() != errs[0] {
		t.Errorf("Err() = %v, want the error Write returned", w.Err())
	}
	return errs
}

// TestFullDisk fills the disk at every point of a small recording: the
// error is returned once and says what happened, and the bytes that made it
// to disk replay up to the last block written in full.
func TestFullDisk(t *testing.T) {
	const perBlock = 40
	data, ends, evs := blocksRecording(t, 4, perBlock)
	for limit := 0; limit < len(data); limit += 7 {
		disk := &fullDisk{limit: limit}
		errs := recordUntilFull(t, disk, evs, perBlock)
		if len(errs) != 1 {
			t.Fatalf("disk full at %d: got errors %v, want exactly one", limit, errs)
		}
		if !errors.Is(errs[0], syscall.ENOSPC) || errs[0].Error() != "recording: no space left on device" {
			t.Fatalf("disk full at %d: error %q, want %q wrapping ENOSPC", limit, errs[0], "recording: no space left on device")
		}
		if limit < ends[0] {
			continue // the header did not fit: there is no recording to replay
		}
		whole := 0
		for whole+1 < len(ends) && ends[whole+1] <= limit {
			whole++
		}
		r, err := Open(bytes.NewReader(disk.Bytes()))
		if err != nil {
			t.Fatalf("disk full at %d: Open: %v", limit, err)
		}
		got, err := drain(r)
		var te *TruncatedError
		if !errors.As(err, &te) || len(got) != min(whole, 4)*perBlock {
			t.Fatalf("disk full at %d: replayed %d events ending with %v, want the %d of the whole blocks, then truncation",
				limit, len(got), err, min(whole, 4)*perBlock)
		}
	}
}

// TestCreateMode checks that recordings are private to their owner, even
// when they replace an existing file.
func TestCreateMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "trace.twt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, testMeta(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("recording has mode %v, want 0600", fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Open(f); err != nil {
		t.Errorf("replaying the created file: %v", err)
	}
}

// TestCreateError checks that a recording that cannot be created says so.
func TestCreateError(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "missing", "trace.twt"), testMeta(), nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "creating recording: ") {
		t.Errorf("Create in a missing directory = %v, want a 'creating recording' error wrapping ErrNotExist", err)
	}
}

// TestFlushesEverySecond checks that, without any Flush call, events reach
// the output as soon as a later event is a second newer, so that a copy of
// a recording being written replays all but its last second.
func TestFlushesEverySecond(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter(&out, testMeta(), nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := churnEvents(5, 100)
	for i := range evs {
		evs[i].MonoNS = evs[0].MonoNS + uint64(i)*50e6 // 20 events a second
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Events 0-19 span the first second, 20-39 the next and so on; the
	// last second is still buffered.
	r, err := Open(bytes.NewReader(bytes.Clone(out.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(r)
	var te *TruncatedError
	if !errors.As(err, &te) || len(got) != 80 {
		t.Fatalf("a copy made while writing replayed %d events ending with %v, want 80 then truncation", len(got), err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteAllocates checks the hot path: recording allocates nothing once
// the block buffers have grown.
func TestWriteAllocates(t *testing.T) {
	evs := churnEvents(2, 400_000)
	w, err := NewWriter(io.Discard, testMeta(), nil)
	if err != nil {
		t.Fatal(err)
	}
	warm, rest := evs[:200_000], evs[200_000:]
	for i := range warm {
		w.Write(&warm[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(10, func() {
		for range 20_000 {
			if err := w.Write(&rest[i%len(rest)]); err != nil {
				t.Fatal(err)
			}
			i++
		}
	})
	if allocs != 0 {
		t.Errorf("writing 20,000 events allocated %v times, want 0", allocs)
	}
}
