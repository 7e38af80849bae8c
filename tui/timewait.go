package tui

import (
	"strings"

	"github.com/twtrace/twtrace/internal/event"
)

// timeWaitHeading is the summary, the grouping line and the column
// titles above the TIME_WAIT rows.
const timeWaitHeading = 3

// timeWaitView lists who holds the tw, grouped by owner, by local port
// (servers) or by remote endpoint (clients).
func (m *model) timeWaitView(h int) []string {
	st := &m.styles
	s := m.frame.snap
	var age string
	for _, d := range s.States {
		if d.State == event.TimeWait {
			age = st.Dim.Render(" · lasted p50 ") + dur(d.P50) + st.Dim.Render(" max ") + dur(d.Max)
		}
	}
	summary := st.Value.Render(num(s.TW.Count)) + st.Dim.Render(" tw · TIME_WAIT ") + num(s.TW.TimeWait) +
		st.Dim.Render(" · FIN_WAIT2 ") + num(s.TW.FinWait2) + age +
		st.Dim.Render(" · reused ") + num(s.Causes[event.CauseReused])
	var by []string
	for i, name := range groupNames {
		if groupBy(i) == m.group {
			name = st.TabOn.Render(name)
		}
		by = append(by, name)
	}
	grouping := st.Dim.Render("group by ") + strings.Join(by, st.Dim.Render(" · ")) + st.Dim.Render("   (b switches, enter lists them)")

	titles := [numGroups][2]string{{"OWNER", "PID"}, {"LOCAL PORT", "NETNS"}, {"REMOTE", "NETNS"}}[m.group]
	sortMark := [2]string{" ▼", ""}
	if m.byName {
		sortMark = [2]string{"", " ▼"}
	}
	l := newLayout(m.width,
		column{title: titles[0] + sortMark[1], width: 0},
		column{title: titles[1], width: 10, right: true},
		column{title: "TW" + sortMark[0], width: 10, right: true},
		column{title: "SHARE", width: 6, right: true},
		column{title: "", width: 20, hideBelow: 90},
	)
	heading := []string{summary, grouping, st.Heading.Render(l.heading())}
	gs := m.rows.groups
	none := [numGroups]string{"no tw yet", "no tw on servers' local ports", "no tw towards clients' remote endpoints"}[m.group]
	return m.list(heading, m.scroll[tabTimeWait], len(gs), h, none, func(i int) string {
		g := &gs[i]
		return l.line(g.name, g.extra, num(g.tw), pct(g.tw, s.TW.Count), bar(g.tw, s.TW.Count, 20))
	}, nil)
}

// bar draws part/total as a bar of w cells.
func bar(part, total, w int) string {
	if total <= 0 {
		return ""
	}
	n := min(part*w/total, w)
	return strings.Repeat("█", n)
}
