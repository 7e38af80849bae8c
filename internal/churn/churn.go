// Package churn is twtrace's reference workload (notes/performance-anchors.md
// §1): a loopback server and N workers that loop connect → write 64 B →
// read 64 B → close as fast as they can, or at a fixed offered rate. Each
// connection makes exactly 10 sock:inet_sock_set_state transitions, and in
// either mode one TIME_WAIT, on the side chosen by Mode, which is what a
// TIME_WAIT tracer is measured against.
package churn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twtrace/twtrace/internal/netstat"
)

// Modes: which side closes first, and so holds the TIME_WAIT. The other
// side waits for its peer's FIN before it closes, so the choice is
// deterministic rather than a race.
const (
	ClientClose = "client-close"
	ServerClose = "server-close"
)

// msgSize is the size of the request and of the reply.
const msgSize = 64

// connTimeout bounds every connection, so that a stuck peer shows up as a
// timeout error instead of hanging the run.
const connTimeout = 5 * time.Second

// Config describes one run. The run ends at Duration or after Conns
// connections, whichever comes first; at least one must be set.
type Config struct {
	Mode     string        // ClientClose or ServerClose
	Workers  int           // concurrent client loops
	Duration time.Duration // 0: no time limit
	Conns    int           // 0: no count limit
	Rate     float64       // offered connections per second over all workers; 0: as fast as possible
	// Addr is where the run's own server listens. The reference is a
	// fixed port outside the ephemeral range, 127.0.0.1:5001: repeated runs
	// then recycle the previous runs' TIME_WAIT instead of piling up new
	// ones. Port 0 picks a free port.
	Addr string
}

// Errors counts failed connections by kind, from either side.
type Errors struct {
	AddrNotAvail uint64 // EADDRNOTAVAIL: no local port left for the destination
	Refused      uint64
	Reset        uint64 // ECONNRESET or EPIPE
	Timeout      uint64
	Other        uint64
}

// Result is the outcome of a run.
type Result struct {
	Mode    string
	Workers int
	Elapsed time.Duration
	Conns   uint64 // connections completed by the clients
	Errors  Errors
	// TWMid and TW are the sockstat TIME_WAIT count (both tw substates) of
	// the run's network namespace halfway through a timed run (0 without
	// Duration) and at the end, once every connection is closed.
	TWMid, TW uint64
}

// Rate is completed connections per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / r.Elapsed.Seconds()
}

// String formats r as the key=value line churn prints last, the line
// twbench parses.
func (r Result) String() string {
	return fmt.Sprintf("mode=%s workers=%d elapsed=%.3fs conns=%d rate=%.1f eaddrnotavail=%d refused=%d reset=%d timeout=%d other=%d tw_mid=%d tw=%d",
		r.Mode, r.Workers, r.Elapsed.Seconds(), r.Conns, r.Rate(),
		r.Errors.AddrNotAvail, r.Errors.Refused, r.Errors.Reset, r.Errors.Timeout, r.Errors.Other,
		r.TWMid, r.TW)
}

// ParseResult parses a line written by Result.String, for programs that run
// churn as a separate process (twbench). Keys it does not know are ignored.
func ParseResult(line string) (Result, error) {
	var r Result
	seen := 0
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return r, fmt.Errorf("churn result: %q is not key=value", f)
		}
		var err error
		switch k {
		case "mode":
			r.Mode = v
		case "workers":
			r.Workers, err = strconv.Atoi(v)
		case "elapsed":
			r.Elapsed, err = time.ParseDuration(v)
		case "conns":
			r.Conns, err = strconv.ParseUint(v, 10, 64)
		case "eaddrnotavail":
			r.Errors.AddrNotAvail, err = strconv.ParseUint(v, 10, 64)
		case "refused":
			r.Errors.Refused, err = strconv.ParseUint(v, 10, 64)
		case "reset":
			r.Errors.Reset, err = strconv.ParseUint(v, 10, 64)
		case "timeout":
			r.Errors.Timeout, err = strconv.ParseUint(v, 10, 64)
		case "other":
			r.Errors.Other, err = strconv.ParseUint(v, 10, 64)
		case "tw_mid":
			r.TWMid, err = strconv.ParseUint(v, 10, 64)
		case "tw":
			r.TW, err = strconv.ParseUint(v, 10, 64)
		default:
			continue
		}
		if err != nil {
			return r, fmt.Errorf("churn result: %s: %w", k, err)
		}
		seen++
	}
	if seen == 0 || r.Elapsed <= 0 {
		return r, fmt.Errorf("churn result: no elapsed= or counts in %q", line)
	}
	return r, nil
}

// Total is the number of failed connections of every kind.
func (e Errors) Total() uint64 {
	return e.AddrNotAvail + e.Refused + e.Reset + e.Timeout + e.Other
}

func (c Config) check() error {
	switch {
	case c.Mode != ClientClose && c.Mode != ServerClose:
		return fmt.Errorf("mode %q: want %s or %s", c.Mode, ClientClose, ServerClose)
	case c.Workers < 1:
		return fmt.Errorf("workers %d: want at least 1", c.Workers)
	case c.Duration <= 0 && c.Conns <= 0:
		return errors.New("set a duration or a connection count (or both): a run must end")
	case c.Rate < 0:
		return fmt.Errorf("rate %v: want 0 (max) or more", c.Rate)
	}
	return nil
}

// run is the shared state of one Run.
type run struct {
	cfg    Config
	raddr  *net.TCPAddr
	conns  atomic.Uint64
	slots  atomic.Int64 // connections the workers may still start, when Conns is set
	errs   [len(kindNames)]atomic.Uint64
	first  [len(kindNames)]sync.Once // prints the first error of each kind
	report io.Writer
}

// Run runs the workload and reports it. Errors of individual connections
// are counted, not returned (the first of each kind is written to
// diagnostics, if not nil); Run fails only when the run cannot take place.
func Run(ctx context.Context, cfg Config, diagnostics io.Writer) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return Result{}, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	r := &run{cfg: cfg, raddr: ln.Addr().(*net.TCPAddr), report: diagnostics}
	r.slots.Store(int64(cfg.Conns))

	var served sync.WaitGroup
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		r.accept(ln.(*net.TCPListener), &served)
	}()

	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	res := Result{Mode: cfg.Mode, Workers: cfg.Workers}
	start := time.Now()
	var workers sync.WaitGroup
	for i := range cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r.work(ctx, i)
		}()
	}
	finished := make(chan struct{})
	go func() {
		workers.Wait()
		close(finished)
	}()
	if cfg.Duration > 0 {
		select {
		case <-time.After(cfg.Duration / 2):
			res.TWMid = sockstatTW()
		case <-finished:
		}
	}
	<-finished
	res.Elapsed = time.Since(start)
	ln.Close()
	<-accepting
	served.Wait() // the last connections' TIME_WAIT exist once their server side closed
	res.Conns = r.conns.Load()
	res.Errors = Errors{r.errs[0].Load(), r.errs[1].Load(), r.errs[2].Load(), r.errs[3].Load(), r.errs[4].Load()}
	res.TW = sockstatTW()
	return res, nil
}

// sockstatTW returns the TIME_WAIT count of this network namespace, 0 if it
// cannot be read (the count is informative; the run still counts).
func sockstatTW() uint64 {
	s, err := netstat.CurrentSockstat()
	if err != nil {
		return 0
	}
	return s.TW
}

func (r *run) accept(ln *net.TCPListener, served *sync.WaitGroup) {
	for {
		c, err := ln.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.count(err)
			continue
		}
		served.Add(1)
		go func() {
			defer served.Done()
			if err := r.serve(c); err != nil {
				r.count(err)
			}
		}()
	}
}

// serve answers one connection. In client-close mode it waits for the
// client's FIN before closing, so the client holds the TIME_WAIT.
func (r *run) serve(c *net.TCPConn) error {
	defer c.Close()
	var buf [msgSize]byte
	c.SetDeadline(time.Now().Add(connTimeout))
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		return err
	}
	if _, err := c.Write(buf[:]); err != nil {
		return err
	}
	if r.cfg.Mode == ClientClose {
		return awaitEOF(c, buf[:])
	}
	return nil
}

// work is one client loop.
func (r *run) work(ctx context.Context, id int) {
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(r.cfg.Workers) / r.cfg.Rate)
	}
	// Stagger the workers over one interval so paced load is even.
	next := time.Now().Add(interval * time.Duration(id) / time.Duration(r.cfg.Workers))
	var buf [msgSize]byte
	for ctx.Err() == nil {
		if r.cfg.Conns > 0 && r.slots.Add(-1) < 0 {
			return
		}
		if interval > 0 {
			// A fixed schedule: a late connection does not move the later
			// ones, so the offered load stays what was asked.
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			next = next.Add(interval)
		}
		if err := r.connect(buf[:]); err != nil {
			r.count(err)
			// Do not spin: EADDRNOTAVAIL, for one, lasts until a port frees.
			time.Sleep(time.Millisecond)
			continue
		}
		r.conns.Add(1)
	}
}

// connect makes one connection. In server-close mode it waits for the
// server's FIN before closing, so the server holds the TIME_WAIT.
func (r *run) connect(buf []byte) error {
	c, err := net.DialTCP("tcp", nil, r.raddr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(connTimeout))
	if _, err := c.Write(buf); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if r.cfg.Mode == ServerClose {
		return awaitEOF(c, buf)
	}
	return nil
}

// awaitEOF reads until the peer's FIN.
func awaitEOF(c *net.TCPConn, buf []byte) error {
	for {
		n, err := c.Read(buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("unexpected %d bytes after the reply", n)
		}
	}
}

// Error kinds, indexes into run.errs, in Errors' field order.
const (
	kindAddrNotAvail = iota
	kindRefused
	kindReset
	kindTimeout
	kindOther
)

var kindNames = [...]string{"eaddrnotavail", "refused", "reset", "timeout", "other"}

func (r *run) count(err error) {
	k := kindOther
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		k = kindAddrNotAvail
	case errors.Is(err, syscall.ECONNREFUSED):
		k = kindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		k = kindReset
	case errors.Is(err, os.ErrDeadlineExceeded):
		k = kindTimeout
	}
	r.errs[k].Add(1)
	if r.report != nil {
		r.first[k].Do(func() { fmt.Fprintf(r.report, "churn: first %s error: %v\n", kindNames[k], err) })
	}
}
