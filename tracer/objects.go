//go:build linux

package tracer

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// objects are a tracer's kernel objects. The maps (and global variables)
// are created once, up front; programs are loaded per hook group, only
// those of the backend being tried, against those same maps. Loading
// everything at once would fail on kernels that refuse one kind of program
// (fentry with EPERM where trampolines are not allowed) even though
// another backend would work.
type objects struct {
	spec  *ebpf.CollectionSpec
	cache *btf.Cache // the kernel's BTF, decoded once for every load
	maps  *ebpf.Collection
	progs map[string]*ebpf.Program
}

// newObjects creates every map of spec, with no programs. cache holds the
// kernel's BTF.
func newObjects(spec *ebpf.CollectionSpec, cache *btf.Cache) (*objects, error) {
	o := &objects{spec: spec, cache: cache, progs: map[string]*ebpf.Program{}}
	mapsOnly := spec.Copy()
	clear(mapsOnly.Programs)
	var err error
	o.maps, err = ebpf.NewCollectionWithOptions(mapsOnly, ebpf.CollectionOptions{Cache: o.cache})
	if err != nil {
		return nil, fmt.Errorf("creating BPF maps: %w", err)
	}
	return o, nil
}

// loadPrograms loads the named programs, bound to the maps, all or none.
// Names already loaded are skipped.
func (o *objects) loadPrograms(names []string) error {
	some := o.spec.Copy()
	maps.DeleteFunc(some.Programs, func(name string, _ *ebpf.ProgramSpec) bool {
		for _, n := range names {
			if n == name && o.progs[n] == nil {
				return false
			}
		}
		return true
	})
	if len(some.Programs) == 0 {
		return nil
	}
	coll, err := ebpf.NewCollectionWithOptions(some, ebpf.CollectionOptions{
		MapReplacements: o.maps.Maps,
		Cache:           o.cache,
	})
	if err != nil {
		loading := slices.Sorted(maps.Keys(some.Programs))
		what := loading[0]
		if len(loading) > 1 {
			what += fmt.Sprintf(" and %d more programs", len(loading)-1)
		}
		return fmt.Errorf("loading %s: %w", what, err)
	}
	// The programs stay; the collection's clones of the maps go.
	for name, p := range coll.Programs {
		o.progs[name] = p
	}
	clear(coll.Programs)
	coll.Close()
	return nil
}

// unload closes the named programs.
func (o *objects) unload(names []string) {
	for _, n := range names {
		if p := o.progs[n]; p != nil {
			p.Close()
			delete(o.progs, n)
		}
	}
}

// recursionMisses sums the runs of the programs that the kernel skipped
// because one of them was already running on that CPU. Kernels before 5.12
// do not count them, and a program whose statistics cannot be read counts
// nothing: losing this count must not stop the tracing.
func (o *objects) recursionMisses() uint64 {
	var n uint64
	for _, p := range o.progs {
		if st, err := p.Stats(); err == nil {
			n += st.RecursionMisses
		}
	}
	return n
}

// Close frees every program and map.
func (o *objects) Close() {
	for _, p := range o.progs {
		p.Close()
	}
	o.maps.Close()
}
