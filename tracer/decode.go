//go:build linux

package tracer

import (
	"time"
	"unsafe"

	"github.com/twtrace/twtrace/internal/event"
)

// settleNS is how long a tw timer cancel is held before it is called a
// kill. Its follow-up (the expiry or the re-arm) runs microseconds later
// on the same CPU, so once the ring has been drained this long after the
// cancel, no follow-up is coming.
const settleNS = 5 * uint64(time.Millisecond)

// wallRefresh is how often the monotonic-to-wall offset is re-read, to
// follow clock adjustments without jitter between neighbouring events.
const wallRefresh = time.Minute

// decoder turns raw records into events. It owns the one inference the
// tracepoint backend needs on every kernel: whether a tw timer cancel was
// the tw's end (a kill), its expiry, or a re-arm. The kernel emits the
// cancel first and the answer right after on the same CPU, so the decoder
// holds one cancel per CPU until that CPU's next record, or until settle
// declares it a kill.
type decoder struct {
	hz       uint64
	bootWall int64 // Unix ns at CLOCK_MONOTONIC zero
	wallAt   int64 // when bootWall was read
	held     []heldCancel
	ev       event.Event
}

type heldCancel struct {
	ev event.Event
	ok bool
}

func newDecoder(ncpu int, hz uint64) decoder {
	d := decoder{hz: hz, held: make([]heldCancel, ncpu)}
	d.refreshWall()
	return d
}

func (d *decoder) refreshWall() {
	wall := time.Now().UnixNano()
	d.bootWall = wall - int64(monotonicNow())
	d.wallAt = wall
}

func (d *decoder) wall(mono uint64) int64 { return d.bootWall + int64(mono) }

// record decodes one kernel record, in time order, and emits what it
// settles.
func (d *decoder) record(r *twtraceEvent, emit func(*event.Event)) {
	kind := twtraceTwEventKind(r.Kind)

	if int(r.Cpu) < len(d.held) && d.held[r.Cpu].ok {
		h := &d.held[r.Cpu]
		same := r.Sock == h.ev.Sock
		switch {
		case same && (kind == twtraceTwEventKindEV_TW_EXIT || kind == twtraceTwEventKindEV_TW_RESCHED):
			h.ok = false // the expiry itself, or a re-arm: not a kill
		case same && kind == twtraceTwEventKindEV_TW_HINT:
			h.ev.Cause = event.Cause(r.Cause)
			d.kill(h, emit)
		default:
			d.kill(h, emit)
		}
	}

	switch kind {
	case twtraceTwEventKindEV_TW_HINT:
		// Only meaningful right after its cancel, handled above.
	case twtraceTwEventKindEV_TW_CANCEL:
		if int(r.Cpu) < len(d.held) {
			d.fill(&d.held[r.Cpu].ev, r)
			d.held[r.Cpu].ok = true
		}
	case twtraceTwEventKindEV_STATE:
		d.state(r, emit)
	case twtraceTwEventKindEV_TW_ENTER, twtraceTwEventKindEV_TW_OVERFLOW:
		// One record for a closing socket's last transition and what
		// became of its connection: the transition comes first.
		d.state(r, emit)
		d.fill(&d.ev, r)
		d.ev.Old, d.ev.New, d.ev.HasDur, d.ev.DurNS = event.StateNone, event.StateNone, false, 0
		emit(&d.ev)
	case twtraceTwEventKindEV_TW_RESCHED:
		// Only a substate change is news; a re-arm within TIME_WAIT
		// (an ACK restarting the 60 s) is not reported.
		if event.State(r.OldState) == event.FinWait2 && event.State(r.Substate) == event.TimeWait {
			d.fill(&d.ev, r)
			d.ev.Kind = event.KindTWSubstate
			emit(&d.ev)
		}
	default:
		d.fill(&d.ev, r)
		emit(&d.ev)
	}
}

// state emits the state events a record stands for: its transition, and
// before it, for an accepted child's first one, the child's LISTEN ->
// SYN_RECV, which the kernel reports together with it to save a record.
func (d *decoder) state(r *twtraceEvent, emit func(*event.Event)) {
	sock := r.Sock
	if twtraceTwEventKind(r.Kind) == twtraceTwEventKindEV_TW_ENTER {
		sock = r.Sk // Sock is the tw
	}
	if twtraceTwEventFlags(r.Flags)&twtraceTwEventFlagsEVF_FROM_LISTEN != 0 {
		d.fill(&d.ev, r)
		d.ev.Kind, d.ev.Sock = event.KindState, sock
		d.ev.Old, d.ev.New = event.Listen, event.SynRecv
		d.ev.MonoNS -= r.Dur // it entered SYN_RECV dur ns before
		d.ev.WallNS -= int64(r.Dur)
		d.ev.HasDur, d.ev.DurNS = false, 0
		d.ev.Closer, d.ev.Substate, d.ev.TimeoutNS = event.CloserNone, event.StateNone, 0
		emit(&d.ev)
	}
	d.fill(&d.ev, r)
	d.ev.Kind, d.ev.Sock = event.KindState, sock
	d.ev.Substate, d.ev.TimeoutNS = event.StateNone, 0
	emit(&d.ev)
}

// settle declares held cancels kills once their follow-up can no longer
// come: now is a time up to which every record has been decoded.
func (d *decoder) settle(now uint64, emit func(*event.Event)) {
	for i := range d.held {
		h := &d.held[i]
		if h.ok && now-h.ev.MonoNS > settleNS {
			d.kill(h, emit)
		}
	}
	if time.Now().UnixNano()-d.wallAt > int64(wallRefresh) {
		d.refreshWall()
	}
}

// kill reports a held cancel as the tw's end. Its cause is what the
// cancel's context or a hint showed; with neither, the kill came from a
// process outside any connect() in a living namespace, which is what
// sock_destroy (ss -K) looks like. Every such cause is deduced.
func (d *decoder) kill(h *heldCancel, emit func(*event.Event)) {
	h.ok = false
	h.ev.Kind = event.KindTWExit
	if h.ev.Cause == event.CauseNone {
		h.ev.Cause = event.CauseDestroyed
	}
	h.ev.Inferred = true
	h.ev.TimeoutNS = 0
	emit(&h.ev)
}

// fill converts a raw record; every field of ev is overwritten.
func (d *decoder) fill(ev *event.Event, r *twtraceEvent) {
	flags := twtraceTwEventFlags(r.Flags)
	*ev = event.Event{
		Kind:     event.Kind(r.Kind),
		MonoNS:   r.Ts,
		WallNS:   d.wall(r.Ts),
		Sock:     r.Sock,
		NetNS:    r.Netns,
		LPort:    r.Sport,
		RPort:    r.Dport,
		LAddr:    r.Saddr,
		RAddr:    r.Daddr,
		Family:   6,
		Old:      event.State(r.OldState),
		New:      event.State(r.NewState),
		Substate: event.State(r.Substate),
		Role:     event.Role(r.Role),
		Closer:   event.Closer(r.Closer),
		Cause:    event.Cause(r.Cause),
		ByPID:    r.ByPid,
		ByComm:   *(*[16]byte)(unsafe.Pointer(&r.ByComm)),
	}
	if r.Family == afInet {
		ev.Family = 4
	}
	if flags&twtraceTwEventFlagsEVF_OWNER != 0 {
		ev.PID = r.Pid
		ev.Comm = *(*[16]byte)(unsafe.Pointer(&r.Comm))
	}
	if flags&twtraceTwEventFlagsEVF_DUR != 0 {
		ev.HasDur, ev.DurNS = true, r.Dur
	}
	if r.Timeout > 0 {
		ev.TimeoutNS = uint64(r.Timeout) * uint64(time.Second) / d.hz
	}
}
