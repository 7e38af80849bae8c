package aggregate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// WriteReport writes s as the readable report that `-o table` prints at the
// end of a run: the same content as the summary line, one section per
// question.
func WriteReport(w io.Writer, s *Summary) error {
	sections := []func(io.Writer){
		func(w io.Writer) {
			fmt.Fprintf(w, "TIME_WAIT\t%d\t(TIME_WAIT %d, FIN_WAIT2 %d)\n", s.TW.Count, s.TW.TimeWait, s.TW.FinWait2)
			fmt.Fprintf(w, "lost events\t%d\t(tw overflow %d, tw exits missed %d)\n", s.Lost, s.Overflow, s.Missed)
		},
		func(w io.Writer) {
			fmt.Fprintf(w, "STATE\tCOUNT\tP50\tP90\tP99\tMAX\n")
			for _, d := range s.States {
				if d.Count == 0 {
					fmt.Fprintf(w, "%s\t0\t-\t-\t-\t-\n", d.State)
					continue
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", d.State, d.Count, short(d.P50), short(d.P90), short(d.P99), short(d.Max))
			}
		},
		func(w io.Writer) {
			var closers, causes []string
			for c := event.CloserLocal; c <= event.CloserUnknown; c++ {
				closers = append(closers, fmt.Sprintf("%s %d", c, s.Closers[c]))
			}
			for c := event.CauseExpired; c <= event.CauseUnknown; c++ {
				causes = append(causes, fmt.Sprintf("%s %d", c, s.Causes[c]))
			}
			fmt.Fprintf(w, "closed by\t%s\n", strings.Join(closers, ", "))
			fmt.Fprintf(w, "tw ended by\t%s\n", strings.Join(causes, ", "))
		},
		func(w io.Writer) {
			fmt.Fprintf(w, "PID\tCOMM\tTIME_WAIT\n")
			for _, o := range s.TopOwners {
				fmt.Fprintf(w, "%s\t%s\t%d\n", pidText(o.PID), commText(o.Comm), o.TW)
			}
		},
		func(w io.Writer) {
			fmt.Fprintf(w, "LOCAL\tREMOTE\tHELD/RANGE\tLIVE\tTW\tCONNECT/S\tREUSE/S\tPORTS LAST\n")
			for _, d := range s.Destinations {
				fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%d\t%.1f\t%.1f\t%s\n", d.Local, d.Remote, d.Held, d.Range,
					d.Live, d.TW, d.CreatePerSec, d.ReusePerSec, exhaustionText(&d))
			}
		},
		func(w io.Writer) {
			fmt.Fprintf(w, "CLOSE_WAIT %d, %d older than %s (never closed by the application)\n",
				s.CloseWait.Count, s.CloseWait.Leaked, short(s.CloseWait.Threshold))
			if len(s.CloseWait.Owners) > 0 {
				fmt.Fprintf(w, "PID\tCOMM\tLEAKED\tOLDEST\n")
			}
			for _, l := range s.CloseWait.Owners {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", pidText(l.PID), commText(l.Comm), l.Count, short(l.Oldest))
			}
		},
	}
	// Each section aligns its own columns; a blank line separates them.
	for i, section := range sections {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if i > 0 {
			fmt.Fprintln(tw)
		}
		section(tw)
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	}
	return nil
}

func exhaustionText(d *Destination) string {
	var s string
	switch {
	case d.Exhaustion < 0:
		return "-"
	case d.Exhaustion == 0:
		s = "exhausted"
	default:
		s = short(d.Exhaustion)
	}
	if d.Flagged {
		s += " !"
	}
	return s
}

func pidText(pid uint32) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprint(pid)
}

func commText(comm string) string {
	if comm == "" {
		return "-"
	}
	return comm
}

// short prints a duration with about three significant digits.
func short(d time.Duration) string {
	switch {
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		d = d.Round(10 * time.Nanosecond)
	}
	return d.String()
}
