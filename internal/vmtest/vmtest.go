// Package vmtest lets a test tell whether it runs inside a vmtest guest
// (`make vmtest`): a VM booting a stock distribution kernel, where backends
// that this host cannot load (fentry, kprobes) can be tested. The guest is
// disposable and runs the tests as root, so such tests may change
// kernel-wide state freely.
package vmtest

import (
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
