//go:build linux

package churn

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/nettest"
)

func TestMain(m *testing.M) {
	nettest.MainRoles(m, map[string]func([]string) error{
		"churn": func(args []string) error {
			return Command(context.Background(), args, os.Stdout, os.Stderr)
		},
	})
}

// TestModePutsTimeWaitOnTheCloser runs churn in a private namespace and
// checks, against ss and sockstat there, that every connection left one
// TIME_WAIT and that it is on the side the mode names.
func TestModePutsTimeWaitOnTheCloser(t *testing.T) {
	const conns = 300
	for _, tc := range []struct {
		mode       string
		serverSide bool // whether the TIME_WAIT sockets' local port is the server's
	}{
		{ClientClose, false},
		{ServerClose, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ns := nettest.NewNS(t)
			p := ns.Start(t, "churn", "churn", "-mode", tc.mode, "-workers", "2",
				"-conns", strconv.Itoa(conns), "-duration", "30s", "-addr", "127.0.0.1:5001")
			p.Wait(t)
			res, err := ParseResult(lastLine(p.Stdout()))
			if err != nil {
				t.Fatal(err)
			}
			if res.Conns != conns || res.Errors.Total() != 0 {
				t.Fatalf("churn result: %s", p.Stdout())
			}
			// churn waits for its server side to close before it reads
			// sockstat, so its own count is final.
			if res.TW != conns {
				t.Errorf("churn reported tw=%d, want %d", res.TW, conns)
			}
			if s := ns.Sockstat(t); s.TW != conns {
				t.Errorf("sockstat tw = %d, want %d", s.TW, conns)
			}
			out := strings.TrimSpace(ns.SS(t, "-Htan", "state", "time-wait"))
			lines := strings.Split(out, "\n")
			if len(lines) != conns {
				t.Fatalf("ss lists %d TIME_WAIT sockets, want %d", len(lines), conns)
			}
			for _, line := range lines {
				f := strings.Fields(line) // Recv-Q Send-Q Local:Port Peer:Port
				if len(f) < 4 {
					t.Fatalf("ss line %q", line)
				}
				if onServer := strings.HasSuffix(f[2], ":5001"); onServer != tc.serverSide {
					t.Fatalf("TIME_WAIT %s -> %s: on the server side = %v, want %v", f[2], f[3], onServer, tc.serverSide)
				}
			}
		})
	}
}

// TestRatePacesTheLoad checks that -rate holds the offered load, within the
// tolerance a loaded CI machine needs.
func TestRatePacesTheLoad(t *testing.T) {
	ns := nettest.NewNS(t)
	p := ns.Start(t, "churn", "churn", "-workers", "2", "-rate", "500", "-duration", "2s", "-addr", "127.0.0.1:5001")
	p.Wait(t)
	res, err := ParseResult(lastLine(p.Stdout()))
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Conns; n < 900 || n > 1001 {
		t.Errorf("conns = %d in 2 s at -rate 500, want about 1000", n)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestConfigNeedsAnEnd is root-free: a run without a bound is refused.
func TestConfigNeedsAnEnd(t *testing.T) {
	_, err := Run(context.Background(), Config{Mode: ClientClose, Workers: 1, Addr: "127.0.0.1:0"}, nil)
	if err == nil {
		t.Fatal("Run without -duration or -conns succeeded")
	}
}

func TestResultRoundTrip(t *testing.T) {
	r := Result{Mode: ClientClose, Workers: 2, Elapsed: 2 * time.Second, Conns: 100, Errors: Errors{Refused: 3}, TW: 7}
	got, err := ParseResult(r.String())
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Errorf("ParseResult(%q) = %+v, want %+v", r.String(), got, r)
	}
}
