package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

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
	m := newModel(src, opt, time.Now)
	// The screen changes on a frame or a key. bubbletea's renderer wakes
	// 60 times a second by default to look for a change; twice the frame
	// rate keeps keys as quick to answer and wakes a third as often.
	//
	// Signals are the caller's, through ctx: bubbletea's own handler,
	// racing with it for a SIGINT, could block forever sending to a
	// program that ctx had already stopped (kill -INT hung the exit).
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithFPS(2 * m.fps), tea.WithoutSignalHandler()}
	if !opt.colour() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(m, popts...).Run()
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
	// spare is the log of the frame before the current one, which
	// nothing points into any more: the next fetch copies into it, so
	// that a frame does not allocate a log of its own.
	spare []event.Event

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
// mutable state; it takes the spare log with it.
func (m *model) fetcher() func() frame {
	src, p, now, buf := m.src, m.player, m.now, m.spare[:0]
	m.spare = nil
	return func() frame {
		f := frame{at: now().UnixNano(), snap: src.Snapshot(), events: src.Events(buf), received: src.Received()}
		if p != nil {
			f.status = p.Status()
			f.at = f.status.Position.UnixNano()
		}
		return f
	}
}

// Init starts the ticks that bring frames.
func (m *model) Init() tea.Cmd { return m.tick() }

func (m *model) tick() tea.Cmd {
	return tea.Tick(time.Second/time.Duration(m.fps), func(time.Time) tea.Msg { return tickMsg{} })
}

// Update handles a message: a key, a new size, a tick (which fetches a
// frame off the UI goroutine) or the frame it brought.
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
	// Once derive has run, nothing points into the outgoing log.
	m.spare = m.frame.events
	m.frame = f
	m.hist.add(f.at, f.snap, f.received)
	m.derive()
}

// derive recomputes the rows of every view from the frame, the filter
// and the sort orders. The rows under the cursors stay under them as
// the lists move on, unless the Events view follows the newest.
func (m *model) derive() {
	ev, conn := &m.scroll[tabEvents].cursor, &m.scroll[tabConnections].cursor
	var selEvent *event.Event
	var selConn *aggregate.Conn
	if *ev >= 0 && *ev < len(m.rows.events) {
		selEvent = m.rows.events[*ev]
	}
	if *conn >= 0 && *conn < len(m.rows.conns) {
		selConn = &m.rows.conns[*conn]
	}
	m.rows = deriveRows(&m.frame, &m.filter, m.group, m.byName, m.sort)
	switch {
	case m.follow:
		*ev = len(m.rows.events) - 1
	case selEvent != nil:
		if i := slices.IndexFunc(m.rows.events, func(e *event.Event) bool { return *e == *selEvent }); i >= 0 {
			*ev = i
		}
	}
	if selConn != nil {
		same := func(c aggregate.Conn) bool { return connTuple(&c) == connTuple(selConn) && c.EndNS == selConn.EndNS }
		if i := slices.IndexFunc(m.rows.conns, same); i >= 0 {
			*conn = i
		}
	}
	if m.detail != nil {
		m.detail.refresh(&m.frame)
	}
}
