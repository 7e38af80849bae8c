package tui

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
)

// num prints a count with thousands separators: 41,203.
func num[T int | uint64](n T) string {
	s := strconv.FormatUint(uint64(max(n, 0)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rate prints events per second, with a decimal only when it is small.
func rate(r float64) string {
	if r < 10 && r != math.Trunc(r) {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return num(int(math.Round(r)))
}

// dur prints a duration with at most three significant digits: 60s, 1.25s,
// 340ms, 12µs. Zero, meaning unknown, prints as a dash.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= 100*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', precision(d.Seconds()), 64) + "s"
	case d >= time.Millisecond:
		ms := float64(d) / float64(time.Millisecond)
		return strconv.FormatFloat(ms, 'f', precision(ms), 64) + "ms"
	case d >= time.Microsecond:
		us := float64(d) / float64(time.Microsecond)
		return strconv.FormatFloat(us, 'f', precision(us), 64) + "µs"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// precision returns the decimals that leave three significant digits of
// v in [1, 1000).
func precision(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// pct prints part as a whole percentage of total.
func pct[T int | uint64](part, total T) string {
	if total == 0 {
		return "0%"
	}
	return strconv.Itoa(int(math.Round(100*float64(part)/float64(total)))) + "%"
}

// endpoint prints an address and port the way ss does: [::1]:80.
func endpoint(ap netip.AddrPort) string { return ap.String() }

// ownerText prints an owner as comm/pid, with dashes for what is unknown.
func ownerText(o aggregate.Owner) string {
	comm := o.Comm
	if comm == "" {
		comm = "-"
	}
	if o.PID == 0 {
		return comm
	}
	return comm + "/" + strconv.FormatUint(uint64(o.PID), 10)
}

// clock prints a capture time of day: 15:04:05.000.
func clock(wallNS int64) string {
	if wallNS == 0 {
		return "-"
	}
	return time.Unix(0, wallNS).UTC().Format("15:04:05.000")
}

// speed prints a replay speed: ×1, ×0.5, max.
func speed(s float64) string {
	if !(s > 0) {
		return "max"
	}
	return "×" + strconv.FormatFloat(s, 'g', 4, 64)
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values, scaled to their maximum, right
// aligned so that the newest is always at the same place.
func sparkline(vals []float64, width int) string {
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(vals)))
	for _, v := range vals {
		i := 0
		if hi > 0 {
			i = int(math.Round(v / hi * float64(len(sparks)-1)))
		}
		b.WriteRune(sparks[i])
	}
	return b.String()
}

// signed prints a change with its sign: +1,234 or -12.
func signed(d int) string {
	if d < 0 {
		return "-" + num(-d)
	}
	return "+" + num(d)
}
