// Package guest is the contract between the vmtest runner on the host, the
// guest's PID 1 (cmd/vminit) and the tests it runs: the environment variable
// that tells a test it runs in a VM, and the status lines the guest writes to
// its second serial port. The runner decides pass or fail from those lines
// alone, because the console (kernel messages and test output mixed) cannot
// be parsed reliably, and a guest that panics or hangs simply never writes
// the final line.
//
// The lines are:
//
//	VMTEST kernel=<release> uptime=<seconds>
//	VMTEST backend <name> ok|FAIL
//	VMTEST <binary> EXIT=<code> secs=<seconds>
//	VMTEST DONE EXIT=<worst code>
//
// A test binary that runs its tests once per attach backend writes a
// backend line for each, itself, to the port StatusEnv names: the runner
// builds the kernel-support table from them.
package guest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Env is set to "1" in the environment of every test binary in the guest.
const Env = "VMTEST"

// StatusEnv names, in the environment of every test binary in the guest,
// the status port, for Backend lines.
const StatusEnv = "VMTEST_STATUS"

// SlowEnv is set to "1" in the guests of the kernels that also run the
// slow tests (vmtest -slow): a TIME_WAIT expiry takes a minute, worth
// waiting for once, not on every kernel.
const SlowEnv = "VMTEST_SLOW"

const (
	prefix = "VMTEST "
	done   = "DONE"
)

// Booted writes the first line: the guest's kernel release and how long it
// took to reach PID 1.
func Booted(w io.Writer, release string, uptime time.Duration) error {
	_, err := fmt.Fprintf(w, "%skernel=%s uptime=%.2f\n", prefix, release, uptime.Seconds())
	return err
}

// Exited writes the result of one test binary.
func Exited(w io.Writer, name string, code int, took time.Duration) error {
	_, err := fmt.Fprintf(w, "%s%s EXIT=%d secs=%.2f\n", prefix, name, code, took.Seconds())
	return err
}

// Done writes the last line, after every binary has run.
func Done(w io.Writer, worst int) error {
	_, err := fmt.Fprintf(w, "%s%s EXIT=%d\n", prefix, done, worst)
	return err
}

// Backend writes how the tests fared with one attach backend.
func Backend(w io.Writer, name string, ok bool) error {
	result := "ok"
	if !ok {
		result = "FAIL"
	}
	_, err := fmt.Fprintf(w, "%sbackend %s %s\n", prefix, name, result)
	return err
}

// BackendResult is what a Backend line said.
type BackendResult struct {
	Name string
	OK   bool
}

// Result is one test binary's outcome.
type Result struct {
	Name string
	Exit int
	Secs float64
}

// Report is what a guest wrote on its status port.
type Report struct {
	Kernel  string  // uname release; empty if the guest never reached PID 1
	Uptime  float64 // seconds from boot to PID 1
	Results []Result
	// Backends are the Backend lines, in the order written.
	Backends []BackendResult
	Done     bool // the guest ran everything and reported so
	Exit     int  // the worst exit code, valid when Done
}

// Parse reads a status port's output. Lines that do not start with
// "VMTEST " are ignored, so that stray output on the port cannot fail a
// run; a malformed VMTEST line is an error.
func Parse(r io.Reader) (Report, error) {
	var rep Report
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r") // the tty turns \n into \r\n
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		if err := rep.parseLine(rest); err != nil {
			return rep, fmt.Errorf("status line %q: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("reading status: %w", err)
	}
	return rep, nil
}

func (rep *Report) parseLine(rest string) error {
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return errors.New("empty")
	}
	if kernel, ok := strings.CutPrefix(fields[0], "kernel="); ok {
		if len(fields) != 2 {
			return errors.New("want kernel= uptime=")
		}
		up, err := value(fields[1], "uptime")
		if err != nil {
			return err
		}
		rep.Kernel, rep.Uptime = kernel, up
		return nil
	}
	if fields[0] == "backend" {
		if len(fields) != 3 || (fields[2] != "ok" && fields[2] != "FAIL") {
			return errors.New("want backend <name> ok|FAIL")
		}
		rep.Backends = append(rep.Backends, BackendResult{Name: fields[1], OK: fields[2] == "ok"})
		return nil
	}
	if fields[0] == done {
		if len(fields) != 2 {
			return errors.New("want DONE EXIT=")
		}
		code, err := value(fields[1], "EXIT")
		if err != nil {
			return err
		}
		rep.Done, rep.Exit = true, int(code)
		return nil
	}
	if len(fields) != 3 {
		return errors.New("want <binary> EXIT= secs=")
	}
	code, err := value(fields[1], "EXIT")
	if err != nil {
		return err
	}
	secs, err := value(fields[2], "secs")
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, Result{Name: fields[0], Exit: int(code), Secs: secs})
	return nil
}

// value parses field as key=<number>.
func value(field, key string) (float64, error) {
	v, ok := strings.CutPrefix(field, key+"=")
	if !ok {
		return 0, fmt.Errorf("want %s=, got %q", key, field)
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// Err says why the run failed, or returns nil if the guest reported DONE
// and every binary exited 0.
func (rep Report) Err() error {
	var errs []error
	for _, r := range rep.Results {
		if r.Exit != 0 {
			errs = append(errs, fmt.Errorf("%s exited with %d", r.Name, r.Exit))
		}
	}
	switch {
	case !rep.Done:
		errs = append(errs, errors.New("guest did not report DONE (panic, crash or hang)"))
	case rep.Exit != 0 && len(errs) == 0:
		errs = append(errs, fmt.Errorf("guest reported DONE EXIT=%d", rep.Exit))
	}
	return errors.Join(errs...)
}
