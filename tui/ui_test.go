package tui

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/record"
	"github.com/twtrace/twtrace/internal/replay"
)

// The golden tests run the UI in a bubbletea program at a fixed size,
// press keys, quit, and compare the last frame, without its styles, with
// testdata/<test>.golden. `go test ./tui -update` rewrites the files
// after a deliberate change; read the diff before committing it.

const testW, testH = 100, 30

// testClock stops the clock live frames are taken by, so that the
// history and the rates of a frame do not depend on when the test ran.
func testClock() time.Time { return time.Unix(0, bootWall+int64(monoStart)+90e9) }

// press returns the key press for a key name as bubbletea reports it.
func press(name string) tea.KeyPressMsg {
	switch name {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(name)[0]
	return tea.KeyPressMsg{Code: r, Text: name}
}

// frameAfter runs the UI on src, sends msgs (key names, text to type
// after "/", or messages), quits, and returns the last frame as plain
// text.
func frameAfter(t *testing.T, src Source, opt Options, msgs ...any) string {
	t.Helper()
	tm := teatest.NewTestModel(t, newModel(src, opt, testClock), teatest.WithInitialTermSize(testW, testH))
	for _, msg := range msgs {
		switch msg := msg.(type) {
		case string:
			tm.Send(press(msg))
		case typed:
			tm.Type(string(msg))
		}
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	return ansi.Strip(m.View().Content) + "\n"
}

// TestResize shrinks the terminal to 80×24 under each view. The model is
// driven directly: a program sends its initial size from a goroutine of
// its own, which could arrive after the resize.
func TestResize(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"overview", nil},
		{"timewait", []string{"tab"}},
		{"connections", []string{"tab", "tab"}},
		{"events", []string{"shift+tab"}},
		{"detail", []string{"tab", "tab", "enter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(testFeed(), Options{}, testClock)
			m.Update(tea.WindowSizeMsg{Width: testW, Height: testH})
			for _, k := range tc.keys {
				m.Update(press(k))
			}
			m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
			golden.RequireEqual(t, ansi.Strip(m.View().Content)+"\n")
		})
	}
}

// typed is text typed into the filter.
type typed string

func TestViews(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []any
	}{
		{"overview", nil},
		{"overview_scrolled", []any{"G"}},
		{"timewait_by_owner", []any{"tab"}},
		{"timewait_by_remote", []any{"tab", "b", "b"}},
		{"timewait_drill", []any{"tab", "enter"}},
		{"connections", []any{"tab", "tab"}},
		{"connections_sorted", []any{"tab", "tab", "s", "s", "s", "s"}},
		{"events", []any{"shift+tab"}},
		{"events_scrolled", []any{"shift+tab", "g", "j", "j"}},
		{"detail_reused", []any{"tab", "tab", "/", typed("port:40005 time-wait"), "enter", "enter"}},
		{"detail_from_events", []any{"shift+tab", "G", "enter"}},
		{"detail_reset", []any{"tab", "tab", "/", typed("198.51.100.3"), "enter", "enter"}},
		{"detail_passive_close", []any{"tab", "tab", "/", typed("192.0.2.7:51000"), "enter", "enter"}},
		{"detail_still_open", []any{"shift+tab", "/", typed("192.0.2.7:51005"), "enter", "enter"}},
		{"help", []any{"?"}},
		{"filter_comm", []any{"tab", "tab", "/", typed("nginx"), "enter"}},
		{"filter_state", []any{"shift+tab", "/", typed("time-wait 40036"), "enter"}},
		{"filter_cleared", []any{"tab", "tab", "/", typed("nginx"), "enter", "esc"}},
		{"filter_bad", []any{"/", typed("port:99999"), "enter"}},
		{"paused", []any{"p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden.RequireEqual(t, frameAfter(t, testFeed(), Options{}, tc.keys...))
		})
	}
}

// testRecording writes the test script as a recording and returns its
// path.
func testRecording(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	w, err := record.NewWriter(&b, testMeta(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range testScript() {
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trace.twt")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayControls presses the replay keys on a player that is not
// running, so that only the keys move it.
func TestReplayControls(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []any
	}{
		{"replay", nil},
		{"replay_controls", []any{"p", "+", "+", "]", "]", "["}},
		{"replay_slower", []any{"-", "-", "-"}},
		{"replay_help", []any{"?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := replay.Open(testRecording(t), replay.Options{Speed: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			golden.RequireEqual(t, frameAfter(t, testFeed(), Options{Replay: p}, tc.keys...))
		})
	}
}

// TestReplayNarrow checks that the replay header keeps its controls on
// 80 columns.
func TestReplayNarrow(t *testing.T) {
	p, err := replay.Open(testRecording(t), replay.Options{Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := newModel(testFeed(), Options{Replay: p}, testClock)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(press("p"))
	m.Update(press("+"))
	golden.RequireEqual(t, ansi.Strip(m.View().Content)+"\n")
}

// TestReplayStdinSeekBack shows why a replay from stdin cannot go back.
func TestReplayStdinSeekBack(t *testing.T) {
	f, err := os.Open(testRecording(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := replay.Open("-", replay.Options{Speed: 1, Stdin: f})
	if err != nil {
		t.Fatal(err)
	}
	got := frameAfter(t, testFeed(), Options{Replay: p}, "]", "[")
	if !strings.Contains(got, replay.ErrNoRewind.Error()) {
		t.Errorf("seeking back on stdin: footer does not say why:\n%s", got)
	}
}

// TestQuit checks that q and ctrl+c end the program, and that ctrl+c
// does so even while a filter is being typed (where q is a letter).
func TestQuit(t *testing.T) {
	for _, keys := range [][]any{{"q"}, {"ctrl+c"}, {"/", typed("q"), "ctrl+c"}} {
		tm := teatest.NewTestModel(t, newModel(testFeed(), Options{}, testClock), teatest.WithInitialTermSize(testW, testH))
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				tm.Send(press(k))
			case typed:
				tm.Type(string(k))
			}
		}
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	}
}

// TestNoColor checks that without colour the screen carries no colour
// but keeps the selected row visible in reverse video.
func TestNoColor(t *testing.T) {
	const sgrColour, sgrReverse = "\x1b[38;", "7m"
	for _, tc := range []struct {
		opt    Options
		env    string
		colour bool
	}{
		{Options{}, "", true},
		{Options{NoColor: true}, "", false},
		{Options{}, "1", false},
	} {
		t.Setenv("NO_COLOR", tc.env)
		m := newModel(testFeed(), tc.opt, testClock)
		m.Update(tea.WindowSizeMsg{Width: testW, Height: testH})
		m.Update(press("tab"))
		m.Update(press("tab"))
		v := m.View().Content
		if got := strings.Contains(v, sgrColour); got != tc.colour {
			t.Errorf("options %+v, NO_COLOR=%q: colour = %v, want %v", tc.opt, tc.env, got, tc.colour)
		}
		if !tc.colour && !strings.Contains(v, sgrReverse) {
			t.Errorf("no colour: the selected row is not in reverse video")
		}
	}
}

// TestNothingYet presses every key on every view before any event
// arrived.
func TestNothingYet(t *testing.T) {
	feed := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 10)
	m := newModel(feed, Options{}, testClock)
	keys := []string{"enter", "j", "k", "G", "g", "s", "b", "f", "p", "p", "esc", "enter", "?", "?"}
	for range numTabs {
		for _, k := range keys {
			m.Update(press(k))
		}
		if v := ansi.Strip(m.View().Content); !strings.Contains(v, "\nno ") && m.tab != tabOverview {
			t.Errorf("an empty %s view does not say so:\n%s", tabNames[m.tab], v)
		}
		m.Update(press("tab"))
	}
}

// TestFrameNeverExceedsTerminal checks every view at sizes down to a
// very small terminal: no line wider than the terminal, no more lines
// than it has.
func TestFrameNeverExceedsTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 15}, {120, 50}, {20, 5}} {
		m := newModel(testFeed(), Options{}, testClock)
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for v := range numTabs + 2 {
			switch v {
			case numTabs:
				m.Update(press("?"))
			case numTabs + 1:
				m.Update(press("?"))
				m.Update(press("tab"))
				m.Update(press("tab"))
				m.Update(press("enter"))
			}
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d, view %d: %d lines", size[0], size[1], v, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d, view %d: line of %d cells: %q", size[0], size[1], v, w, ansi.Strip(l))
				}
			}
			m.Update(press("tab"))
		}
	}
}

// TestSelectionStays checks that the event under the cursor stays under
// it while new events push old ones out of the log, and that following
// stays on the newest.
func TestSelectionStays(t *testing.T) {
	evs := testScript()
	feed := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 100)
	for i := range 200 {
		feed.Event(&evs[i])
	}
	m := newModel(feed, Options{}, testClock)
	m.Update(tea.WindowSizeMsg{Width: testW, Height: testH})
	m.Update(press("shift+tab"))
	for range 10 {
		m.Update(press("k"))
	}
	want := *m.rows.events[m.scroll[tabEvents].cursor]
	for i := 200; i < 250; i++ {
		feed.Event(&evs[i])
	}
	m.apply(m.fetcher()())
	if got := *m.rows.events[m.scroll[tabEvents].cursor]; got != want || m.follow {
		t.Errorf("after 50 more events, the cursor is on %+v, want %+v", got, want)
	}
	m.Update(press("G"))
	feed.Event(&evs[250])
	m.apply(m.fetcher()())
	if got := *m.rows.events[m.scroll[tabEvents].cursor]; got != evs[250] || !m.follow {
		t.Errorf("following: the cursor is not on the newest event")
	}
}

// TestRandomKeys presses random keys, resizing now and then, and checks
// that every frame fits the terminal.
func TestRandomKeys(t *testing.T) {
	p, err := replay.Open(testRecording(t), replay.Options{Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	keys := []string{"tab", "shift+tab", "enter", "esc", "j", "k", "G", "g", "s", "b", "f", "p", "?",
		"+", "-", "[", "]", ".", "down", "/", "n", "g", "i", "n", "x", "enter"}
	rng := rand.New(rand.NewPCG(1, 2))
	feed := testFeed()
	for run := range 30 {
		opt := Options{}
		if run%2 == 1 {
			opt.Replay = p
		}
		m := newModel(feed, opt, testClock)
		w, h := 80, 24 // until the terminal says its size
		var pressed []string
		for range 40 {
			if rng.IntN(10) == 0 {
				w, h = 20+rng.IntN(180), 3+rng.IntN(60)
				m.Update(tea.WindowSizeMsg{Width: w, Height: h})
				pressed = append(pressed, fmt.Sprintf("%dx%d", w, h))
			}
			k := keys[rng.IntN(len(keys))]
			pressed = append(pressed, k)
			m.Update(press(k))
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != h {
				t.Fatalf("after %v: %d lines on a %dx%d terminal", pressed, len(lines), w, h)
			}
			for _, l := range lines {
				if ansi.StringWidth(l) > w {
					t.Fatalf("after %v: a line of %d cells on a %dx%d terminal", pressed, ansi.StringWidth(l), w, h)
				}
			}
		}
	}
}
