package event

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// TimeLayout is RFC 3339 with a fixed nanosecond field, so lines sort and
// align as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendJSON appends e as one JSON object (no newline) in the field order of
// the contract. A stream of events should use one JSONEncoder instead,
// which formats each second's timestamp once.
func AppendJSON(b []byte, e *Event) []byte {
	var enc JSONEncoder
	return enc.Append(b, e)
}

// JSONEncoder encodes events as JSON Lines. Formatting a timestamp costs
// more than the rest of an event together, and a busy stream has thousands
// of events in each second, so the encoder keeps the current second's
// "2006-01-02T15:04:05" text. The zero value is ready; it is not safe for
// concurrent use.
type JSONEncoder struct {
	sec    int64
	prefix []byte
}

// Append appends e as one JSON object (no newline). It allocates nothing
// once the first event has been encoded: the hot path calls it once per
// event.
func (enc *JSONEncoder) Append(b []byte, e *Event) []byte {
	b = append(b, `{"time":"`...)
	b = enc.appendTime(b, e.WallNS)
	b = append(b, `","mono_ns":`...)
	b = strconv.AppendUint(b, e.MonoNS, 10)
	b = append(b, `,"kind":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	if e.Kind == KindLost {
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, e.Count, 10)
		return append(b, '}')
	}
	b = append(b, `,"family":`...)
	b = strconv.AppendUint(b, uint64(e.Family), 10)
	b = append(b, `,"laddr":"`...)
	b = e.Local().AppendTo(b)
	b = append(b, `","lport":`...)
	b = strconv.AppendUint(b, uint64(e.LPort), 10)
	b = append(b, `,"raddr":"`...)
	b = e.Remote().AppendTo(b)
	b = append(b, `","rport":`...)
	b = strconv.AppendUint(b, uint64(e.RPort), 10)
	b = append(b, `,"netns":`...)
	b = strconv.AppendUint(b, uint64(e.NetNS), 10)
	b = append(b, `,"pid":`...)
	b = strconv.AppendUint(b, uint64(e.PID), 10)
	b = append(b, `,"comm":`...)
	b = appendJSONString(b, e.Comm[:])
	b = append(b, `,"role":"`...)
	b = append(b, e.Role.String()...)
	b = append(b, '"')
	if e.Kind == KindState {
		b = append(b, `,"old":"`...)
		b = append(b, e.Old.String()...)
		b = append(b, `","new":"`...)
		b = append(b, e.New.String()...)
		b = append(b, '"')
	}
	if e.HasDur {
		b = append(b, `,"dur_ns":`...)
		b = strconv.AppendUint(b, e.DurNS, 10)
	}
	if e.Closer != CloserNone {
		b = append(b, `,"closer":"`...)
		b = append(b, e.Closer.String()...)
		b = append(b, '"')
	}
	if e.Substate != StateNone {
		b = append(b, `,"substate":"`...)
		b = append(b, e.Substate.String()...)
		b = append(b, '"')
	}
	if e.Kind == KindTWEnter || e.Kind == KindTWSubstate {
		b = append(b, `,"timeout_ns":`...)
		b = strconv.AppendUint(b, e.TimeoutNS, 10)
	}
	if e.Kind == KindTWExit {
		b = append(b, `,"cause":"`...)
		b = append(b, e.Cause.String()...)
		b = append(b, `","inferred":`...)
		b = strconv.AppendBool(b, e.Inferred)
		if e.Cause == CauseReused {
			b = append(b, `,"by_pid":`...)
			b = strconv.AppendUint(b, uint64(e.ByPID), 10)
			b = append(b, `,"by_comm":`...)
			b = appendJSONString(b, e.ByComm[:])
		}
	}
	return append(b, '}')
}

// appendTime appends ns in TimeLayout (UTC, nine fraction digits).
func (enc *JSONEncoder) appendTime(b []byte, ns int64) []byte {
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	if enc.prefix == nil || sec != enc.sec {
		enc.sec = sec
		enc.prefix = time.Unix(sec, 0).UTC().AppendFormat(enc.prefix[:0], "2006-01-02T15:04:05")
	}
	b = append(b, enc.prefix...)
	var digits [10]byte
	digits[0] = '.'
	for i := 9; i >= 1; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	b = append(b, digits[:]...)
	return append(b, 'Z')
}

// appendJSONString quotes a NUL-terminated command name. Command names are
// set by processes, so anything outside printable ASCII is escaped.
func appendJSONString(b []byte, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == 0:
			return append(b, '"')
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// jsonEvent mirrors the contract for decoding; AppendJSON is the encoder.
type jsonEvent struct {
	Time      time.Time `json:"time"`
	MonoNS    uint64    `json:"mono_ns"`
	Kind      string    `json:"kind"`
	Count     uint64    `json:"count"`
	Family    uint8     `json:"family"`
	LAddr     string    `json:"laddr"`
	LPort     uint16    `json:"lport"`
	RAddr     string    `json:"raddr"`
	RPort     uint16    `json:"rport"`
	NetNS     uint32    `json:"netns"`
	PID       uint32    `json:"pid"`
	Comm      string    `json:"comm"`
	Role      string    `json:"role"`
	Old       string    `json:"old"`
	New       string    `json:"new"`
	DurNS     *uint64   `json:"dur_ns"`
	Closer    string    `json:"closer"`
	Substate  string    `json:"substate"`
	TimeoutNS uint64    `json:"timeout_ns"`
	Cause     string    `json:"cause"`
	Inferred  bool      `json:"inferred"`
	ByPID     uint32    `json:"by_pid"`
	ByComm    string    `json:"by_comm"`
}

// ParseJSON decodes one line written by AppendJSON. It is the inverse used by
// tests and tools; lines of other kinds (hello, summary) are an error.
func ParseJSON(line []byte) (Event, error) {
	var j jsonEvent
	var e Event
	if err := json.Unmarshal(line, &j); err != nil {
		return e, err
	}
	k, ok := lookup(kindNames[:], j.Kind)
	if !ok || k == 0 {
		return e, fmt.Errorf("not an event line: kind %q", j.Kind)
	}
	e.Kind = Kind(k)
	e.WallNS = j.Time.UnixNano()
	e.MonoNS = j.MonoNS
	e.Count = j.Count
	if e.Kind == KindLost {
		return e, nil
	}
	la, err := netip.ParseAddr(j.LAddr)
	if err != nil {
		return e, fmt.Errorf("laddr: %w", err)
	}
	ra, err := netip.ParseAddr(j.RAddr)
	if err != nil {
		return e, fmt.Errorf("raddr: %w", err)
	}
	e.SetLocal(la)
	e.SetRemote(ra)
	e.LPort, e.RPort, e.NetNS, e.PID = j.LPort, j.RPort, j.NetNS, j.PID
	SetComm(&e.Comm, j.Comm)
	r, _ := lookup(roleNames[:], j.Role)
	e.Role = Role(r)
	old, _ := ParseState(j.Old)
	nw, _ := ParseState(j.New)
	sub, _ := ParseState(j.Substate)
	e.Old, e.New, e.Substate = old, nw, sub
	if j.DurNS != nil {
		e.HasDur, e.DurNS = true, *j.DurNS
	}
	c, _ := lookup(closerNames[:], j.Closer)
	e.Closer = Closer(c)
	e.TimeoutNS = j.TimeoutNS
	cause, _ := lookup(causeNames[:], j.Cause)
	e.Cause = Cause(cause)
	e.Inferred = j.Inferred
	e.ByPID = j.ByPID
	SetComm(&e.ByComm, j.ByComm)
	return e, nil
}

func lookup(names []string, s string) (int, bool) {
	for i, n := range names {
		if n == s {
			return i, true
		}
	}
	return 0, false
}
