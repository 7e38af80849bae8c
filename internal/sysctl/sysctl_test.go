package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fakeTree writes files under a temporary /proc/sys look-alike.
func fakeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTimeWaitNormalisesAndSkipsMissing(t *testing.T) {
	// As printed by Linux 6.12, which has no tcp_tw_reuse_delay.
	dir := fakeTree(t, map[string]string{
		"net/ipv4/tcp_tw_reuse":        "2\n",
		"net/ipv4/tcp_max_tw_buckets":  "131072\n",
		"net/ipv4/tcp_fin_timeout":     "60\n",
		"net/ipv4/ip_local_port_range": "32768\t60999\n",
		"net/ipv4/tcp_timestamps":      "1\n",
		"net/ipv4/tcp_rfc1337":         "0\n",
	})
	got := timeWaitFrom(dir)
	want := map[string]string{
		"tcp_tw_reuse":        "2",
		"tcp_max_tw_buckets":  "131072",
		"tcp_fin_timeout":     "60",
		"ip_local_port_range": "32768 60999",
		"tcp_timestamps":      "1",
		"tcp_rfc1337":         "0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeWaitFrom = %v, want %v", got, want)
	}
}

func TestReadMissingIsNotExist(t *testing.T) {
	_, err := readFrom(t.TempDir(), "net.ipv4.tcp_tw_reuse_delay")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadRejectsPaths(t *testing.T) {
	for _, name := range []string{"", "net/ipv4/tcp_tw_reuse", "..", "net...x"} {
		if _, err := readFrom(t.TempDir(), name); err == nil {
			t.Errorf("readFrom(%q) succeeded", name)
		}
	}
}

// TestReadLive reads the running kernel; every Linux with /proc has
// ip_local_port_range, and it always prints two numbers.
func TestReadLive(t *testing.T) {
	if _, err := os.Stat(root); err != nil {
		t.Skip("no /proc/sys on this system")
	}
	v, err := Read("net.ipv4.ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi int
	if n, _ := fmt.Sscan(v, &lo, &hi); n != 2 || lo > hi {
		t.Errorf("ip_local_port_range = %q", v)
	}
	if _, ok := TimeWait()["tcp_max_tw_buckets"]; !ok {
		t.Error("TimeWait() lacks tcp_max_tw_buckets")
	}
}
