//go:build linux

package netns

import (
	"os"
	"os/exec"
	"testing"
)

func TestResolve(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if ino, path, err := Resolve("4026531840"); err != nil || ino != 4026531840 || path != "" {
		t.Errorf("an inode: %d %q %v", ino, path, err)
	}
	if ino, path, err := Resolve("/proc/self/ns/net"); err != nil || ino != self || path != "/proc/self/ns/net" {
		t.Errorf("a path: %d %q %v, want %d", ino, path, err, self)
	}
	for _, bad := range []string{"0", "no-such-namespace", "/nonexistent/ns"} {
		if _, _, err := Resolve(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestDoEntersAndLeaves runs code inside a fresh namespace and checks the
// calling thread comes back to its own.
func TestDoEntersAndLeaves(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("TWTRACE_REQUIRE_PRIVILEGED") != "" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	name := "twt-netns-test"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	want, path, err := Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := Self()
	var inside uint32
	if err := Do(path, func() error {
		var err error
		inside, err = Inode("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside != want || inside == self {
		t.Errorf("inside Do: netns %d, want %d (not the caller's %d)", inside, want, self)
	}
	if after, _ := Self(); after != self {
		t.Errorf("after Do the process is in netns %d, want %d", after, self)
	}
}
