//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/nettest"
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
	// 1 connection: 10 state changes and a tw_enter.
	go func() {
		done <- realMain([]string{"-o", "json", "--netns", ns.Path, "-c", "11"}, pw, &errw)
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
	var kinds []string
	for sc.Scan() {
		e, err := event.ParseJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("line %s: %v", sc.Text(), err)
		}
		if e.NetNS != ns.Inode {
			t.Errorf("event from netns %d, want only %d", e.NetNS, ns.Inode)
		}
		kinds = append(kinds, e.Kind.String())
	}
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if len(kinds) != 11 || !strings.Contains(strings.Join(kinds, " "), "tw_enter") {
		t.Errorf("events %v: want 11 including a tw_enter", kinds)
	}
	if !strings.Contains(errw.String(), "twtrace: events=11 lost=0") {
		t.Errorf("stderr %q: want the final count", errw.String())
	}
}

func TestDoctorSaysWhichBackend(t *testing.T) {
	nettest.RequirePrivileged(t)
	var out, errw bytes.Buffer
	if code := realMain([]string{"doctor"}, &out, &errw); code != exitOK {
		t.Fatalf("doctor exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"backend      tracepoint", "tcp_max_tw_buckets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}
