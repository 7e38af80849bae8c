//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

const bpfStatsSysctl = "/proc/sys/kernel/bpf_stats_enabled"

// enableBPFStats turns on the kernel's per-program run time accounting
// (it has a cost of its own, so it is never on during the throughput
// pairs) and returns a function that restores the previous setting.
func enableBPFStats() (restore func() error, err error) {
	old, err := os.ReadFile(bpfStatsSysctl)
	if err != nil {
		return nil, fmt.Errorf("reading kernel.bpf_stats_enabled: %w", err)
	}
	if err := os.WriteFile(bpfStatsSysctl, []byte("1"), 0o644); err != nil {
		return nil, fmt.Errorf("enabling kernel.bpf_stats_enabled: %w", err)
	}
	return func() error {
		if err := os.WriteFile(bpfStatsSysctl, old, 0o644); err != nil {
			return fmt.Errorf("restoring kernel.bpf_stats_enabled: %w", err)
		}
		return nil
	}, nil
}

// progStats is one BPF program's accumulated run time and run count.
type progStats struct {
	id      ebpf.ProgramID
	name    string
	runtime time.Duration
	runs    uint64
}

// processPrograms returns the BPF programs process pid holds, found through
// the prog_id lines of its file descriptors' fdinfo (program fds and link
// fds both show one). That attributes programs to the tracer exactly,
// whatever else is loaded on the machine.
func processPrograms(pid int) ([]ebpf.ProgramID, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := make(map[ebpf.ProgramID]bool)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // the fd was closed meanwhile
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
				if id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
					seen[ebpf.ProgramID(id)] = true
				}
			}
		}
		f.Close()
	}
	ids := make([]ebpf.ProgramID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// readStats reads the statistics of the given programs.
func readStats(ids []ebpf.ProgramID) (map[ebpf.ProgramID]progStats, error) {
	out := make(map[ebpf.ProgramID]progStats, len(ids))
	var errs []error
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("program %d: %w", id, err))
			continue
		}
		s := progStats{id: id}
		if info, err := p.Info(); err == nil {
			s.name = info.Name
		}
		st, err := p.Stats()
		p.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("program %d stats: %w", id, err))
			continue
		}
		s.runtime, s.runs = st.Runtime, st.RunCount
		out[id] = s
	}
	return out, errors.Join(errs...)
}

// statsDelta returns after-before per program, sorted by name.
func statsDelta(before, after map[ebpf.ProgramID]progStats) []progStats {
	var d []progStats
	for id, a := range after {
		b := before[id]
		a.runtime -= b.runtime
		a.runs -= b.runs
		d = append(d, a)
	}
	sort.Slice(d, func(i, j int) bool { return d[i].name < d[j].name })
	return d
}

// nsPerRun is the mean run time, 0 for a program that did not run.
func (s progStats) nsPerRun() float64 {
	if s.runs == 0 {
		return 0
	}
	return float64(s.runtime.Nanoseconds()) / float64(s.runs)
}
