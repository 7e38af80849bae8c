package filter

import (
	"net/netip"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

func TestAddOwners(t *testing.T) {
	var f Filter
	if err := f.AddOwners([]string{"nginx,1234", "envoy"}, false); err != nil {
		t.Fatal(err)
	}
	if err := f.AddOwners([]string{"5678"}, true); err != nil { // --pname takes numbers as names
		t.Fatal(err)
	}
	if len(f.PIDs) != 1 || f.PIDs[0] != 1234 || len(f.Names) != 3 || f.Names[2] != "5678" {
		t.Errorf("got PIDs %v names %v", f.PIDs, f.Names)
	}
	for _, bad := range []string{"", "a,,b", "0", "averyveryverylongname"} {
		var g Filter
		if err := g.AddOwners([]string{bad}, false); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParsePorts(t *testing.T) {
	ports, err := ParsePorts([]string{"80,443", "8080"})
	if err != nil || len(ports) != 3 || ports[2] != 8080 {
		t.Errorf("got %v, %v", ports, err)
	}
	for _, bad := range []string{"0", "65536", "http", ""} {
		if _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMatchEvent(t *testing.T) {
	e := event.Event{Kind: event.KindState, PID: 42, LPort: 443, RPort: 50000, NetNS: 7}
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	event.SetComm(&e.Comm, "nginx")
	unknown := e
	unknown.PID, unknown.Comm = 0, [16]byte{}
	lost := event.Event{Kind: event.KindLost, Count: 3}

	tests := []struct {
		name string
		f    Filter
		e    event.Event
		want bool
	}{
		{"no filter", Filter{}, e, true},
		{"name", Filter{Names: []string{"nginx"}}, e, true},
		{"other name", Filter{Names: []string{"envoy"}}, e, false},
		{"pid", Filter{PIDs: []uint32{42}}, e, true},
		{"unknown owner never matches an owner filter", Filter{Names: []string{"nginx"}}, unknown, false},
		{"unknown owner passes a port filter", Filter{LPorts: []uint16{443}}, unknown, true},
		{"lport and name", Filter{Names: []string{"nginx"}, LPorts: []uint16{80}}, e, false},
		{"rport", Filter{RPorts: []uint16{50000}}, e, true},
		{"family", Filter{Family: 6}, e, false},
		{"netns", Filter{NetNS: 8}, e, false},
		{"losses concern everyone", Filter{Names: []string{"envoy"}}, lost, true},
	}
	for _, tc := range tests {
		if got := tc.f.MatchEvent(&tc.e); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	f := Filter{PIDs: []uint32{1}, Names: []string{"nginx"}, Children: true, LPorts: []uint16{80, 443},
		Family: 4, NetNS: 9, NetNSName: "web"}
	if got, want := f.String(), "pid 1,nginx with children lport 80,443 IPv4 netns web"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if (&Filter{}).String() != "" || (&Filter{}).Active() {
		t.Error("the zero filter describes or filters something")
	}
}
