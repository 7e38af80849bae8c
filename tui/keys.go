package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the UI answers to. `?` shows it through the help
// bubble, so the help can never disagree with what the keys do.
type KeyMap struct {
	Quit, Help                  key.Binding
	NextView, PrevView          key.Binding
	Up, Down, Top, Bottom       key.Binding
	PageUp, PageDown            key.Binding
	Open, Back                  key.Binding
	Filter, Sort, Group, Follow key.Binding
	Pause, Step                 key.Binding
	Faster, Slower              key.Binding
	SeekBack, SeekForward       key.Binding
}

// DefaultKeyMap returns the keys of DESIGN.md: k9s and bubbletea habits.
// The replay keys are enabled only when replaying.
func DefaultKeyMap(replaying bool) KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	k := KeyMap{
		Quit:        b([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:        b([]string{"?"}, "?", "help"),
		NextView:    b([]string{"tab"}, "tab", "next view"),
		PrevView:    b([]string{"shift+tab"}, "shift+tab", "previous view"),
		Up:          b([]string{"k", "up"}, "↑/k", "up"),
		Down:        b([]string{"j", "down"}, "↓/j", "down"),
		Top:         b([]string{"g", "home"}, "g", "top"),
		Bottom:      b([]string{"G", "end"}, "G", "bottom"),
		PageUp:      b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown:    b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Open:        b([]string{"enter"}, "enter", "open"),
		Back:        b([]string{"esc"}, "esc", "back"),
		Filter:      b([]string{"/"}, "/", "filter"),
		Sort:        b([]string{"s"}, "s", "sort"),
		Group:       b([]string{"b"}, "b", "group by"),
		Follow:      b([]string{"f"}, "f", "follow"),
		Pause:       b([]string{"p"}, "p", "pause"),
		Step:        b([]string{"."}, ".", "step"),
		Faster:      b([]string{"+", "="}, "+", "faster"),
		Slower:      b([]string{"-"}, "-", "slower"),
		SeekBack:    b([]string{"["}, "[", "back 10s"),
		SeekForward: b([]string{"]"}, "]", "ahead 10s"),
	}
	for _, r := range []*key.Binding{&k.Step, &k.Faster, &k.Slower, &k.SeekBack, &k.SeekForward} {
		r.SetEnabled(replaying)
	}
	return k
}

// ShortHelp is the footer line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.NextView, k.Open, k.Filter, k.Sort, k.Pause, k.Quit}
}

// FullHelp is what `?` shows, one column per topic.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.NextView, k.PrevView, k.Open, k.Back, k.Help, k.Quit},
		{k.Filter, k.Sort, k.Group, k.Follow, k.Pause},
		{k.Step, k.Faster, k.Slower, k.SeekBack, k.SeekForward},
	}
}
