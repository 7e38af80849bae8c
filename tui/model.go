// Package tui is twtrace's terminal UI: a bubbletea program that draws
// aggregate snapshots on a tick, live or replayed. It reads everything
// through a Source and never blocks whoever feeds the events.
package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/replay"
)

// Options configure the UI.
type Options struct {
	// NoColor draws without colour (--no-color). NO_COLOR in the
	// environment does the same.
	NoColor bool
	// Replay is the player when replaying a recording, nil when live.
	Replay *replay.Player
	// FPS is how many frames are drawn per second; default 10.
	FPS int
}

// Run shows the UI until the user quits or ctx is done. It takes over
// the terminal (alternate screen) and gives it back as it was.
func Run(ctx context.Context, src Source, opt Options) error {
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if !opt.colour() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(newModel(src, opt, time.Now), popts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

// colour reports whether to draw in colour: not when asked not to, by
// the option or by NO_COLOR (https://no-color.org).
func (o *Options) colour() bool { return !o.NoColor && os.Getenv("NO_COLOR") == "" }

// tab is one of the views tab cycles through.
type tab int

const (
	tabOverview tab = iota
	tabTimeWait
	tabConnections
	tabEvents
	numTabs
)

var tabNames = [numTabs]string{"Overview", "TIME_WAIT", "Connections", "Events"}

// frame is what one tick reads from the Source.
type frame struct {
	// at is when the frame was taken, in capture time (Unix ns): the
	// clock live, the replay's position in a replay, so that rates and
	// trends follow the replay's speed and stop while it is paused.
	at       int64
	snap     *aggregate.Snapshot
	events   []event.Event
	received uint64
	status   replay.Status
}

type tickMsg struct{}

// model is the UI's state. Everything the views show is derived from the
// latest frame in Update (rows), so View only lays out text.
type model struct {
	src    Source
	player *replay.Player
	now    func() time.Time // live capture time; tests fix it
	fps    int
	keys   KeyMap
	styles Styles
	help   help.Model
	input  textinput.Model

	width, height int
	tab           tab
	showHelp      bool
	filtering     bool // typing a filter
	frozen        bool // live display paused
	notice        string
	filter        filter

	frame frame
	hist  history

	scroll [numTabs]scroll
	group  groupBy
	byName bool // TIME_WAIT groups sorted by name, not count
	sort   connSort
	follow bool
	detail *detail

	rows rows

	// screen is the last frame drawn. bubbletea draws after every
	// message, and most (the ticks) change nothing on screen.
	screen string
	dirty  bool
}

// newModel returns the UI's model; now is the clock of live capture
// time.
func newModel(src Source, opt Options, now func() time.Time) *model {
	m := &model{
		src:    src,
		player: opt.Replay,
		now:    now,
		fps:    max(cmp.Or(opt.FPS, 10), 1),
		keys:   DefaultKeyMap(opt.Replay != nil),
		styles: NewStyles(opt.colour()),
		help:   help.New(),
		input:  textinput.New(),
		width:  80,
		height: 24,
		follow: true,
	}
	m.help.Styles = m.styles.Help
	m.input.Prompt = "/"
	m.input.Placeholder = "comm, pid, port, address or state (time-wait)"
	// The first frame is read now, so that the screen is never empty.
	m.apply(m.fetcher()())
	return m
}

// fetcher returns the function that reads a frame. It runs in a
// command's goroutine, off the UI's, and so reads nothing of the model's
// mutable state.
func (m *model) fetcher() func() frame {
	src, p, now := m.src, m.player, m.now
	return func() frame {
		f := frame{at: now().UnixNano(), snap: src.Snapshot(), events: src.Events(nil), received: src.Received()}
		if p != nil {
			f.status = p.Status()
			f.at = f.status.Position.UnixNano()
		}
		return f
	}
}

func (m *model) Init() tea.Cmd { return m.tick() }

func (m *model) tick() tea.Cmd {
	return tea.Tick(time.Second/time.Duration(m.fps), func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, tick := msg.(tickMsg); !tick {
		m.dirty = true
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.input.SetWidth(max(msg.Width-2, 1))
	case tickMsg:
		if m.frozen {
			return m, m.tick()
		}
		fetch := m.fetcher()
		return m, func() tea.Msg { return fetch() }
	case frame:
		if !m.frozen {
			m.apply(msg)
		}
		return m, m.tick()
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	if m.filtering {
		// The filter's cursor blinks on messages of its own.
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// apply takes a new frame and derives what the views show from it.
func (m *model) apply(f frame) {
	m.frame = f
	m.hist.add(f.at, f.snap, f.received)
	m.derive()
}

// derive recomputes the rows of every view from the frame, the filter
// and the sort orders.
func (m *model) derive() {
	m.rows = deriveRows(&m.frame, &m.filter, m.group, m.byName, m.sort)
	if m.follow {
		m.scroll[tabEvents].cursor = len(m.rows.events) - 1
	}
	if m.detail != nil {
		m.detail.refresh(&m.frame)
	}
}

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

// nextSpeed returns the speed after s in direction d (+1 faster).
func nextSpeed(s float64, d int) float64 {
	i := 0
	for i < len(speeds)-1 && speeds[i] > 0 && speeds[i] < s {
		i++
	}
	if !(s > 0) {
		i = len(speeds) - 1
	}
	return speeds[min(max(i+d, 0), len(speeds)-1)]
}

// bodyHeight is the number of lines between the header and the footer.
func (m *model) bodyHeight() int { return max(m.height-headerLines-2, 1) }

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
