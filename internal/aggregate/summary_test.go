package aggregate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twtrace/twtrace/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// busy returns an aggregate with something in every summary section: 40
// client connections over 20 s to a destination with 50 ports, 10 of
// their tw reused, and a server connection left in CLOSE_WAIT.
func busy() *Aggregator {
	a := New(Config{
		PortRanges: map[uint32]PortRange{testNetNS: {40000, 40049}},
		LeakAfter:  20 * sec,
	})
	var scripts [][]event.Event
	for i := range 40 {
		c := client(uint16(40000 + i))
		at := time.Duration(i) * 500 * ms
		evs := c.activeClose(at)
		if i < 10 {
			evs = append(evs, c.withCloser(event.CloserLocal).twExit(at+12*sec, event.CauseReused, 2*sec))
		}
		scripts = append(scripts, evs)
	}
	s := server(50000).withCloser(event.CloserRemote)
	scripts = append(scripts, one(
		s.state(0, event.SynRecv, event.Established),
		s.state(sec, event.Established, event.CloseWait),
		lost(22*sec, 3),
	))
	feed(a, inOrder(scripts...))
	return a
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n%s", name, got)
	}
}

func TestSummaryJSON(t *testing.T) {
	b, err := AppendSummaryJSON([]byte("x"), busy().Summary())
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 'x' {
		t.Fatalf("did not append")
	}
	line := b[1:]
	var fields map[string]any
	if err := json.Unmarshal(line, &fields); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	for _, k := range []string{"kind", "tw", "states", "closers", "causes", "top_owners", "destinations", "close_wait", "lost"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("no %q in %s", k, line)
		}
	}
	golden(t, "summary.json", append(line, '\n'))
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReport(&b, busy().Summary()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", b.Bytes())
}
