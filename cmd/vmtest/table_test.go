package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

var at = time.Date(2026, 11, 21, 23, 0, 0, 0, time.FixedZone("CET", 3600))

func TestRenderTable(t *testing.T) {
	all := func(ok ...bool) []guest.BackendResult {
		return []guest.BackendResult{{Name: "fentry", OK: ok[0]}, {Name: "kprobe", OK: ok[1]}, {Name: "tracepoint", OK: ok[2]}}
	}
	got := renderTable([]outcome{
		{kernel: "5.10.0-46-cloud-amd64", took: 81400 * time.Millisecond, backends: all(true, true, true)},
		// Two binaries reported kprobe; one failed.
		{kernel: "6.1.0-50-cloud-amd64", took: 90 * time.Second, err: errors.New("00-tracer.test exited with 1"),
			backends: append(all(true, false, true), guest.BackendResult{Name: "kprobe", OK: true})},
		// A guest that panicked before any backend ran.
		{kernel: "7.3.4+deb13-cloud-amd64", took: 5 * time.Second, err: errors.New("a\nb")},
	}, at)
	want := `| kernel | fentry | kprobe | tracepoint | whole run |
| --- | --- | --- | --- | --- |
| 5.10.0-46-cloud-amd64 | ok | ok | ok | passed, 81 s |
| 6.1.0-50-cloud-amd64 | ok | FAIL | ok | FAIL: 00-tracer.test exited with 1 |
| 7.3.4+deb13-cloud-amd64 | — | — | — | FAIL: a; b |

Debian cloud kernels in QEMU (TCG), 2026-11-21.
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUpdateTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	doc := "# x\n\n" + tableBegin + "\nold table\n" + tableEnd + "\n\nafter\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	outcomes := []outcome{{kernel: "k", took: time.Second, backends: []guest.BackendResult{{Name: "fentry", OK: true}}}}
	if err := updateTable(path, outcomes, at); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# x\n\n" + tableBegin + "\n" + renderTable(outcomes, at) + tableEnd + "\n\nafter\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// A file without the markers is left alone and the run told why.
	if err := os.WriteFile(path, []byte("# no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateTable(path, outcomes, at); err == nil {
		t.Error("no error for a file without markers")
	}
	if got, _ := os.ReadFile(path); string(got) != "# no markers\n" {
		t.Errorf("file changed to %q", got)
	}
}
