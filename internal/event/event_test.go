package event

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func sample() Event {
	e := Event{Kind: KindState, MonoNS: 472979674735, WallNS: 1795276821485553396,
		LPort: 49016, RPort: 7001, NetNS: 4026532246, PID: 16276, Role: RoleClient,
		Old: Established, New: FinWait1, HasDur: true, DurNS: 2949402, Closer: CloserLocal}
	e.SetLocal(netip.MustParseAddr("127.0.0.1"))
	e.SetRemote(netip.MustParseAddr("127.0.0.2"))
	SetComm(&e.Comm, "curl")
	return e
}

func TestJSONMatchesTheContract(t *testing.T) {
	e := sample()
	got := string(AppendJSON(nil, &e))
	want := `{"time":"2026-11-21T16:00:21.485553396Z","mono_ns":472979674735,"kind":"state","family":4,` +
		`"laddr":"127.0.0.1","lport":49016,"raddr":"127.0.0.2","rport":7001,"netns":4026532246,` +
		`"pid":16276,"comm":"curl","role":"client","old":"ESTABLISHED","new":"FIN_WAIT1",` +
		`"dur_ns":2949402,"closer":"local"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	reused := sample()
	reused.Kind, reused.Cause, reused.Inferred, reused.ByPID = KindTWExit, CauseReused, true, 4242
	reused.Substate, reused.Old, reused.New = TimeWait, StateNone, StateNone
	SetComm(&reused.ByComm, "curl")
	v6 := sample()
	v6.Kind, v6.Substate, v6.TimeoutNS, v6.HasDur, v6.DurNS = KindTWEnter, FinWait2, 60e9, false, 0
	v6.Old, v6.New = StateNone, StateNone
	v6.SetLocal(netip.MustParseAddr("2001:db8::1"))
	v6.SetRemote(netip.MustParseAddr("::1"))
	lost := Event{Kind: KindLost, Count: 17, MonoNS: 5, WallNS: 1795276821485553396}
	odd := sample()
	SetComm(&odd.Comm, "a\"b\\c\x01é")

	for _, e := range []Event{sample(), reused, v6, lost, odd} {
		line := AppendJSON(nil, &e)
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %s", line)
		}
		got, err := ParseJSON(line)
		if err != nil {
			t.Fatalf("parsing %s: %v", line, err)
		}
		// Sock is never printed; comm escapes may lose non-ASCII bytes.
		got.Sock, e.Sock = 0, 0
		if e.CommString() == odd.CommString() {
			got.Comm = e.Comm
		}
		if got != e {
			t.Errorf("round trip of %s\ngot  %+v\nwant %+v", line, got, e)
		}
	}
}

func TestParseJSONRefusesOtherLines(t *testing.T) {
	for _, line := range []string{`{"kind":"hello"}`, `{"kind":"summary"}`, `not json`} {
		if _, err := ParseJSON([]byte(line)); err == nil {
			t.Errorf("%s: no error", line)
		}
	}
}

func TestParseStateAcceptsSSNames(t *testing.T) {
	for in, want := range map[string]State{"time-wait": TimeWait, "TIME_WAIT": TimeWait,
		"fin-wait-2": FinWait2, "close-wait": CloseWait, "estab": StateNone} {
		got, ok := ParseState(in)
		if got != want || ok != (want != StateNone) {
			t.Errorf("ParseState(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
}

func TestTableLine(t *testing.T) {
	e := sample()
	got := string(AppendTable(nil, &e))
	want := "16:00:21.485 16276  curl       ESTABLISHED>FIN_WAIT1  127.0.0.1:49016>127.0.0.2:7001 local 2.949ms"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(TableHeader, "TIME") {
		t.Errorf("header %q", TableHeader)
	}
}

func TestEncodersDoNotAllocate(t *testing.T) {
	e := sample()
	buf := make([]byte, 0, 1024)
	var enc JSONEncoder
	if n := testing.AllocsPerRun(100, func() { e.WallNS += 3e8; buf = enc.Append(buf[:0], &e) }); n != 0 {
		t.Errorf("JSONEncoder: %v allocations per event", n)
	}
}

func BenchmarkJSONEncoder(b *testing.B) {
	e := sample()
	buf := make([]byte, 0, 1024)
	var enc JSONEncoder
	b.ReportAllocs()
	for b.Loop() {
		e.WallNS++ // a stream: new nanoseconds, mostly the same second
		buf = enc.Append(buf[:0], &e)
	}
}

// The encoder's cached second must never leak into the next one, nor
// differ from the standard formatting.
func TestJSONEncoderTimes(t *testing.T) {
	var enc JSONEncoder
	for _, ns := range []int64{0, 1, 999_999_999, 1e9, 1795276821485553396, 1795276821999999999,
		1795276822000000000, 1795276821485553396, -1, -1e9 - 5} {
		got := string(enc.appendTime(nil, ns))
		if want := time.Unix(0, ns).UTC().Format(TimeLayout); got != want {
			t.Errorf("%d: got %s, want %s", ns, got, want)
		}
	}
}
