package record

import "github.com/twtrace/twtrace/internal/event"

// An events block is a sequence of encoded events. Each event is written as
// its difference from a reference: the last event of a recent "object" (a
// socket or tw seen earlier in the same block), chosen by the writer. Events
// of one connection share addresses, ports, owner and socket, so most events
// shrink to a few bytes: which object, which fields changed, the time delta.
// The context that makes this work (recent objects, interned shapes and
// owners, running predictions) is rebuilt from scratch at every block, so
// each block decodes on its own. FORMAT.md describes the layout.

const (
	ringSize  = 1024 // recent objects a reference can name; a power of two
	maxShapes = 255  // distinct shapes interned per block
	maxOwners = 255  // distinct (pid, comm) pairs interned per block
)

// Change-mask bits: which fields of an event are written because they differ
// from the reference event or from their prediction. The most frequent ones
// come first so the mask usually fits one varint byte.
const (
	bitSock    = 1 << iota // Sock differs: this event starts a new object
	bitLPort               // LPort, as a delta
	bitRPort               // RPort, as a delta
	bitOwner               // PID and Comm
	bitDur                 // DurNS differs from its prediction
	bitTimeout             // TimeoutNS
	bitByOwner             // ByPID and ByComm
	bitWall                // WallNS differs from its prediction
	bitCount               // Count
	bitNetNS               // NetNS
	bitFamily              // Family
	bitLAddr               // LAddr, 16 bytes
	bitRAddr               // RAddr, 16 bytes
	maskBits   = iota
)

// Shape codes: how an event's small enumerations are written.
const (
	shapePredicted = 0 // the shape that followed the reference's shape last time
	shapeLiteral   = 1 // the 8 shape bytes follow
	shapeIndexBase = 2 // code-2 indexes the block's shape table
)

// shape is an event's small enumerations and flags, interned per block:
// a connection's events cycle through a dozen of them.
type shape [8]byte

const (
	shapeHasDur   = 1 << 0
	shapeInferred = 1 << 1
)

func shapeOf(e *event.Event) shape {
	var flags byte
	if e.HasDur {
		flags |= shapeHasDur
	}
	if e.Inferred {
		flags |= shapeInferred
	}
	return shape{byte(e.Kind), byte(e.Old), byte(e.New), byte(e.Substate),
		byte(e.Role), byte(e.Closer), byte(e.Cause), flags}
}

func (s *shape) applyTo(e *event.Event) {
	e.Kind = event.Kind(s[0])
	e.Old, e.New, e.Substate = event.State(s[1]), event.State(s[2]), event.State(s[3])
	e.Role, e.Closer, e.Cause = event.Role(s[4]), event.Closer(s[5]), event.Cause(s[6])
	e.HasDur = s[7]&shapeHasDur != 0
	e.Inferred = s[7]&shapeInferred != 0
}

// owner is a process as events name it; interned per block.
type owner struct {
	pid  uint32
	comm [16]byte
}

// object is the last event seen for one socket or tw, with its shape's
// index+1 in the shape table (0 when the table was full).
type object struct {
	ev    event.Event
	shape int
}

// blockCtx is the prediction context that the encoder and the decoder build
// identically, event by event, from the start of a block.
type blockCtx struct {
	none     object // the reference of an event that has none: always zero
	objs     [ringSize]object
	nobj     int // objects created in this block; object i lives in objs[i%ringSize]
	shapes   [maxShapes]shape
	nshape   int
	succ     [2][maxShapes + 1]int // [new object?][reference shape] -> shape index+1 that followed
	owners   [maxOwners]owner
	nowner   int
	prevMono uint64
	wallOff  int64 // predicted WallNS - MonoNS
	bootWall int64 // Meta.BootWallNS, the first wallOff of every block
}

func (c *blockCtx) reset() {
	c.nobj, c.nshape, c.nowner = 0, 0, 0
	c.succ = [2][maxShapes + 1]int{}
	c.prevMono = 0
	c.wallOff = c.bootWall
}

// object returns the object that reference code r names, or false when r
// names none that the block holds. r = 0 means no reference.
func (c *blockCtx) object(r uint64) (id int, ok bool) {
	if r == 0 {
		return -1, true
	}
	d := r - 1
	if d >= uint64(c.nobj) || d >= ringSize {
		return 0, false
	}
	return c.nobj - 1 - int(d), true
}

func (c *blockCtx) ref(id int) *object {
	if id < 0 {
		return &c.none
	}
	return &c.objs[id%ringSize]
}

// refCode is the inverse of object.
func (c *blockCtx) refCode(id int) uint64 {
	if id < 0 {
		return 0
	}
	return uint64(c.nobj - id) // distance+1
}

// predictedShape returns the index+1 of the shape that followed the
// reference's shape last time, or 0.
func (c *blockCtx) predictedShape(ref *object, newObj bool) int {
	return c.succ[b2i(newObj)][ref.shape]
}

// findShape returns s's index+1 in the shape table, or 0.
func (c *blockCtx) findShape(s shape) int {
	for i := range c.nshape {
		if c.shapes[i] == s {
			return i + 1
		}
	}
	return 0
}

// addShape interns s and returns its index+1, or 0 when the table is full.
func (c *blockCtx) addShape(s shape) int {
	if c.nshape == maxShapes {
		return 0
	}
	c.shapes[c.nshape] = s
	c.nshape++
	return c.nshape
}

// addOwner interns o when the table has room.
func (c *blockCtx) addOwner(o owner) {
	if c.nowner < maxOwners {
		c.owners[c.nowner] = o
		c.nowner++
	}
}

// predictedDur is what DurNS usually is: the time since the reference
// event, because the reference is the same socket's previous state.
func (c *blockCtx) predictedDur(refID int, e *event.Event) uint64 {
	if !e.HasDur || refID < 0 {
		return 0
	}
	return e.MonoNS - c.ref(refID).ev.MonoNS
}

// predictedWall is WallNS from MonoNS and the offset between the two clocks
// the previous event had.
func (c *blockCtx) predictedWall(e *event.Event) int64 {
	return int64(e.MonoNS) + c.wallOff
}

// commit records e, which referred to ref and had shape index+1 si, in the
// context.
func (c *blockCtx) commit(e *event.Event, refID int, newObj bool, si int) {
	c.succ[b2i(newObj)][c.ref(refID).shape] = si
	obj := object{ev: *e, shape: si}
	if newObj {
		c.objs[c.nobj%ringSize] = obj
		c.nobj++
	} else {
		c.objs[refID%ringSize] = obj
	}
	c.prevMono = e.MonoNS
	c.wallOff = e.WallNS - int64(e.MonoNS)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }
