package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

// qemu boots guests. The accelerator is always TCG, software emulation:
// on the machines this project runs on, /dev/kvm is a nested software
// hypervisor that cannot boot a guest kernel, and a guest that fails under
// it hangs paused instead of exiting.
//
// TCG runs one guest CPU at a time (thread=single). With a host thread per
// guest CPU, a CPU can go on running code that another has just patched:
// the kernel patches its text each time a tracepoint, kprobe or fentry
// attaches or detaches, and a guest CPU then trips over a breakpoint that
// the patching had already removed ("Oops: int3", then a panic in
// interrupt context). Toggling the timer tracepoints through tracefs, no
// BPF involved, crashed the 6.18, 7.2 and 7.3 guests within a second that
// way; with thread=single, 3,000 toggles passed on 7.3. It costs speed:
// both guest CPUs share one host thread, so make vmtest runs two guests
// at once instead.
type qemu struct {
	binary  string // qemu-system-x86_64
	common  []byte // the part of the initramfs every guest boots
	dir     string // where each guest's initramfs and status file go
	smp     int
	mem     string
	timeout time.Duration
	slow    string // kernels whose name contains it run the slow tests
	out     *console
}

// outcome is how one kernel fared.
type outcome struct {
	kernel   string // the release the guest reported, else the name of its image
	took     time.Duration
	err      error
	backends []guest.BackendResult
	failures []string // what the console said of the failure (failureLog)
}

// boot runs the tests on one kernel image and reports the outcome. The
// guest's console is copied to q.out as it comes, prefixed with the
// kernel's name; qemu is killed once q.timeout has passed.
func (q *qemu) boot(ctx context.Context, i int, kernel string) outcome {
	name := kernelName(kernel)
	if ctx.Err() != nil {
		return outcome{kernel: name, err: errors.New("not run: interrupted")}
	}
	prefix := "[" + name + "] "
	status := filepath.Join(q.dir, fmt.Sprintf("status-%d", i))
	initrd := filepath.Join(q.dir, fmt.Sprintf("initramfs-%d.cpio", i))
	defer os.Remove(initrd) // tens of MB each; the run may boot many kernels
	if err := q.writeInitrd(initrd, kernel, name); err != nil {
		return outcome{kernel: name, err: fmt.Errorf("writing the initramfs: %w", err)}
	}

	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, q.binary,
		"-nodefaults", "-nographic", "-no-reboot",
		"-accel", "tcg,thread=single", "-cpu", "max",
		"-smp", strconv.Itoa(q.smp), "-m", q.mem,
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet",
		"-serial", "stdio", // ttyS0: the console
		"-serial", "file:"+status, // ttyS1: the status lines
	)
	lines := &lineWriter{out: q.out, prefix: prefix, fails: &failureLog{}}
	cmd.Stdout, cmd.Stderr = lines, lines
	cmd.WaitDelay = 5 * time.Second // a killed qemu must not hold its pipes open

	start := time.Now()
	runErr := cmd.Run()
	took := time.Since(start)
	lines.flush()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		runErr = fmt.Errorf("timed out after %v; qemu killed", q.timeout)
	case ctx.Err() != nil:
		runErr = fmt.Errorf("interrupted; qemu killed")
	case runErr != nil:
		runErr = fmt.Errorf("qemu: %w", runErr)
	}

	data, err := os.ReadFile(status)
	if err != nil {
		return outcome{kernel: name, took: took, err: errors.Join(runErr, fmt.Errorf("reading the status: %w", err))}
	}
	for l := range strings.Lines(string(data)) {
		q.out.println(prefix + "status: " + strings.TrimRight(l, "\r\n"))
	}
	rep, err := guest.Parse(bytes.NewReader(data))
	if rep.Kernel != "" {
		name = rep.Kernel
	}
	switch {
	case runErr != nil:
		err = runErr
	case err == nil:
		err = rep.Err()
	}
	return outcome{kernel: name, took: took, err: err, backends: rep.Backends, failures: lines.fails.lines}
}

// writeInitrd writes the initramfs for one kernel: the common part, then
// that kernel's own files.
func (q *qemu) writeInitrd(path, kernel, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(q.common)
	if err == nil {
		err = writeKernelFiles(f, kernel, name, q.slow != "" && strings.Contains(name, q.slow))
	}
	return errors.Join(err, f.Close())
}

// kernelName names a kernel image for the output: the directory of a
// .../<release>/vmlinuz, as fetch-kernels.sh lays out its cache, else the
// file's own name.
func kernelName(path string) string {
	if filepath.Base(path) == "vmlinuz" {
		return filepath.Base(filepath.Dir(path))
	}
	return filepath.Base(path)
}

// console serialises whole lines from guests running in parallel.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) println(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(c.w, line)
}

// lineWriter passes a guest's output on to a console one prefixed line at
// a time, and to a failureLog. Serial consoles end lines with \r\n; the
// \r is dropped.
type lineWriter struct {
	out    *console
	prefix string
	fails  *failureLog
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

// flush writes a last line that had no newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.line(l.buf)
		l.buf = nil
	}
}

func (l *lineWriter) line(b []byte) {
	s := stripEscapes(string(bytes.TrimRight(b, "\r")))
	l.fails.line(s)
	l.out.println(l.prefix + s)
}

// stripEscapes removes terminal escape sequences. The firmware writes some
// to the serial console at boot (ESC c resets the terminal, ESC [2J clears
// it), which would wipe the output of the kernels run before in the
// terminal of whoever runs vmtest.
func stripEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		i++ // ESC and the byte after it: a two-byte sequence, or CSI's '['
		if i < len(s) && s[i] == '[' {
			// CSI: parameter and intermediate bytes, then a final byte in @..~.
			for i+1 < len(s) && (s[i+1] < 0x40 || s[i+1] > 0x7e) {
				i++
			}
			i++
		}
	}
	return b.String()
}
