package tui

import (
	"strings"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// sysctlNames are the TIME_WAIT sysctls the overview lists, in the order
// people reason about them.
var sysctlNames = []string{"tcp_tw_reuse", "tcp_tw_reuse_delay", "tcp_max_tw_buckets", "tcp_fin_timeout",
	"ip_local_port_range", "tcp_timestamps", "tcp_rfc1337"}

// overviewView is a page: the first screen answers how many tw there are
// and how fast they grow, who closes, how tw end, which destination runs
// out of ports first and whether sockets leak in CLOSE_WAIT; it scrolls
// on to state durations.
func (m *model) overviewView(h int) []string {
	lines := m.overviewLines()
	top := min(m.scroll[tabOverview].cursor, max(len(lines)-h, 0))
	return lines[top:min(top+h, len(lines))]
}

func (m *model) overviewLines() []string {
	st := &m.styles
	s := m.frame.snap
	var out []string
	add := func(l ...string) { out = append(out, l...) }
	label := func(s string) string { return st.Heading.Render(fit(s, 11, false)) }

	add(label("TIME_WAIT") + st.Value.Render(num(s.TW.Count)) +
		st.Dim.Render("  substate TIME_WAIT ") + num(s.TW.TimeWait) + st.Dim.Render(" · FIN_WAIT2 ") + num(s.TW.FinWait2) +
		st.Dim.Render(" · overflow ") + alertIf(st, s.Overflow) + st.Dim.Render(" · missed ") + num(s.Missed))
	spark := max(m.width-11-12, 8)
	add(label("tw") + st.Good.Render(sparkline(m.hist.series(func(x *sample) float64 { return float64(x.tw) }), spark)) + " " + num(s.TW.Count))
	add(label("closes/s") + st.Good.Render(sparkline(m.hist.series(func(x *sample) float64 { return x.closes }), spark)) + " " + rate(s.Rates.Closed.Last1s))
	add(label("opens/s") + rate(s.Rates.Opened.Last10s) + st.Dim.Render(" (10s)  tw in/s ") + rate(s.Rates.TWEnter.Last10s) +
		st.Dim.Render("  tw out/s ") + rate(s.Rates.TWExit.Last10s))
	add("")
	add(wrap(label("closer"), m.closerSplit(s), m.width)...)
	add(wrap(label("direction"), m.directionSplit(s), m.width)...)
	add(wrap(label("tw ended"), m.causeSplit(s), m.width)...)
	add("")
	add(m.destinations(s)...)
	add("")
	add(wrap(label("CLOSE_WAIT"), m.leaks(s), m.width)...)
	add(wrap(label("sysctls"), m.sysctls(), m.width)...)
	add("")
	add(m.durations(s)...)
	return out
}

func alertIf[T int | uint64](st *Styles, n T) string {
	if n > 0 {
		return st.Alert.Render(num(n))
	}
	return num(n)
}

// share prints "name N%" for a split.
func (m *model) share(name string, n, total uint64) string {
	return m.styles.Dim.Render(name+" ") + pct(n, total)
}

func (m *model) closerSplit(s *aggregate.Snapshot) []string {
	c := &s.Closers
	total := uint64(0)
	for _, n := range c {
		total += n
	}
	resets := c[event.CloserLocalReset] + c[event.CloserRemoteReset]
	parts := []string{
		m.share("local", c[event.CloserLocal], total),
		m.share("remote", c[event.CloserRemote], total),
		m.share("simultaneous", c[event.CloserSimultaneous], total),
		m.share("reset", resets, total),
		m.share("unknown", c[event.CloserUnknown], total),
	}
	if resets > 0 {
		parts[3] = m.styles.Warn.Render("reset " + pct(resets, total))
	}
	return append(parts, m.styles.Dim.Render("of "+num(total)+" closed"))
}

// directionSplit counts the ended connections the snapshot lists: the
// aggregate keeps no running total by direction.
func (m *model) directionSplit(s *aggregate.Snapshot) []string {
	var n [3]uint64
	for i := range s.Recent {
		n[s.Recent[i].Direction()]++
	}
	total := uint64(len(s.Recent))
	return []string{
		m.share("outbound", n[aggregate.DirectionOutbound], total),
		m.share("inbound", n[aggregate.DirectionInbound], total),
		m.share("unknown", n[aggregate.DirectionUnknown], total),
		m.styles.Dim.Render("of the last " + num(total) + " ended"),
	}
}

func (m *model) causeSplit(s *aggregate.Snapshot) []string {
	var parts []string
	for c := event.CauseExpired; c <= event.CauseUnknown; c++ {
		text := c.String() + " " + num(s.Causes[c])
		switch {
		case s.Causes[c] == 0:
			text = m.styles.Dim.Render(text)
		case c == event.CauseReused:
			text = m.styles.Good.Render(text)
		case c == event.CauseRST || c == event.CauseTWRST:
			text = m.styles.Warn.Render(text)
		}
		parts = append(parts, text)
	}
	return parts
}

// destinations lists the outbound destinations closest to running out of
// ephemeral ports.
func (m *model) destinations(s *aggregate.Snapshot) []string {
	l := newLayout(m.width,
		column{title: "DESTINATION", width: 0},
		column{title: "HELD", width: 13, right: true},
		column{title: "CONN/s", width: 7, right: true},
		column{title: "FREE/s", width: 7, right: true},
		column{title: "REUSE/s", width: 7, right: true, hideBelow: 90},
		column{title: "EXHAUSTED IN", width: 12, right: true},
	)
	out := []string{m.styles.Heading.Render(l.heading())}
	if len(s.Destinations) == 0 {
		return append(out, m.styles.Dim.Render("no outbound connections"))
	}
	for i := range s.Destinations[:min(len(s.Destinations), 5)] {
		d := &s.Destinations[i]
		line := l.line(endpoint(d.Remote), num(d.Held)+"/"+num(d.Range),
			rate(d.CreatePerSec), rate(d.ReleasePerSec), rate(d.ReusePerSec), exhaustion(d))
		if d.Flagged {
			line = m.styles.Alert.Render(line)
		}
		out = append(out, line)
	}
	return out
}

func exhaustion(d *aggregate.Destination) string {
	switch {
	case d.Exhaustion < 0:
		return "never"
	case d.Exhaustion == 0:
		return "EXHAUSTED"
	}
	return dur(d.Exhaustion)
}

func (m *model) leaks(s *aggregate.Snapshot) []string {
	cw := &s.CloseWait
	parts := []string{num(cw.Count) + " now"}
	leaked := num(cw.Leaked) + " older than " + dur(cw.Threshold)
	if cw.Leaked > 0 {
		leaked = m.styles.Warn.Render(leaked)
	}
	parts = append(parts, leaked)
	for _, l := range cw.Owners {
		parts = append(parts, ownerText(l.Owner)+" "+num(l.Count)+m.styles.Dim.Render(" (oldest "+dur(l.Oldest)+")"))
	}
	return parts
}

func (m *model) sysctls() []string {
	sys := m.src.Meta().Sysctls
	var parts []string
	for _, name := range sysctlNames {
		if v, ok := sys[name]; ok {
			parts = append(parts, m.styles.Dim.Render(strings.TrimPrefix(name, "tcp_")+"=")+strings.Join(strings.Fields(v), "-"))
		}
	}
	if len(parts) == 0 {
		return []string{m.styles.Dim.Render("not recorded")}
	}
	return parts
}

// durations is the table of how long connections stay in each state.
func (m *model) durations(s *aggregate.Snapshot) []string {
	l := newLayout(m.width,
		column{title: "STATE", width: 12},
		column{title: "COUNT", width: 10, right: true},
		column{title: "P50", width: 8, right: true},
		column{title: "P90", width: 8, right: true},
		column{title: "P99", width: 8, right: true},
		column{title: "MAX", width: 8, right: true},
	)
	out := []string{m.styles.Heading.Render(l.heading())}
	for _, d := range s.States {
		out = append(out, l.line(d.State.String(), num(d.Count), dur(d.P50), dur(d.P90), dur(d.P99), dur(d.Max)))
	}
	return out
}

// wrap lays out a label and parts separated by " · " over as many lines
// of width w as they need, continuation lines indented under the first
// part.
func wrap(label string, parts []string, w int) []string {
	indent := strings.Repeat(" ", visibleWidth(label))
	var out []string
	line := label
	n := 0 // parts on the line
	for _, p := range parts {
		sep := ""
		if n > 0 {
			sep = " · "
		}
		if n > 0 && visibleWidth(line)+visibleWidth(sep)+visibleWidth(p) > w {
			out = append(out, line)
			line, sep, n = indent, "", 0
		}
		line += sep + p
		n++
	}
	return append(out, line)
}
