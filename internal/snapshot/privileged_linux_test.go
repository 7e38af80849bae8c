package snapshot

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// requirePrivileged skips a test that needs root and the ip tool, unless
// TWTRACE_REQUIRE_PRIVILEGED=1 (as in CI), where a skip would hide a
// failure and so fails instead.
func requirePrivileged(t *testing.T) {
	t.Helper()
	reason := ""
	switch {
	case os.Geteuid() != 0:
		reason = "needs root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			reason = "needs the ip tool"
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("TWTRACE_REQUIRE_PRIVILEGED") == "1" {
		t.Fatalf("%s, and TWTRACE_REQUIRE_PRIVILEGED=1", reason)
	}
	t.Skip(reason)
}

// privateNetNS creates a network namespace with loopback up, deleted
// when the test ends, and returns its name.
func privateNetNS(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("twtrace-test-%d", os.Getpid())
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting netns %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// run runs a command and returns its output, failing the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}

// inNetNS runs f on a thread moved into the named netns, so sockets f
// creates live there. Sockets stay in their netns once made, so they can
// be used from any goroutine afterwards.
func inNetNS(t *testing.T, name string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("reading the current netns: %v", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("opening netns %s: %v", name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering netns %s: %v", name, err)
	}
	defer func() {
		// A thread that cannot go back stays locked, and Go ends it
		// with its goroutine rather than reuse it in the wrong netns.
		if err := netns.Set(orig); err != nil {
			t.Errorf("leaving netns %s: %v", name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}
