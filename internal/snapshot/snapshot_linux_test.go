package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/netns"
)

const clientCloses, serverCloses = 4, 2

// scene is a private netns with TIME_WAIT sockets of both substates on
// IPv4 and, when the kernel has it, IPv6.
type scene struct {
	name, path string
	listeners  []net.Listener
	holder     net.Conn    // a CLOSE_WAIT socket this process owns
	keep       []io.Closer // open until the test ends
	rounds     int
}

// newScene makes the netns, a listener per family and one round of
// connections (see round).
func newScene(t *testing.T) *scene {
	t.Helper()
	requirePrivileged(t)
	sc := &scene{name: privateNetNS(t)}
	sc.path = "/run/netns/" + sc.name
	t.Cleanup(func() {
		for _, c := range sc.keep {
			c.Close()
		}
	})
	inNetNS(t, sc.name, func() {
		for _, network := range networks() {
			ln, err := net.Listen(network.name, network.loopback)
			if err != nil {
				t.Fatalf("listening on %s: %v", network.loopback, err)
			}
			sc.keep = append(sc.keep, ln)
			sc.listeners = append(sc.listeners, ln)
		}
	})
	sc.round(t)
	return sc
}

// round makes, per family, clientCloses connections the client closes
// first (a tw in TIME_WAIT on the client side) and serverCloses the server
// closes first while the client keeps its end (a tw in FIN_WAIT2 on the
// server side, CLOSE_WAIT on the client's), and waits until the kernel
// counts every tw.
func (sc *scene) round(t *testing.T) {
	t.Helper()
	inNetNS(t, sc.name, func() {
		for _, ln := range sc.listeners {
			for range clientCloses {
				client, server := connect(t, ln)
				// Its side ends in TIME_WAIT once the server answers the
				// FIN with its own.
				client.Close()
				if _, err := io.ReadAll(server); err != nil {
					t.Fatalf("server reading to EOF: %v", err)
				}
				server.Close()
			}
			for range serverCloses {
				client, server := connect(t, ln)
				// The server's orphaned side becomes a tw in FIN_WAIT2
				// once the client's ACK arrives.
				server.Close()
				sc.keep = append(sc.keep, client)
				sc.holder = client
			}
		}
	})
	sc.rounds++
	want := sc.wantTW()
	waitFor(t, "the tw to appear", func() bool { return sockstatTW(t, sc.name) == want.Count })
}

// wantTW returns the tw the rounds so far made.
func (sc *scene) wantTW() aggregate.TWCount {
	n := sc.rounds * len(sc.listeners)
	return aggregate.TWCount{Count: n * (clientCloses + serverCloses), TimeWait: n * clientCloses, FinWait2: n * serverCloses}
}

// TestTakeMatchesKernel checks that Take lists what the kernel counts in
// /proc/net/sockstat and what ss shows, socket by socket.
func TestTakeMatchesKernel(t *testing.T) {
	sc := newScene(t)
	wantTW := sc.wantTW().Count
	socks, err := Take(sc.path)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}

	var tw, fw2 int
	for _, s := range socks {
		if s.IsTW() {
			tw++
			if s.Substate == event.FinWait2 {
				fw2++
			}
			if s.TimerNS == 0 || s.TimerNS > uint64(60*time.Second) {
				t.Errorf("tw %v timer %v, want within (0, 60s]", describe(&s), time.Duration(s.TimerNS))
			}
		}
	}
	if got := sockstatTW(t, sc.name); tw != got || tw != wantTW {
		t.Errorf("Take lists %d tw, sockstat counts %d, the test made %d", tw, got, wantTW)
	}
	if fw2 != sc.wantTW().FinWait2 {
		t.Errorf("Take lists %d tw in FIN_WAIT2, the test made %d", fw2, sc.wantTW().FinWait2)
	}

	var listed []string
	for _, s := range socks {
		listed = append(listed, describe(&s))
	}
	slices.Sort(listed)
	if shown := ssSockets(t, sc.name); !slices.Equal(listed, shown) {
		t.Errorf("Take lists\n  %s\nss shows\n  %s", strings.Join(listed, "\n  "), strings.Join(shown, "\n  "))
	}

	ino, err := netns.Inode(sc.path)
	if err != nil {
		t.Fatal(err)
	}
	local := sc.holder.LocalAddr().(*net.TCPAddr).AddrPort()
	found := false
	for _, s := range socks {
		if s.NetNS != ino {
			t.Errorf("%s in netns %d, want %d", describe(&s), s.NetNS, ino)
		}
		if s.State == event.CloseWait && netip.AddrPortFrom(s.Local(), s.LPort) == local {
			found = true
			if s.PID != uint32(os.Getpid()) || s.Inode == 0 {
				t.Errorf("%s owned by pid %d (inode %d), want this test, %d", describe(&s), s.PID, s.Inode, os.Getpid())
			}
		}
	}
	if !found {
		t.Errorf("no CLOSE_WAIT socket on %v in the snapshot", local)
	}
}

type network struct{ name, loopback string }

// networks returns the loopback networks to test: IPv4, and IPv6 when the
// kernel has it.
func networks() []network {
	nets := []network{{"tcp4", "127.0.0.1:0"}}
	if _, err := os.Stat("/proc/sys/net/ipv6"); err == nil {
		nets = append(nets, network{"tcp6", "[::1]:0"})
	}
	return nets
}

// connect dials ln and accepts, returning both ends.
func connect(t *testing.T, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatalf("dialing %v: %v", ln.Addr(), err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatalf("accepting: %v", err)
	}
	return client, server
}

// waitFor polls the kernel's view until cond holds, for at most 5 s: the
// last FIN and ACK are handled by the kernel after close() returns.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sockstatTW returns the tw count of /proc/net/sockstat inside the netns.
func sockstatTW(t *testing.T, name string) int {
	t.Helper()
	out := run(t, "ip", "netns", "exec", name, "cat", "/proc/net/sockstat")
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(fields); i += 2 {
			if fields[i] == "tw" {
				n, err := strconv.Atoi(fields[i+1])
				if err != nil {
					t.Fatalf("sockstat tw %q: %v", fields[i+1], err)
				}
				return n
			}
		}
	}
	t.Fatalf("no TCP tw in sockstat:\n%s", out)
	return 0
}

// ssSockets lists the TCP sockets `ss -tan` shows inside the netns, as
// describe prints them, sorted.
func ssSockets(t *testing.T, name string) []string {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs ss")
	}
	out := run(t, "ip", "netns", "exec", name, "ss", "-tanH")
	var socks []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		socks = append(socks, f[0]+" "+f[3]+" "+f[4])
	}
	slices.Sort(socks)
	return socks
}

// ssNames holds ss's state names that are not the kernel's with dashes.
var ssNames = map[event.State]string{event.Established: "ESTAB", event.FinWait1: "FIN-WAIT-1",
	event.FinWait2: "FIN-WAIT-2", event.Close: "UNCONN"}

// describe prints a socket as ss does: state, local, peer.
func describe(s *event.Socket) string {
	st := s.State
	if s.IsTW() {
		st = s.Substate
	}
	name := ssNames[st]
	if name == "" {
		name = strings.ReplaceAll(st.String(), "_", "-")
	}
	peer := netip.AddrPortFrom(s.Remote(), s.RPort).String()
	if s.RPort == 0 {
		peer = strings.TrimSuffix(peer, "0") + "*"
	}
	return fmt.Sprintf("%s %s %s", name, netip.AddrPortFrom(s.Local(), s.LPort), peer)
}

// TestSeedCountsLikeKernel seeds an aggregator from a snapshot, as twtrace
// does at start, and checks that its inventory is the kernel's from the
// first moment, with roles inferred from the listening ports.
func TestSeedCountsLikeKernel(t *testing.T) {
	sc := newScene(t)
	socks, err := Take(sc.path)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	ino, err := netns.Inode(sc.path)
	if err != nil {
		t.Fatal(err)
	}
	a := aggregate.New(aggregate.Config{})
	a.Seed(socks)
	s := a.Snapshot()
	want := sc.wantTW()
	if got := sockstatTW(t, sc.name); s.TW != want || got != want.Count {
		t.Errorf("tw = %+v, sockstat %d; want %+v", s.TW, got, want)
	}
	if got := s.CloseWait.Count; got != want.FinWait2 {
		t.Errorf("CLOSE_WAIT = %d, want %d", got, want.FinWait2)
	}
	// Servers' tw are on the listening ports, clients' towards them.
	var ports []aggregate.PortTW
	var dests []string
	for _, ln := range sc.listeners {
		addr := ln.Addr().(*net.TCPAddr).AddrPort()
		ports = append(ports, aggregate.PortTW{NetNS: ino, Port: addr.Port(), TW: serverCloses})
		dests = append(dests, fmt.Sprintf("%v held %d (tw %d)", addr, clientCloses+serverCloses, clientCloses))
	}
	slices.SortFunc(ports, func(x, y aggregate.PortTW) int { return cmp.Compare(x.Port, y.Port) })
	got := slices.Clone(s.TopLocalPorts)
	slices.SortFunc(got, func(x, y aggregate.PortTW) int { return cmp.Compare(x.Port, y.Port) })
	if !slices.Equal(got, ports) {
		t.Errorf("tw by local port = %v, want %v", got, ports)
	}
	var gotDests []string
	for _, d := range s.Destinations {
		gotDests = append(gotDests, fmt.Sprintf("%v held %d (tw %d)", d.Remote, d.Held, d.TW))
	}
	slices.Sort(gotDests)
	slices.Sort(dests)
	if !slices.Equal(gotDests, dests) {
		t.Errorf("destinations = %v, want %v", gotDests, dests)
	}
}

// TestExhaustionFlagged narrows the ephemeral range in a private netns,
// connects to one destination until connect() fails with EADDRNOTAVAIL,
// and checks that the aggregate seeded from a snapshot shows every port of
// the range held and the destination flagged.
func TestExhaustionFlagged(t *testing.T) {
	requirePrivileged(t)
	name := privateNetNS(t)
	run(t, "ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40009")
	run(t, "ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=0")
	const rangeSize = 10

	connected := 0
	var failure error
	inNetNS(t, name, func() {
		// The listener's port is outside the range, so all of it is
		// left to connect().
		ln, err := net.Listen("tcp4", "127.0.0.1:5001")
		if err != nil {
			t.Fatalf("listening: %v", err)
		}
		defer ln.Close()
		for range 2 * rangeSize {
			client, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				failure = err
				return
			}
			connected++
			server, err := ln.Accept()
			if err != nil {
				t.Fatalf("accepting: %v", err)
			}
			client.Close()
			if _, err := io.ReadAll(server); err != nil {
				t.Fatalf("server reading to EOF: %v", err)
			}
			server.Close()
		}
	})
	if !errors.Is(failure, syscall.EADDRNOTAVAIL) || connected != rangeSize {
		t.Fatalf("connected %d times, then %v; want %d, then EADDRNOTAVAIL", connected, failure, rangeSize)
	}

	path := "/run/netns/" + name
	socks, err := Take(path)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	ino, err := netns.Inode(path)
	if err != nil {
		t.Fatal(err)
	}
	a := aggregate.New(aggregate.Config{PortRanges: map[uint32]aggregate.PortRange{ino: {Lo: 40000, Hi: 40009}}})
	a.Seed(socks)
	dests := a.Summary().Destinations
	if len(dests) != 1 {
		t.Fatalf("destinations = %+v, want one", dests)
	}
	d := dests[0]
	if d.Remote.String() != "127.0.0.1:5001" || d.Held != rangeSize || d.Range != rangeSize || d.Exhaustion != 0 || !d.Flagged {
		t.Errorf("destination = %+v, want 127.0.0.1:5001 holding %d of %d, exhausted and flagged", d, rangeSize, rangeSize)
	}
}
