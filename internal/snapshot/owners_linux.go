package snapshot

import (
	"os"
	"strconv"
	"strings"

	"github.com/twtrace/twtrace/internal/event"
)

// findOwners fills in PID and Comm of sockets whose inode some process
// holds open, scanning /proc/*/fd. It is best effort: processes come and
// go during the scan and others' descriptors need privileges. When
// several processes share a socket (after fork) the lowest PID wins, so
// the answer does not depend on scan order.
func findOwners(socks []event.Socket) {
	want := make(map[uint32][]int)
	for i := range socks {
		if socks[i].Inode != 0 {
			want[socks[i].Inode] = append(want[socks[i].Inode], i)
		}
	}
	if len(want) == 0 {
		return
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, p := range procs {
		pid, err := strconv.ParseUint(p.Name(), 10, 32)
		if err != nil {
			continue
		}
		for _, ino := range socketInodes(p.Name()) {
			for _, i := range want[ino] {
				if s := &socks[i]; s.PID == 0 || uint32(pid) < s.PID {
					s.PID = uint32(pid)
					event.SetComm(&s.Comm, comm(p.Name()))
				}
			}
		}
	}
}

// socketInodes returns the inodes of the sockets process pid holds.
func socketInodes(pid string) []uint32 {
	dir := "/proc/" + pid + "/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var inodes []uint32
	for _, fd := range fds {
		link, err := os.Readlink(dir + fd.Name())
		if err != nil {
			continue
		}
		num, ok := strings.CutPrefix(link, "socket:[")
		if !ok {
			continue
		}
		if ino, err := strconv.ParseUint(strings.TrimSuffix(num, "]"), 10, 32); err == nil {
			inodes = append(inodes, uint32(ino))
		}
	}
	return inodes
}

func comm(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
