package tui

// listHeading is the lines above the rows of a list view (the column
// titles).
const listHeading = 1

// list draws a list view: the heading lines, then the rows that fit in
// h lines around the cursor, the cursor's row highlighted. row draws row
// i as plain text; emph highlights the whole row; none says what an
// empty list means.
func (m *model) list(heading []string, s scroll, n, h int, none string, row func(i int) string, emph func(i int) emphasis) []string {
	out := append([]string(nil), heading...)
	rowsH := max(h-len(heading), 1)
	if n == 0 && m.filter.active() {
		return append(out, m.styles.Dim.Render("nothing matches the filter "+m.filter.text+" (esc clears it)"))
	}
	if n == 0 {
		return append(out, m.styles.Dim.Render(none))
	}
	top := s.window(n, rowsH)
	cursor := min(s.cursor, n-1)
	for i := top; i < min(top+rowsH, n); i++ {
		text := fit(row(i), m.width, false)
		switch {
		case i == cursor:
			text = m.styles.rows.selected.on(text)
		case emph != nil:
			text = m.emphasise(emph(i), text)
		}
		out = append(out, text)
	}
	return out
}

// emphasis is how a row is highlighted.
type emphasis uint8

const (
	plain emphasis = iota
	good           // tcp_tw_reuse at work
	warn           // resets, leaks
	alert          // lost events, overflow, unseen ends
)

func (m *model) emphasise(e emphasis, text string) string {
	switch e {
	case good:
		return m.styles.rows.good.on(text)
	case warn:
		return m.styles.rows.warn.on(text)
	case alert:
		return m.styles.rows.alert.on(text)
	}
	return text
}
