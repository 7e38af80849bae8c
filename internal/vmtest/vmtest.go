// Package vmtest lets a test tell whether it runs inside a vmtest guest
// (`make vmtest`): a VM booting a stock distribution kernel, where backends
// that this host cannot load (fentry, kprobes) can be tested. The guest is
// disposable and runs the tests as root, so such tests may change
// kernel-wide state freely.
package vmtest

import (
	"fmt"
	"os"
	"testing"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

// InVM reports whether the caller runs inside a vmtest guest.
func InVM() bool { return os.Getenv(guest.Env) == "1" }

// RequireVM skips the test unless it runs inside a vmtest guest.
func RequireVM(t testing.TB) {
	t.Helper()
	if !InVM() {
		t.Skip("runs only in a vmtest VM (make vmtest)")
	}
}

// Slow reports whether this guest also runs the slow tests (vmtest -slow).
func Slow() bool { return InVM() && os.Getenv(guest.SlowEnv) == "1" }

// ReportBackend tells the runner how the tests fared with one attach
// backend, for the kernel-support table. Outside a guest it does nothing.
func ReportBackend(name string, ok bool) error {
	port := os.Getenv(guest.StatusEnv)
	if !InVM() || port == "" {
		return nil
	}
	f, err := os.OpenFile(port, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("opening the status port: %w", err)
	}
	err = guest.Backend(f, name, ok)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
