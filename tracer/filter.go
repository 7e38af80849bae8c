//go:build linux

package tracer

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/twtrace/twtrace/internal/proc"
)

// familyOf turns 4/6 into the kernel's address family (0 stays 0).
func familyOf(f uint8) uint8 {
	switch f {
	case 4:
		return unix.AF_INET
	case 6:
		return unix.AF_INET6
	}
	return 0
}

// fillFilter loads the filter's sets into the kernel's watch maps. With
// --children, the descendants that exist now are added here; the fork
// program adds those born later.
func (t *Tracer) fillFilter() error {
	f := &t.cfg.Filter
	one := uint8(1)
	pids := f.PIDs
	if f.Children {
		kids, err := proc.Descendants(f.PIDs)
		if err != nil {
			return err
		}
		pids = append(append([]uint32(nil), pids...), kids...)
	}
	for _, pid := range pids {
		if err := t.objs.maps.Maps["watch_pids"].Put(pid, one); err != nil {
			return fmt.Errorf("filtering on PID %d: %w", pid, err)
		}
	}
	for _, name := range f.Names {
		var comm [16]byte
		copy(comm[:15], name)
		if err := t.objs.maps.Maps["watch_comms"].Put(comm, one); err != nil {
			return fmt.Errorf("filtering on process name %q: %w", name, err)
		}
	}
	for _, p := range f.LPorts {
		if err := t.objs.maps.Maps["watch_lports"].Put(p, one); err != nil {
			return fmt.Errorf("filtering on local port %d: %w", p, err)
		}
	}
	for _, p := range f.RPorts {
		if err := t.objs.maps.Maps["watch_rports"].Put(p, one); err != nil {
			return fmt.Errorf("filtering on remote port %d: %w", p, err)
		}
	}
	return nil
}
