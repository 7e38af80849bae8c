package main

import (
	"fmt"
	"strings"
)

// failureLog picks out of one guest's console what it takes to tell why a
// run failed: each failed test with its own log lines and the backend it
// ran with, a Go panic, a kernel oops. The console of five kernels is
// tens of thousands of lines and CI logs often show only their end, so
// run repeats these after the per-kernel results.
//
// It reads `go test -v` output: a test's log lines are indented and belong
// to the test the latest "=== RUN/CONT/NAME/PAUSE" line named, since
// parallel tests interleave. tracer's TestMain announces each backend with
// "=== backend NAME".
type failureLog struct {
	backend string              // the backend the tests now run with, if any
	current string              // the test the indented lines belong to
	logs    map[string][]string // each running test's lines so far
	lines   []string            // the summary
	panicky int                 // lines of a Go panic's list of running tests still to keep
}

// maxTestLines bounds what one failed test adds to the summary.
const maxTestLines = 40

// line reads one console line, with the kernel's prefix already removed.
func (f *failureLog) line(s string) {
	trimmed := strings.TrimLeft(s, " ")
	if f.panicky > 0 && strings.HasPrefix(s, "\t") {
		f.panicky--
		f.add(s)
		return
	}
	f.panicky = 0
	switch {
	case strings.HasPrefix(s, "=== backend "):
		f.backend = strings.TrimPrefix(s, "=== backend ")
		f.current, f.logs = "", nil
	case strings.HasPrefix(s, "=== "):
		// "=== RUN TestX", "=== CONT TestX", ...: a test's lines
		// follow; after a bare "=== NAME", no test's.
		f.current = ""
		if fields := strings.Fields(s); len(fields) == 3 {
			f.current = fields[2]
		}
	case strings.HasPrefix(trimmed, "--- FAIL: "):
		name, _, _ := strings.Cut(strings.TrimPrefix(trimmed, "--- FAIL: "), " ")
		f.add(trimmed)
		logs := f.logs[name]
		if len(logs) > maxTestLines {
			f.add(fmt.Sprintf("    (%d earlier lines left out)", len(logs)-maxTestLines))
			logs = logs[len(logs)-maxTestLines:]
		}
		for _, l := range logs {
			f.add(l)
		}
		delete(f.logs, name)
	case strings.HasPrefix(trimmed, "--- PASS: "), strings.HasPrefix(trimmed, "--- SKIP: "):
		name, _, _ := strings.Cut(trimmed[len("--- PASS: "):], " ")
		delete(f.logs, name)
	case strings.HasPrefix(s, "    ") && f.current != "":
		if f.logs == nil {
			f.logs = make(map[string][]string)
		}
		f.logs[f.current] = append(f.logs[f.current], s)
	case strings.HasPrefix(s, "panic: "):
		// "panic: test timed out after 5m0s", then "\trunning tests:" and
		// a line per test.
		f.add(s)
		f.panicky = 20
	case strings.Contains(s, "Oops:"), strings.Contains(s, "Kernel panic"), strings.Contains(s, "BUG: "):
		f.add(s)
	}
}

func (f *failureLog) add(s string) {
	if f.backend != "" {
		s = f.backend + ": " + s
	}
	f.lines = append(f.lines, s)
}
