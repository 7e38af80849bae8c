package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// bodyHeight is the number of lines between the header and the footer.
func (m *model) bodyHeight() int { return max(m.height-headerLines-2, 1) }

// View returns the screen in the alternate screen buffer.
func (m *model) View() tea.View {
	if m.dirty || m.screen == "" {
		m.screen, m.dirty = m.draw(), false
	}
	v := tea.NewView(m.screen)
	v.AltScreen = true
	v.WindowTitle = "twtrace"
	return v
}

// draw lays out the whole screen: exactly as many lines as the terminal
// has, none wider, so that nothing scrolls or flickers.
func (m *model) draw() string {
	var b strings.Builder
	lines := make([]string, 0, m.height)
	lines = append(lines, m.header()...)
	lines = append(lines, m.tabs())
	h := m.bodyHeight()
	body := m.body(h)
	body = body[:min(len(body), h)]
	for len(body) < h {
		body = append(body, "")
	}
	lines = append(lines, body...)
	lines = append(lines, m.footer())
	// A terminal too small for the header gets its top part.
	lines = lines[:min(len(lines), max(m.height, 1))]
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ansi.Truncate(l, m.width, ""))
	}
	return b.String()
}

func (m *model) body(h int) []string {
	switch {
	case m.showHelp:
		return strings.Split(m.helpView(), "\n")
	case m.detail != nil:
		return m.detailView(h)
	}
	switch m.tab {
	case tabOverview:
		return m.overviewView(h)
	case tabTimeWait:
		return m.timeWaitView(h)
	case tabConnections:
		return m.connectionsView(h)
	}
	return m.eventsView(h)
}

func (m *model) tabs() string {
	var b strings.Builder
	for i, name := range tabNames {
		st := m.styles.Tab
		if tab(i) == m.tab && m.detail == nil {
			st = m.styles.TabOn
		}
		b.WriteString(" " + st.Render(name) + " ")
	}
	if m.detail != nil {
		b.WriteString(" " + m.styles.TabOn.Render("Detail") + " ")
	}
	return b.String()
}

func (m *model) footer() string {
	switch {
	case m.filtering && m.notice != "":
		return m.styles.Alert.Render(m.notice) + " " + m.input.View()
	case m.filtering:
		return m.input.View()
	case m.notice != "":
		return m.styles.Warn.Render(m.notice)
	case m.frame.status.Err != nil:
		return m.styles.Alert.Render(m.frame.status.Err.Error())
	}
	return m.help.ShortHelpView(m.keys.ShortHelp())
}

func (m *model) helpView() string {
	h := m.help
	h.ShowAll = true
	var b strings.Builder
	b.WriteString(m.styles.Value.Render("Keys") + "\n\n")
	b.WriteString(h.FullHelpView(m.keys.FullHelp()))
	b.WriteString("\n\n" + m.styles.Dim.Render("Filter words: comm, pid, port, address[:port], state (TIME_WAIT or time-wait);"))
	b.WriteString("\n" + m.styles.Dim.Render("all must match. comm: pid: port: addr: state: say which. esc clears it."))
	return b.String()
}
