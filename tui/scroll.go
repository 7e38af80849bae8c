package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scroll is a position in a list or a page: the selected row and the
// first row shown.
type scroll struct{ cursor, top int }

// window returns the first row to show so that the cursor is visible in
// h rows of n.
func (s scroll) window(n, h int) int {
	top := s.top
	if s.cursor < top {
		top = s.cursor
	}
	if s.cursor >= top+h {
		top = s.cursor - h + 1
	}
	return max(min(top, n-h), 0)
}

// move handles the movement keys for the view on screen.
func (m *model) move(msg tea.KeyPressMsg) {
	n, h := m.extent()
	s := m.current()
	k := &m.keys
	switch {
	case key.Matches(msg, k.Up):
		s.cursor--
	case key.Matches(msg, k.Down):
		s.cursor++
	case key.Matches(msg, k.PageUp):
		s.cursor -= h
	case key.Matches(msg, k.PageDown):
		s.cursor += h
	case key.Matches(msg, k.Top):
		s.cursor = 0
	case key.Matches(msg, k.Bottom):
		s.cursor = n - 1
	default:
		return
	}
	s.cursor = max(min(s.cursor, n-1), 0)
	s.top = s.window(n, h)
	if m.tab == tabEvents && m.detail == nil {
		// Following means staying on the newest event.
		m.follow = s.cursor == n-1
	}
}

// current returns the scroll position of the view on screen.
func (m *model) current() *scroll {
	if m.detail != nil {
		return &m.detail.scroll
	}
	return &m.scroll[m.tab]
}

// extent returns how many rows the view on screen has, and how many fit.
// Pages (Overview, Detail) scroll by line, so their cursor is the top.
func (m *model) extent() (n, h int) {
	h = m.bodyHeight()
	switch {
	case m.detail != nil:
		return max(len(m.detailLines())-h+1, 1), h
	case m.tab == tabOverview:
		return max(len(m.overviewLines())-h+1, 1), h
	case m.tab == tabTimeWait:
		return len(m.rows.groups), h - timeWaitHeading
	case m.tab == tabConnections:
		return len(m.rows.conns), h - listHeading
	}
	return len(m.rows.events), h - listHeading
}
