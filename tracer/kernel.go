//go:build linux

package tracer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const afInet = unix.AF_INET

func monotonicNow() uint64 {
	var ts unix.Timespec
	// CLOCK_MONOTONIC never fails on Linux; bpf_ktime_get_ns uses it.
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// kernelSymbol returns the address of a kernel text symbol. The tw timer
// is recognised by its function, tw_timer_handler, a static symbol only
// /proc/kallsyms names.
func kernelSymbol(name string) (uint64, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return 0, fmt.Errorf("reading kernel symbols: %w", err)
	}
	defer f.Close()
	addr, err := findSymbol(f, name)
	if err != nil {
		return 0, err
	}
	if addr == 0 {
		return 0, fmt.Errorf("/proc/kallsyms hides kernel addresses (kernel.kptr_restrict): run twtrace as root")
	}
	return addr, nil
}

func findSymbol(r io.Reader, name string) (uint64, error) {
	sc := bufio.NewScanner(r)
	suffix := []byte(" " + name)
	for sc.Scan() {
		line := sc.Bytes()
		// "ffffffff82006070 t tw_timer_handler", sometimes with "\t[module]".
		if i := bytes.IndexByte(line, '\t'); i >= 0 {
			line = line[:i]
		}
		if !bytes.HasSuffix(line, suffix) {
			continue
		}
		fields := bytes.Fields(line)
		if len(fields) != 3 || !bytes.Equal(fields[2], suffix[1:]) {
			continue
		}
		return strconv.ParseUint(string(fields[0]), 16, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading kernel symbols: %w", err)
	}
	return 0, fmt.Errorf("kernel symbol %s not found in /proc/kallsyms: this kernel's TCP TIME_WAIT code differs from what twtrace knows", name)
}

// kernelHZ returns CONFIG_HZ, which converts the tw timer's jiffies to
// time. Distributions ship the config as /proc/config.gz or in /boot.
func kernelHZ() (uint64, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return 0, fmt.Errorf("reading the kernel release: %w", err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	for _, path := range []string{"/proc/config.gz", "/boot/config-" + release, "/lib/modules/" + release + "/config"} {
		hz, err := configHZ(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		return hz, err
	}
	return 0, errors.New("cannot find this kernel's build configuration (/proc/config.gz or /boot/config-" + release + ") to read CONFIG_HZ")
}

func configHZ(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", path, err)
		}
		r = gz
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONFIG_HZ="); ok {
			hz, err := strconv.ParseUint(v, 10, 64)
			if err != nil || hz == 0 {
				return 0, fmt.Errorf("%s: bad CONFIG_HZ %q", path, v)
			}
			return hz, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s has no CONFIG_HZ", path)
}

// twInfoEntries sizes the map of live tw owners: room for the kernel's own
// limit with headroom for stale entries, within bounds that keep the
// map's preallocated memory reasonable.
func twInfoEntries() uint32 {
	const lo, hi = 1 << 14, 1 << 20
	n := uint64(lo)
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_max_tw_buckets"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			n = v + v/2
		}
	}
	return uint32(min(max(n, lo), hi))
}
