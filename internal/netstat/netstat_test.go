package netstat

import (
	"io"
	"os"
	"strings"
	"testing"
)

// The testdata files were captured from Linux 6.18.44.
func TestReadCountersTcpExtCaptured(t *testing.T) {
	m := readSection(t, "testdata/netstat-6.18.txt", "TcpExt")
	for name, want := range map[string]uint64{
		"TW":                  46,
		"TCPTimeWaitOverflow": 0,
		"DelayedACKs":         9,
		"TCPPureAcks":         78,
		"TCPOrigDataSent":     2648,
		"TCPDelivered":        2695,
	} {
		got, ok := m[name]
		if !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", name, got, ok, want)
		}
	}
	// IpExt and MPTcpExt must not leak into the TcpExt map.
	for _, name := range []string{"InOctets", "MPCapableSYNRX"} {
		if _, ok := m[name]; ok {
			t.Errorf("TcpExt map holds %s from another section", name)
		}
	}
	if len(m) != 135 {
		t.Errorf("len = %d, want 135 counters", len(m))
	}
}

func TestReadCountersTcpCaptured(t *testing.T) {
	m := readSection(t, "testdata/snmp-6.18.txt", "Tcp")
	for name, want := range map[string]uint64{"RtoMin": 200, "ActiveOpens": 215, "OutRsts": 3} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", name, got, ok, want)
		}
	}
	// MaxConn is -1, no limit: not a count. Tcp must not take Udp's or
	// TcpExt's counters either (InDatagrams, TW).
	for _, name := range []string{"MaxConn", "InDatagrams", "TW"} {
		if v, ok := m[name]; ok {
			t.Errorf("the Tcp map holds %s = %d", name, v)
		}
	}
	if len(m) != 14 {
		t.Errorf("len = %d, want 14 counters", len(m))
	}
}

func TestReadCountersErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no section":     "IpExt: InNoRoutes\nIpExt: 0\n",
		"no value line":  "TcpExt: TW TWKilled\n",
		"short values":   "TcpExt: TW TWKilled\nTcpExt: 1\n",
		"not a number":   "TcpExt: TW\nTcpExt: x\n",
		"wrong pairing":  "TcpExt: TW\nIpExt: 1\n",
		"negative count": "TcpExt: TW\nTcpExt: -2\n",
	} {
		if _, err := ReadCounters(strings.NewReader(in), "TcpExt"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadSockstatCaptured(t *testing.T) {
	f, err := os.Open("testdata/sockstat-6.18.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSockstat(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Sockstat{InUse: 1, Orphan: 0, TW: 3, Alloc: 1, Mem: 81}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestReadSockstatErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no TCP line":  "sockets: used 12\nUDP: inuse 0 mem 0\n",
		"missing tw":   "TCP: inuse 1 orphan 0 alloc 1 mem 81\n",
		"odd fields":   "TCP: inuse 1 orphan\n",
		"not a number": "TCP: inuse 1 orphan 0 tw x alloc 1 mem 81\n",
	} {
		if _, err := ReadSockstat(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestReadSockstatIgnoresNewKeys keeps parsing working if a later kernel
// appends a key to the TCP line; TCP6 (IPv6 in-use count) is a separate
// line and must not be taken for it.
func TestReadSockstatIgnoresNewKeys(t *testing.T) {
	in := "TCP6: inuse 9\nTCP: inuse 2 orphan 1 tw 7 alloc 3 mem 4 future 5\n"
	s, err := ReadSockstat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Sockstat{InUse: 2, Orphan: 1, TW: 7, Alloc: 3, Mem: 4}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestLive(t *testing.T) {
	if _, err := os.Stat("/proc/net/sockstat"); err != nil {
		t.Skip("no /proc/net on this system")
	}
	if _, err := CurrentSockstat(); err != nil {
		t.Error(err)
	}
	for file, want := range map[string][2]string{
		"/proc/net/netstat": {"TcpExt", "TCPTimeWaitOverflow"},
		"/proc/net/snmp":    {"Tcp", "OutRsts"},
	} {
		if _, ok := readSection(t, file, want[0])[want[1]]; !ok {
			t.Errorf("live %s lacks %s", want[0], want[1])
		}
	}
}

// readSection reads one section of a netstat or snmp file.
func readSection(t *testing.T, path, section string) map[string]uint64 {
	t.Helper()
	m, err := readFile(path, func(r io.Reader) (map[string]uint64, error) { return ReadCounters(r, section) })
	if err != nil {
		t.Fatal(err)
	}
	return m
}
