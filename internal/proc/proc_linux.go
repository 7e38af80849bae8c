//go:build linux

package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// List returns every process, skipping those that exit while being read.
func List() ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		if p, ok := read(uint32(pid)); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// Exists reports whether a process with this PID exists.
func Exists(pid uint32) bool {
	_, err := os.Stat("/proc/" + strconv.FormatUint(uint64(pid), 10))
	return err == nil
}

// read parses /proc/PID/stat: "pid (comm) state ppid ...". The comm may
// itself contain ") ", so the last ')' ends it.
func read(pid uint32) (Process, bool) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/stat")
	if err != nil {
		return Process{}, false
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return Process{}, false
	}
	rest := bytes.Fields(b[close+1:])
	if len(rest) < 2 {
		return Process{}, false
	}
	ppid, err := strconv.ParseUint(string(rest[1]), 10, 32)
	if err != nil {
		return Process{}, false
	}
	return Process{PID: pid, PPID: uint32(ppid), Comm: string(b[open+1 : close])}, true
}
