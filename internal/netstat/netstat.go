// Package netstat parses the kernel's TCP counters in /proc/net/netstat,
// /proc/net/snmp and /proc/net/sockstat. The files describe the network
// namespace of the process that opens them (with the exceptions noted on
// Sockstat), which is what tests running inside a private namespace rely
// on.
//
// twtrace uses them as the kernel's own view to check itself against: the
// sockstat "tw" count is the live TIME_WAIT population (both tw substates,
// unlike `ss state time-wait`), and TcpExt TCPTimeWaitOverflow counts the
// tw sockets that tcp_max_tw_buckets refused, and Tcp OutRsts the resets
// sent, one of which a tw killed by an RST needs.
package netstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Sockstat is the TCP line of /proc/net/sockstat. Only InUse and TW are
// counts of the reader's network namespace; the kernel keeps Orphan, Alloc
// and Mem for the whole host, so a test in a private namespace must not
// assert on them.
type Sockstat struct {
	InUse  uint64 // this netns: sockets in any state but TIME_WAIT and CLOSE (listeners too)
	Orphan uint64 // whole host: sockets no longer attached to a file, still finishing
	TW     uint64 // this netns: timewait sockets, in substate TIME_WAIT or FIN_WAIT2
	Alloc  uint64 // whole host: allocated full sockets
	Mem    uint64 // whole host: pages of TCP buffer memory
}

// ReadCounters parses /proc/net/netstat or /proc/net/snmp content and
// returns the counters of one section by name: section "TcpExt" of netstat
// (e.g. "TCPTimeWaitOverflow", "TW"), "Tcp" of snmp (e.g. "OutRsts"). Both
// files are made of pairs of lines, "Section: names..." then "Section:
// values...". The kernel writes -1 for a limit it does not have (Tcp
// MaxConn); such a field counts nothing and is left out.
func ReadCounters(r io.Reader, section string) (map[string]uint64, error) {
	header := section + ":"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		names := strings.Fields(sc.Text())
		if len(names) == 0 || names[0] != header {
			continue
		}
		if !sc.Scan() {
			break
		}
		values := strings.Fields(sc.Text())
		if len(values) != len(names) || values[0] != header {
			return nil, fmt.Errorf("netstat: %s has %d names but value line %q", section, len(names)-1, truncate(sc.Text()))
		}
		m := make(map[string]uint64, len(names)-1)
		for i := 1; i < len(names); i++ {
			if values[i] == "-1" {
				continue
			}
			v, err := strconv.ParseUint(values[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("netstat: %s %s: %w", section, names[i], err)
			}
			m[names[i]] = v
		}
		return m, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("netstat: reading: %w", err)
	}
	return nil, fmt.Errorf("netstat: no %s section", section)
}

// ReadSockstat parses /proc/net/sockstat content and returns its TCP line,
// "TCP: inuse 1 orphan 0 tw 3 alloc 1 mem 81". Keys the kernel may add
// later are ignored; a missing known key is an error, because a zero would
// be indistinguishable from a real count.
func ReadSockstat(r io.Reader) (Sockstat, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		if len(f)%2 != 1 {
			return Sockstat{}, fmt.Errorf("sockstat: odd TCP line %q", truncate(sc.Text()))
		}
		var s Sockstat
		fields := map[string]*uint64{"inuse": &s.InUse, "orphan": &s.Orphan, "tw": &s.TW, "alloc": &s.Alloc, "mem": &s.Mem}
		for i := 1; i < len(f); i += 2 {
			p, ok := fields[f[i]]
			if !ok {
				continue
			}
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return Sockstat{}, fmt.Errorf("sockstat: TCP %s: %w", f[i], err)
			}
			*p = v
			delete(fields, f[i])
		}
		for k := range fields {
			return Sockstat{}, fmt.Errorf("sockstat: TCP line lacks %q", k)
		}
		return s, nil
	}
	if err := sc.Err(); err != nil {
		return Sockstat{}, fmt.Errorf("sockstat: reading: %w", err)
	}
	return Sockstat{}, fmt.Errorf("sockstat: no TCP line")
}

// CurrentSockstat reads the TCP socket counts of the caller's network
// namespace. (It cannot be called Sockstat: that is the type's name.)
func CurrentSockstat() (Sockstat, error) {
	return readFile("/proc/net/sockstat", ReadSockstat)
}

func readFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f)
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
