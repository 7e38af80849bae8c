package aggregate

// rates counts what happens per second, in event time.
type rates struct {
	opened, closed, twEnter, twExit, overflow window
}

// Rate is how often something happened per second, over the last 1, 10
// and 60 complete seconds of event time.
type Rate struct{ Last1s, Last10s, Last60s float64 }

// Rates are the aggregate's event rates.
type Rates struct {
	Opened   Rate // connections that began (connect() or accept)
	Closed   Rate // connections that ended, with or without a tw
	TWEnter  Rate
	TWExit   Rate
	Overflow Rate // closing sockets that got no tw (tcp_max_tw_buckets)
}

func (a *Aggregator) rate(w *window) Rate {
	return Rate{
		Last1s:  w.rate(a.now, a.start, 1),
		Last10s: w.rate(a.now, a.start, 10),
		Last60s: w.rate(a.now, a.start, 60),
	}
}

func (a *Aggregator) ratesView() Rates {
	r := &a.rates
	return Rates{
		Opened:   a.rate(&r.opened),
		Closed:   a.rate(&r.closed),
		TWEnter:  a.rate(&r.twEnter),
		TWExit:   a.rate(&r.twExit),
		Overflow: a.rate(&r.overflow),
	}
}
