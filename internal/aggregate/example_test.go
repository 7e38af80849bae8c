package aggregate_test

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/twtrace/twtrace/internal/aggregate"
	"github.com/twtrace/twtrace/internal/event"
)

// A capture seeds the aggregate with the startup snapshot, adds every
// event as it is read, hands snapshots to the UI on a tick, and writes the
// summary at the end.
func Example() {
	a := aggregate.New(aggregate.Config{
		PortRanges: map[uint32]aggregate.PortRange{4026531840: {Lo: 32768, Hi: 60999}},
	})
	a.Seed(nil) // the sockets snapshot.Take found

	var e event.Event // the tracer decodes each record into one value
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	e.SetRemote(netip.MustParseAddr("10.0.0.2"))
	e.LPort, e.RPort = 40000, 443
	e.Kind, e.Old, e.New, e.MonoNS = event.KindState, event.Close, event.SynSent, 5_000_000
	a.Add(&e)
	e.Old, e.New, e.MonoNS = event.SynSent, event.Established, 6_000_000
	a.Add(&e)

	s := a.Snapshot() // for the UI: immutable, safe to hand to another goroutine
	fmt.Println("established now:", s.Live[event.Established])
	fmt.Println("SYN_SENT took:", s.States[0].P50)

	line, err := aggregate.AppendSummaryJSON(nil, a.Summary()) // -o json
	if err != nil {
		fmt.Println(err)
	}
	os.Stdout.Write(append(line[:18], '\n'))
	// Output:
	// established now: 1
	// SYN_SENT took: 1ms
	// {"kind":"summary",
}
