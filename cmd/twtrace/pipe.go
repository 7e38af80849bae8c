package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/filter"
	"github.com/twtrace/twtrace/internal/record"
	"github.com/twtrace/twtrace/tui"
)

// feedBatch is how many events the pipe gathers before it hands them to
// the UI's Feed under one lock; a drain of the ring buffer ends a batch
// early. At the reference rate (140k events/s) a drain brings about 1400
// events; a batch of 512 holds the lock about 0.1 ms.
const feedBatch = 512

// recordFlush is how often a recording is flushed when events are sparse,
// so that a crash loses at most about a second.
const recordFlush = time.Second

// pipe fans every event out to what this run asked for: the aggregator
// (always: it makes the summary), a recording (-w) and line output
// (-o json|table). Live, the tracer drives it; in replay, the file does.
type pipe struct {
	filter    *filter.Filter // applied here only in replay; live, the kernel filters
	agg       *aggregate.Aggregator
	feed      *tui.Feed     // with the UI, the aggregator is fed through it
	batch     []event.Event // events not yet handed to feed
	rec       *record.Writer
	out       *lineSink
	limit     uint64 // -c: stop after this many events; 0 = no limit
	n         uint64 // events passed on, loss reports excluded
	stop      func() // ends the run: the limit is reached or output failed
	err       error  // the first fatal error
	lastFlush time.Time
}

func (p *pipe) Event(e *event.Event) {
	if (p.limit > 0 && p.n >= p.limit) || (p.filter != nil && !p.filter.MatchEvent(e)) {
		return
	}
	if e.Kind != event.KindLost {
		p.n++
		if p.n == p.limit {
			defer p.stop()
		}
	}
	if p.feed != nil {
		p.batch = append(p.batch, *e)
		if len(p.batch) == feedBatch {
			p.flushFeed()
		}
	} else {
		p.agg.Add(e)
	}
	if p.rec != nil {
		if err := p.rec.Write(e); err != nil {
			p.fail(err)
		}
	}
	if p.out != nil {
		p.out.Event(e)
	}
}

// flushFeed hands the gathered events to the UI's Feed.
func (p *pipe) flushFeed() {
	if len(p.batch) > 0 {
		p.feed.Add(p.batch)
		p.batch = p.batch[:0]
	}
}

// Idle runs whenever the source has nothing more for now.
func (p *pipe) Idle() {
	if p.feed != nil {
		p.flushFeed()
	}
	if p.rec != nil && time.Since(p.lastFlush) >= recordFlush {
		p.lastFlush = time.Now()
		if err := p.rec.Flush(); err != nil {
			p.fail(err)
		}
	}
	if p.out != nil {
		if err := p.out.flush(); err != nil {
			p.fail(err)
		}
	}
}

// fail stops the run on an output or recording error: a recording stays
// readable up to its last whole block, and going on would silently record
// or print nothing.
func (p *pipe) fail(err error) {
	if p.err == nil {
		p.err = err
		p.stop()
	}
}

// newPipe sets up a run's outputs: the aggregator seeded with snap, the
// recording, the event lines with their header. It returns where the
// summary goes (nil for none) and in which format.
func newPipe(cfg config, meta *event.Meta, snap []event.Socket, stdout io.Writer, stop func()) (*pipe, io.Writer, string, error) {
	p := &pipe{agg: newAggregator(meta, cfg.filter.NetNS), limit: cfg.count, stop: stop, lastFlush: time.Now()}
	p.agg.Seed(snap)
	var err error
	switch cfg.write {
	case "":
	case "-":
		p.rec, err = record.NewWriter(stdout, meta, snap)
	default:
		p.rec, err = record.Create(cfg.write, meta, snap)
	}
	if err != nil {
		return nil, nil, "", err
	}
	var summary io.Writer
	var format string
	p.out, summary, format = outputs(cfg, stdout)
	if p.out != nil {
		if err := p.out.header(meta); err != nil {
			return nil, nil, "", fmt.Errorf("writing output: %w", err)
		}
	}
	return p, summary, format, nil
}

// finish closes the recording and writes the summary; it returns the
// first error of the run.
func (p *pipe) finish(summary io.Writer, format string) error {
	var errs []error
	if p.rec != nil {
		if err := p.rec.Close(); err != nil && p.err == nil {
			p.err = err
		}
	}
	if p.out != nil {
		if err := p.out.flush(); err != nil && p.err == nil {
			p.err = err
		}
	}
	errs = append(errs, p.err)
	if summary != nil && p.err == nil {
		errs = append(errs, writeSummary(summary, format, p.agg.Summary()))
	}
	return errors.Join(errs...)
}

func writeSummary(w io.Writer, format string, s *aggregate.Summary) error {
	if format == "json" {
		b, err := aggregate.AppendSummaryJSON(nil, s)
		if err != nil {
			return fmt.Errorf("encoding the summary: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return aggregate.WriteReport(w, s)
}

// newAggregator sizes port pressure with the namespace's own
// ip_local_port_range, as the capture's header recorded it.
func newAggregator(m *event.Meta, netns uint32) *aggregate.Aggregator {
	cfg := aggregate.Config{TopN: 50} // the UI's lists are longer than the summary's
	if r, ok := parsePortRange(m.Sysctls["ip_local_port_range"]); ok {
		cfg.DefaultPortRange = r
		if netns != 0 {
			cfg.PortRanges = map[uint32]aggregate.PortRange{netns: r}
		}
	}
	return aggregate.New(cfg)
}

func parsePortRange(s string) (aggregate.PortRange, bool) {
	lo, hi, ok := strings.Cut(s, " ")
	if !ok {
		return aggregate.PortRange{}, false
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || l > h {
		return aggregate.PortRange{}, false
	}
	return aggregate.PortRange{Lo: uint16(l), Hi: uint16(h)}, true
}
