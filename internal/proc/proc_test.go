//go:build linux

package proc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestSeesItselfAndItsChildren(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	self := uint32(os.Getpid())
	kids, err := Descendants([]uint32{self})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kids, uint32(cmd.Process.Pid)) {
		t.Errorf("descendants of %d: %v, want %d among them", self, kids, cmd.Process.Pid)
	}
	sleeps, err := Named("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sleeps, func(p Process) bool { return p.PID == uint32(cmd.Process.Pid) && p.PPID == self }) {
		t.Errorf("processes named sleep: %v, want %d (parent %d)", sleeps, cmd.Process.Pid, self)
	}
	if !Exists(self) || Exists(0) {
		t.Errorf("Exists: self %v, 0 %v", Exists(self), Exists(0))
	}
}
