package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twtrace/twtrace/internal/aggregate"
)

// headerLines is the height of the header.
const headerLines = 2

// sample is the situation at one second of capture time, for the
// sparklines and the trends.
type sample struct {
	sec      int64 // capture time, in whole seconds
	at       int64 // capture time of the latest frame in the second
	tw       int
	closes   float64 // connections ended per second
	received uint64
}

// history keeps a sample per second of capture time, the latest last.
type history struct{ samples []sample }

// maxSamples bounds the history: wider than any sparkline.
const maxSamples = 512

// add records a frame: it starts a new sample when capture time entered
// a new second, and updates the latest one otherwise. A frame from
// earlier (a replay that seeked back) starts the history over.
func (h *history) add(at int64, s *aggregate.Snapshot, received uint64) {
	now := sample{sec: at / 1e9, at: at, tw: s.TW.Count, closes: s.Rates.Closed.Last1s, received: received}
	n := len(h.samples)
	switch {
	case n > 0 && (now.sec < h.samples[n-1].sec || now.received < h.samples[n-1].received):
		h.samples = append(h.samples[:0], now)
	case n > 0 && now.sec == h.samples[n-1].sec:
		h.samples[n-1] = now
	default:
		if n == maxSamples {
			h.samples = append(h.samples[:0], h.samples[1:]...)
		}
		h.samples = append(h.samples, now)
	}
}

// trendSecs is how far back the header's trend looks.
const trendSecs = 10

// ago returns the sample about secs seconds before the latest, or the
// oldest there is.
func (h *history) ago(secs int64) sample {
	last := h.samples[len(h.samples)-1]
	for i := len(h.samples) - 1; i >= 0; i-- {
		if h.samples[i].sec <= last.sec-secs {
			return h.samples[i]
		}
	}
	return h.samples[0]
}

// eventsPerSec is the rate events arrived at over the trend window, in
// capture time.
func (h *history) eventsPerSec() float64 {
	last, old := h.samples[len(h.samples)-1], h.ago(trendSecs)
	if last.at <= old.at {
		return 0
	}
	return float64(last.received-old.received) / (float64(last.at-old.at) / 1e9)
}

func (h *history) series(f func(*sample) float64) []float64 {
	v := make([]float64, len(h.samples))
	for i := range h.samples {
		v[i] = f(&h.samples[i])
	}
	return v
}

// header draws the two header lines: where the events come from, then
// the numbers that say whether there is a problem.
func (m *model) header() []string {
	st := &m.styles
	meta := m.src.Meta()
	sep := st.Dim.Render(" │ ")
	left := st.Title.Render("twtrace") + sep + meta.Host + sep + meta.Kernel + sep + st.Dim.Render("backend ") + meta.Backend
	line1 := spread(left, m.modeText(), m.width)

	s := m.frame.snap
	tw := s.TW.Count
	parts := []string{st.Dim.Render("tw ") + st.Value.Render(num(tw)) + " " + m.trend()}
	if max := sysctlInt(meta.Sysctls, "tcp_max_tw_buckets"); max > 0 {
		use := st.Dim.Render(pct(tw, max) + " of " + num(max))
		if tw >= max {
			use = st.Alert.Render(pct(tw, max) + " of " + num(max) + " FULL")
		}
		parts = append(parts, use)
	}
	parts = append(parts, st.Value.Render(rate(m.hist.eventsPerSec()))+st.Dim.Render(" ev/s"))
	if s.Overflow > 0 {
		parts = append(parts, st.Alert.Render("overflow "+num(s.Overflow)))
	}
	lost := st.Dim.Render("lost ") + "0"
	if s.Lost > 0 {
		lost = st.Alert.Render("lost " + num(s.Lost))
	}
	parts = append(parts, lost)
	if m.filter.active() {
		parts = append(parts, st.Warn.Render("filter: "+m.filter.text))
	}
	return []string{line1, strings.Join(parts, sep)}
}

// trend prints how the tw count moved over the trend window.
func (m *model) trend() string {
	d := m.hist.samples[len(m.hist.samples)-1].tw - m.hist.ago(trendSecs).tw
	switch {
	case d > 0:
		return m.styles.Warn.Render("▲" + signed(d) + "/10s")
	case d < 0:
		return m.styles.Good.Render("▼" + signed(d) + "/10s")
	}
	return m.styles.Dim.Render("±0/10s")
}

// modeText says live or replay, with the replay's time and controls.
func (m *model) modeText() string {
	st := &m.styles
	if m.player == nil {
		if m.frozen {
			return st.Mode.Render(" LIVE ") + " " + st.Warn.Render("paused (display)")
		}
		return st.Mode.Render(" LIVE ")
	}
	rs := m.frame.status
	text := st.Mode.Render(" REPLAY ") + " " + rs.Position.Format("2006-01-02 15:04:05") + " " + speed(rs.Speed)
	switch {
	case rs.Err != nil:
		text += " " + st.Alert.Render("stopped")
	case rs.Ended:
		text += " " + st.Dim.Render("end")
	case rs.Paused:
		text += " " + st.Warn.Render("paused")
	}
	return text
}

// spread puts left and right on one line of width w, right-aligned.
func spread(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if ansi.StringWidth(left)+1+rw > w {
		// The mode matters more than the host name.
		left = ansi.Truncate(left, max(w-rw-1, 0), "…")
	}
	gap := max(w-ansi.StringWidth(left)-rw, 1)
	return left + strings.Repeat(" ", gap) + right
}

func sysctlInt(s map[string]string, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s[name]))
	if err != nil {
		return 0
	}
	return n
}
