package aggregate

// window counts events per second of event time over the last
// windowSecs seconds, for rates that follow the recent past without
// storing samples. It holds one second more than the longest rate so
// that the second in progress never overwrites one still counted.
type window struct {
	counts [windowSecs]uint32
	sec    uint64 // the second (MonoNS / 1e9) the newest bucket belongs to
}

const windowSecs = 61

const nsPerSec = 1_000_000_000

func (w *window) add(now uint64, n uint32) {
	w.roll(now / nsPerSec)
	w.counts[w.sec%windowSecs] += n
}

// roll makes sec the newest second, clearing the buckets of seconds that
// passed without events.
func (w *window) roll(sec uint64) {
	if sec <= w.sec {
		return
	}
	if sec-w.sec >= windowSecs {
		w.counts = [windowSecs]uint32{}
	} else {
		for s := w.sec + 1; s <= sec; s++ {
			w.counts[s%windowSecs] = 0
		}
	}
	w.sec = sec
}

// rate returns events per second over the last secs complete seconds
// before now (fewer when the aggregator started less than secs seconds
// ago; 0 within its first second). Leaving out the second in progress
// keeps a rate that a UI reads ten times a second from dropping to zero
// at every turn of the second.
func (w *window) rate(now, start uint64, secs uint64) float64 {
	nowSec := now / nsPerSec
	span := min(secs, nowSec-start/nsPerSec)
	if span == 0 {
		return 0
	}
	var sum uint64
	for s := nowSec - span; s < nowSec; s++ {
		if s <= w.sec && w.sec-s < windowSecs {
			sum += uint64(w.counts[s%windowSecs])
		}
	}
	return float64(sum) / float64(span)
}
