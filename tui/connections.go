package tui

import (
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// connectionsView lists the open connections the snapshot holds (the
// oldest CLOSE_WAIT leaks) and those that ended recently, the latest
// first unless sorted otherwise: tuple, owner, the state they were last
// in and for how long, how they ended and who closed them.
func (m *model) connectionsView(h int) []string {
	l := m.connLayout()
	cs := m.rows.conns
	return m.list([]string{m.styles.Heading.Render(l.heading())}, m.scroll[tabConnections], len(cs), h,
		"no connection has ended yet",
		func(i int) string {
			c := &cs[i]
			last := lastStep(c)
			return l.line(endpoint(c.Local), endpoint(c.Remote), ownerText(c.Owner), c.Direction().String(),
				last.State.String(), dur(time.Duration(last.DurNS)), endText(c), c.Closer.String(), clock(endWall(m.frame.snap, c)))
		},
		func(i int) emphasis { return connEmphasis(&cs[i]) })
}

func (m *model) connLayout() layout {
	mark := func(s connSort, title string) string {
		if m.sort == s {
			return title + "▼"
		}
		return title
	}
	return newLayout(m.width,
		column{title: mark(sortLocal, "LOCAL"), width: 0},
		column{title: mark(sortRemote, "REMOTE"), width: 0},
		column{title: mark(sortOwner, "OWNER"), width: 14},
		column{title: "DIR", width: 8, hideBelow: 110},
		column{title: "LAST STATE", width: 11, hideBelow: 90},
		column{title: mark(sortLasted, "FOR"), width: 6, right: true},
		column{title: "ENDED", width: 9},
		column{title: "CLOSER", width: 8},
		column{title: mark(sortEnded, "AT"), width: 12, hideBelow: 120},
	)
}

// endText says how a connection ended: the tw's end cause, closed (no
// tw), or missed (its end was lost).
func endText(c *aggregate.Conn) string {
	switch c.End {
	case 0:
		return "open"
	case aggregate.EndTW:
		return c.Cause.String()
	}
	return c.End.String()
}

// endWall converts a connection's end (monotonic) to wall time using the
// snapshot's latest event, which has both.
func endWall(s *aggregate.Snapshot, c *aggregate.Conn) int64 {
	return monoToWall(s, c.EndNS)
}

func monoToWall(s *aggregate.Snapshot, mono uint64) int64 {
	if mono == 0 || s.WallNS == 0 {
		return 0
	}
	return s.WallNS - int64(s.MonoNS-mono)
}

// connEmphasis highlights leaks, resets and reuse.
func connEmphasis(c *aggregate.Conn) emphasis {
	switch {
	case c.End == 0 && lastStep(c).State == event.CloseWait:
		return warn
	case c.Closer == event.CloserLocalReset || c.Closer == event.CloserRemoteReset,
		c.Cause == event.CauseRST || c.Cause == event.CauseTWRST:
		return warn
	case c.Cause == event.CauseReused:
		return good
	case c.End == aggregate.EndMissed:
		return alert
	}
	return plain
}
