//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// stageQuiet is how old a CPU's oldest staged event may get before Go
// flushes that CPU's stage. A CPU that keeps producing flushes its own
// (STAGE_AGE_NS, bpf/maps.h); this is for one that went quiet with events
// staged, so that nothing waits longer than this plus a drain.
const stageQuiet = uint64(10 * time.Millisecond)

// stageSlack bounds how long a program takes from reading the clock to
// staging its event: an event no older than this may not be staged yet
// when Go reads the stages. Programs take microseconds; the margin covers
// an interrupt or a virtual CPU descheduled in between.
const stageSlack = uint64(2 * time.Millisecond)

// stager is the Go side of the per-CPU stages: it reads how old each one
// is, flushes the quiet ones and says up to when every event is in the
// ring.
type stager struct {
	meta  *ebpf.Map     // staged
	flush *ebpf.Program // tw_flush
	buf   []twtraceStageMeta
	// offline marks CPUs that refused a flush because they are offline:
	// their stage is not waited for (its events come if the CPU does).
	offline []bool
}

func newStager(meta *ebpf.Map, flush *ebpf.Program, ncpu int) stager {
	return stager{meta: meta, flush: flush, buf: make([]twtraceStageMeta, ncpu), offline: make([]bool, ncpu)}
}

// watermark flushes the stages that have gone quiet and returns a time
// before which every event will have reached the ring once it is drained
// after this call. now is the monotonic clock before the call.
func (s *stager) watermark(now uint64) (uint64, error) {
	if err := s.read(); err != nil {
		return 0, err
	}
	w := now - stageSlack
	for cpu, m := range s.buf {
		if m.N == 0 || s.offline[cpu] {
			continue
		}
		if m.Oldest+stageQuiet < now {
			busy, err := s.flushCPU(cpu)
			if err != nil {
				return 0, err
			}
			if !busy {
				continue
			}
		}
		w = min(w, m.Oldest)
	}
	return w, nil
}

// read fills buf with every CPU's stage state.
func (s *stager) read() error {
	if err := s.meta.Lookup(uint32(0), s.buf); err != nil {
		return fmt.Errorf("reading the staged events: %w", err)
	}
	return nil
}

// flushCPU sends cpu's staged events to the ring. busy means a program on
// that CPU was between staging steps: try again later.
func (s *stager) flushCPU(cpu int) (busy bool, err error) {
	ret, err := s.flush.Run(&ebpf.RunOptions{CPU: uint32(cpu), Flags: unix.BPF_F_TEST_RUN_ON_CPU})
	if errors.Is(err, unix.ENXIO) {
		s.offline[cpu] = true
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("flushing the events staged on CPU %d: %w", cpu, err)
	}
	return ret != 0, nil
}

// flushAll sends every CPU's staged events to the ring, for the end of a
// trace. A CPU that stays busy for a millisecond keeps its events; they
// are returned as a count, to be reported lost.
func (s *stager) flushAll() (stuck uint64, err error) {
	if err := s.read(); err != nil {
		return 0, err
	}
	for cpu, m := range s.buf {
		if m.N == 0 {
			continue
		}
		for try := 0; ; try++ {
			busy, err := s.flushCPU(cpu)
			if err != nil {
				return stuck, err
			}
			if !busy {
				break
			}
			if try == 100 {
				stuck += uint64(m.Nev)
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
	return stuck, nil
}
