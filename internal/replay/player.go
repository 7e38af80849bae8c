// Package replay plays a recording back for the UI as if it were live:
// events are delivered at the pace they were captured (or faster), and the
// user can pause, single-step, change speed and seek while it plays.
//
// The pacing decisions are record.Pacer's; Player adds the loop around
// it: reading the recording, waiting on a clock that tests can replace,
// and reopening the file to seek backwards.
package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/record"
)

// ErrNoRewind is returned by Seek for a backward seek in a recording read
// from stdin, which cannot be read a second time.
var ErrNoRewind = errors.New("cannot seek backwards in a recording read from stdin")

// Clock is the time source a Player waits on. Tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a Player.
type Options struct {
	// Speed is the initial speed: 1 plays in real time, 10 ten times
	// faster, 0 (the zero value) as fast as possible.
	Speed float64
	// Clock defaults to the system clock.
	Clock Clock
	// Stdin is read for the path "-"; it defaults to os.Stdin.
	Stdin io.Reader
}

// Status is what the UI header shows about a replay.
type Status struct {
	// Position is the capture time replay has reached.
	Position time.Time
	Speed    float64
	Paused   bool
	// Ended reports that everything the recording holds was delivered.
	Ended bool
	// Err says why the recording ended early: a *record.TruncatedError
	// (a recorder that crashed; everything before it was delivered) or a
	// *record.CorruptError (replay stops there rather than skip events).
	Err error
}

// Player replays one recording. Its controls and Status are safe to call
// from any goroutine while Run delivers events in another.
type Player struct {
	name string // the path, "stdin" or the caller's name, for errors
	// source returns the recording from its beginning; it can be called
	// again to seek backwards only when rewindable.
	source     func() (io.ReadCloser, error)
	rewindable bool
	clock      Clock
	meta       *event.Meta
	snap       []event.Socket

	// wake interrupts Run's wait when the user acts.
	wake chan struct{}

	mu     sync.Mutex
	r      *record.Reader
	f      io.Closer // what source returned last
	pacer  *record.Pacer
	origin int64 // the position before the first event is delivered
	// rewind asks Run to restart the recording and seek to rewindTo.
	rewind   bool
	rewindTo int64
	ended    bool
	err      error
}

// Open opens the recording at path ("-" for stdin) and reads its header.
// Errors about the content are the record package's typed errors
// (*record.FormatError, *record.TruncatedError, *record.CorruptError).
func Open(path string, opt Options) (*Player, error) {
	if path == "-" {
		in := opt.Stdin
		if in == nil {
			in = os.Stdin
		}
		return start("stdin", func() (io.ReadCloser, error) { return io.NopCloser(in), nil }, false, opt)
	}
	return start(path, func() (io.ReadCloser, error) { return os.Open(path) }, true, opt)
}

// OpenBytes replays a recording held in memory, such as the demo built
// into the binary. name is used in errors.
func OpenBytes(name string, data []byte, opt Options) (*Player, error) {
	return start(name, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, true, opt)
}

func start(name string, source func() (io.ReadCloser, error), rewindable bool, opt Options) (*Player, error) {
	p := &Player{name: name, source: source, rewindable: rewindable, clock: opt.Clock, wake: make(chan struct{}, 1)}
	if p.clock == nil {
		p.clock = realClock{}
	}
	if err := p.open(); err != nil {
		return nil, err
	}
	p.meta, p.snap = p.r.Meta(), p.r.Snapshot()
	p.pacer = record.NewPacer(opt.Speed)
	p.origin = p.meta.StartWallNS
	return p, nil
}

// open starts reading the recording from its beginning.
func (p *Player) open() error {
	f, err := p.source()
	if err != nil {
		return fmt.Errorf("replaying: %w", err)
	}
	r, err := record.Open(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("replaying %s: %w", p.name, err)
	}
	if p.f != nil {
		p.f.Close()
	}
	p.r, p.f = r, f
	return nil
}

// Meta returns how the recording was captured.
func (p *Player) Meta() *event.Meta { return p.meta }

// Snapshot returns the sockets that existed when the recording began, to
// seed the aggregate with.
func (p *Player) Snapshot() []event.Socket { return p.snap }

// Run delivers the recording's events in order, paced, until ctx is done.
// At the end of the recording it keeps waiting, so that the user can
// still seek back; Status reports the end. When a backward seek restarts
// the recording, Run calls rewind with the startup snapshot before
// delivering the first event again: everything delivered before is to be
// forgotten. deliver and rewind are called from Run's goroutine only, and
// e is reused after deliver returns.
//
// Run returns nil when ctx is done, or the error that stopped it from
// reopening the recording.
func (p *Player) Run(ctx context.Context, deliver func(e *event.Event), rewind func(snap []event.Socket)) error {
	var e event.Event
	held := false // e was read and waits for its time
	for ctx.Err() == nil {
		restart, err := p.restart()
		if err != nil {
			return err
		}
		if restart {
			held = false
			rewind(p.snap)
		}
		if !held && !p.atEnd() {
			if err := p.r.Next(&e); err != nil {
				p.finish(err)
				continue
			}
			held = true
		}
		d := record.Forever
		if held {
			d = p.delay(e.WallNS)
		}
		if d == 0 {
			deliver(&e)
			held = false
			continue
		}
		p.wait(ctx, d)
	}
	return nil
}

// restart reopens the recording when a backward seek asked for it.
func (p *Player) restart() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.rewind {
		return false, nil
	}
	p.rewind = false
	if err := p.open(); err != nil {
		p.ended, p.err = true, err
		return false, err
	}
	speed, paused := p.pacer.Speed(), p.pacer.Paused()
	p.pacer = record.NewPacer(speed)
	if paused {
		p.pacer.Pause()
	}
	p.pacer.SeekTo(p.rewindTo)
	p.ended, p.err = false, nil
	return true, nil
}

func (p *Player) atEnd() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended
}

// finish records why the recording ended; io.EOF is a clean end.
func (p *Player) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	if !errors.Is(err, io.EOF) {
		p.err = fmt.Errorf("replaying %s: %w", p.name, err)
	}
}

func (p *Player) delay(t int64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pacer.Delay(t, p.clock.Now())
}

// wait sleeps for d (record.Forever: until woken), or until the user acts
// or ctx is done.
func (p *Player) wait(ctx context.Context, d time.Duration) {
	var timer <-chan time.Time
	if d != record.Forever {
		timer = p.clock.After(d)
	}
	select {
	case <-ctx.Done():
	case <-p.wake:
	case <-timer:
	}
}

// control applies a user action to the pacer and wakes Run to act on it.
func (p *Player) control(f func(*record.Pacer)) {
	p.mu.Lock()
	f(p.pacer)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Pause stops delivery; Step still releases single events.
func (p *Player) Pause() { p.control((*record.Pacer).Pause) }

// Resume continues from the current position at the current speed.
func (p *Player) Resume() { p.control((*record.Pacer).Resume) }

// Step delivers the next event while paused.
func (p *Player) Step() { p.control((*record.Pacer).Step) }

// SetSpeed changes the speed: 1 is real time, 0 as fast as possible.
func (p *Player) SetSpeed(speed float64) {
	p.control(func(pc *record.Pacer) { pc.SetSpeed(speed) })
}

// Seek moves replay to capture time t, or to the start of the capture
// if t is before it. Forward, the events in between are delivered at
// once; backward, the recording restarts from its beginning (Run calls
// rewind) and fast-forwards to t, which a recording read from stdin
// cannot do (ErrNoRewind).
func (p *Player) Seek(t time.Time) error {
	to := max(t.UnixNano(), p.meta.StartWallNS)
	var err error
	p.control(func(pc *record.Pacer) {
		switch {
		case p.rewind:
			p.rewindTo = to // the restart Run is about to make goes there
		case to >= p.position():
			pc.SeekTo(to)
		case !p.rewindable:
			err = ErrNoRewind
			return
		default:
			p.rewind, p.rewindTo = true, to
		}
		p.origin = to
	})
	return err
}

// position returns the capture time reached, as Unix ns.
func (p *Player) position() int64 {
	if p.rewind {
		return p.rewindTo
	}
	if pos, ok := p.pacer.Position(); ok {
		return pos
	}
	return p.origin
}

// Status returns the replay's position, speed and state.
func (p *Player) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{
		Position: time.Unix(0, p.position()).UTC(),
		Speed:    p.pacer.Speed(),
		Paused:   p.pacer.Paused(),
		Ended:    p.ended && !p.rewind,
		Err:      p.err,
	}
}

// Close closes the recording's file. Call it after Run has returned.
func (p *Player) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.f.Close()
}
