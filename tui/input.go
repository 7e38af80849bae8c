package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// key handles a key press and returns a command when it has one.
func (m *model) key(msg tea.KeyPressMsg) tea.Cmd {
	m.notice = ""
	k := &m.keys
	if m.filtering && msg.String() != "ctrl+c" {
		return m.filterKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case m.showHelp && key.Matches(msg, k.Back):
		m.showHelp = false
	case key.Matches(msg, k.NextView):
		m.switchTab(1)
	case key.Matches(msg, k.PrevView):
		m.switchTab(-1)
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.input.SetValue(m.filter.text)
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.Back):
		m.back()
	case key.Matches(msg, k.Open):
		m.open()
	case key.Matches(msg, k.Sort):
		m.cycleSort()
	case key.Matches(msg, k.Group) && m.tab == tabTimeWait && m.detail == nil:
		m.group = (m.group + 1) % numGroups
		m.scroll[tabTimeWait] = scroll{}
		m.derive()
	case key.Matches(msg, k.Follow) && m.tab == tabEvents:
		m.follow = !m.follow
		m.derive()
	case key.Matches(msg, k.Pause):
		m.togglePause()
	case m.player != nil && m.replayKey(msg):
	default:
		m.move(msg)
	}
	return nil
}

func (m *model) switchTab(d int) {
	m.detail, m.showHelp = nil, false
	m.tab = (m.tab + tab(d) + numTabs) % numTabs
}

// back closes the detail, then clears the filter.
func (m *model) back() {
	switch {
	case m.detail != nil:
		m.detail = nil
	case m.filter.active():
		m.filter = filter{}
		m.derive()
	}
}

func (m *model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		f, err := parseFilter(m.input.Value())
		if err != nil {
			m.notice = err.Error()
			return nil
		}
		m.filtering = false
		m.input.Blur()
		m.setFilter(f)
		return nil
	case "esc":
		m.filtering = false
		m.input.Blur()
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

func (m *model) setFilter(f filter) {
	m.filter = f
	for i := range m.scroll {
		m.scroll[i] = scroll{}
	}
	m.derive()
}

func (m *model) togglePause() {
	if m.player == nil {
		m.frozen = !m.frozen
		return
	}
	if m.frame.status.Paused {
		m.player.Resume()
	} else {
		m.player.Pause()
	}
	m.frame.status = m.player.Status()
}

// speeds are the replay speeds + and - step through.
var speeds = []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 100, 1000, 0}

// seekStep is how far [ and ] move a replay.
const seekStep = 10 * time.Second

// replayKey handles the replay controls; it reports whether msg was one.
func (m *model) replayKey(msg tea.KeyPressMsg) bool {
	k, p := &m.keys, m.player
	st := p.Status()
	switch {
	case key.Matches(msg, k.Faster):
		p.SetSpeed(nextSpeed(st.Speed, +1))
	case key.Matches(msg, k.Slower):
		p.SetSpeed(nextSpeed(st.Speed, -1))
	case key.Matches(msg, k.Step):
		p.Step()
	case key.Matches(msg, k.SeekBack), key.Matches(msg, k.SeekForward):
		d := seekStep
		if key.Matches(msg, k.SeekBack) {
			d = -d
		}
		if err := p.Seek(st.Position.Add(d)); err != nil {
			m.notice = err.Error()
		}
	default:
		return false
	}
	m.frame.status = p.Status()
	return true
}

// nextSpeed returns the speed after s in speeds: faster when d > 0.
// Speeds that are not listed (--speed 3) step to their listed
// neighbours; 0, as fast as possible, is the fastest.
func nextSpeed(s float64, d int) float64 {
	fastest := len(speeds) - 1
	switch {
	case !(s > 0) && d > 0:
		return 0
	case !(s > 0):
		return speeds[fastest-1]
	case d > 0:
		i := 0
		for i < fastest && speeds[i] <= s {
			i++
		}
		return speeds[i]
	}
	i := fastest - 1
	for i > 0 && speeds[i] >= s {
		i--
	}
	return speeds[i]
}

// open shows the detail of the row under the cursor; on the TIME_WAIT
// view it lists the group's connections instead.
func (m *model) open() {
	var t tuple
	s := m.scroll[m.tab].cursor
	switch {
	case m.detail != nil || m.showHelp || s < 0:
		return
	case m.tab == tabTimeWait && s < len(m.rows.groups):
		f, err := parseFilter(m.rows.groups[s].drill)
		if err == nil {
			m.tab = tabConnections
			m.setFilter(f)
		}
		return
	case m.tab == tabConnections && s < len(m.rows.conns):
		t = connTuple(&m.rows.conns[s])
	case m.tab == tabEvents && s < len(m.rows.events):
		t = eventTuple(m.rows.events[s])
	default:
		return
	}
	m.detail = &detail{tuple: t}
	m.detail.refresh(&m.frame)
}

// cycleSort changes the sort order of the view on screen.
func (m *model) cycleSort() {
	switch {
	case m.detail != nil:
		return
	case m.tab == tabConnections:
		m.sort = (m.sort + 1) % numConnSorts
	case m.tab == tabTimeWait:
		m.byName = !m.byName
	default:
		return
	}
	m.scroll[m.tab] = scroll{}
	m.derive()
}
