package replay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/record"
)

// t0 is the capture time of the first event in the test recordings.
var t0 = time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)

// jumpClock is a fake clock that never sleeps: waiting for d moves it
// forward by d at once, so a replay paced in real time runs instantly and
// the clock tells when each event would have been delivered.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// recording writes a recording with one tw_enter per offset (ms after
// t0) and returns its bytes.
func recording(t *testing.T, ms ...int64) []byte {
	data, _ := frames(t, ms...)
	return data
}

// frameLog remembers where each Write ended: the writer writes each frame
// with one Write.
type frameLog struct {
	bytes.Buffer
	ends []int
}

func (l *frameLog) Write(p []byte) (int, error) {
	n, err := l.Buffer.Write(p)
	l.ends = append(l.ends, l.Len())
	return n, err
}

// frames is recording, which also returns where each frame ends. Every
// event is flushed as its own block, so cutting a block loses one event.
func frames(t *testing.T, ms ...int64) ([]byte, []int) {
	t.Helper()
	var b frameLog
	meta := &event.Meta{Host: "test", BootWallNS: t0.UnixNano() - 1e12, StartWallNS: t0.UnixNano()}
	w, err := record.NewWriter(&b, meta, []event.Socket{{State: event.Established, LPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		e := event.Event{Kind: event.KindTWEnter, Substate: event.TimeWait, LPort: uint16(40000 + i), RPort: 443}
		e.WallNS = t0.UnixNano() + m*1e6
		e.MonoNS = uint64(e.WallNS - meta.BootWallNS)
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), b.ends
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.twt")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run plays p in the background. Each delivery is reported on the
// returned channel as its capture time (ms after t0) and the clock's time
// then (ms since the start), and rewinds as -1.
type delivery struct{ at, when int64 }

func run(t *testing.T, p *Player, clock *jumpClock) <-chan delivery {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan delivery, 100)
	done := make(chan struct{})
	start := clock.Now()
	go func() {
		defer close(done)
		err := p.Run(ctx, func(e *event.Event) {
			ch <- delivery{(e.WallNS - t0.UnixNano()) / 1e6, clock.Now().Sub(start).Milliseconds()}
		}, func(snap []event.Socket) {
			if len(snap) != 1 {
				t.Errorf("rewind with %d sockets, want the recording's 1", len(snap))
			}
			ch <- delivery{-1, -1}
		})
		if err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ch
}

// next returns the next n deliveries, failing if they do not come.
func next(t *testing.T, ch <-chan delivery, n int) []delivery {
	t.Helper()
	var got []delivery
	for range n {
		select {
		case d := <-ch:
			got = append(got, d)
		case <-time.After(5 * time.Second):
			t.Fatalf("after %v: no delivery", got)
		}
	}
	return got
}

// quiet checks that nothing more is delivered.
func quiet(t *testing.T, ch <-chan delivery) {
	t.Helper()
	select {
	case d := <-ch:
		t.Fatalf("unexpected delivery %v", d)
	case <-time.After(50 * time.Millisecond):
	}
}

func open(t *testing.T, data []byte, speed float64) (*Player, *jumpClock) {
	t.Helper()
	clock := &jumpClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := Open(writeFile(t, data), Options{Speed: speed, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, clock
}

func TestPacesByCaptureTime(t *testing.T) {
	for _, tc := range []struct {
		speed float64
		want  []delivery
	}{
		{1, []delivery{{0, 0}, {1000, 1000}, {1500, 1500}, {4000, 4000}}},
		{2, []delivery{{0, 0}, {1000, 500}, {1500, 750}, {4000, 2000}}},
		{0, []delivery{{0, 0}, {1000, 0}, {1500, 0}, {4000, 0}}},
	} {
		p, clock := open(t, recording(t, 0, 1000, 1500, 4000), tc.speed)
		got := next(t, run(t, p, clock), 4)
		if !slices.Equal(got, tc.want) {
			t.Errorf("speed %v: delivered %v, want %v", tc.speed, got, tc.want)
		}
		waitEnded(t, p)
		if st := p.Status(); !st.Position.Equal(t0.Add(4*time.Second)) || st.Err != nil {
			t.Errorf("speed %v: at the end, status %+v", tc.speed, st)
		}
	}
}

func waitEnded(t *testing.T, p *Player) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !p.Status().Ended {
		if time.Now().After(deadline) {
			t.Fatalf("replay never ended: %+v", p.Status())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPauseStepResume(t *testing.T) {
	p, clock := open(t, recording(t, 0, 1000, 2000), 1)
	p.Pause()
	ch := run(t, p, clock)
	quiet(t, ch)
	p.Step()
	if got := next(t, ch, 1); got[0].at != 0 {
		t.Fatalf("step delivered %v, want the first event", got)
	}
	quiet(t, ch)
	if st := p.Status(); !st.Paused || !st.Position.Equal(t0) {
		t.Errorf("after a step: %+v", st)
	}
	p.Resume()
	if got := next(t, ch, 2); got[0].at != 1000 || got[1].when-got[0].when != 1000 {
		t.Errorf("after resume: %v, want the rest a second apart", got)
	}
}

func TestSeek(t *testing.T) {
	p, clock := open(t, recording(t, 0, 1000, 2000, 5000), 1)
	if err := p.Seek(t0.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if pos := p.Status().Position; !pos.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("position after seeking = %v", pos)
	}
	ch := run(t, p, clock)
	want := []delivery{{0, 0}, {1000, 0}, {2000, 0}, {5000, 3000}}
	if got := next(t, ch, 4); !slices.Equal(got, want) {
		t.Errorf("seeking forward delivered %v, want %v", got, want)
	}
	waitEnded(t, p)

	// Backwards: the recording starts again, and the events up to the
	// target come at once.
	p.SetSpeed(0)
	if err := p.Seek(t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got := next(t, ch, 5)
	if got[0].at != -1 || got[1].at != 0 || got[4].at != 5000 {
		t.Errorf("seeking back delivered %v, want a rewind and every event again", got)
	}
	waitEnded(t, p)
}

// TestSeeksBeforeARestart seeks back and then forward before Run acts
// on the first: the restart goes to where the user went last.
func TestSeeksBeforeARestart(t *testing.T) {
	p, clock := open(t, recording(t, 0, 1000, 5000, 9000), 1)
	p.Pause()
	if err := p.Seek(t0.Add(6 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ch := run(t, p, clock)
	if got := next(t, ch, 3); got[2].at != 5000 {
		t.Fatalf("seeking forward delivered %v", got)
	}
	quiet(t, ch)
	if err := p.Seek(t0.Add(-time.Hour)); err != nil { // before the start: to the start
		t.Fatal(err)
	}
	if err := p.Seek(t0.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := next(t, ch, 3)
	if got[0].at != -1 || got[1].at != 0 || got[2].at != 1000 {
		t.Errorf("after seeking back, then forward: %v, want a rewind and the events before 2 s", got)
	}
	quiet(t, ch) // paused at 2 s
	if st := p.Status(); !st.Position.Equal(t0.Add(2*time.Second)) || !st.Paused {
		t.Errorf("status %+v, want paused at 2 s", st)
	}
}

// TestOpenBytes replays a recording in memory, as --demo does, and seeks
// back in it.
func TestOpenBytes(t *testing.T) {
	clock := &jumpClock{now: t0}
	p, err := OpenBytes("demo", recording(t, 0, 1000), Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ch := run(t, p, clock)
	next(t, ch, 2)
	waitEnded(t, p)
	if err := p.Seek(t0); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch, 3); got[0].at != -1 || got[2].at != 1000 {
		t.Errorf("seeking back delivered %v, want a rewind and both events", got)
	}
	if _, err := OpenBytes("demo", []byte("no"), Options{}); err == nil || !strings.Contains(err.Error(), "demo") {
		t.Errorf("a damaged recording in memory: %v, want an error naming it", err)
	}
}

func TestStdinCannotSeekBack(t *testing.T) {
	clock := &jumpClock{now: t0}
	p, err := Open("-", Options{Clock: clock, Stdin: bytes.NewReader(recording(t, 0, 1000))})
	if err != nil {
		t.Fatal(err)
	}
	next(t, run(t, p, clock), 2)
	waitEnded(t, p)
	if err := p.Seek(t0); !errors.Is(err, ErrNoRewind) {
		t.Errorf("seeking back on stdin: %v, want ErrNoRewind", err)
	}
	if err := p.Seek(t0.Add(time.Hour)); err != nil {
		t.Errorf("seeking forward on stdin: %v", err)
	}
}

func TestDamagedRecordings(t *testing.T) {
	data, ends := frames(t, 0, 1000, 2000)
	// The frame before the end frame holds the last event.
	lastStart, lastEnd := ends[len(ends)-3], ends[len(ends)-2]
	p, clock := open(t, data[:lastEnd-1], 0)
	ch := run(t, p, clock)
	next(t, ch, 2)
	waitEnded(t, p)
	quiet(t, ch)
	var te *record.TruncatedError
	if err := p.Status().Err; !errors.As(err, &te) {
		t.Errorf("truncated recording: status error %v, want *record.TruncatedError", err)
	}

	corrupt := slices.Clone(data)
	corrupt[(lastStart+lastEnd)/2] ^= 0xff
	p, clock = open(t, corrupt, 0)
	ch = run(t, p, clock)
	next(t, ch, 2)
	waitEnded(t, p)
	quiet(t, ch)
	var ce *record.CorruptError
	if err := p.Status().Err; !errors.As(err, &ce) {
		t.Errorf("corrupt recording: status error %v, want *record.CorruptError", err)
	}

	if _, err := Open(writeFile(t, []byte("not a recording at all, no")), Options{}); !errors.As(err, new(*record.FormatError)) {
		t.Errorf("foreign file: %v, want *record.FormatError", err)
	}
}
