//go:build linux

package tracer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
)

// Config selects what the tracer watches.
type Config struct {
	// Filter selects sockets, in the kernel. Its owner filter follows the
	// process that connected, listened/accepted or closed each socket.
	Filter filter.Filter
	// RingBytes is the ring buffer size, a power of two of at least one
	// page; 0 means DefaultRingBytes.
	RingBytes int
	// PollInterval is how often the reader drains the ring when the kernel
	// has not woken it; 0 means 10ms.
	PollInterval time.Duration
	// Backend forces one of Backends for the tw hooks; "" or "auto"
	// takes the most precise one this kernel allows.
	Backend string
}

// DefaultRingBytes holds about 180 ms of the reference churn workload
// (≈170k events/s of 136 bytes): many drain intervals of headroom, for a
// reader that the scheduler keeps off the CPU for a while.
const DefaultRingBytes = 4 << 20

// Tracer is a loaded and attached set of BPF programs and the reader of
// their ring buffer. Read must not be called concurrently.
type Tracer struct {
	cfg     Config
	objs    *objects
	links   []link.Link
	ring    *ringbuf.Reader
	hooks   []event.Hook
	backend string
	storage storage
	dec     decoder
	seq     sequencer
	stage   stager
	rec     ringbuf.Record
	// stuck counts events left staged at the end of a trace (lost).
	stuck   uint64
	lostMap *ebpf.Map
	lostBuf []uint64
	lostSum uint64
	// misses is the programs' skipped runs as read at missesAt.
	misses, missesAt uint64
	skipped          atomic.Uint64 // misses, for Skipped
	stats            Stats
}

// Stats counts what a Tracer could not deliver.
type Stats struct {
	Lost uint64 // records the kernel had no ring-buffer room for, and skipped program runs
}

// Open checks the kernel, loads the BPF programs, attaches them and starts
// nothing: call Read to receive events. Errors are one line a user can act
// on.
func Open(ctx context.Context, cfg Config) (*Tracer, error) {
	if cfg.RingBytes == 0 {
		cfg.RingBytes = DefaultRingBytes
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.Backend == "auto" {
		cfg.Backend = ""
	}
	if cfg.Backend != "" && !slices.Contains(Backends, cfg.Backend) {
		return nil, fmt.Errorf("unknown backend %q: want auto, %s", cfg.Backend, strings.Join(Backends, ", "))
	}
	if err := preflight(); err != nil {
		return nil, err
	}
	timerFn, err := kernelSymbol("tw_timer_handler")
	if err != nil {
		return nil, err
	}
	// Without it, SYN reopens are reported as destroyed; everything
	// else works.
	reqskFn, _ := kernelSymbol("reqsk_timer_handler")
	hz, err := kernelHZ()
	if err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the locked-memory limit: %w", err)
	}

	spec, err := loadTwtrace()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded BPF object: %w", err)
	}
	spec.Maps["events"].MaxEntries = uint32(cfg.RingBytes)
	spec.Maps["tw_info"].MaxEntries = twInfoEntries()
	f := &cfg.Filter
	consts := map[string]any{
		"filter_netns":   f.NetNS,
		"filter_family":  familyOf(f.Family),
		"filter_lports":  len(f.LPorts) > 0,
		"filter_rports":  len(f.RPorts) > 0,
		"filter_owner":   f.Owners(),
		"tw_timer_fn":    timerFn,
		"reqsk_timer_fn": reqskFn,
		"wakeup_bytes":   uint64(cfg.RingBytes / 4),
	}
	for name, v := range consts {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("configuring %s: %w", name, err)
		}
	}

	cache := btf.NewCache()
	store, err := probeStorage(cache)
	if err != nil {
		return nil, err
	}
	if err := store.apply(spec); err != nil {
		return nil, err
	}

	t := &Tracer{cfg: cfg, storage: store}
	if t.objs, err = newObjects(spec, cache); err != nil {
		return nil, err
	}
	if err := t.fillFilter(); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.attach(); err != nil {
		t.Close()
		return nil, err
	}
	t.ring, err = ringbuf.NewReader(t.objs.maps.Maps["events"])
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("opening the ring buffer: %w", err)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("counting CPUs: %w", err)
	}
	t.lostMap = t.objs.maps.Maps["lost"]
	t.lostBuf = make([]uint64, ncpu)
	t.dec = newDecoder(ncpu, hz)
	t.stage = newStager(t.objs.maps.Maps["staged"], t.objs.progs["tw_flush"], ncpu)
	return t, ctx.Err()
}

// Backend names the backend of the tw hooks (one of Backends): it decides
// whether end causes are seen or inferred.
func (t *Tracer) Backend() string { return t.backend }

// Hooks reports what each hook group attached with.
func (t *Tracer) Hooks() []event.Hook { return t.hooks }

// Skipped returns how many runs of twtrace's programs the kernel skipped
// so far (because one was already running on that CPU), as last reported
// by Read. Each is one of the lost events Read reports, and may have
// carried up to two records. It is safe to call while Read runs.
func (t *Tracer) Skipped() uint64 { return t.skipped.Load() }

// Stats returns the counts so far.
func (t *Tracer) Stats() Stats { return t.stats }

// Close detaches everything and frees the kernel objects.
func (t *Tracer) Close() error {
	var errs []error
	if t.ring != nil {
		errs = append(errs, t.ring.Close())
	}
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	if t.objs != nil {
		t.objs.Close()
	}
	return errors.Join(errs...)
}

// Handler receives what Read delivers.
type Handler interface {
	// Event is called for each event; the value is reused after it
	// returns, so copy it to keep it.
	Event(*event.Event)
	// Idle is called each time the ring has been drained: a good moment
	// to flush output.
	Idle()
}

// Read delivers events to h until ctx is done. Losses are delivered as
// event.KindLost as soon as they are noticed.
func (t *Tracer) Read(ctx context.Context, h Handler) error {
	emit := h.Event
	decode := func(r *twtraceEvent) { t.dec.record(r, emit) }
	for ctx.Err() == nil {
		if err := t.drain(time.Now().Add(t.cfg.PollInterval)); err != nil {
			return err
		}
		w, err := t.stage.watermark(monotonicNow())
		if err != nil {
			return err
		}
		// What the quiet stages just sent.
		if err := t.drain(past); err != nil {
			return err
		}
		t.seq.release(w, decode)
		// Whatever followed a held cancel within microseconds in the
		// kernel has been released by now.
		t.dec.settle(w, emit)
		if err := t.reportLost(h, false); err != nil {
			return err
		}
		h.Idle()
		// The reader waits in epoll_wait, a system call the Go scheduler
		// does not see as a wait, so without a yield it looks like one
		// goroutine running forever: every 10 ms sysmon preempts it and
		// takes its P away mid-wait, and then polls every 20 µs for a
		// millisecond in case more Ps need taking, about 1% of a core
		// at the reference rate. Yielding once per drain resets that clock.
		runtime.Gosched()
	}
	stuck, err := t.stage.flushAll()
	if err != nil {
		return err
	}
	t.stuck += stuck
	if err := t.drain(past); err != nil {
		return err
	}
	t.seq.release(math.MaxUint64, decode)
	t.dec.settle(monotonicNow(), emit)
	// Skipped runs are read once a second: read them once more, so that
	// the last second's are not left out of the total.
	return t.reportLost(h, true)
}

// past is a deadline for drain that has passed: read what is there.
var past = time.Unix(1, 0)

// drain reads the ring into the sequencer until it is empty and deadline
// has passed.
func (t *Tracer) drain(deadline time.Time) error {
	t.ring.SetDeadline(deadline)
	for {
		err := t.ring.ReadInto(&t.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the ring buffer: %w", err)
		}
		t.seq.add(t.rec.RawSample)
	}
}

// missesEvery is how often the programs' skipped runs are read: one
// system call per program, too many for every drain.
const missesEvery = uint64(time.Second)

// reportLost turns an increase of the kernel's drop counters into a
// KindLost event: records the ring buffer had no room for, and runs of
// twtrace's programs that the kernel skipped because one of them was
// already running on that CPU (a softirq interrupting it), each of which
// may have carried an event. The skipped runs are read when force is set
// or a second has passed since the last read.
func (t *Tracer) reportLost(h Handler, force bool) error {
	var zero uint32
	if err := t.lostMap.Lookup(&zero, t.lostBuf); err != nil {
		return fmt.Errorf("reading the lost-event counter: %w", err)
	}
	now := monotonicNow()
	if force || now-t.missesAt >= missesEvery {
		t.misses, t.missesAt = t.objs.recursionMisses(), now
		t.skipped.Store(t.misses)
	}
	sum := t.misses + t.stuck
	for _, n := range t.lostBuf {
		sum += n
	}
	if sum <= t.lostSum {
		return nil
	}
	e := event.Event{Kind: event.KindLost, Count: sum - t.lostSum, MonoNS: monotonicNow()}
	e.WallNS = t.dec.wall(e.MonoNS)
	t.lostSum = sum
	t.stats.Lost = sum
	h.Event(&e)
	return nil
}
