//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// storage says where the BPF programs keep what they know about sockets
// and tasks. Linux 5.11 gave tracing programs socket storage and added
// task storage; older kernels (Debian 11's 5.10) get hash maps instead,
// with the bounds below. bpf/compat.h has the two paths.
type storage struct {
	skHashed   bool // sk_info is a hash keyed by socket address
	taskHashed bool // connecting is an LRU hash keyed by pid_tgid
}

// Sizes of the hash maps that stand in for storage. A socket's entry lives
// from its first transition to CLOSE; a full map refuses new sockets and
// counts each refusal as a lost event. A task's entry only matters inside
// its connect(), so the LRU may evict old ones freely.
const (
	skHashEntries     = 1 << 16
	listenerEntries   = 4096
	connectingEntries = 4096
)

// probeStorage asks the kernel which kinds of storage it has.
func probeStorage(cache *btf.Cache) (storage, error) {
	var s storage
	switch err := features.HaveMapType(ebpf.TaskStorage); {
	case errors.Is(err, ebpf.ErrNotSupported):
		s.taskHashed = true
	case err != nil:
		return s, fmt.Errorf("probing for BPF task storage: %w", err)
	}
	ok, err := tracingHasHelper(cache, asm.FnSkStorageGet)
	if err != nil {
		return s, fmt.Errorf("probing for socket storage in tracing programs: %w", err)
	}
	s.skHashed = !ok
	return s, nil
}

// tracingHasHelper reports whether a tp_btf program may call helper. The
// probe calls it with no arguments set up: a kernel that knows the helper
// for this program type then refuses the program for its arguments
// (EACCES), one that does not refuses the call itself (EINVAL).
func tracingHasHelper(cache *btf.Cache, helper asm.BuiltinFunc) (bool, error) {
	spec := &ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceRawTp,
		AttachTo:   "inet_sock_set_state",
		License:    "GPL",
		Instructions: asm.Instructions{
			helper.Call(),
			asm.LoadImm(asm.R0, 0, asm.DWord),
			asm.Return(),
		},
	}
	kernel, err := cache.Kernel()
	if err != nil {
		return false, fmt.Errorf("reading the kernel's BTF: %w", err)
	}
	p, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{KernelTypes: kernel})
	switch {
	case err == nil:
		p.Close()
		return true, nil
	case errors.Is(err, unix.EACCES):
		return true, nil
	case errors.Is(err, unix.EINVAL):
		return false, nil
	}
	return false, err
}

// apply fits spec to the kernel: the stand-in maps and the flags that tell
// the programs to use them.
func (s storage) apply(spec *ebpf.CollectionSpec) error {
	u64 := &btf.Int{Name: "__u64", Size: 8}
	if s.skHashed {
		m := spec.Maps["sk_info"]
		m.Type, m.Flags, m.Key, m.KeySize, m.MaxEntries = ebpf.Hash, 0, u64, 8, skHashEntries
		spec.Maps["listeners"].MaxEntries = listenerEntries
	}
	if s.taskHashed {
		m := spec.Maps["connecting"]
		m.Type, m.Flags, m.Key, m.KeySize, m.MaxEntries = ebpf.LRUHash, 0, u64, 8, connectingEntries
	}
	for name, v := range map[string]bool{"sk_info_hashed": s.skHashed, "connecting_hashed": s.taskHashed} {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("configuring %s: %w", name, err)
		}
	}
	return nil
}

// note says how the state hooks keep what they know, when it is not the
// usual storage.
func (s storage) note() string {
	var n []string
	if s.skHashed {
		n = append(n, fmt.Sprintf("owners kept in a hash of up to %d sockets (no socket storage for tracing programs before Linux 5.11)", skHashEntries))
	}
	if s.taskHashed {
		n = append(n, "connecting sockets kept per thread in a hash (no task storage before Linux 5.11)")
	}
	return strings.Join(n, "; ")
}
