// Package filter holds what the user asked to see (--pid, --pname,
// --children, -L, -D, -4/-6, --netns) in one value. The live tracer turns
// it into in-kernel filters; replay and the startup snapshot apply the same
// rules here, so a filter means the same thing everywhere.
package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/twtrace/twtrace/internal/event"
)

// Filter selects sockets. The zero value selects everything; conditions
// of different kinds must all hold, values of one kind are alternatives.
type Filter struct {
	PIDs     []uint32 // owner process IDs
	Names    []string // owner process names (comm), at most 15 bytes each
	Children bool     // also the descendants of PIDs
	LPorts   []uint16 // local ports
	RPorts   []uint16 // remote ports
	Family   uint8    // 4 or 6; 0 = both
	NetNS    uint32   // network namespace inode; 0 = all
	// NetNSName is how the user named the namespace, for display.
	NetNSName string
}

// commLen is the kernel's limit on process names, without the NUL.
const commLen = 15

// AddOwners parses --pid values: comma-separated PIDs or process names.
// A number is a PID; anything else a name. Names longer than the kernel
// keeps are refused rather than silently never matching.
func (f *Filter) AddOwners(values []string, namesOnly bool) error {
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				return errors.New("empty process name or PID")
			}
			if n, err := strconv.ParseUint(item, 10, 32); err == nil && !namesOnly {
				if n == 0 {
					return errors.New("PID 0 is not a process")
				}
				f.PIDs = append(f.PIDs, uint32(n))
				continue
			}
			if len(item) > commLen {
				return fmt.Errorf("process name %q is longer than the %d characters the kernel keeps: use %q", item, commLen, item[:commLen])
			}
			f.Names = append(f.Names, item)
		}
	}
	return nil
}

// ParsePorts parses comma-separated port lists (-L, -D).
func ParsePorts(values []string) ([]uint16, error) {
	var ports []uint16
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(item), 10, 16)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("invalid port %q: want 1-65535", item)
			}
			ports = append(ports, uint16(n))
		}
	}
	return ports, nil
}

// Owners reports whether the filter selects by owner.
func (f *Filter) Owners() bool { return len(f.PIDs) > 0 || len(f.Names) > 0 }

// Active reports whether the filter selects anything less than everything.
func (f *Filter) Active() bool {
	return f.Owners() || len(f.LPorts) > 0 || len(f.RPorts) > 0 || f.Family != 0 || f.NetNS != 0
}

// MatchEvent applies the filter to an event, as the kernel side does live:
// the owner must be known and match, the ports and family must match.
// Descendants (--children) cannot be told from a recording: only the
// listed PIDs match there.
func (f *Filter) MatchEvent(e *event.Event) bool {
	if e.Kind == event.KindLost {
		return true // losses concern every filter
	}
	return f.match(e.PID, e.CommString(), e.Family, e.LPort, e.RPort, e.NetNS)
}

// MatchSocket applies the filter to a startup-snapshot socket, whose owner
// is the process holding its inode (none for a tw).
func (f *Filter) MatchSocket(s *event.Socket) bool {
	return f.match(s.PID, event.CString(s.Comm[:]), s.Family, s.LPort, s.RPort, s.NetNS)
}

func (f *Filter) match(pid uint32, comm string, family uint8, lport, rport uint16, netns uint32) bool {
	if f.NetNS != 0 && netns != f.NetNS {
		return false
	}
	if f.Family != 0 && family != f.Family {
		return false
	}
	if len(f.LPorts) > 0 && !contains(f.LPorts, lport) {
		return false
	}
	if len(f.RPorts) > 0 && !contains(f.RPorts, rport) {
		return false
	}
	if f.Owners() && (pid == 0 || !(contains(f.PIDs, pid) || contains(f.Names, comm))) {
		return false
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// String describes the filter in the command line's own terms, for the
// UI header and the hello line; empty when nothing is filtered.
func (f *Filter) String() string {
	var parts []string
	if f.Owners() {
		var owners []string
		for _, p := range f.PIDs {
			owners = append(owners, strconv.FormatUint(uint64(p), 10))
		}
		owners = append(owners, f.Names...)
		parts = append(parts, "pid "+strings.Join(owners, ","))
		if f.Children {
			parts = append(parts, "with children")
		}
	}
	if len(f.LPorts) > 0 {
		parts = append(parts, "lport "+joinPorts(f.LPorts))
	}
	if len(f.RPorts) > 0 {
		parts = append(parts, "rport "+joinPorts(f.RPorts))
	}
	if f.Family != 0 {
		parts = append(parts, "IPv"+strconv.Itoa(int(f.Family)))
	}
	if f.NetNS != 0 {
		name := f.NetNSName
		if name == "" {
			name = strconv.FormatUint(uint64(f.NetNS), 10)
		}
		parts = append(parts, "netns "+name)
	}
	return strings.Join(parts, " ")
}

func joinPorts(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.FormatUint(uint64(p), 10)
	}
	return strings.Join(s, ",")
}
