package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// column is one column of a table view.
type column struct {
	title string
	// width is the column's width; 0 makes it flexible: flexible columns
	// share what the fixed ones leave, up to maxFlex.
	width int
	right bool // numbers are right-aligned
	// hideBelow hides the column on terminals narrower than this, so
	// that 80 columns keep what matters most.
	hideBelow int
}

// minFlex and maxFlex bound flexible columns: maxFlex fits the longest
// endpoint, [IPv6]:port, so that wide terminals keep the numbers next to
// the names.
const minFlex, maxFlex = 8, 47

// layout is a set of columns fitted to a terminal width.
type layout struct {
	cols   []column
	widths []int // 0 for a hidden column
}

func newLayout(total int, cols ...column) layout {
	l := layout{cols: cols, widths: make([]int, len(cols))}
	used, flex, shown := 0, 0, 0
	for i, c := range cols {
		if total < c.hideBelow {
			continue
		}
		shown++
		if c.width == 0 {
			flex++
			continue
		}
		l.widths[i] = c.width
		used += c.width
	}
	used += max(shown-1, 0) // the spaces between columns
	left := max(total-used, 0)
	for i, c := range cols {
		if c.width != 0 || total < c.hideBelow {
			continue
		}
		w := min(max(left/flex, minFlex), maxFlex)
		left -= w
		flex--
		l.widths[i] = w
	}
	return l
}

// line lays out one row of cells, one per column (hidden ones included).
func (l layout) line(cells ...string) string {
	var b strings.Builder
	for i, w := range l.widths {
		if w == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fit(cells[i], w, l.cols[i].right))
	}
	return b.String()
}

// heading lays out the column titles.
func (l layout) heading() string {
	titles := make([]string, len(l.cols))
	for i, c := range l.cols {
		titles[i] = c.title
	}
	return l.line(titles...)
}

// fit pads or truncates plain text s to exactly w cells. Most cells are
// printable ASCII, one cell per byte, which is measured and cut without
// the cost of finding grapheme clusters.
func fit(s string, w int, right bool) string {
	n, ascii := len(s), printableASCII(s)
	if !ascii {
		n = ansi.StringWidth(s)
	}
	switch {
	case n > w && ascii && w > 0:
		return s[:w-1] + "…"
	case n > w:
		return ansi.Truncate(s, w, "…")
	case right:
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// visibleWidth returns the cells s takes on screen, styles excluded.
func visibleWidth(s string) int { return ansi.StringWidth(s) }
