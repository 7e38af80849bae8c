package record

import (
	"math"
	"time"
)

// Forever is the delay Pacer.Delay returns while replay is paused: wait
// for the user instead (Resume, Step, SetSpeed or SeekTo).
const Forever = time.Duration(math.MaxInt64)

// Pacer paces a replay by event time: it tells the caller how long to wait
// before delivering each event so that the replay runs at a chosen speed,
// and handles pause, single-stepping and seeking. It keeps no clock of its
// own; the caller passes the current time, so tests drive it with a fake
// one. Times of events are nanoseconds on any timeline (WallNS or MonoNS),
// as long as the caller sticks to one. A Pacer is not safe for concurrent
// use.
//
// The caller's loop: for each event, call Delay(t, now); while it returns
// more than zero, wait that long (or until the user acts) and call it
// again; when it returns zero, deliver the event.
type Pacer struct {
	speed  float64
	paused bool
	steps  int // events to release while paused

	seeking bool  // deliver events before target at once
	target  int64 // time to seek to
	pos     int64 // time of the last event delivered
	started bool  // pos is valid

	// anchor maps event time to real time: the event at anchorT is due at
	// anchorAt. It is reset whenever the mapping changes (speed, resume,
	// seek) and set again on the next Delay.
	anchored bool
	anchorT  int64
	anchorAt time.Time
}

// NewPacer returns a Pacer running at speed: 1 is real time, 10 ten times
// faster, 0 (or less) as fast as possible.
func NewPacer(speed float64) *Pacer { return &Pacer{speed: speed} }

// Speed returns the current speed.
func (p *Pacer) Speed() float64 { return p.speed }

// SetSpeed changes the speed from the current position on.
func (p *Pacer) SetSpeed(speed float64) {
	p.speed = speed
	p.anchored = false
}

// Paused reports whether replay is paused.
func (p *Pacer) Paused() bool { return p.paused }

// Pause stops delivery until Resume; Step still releases single events.
func (p *Pacer) Pause() {
	p.paused = true
	p.steps = 0
}

// Resume continues at the current speed from the current position.
func (p *Pacer) Resume() {
	p.paused = false
	p.anchored = false
}

// Step releases the next event while paused.
func (p *Pacer) Step() {
	if p.paused {
		p.steps++
	}
}

// SeekTo moves replay to event time t: events before t are released at
// once (to seek backwards, the caller reopens the recording first), and
// pacing resumes from t. While paused, replay stays paused at t.
func (p *Pacer) SeekTo(t int64) {
	p.seeking, p.target = true, t
	p.started, p.anchored = false, false
}

// Position returns the time of the last event delivered, and false before
// the first.
func (p *Pacer) Position() (int64, bool) { return p.pos, p.started }

// Delay returns how long to wait before delivering the event at time t,
// given that it is now now. Zero means deliver it now, and the Pacer counts
// it as delivered; Forever means replay is paused.
func (p *Pacer) Delay(t int64, now time.Time) time.Duration {
	if p.seeking && t < p.target {
		return p.deliver(t)
	}
	if p.seeking {
		// The first event at or past the target: pace from the target.
		p.seeking = false
		p.pos, p.started = p.target, true
	}
	if p.paused {
		if p.steps == 0 {
			return Forever
		}
		p.steps--
		return p.deliver(t)
	}
	if !(p.speed > 0) {
		return p.deliver(t)
	}
	if !p.anchored {
		p.anchored, p.anchorAt = true, now
		p.anchorT = t
		if p.started && p.pos < t {
			p.anchorT = p.pos
		}
	}
	d := scale(t-p.anchorT, p.speed) - now.Sub(p.anchorAt)
	if d > 0 {
		return d
	}
	return p.deliver(t)
}

// deliver records that the event at t is delivered.
func (p *Pacer) deliver(t int64) time.Duration {
	if !p.started || t > p.pos {
		p.pos, p.started = t, true
	}
	return 0
}

// scale returns event-time span d as real time at speed, saturating
// instead of overflowing.
func scale(d int64, speed float64) time.Duration {
	f := float64(d) / speed
	switch {
	case f >= math.MaxInt64:
		return Forever
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(f)
}
