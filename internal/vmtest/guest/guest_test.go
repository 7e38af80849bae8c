package guest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, err := range []error{
		Booted(&buf, "6.1.0-50-cloud-amd64", 4250*time.Millisecond),
		Backend(&buf, "fentry", true),
		Backend(&buf, "kprobe", false),
		Exited(&buf, "00-tracer.test", 0, 12*time.Second),
		Exited(&buf, "01-twtrace.test", 1, 1500*time.Millisecond),
		Done(&buf, 1),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A serial port turns \n into \r\n.
	rep, err := Parse(strings.NewReader(strings.ReplaceAll(buf.String(), "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kernel != "6.1.0-50-cloud-amd64" || rep.Uptime != 4.25 || !rep.Done || rep.Exit != 1 || len(rep.Results) != 2 {
		t.Fatalf("parsed %+v", rep)
	}
	if fmt.Sprint(rep.Backends) != "[{fentry true} {kprobe false}]" {
		t.Errorf("backends %v", rep.Backends)
	}
	if r := rep.Results[1]; r != (Result{Name: "01-twtrace.test", Exit: 1, Secs: 1.5}) {
		t.Errorf("second result %+v", r)
	}
	if err := rep.Err(); err == nil || err.Error() != "01-twtrace.test exited with 1" {
		t.Errorf("Err() = %v", err)
	}
}

func TestErr(t *testing.T) {
	for _, c := range []struct {
		status, err string
	}{
		{"VMTEST kernel=7.3.4 uptime=4.1\nVMTEST 00-a.test EXIT=0 secs=1.00\nVMTEST DONE EXIT=0\n", ""},
		{"VMTEST kernel=7.3.4 uptime=4.1\nVMTEST 00-a.test EXIT=0 secs=1.00\n", "guest did not report DONE (panic, crash or hang)"},
		{"", "guest did not report DONE (panic, crash or hang)"},
		{"VMTEST 00-a.test EXIT=137 secs=1.00\n", "00-a.test exited with 137\nguest did not report DONE (panic, crash or hang)"},
		{"VMTEST DONE EXIT=3\n", "guest reported DONE EXIT=3"},
		{"noise from the port\nVMTEST DONE EXIT=0\n", ""},
	} {
		rep, err := Parse(strings.NewReader(c.status))
		if err != nil {
			t.Errorf("%q: %v", c.status, err)
			continue
		}
		got := ""
		if err := rep.Err(); err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%q: Err() = %q, want %q", c.status, got, c.err)
		}
	}
}

func TestParseRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{
		"VMTEST ",
		"VMTEST kernel=6.1",
		"VMTEST kernel=6.1 uptime=soon",
		"VMTEST DONE",
		"VMTEST DONE EXIT=x",
		"VMTEST 00-a.test EXIT=0",
		"VMTEST 00-a.test secs=1 EXIT=0",
		"VMTEST backend fentry",
		"VMTEST backend fentry passed",
	} {
		if _, err := Parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("%q: accepted", line)
		}
	}
}
