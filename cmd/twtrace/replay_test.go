package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/record"
)

// recording writes blocks of n events each, flushing between blocks, and
// returns the file's bytes and where each block ends.
func recording(t *testing.T, blocks, n int) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	meta := &event.Meta{Version: "test", Host: "h", Kernel: "6.18", Backend: "tracepoint",
		Sysctls: map[string]string{"ip_local_port_range": "32768 60999"}}
	w, err := record.NewWriter(&buf, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int
	var e event.Event
	for b := 0; b < blocks; b++ {
		for i := 0; i < n; i++ {
			e = event.Event{Kind: event.KindState, Old: event.Established, New: event.FinWait1,
				MonoNS: uint64(1e9 + b*1000 + i), WallNS: int64(1e18 + b*1000 + i),
				LPort: uint16(40000 + i), RPort: 80, PID: uint32(100 + b), Closer: event.CloserLocal}
			e.SetLocal(netip.MustParseAddr("127.0.0.1"))
			e.SetRemote(netip.MustParseAddr("127.0.0.2"))
			event.SetComm(&e.Comm, []string{"curl", "nginx"}[b%2])
			if err := w.Write(&e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ends
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.twt")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func replayFile(t *testing.T, path string, args ...string) (code int, events int, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = realMain(append([]string{"-r", path, "-o", "json"}, args...), &out, &errw)
	return code, strings.Count(out.String(), `"kind":"state"`), errw.String()
}

func TestReplayWholeFile(t *testing.T) {
	data, _ := recording(t, 3, 10)
	code, n, stderr := replayFile(t, writeFile(t, data))
	if code != exitOK || n != 30 || stderr != "" {
		t.Errorf("exit %d, %d events, stderr %q; want 0, 30, nothing", code, n, stderr)
	}
}

func TestReplayTruncatedWarnsOnceAndExitsZero(t *testing.T) {
	data, ends := recording(t, 3, 10)
	code, n, stderr := replayFile(t, writeFile(t, data[:ends[1]+7])) // cut inside block 3
	if code != exitOK || n != 20 {
		t.Errorf("exit %d, %d events; want 0 and the 20 events of the whole blocks", code, n)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "at byte") {
		t.Errorf("stderr %q: want one warning naming the offset", stderr)
	}
}

func TestReplayCorruptBlock(t *testing.T) {
	data, ends := recording(t, 3, 10)
	bad := append([]byte(nil), data...)
	bad[ends[0]+(ends[1]-ends[0])/2] ^= 0xff // inside block 2
	path := writeFile(t, bad)

	code, n, stderr := replayFile(t, path)
	if code != exitError || n != 10 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "at byte") {
		t.Errorf("exit %d, %d events, stderr %q; want 1, the 10 events before it, one line with the offset", code, n, stderr)
	}
	code, n, stderr = replayFile(t, path, "--skip-corrupt")
	if code != exitOK || n != 20 || !strings.Contains(stderr, "skipped") {
		t.Errorf("--skip-corrupt: exit %d, %d events, stderr %q; want 0, 20, a warning", code, n, stderr)
	}
}

func TestReplayRefusesForeignFiles(t *testing.T) {
	for name, data := range map[string][]byte{
		"text":  []byte("GET / HTTP/1.1\r\n\r\n"),
		"empty": nil,
	} {
		code, _, stderr := replayFile(t, writeFile(t, data))
		if code != exitError || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 1 and one line", name, code, stderr)
		}
	}
}

func TestReplayAppliesTheFilter(t *testing.T) {
	data, _ := recording(t, 2, 10)
	code, n, stderr := replayFile(t, writeFile(t, data), "--pid", "nginx")
	if code != exitOK || n != 10 {
		t.Errorf("exit %d, %d events (%s); want only nginx's 10", code, n, stderr)
	}
}
