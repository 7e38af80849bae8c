//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/internal/vmtest"
)

// terminal is the real twtrace binary running in a tmux pane of its own
// tmux server, driven by keys and read back from the screen.
type terminal struct {
	t      *testing.T
	socket string // the tmux server's socket, in the test's directory
	status string // where the shell writes the binary's exit code
}

// buildTwtrace builds the command under test once per test.
func buildTwtrace(t *testing.T) string {
	t.Helper()
	if vmtest.InVM() {
		t.Skip("builds the binary with the Go toolchain, which a test VM has not")
	}
	bin := filepath.Join(t.TempDir(), "twtrace")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building twtrace: %v\n%s", err, out)
	}
	return bin
}

func startTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv(nettest.RequirePrivilegedEnv) == "1" {
			t.Fatal("tmux is not installed")
		}
		t.Skip("needs tmux")
	}
	dir := t.TempDir()
	term := &terminal{t: t, socket: filepath.Join(dir, "tmux.sock"), status: filepath.Join(dir, "exit")}
	cmd := fmt.Sprintf("%s %s; echo $? > %s; sleep 600", buildTwtrace(t), strings.Join(args, " "), term.status)
	term.tmux("new-session", "-d", "-s", "ui", "-x", "100", "-y", "32", cmd)
	t.Cleanup(func() { exec.Command("tmux", "-S", term.socket, "kill-server").Run() })
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (term *terminal) screen() string { return term.tmux("capture-pane", "-p", "-t", "ui") }

func (term *terminal) keys(keys ...string) {
	term.tmux(append([]string{"send-keys", "-t", "ui"}, keys...)...)
}

// await waits until the screen shows every one of want.
func (term *terminal) await(what string, want ...string) string {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := term.screen()
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(s, w)
		}
		if !missing {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen never showed %s (%q):\n%s", what, want, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quit presses q and checks the binary exits 0 and leaves the UI's
// alternate screen.
func (term *terminal) quit() {
	term.t.Helper()
	term.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(term.status)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			if code := strings.TrimSpace(string(b)); code != "0" {
				term.t.Errorf("twtrace exited %s, want 0", code)
			}
			break
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("twtrace did not exit on q:\n%s", term.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := term.screen(); strings.Contains(s, "help") || strings.Contains(s, "twtrace │") {
		term.t.Errorf("the terminal still shows the UI after exit:\n%s", s)
	}
}

// TestDemoInATerminal: what a newcomer sees first.
func TestDemoInATerminal(t *testing.T) {
	term := startTerminal(t, "--demo")
	term.await("the header and the overview", "REPLAY", "Overview", "TIME_WAIT", "q quit")
	term.keys("Tab")
	term.await("the TIME_WAIT view grouped by owner", "OWNER", "nginx")
	term.keys("?")
	term.await("the help", "quit")
	term.quit()
}

// TestLiveInATerminal: a connection made in a private namespace shows up
// with its owner and who closed it.
func TestLiveInATerminal(t *testing.T) {
	nettest.RequirePrivileged(t)
	ns := nettest.NewNS(t)
	term := startTerminal(t, "--netns", ns.Path)
	term.await("the live header", "backend tracepoint")
	srv := ns.Start(t, "twsrv", "server", "-addr", "127.0.0.1:7104", "-n", "1", "-close", "second")
	srv.Ready(t)
	cli := ns.Start(t, "twcli", "client", "-addr", "127.0.0.1:7104", "-n", "1", "-close", "first")
	cli.Wait(t)
	srv.Wait(t)
	term.await("the tw counted", "tw 1 ")
	term.keys("Tab")
	term.await("the tw's owner", "twcli")
	term.keys("Tab", "Tab")
	term.await("the transitions with owner and closer", "twcli", "FIN_WAIT1", "local")
	term.quit()
}
