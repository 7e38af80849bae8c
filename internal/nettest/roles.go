//go:build linux

package nettest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The roles a helper process can play (see Start). Each is bounded by a
// connection count and a -timeout deadline, prints "ready" once it is set
// up, one "conn LOCAL REMOTE" line per connection, and exits by itself.
func runRole(role string, args []string) error {
	switch role {
	case "server":
		return runServer(args)
	case "client":
		return runClient(args)
	case "fork":
		return runFork(args)
	}
	return fmt.Errorf("unknown role %q (want server, client or fork)", role)
}

// The exchange on every connection: the client sends request, the server
// answers reply, then each side closes as its -close mode says.
var (
	request = []byte("ping\n")
	reply   = []byte("pong\n")
)

// Close modes, for either side:
//
//	first     close() right after the exchange, without waiting for the
//	          peer: the socket is orphaned. Until the peer's FIN comes it
//	          waits in FIN_WAIT2, as a full socket or as a tw in substate
//	          FIN_WAIT2, depending on whether the ACK of its FIN arrived
//	          while close() still held the socket lock.
//	shutdown  shutdown(SHUT_WR) first, then wait for the peer's FIN, then
//	          close(): closes first, but the process still holds the
//	          socket, so its tw is born in substate TIME_WAIT.
//	second    wait for the peer's FIN (CLOSE_WAIT), then close().
//	linger0   SO_LINGER {1, 0} then close(): an RST instead of a FIN, no tw.
//
// -hold D pauses for D before closing: in CLOSE_WAIT for "second", still
// ESTABLISHED for the others.
var closeModes = map[string]bool{"first": true, "shutdown": true, "second": true, "linger0": true}

// connFlags are the flags shared by the server and client roles.
type connFlags struct {
	addr    string
	n       int
	close   string
	delay   time.Duration
	hold    time.Duration
	timeout time.Duration
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "server address")
	fs.IntVar(&c.n, "n", 1, "connections to handle, one after the other")
	fs.StringVar(&c.close, "close", "first", "close mode: first, shutdown, second or linger0")
	fs.DurationVar(&c.delay, "delay", 0, "pause after connect/accept, before the exchange")
	fs.DurationVar(&c.hold, "hold", 0, "pause before closing")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "deadline for the whole role")
}

func (c *connFlags) check() error {
	if !closeModes[c.close] {
		return fmt.Errorf("-close %q: want first, shutdown, second or linger0", c.close)
	}
	if c.n < 1 {
		return fmt.Errorf("-n %d: want at least 1", c.n)
	}
	return nil
}

func parseServer(args []string) (connFlags, error) {
	var c connFlags
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.check()
}

// listenerEnv marks a worker that inherited its listening socket as fd 3
// from a fork master.
const listenerEnv = "TWTRACE_NETTEST_LISTENER_FD"

func runServer(args []string) error {
	c, err := parseServer(args)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(c.timeout)
	var ln *net.TCPListener
	if os.Getenv(listenerEnv) != "" {
		ln, err = inheritedListener()
	} else {
		ln, err = listen(c.addr)
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := ln.SetDeadline(deadline); err != nil {
		return err
	}
	fmt.Println("ready")
	for i := 0; i < c.n; i++ {
		conn, err := ln.AcceptTCP()
		if err != nil {
			return fmt.Errorf("accepting connection %d: %w", i+1, err)
		}
		if err := exchange(conn, c, deadline, true); err != nil {
			return fmt.Errorf("connection %d (%s): %w", i+1, conn.RemoteAddr(), err)
		}
	}
	return nil
}

func listen(addr string) (*net.TCPListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	return ln.(*net.TCPListener), nil
}

func inheritedListener() (*net.TCPListener, error) {
	f := os.NewFile(3, "listener")
	defer f.Close() // FileListener holds its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited listener: %w", err)
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("inherited listener is %T, not TCP", ln)
	}
	return tl, nil
}

func runClient(args []string) error {
	var c connFlags
	var bind int
	var reuseAddr bool
	var gap time.Duration
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	c.register(fs)
	fs.IntVar(&bind, "bind", 0, "bind this local port before connecting (0: an ephemeral port)")
	fs.BoolVar(&reuseAddr, "reuseaddr", false, "set SO_REUSEADDR before binding, to take a port a tw holds")
	fs.DurationVar(&gap, "gap", 0, "pause between connections (to let a tw age past tcp_tw_reuse_delay, say)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	deadline := time.Now().Add(c.timeout)
	d := net.Dialer{Deadline: deadline}
	if bind != 0 {
		d.LocalAddr = &net.TCPAddr{Port: bind}
	}
	if reuseAddr {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return SetsockoptInt(rc, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
	}
	fmt.Println("ready")
	for i := 0; i < c.n; i++ {
		if i > 0 {
			if err := pause(gap, deadline); err != nil {
				return err
			}
		}
		nc, err := d.Dial("tcp", c.addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if err := exchange(nc.(*net.TCPConn), c, deadline, false); err != nil {
			return fmt.Errorf("connection %d (%s): %w", i+1, nc.LocalAddr(), err)
		}
	}
	return nil
}

// exchange is a connection's life after connect or accept: the request
// and reply, then the close its mode asks for. The connection is closed
// when exchange returns, whatever happened.
func exchange(conn *net.TCPConn, c connFlags, deadline time.Time, server bool) error {
	fmt.Printf("conn %s %s\n", conn.LocalAddr(), conn.RemoteAddr())
	err := converse(conn, c, deadline, server)
	if err == nil {
		err = finish(conn, c.close, c.hold, deadline)
	}
	if err != nil {
		conn.Close()
	}
	return err
}

func converse(conn *net.TCPConn, c connFlags, deadline time.Time, server bool) error {
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if err := pause(c.delay, deadline); err != nil {
		return err
	}
	if server {
		if err := expect(conn, request); err != nil {
			return fmt.Errorf("reading request: %w", err)
		}
		if _, err := conn.Write(reply); err != nil {
			return fmt.Errorf("writing reply: %w", err)
		}
		return nil
	}
	if _, err := conn.Write(request); err != nil {
		return fmt.Errorf("writing request: %w", err)
	}
	if err := expect(conn, reply); err != nil {
		return fmt.Errorf("reading reply: %w", err)
	}
	return nil
}

// expect reads exactly len(want) bytes and checks they are want.
func expect(conn *net.TCPConn, want []byte) error {
	got := make([]byte, len(want))
	if _, err := io.ReadFull(conn, got); err != nil {
		return err
	}
	if string(got) != string(want) {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// finish closes conn the way mode says (see closeModes). On error the
// caller closes it.
func finish(conn *net.TCPConn, mode string, hold time.Duration, deadline time.Time) error {
	if mode == "second" {
		if err := awaitPeerClose(conn); err != nil {
			return err
		}
	}
	if err := pause(hold, deadline); err != nil {
		return err
	}
	switch mode {
	case "shutdown":
		if err := conn.CloseWrite(); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		if err := awaitPeerClose(conn); err != nil {
			return err
		}
	case "linger0":
		if err := conn.SetLinger(0); err != nil {
			return fmt.Errorf("SO_LINGER: %w", err)
		}
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// awaitPeerClose reads until the peer's FIN. A reset counts as the peer
// closing too: that is what a linger0 peer does.
func awaitPeerClose(conn *net.TCPConn) error {
	var b [64]byte
	for {
		n, err := conn.Read(b[:])
		if n > 0 {
			return fmt.Errorf("waiting for the peer to close: unexpected data %q", b[:n])
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("waiting for the peer to close: %w", err)
		}
	}
}

// pause sleeps for d unless that would pass the deadline.
func pause(d time.Duration, deadline time.Time) error {
	if d <= 0 {
		return nil
	}
	if time.Now().Add(d).After(deadline) {
		return fmt.Errorf("pausing %v would pass the -timeout deadline", d)
	}
	time.Sleep(d)
	return nil
}

// runFork is an nginx-like master: it starts -n workers, each a re-exec of
// this binary under the same process name playing the role after "--".
// For "server" it listens itself and hands the listening socket to every
// worker (as fd 3), so workers share one accept queue the way nginx's do.
// It prints "worker PID" per worker and "ready" once every worker is, then
// passes the workers' output on and waits for all of them.
func runFork(args []string) error {
	fs := flag.NewFlagSet("fork", flag.ContinueOnError)
	workers := fs.Int("n", 2, "number of workers")
	timeout := fs.Duration("timeout", time.Minute, "deadline for the workers to become ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "fork" || *workers < 1 {
		return fmt.Errorf("usage: fork -n N -- server|client args...")
	}
	role, roleArgs := rest[0], rest[1:]
	env := append(os.Environ(), RoleEnv+"="+role)
	var extra []*os.File
	if role == "server" {
		c, err := parseServer(roleArgs)
		if err != nil {
			return err
		}
		ln, err := listen(c.addr)
		if err != nil {
			return err
		}
		f, err := ln.File()
		ln.Close()
		if err != nil {
			return fmt.Errorf("sharing the listener: %w", err)
		}
		defer f.Close()
		extra = []*os.File{f}
		env = append(env, listenerEnv+"=3")
	}

	var outMu sync.Mutex
	forward := func(line string) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Println(line)
	}
	type worker struct {
		cmd  *exec.Cmd
		out  *lineWriter
		done chan error
	}
	ws := make([]worker, *workers)
	killAll := func() {
		for _, w := range ws {
			if w.cmd != nil && w.cmd.Process != nil {
				w.cmd.Process.Kill()
			}
		}
	}
	for i := range ws {
		w := worker{cmd: exec.Command(os.Args[0], roleArgs...), out: newLineWriter(), done: make(chan error, 1)}
		w.out.forward = forward
		w.cmd.Env = env
		w.cmd.ExtraFiles = extra
		w.cmd.Stdout = w.out
		w.cmd.Stderr = os.Stderr
		if err := w.cmd.Start(); err != nil {
			killAll()
			return fmt.Errorf("starting worker %d: %w", i+1, err)
		}
		go func() { w.done <- w.cmd.Wait() }()
		ws[i] = w
	}
	readyBy := time.After(*timeout)
	for i, w := range ws {
		select {
		case <-w.out.ready:
		case err := <-w.done:
			killAll()
			return fmt.Errorf("worker %d exited before it was ready: %v", i+1, err)
		case <-readyBy:
			killAll()
			return fmt.Errorf("workers not ready after %v", *timeout)
		}
	}
	for _, w := range ws {
		forward("worker " + strconv.Itoa(w.cmd.Process.Pid))
	}
	forward("ready")
	var errs []error
	for i, w := range ws {
		if err := <-w.done; err != nil {
			errs = append(errs, fmt.Errorf("worker %d (pid %d): %w", i+1, w.cmd.Process.Pid, err))
		}
	}
	return errors.Join(errs...)
}

// SetsockoptInt sets an integer option on rc's socket, for the options the
// standard library has no call for (SO_REUSEADDR before a connect,
// TCP_QUICKACK).
func SetsockoptInt(rc syscall.RawConn, level, opt, value int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, value) }); err != nil {
		return err
	}
	return serr
}
