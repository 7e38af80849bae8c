//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestShortenKeepsContextAndTheKernelsAnswer(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{
			// cilium/ebpf's wording for fentry where trampolines are refused.
			fmt.Errorf("loading tw_fx_alloc and 7 more programs: program tw_fx_alloc: %w",
				fmt.Errorf("load program: %w (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", syscall.EPERM)),
			"loading tw_fx_alloc and 7 more programs: operation not permitted",
		},
		{
			// A kernel without CONFIG_KPROBES has no kprobe_events.
			fmt.Errorf("attaching tw_kp_alloc to inet_twsk_alloc: creating probe entry on tracefs: %w",
				&fs.PathError{Op: "open", Path: "/sys/kernel/tracing/kprobe_events", Err: syscall.ENOENT}),
			"attaching tw_kp_alloc to inet_twsk_alloc: open /sys/kernel/tracing/kprobe_events: no such file or directory",
		},
		{errors.New("no layers"), "no layers"},
	} {
		if got := shorten(tc.err); got != tc.want {
			t.Errorf("shorten(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestUnknownBackendIsRefused(t *testing.T) {
	_, err := Open(t.Context(), Config{Backend: "ebpf"})
	if err == nil || !strings.Contains(err.Error(), `unknown backend "ebpf"`) {
		t.Errorf("Open with backend ebpf: %v, want unknown backend", err)
	}
}
