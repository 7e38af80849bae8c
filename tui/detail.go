package tui

import (
	"net/netip"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// tuple names a connection: a full socket and the tw after it share it.
type tuple struct {
	netns         uint32
	local, remote netip.AddrPort
}

func connTuple(c *aggregate.Conn) tuple { return tuple{c.NetNS, c.Local, c.Remote} }

func eventTuple(e *event.Event) tuple {
	return tuple{e.NetNS, netip.AddrPortFrom(e.Local(), e.LPort), netip.AddrPortFrom(e.Remote(), e.RPort)}
}

// detail is the Detail view's state: one connection's whole life.
type detail struct {
	tuple  tuple
	conn   *aggregate.Conn // the latest ended connection on the tuple; nil if none
	events []event.Event   // the logged events on the tuple
	scroll scroll
}

// refresh looks the connection up in a new frame. A connection that left
// the snapshot's lists stays as last seen.
func (d *detail) refresh(f *frame) {
	d.conn = find(d.tuple, f.snap.Leaks, f.snap.Recent, d.conn)
	d.events = d.events[:0]
	for i := range f.events {
		if eventTuple(&f.events[i]) == d.tuple && d.during(&f.events[i]) {
			d.events = append(d.events, f.events[i])
		}
	}
}

// during reports whether e belongs to the connection shown rather than
// to an earlier or later one on the same tuple (a reused port): it falls
// within the connection's known life.
func (d *detail) during(e *event.Event) bool {
	c := d.conn
	if c == nil {
		return true
	}
	if len(c.Steps) > 0 && c.Steps[0].StartNS != 0 && e.MonoNS < c.Steps[0].StartNS {
		return false
	}
	switch {
	case c.End == 0 || e.MonoNS < c.EndNS:
		return true
	case e.MonoNS > c.EndNS:
		return false
	}
	// At the very moment it ended, only its last event: the next
	// connection's connect() can carry the same time.
	return e.Kind == event.KindTWExit || (e.Kind == event.KindState && e.New == event.Close)
}

// find returns the first connection on t in lists, or else last.
func find(t tuple, leaks, recent []aggregate.Conn, last *aggregate.Conn) *aggregate.Conn {
	for _, list := range [][]aggregate.Conn{leaks, recent} {
		for i := range list {
			if connTuple(&list[i]) == t {
				c := list[i]
				return &c
			}
		}
	}
	return last
}

func (m *model) detailView(h int) []string {
	lines := m.detailLines()
	top := min(m.detail.scroll.cursor, max(len(lines)-h, 0))
	return lines[top:min(top+h, len(lines))]
}

// detailLines draws the connection's timeline the way TCP state diagrams
// do, one state per node with how long it lasted, what moved it on, and
// how it ended; then its events from the log.
func (m *model) detailLines() []string {
	st := &m.styles
	d := m.detail
	t := d.tuple
	out := []string{st.Value.Render(endpoint(t.local)+" → "+endpoint(t.remote)) + st.Dim.Render("   netns "+netnsText(t.netns))}
	c := d.conn
	if c == nil {
		out = append(out, st.Dim.Render("still open, or ended too long ago: only its logged events are known"))
	} else {
		out = append(out, st.Dim.Render("owner ")+ownerText(c.Owner)+st.Dim.Render(" · ")+c.Role.String()+
			" ("+c.Direction().String()+")"+st.Dim.Render(" · closed by ")+c.Closer.String(), "")
		out = append(out, m.timeline(c, d.events)...)
	}
	out = append(out, "", st.Heading.Render("EVENTS  "+event.TableHeader))
	var buf []byte
	for i := range d.events {
		buf = event.AppendTable(buf[:0], &d.events[i])
		out = append(out, m.emphasise(eventEmphasis(&d.events[i]), string(buf)))
	}
	if len(d.events) == 0 {
		out = append(out, st.Dim.Render("none left in the log"))
	}
	return out
}

func (m *model) timeline(c *aggregate.Conn, evs []event.Event) []string {
	st := &m.styles
	var out []string
	for i, s := range c.Steps {
		if i > 0 {
			out = append(out, st.Dim.Render("  │ ")+st.Dim.Render(transition(c.Steps[i-1].State, s.State, c, evs)))
		}
		start := "-"
		if s.StartNS != 0 {
			start = clock(monoToWall(m.frame.snap, s.StartNS))
		}
		out = append(out, "  "+st.Value.Render("●")+" "+fit(s.State.String(), 12, false)+" "+
			fit(dur(time.Duration(s.DurNS)), 8, true)+st.Dim.Render("   from "+start))
	}
	out = append(out, st.Dim.Render("  │"))
	end, why := ending(c, evs)
	at := ""
	if c.End != 0 {
		at = st.Dim.Render("   at " + clock(monoToWall(m.frame.snap, c.EndNS)))
	}
	out = append(out, "  "+m.emphasise(connEmphasis(c), end)+at)
	for _, w := range why {
		if w != "" {
			out = append(out, "    "+w)
		}
	}
	return out
}

// transition says what moved a connection from one state to the next.
func transition(from, to event.State, c *aggregate.Conn, evs []event.Event) string {
	switch {
	case from == event.SynSent && to == event.Established:
		return "handshake done"
	case from == event.SynRecv && to == event.Established:
		return "accepted"
	case from == event.Established && to == event.FinWait1:
		return "close(): FIN sent, this side closes first"
	case from == event.Established && to == event.CloseWait:
		return "FIN from the peer: it closes first"
	case from == event.CloseWait && to == event.LastAck:
		return "close(): FIN sent"
	case from == event.FinWait1 && to == event.FinWait2:
		return "FIN acknowledged"
	case from == event.FinWait1 && to == event.Closing:
		return "FINs crossed: simultaneous close"
	case to == event.TimeWait:
		for i := range evs {
			if evs[i].Kind == event.KindTWEnter {
				return "the kernel hands it to a tw, substate " + evs[i].Substate.String()
			}
		}
		return "the kernel hands it to a tw"
	}
	return ""
}

// ending says how the connection ended, and for a tw why.
func ending(c *aggregate.Conn, evs []event.Event) (string, []string) {
	switch c.End {
	case 0:
		last := lastStep(c)
		if last.State == event.CloseWait {
			return "… still open, in CLOSE_WAIT for " + dur(time.Duration(last.DurNS)),
				[]string{"the peer closed; this side's application has not called close(): a leak"}
		}
		return "… still open, in " + last.State.String(), nil
	case aggregate.EndClosed:
		return "✕ closed without a TIME_WAIT", []string{closedText(c)}
	case aggregate.EndMissed:
		return "? end not seen (events were lost)", nil
	}
	var exit *event.Event
	for i := range evs {
		if evs[i].Kind == event.KindTWExit {
			exit = &evs[i]
		}
	}
	why := []string{causeText(c.Cause)}
	if exit != nil && exit.Inferred {
		why[0] += " (deduced by the backend)"
	}
	if exit != nil && c.Cause == event.CauseReused && exit.ByPID != 0 {
		by := aggregate.Owner{PID: exit.ByPID, Comm: exit.ByCommString()}
		why = append(why, "the port went to "+ownerText(by))
	}
	return "✕ tw ended: " + c.Cause.String(), why
}

// closedText says why a connection that closed left no tw on this side.
func closedText(c *aggregate.Conn) string {
	switch {
	case c.Closer == event.CloserRemoteReset:
		return "the peer reset it (RST)"
	case c.Closer == event.CloserLocalReset:
		return "this side reset it (RST): SO_LINGER 0, or data left unread at close()"
	case lastStep(c).State == event.LastAck:
		return "the peer closed first, so the TIME_WAIT is the peer's"
	}
	return ""
}

func causeText(c event.Cause) string {
	switch c {
	case event.CauseExpired:
		return "the TIME_WAIT timer ran out"
	case event.CauseReused:
		return "a local connect() reused the port (tcp_tw_reuse)"
	case event.CauseSYN:
		return "a new SYN from the peer reopened the connection"
	case event.CauseRST:
		return "an RST killed it (RFC 1337 assassination)"
	case event.CauseTWRST:
		return "it answered a segment with an RST and died"
	case event.CauseDestroyed:
		return "destroyed (ss -K, sock_destroy)"
	case event.CausePurged:
		return "its network namespace was deleted"
	}
	return "unknown"
}
