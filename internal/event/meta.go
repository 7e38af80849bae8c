package event

import (
	"encoding/json"
	"time"
)

// Meta describes where and how a stream of events was captured. It is the
// `kind=hello` line of the JSON output and the header of a recording.
type Meta struct {
	Version string `json:"version"`
	Host    string `json:"host"`
	Kernel  string `json:"kernel"`
	// Backend names the attach backend that produced the events.
	Backend string `json:"backend"`
	// Hooks says, per hook group, what was attached and why another
	// backend was refused.
	Hooks []Hook `json:"hooks,omitempty"`
	// BootWallNS is the wall clock (Unix ns) at CLOCK_MONOTONIC zero:
	// WallNS = BootWallNS + MonoNS.
	BootWallNS int64 `json:"boot_wall_ns"`
	// StartWallNS is when capture began.
	StartWallNS int64 `json:"start_wall_ns"`
	// Sysctls holds the TIME_WAIT-related sysctls by their /proc/sys name
	// under net/ipv4 (tcp_tw_reuse, ip_local_port_range, ...).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Filter is the active filter in words, empty for none.
	Filter string `json:"filter,omitempty"`
}

// Hook is the outcome of attaching one hook group.
type Hook struct {
	Group   string `json:"group"`
	Backend string `json:"backend"`
	Note    string `json:"note,omitempty"`
}

// AppendHelloJSON appends the `kind=hello` line for m (no newline).
func AppendHelloJSON(b []byte, m *Meta) ([]byte, error) {
	hello := struct {
		Time string `json:"time"`
		Kind string `json:"kind"`
		*Meta
	}{time.Unix(0, m.StartWallNS).UTC().Format(TimeLayout), "hello", m}
	j, err := json.Marshal(hello)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}
