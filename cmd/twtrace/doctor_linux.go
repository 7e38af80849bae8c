//go:build linux

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/twtrace/twtrace/internal/sysctl"
	"github.com/twtrace/twtrace/tracer"
)

// doctor prints what this kernel allows and exits 0 when twtrace can run.
func doctor(w io.Writer) int {
	ok := true
	for _, c := range tracer.Checks() {
		mark := "ok  "
		if !c.OK {
			mark, ok = "FAIL", false
		}
		fmt.Fprintf(w, "%s %-12s %s\n", mark, c.Name, c.Detail)
	}
	if ok {
		// The honest answer to "which backend would run" is to load
		// and attach, then let go.
		t, err := tracer.Open(context.Background(), tracer.Config{RingBytes: 4096})
		if err != nil {
			fmt.Fprintf(w, "FAIL %-12s %v\n", "attach", err)
			ok = false
		} else {
			fmt.Fprintf(w, "ok   %-12s %s\n", "backend", t.Backend())
			for _, h := range t.Hooks() {
				fmt.Fprintf(w, "     %-12s %s (%s)\n", h.Group, h.Backend, h.Note)
			}
			t.Close()
		}
	}
	fmt.Fprintln(w, "\nTIME_WAIT sysctls (this network namespace):")
	tw := sysctl.TimeWait()
	for _, name := range sysctl.TimeWaitNames {
		if v, found := tw[name]; found {
			fmt.Fprintf(w, "  %-22s %s\n", name, v)
		}
	}
	if !ok {
		return exitError
	}
	return exitOK
}
