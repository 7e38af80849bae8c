package vmtest

import (
	"testing"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

func TestInVM(t *testing.T) {
	t.Setenv(guest.Env, "")
	if InVM() {
		t.Error("InVM() without " + guest.Env)
	}
	t.Setenv(guest.Env, "1")
	if !InVM() {
		t.Error("not InVM() with " + guest.Env + "=1")
	}
}
