package aggregate

import "github.com/twtrace/twtrace/internal/event"

// ended is a connection that is over, as the ring keeps it.
type ended struct {
	conn
	endNS uint64
	how   End
	cause event.Cause
}

// ring keeps the most recent ended connections in a fixed array, so memory
// stays flat however many connections come and go.
type ring struct {
	buf  []ended
	next int // where the next one goes
	n    int
}

func newRing(size int) ring { return ring{buf: make([]ended, size)} }

func (r *ring) push(c *conn, now uint64, how End, cause event.Cause) {
	r.buf[r.next] = ended{conn: *c, endNS: now, how: how, cause: cause}
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// newest returns the i-th most recent entry (0 = the latest).
func (r *ring) newest(i int) *ended {
	return &r.buf[(r.next-1-i+2*len(r.buf))%len(r.buf)]
}
