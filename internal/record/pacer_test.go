package record

import (
	"slices"
	"testing"
	"time"
)

// fakeClock is the time a test's replay loop believes it is.
type fakeClock struct{ now time.Time }

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)} }

// deliver runs the caller's loop for one event: it waits (advancing the
// clock) until the Pacer releases the event, and returns the real time the
// event was delivered at, relative to start. It reports false if the
// Pacer holds the event (paused).
func (c *fakeClock) deliver(p *Pacer, t int64, start time.Time) (time.Duration, bool) {
	for {
		d := p.Delay(t, c.now)
		if d == Forever {
			return 0, false
		}
		if d == 0 {
			return c.now.Sub(start), true
		}
		c.now = c.now.Add(d)
	}
}

// replay delivers events at the given event times (in ms) and returns when
// each was delivered (in ms of real time since the first).
func (c *fakeClock) replay(t *testing.T, p *Pacer, ms ...int64) []int64 {
	t.Helper()
	start := c.now
	var got []int64
	for _, m := range ms {
		at, ok := c.deliver(p, m*1e6, start)
		if !ok {
			t.Fatalf("event at %d ms held while not paused", m)
		}
		got = append(got, at.Milliseconds())
	}
	return got
}

func TestPacerSpeeds(t *testing.T) {
	events := []int64{1000, 1000, 1500, 3000, 2900, 4000} // ms; one event late
	for _, tc := range []struct {
		speed float64
		want  []int64
	}{
		{1, []int64{0, 0, 500, 2000, 2000, 3000}},
		{10, []int64{0, 0, 50, 200, 200, 300}},
		{0.5, []int64{0, 0, 1000, 4000, 4000, 6000}},
		{0, []int64{0, 0, 0, 0, 0, 0}},
	} {
		got := newFakeClock().replay(t, NewPacer(tc.speed), events...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("speed %v: delivered at %v ms, want %v", tc.speed, got, tc.want)
		}
	}
}

// TestPacerSetSpeed checks that a new speed applies from the current
// position, not from the start of the replay.
func TestPacerSetSpeed(t *testing.T) {
	c := newFakeClock()
	p := NewPacer(1)
	c.replay(t, p, 0, 1000)
	p.SetSpeed(4)
	if got := c.replay(t, p, 2000, 3000); !slices.Equal(got, []int64{250, 500}) {
		t.Errorf("after speeding up, delivered at %v ms, want [250 500]", got)
	}
}

// TestPacerPause checks that pause holds events however long it lasts,
// that step releases exactly one, and that resume paces from where replay
// stopped rather than catching up on the paused time.
func TestPacerPause(t *testing.T) {
	c := newFakeClock()
	p := NewPacer(1)
	c.replay(t, p, 0, 1000)
	p.Pause()
	c.now = c.now.Add(time.Hour)
	if d := p.Delay(1500e6, c.now); d != Forever {
		t.Fatalf("paused: Delay = %v, want Forever", d)
	}
	p.Step()
	if d := p.Delay(1500e6, c.now); d != 0 {
		t.Fatalf("after Step: Delay = %v, want 0", d)
	}
	if d := p.Delay(1600e6, c.now); d != Forever {
		t.Fatalf("after the stepped event: Delay = %v, want Forever", d)
	}
	if pos, _ := p.Position(); pos != 1500e6 {
		t.Errorf("Position = %d, want the stepped event's 1500e6", pos)
	}
	p.Resume()
	if got := c.replay(t, p, 1600, 2500); !slices.Equal(got, []int64{100, 1000}) {
		t.Errorf("after resume, delivered at %v ms, want [100 1000]", got)
	}
}

// TestPacerSeek checks that seeking releases the events before the target
// at once and paces the rest from the target.
func TestPacerSeek(t *testing.T) {
	c := newFakeClock()
	p := NewPacer(1)
	c.replay(t, p, 0)
	p.SeekTo(60_000e6)
	if got := c.replay(t, p, 1000, 30_000, 59_999, 60_500, 61_000); !slices.Equal(got, []int64{0, 0, 0, 500, 1000}) {
		t.Errorf("seeking to 60 s, delivered at %v ms, want [0 0 0 500 1000]", got)
	}

	// Seeking while paused fast-forwards, then stays paused at the target.
	p.Pause()
	p.SeekTo(90_000e6)
	if got := c.replay(t, p, 70_000, 89_000); !slices.Equal(got, []int64{0, 0}) {
		t.Errorf("seeking while paused, delivered at %v ms, want [0 0]", got)
	}
	if pos, ok := p.Position(); !ok || pos != 89_000e6 {
		t.Errorf("Position = %d, %v; want 89_000e6", pos, ok)
	}
	if d := p.Delay(95_000e6, c.now); d != Forever {
		t.Errorf("past the target while paused: Delay = %v, want Forever", d)
	}
}

func TestPacerHugeGap(t *testing.T) {
	p := NewPacer(1e-9)
	now := newFakeClock().now
	p.Delay(0, now)
	if d := p.Delay(1<<62, now); d != Forever {
		t.Errorf("a gap too long to wait for: Delay = %v, want the saturated Forever", d)
	}
}
