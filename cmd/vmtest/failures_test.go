package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFailureLogKeepsTheFailedTestsLines(t *testing.T) {
	// go test -v output of two backends' runs, with parallel tests
	// interleaving and one of them failing with the first backend only.
	console := `=== backend fentry
=== RUN   TestA
=== PAUSE TestA
=== RUN   TestB
=== PAUSE TestB
=== CONT  TestA
=== CONT  TestB
    b_test.go:10: B's progress
=== NAME  TestA
    a_test.go:20: got 3 tw_enter, want 4:
        first event
        second event
=== NAME
    main_test.go:1: output of no test
=== NAME  TestB
    b_test.go:12: B's more progress
--- PASS: TestB (1.00s)
--- FAIL: TestA (2.00s)
FAIL
--- backend fentry: FAIL (3.0s)
=== backend kprobe
=== RUN   TestA
    a_test.go:20: a log line of a test that passes
--- PASS: TestA (2.00s)
=== RUN   TestC
=== RUN   TestC/sub
    c_test.go:5: the subtest's complaint
--- FAIL: TestC (0.10s)
    --- FAIL: TestC/sub (0.05s)
[   12.345678] Oops: int3: 0000 [#1] SMP NOPTI
panic: test timed out after 5m0s
	running tests:
		TestD (5m0s)

goroutine 1 [running]:
	testing.(*M).startAlarm.func1()
`
	var f failureLog
	for l := range strings.Lines(console) {
		f.line(strings.TrimSuffix(l, "\n"))
	}
	want := []string{
		"fentry: --- FAIL: TestA (2.00s)",
		"fentry:     a_test.go:20: got 3 tw_enter, want 4:",
		"fentry:         first event",
		"fentry:         second event",
		"kprobe: --- FAIL: TestC (0.10s)",
		"kprobe: --- FAIL: TestC/sub (0.05s)",
		"kprobe:     c_test.go:5: the subtest's complaint",
		"kprobe: [   12.345678] Oops: int3: 0000 [#1] SMP NOPTI",
		"kprobe: panic: test timed out after 5m0s",
		"kprobe: \trunning tests:",
		"kprobe: \t\tTestD (5m0s)",
	}
	if !slices.Equal(f.lines, want) {
		t.Errorf("summary:\n%s\nwant:\n%s", strings.Join(f.lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestFailureLogBoundsATestsLines(t *testing.T) {
	var f failureLog
	f.line("=== RUN   TestChatty")
	for i := range maxTestLines + 5 {
		f.line(fmt.Sprintf("    x_test.go:1: line %d", i))
	}
	f.line("--- FAIL: TestChatty (1.00s)")
	if got, want := len(f.lines), 1+1+maxTestLines; got != want {
		t.Fatalf("%d summary lines, want %d", got, want)
	}
	if f.lines[1] != "    (5 earlier lines left out)" || f.lines[len(f.lines)-1] != fmt.Sprintf("    x_test.go:1: line %d", maxTestLines+4) {
		t.Errorf("kept the wrong lines: %q ... %q", f.lines[1], f.lines[len(f.lines)-1])
	}
}
