//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/internal/vmtest"
)

func TestMain(m *testing.M) { nettest.Main(m) }

// TestJSONStream runs the command as a user would, on real traffic in a
// private namespace, and stops it with -c.
func TestJSONStream(t *testing.T) {
	nettest.RequirePrivileged(t)
	ns := nettest.NewNS(t)
	pr, pw := io.Pipe()
	var errw bytes.Buffer
	done := make(chan int, 1)
	// 1 connection and its listener: 12 state changes and a tw_enter.
	// The tw_enter comes before the server's LAST_ACK -> CLOSE (the ACK
	// that ends it comes from the client's tw). The server closes its
	// listener when it exits, which on a slow machine can come before the
	// client's tw begins: the first 12 events hold the tw_enter either way.
	go func() {
		done <- realMain([]string{"-o", "json", "--netns", ns.Path, "-c", "12"}, pw, &errw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() { // the hello line comes once the tracer is attached
		t.Fatalf("no output: %s", errw.String())
	}

	srv := ns.Start(t, "twsrv", "server", "-addr", "127.0.0.1:7101", "-n", "1", "-close", "second")
	srv.Ready(t)
	cli := ns.Start(t, "twcli", "client", "-addr", "127.0.0.1:7101", "-n", "1", "-close", "first")
	cli.Wait(t)
	srv.Wait(t)

	var hello struct {
		Kind, Backend, Kernel string
		Sysctls               map[string]string
	}
	if err := json.Unmarshal(sc.Bytes(), &hello); err != nil || hello.Kind != "hello" || hello.Backend == "" || hello.Sysctls["tcp_tw_reuse"] == "" {
		t.Fatalf("first line %s: want a hello with backend and sysctls (%v)", sc.Text(), err)
	}
	var kinds, lines []string
	var summary struct {
		Kind string
		TW   struct{ Count uint64 }
	}
	for sc.Scan() {
		if summary.Kind != "" {
			t.Fatalf("a line after the summary: %s", sc.Text())
		}
		if strings.Contains(sc.Text(), `"kind":"summary"`) {
			if err := json.Unmarshal(sc.Bytes(), &summary); err != nil {
				t.Fatalf("summary %s: %v", sc.Text(), err)
			}
			continue
		}
		e, err := event.ParseJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("line %s: %v", sc.Text(), err)
		}
		if e.NetNS != ns.Inode {
			t.Errorf("event from netns %d, want only %d", e.NetNS, ns.Inode)
		}
		kinds = append(kinds, e.Kind.String())
		lines = append(lines, sc.Text())
	}
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if len(kinds) != 12 || !strings.Contains(strings.Join(kinds, " "), "tw_enter") {
		t.Errorf("events %v: want 12 including a tw_enter:\n%s", kinds, strings.Join(lines, "\n"))
	}
	if tw := ns.Sockstat(t).TW; summary.Kind != "summary" || summary.TW.Count != tw {
		t.Errorf("summary %+v: want a last line with the kernel's tw count %d", summary, tw)
	}
	if !strings.Contains(errw.String(), "twtrace: events=12 lost=0") {
		t.Errorf("stderr %q: want the final count", errw.String())
	}
}

func TestDoctorSaysWhichBackend(t *testing.T) {
	nettest.RequirePrivileged(t)
	var out, errw bytes.Buffer
	if code := realMain([]string{"doctor"}, &out, &errw); code != exitOK {
		t.Fatalf("doctor exit %d:\n%s", code, out.String())
	}
	// The stock kernels of the vmtest guests allow fentry; this host
	// refuses it (EPERM) and has no kprobes, and doctor says so.
	wants := []string{"backend      tracepoint", "fentry refused", "kprobe refused", "tcp_max_tw_buckets"}
	if vmtest.InVM() {
		wants = []string{"backend      fentry", "tcp_max_tw_buckets"}
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRecordThenReplay: what a live run prints and what its recording
// replays are the same lines, summary included.
func TestRecordThenReplay(t *testing.T) {
	nettest.RequirePrivileged(t)
	ns := nettest.NewNS(t)
	file := t.TempDir() + "/trace.twt"
	pr, pw := io.Pipe()
	var errw bytes.Buffer
	done := make(chan int, 1)
	// 3 connections: 30 state changes and 3 tw_enter.
	go func() {
		done <- realMain([]string{"-o", "json", "--netns", ns.Path, "-c", "33", "-w", file}, pw, &errw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no output: %s", errw.String())
	}
	liveLines := []string{sc.Text()}
	srv := ns.Start(t, "twsrv", "server", "-addr", "127.0.0.1:7102", "-n", "3", "-close", "second")
	srv.Ready(t)
	cli := ns.Start(t, "twcli", "client", "-addr", "127.0.0.1:7102", "-n", "3", "-close", "first")
	cli.Wait(t)
	srv.Wait(t)
	for sc.Scan() {
		liveLines = append(liveLines, sc.Text())
	}
	if code := <-done; code != exitOK {
		t.Fatalf("live run: exit %d: %s", code, errw.String())
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("recording %v, %v: want a 0600 file", st, err)
	}

	var out bytes.Buffer
	if code := realMain([]string{"-r", file, "-o", "json"}, &out, &errw); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, errw.String())
	}
	replayLines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(liveLines) != 35 { // hello, 33 events, summary
		t.Fatalf("live run printed %d lines, want 35", len(liveLines))
	}
	if len(replayLines) != len(liveLines) {
		t.Fatalf("replay printed %d lines, live %d", len(replayLines), len(liveLines))
	}
	for i := range liveLines {
		if liveLines[i] != replayLines[i] {
			t.Errorf("line %d differs:\nlive   %s\nreplay %s", i+1, liveLines[i], replayLines[i])
		}
	}
}

// TestRecordingOnAFullDisk: when the disk fills, the run stops with the
// error, and the file replays up to its last whole block.
func TestRecordingOnAFullDisk(t *testing.T) {
	nettest.RequirePrivileged(t)
	ns := nettest.NewNS(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a small tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	file := dir + "/trace.twt"

	var errw bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain([]string{"--netns", ns.Path, "-w", file, "--no-tui", "--duration", "60s"}, io.Discard, &errw)
	}()
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := os.Stat(file); err == nil {
			break // the header is written once the tracer is attached
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recording never started: %s", errw.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv := ns.Start(t, "twsrv", "server", "-addr", "127.0.0.1:7103", "-n", "3000", "-close", "second")
	srv.Ready(t)
	ns.Start(t, "twcli", "client", "-addr", "127.0.0.1:7103", "-n", "3000", "-close", "first", "-gap", "2ms")
	// The test ends, and kills them, once twtrace has stopped: the rest
	// of their connections would only cost time.
	code := <-done
	if code != exitError || !strings.Contains(errw.String(), "no space left on device") {
		t.Fatalf("exit %d, stderr %q: want 1 and the disk-full error", code, errw.String())
	}

	var out, rerr bytes.Buffer
	if code := realMain([]string{"-r", file, "-o", "json"}, &out, &rerr); code != exitOK {
		t.Fatalf("replaying the cut recording: exit %d: %s", code, rerr.String())
	}
	if n := strings.Count(out.String(), `"kind":"state"`); n == 0 {
		t.Errorf("the recording replays no event: %s", rerr.String())
	}
}

// TestUnprivileged: without root, tracing fails in one line that says what
// to do, and the demo still works.
func TestUnprivileged(t *testing.T) {
	nettest.RequirePrivileged(t) // to drop privileges with setpriv
	bin := buildTwtrace(t)
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	nobody := func(args ...string) *exec.Cmd {
		return exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
	}
	out, err := nobody("-o", "json").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError || strings.Count(string(out), "\n") != 1 ||
		!strings.Contains(string(out), "needs root") {
		t.Errorf("as nobody: %v, %q; want exit 1 and one line about root", err, out)
	}
	out, err = nobody("--demo", "-o", "json", "-c", "5").Output()
	if err != nil || strings.Count(string(out), `"kind":"state"`) == 0 {
		t.Errorf("--demo as nobody: %v, %q", err, out)
	}
}
