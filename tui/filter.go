package tui

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// filter is what the user typed after `/`: words that must all match. A
// word is a state (TIME_WAIT or ss's time-wait), a number (a pid or a
// port), an address or address:port, or else part of a command name;
// comm:, pid:, port:, addr: and state: say which explicitly.
type filter struct {
	text  string
	terms []term
}

type termKind uint8

const (
	termComm termKind = iota
	termPID
	termPort
	termNumber // a pid or a port
	termAddr
	termAddrPort
	termState
)

type term struct {
	kind  termKind
	comm  string
	n     uint64
	addr  netip.AddrPort // the port is used by termAddrPort only
	state event.State
}

func parseFilter(text string) (filter, error) {
	f := filter{text: strings.TrimSpace(text)}
	for _, w := range strings.Fields(text) {
		t, err := parseTerm(w)
		if err != nil {
			return filter{}, err
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

func parseTerm(w string) (term, error) {
	prefix, val, explicit := strings.Cut(w, ":")
	if explicit {
		switch prefix {
		case "comm":
			return term{kind: termComm, comm: strings.ToLower(val)}, nil
		case "pid", "port":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || (prefix == "port" && n > 65535) {
				return term{}, fmt.Errorf("%s: not a %s", w, prefix)
			}
			if prefix == "pid" {
				return term{kind: termPID, n: n}, nil
			}
			return term{kind: termPort, n: n}, nil
		case "state":
			if s, ok := event.ParseState(val); ok {
				return term{kind: termState, state: s}, nil
			}
			return term{}, fmt.Errorf("%s: not a TCP state", w)
		case "addr":
			w = val
		}
	}
	if n, err := strconv.ParseUint(w, 10, 32); err == nil {
		return term{kind: termNumber, n: n}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(w, "[]")); err == nil {
		return term{kind: termAddr, addr: netip.AddrPortFrom(a.Unmap(), 0)}, nil
	}
	if ap, err := netip.ParseAddrPort(w); err == nil {
		return term{kind: termAddrPort, addr: ap}, nil
	}
	if s, ok := event.ParseState(w); ok {
		return term{kind: termState, state: s}, nil
	}
	if explicit && prefix == "addr" {
		return term{}, fmt.Errorf("%s: not an address", w)
	}
	return term{kind: termComm, comm: strings.ToLower(w)}, nil
}

// subject is what a filter is matched against: the parts of a
// connection, an event or a group that are known. A term about a part
// that is not known does not match.
type subject struct {
	owner     aggregate.Owner
	hasOwner  bool
	endpoints []netip.AddrPort
	states    []event.State
}

func (f *filter) active() bool { return len(f.terms) > 0 }

func (f *filter) match(s *subject) bool {
	for i := range f.terms {
		if !f.terms[i].match(s) {
			return false
		}
	}
	return true
}

func (t *term) match(s *subject) bool {
	switch t.kind {
	case termComm:
		return s.hasOwner && strings.Contains(strings.ToLower(s.owner.Comm), t.comm)
	case termPID:
		return s.hasOwner && uint64(s.owner.PID) == t.n
	case termNumber:
		return (s.hasOwner && uint64(s.owner.PID) == t.n) || t.port(s)
	case termPort:
		return t.port(s)
	case termState:
		for _, st := range s.states {
			if st == t.state {
				return true
			}
		}
		return false
	}
	for _, ep := range s.endpoints {
		if ep.Addr().Unmap() == t.addr.Addr() && (t.kind == termAddr || ep.Port() == t.addr.Port()) {
			return true
		}
	}
	return false
}

func (t *term) port(s *subject) bool {
	for _, ep := range s.endpoints {
		if uint64(ep.Port()) == t.n {
			return true
		}
	}
	return false
}

// conn matches a connection by its owner, endpoints and every state it
// went through.
func (f *filter) conn(c *aggregate.Conn) bool {
	if !f.active() {
		return true
	}
	s := subject{owner: c.Owner, hasOwner: true, endpoints: []netip.AddrPort{c.Local, c.Remote}}
	for _, st := range c.Steps {
		s.states = append(s.states, st.State)
	}
	return f.match(&s)
}

// event matches an event by its owner, endpoints and states.
func (f *filter) event(e *event.Event) bool {
	if !f.active() {
		return true
	}
	s := subject{
		owner:     aggregate.Owner{PID: e.PID, Comm: e.CommString()},
		hasOwner:  true,
		endpoints: []netip.AddrPort{netip.AddrPortFrom(e.Local(), e.LPort), netip.AddrPortFrom(e.Remote(), e.RPort)},
	}
	switch e.Kind {
	case event.KindState:
		s.states = []event.State{e.Old, e.New}
	case event.KindTWEnter, event.KindTWSubstate, event.KindTWExit:
		s.states = []event.State{event.TimeWait, e.Substate}
	}
	return f.match(&s)
}
