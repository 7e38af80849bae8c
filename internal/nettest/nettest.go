//go:build linux

// Package nettest is the kit for twtrace's privileged tests: each test gets
// a private network namespace, drives real TCP over its loopback with helper
// processes, and compares what twtrace reports with the kernel's own view
// (sockstat, TcpExt, ss) inside that namespace only. Other processes on a
// development machine churn TIME_WAIT in the host namespace, so nothing here
// ever looks at the host's counters.
//
// Helper processes are the test binary itself, re-executed under a chosen
// process name (comm) with a role such as "server" or "client", so that a
// tracer test can check owner attribution across separate processes. A
// package that uses Start must route its TestMain through Main:
//
//	func TestMain(m *testing.M) { nettest.Main(m) }
//
// A typical kernel test, client closing first:
//
//	ns := nettest.NewNS(t) // skips without root, fails if TWTRACE_REQUIRE_PRIVILEGED=1
//	// ... attach the tracer with a filter on ns.Inode / ns.Path ...
//	srv := ns.Start(t, "srv", "server", "-addr", "127.0.0.1:7001", "-n", "3", "-close", "second")
//	srv.Ready(t)
//	cli := ns.Start(t, "cli", "client", "-addr", "127.0.0.1:7001", "-n", "3", "-close", "first")
//	cli.Wait(t)
//	srv.Wait(t)
//	ns.AwaitTW(t, 3) // cli.PID owns them
//
// Close modes (-close, either side): first (plain close() after the
// exchange), shutdown (shutdown(SHUT_WR), wait for the peer's FIN, close),
// second (wait for the peer's FIN, then close), linger0 (RST). Other flags:
// -n, -delay, -hold, -timeout, and on the client -bind, -reuseaddr, -gap.
// "fork -n N -- server ..." is an nginx-like master whose N workers share
// its listening socket; Proc.Workers gives their PIDs.
package nettest

import (
	"os"
	"os/exec"
	"testing"
)

// RequirePrivilegedEnv names the environment variable that turns a missing
// privilege from a skip into a failure. CI sets it, so that a test that
// silently skipped there would not count as passed.
const RequirePrivilegedEnv = "TWTRACE_REQUIRE_PRIVILEGED"

// RequirePrivileged skips the test unless it runs as root with the `ip` and
// `ss` tools at hand, or fails it when RequirePrivilegedEnv is "1".
func RequirePrivileged(t testing.TB) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root (network namespaces, BPF)"
	} else {
		for _, tool := range []string{"ip", "ss"} {
			if _, err := exec.LookPath(tool); err != nil {
				reason = "needs the " + tool + " tool (iproute2)"
				break
			}
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv(RequirePrivilegedEnv) == "1" {
		t.Fatalf("%s, and %s=1", reason, RequirePrivilegedEnv)
	}
	t.Skip(reason)
}
