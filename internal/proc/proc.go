// Package proc answers the questions twtrace asks about processes: which
// exist under a name, and which descend from a PID. It reads /proc, so it
// works on Linux only; elsewhere (replay) every answer is empty.
package proc

// Process is a running process: its ID, parent and name (comm).
type Process struct {
	PID, PPID uint32
	Comm      string
}

// Named returns the processes whose comm is name.
func Named(name string) ([]Process, error) {
	all, err := List()
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, p := range all {
		if p.Comm == name {
			out = append(out, p)
		}
	}
	return out, nil
}

// Descendants returns the PIDs of every process below the given ones, at
// any depth.
func Descendants(roots []uint32) ([]uint32, error) {
	all, err := List()
	if err != nil {
		return nil, err
	}
	children := make(map[uint32][]uint32)
	for _, p := range all {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	var out []uint32
	queue := append([]uint32(nil), roots...)
	seen := make(map[uint32]bool)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out, nil
}
