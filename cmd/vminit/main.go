//go:build linux

// Command vminit is PID 1 of the vmtest guests (see cmd/vmtest). It prepares
// the little a BPF test needs from a bare kernel — the pseudo filesystems,
// a loopback that is up, no memlock limit — then runs every binary in
// /run.d in name order, reports each exit code on the second serial port
// and powers the VM off.
//
// It also loads the kernel modules the runner packs into /modules.d (the
// sock_diag modules that `ss` and twtrace's socket snapshot need).
//
// It is a binary of its own, not part of the tests, because
// github.com/cilium/ebpf/rlimit probes /proc in its package init(): in a
// PID 1 that imports it, that probe runs before anything is mounted and the
// later rlimit.RemoveMemlock fails. So this package must never import
// cilium/ebpf, directly or not.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

const (
	runDir     = "/run.d"
	moduleDir  = "/modules.d"
	argsFile   = "/etc/vmtest.args"
	envFile    = "/etc/vmtest.env" // this kernel's extra environment, KEY=VALUE a line
	statusPort = "/dev/ttyS1"      // the runner connects it to a file on the host
	path       = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// mounts are the filesystems the tests expect, in order: later targets lie
// inside earlier ones.
var mounts = []struct{ fstype, target string }{
	{"proc", "/proc"},
	{"sysfs", "/sys"},
	{"devtmpfs", "/dev"},
	{"tracefs", "/sys/kernel/tracing"},
	{"debugfs", "/sys/kernel/debug"},
	{"bpf", "/sys/fs/bpf"},
	{"cgroup2", "/sys/fs/cgroup"},
	{"tmpfs", "/tmp"},
	{"tmpfs", "/run"}, // `ip netns add` keeps namespace names in /run/netns
}

func main() {
	// The kernel opened /dev/console (from the initramfs) as stdin, stdout
	// and stderr, so errors reach the runner's output.
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "vminit: %v\n", err)
	}
	drain(os.Stdout)
	unix.Sync()
	// Powering off makes qemu exit 0. Should it fail, returning from PID 1
	// panics the kernel, and with panic=-1 and -no-reboot qemu exits too.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(os.Stderr, "vminit: power off: %v\n", err)
	}
}

// run prepares the guest and runs the tests. A setup error returns before
// DONE is written, which the runner reports as a failed kernel.
func run() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	if err := loadModules(); err != nil {
		return err
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	// Kernels before 5.11 charge BPF maps against RLIMIT_MEMLOCK.
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf); err != nil {
		return fmt.Errorf("raising RLIMIT_MEMLOCK: %w", err)
	}

	status, err := os.OpenFile(statusPort, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("opening the status port: %w", err)
	}
	defer func() { drain(status); status.Close() }()

	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	var up unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &up); err != nil {
		return fmt.Errorf("reading the uptime: %w", err)
	}
	if err := guest.Booted(status, unix.ByteSliceToString(uts.Release[:]), time.Duration(up.Nano())); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}

	args, err := readArgs()
	if err != nil {
		return err
	}
	bins, err := os.ReadDir(runDir) // sorted by name
	if err != nil {
		return fmt.Errorf("listing the tests: %w", err)
	}
	extra, err := readLines(envFile)
	if err != nil {
		return err
	}
	env := append(os.Environ(), "PATH="+path, guest.Env+"=1", guest.StatusEnv+"="+statusPort)
	env = append(env, extra...)
	worst := 0
	for _, b := range bins {
		start := time.Now()
		code := runOne(filepath.Join(runDir, b.Name()), args, env)
		worst = max(worst, code)
		if err := guest.Exited(status, b.Name(), code, time.Since(start)); err != nil {
			return fmt.Errorf("writing status: %w", err)
		}
	}
	if err := guest.Done(status, worst); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// loadModules loads the kernel modules in /modules.d in name order; the
// runner numbers them so that each comes after those it depends on. There
// is no modprobe in the guest to load them on demand. A module ending in
// .xz is decompressed by the kernel, which every kernel that ships its
// modules compressed can do (CONFIG_MODULE_DECOMPRESS).
func loadModules() error {
	modules, err := os.ReadDir(moduleDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the modules: %w", err)
	}
	for _, m := range modules {
		if err := loadModule(filepath.Join(moduleDir, m.Name())); err != nil {
			return err
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(path, ".xz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(int(f.Fd()), "", flags); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("loading %s: %w", path, err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo with the ioctl `ip link set lo up` uses, as
// the guest has no ip binary of its own.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// readArgs returns the arguments the runner passes to every test binary,
// one a line.
func readArgs() ([]string, error) { return readLines(argsFile) }

// readLines returns the non-empty lines of a file the runner may have
// packed; none if it did not.
func readLines(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return slices.DeleteFunc(strings.Split(string(b), "\n"), func(s string) bool { return s == "" }), nil
}

// runOne runs one test binary with the console as its output and returns
// its exit code: 128+n when killed by signal n, as a shell reports it, and
// 127 when it could not start.
//
// As PID 1, vminit inherits every process whose parent exits before it, for
// instance a test's helper processes; it reaps them all while it waits, so
// that they do not pile up as zombies.
func runOne(bin string, args, env []string) int {
	p, err := os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "vminit: %v\n", err)
		return 127
	}
	defer p.Release()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "vminit: waiting for %s: %v\n", bin, err)
			return 127
		}
		if pid != p.Pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// drain waits until a serial port has sent everything written to it, so
// that powering off does not cut the last lines short.
func drain(tty *os.File) {
	if err := unix.IoctlSetInt(int(tty.Fd()), unix.TCSBRK, 1); err != nil {
		fmt.Fprintf(os.Stderr, "vminit: draining %s: %v\n", tty.Name(), err)
	}
}
