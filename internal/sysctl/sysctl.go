// Package sysctl reads kernel parameters from /proc/sys, in particular the
// ones that decide how TIME_WAIT sockets behave. twtrace records them in the
// stream header and prints them in `doctor`, because a trace cannot be read
// correctly without knowing, say, whether tcp_tw_reuse was on.
package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// root is where the kernel exposes the sysctls of the caller's network
// namespace; the unexported helpers take the directory so tests can use a
// fake tree.
const root = "/proc/sys"

// TimeWaitNames are the net.ipv4 sysctls that govern TIME_WAIT, by their
// short name. The order is the order a human reads them in.
var TimeWaitNames = []string{
	"tcp_tw_reuse",
	"tcp_tw_reuse_delay", // Linux 6.13 and later
	"tcp_max_tw_buckets",
	"tcp_fin_timeout",
	"ip_local_port_range",
	"tcp_timestamps",
	"tcp_rfc1337",
}

// Read returns the value of the sysctl name in dotted form
// ("net.ipv4.tcp_tw_reuse") as the kernel prints it, with runs of
// whitespace (ip_local_port_range uses a tab) turned into one space.
func Read(name string) (string, error) {
	return readFrom(root, name)
}

// TimeWait returns the TIME_WAIT sysctls of the caller's network namespace,
// keyed by short name (see TimeWaitNames). A sysctl this kernel lacks, or
// one that cannot be read, is left out rather than failing the whole set:
// the header should carry whatever is known.
func TimeWait() map[string]string {
	return timeWaitFrom(root)
}

func timeWaitFrom(dir string) map[string]string {
	m := make(map[string]string, len(TimeWaitNames))
	for _, short := range TimeWaitNames {
		v, err := readFrom(dir, "net.ipv4."+short)
		if err != nil {
			continue
		}
		m[short] = v
	}
	return m
}

func readFrom(dir, name string) (string, error) {
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "..") {
		return "", fmt.Errorf("sysctl %q: invalid name", name)
	}
	b, err := os.ReadFile(filepath.Join(dir, strings.ReplaceAll(name, ".", "/")))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("sysctl %s: not supported by this kernel: %w", name, err)
		}
		return "", fmt.Errorf("sysctl %s: %w", name, err)
	}
	return strings.Join(strings.Fields(string(b)), " "), nil
}
