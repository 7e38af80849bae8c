package record

import (
	"encoding/binary"
	"errors"

	"github.com/twtrace/twtrace/internal/event"
)

// blockDecoder reads events back from one block. Decoding errors are sticky
// within an event: the read helpers return zero values after the first one
// so next can read linearly and check once.
type blockDecoder struct {
	blockCtx
	buf []byte
	pos int
	err error
}

// errBadBlock is the reason given for any block that does not decode.
var errBadBlock = errors.New("events block does not decode")

func (d *blockDecoder) start(buf []byte) {
	d.reset()
	d.buf, d.pos, d.err = buf, 0, nil
}

// next decodes one event into e.
func (d *blockDecoder) next(e *event.Event) error {
	refID, ok := d.object(d.uvarint())
	if !ok {
		return errBadBlock
	}
	ref := d.ref(refID)
	mask := d.uvarint()
	if mask >= 1<<maskBits {
		return errBadBlock
	}
	newObj := refID < 0 || mask&bitSock != 0

	*e = ref.ev
	s, si := d.readShape(ref, newObj)
	if d.err != nil {
		return d.err
	}
	s.applyTo(e)
	e.MonoNS = d.prevMono + uint64(d.int())
	d.readFields(e, refID, mask)
	if d.err != nil {
		return d.err
	}
	d.commit(e, refID, newObj, si)
	return nil
}

// readShape reads a shape code and returns the shape with its index+1 in
// the table (0 for a literal that did not fit).
func (d *blockDecoder) readShape(ref *object, newObj bool) (shape, int) {
	code := d.uvarint()
	switch {
	case d.err != nil:
		return shape{}, 0
	case code == shapePredicted:
		if p := d.predictedShape(ref, newObj); p != 0 {
			return d.shapes[p-1], p
		}
	case code == shapeLiteral:
		var s shape
		copy(s[:], d.bytes(len(s)))
		if d.err == nil && s[7]&^(shapeHasDur|shapeInferred) == 0 {
			return s, d.addShape(s)
		}
	case code-shapeIndexBase < uint64(d.nshape):
		si := int(code-shapeIndexBase) + 1
		return d.shapes[si-1], si
	}
	d.err = errBadBlock
	return shape{}, 0
}

// readFields reads the fields that mask names, in bit order.
func (d *blockDecoder) readFields(e *event.Event, refID int, mask uint64) {
	if mask&bitSock != 0 {
		e.Sock += uint64(d.int())
	}
	if mask&bitLPort != 0 {
		e.LPort = uint16(int64(e.LPort) + d.int())
	}
	if mask&bitRPort != 0 {
		e.RPort = uint16(int64(e.RPort) + d.int())
	}
	if mask&bitOwner != 0 {
		o := d.owner()
		e.PID, e.Comm = o.pid, o.comm
	}
	if mask&bitDur != 0 {
		e.DurNS = d.predictedDur(refID, e) + uint64(d.int())
	} else {
		e.DurNS = d.predictedDur(refID, e)
	}
	if mask&bitTimeout != 0 {
		e.TimeoutNS = d.uvarint()
	}
	if mask&bitByOwner != 0 {
		o := d.owner()
		e.ByPID, e.ByComm = o.pid, o.comm
	}
	e.WallNS = d.predictedWall(e)
	if mask&bitWall != 0 {
		e.WallNS += d.int()
	}
	if mask&bitCount != 0 {
		e.Count = d.uvarint()
	}
	if mask&bitNetNS != 0 {
		e.NetNS = d.uint32()
	}
	if mask&bitFamily != 0 {
		if b := d.bytes(1); b != nil {
			e.Family = b[0]
		}
	}
	if mask&bitLAddr != 0 {
		copy(e.LAddr[:], d.bytes(16))
	}
	if mask&bitRAddr != 0 {
		copy(e.RAddr[:], d.bytes(16))
	}
}

// owner reads an owner code.
func (d *blockDecoder) owner() owner {
	code := d.uvarint()
	if code != 0 {
		if code > uint64(d.nowner) {
			d.err = errBadBlock
			return owner{}
		}
		return d.owners[code-1]
	}
	o := owner{pid: d.uint32()}
	copy(o.comm[:], d.bytes(len(o.comm)))
	d.addOwner(o)
	return o
}

func (d *blockDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.pos:])
	if n <= 0 {
		d.err = errBadBlock
		return 0
	}
	d.pos += n
	return v
}

func (d *blockDecoder) uint32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.err = errBadBlock
	}
	return uint32(v)
}

func (d *blockDecoder) int() int64 { return unzigzag(d.uvarint()) }

// bytes returns the next n bytes, or nil when the block has fewer.
func (d *blockDecoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf)-d.pos < n {
		d.err = errBadBlock
		return nil
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	return b
}

// done reports whether the whole block was consumed.
func (d *blockDecoder) done() bool { return d.pos == len(d.buf) }
