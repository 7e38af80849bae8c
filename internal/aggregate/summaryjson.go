package aggregate

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

// AppendSummaryJSON appends s as the `kind=summary` line (no newline).
// Durations are in nanoseconds, like dur_ns in event lines; state, closer
// and cause names are the event contract's.
func AppendSummaryJSON(b []byte, s *Summary) ([]byte, error) {
	j := summaryJSON{
		Kind:   "summary",
		MonoNS: s.MonoNS,
		TW:     twJSON{s.TW.Count, s.TW.TimeWait, s.TW.FinWait2},
		Lost:   s.Lost, Overflow: s.Overflow, Missed: s.Missed,
		TopOwners:    make([]ownerJSON, len(s.TopOwners)),
		Destinations: make([]destJSON, len(s.Destinations)),
		CloseWait: closeWaitJSON{
			Count:       s.CloseWait.Count,
			Leaked:      s.CloseWait.Leaked,
			ThresholdNS: int64(s.CloseWait.Threshold),
			Owners:      make([]leakJSON, len(s.CloseWait.Owners)),
		},
	}
	if s.WallNS != 0 {
		j.Time = time.Unix(0, s.WallNS).UTC().Format(event.TimeLayout)
	}
	for _, d := range s.States {
		j.States = append(j.States, field{d.State.String(), durJSON{d.Count, int64(d.P50), int64(d.P90), int64(d.P99), int64(d.Max)}})
	}
	for c := event.CloserLocal; c <= event.CloserUnknown; c++ {
		j.Closers = append(j.Closers, field{c.String(), s.Closers[c]})
	}
	for c := event.CauseExpired; c <= event.CauseUnknown; c++ {
		j.Causes = append(j.Causes, field{c.String(), s.Causes[c]})
	}
	for i, o := range s.TopOwners {
		j.TopOwners[i] = ownerJSON{o.PID, o.Comm, o.TW}
	}
	for i, d := range s.Destinations {
		j.Destinations[i] = destJSON{
			NetNS: d.NetNS, LAddr: d.Local.String(), RAddr: d.Remote.Addr().String(), RPort: d.Remote.Port(),
			Held: d.Held, Live: d.Live, TW: d.TW, Range: d.Range,
			CreatePerS: d.CreatePerSec, ReleasePerS: d.ReleasePerSec, ReusePerS: d.ReusePerSec,
			Flagged: d.Flagged,
		}
		if d.Exhaustion >= 0 {
			ns := int64(d.Exhaustion)
			j.Destinations[i].ExhaustionNS = &ns
		}
	}
	for i, l := range s.CloseWait.Owners {
		j.CloseWait.Owners[i] = leakJSON{l.PID, l.Comm, l.Count, int64(l.Oldest)}
	}
	out, err := json.Marshal(&j)
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}

type summaryJSON struct {
	Kind         string        `json:"kind"`
	Time         string        `json:"time,omitempty"`
	MonoNS       uint64        `json:"mono_ns"`
	TW           twJSON        `json:"tw"`
	States       object        `json:"states"`
	Closers      object        `json:"closers"`
	Causes       object        `json:"causes"`
	TopOwners    []ownerJSON   `json:"top_owners"`
	Destinations []destJSON    `json:"destinations"`
	CloseWait    closeWaitJSON `json:"close_wait"`
	Lost         uint64        `json:"lost"`
	Overflow     uint64        `json:"overflow"`
	Missed       uint64        `json:"missed"`
}

type twJSON struct {
	Count    int `json:"count"`
	TimeWait int `json:"time_wait"`
	FinWait2 int `json:"fin_wait2"`
}

type durJSON struct {
	Count uint64 `json:"count"`
	P50   int64  `json:"p50_ns"`
	P90   int64  `json:"p90_ns"`
	P99   int64  `json:"p99_ns"`
	Max   int64  `json:"max_ns"`
}

type ownerJSON struct {
	PID  uint32 `json:"pid"`
	Comm string `json:"comm"`
	TW   int    `json:"tw"`
}

type destJSON struct {
	NetNS        uint32  `json:"netns"`
	LAddr        string  `json:"laddr"`
	RAddr        string  `json:"raddr"`
	RPort        uint16  `json:"rport"`
	Held         int     `json:"held"`
	Live         int     `json:"live"`
	TW           int     `json:"tw"`
	Range        int     `json:"range"`
	CreatePerS   float64 `json:"create_per_s"`
	ReleasePerS  float64 `json:"release_per_s"`
	ReusePerS    float64 `json:"reuse_per_s"`
	ExhaustionNS *int64  `json:"exhaustion_ns,omitempty"`
	Flagged      bool    `json:"flagged"`
}

type closeWaitJSON struct {
	Count       int        `json:"count"`
	Leaked      int        `json:"leaked"`
	ThresholdNS int64      `json:"threshold_ns"`
	Owners      []leakJSON `json:"owners"`
}

type leakJSON struct {
	PID      uint32 `json:"pid"`
	Comm     string `json:"comm"`
	Count    int    `json:"count"`
	OldestNS int64  `json:"oldest_ns"`
}

// object is a JSON object whose keys keep their order (lifecycle order for
// states, the enum's for closers and causes), which a Go map would sort.
type object []field

type field struct {
	name  string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
