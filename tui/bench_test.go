package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// busyFeed is a Feed whose aggregate tracks 1,000,000 tw (clients of 100
// processes towards 36 destinations) and 100,000 established
// connections (accepted by a server on port 443), with a full log.
func busyFeed() *Feed {
	f := NewFeed(aggregate.New(aggregate.Config{}), testMeta(), 2000)
	var e event.Event
	e.NetNS, e.TimeoutNS = testNetNS, uint64(60*time.Second)
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	for i := range 1_000_000 {
		e.Kind, e.Role, e.Substate, e.Closer = event.KindTWEnter, event.RoleClient, event.TimeWait, event.CloserLocal
		e.SetRemote(netip.AddrFrom4([4]byte{10, 0, 2, byte(i / 28232)}))
		e.LPort, e.RPort = uint16(32768+i%28232), 443
		e.PID = uint32(1000 + i%100)
		e.MonoNS = uint64(monoStart) + uint64(i)*1000
		e.WallNS = bootWall + int64(e.MonoNS)
		f.Event(&e)
	}
	e = event.Event{Kind: event.KindState, Old: event.SynRecv, New: event.Established, Role: event.RoleServer, NetNS: testNetNS, PID: 7, LPort: 443}
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	for i := range 100_000 {
		e.SetRemote(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}))
		e.RPort = uint16(10000 + i%50000)
		e.MonoNS = uint64(monoStart) + uint64(1_000_000+i)*1000
		e.WallNS = bootWall + int64(e.MonoNS)
		f.Event(&e)
	}
	// A full list of ended connections for the Connections view.
	for i := range 2000 {
		e.SetRemote(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}))
		e.MonoNS += 1000
		e.WallNS = bootWall + int64(e.MonoNS)
		e.Old, e.New = event.SynRecv, event.Established
		f.Event(&e)
		e.Old, e.New, e.Closer = event.Established, event.Close, event.CloserRemoteReset
		f.Event(&e)
		e.Closer = event.CloserNone
	}
	return f
}

// BenchmarkView measures drawing one screen of each view with 1,000,000
// tw and 100,000 connections tracked (issue 6: at most 10 ms), how long
// a frame holds the Feed's lock, and what a tick costs besides drawing:
// taking the snapshot and deriving the rows.
func BenchmarkView(b *testing.B) {
	f := busyFeed()
	if s := f.Snapshot(); s.TW.Count != 1_000_000 || s.Tracked != 1_100_000 {
		b.Fatalf("tracking %d tw of %d, want 1,000,000 of 1,100,000", s.TW.Count, s.Tracked)
	}
	m := newModel(f, Options{}, testClock)
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	for v := range numTabs {
		b.Run(tabNames[v], func(b *testing.B) {
			m.tab = v
			cpu := cpuTime()
			for b.Loop() {
				_ = m.draw()
			}
			// The machines that run benchmarks are shared: the CPU time
			// the process used says what a frame costs without the time
			// spent waiting for a CPU.
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
	// What the reader may wait for: the Feed's lock is held while the
	// snapshot is taken and the log copied.
	b.Run("locked", func(b *testing.B) {
		var buf []event.Event
		for b.Loop() {
			f.Snapshot()
			buf = f.Events(buf[:0])
		}
	})
	b.Run("frame", func(b *testing.B) {
		fetch := m.fetcher()
		cpu := cpuTime()
		for b.Loop() {
			m.apply(fetch())
		}
		b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}

// changing is a Source whose every frame differs from the last, as on a
// busy host, so that the terminal renderer redraws each time.
type changing struct {
	*Feed
	n int
}

func (c *changing) Snapshot() *aggregate.Snapshot {
	s := c.Feed.Snapshot()
	c.n++
	s.TW.Count += c.n
	s.WallNS += int64(c.n) * 1e8
	return s
}

func (c *changing) Events(dst []event.Event) []event.Event {
	evs := c.Feed.Events(dst)
	k := c.n % len(evs)
	return append(evs[k:], evs[:k]...)
}

// BenchmarkProgram runs the whole UI, renderer included, for a second
// per iteration at 10 frames per second, and reports the share of one
// core it used (issue 6: under 10%).
func BenchmarkProgram(b *testing.B) {
	src := &changing{Feed: busyFeed()}
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			var used, elapsed time.Duration
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				p := tea.NewProgram(newModel(src, Options{}, time.Now), tea.WithContext(ctx), tea.WithInput(nil),
					tea.WithOutput(io.Discard), tea.WithWindowSize(size[0], size[1]), tea.WithoutSignals())
				cpu, start := cpuTime(), time.Now()
				if _, err := p.Run(); !errors.Is(err, tea.ErrProgramKilled) {
					b.Fatal(err)
				}
				used, elapsed = used+cpuTime()-cpu, elapsed+time.Since(start)
				cancel()
			}
			b.ReportMetric(100*used.Seconds()/elapsed.Seconds(), "%core")
		})
	}
}
