package record

import (
	"encoding/binary"

	"github.com/twtrace/twtrace/internal/event"
)

// blockEncoder appends events to one block. Beyond the shared context it
// keeps a cache that finds, for a new event, a recent object likely to share
// most of its fields; the reader never needs it because the chosen object
// is written into the block.
type blockEncoder struct {
	blockCtx
	buf       []byte // the encoded block so far
	n         int    // events in buf
	firstMono uint64 // MonoNS of the block's first event
	gen       uint64 // increments per block; older cache entries are stale
	cache     [cacheSize]uint64
}

// cacheSize is the number of slots of the direct-mapped reference cache.
const cacheSize = 4096

// The kinds of similarity the reference cache looks for, best first.
const (
	keySock   = iota // the same socket: same Sock and 4-tuple
	keyTuple         // the same 4-tuple: a socket's tw, or the next connection on it
	keyLocal         // the same local endpoint: another connection accepted on a port
	keyRemote        // the same remote endpoint: another connection to a server
	numKeys
)

// start empties the block.
func (b *blockEncoder) start() {
	b.reset()
	b.buf = b.buf[:0]
	b.n = 0
	b.gen++
}

// encode appends e to the block.
func (b *blockEncoder) encode(e *event.Event) {
	if b.n == 0 {
		b.firstMono = e.MonoNS
	}
	b.n++

	var keys [numKeys]uint64
	hashKeys(e, &keys)
	refID := b.findRef(e, &keys)
	ref := b.ref(refID)
	mask := b.changes(refID, e)
	newObj := refID < 0 || mask&bitSock != 0

	b.buf = binary.AppendUvarint(b.buf, b.refCode(refID))
	b.buf = binary.AppendUvarint(b.buf, mask)
	si := b.appendShape(e, ref, newObj)
	b.appendInt(int64(e.MonoNS - b.prevMono))
	b.appendFields(e, refID, mask)

	b.commit(e, refID, newObj, si)
	id := refID
	if newObj {
		id = b.nobj - 1
	}
	for _, k := range keys {
		b.cache[k%cacheSize] = b.gen<<32 | uint64(id)
	}
}

// findRef returns the id of the recent object most similar to e, or -1.
func (b *blockEncoder) findRef(e *event.Event, keys *[numKeys]uint64) int {
	for kind, k := range keys {
		v := b.cache[k%cacheSize]
		if v>>32 != b.gen {
			continue
		}
		id := int(uint32(v))
		if b.nobj-1-id >= ringSize {
			continue // evicted from the ring
		}
		if similar(kind, &b.ref(id).ev, e) {
			return id
		}
	}
	return -1
}

// changes returns the mask of e's fields that differ from the reference or
// from their prediction.
func (b *blockEncoder) changes(refID int, e *event.Event) uint64 {
	base := &b.ref(refID).ev
	var m uint64
	set := func(bit uint64, differs bool) {
		if differs {
			m |= bit
		}
	}
	set(bitSock, e.Sock != base.Sock)
	set(bitLPort, e.LPort != base.LPort)
	set(bitRPort, e.RPort != base.RPort)
	set(bitOwner, e.PID != base.PID || e.Comm != base.Comm)
	set(bitDur, e.DurNS != b.predictedDur(refID, e))
	set(bitTimeout, e.TimeoutNS != base.TimeoutNS)
	set(bitByOwner, e.ByPID != base.ByPID || e.ByComm != base.ByComm)
	set(bitWall, e.WallNS != b.predictedWall(e))
	set(bitCount, e.Count != base.Count)
	set(bitNetNS, e.NetNS != base.NetNS)
	set(bitFamily, e.Family != base.Family)
	set(bitLAddr, e.LAddr != base.LAddr)
	set(bitRAddr, e.RAddr != base.RAddr)
	return m
}

// appendShape writes e's shape code and returns the shape's index+1.
func (b *blockEncoder) appendShape(e *event.Event, ref *object, newObj bool) int {
	s := shapeOf(e)
	if p := b.predictedShape(ref, newObj); p != 0 && b.shapes[p-1] == s {
		b.buf = append(b.buf, shapePredicted)
		return p
	}
	if si := b.findShape(s); si != 0 {
		b.buf = binary.AppendUvarint(b.buf, uint64(shapeIndexBase+si-1))
		return si
	}
	b.buf = append(b.buf, shapeLiteral)
	b.buf = append(b.buf, s[:]...)
	return b.addShape(s)
}

// appendFields writes the fields that mask names, in bit order.
func (b *blockEncoder) appendFields(e *event.Event, refID int, mask uint64) {
	base := &b.ref(refID).ev
	if mask&bitSock != 0 {
		b.appendInt(int64(e.Sock - base.Sock))
	}
	if mask&bitLPort != 0 {
		b.appendInt(int64(e.LPort) - int64(base.LPort))
	}
	if mask&bitRPort != 0 {
		b.appendInt(int64(e.RPort) - int64(base.RPort))
	}
	if mask&bitOwner != 0 {
		b.appendOwner(owner{e.PID, e.Comm})
	}
	if mask&bitDur != 0 {
		b.appendInt(int64(e.DurNS - b.predictedDur(refID, e)))
	}
	if mask&bitTimeout != 0 {
		b.buf = binary.AppendUvarint(b.buf, e.TimeoutNS)
	}
	if mask&bitByOwner != 0 {
		b.appendOwner(owner{e.ByPID, e.ByComm})
	}
	if mask&bitWall != 0 {
		b.appendInt(e.WallNS - b.predictedWall(e))
	}
	if mask&bitCount != 0 {
		b.buf = binary.AppendUvarint(b.buf, e.Count)
	}
	if mask&bitNetNS != 0 {
		b.buf = binary.AppendUvarint(b.buf, uint64(e.NetNS))
	}
	if mask&bitFamily != 0 {
		b.buf = append(b.buf, e.Family)
	}
	if mask&bitLAddr != 0 {
		b.buf = append(b.buf, e.LAddr[:]...)
	}
	if mask&bitRAddr != 0 {
		b.buf = append(b.buf, e.RAddr[:]...)
	}
}

// appendOwner writes o as an index into the owner table, or as a literal
// that joins the table.
func (b *blockEncoder) appendOwner(o owner) {
	for i := range b.nowner {
		if b.owners[i] == o {
			b.buf = binary.AppendUvarint(b.buf, uint64(i+1))
			return
		}
	}
	b.buf = append(b.buf, 0)
	b.buf = binary.AppendUvarint(b.buf, uint64(o.pid))
	b.buf = append(b.buf, o.comm[:]...)
	b.addOwner(o)
}

func (b *blockEncoder) appendInt(v int64) {
	b.buf = binary.AppendUvarint(b.buf, zigzag(v))
}

// similar reports whether o matches e in the way key kind looks for.
func similar(kind int, o, e *event.Event) bool {
	switch kind {
	case keySock:
		return o.Sock == e.Sock && sameLocal(o, e) && sameRemote(o, e)
	case keyTuple:
		return sameLocal(o, e) && sameRemote(o, e)
	case keyLocal:
		return sameLocal(o, e)
	default:
		return sameRemote(o, e)
	}
}

func sameLocal(a, b *event.Event) bool {
	return a.Family == b.Family && a.NetNS == b.NetNS && a.LPort == b.LPort && a.LAddr == b.LAddr
}

func sameRemote(a, b *event.Event) bool {
	return a.Family == b.Family && a.NetNS == b.NetNS && a.RPort == b.RPort && a.RAddr == b.RAddr
}

// hashKeys computes e's cache key for every kind of similarity.
func hashKeys(e *event.Event, keys *[numKeys]uint64) {
	l := endpointHash(e, &e.LAddr, e.LPort)
	r := endpointHash(e, &e.RAddr, e.RPort)
	keys[keyTuple] = mix(l, r)
	keys[keySock] = mix(keys[keyTuple], e.Sock)
	keys[keyLocal] = mix(l, keyLocal)
	keys[keyRemote] = mix(r, keyRemote)
}

func endpointHash(e *event.Event, addr *[16]byte, port uint16) uint64 {
	h := mix(uint64(e.Family)<<48|uint64(port)<<32|uint64(e.NetNS), binary.LittleEndian.Uint64(addr[:8]))
	return mix(h, binary.LittleEndian.Uint64(addr[8:]))
}

// mix folds v into h; any decent mixing will do, collisions only cost size.
func mix(h, v uint64) uint64 {
	h = (h ^ v) * 0x9e3779b97f4a7c15
	return h ^ h>>31
}
