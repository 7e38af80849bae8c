package record

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"
)

// toDevFull keeps what it is given until limit bytes, then writes to
// /dev/full, where every write fails with the kernel's own ENOSPC.
type toDevFull struct {
	kept  bytes.Buffer
	limit int
	full  *os.File
}

func (d *toDevFull) Write(p []byte) (int, error) {
	if d.kept.Len()+len(p) <= d.limit {
		return d.kept.Write(p)
	}
	return d.full.Write(p)
}

func (d *toDevFull) Name() string { return d.full.Name() }

// TestDevFull records onto a device that reports a real full disk: the
// error names the file and the cause, and what was written before it
// replays up to the last whole block.
func TestDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()

	const perBlock = 40
	_, ends, evs := blocksRecording(t, 4, perBlock)
	out := &toDevFull{limit: ends[2] + 10, full: full} // fails inside block 2
	errs := recordUntilFull(t, out, evs, perBlock)
	if len(errs) != 1 || !errors.Is(errs[0], syscall.ENOSPC) {
		t.Fatalf("got errors %v, want one ENOSPC", errs)
	}
	if want := "recording to /dev/full: no space left on device"; errs[0].Error() != want {
		t.Errorf("error %q, want %q", errs[0], want)
	}
	r, err := Open(bytes.NewReader(out.kept.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(r)
	var te *TruncatedError
	if !errors.As(err, &te) || te.Offset != int64(ends[2]) || len(got) != 2*perBlock {
		t.Errorf("replayed %d events ending with %v, want %d then truncation at byte %d", len(got), err, 2*perBlock, ends[2])
	}
}

// TestCreateDevFull checks that a recording whose header cannot be written
// is not started.
func TestCreateDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	_, err := Create("/dev/full", testMeta(), nil)
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != "recording to /dev/full: no space left on device" {
		t.Errorf("Create(/dev/full) = %v, want the full disk reported", err)
	}
}
