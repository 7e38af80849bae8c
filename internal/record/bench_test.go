package record

import (
	"bytes"
	"io"
	"testing"

	"github.com/twtrace/twtrace/internal/event"
)

// benchEvents is how many churn events the benchmarks cycle through: about
// 6 seconds of the workload, so blocks are flushed by time as in real use.
const benchEvents = 1 << 20

// countingWriter counts what is written to it and keeps nothing.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// BenchmarkWrite measures recording throughput on the churn workload and
// the recording's size per event (header excluded).
func BenchmarkWrite(b *testing.B) {
	evs := churnEvents(1, benchEvents)
	var out countingWriter
	w, err := NewWriter(&out, testMeta(), nil)
	if err != nil {
		b.Fatal(err)
	}
	out.n = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := w.Write(&evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(out.n)/float64(b.N), "bytes/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRead measures replay throughput on the churn workload.
func BenchmarkRead(b *testing.B) {
	data := record(b, testMeta(), nil, churnEvents(1, benchEvents), 0)
	b.SetBytes(int64(len(data)) / benchEvents)
	b.ReportAllocs()
	b.ResetTimer()
	var e event.Event
	var r *Reader
	for range b.N {
		if r == nil {
			var err error
			if r, err = Open(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		if err := r.Next(&e); err == io.EOF {
			r = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
