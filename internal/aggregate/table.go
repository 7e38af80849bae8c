package aggregate

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// table stores every tracked connection: records live in fixed-size chunks
// (so growth never copies them and a pointer to one stays valid) and an
// open-addressing index finds them by key. A Go map keyed by the 44-byte
// tuple costs about twice the memory per entry at a million entries; this
// index costs 8 to 21 bytes per entry, which is what keeps a tracked tw
// under 200 bytes.
//
// Record ids start at 1 so that 0 can mean "none" in lists and slots.
type table struct {
	chunks []*[chunkSize]conn
	free   uint32 // head of the free list, linked through conn.next
	unused uint32 // lowest id never handed out
	n      int    // records in use

	// slots holds tag<<32 | id, 0 when empty. The tag is the key's 32-bit
	// hash; its low bits are the slot the entry wants (its home), so an
	// entry can be moved without rehashing its key.
	slots []uint64
	seed  [6]uint64 // secret, so peers cannot aim for collisions
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	minSlots  = 1024
)

func newTable() table {
	t := table{unused: 1, slots: make([]uint64, minSlots)}
	for i := range t.seed {
		t.seed[i] = rand.Uint64()
	}
	return t
}

// at returns the record with id; the pointer stays valid until remove(id).
func (t *table) at(id uint32) *conn {
	return &t.chunks[id>>chunkBits][id&(chunkSize-1)]
}

// hkey is a key with its hash, computed once per event however many
// lookups the event needs.
type hkey struct {
	key
	tag uint32
}

func (t *table) hash(k key) hkey { return hkey{k, t.tag(&k)} }

// tag hashes a key the way wyhash does (Go's map hash where AES is
// missing): each step multiplies two words of the key, each mixed with a
// secret seed, and folds the 128-bit product. Remote peers choose part of
// the key; without the seeds they can neither predict the slots nor zero
// a factor. It is a quarter the cost of maphash.Comparable, which is in
// every event's path.
func (t *table) tag(k *key) uint32 {
	le := binary.LittleEndian
	s := &t.seed
	h := mix(le.Uint64(k.laddr[:8])^s[0], le.Uint64(k.laddr[8:])^s[1])
	h = mix(h^le.Uint64(k.raddr[:8])^s[2], le.Uint64(k.raddr[8:])^s[3])
	h = mix(h^uint64(k.netns)^uint64(k.lport)<<32^uint64(k.rport)<<48^s[4], uint64(k.family)^s[5])
	return uint32(h) ^ uint32(h>>32)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// find returns the id of the record for k in phase ph, or 0. A full socket
// and a tw may share a key for a moment (a connect() taking over a tw's
// port is reported before the tw's exit), so the phase is part of the match.
func (t *table) find(k *hkey, ph phase) uint32 {
	tag := k.tag
	mask := uint32(len(t.slots) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0
		}
		if uint32(s>>32) == tag {
			id := uint32(s)
			if c := t.at(id); c.ph == ph && c.key == k.key {
				return id
			}
		}
	}
}

// insert allocates a record for k in phase ph and indexes it.
func (t *table) insert(k *hkey, ph phase) uint32 {
	id := t.alloc()
	c := t.at(id)
	*c = conn{key: k.key, ph: ph}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.rehash(2 * len(t.slots))
	}
	t.put(k.tag, id)
	t.n++
	return id
}

func (t *table) alloc() uint32 {
	if id := t.free; id != 0 {
		t.free = t.at(id).next
		return id
	}
	id := t.unused
	if int(id>>chunkBits) == len(t.chunks) {
		t.chunks = append(t.chunks, new([chunkSize]conn))
	}
	t.unused++
	return id
}

func (t *table) put(tag, id uint32) {
	mask := uint32(len(t.slots) - 1)
	i := tag & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = uint64(tag)<<32 | uint64(id)
}

func (t *table) rehash(size int) {
	old := t.slots
	t.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			t.put(uint32(s>>32), uint32(s))
		}
	}
}

// remove unindexes the record and puts it on the free list. Deletion
// shifts later entries of the probe run back instead of leaving
// tombstones, so lookups never slow down under churn.
func (t *table) remove(id uint32) {
	c := t.at(id)
	mask := uint32(len(t.slots) - 1)
	i := t.tag(&c.key) & mask
	for uint32(t.slots[i]) != id {
		i = (i + 1) & mask
	}
	t.slots[i] = 0
	for j := (i + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		home := uint32(t.slots[j]>>32) & mask
		// The entry at j may fill the hole at i if i lies on its probe
		// path, that is between its home and j.
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i], t.slots[j] = t.slots[j], 0
			i = j
		}
	}
	*c = conn{next: t.free}
	t.free = id
	t.n--
}
