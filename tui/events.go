package tui

import (
	"github.com/twtrace/twtrace/internal/event"
)

// eventsView is the transition log, in the `-o table` format, newest at
// the bottom. In follow mode it stays on the newest event; otherwise the
// title says where the cursor is.
func (m *model) eventsView(h int) []string {
	st := &m.styles
	evs := m.rows.events
	where := "following"
	if !m.follow {
		where = num(m.scroll[tabEvents].cursor+1) + " of " + num(len(evs)) + "  (G follows)"
	}
	title := spread(event.TableHeader, where, m.width)
	var buf []byte
	return m.list([]string{st.Heading.Render(title)}, m.scroll[tabEvents], len(evs), h, "no events yet",
		func(i int) string {
			buf = event.AppendTable(buf[:0], evs[i])
			return string(buf)
		},
		func(i int) emphasis { return eventEmphasis(evs[i]) })
}

// eventEmphasis highlights what a user looks for in the log: tw reuse,
// overflow and lost events, and resets.
func eventEmphasis(e *event.Event) emphasis {
	switch {
	case e.Kind == event.KindTWOverflow, e.Kind == event.KindLost:
		return alert
	case e.Cause == event.CauseReused:
		return good
	case e.Cause == event.CauseRST, e.Cause == event.CauseTWRST,
		e.Closer == event.CloserLocalReset, e.Closer == event.CloserRemoteReset:
		return warn
	}
	return plain
}
