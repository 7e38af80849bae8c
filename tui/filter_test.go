package tui

import (
	"net/netip"
	"testing"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

func TestFilterWords(t *testing.T) {
	c := aggregate.Conn{
		Local:  netip.MustParseAddrPort("[2001:db8::1]:40000"),
		Remote: netip.MustParseAddrPort("[2001:db8::2]:443"),
		Owner:  aggregate.Owner{PID: 1234, Comm: "nginx"},
		Steps:  []aggregate.Step{{State: event.Established}, {State: event.FinWait2}, {State: event.TimeWait}},
	}
	for _, tc := range []struct {
		text  string
		match bool
	}{
		{"", true},
		{"nginx", true},
		{"NGI", true},
		{"curl", false},
		{"1234", true}, // a pid
		{"443", true},  // a port
		{"80", false},
		{"pid:443", false},
		{"port:1234", false},
		{"time-wait", true},
		{"TIME_WAIT", true},
		{"fin-wait-2", true},
		{"state:close-wait", false},
		{"2001:db8::2", true},
		{"[2001:db8::2]:443", true},
		{"[2001:db8::2]:80", false},
		{"addr:2001:db8::1", true},
		{"comm:443", false},
		{"nginx time-wait 443", true},
		{"nginx close-wait", false},
	} {
		f, err := parseFilter(tc.text)
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if got := f.conn(&c); got != tc.match {
			t.Errorf("%q matches %v, want %v", tc.text, got, tc.match)
		}
	}
	for _, bad := range []string{"port:70000", "pid:x", "state:waiting", "addr:nowhere"} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestNextSpeed(t *testing.T) {
	for _, tc := range []struct{ s, faster, slower float64 }{
		{1, 2, 0.5},
		{3, 5, 2},
		{0.1, 0.25, 0.1},
		{1000, 0, 100},
		{0, 0, 1000},
	} {
		if f, s := nextSpeed(tc.s, +1), nextSpeed(tc.s, -1); f != tc.faster || s != tc.slower {
			t.Errorf("from %v: faster %v, slower %v; want %v and %v", tc.s, f, s, tc.faster, tc.slower)
		}
	}
}
