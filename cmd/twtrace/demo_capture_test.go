//go:build linux

package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/nettest"
)

// demoEnv names where TestCaptureDemo writes the built-in demo recording;
// `make demo` sets it. Without it the test does not run: it takes over a
// minute and rewrites a committed file.
const demoEnv = "TWTRACE_DEMO_OUT"

// TestCaptureDemo records the workload behind `twtrace --demo` with twtrace
// itself: an nginx-like reverse proxy in a private namespace. Clients
// (curl) close keep-alive connections on :443 first; the proxy's upstream
// connections to three backends are short and the proxy closes them first,
// from a narrow port range that tcp_tw_reuse recycles; a few client tw are
// killed by RSTs; one backend never closes a connection (a CLOSE_WAIT
// leak). It runs long enough for the first tw to expire.
func TestCaptureDemo(t *testing.T) {
	out := os.Getenv(demoEnv)
	if out == "" {
		t.Skip("set " + demoEnv + " to capture the demo recording (make demo)")
	}
	nettest.RequirePrivileged(t)
	ns := nettest.NewNS(t)
	ns.SetSysctl(t, "net.ipv4.tcp_tw_reuse", "1")
	ns.SetSysctl(t, "net.ipv4.ip_local_port_range", "40000 40099")

	// The file appears once the tracer is attached; an old one would
	// let the workload start too early.
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	const length = 75 * time.Second
	var errw bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain([]string{"--netns", ns.Path, "-w", out, "--no-tui", "--duration", length.String()}, io.Discard, &errw)
	}()
	for _, err := os.Stat(out); err != nil; _, err = os.Stat(out) {
		time.Sleep(10 * time.Millisecond)
	}

	lo := netip.MustParseAddr("127.0.0.1")
	front := ns.Start(t, "nginx", "fork", "-n", "2", "--",
		"server", "-addr", "127.0.0.1:443", "-n", "275", "-close", "second", "-timeout", "2m")
	front.Ready(t)
	var procs []*nettest.Proc
	for i, backend := range []string{"gunicorn", "node", "java"} {
		port := strconv.Itoa(8081 + i)
		srv := ns.Start(t, backend, "server", "-addr", "127.0.0.1:"+port, "-n", "350", "-close", "second", "-timeout", "2m")
		srv.Ready(t)
		up := ns.Start(t, "nginx", "client", "-addr", "127.0.0.1:"+port, "-n", "350", "-close", "first",
			"-gap", strconv.Itoa(150+20*i)+"ms", "-timeout", "2m")
		procs = append(procs, srv, up)
	}
	leak := ns.Start(t, "java", "server", "-addr", "127.0.0.1:8090", "-n", "1", "-close", "second", "-hold", "90s", "-timeout", "2m")
	leak.Ready(t)
	procs = append(procs, leak, ns.Start(t, "nginx", "client", "-addr", "127.0.0.1:8090", "-n", "1", "-close", "first"))
	procs = append(procs,
		ns.Start(t, "curl", "client", "-addr", "127.0.0.1:443", "-n", "250", "-close", "first", "-hold", "200ms", "-gap", "60ms", "-timeout", "2m"),
		ns.Start(t, "wrk", "client", "-addr", "127.0.0.1:443", "-n", "300", "-close", "first", "-gap", "180ms", "-timeout", "2m"))

	// A few RST kills of client tw, spread over the run.
	for i := 0; i < 3; i++ {
		time.Sleep(10 * time.Second)
		for _, line := range strings.Split(ns.SS(t, "-Htan", "state", "time-wait", "( dport = :443 )"), "\n")[:1] {
			fields := strings.Fields(line)
			if len(fields) < 4 {
				continue
			}
			local, err := netip.ParseAddrPort(fields[len(fields)-2])
			if err == nil {
				ns.InjectACK(t, netip.AddrPortFrom(lo, 443), netip.AddrPortFrom(lo, local.Port()))
			}
		}
	}
	if code := <-done; code != exitOK {
		t.Fatalf("capture: exit %d: %s", code, errw.String())
	}
	for _, p := range append(procs, front) {
		p.Wait(t)
	}

	checkDemo(t, []string{"-r", out})
}
