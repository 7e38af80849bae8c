//go:build linux

package nettest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/netstat"
)

// NS is a named network namespace created with `ip netns add`, so that
// twtrace's --netns flag and `ip netns exec` can both find it by path.
type NS struct {
	Name  string // e.g. "twt-1a2b3c4d"
	Path  string // /run/netns/<Name>
	Inode uint32 // the namespace's inode, as twtrace reports it in "netns"

	deleted bool
}

// NewNS creates a fresh namespace with its loopback up, and deletes it when
// the test ends unless the test already did. Helper processes started in it
// with Start are killed before it is deleted (cleanups run last-in first-out).
func NewNS(t testing.TB) *NS {
	t.Helper()
	RequirePrivileged(t)
	ns, err := CreateNS("twt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Delete(); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	})
	return ns
}

// CreateNS creates a namespace named prefix-<8 random hex digits> with its
// loopback up, for callers outside tests (twbench); the caller deletes it.
func CreateNS(prefix string) (*NS, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("naming a netns: %w", err)
	}
	ns := &NS{Name: prefix + "-" + hex.EncodeToString(b[:])}
	ns.Path = filepath.Join("/run/netns", ns.Name)
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "-n", ns.Name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		ns.Delete()
		return nil, fmt.Errorf("bringing lo up in %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	var st syscall.Stat_t
	if err := syscall.Stat(ns.Path, &st); err != nil {
		ns.Delete()
		return nil, fmt.Errorf("netns %s: %w", ns.Name, err)
	}
	ns.Inode = uint32(st.Ino)
	return ns, nil
}

// Delete removes the namespace's name. The kernel destroys the namespace,
// and with it every TIME_WAIT socket in it, once no process is left inside.
// Deleting twice is not an error.
func (ns *NS) Delete() error {
	if ns.deleted {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "delete", ns.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	ns.deleted = true
	return nil
}

// Command returns a command that runs name inside the namespace, via
// `ip netns exec`, which execs name in place: the command's PID is name's.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// SS runs `ss args...` inside the namespace and returns its output.
func (ns *NS) SS(t testing.TB, args ...string) string {
	t.Helper()
	cmd := ns.Command("ss", args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ss %s in %s: %v: %s", strings.Join(args, " "), ns.Name, err, stderrOf(err))
	}
	return string(out)
}

// SetSysctl sets a sysctl inside the namespace, such as
// "net.ipv4.tcp_max_tw_buckets". Only per-namespace sysctls (most of
// net.*) can be set this way; the namespace starts from kernel defaults,
// not from the host's values.
func (ns *NS) SetSysctl(t testing.TB, name, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		t.Fatalf("setting %s=%s in %s: %v", name, value, ns.Name, err)
	}
}

// Sockstat returns the TCP line of /proc/net/sockstat inside the namespace.
func (ns *NS) Sockstat(t testing.TB) netstat.Sockstat {
	t.Helper()
	var s netstat.Sockstat
	err := ns.Do(func() error {
		f, err := os.Open("/proc/thread-self/net/sockstat")
		if err != nil {
			return err
		}
		defer f.Close()
		s, err = netstat.ReadSockstat(f)
		return err
	})
	if err != nil {
		t.Fatalf("sockstat in %s: %v", ns.Name, err)
	}
	return s
}

// AwaitTW waits, up to 10 s, until the namespace's sockstat tw count is
// want, and fails the test otherwise. A tw is created in softirq when the
// last FIN or ACK arrives, which may be just after the processes that
// made it have exited, so tests poll for it instead of reading it once.
func (ns *NS) AwaitTW(t testing.TB, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := ns.Sockstat(t)
		if s.TW == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockstat tw in %s = %d, want %d", ns.Name, s.TW, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TcpExt returns the TcpExt counters of /proc/net/netstat inside the
// namespace.
func (ns *NS) TcpExt(t testing.TB) map[string]uint64 {
	t.Helper()
	return ns.counters(t, "netstat", "TcpExt")
}

// Tcp returns the Tcp counters of /proc/net/snmp inside the namespace.
func (ns *NS) Tcp(t testing.TB) map[string]uint64 {
	t.Helper()
	return ns.counters(t, "snmp", "Tcp")
}

func (ns *NS) counters(t testing.TB, file, section string) map[string]uint64 {
	t.Helper()
	var m map[string]uint64
	err := ns.Do(func() error {
		f, err := os.Open("/proc/thread-self/net/" + file)
		if err != nil {
			return err
		}
		defer f.Close()
		m, err = netstat.ReadCounters(f, section)
		return err
	})
	if err != nil {
		t.Fatalf("%s in %s: %v", section, ns.Name, err)
	}
	return m
}

// Do runs fn on an OS thread that has joined the namespace, so that files
// under /proc/thread-self/net and /proc/sys/net, and sockets fn opens, are
// the namespace's. fn must not hand work to other goroutines: they run on
// other threads, in the caller's namespace. The thread is never returned to
// the Go scheduler; the runtime discards it when fn's goroutine ends.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // deliberately never unlocked, see above
		f, err := os.Open(ns.Path)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("joining netns %s: %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// stderrOf returns what a failed command printed on stderr, when the error
// carries it.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
