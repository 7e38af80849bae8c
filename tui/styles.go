package tui

import (
	"image/color"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every style the UI draws with, in one place so that the
// colour and the no-colour looks are defined side by side.
type Styles struct {
	Title    lipgloss.Style // the program name in the header
	Dim      lipgloss.Style // labels and secondary text
	Value    lipgloss.Style // numbers that matter
	Alert    lipgloss.Style // lost events, overflow, flagged destinations
	Warn     lipgloss.Style // resets and leaks
	Good     lipgloss.Style // reuse: tcp_tw_reuse at work
	Mode     lipgloss.Style // LIVE / REPLAY
	Tab      lipgloss.Style
	TabOn    lipgloss.Style
	Heading  lipgloss.Style // column titles
	Selected lipgloss.Style // the row under the cursor
	Help     help.Styles

	// rows are the row-wide styles of the lists, as paints.
	rows rowPaints
}

type rowPaints struct{ selected, good, warn, alert paint }

// paint is a style reduced to the escape sequences around its text. The
// lists restyle every visible row on every frame, and lipgloss's Render
// measures and pads its input, which costs more than drawing the row.
type paint struct{ pre, post string }

func paintOf(s lipgloss.Style) paint {
	out := s.Render("x")
	i := strings.Index(out, "x")
	return paint{out[:i], out[i+1:]}
}

func (p paint) on(text string) string { return p.pre + text + p.post }

func (s Styles) withRows() Styles {
	s.rows = rowPaints{paintOf(s.Selected), paintOf(s.Good), paintOf(s.Warn), paintOf(s.Alert)}
	return s
}

// NewStyles returns the styles; without colour, emphasis is carried by
// bold, underline and reverse video so that nothing the colours say is
// lost.
func NewStyles(colour bool) Styles {
	s := lipgloss.NewStyle
	if !colour {
		plain := s()
		return Styles{
			Title: s().Bold(true), Dim: plain, Value: s().Bold(true),
			Alert: s().Bold(true).Reverse(true), Warn: s().Underline(true), Good: s().Bold(true),
			Mode: s().Reverse(true), Tab: plain, TabOn: s().Reverse(true),
			Heading: s().Underline(true), Selected: s().Reverse(true),
			Help: help.Styles{
				ShortKey: s().Bold(true), ShortDesc: plain, ShortSeparator: plain, Ellipsis: plain,
				FullKey: s().Bold(true), FullDesc: plain, FullSeparator: plain,
			},
		}.withRows()
	}
	var (
		dim    = lipgloss.Color("245")
		accent = lipgloss.Color("39")
		red    = lipgloss.Color("196")
		yellow = lipgloss.Color("214")
		green  = lipgloss.Color("42")
		bar    = lipgloss.Color("236")
	)
	fg := func(c color.Color) lipgloss.Style { return s().Foreground(c) }
	return Styles{
		Title:    fg(accent).Bold(true),
		Dim:      fg(dim),
		Value:    s().Bold(true),
		Alert:    fg(red).Bold(true),
		Warn:     fg(yellow),
		Good:     fg(green),
		Mode:     s().Background(accent).Foreground(lipgloss.Color("16")).Bold(true),
		Tab:      fg(dim),
		TabOn:    fg(accent).Bold(true).Underline(true),
		Heading:  fg(dim).Bold(true),
		Selected: s().Background(bar).Bold(true),
		Help: help.Styles{
			ShortKey: fg(accent), ShortDesc: fg(dim), ShortSeparator: fg(dim), Ellipsis: fg(dim),
			FullKey: fg(accent), FullDesc: s(), FullSeparator: fg(dim),
		},
	}.withRows()
}
