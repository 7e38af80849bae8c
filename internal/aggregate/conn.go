package aggregate

import "github.com/twtrace/twtrace/internal/event"

// phase says which kernel object a record currently stands for.
type phase uint8

const (
	phaseFree phase = iota
	phaseLive       // a full socket
	phaseTW         // a TIME_WAIT socket (tw)
)

// maxSteps bounds the states remembered per connection. The longest
// ordinary life is SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT;
// when more happen the oldest are dropped.
const maxSteps = 6

// conn is one connection's record. It holds no pointers, so a million of
// them cost the garbage collector nothing to scan, and is kept small: its
// size is most of the memory per tracked tw. It does not keep the
// kernel's socket id: the kernel reuses ids, while a tuple names at most
// one full socket and one tw at a time, which the record's phase tells
// apart.
type conn struct {
	key
	// state is the current state; for a tw, its substate (TIME_WAIT or
	// FIN_WAIT2).
	state  event.State
	role   event.Role
	closer event.Closer
	ph     phase
	leaked bool  // CLOSE_WAIT for longer than the leak threshold
	nsteps uint8 // steps in use
	steps  [maxSteps]event.State
	pid    uint32
	// prev and next link the record into one list; next also links free
	// records.
	prev, next uint32
	comm       [16]byte
	// deadline orders the record on its list: for a tw the expected
	// expiry, for CLOSE_WAIT the moment it counts as a leak.
	deadline uint64
	// at holds when each step began; 0 when that was not seen.
	at [maxSteps]uint64
}

// cur returns the current step's index.
func (c *conn) cur() int { return int(c.nsteps) - 1 }

// push starts a new step in state s at time at (0 = unknown).
func (c *conn) push(s event.State, at uint64) {
	if int(c.nsteps) == maxSteps {
		copy(c.steps[:], c.steps[1:])
		copy(c.at[:], c.at[1:])
		c.nsteps--
	}
	c.steps[c.nsteps], c.at[c.nsteps] = s, at
	c.nsteps++
	c.state = s
}

// unseen reports whether nothing of the connection's past was seen: one
// step, with an unknown start (a socket from the startup snapshot).
func (c *conn) unseen() bool { return c.nsteps == 1 && c.at[0] == 0 }

func (c *conn) owner() owner { return owner{pid: c.pid, comm: c.comm} }
