//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// Check is one preflight result, for `twtrace doctor`.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Checks runs every preflight check and reports each, failed or not.
func Checks() []Check {
	var out []Check
	for _, c := range checks {
		err := c.run()
		detail := c.ok
		if err != nil {
			detail = err.Error()
		}
		out = append(out, Check{Name: c.name, OK: err == nil, Detail: detail})
	}
	return out
}

// preflight returns the first failed check as the error Open reports.
func preflight() error {
	for _, c := range checks {
		if err := c.run(); err != nil {
			return err
		}
	}
	return nil
}

var checks = []struct {
	name string
	ok   string
	run  func() error
}{
	{"privileges", "root or CAP_BPF+CAP_PERFMON", checkPrivileges},
	{"kernel BTF", "/sys/kernel/btf/vmlinux", checkBTF},
	{"ring buffer", "BPF ring buffer supported", checkRingBuf},
}

func checkPrivileges() error {
	const capPerfmon, capBPF = 38, 39
	if hasCaps(unix.CAP_SYS_ADMIN) || hasCaps(capBPF, capPerfmon) {
		return nil
	}
	return errors.New("tracing the kernel needs root (or CAP_BPF and CAP_PERFMON): run with sudo, or replay a recording with -r")
}

func hasCaps(caps ...int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	for _, c := range caps {
		if data[c/32].Effective&(1<<(uint(c)%32)) == 0 {
			return false
		}
	}
	return true
}

func checkBTF() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return errors.New("this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): twtrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, the default of major distributions since Linux 5.5")
	}
	return nil
}

func checkRingBuf() error { return probeMap(ebpf.RingBuf, "BPF ring buffer", "5.8") }

// probeMap reports whether the kernel creates maps of type typ, named what,
// which came in Linux version since.
func probeMap(typ ebpf.MapType, what, since string) error {
	err := features.HaveMapType(typ)
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("this kernel has no %s: twtrace needs Linux %s or newer", what, since)
	}
	if errors.Is(err, unix.EPERM) {
		return errors.New("cannot probe without privileges")
	}
	if err != nil {
		return fmt.Errorf("probing for the %s: %w", what, err)
	}
	return nil
}
