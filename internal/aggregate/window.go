package aggregate

// window counts events per second of event time over the last
// windowSecs seconds, for rates that follow the recent past without
// storing samples.
type window struct {
	counts [windowSecs]uint32
	sec    uint64 // the second (MonoNS / 1e9) the newest bucket belongs to
}

const windowSecs = 60

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

// rate returns events per second over the last secs seconds up to now,
// counting the current second as a whole one. When the aggregator has
// seen less than secs seconds (since start), it divides by what it saw.
func (w *window) rate(now, start uint64, secs uint64) float64 {
	nowSec := now / nsPerSec
	span := min(secs, nowSec-start/nsPerSec+1)
	var sum uint64
	for s := nowSec + 1 - span; s <= nowSec; s++ {
		if s <= w.sec && w.sec-s < windowSecs {
			sum += uint64(w.counts[s%windowSecs])
		}
	}
	return float64(sum) / float64(span)
}
