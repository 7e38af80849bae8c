//go:build linux

package nettest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// twLocalPorts returns the local ports of the sockets `ss` lists in
// TIME_WAIT inside ns.
func twLocalPorts(t *testing.T, ns *NS) []int {
	t.Helper()
	var ports []int
	for _, line := range strings.Split(strings.TrimSpace(ns.SS(t, "-Htan", "state", "time-wait")), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		// Recv-Q Send-Q Local:Port Peer:Port (the state column is omitted
		// when filtering on a state).
		local := f[2]
		port, err := strconv.Atoi(local[strings.LastIndexByte(local, ':')+1:])
		if err != nil {
			t.Fatalf("ss line %q: %v", line, err)
		}
		ports = append(ports, port)
	}
	return ports
}

// run starts a server and then a client in ns and waits for both.
func run(t *testing.T, ns *NS, serverArgs, clientArgs []string) (srv, cli *Proc) {
	t.Helper()
	srv = ns.Start(t, "twt-server", "server", serverArgs...)
	srv.Ready(t)
	cli = ns.Start(t, "twt-client", "client", clientArgs...)
	cli.Wait(t)
	srv.Wait(t)
	return srv, cli
}

func TestClientClosesFirst(t *testing.T) {
	ns := NewNS(t)
	const n = 5
	run(t, ns,
		[]string{"-addr", "127.0.0.1:7001", "-n", fmt.Sprint(n), "-close", "second"},
		[]string{"-addr", "127.0.0.1:7001", "-n", fmt.Sprint(n), "-close", "first"})
	ns.AwaitTW(t, n)
	ports := twLocalPorts(t, ns)
	if len(ports) != n {
		t.Fatalf("ss lists %d TIME_WAIT sockets, want %d", len(ports), n)
	}
	for _, p := range ports {
		if p == 7001 {
			t.Errorf("a TIME_WAIT socket is on the server's port")
		}
	}
}

// TestIPv6 runs the roles over ::1, which the kernel puts on lo when it
// comes up, for the tracer's -6 tests.
func TestIPv6(t *testing.T) {
	ns := NewNS(t)
	const n = 2
	run(t, ns,
		[]string{"-addr", "[::1]:7008", "-n", fmt.Sprint(n), "-close", "second"},
		[]string{"-addr", "[::1]:7008", "-n", fmt.Sprint(n), "-close", "first"})
	ns.AwaitTW(t, n)
	if out := ns.SS(t, "-Htan6", "state", "time-wait"); strings.Count(out, "[::1]:") != 2*n {
		t.Errorf("want %d IPv6 TIME_WAIT sockets:\n%s", n, out)
	}
}

func TestServerClosesFirst(t *testing.T) {
	ns := NewNS(t)
	const n = 4
	_, cli := run(t, ns,
		[]string{"-addr", "127.0.0.1:7002", "-n", fmt.Sprint(n), "-close", "shutdown"},
		[]string{"-addr", "127.0.0.1:7002", "-n", fmt.Sprint(n), "-close", "second", "-hold", "20ms"})
	ns.AwaitTW(t, n)
	ports := twLocalPorts(t, ns)
	if len(ports) != n {
		t.Fatalf("ss lists %d TIME_WAIT sockets, want %d", len(ports), n)
	}
	for _, p := range ports {
		if p != 7002 {
			t.Errorf("TIME_WAIT socket on port %d, want the server's 7002", p)
		}
	}
	if got := strings.Count(cli.Stdout(), "conn 127.0.0.1:"); got != n {
		t.Errorf("client printed %d conn lines, want %d:\n%s", got, n, cli.Stdout())
	}
}

// TestOrphanedCloseHoldsCloseWait checks the "-close first" server (plain
// close(), socket orphaned) against a client holding CLOSE_WAIT: while the
// client holds, the server's side sits in FIN_WAIT2 (as an orphaned full
// socket or as a FIN_WAIT2 tw, depending on when the ACK of its FIN was
// processed); after the client closes it is TIME_WAIT.
func TestOrphanedCloseHoldsCloseWait(t *testing.T) {
	ns := NewNS(t)
	srv := ns.Start(t, "twt-server", "server", "-addr", "127.0.0.1:7003", "-close", "first")
	srv.Ready(t)
	cli := ns.Start(t, "twt-client", "client", "-addr", "127.0.0.1:7003", "-close", "second", "-hold", "2s")
	srv.Wait(t)
	// The server has closed; the client sits in CLOSE_WAIT for two
	// seconds. The server reaches FIN_WAIT2 once the client's delayed ACK
	// of the FIN (up to 200 ms) arrives.
	deadline := time.Now().Add(time.Second)
	for {
		cw := ns.SS(t, "-Htan", "state", "close-wait", "dport", "7003")
		fw2 := ns.SS(t, "-Htan", "state", "fin-wait-2", "sport", "7003")
		if cw != "" && fw2 != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want the client in CLOSE_WAIT and the server in FIN_WAIT2:\n%s", ns.SS(t, "-tan"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// (sockstat cannot say which: its orphan count is the whole host's.)
	if s := ns.Sockstat(t); s.TW > 1 {
		t.Errorf("while the client holds: sockstat tw = %d, want at most 1", s.TW)
	}
	cli.Wait(t)
	ns.AwaitTW(t, 1)
	if ports := twLocalPorts(t, ns); len(ports) != 1 || ports[0] != 7003 {
		t.Errorf("TIME_WAIT local ports = %v, want [7003]", ports)
	}
}

func TestLinger0ResetsWithoutTW(t *testing.T) {
	ns := NewNS(t)
	const n = 3
	before := ns.TcpExt(t)["TCPAbortOnData"]
	run(t, ns,
		[]string{"-addr", "127.0.0.1:7004", "-n", fmt.Sprint(n), "-close", "second"},
		[]string{"-addr", "127.0.0.1:7004", "-n", fmt.Sprint(n), "-close", "linger0"})
	if s := ns.Sockstat(t); s.TW != 0 {
		t.Errorf("sockstat tw = %d after resets, want 0", s.TW)
	}
	// A zero-linger close is accounted as an abort in TcpExt.
	if got := ns.TcpExt(t)["TCPAbortOnData"] - before; got != n {
		t.Errorf("TCPAbortOnData grew by %d, want %d", got, n)
	}
}

func TestSysctlOverflowsTWTable(t *testing.T) {
	ns := NewNS(t)
	ns.SetSysctl(t, "net.ipv4.tcp_max_tw_buckets", "2")
	const n = 5
	before := ns.TcpExt(t)["TCPTimeWaitOverflow"]
	run(t, ns,
		[]string{"-addr", "127.0.0.1:7005", "-n", fmt.Sprint(n), "-close", "second"},
		[]string{"-addr", "127.0.0.1:7005", "-n", fmt.Sprint(n), "-close", "shutdown"})
	ns.AwaitTW(t, 2)
	if got := ns.TcpExt(t)["TCPTimeWaitOverflow"] - before; got != n-2 {
		t.Errorf("TCPTimeWaitOverflow grew by %d, want %d", got, n-2)
	}
}

// TestBindReusesTimeWaitPort has one client connect three times from the
// same local port: each connect takes over the tw its previous connection
// left (tcp_tw_reuse), so one tw remains and TWRecycled counts two.
func TestBindReusesTimeWaitPort(t *testing.T) {
	ns := NewNS(t)
	if _, err := os.Stat("/proc/sys/net/ipv4/tcp_tw_reuse_delay"); err != nil {
		t.Skip("no tcp_tw_reuse_delay before Linux 6.13: reuse waits a whole second")
	}
	ns.SetSysctl(t, "net.ipv4.tcp_tw_reuse", "1")
	ns.SetSysctl(t, "net.ipv4.tcp_tw_reuse_delay", "10") // ms
	before := ns.TcpExt(t)["TWRecycled"]
	_, cli := run(t, ns,
		[]string{"-addr", "127.0.0.1:7007", "-n", "3", "-close", "second"},
		[]string{"-addr", "127.0.0.1:7007", "-n", "3", "-close", "shutdown", "-bind", "40000", "-reuseaddr", "-gap", "50ms"})
	if got := strings.Count(cli.Stdout(), "conn 127.0.0.1:40000 127.0.0.1:7007"); got != 3 {
		t.Errorf("client connected %d times from port 40000, want 3:\n%s", got, cli.Stdout())
	}
	ns.AwaitTW(t, 1)
	if got := ns.TcpExt(t)["TWRecycled"] - before; got != 2 {
		t.Errorf("TWRecycled grew by %d, want 2", got)
	}
}

// TestForkSharesListener runs an nginx-like master whose workers share one
// listening socket, and checks every process, and every thread, is named
// as asked.
func TestForkSharesListener(t *testing.T) {
	ns := NewNS(t)
	const workers, each = 3, 4
	master := ns.Start(t, "nginx", "fork", "-n", fmt.Sprint(workers), "--",
		"server", "-addr", "127.0.0.1:7006", "-n", fmt.Sprint(each), "-close", "first")
	master.Ready(t)
	pids := master.Workers()
	if len(pids) != workers {
		t.Fatalf("master reported workers %v, want %d", pids, workers)
	}
	for _, pid := range append([]int{master.PID}, pids...) {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", pid))
		if err != nil || len(tasks) == 0 {
			t.Fatalf("threads of %d: %v", pid, err)
		}
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err != nil {
				t.Fatal(err)
			}
			if comm := strings.TrimSpace(string(b)); comm != "nginx" {
				t.Errorf("%s = %q, want nginx", task, comm)
			}
		}
	}
	cli := ns.Start(t, "twt-client", "client", "-addr", "127.0.0.1:7006",
		"-n", fmt.Sprint(workers*each), "-close", "second")
	cli.Wait(t)
	master.Wait(t)
	if got := strings.Count(master.Stdout(), "conn 127.0.0.1:7006 "); got != workers*each {
		t.Errorf("workers accepted %d connections, want %d:\n%s", got, workers*each, master.Stdout())
	}
	ns.AwaitTW(t, workers*each)
}

func TestDeleteRemovesNS(t *testing.T) {
	ns := NewNS(t)
	if ns.Inode == 0 {
		t.Error("Inode = 0")
	}
	if err := ns.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns.Path); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Delete: %v", ns.Path, err)
	}
	if err := ns.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}
