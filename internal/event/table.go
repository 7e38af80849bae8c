package event

import (
	"strconv"
	"time"
)

// TableHeader is the first line of `-o table` output.
const TableHeader = "TIME         PID    COMM       EVENT                  CONNECTION"

// AppendTable appends e as one aligned line of `-o table` output (no
// newline). Columns up to CONNECTION have fixed widths; the connection and
// the details that follow vary with the addresses.
func AppendTable(b []byte, e *Event) []byte {
	b = time.Unix(0, e.WallNS).UTC().AppendFormat(b, "15:04:05.000")
	b = append(b, ' ')
	if e.Kind == KindLost {
		b = append(b, "-      -          "...)
		b = pad(append(b, "LOST"...), 4, 23)
		b = strconv.AppendUint(b, e.Count, 10)
		return append(b, " events the kernel could not deliver"...)
	}
	start := len(b)
	if e.PID != 0 {
		b = strconv.AppendUint(b, uint64(e.PID), 10)
	} else {
		b = append(b, '-')
	}
	b = pad(b, len(b)-start, 7)
	start = len(b)
	comm := e.Comm[:]
	if n := clen(comm); n > 0 {
		if n > 10 {
			n = 10
		}
		b = appendPrintable(b, comm[:n])
	} else {
		b = append(b, '-')
	}
	b = pad(b, len(b)-start, 11)
	start = len(b)
	switch e.Kind {
	case KindState:
		b = append(b, e.Old.String()...)
		b = append(b, '>')
		b = append(b, e.New.String()...)
	case KindTWEnter:
		b = append(b, "TW enter "...)
		b = append(b, e.Substate.String()...)
	case KindTWSubstate:
		b = append(b, "TW >"...)
		b = append(b, e.Substate.String()...)
	case KindTWExit:
		b = append(b, "TW exit "...)
		b = append(b, e.Cause.String()...)
		if e.Inferred {
			b = append(b, '?')
		}
	case KindTWOverflow:
		b = append(b, "TW OVERFLOW"...)
	}
	b = pad(b, len(b)-start, 23)
	b = appendEndpoint(b, e.Local().String(), e.LPort, e.Family)
	b = append(b, '>')
	b = appendEndpoint(b, e.Remote().String(), e.RPort, e.Family)
	if e.Closer != CloserNone {
		b = append(b, ' ')
		b = append(b, e.Closer.String()...)
	}
	if e.HasDur {
		b = append(b, ' ')
		b = appendDuration(b, e.DurNS)
	}
	if e.Kind == KindTWEnter || e.Kind == KindTWSubstate {
		b = append(b, " timeout="...)
		b = appendDuration(b, e.TimeoutNS)
	}
	if e.Cause == CauseReused {
		b = append(b, " by="...)
		b = strconv.AppendUint(b, uint64(e.ByPID), 10)
		b = append(b, '/')
		b = appendPrintable(b, e.ByComm[:clen(e.ByComm[:])])
	}
	return b
}

func appendEndpoint(b []byte, addr string, port uint16, family uint8) []byte {
	if family == 6 {
		b = append(b, '[')
		b = append(b, addr...)
		b = append(b, ']')
	} else {
		b = append(b, addr...)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// appendDuration prints a duration with three significant decimals at most.
func appendDuration(b []byte, ns uint64) []byte {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return append(b, d.String()...)
}

func pad(b []byte, used, width int) []byte {
	for ; used < width; used++ {
		b = append(b, ' ')
	}
	if used == width {
		return b
	}
	return append(b, ' ')
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

func appendPrintable(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}
