package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

// TestBuiltInDemoShowsTheStory replays the embedded demo as a newcomer's
// `twtrace --demo -o json` would and checks it tells what it promises.
func TestBuiltInDemoShowsTheStory(t *testing.T) {
	checkDemo(t, []string{"--demo"})
}

// checkDemo checks a demo recording: port recycling, RST kills and expiry
// among the tw ends, the owners of both sides of a reverse proxy, and one
// CLOSE_WAIT leak in the summary.
func checkDemo(t *testing.T, source []string) {
	t.Helper()
	var out, errw bytes.Buffer
	if code := realMain(append(source, "-o", "json"), &out, &errw); code != exitOK {
		t.Fatalf("replaying the demo: exit %d: %s", code, errw.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	causes := map[event.Cause]int{}
	owners := map[string]bool{}
	for _, line := range lines[1 : len(lines)-1] {
		e, err := event.ParseJSON([]byte(line))
		if err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		if e.Kind == event.KindTWExit {
			causes[e.Cause]++
		}
		owners[e.CommString()] = true
	}
	for _, c := range []event.Cause{event.CauseReused, event.CauseRST, event.CauseExpired} {
		if causes[c] == 0 {
			t.Errorf("no tw ended %v in the demo: %v", c, causes)
		}
	}
	for _, comm := range []string{"nginx", "curl", "gunicorn", "node", "java"} {
		if !owners[comm] {
			t.Errorf("no event owned by %s in the demo", comm)
		}
	}
	var summary struct {
		CloseWait struct {
			Leaked int
			Owners []struct{ Comm string }
		} `json:"close_wait"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatalf("summary: %v", err)
	}
	if cw := summary.CloseWait; cw.Leaked != 1 || len(cw.Owners) != 1 || cw.Owners[0].Comm != "java" {
		t.Errorf("CLOSE_WAIT leaks %+v, want java's one", cw)
	}
}
