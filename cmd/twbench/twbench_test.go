//go:build linux

package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/twtrace/twtrace/internal/churn"
	"github.com/twtrace/twtrace/internal/nettest"
)

// TestMain lets the test binary play churn when a workload re-executes it,
// as main does for twbench.
func TestMain(m *testing.M) {
	if os.Getenv(churnEnv) != "" {
		os.Exit(churnMain())
	}
	os.Exit(m.Run())
}

// TestWorkloadRunsInNetns runs a short churn in a private namespace the
// way the pairs do, with the CPU-sampling hooks around it.
func TestWorkloadRunsInNetns(t *testing.T) {
	ns := nettest.NewNS(t)
	w, err := newWorkload(ns, t.TempDir(), config{mode: churn.ClientClose, workers: 2, addr: "127.0.0.1:5001"})
	if err != nil {
		t.Fatal(err)
	}
	var started, done bool
	res, err := w.run(context.Background(), 300*time.Millisecond, 0, func() { started = true }, func() { done = true })
	if err != nil {
		t.Fatal(err)
	}
	if !started || !done {
		t.Errorf("hooks called: start %v, done %v", started, done)
	}
	if res.Conns == 0 || res.Errors.Total() != 0 || res.Mode != churn.ClientClose {
		t.Errorf("churn result %+v", res)
	}
	if s := ns.Sockstat(t); s.TW == 0 {
		t.Error("no TIME_WAIT in the namespace after the run")
	}
}

func TestTwtraceCounts(t *testing.T) {
	stderr := "twtrace: attaching\ntwtrace: events=370190 lost=12\n"
	if d, l := twtraceCounts("", stderr); d != 370190 || l != 12 {
		t.Errorf("got %d, %d", d, l)
	}
	if d, l := twtraceCounts("", "twtrace: interrupted\n"); d != -1 || l != -1 {
		t.Errorf("without the summary line: got %d, %d, want -1, -1", d, l)
	}
}

// bpftrace 0.17 prints its map at exit like this.
func TestBpftraceCounts(t *testing.T) {
	stdout := "Attaching 1 probe...\n\n\n@[10, 3]: 42\n@[3, 1]: 42\n@[7, 2]: 40\n"
	if d, l := bpftraceCounts(stdout, ""); d != 124 || l != 0 {
		t.Errorf("got %d, %d, want 124, 0", d, l)
	}
}

func TestTcpstatesCounts(t *testing.T) {
	stderr := "lost 10 events on CPU #0\nlost 5 events on CPU #1\n"
	if d, l := tcpstatesCounts("", stderr); d != -1 || l != 15 {
		t.Errorf("got %d, %d, want -1, 15", d, l)
	}
}

func TestProcCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPUTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{nil, 0},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPairFigures(t *testing.T) {
	p := pairResult{
		without:  churn.Result{Conns: 10000, Elapsed: time.Second},
		with:     churn.Result{Conns: 9000, Elapsed: time.Second},
		cpuTicks: 9, // 0.09 s of CPU in 1 s: 9% of a core
	}
	if got := p.ratio(); got != 0.9 {
		t.Errorf("ratio = %v, want 0.9", got)
	}
	// 90k events/s at 9% of a core is 1% per 10k events/s.
	if got := p.cpuPer10k(); got < 0.999 || got > 1.001 {
		t.Errorf("cpuPer10k = %v, want 1", got)
	}
}

// TestProcessPrograms loads a trivial program and checks it is found in
// this process's fdinfo and its statistics can be read.
func TestProcessPrograms(t *testing.T) {
	nettest.RequirePrivileged(t)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.SocketFilter,
		License:      "MIT",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := info.ID()
	ids, err := processPrograms(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, want) {
		t.Fatalf("processPrograms = %v, want it to hold %d", ids, want)
	}
	if _, err := readStats([]ebpf.ProgramID{want}); err != nil {
		t.Error(err)
	}
}

// TestMedianFigures keeps a figure a tracer does not report unreported in
// the medians, and takes the others field by field.
func TestMedianFigures(t *testing.T) {
	pair := func(with uint64, delivered int64) pairResult {
		return pairResult{
			without:   churn.Result{Conns: 1000, Elapsed: time.Second},
			with:      churn.Result{Conns: with, Elapsed: time.Second},
			delivered: delivered,
			lost:      0,
		}
	}
	m := medianFigures([]pairResult{pair(900, 9000), pair(1000, 10000), pair(950, 9500)})
	if m.ratio != 0.95 || m.delivered != 9500 || m.lost != 0 {
		t.Errorf("medians = %+v", m)
	}
	m = medianFigures([]pairResult{pair(900, 9000), pair(1000, -1)})
	if m.delivered != -1 || m.delPerSec != -1 {
		t.Errorf("with one pair unreported: delivered = %v, per s = %v, want -1", m.delivered, m.delPerSec)
	}
	if s := m.String(); !strings.Contains(s, "delivered=n/a") {
		t.Errorf("String() = %q, want delivered=n/a", s)
	}
}
