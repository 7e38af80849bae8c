package record_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/twtrace/twtrace/internal/event"
	"github.com/twtrace/twtrace/internal/record"
)

// Example records two events and replays them as `twtrace -r FILE -o json`
// does.
func Example() {
	var file bytes.Buffer
	meta := &event.Meta{Version: "0.1.0", Host: "edge-7", Backend: "tracepoint", BootWallNS: 1_763_700_000e9}
	w, err := record.NewWriter(&file, meta, nil)
	if err != nil {
		panic(err)
	}
	e := event.Event{MonoNS: 3600e9, WallNS: 1_763_703_600e9, Kind: event.KindTWEnter,
		LPort: 40000, RPort: 443, Substate: event.TimeWait, TimeoutNS: 60e9, Role: event.RoleClient}
	e.SetLocal(netip.MustParseAddr("10.0.0.1"))
	e.SetRemote(netip.MustParseAddr("10.0.0.2"))
	w.Write(&e)
	e.MonoNS, e.WallNS, e.Kind, e.Cause, e.DurNS, e.HasDur = e.MonoNS+60e9, e.WallNS+60e9, event.KindTWExit, event.CauseExpired, 60e9, true
	w.Write(&e)
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := record.Open(&file)
	if err != nil {
		panic(err)
	}
	fmt.Println("recorded on", r.Meta().Host)
	for {
		var e event.Event
		err := r.Next(&e)
		var te *record.TruncatedError
		switch {
		case err == io.EOF:
			return
		case errors.As(err, &te):
			fmt.Println("warning:", err)
			return
		case err != nil:
			fmt.Println(err)
			return
		}
		fmt.Printf("%s\n", event.AppendJSON(nil, &e))
	}
	// Output:
	// recorded on edge-7
	// {"time":"2025-11-21T05:40:00.000000000Z","mono_ns":3600000000000,"kind":"tw_enter","family":4,"laddr":"10.0.0.1","lport":40000,"raddr":"10.0.0.2","rport":443,"netns":0,"pid":0,"comm":"","role":"client","substate":"TIME_WAIT","timeout_ns":60000000000}
	// {"time":"2025-11-21T05:41:00.000000000Z","mono_ns":3660000000000,"kind":"tw_exit","family":4,"laddr":"10.0.0.1","lport":40000,"raddr":"10.0.0.2","rport":443,"netns":0,"pid":0,"comm":"","role":"client","dur_ns":60000000000,"substate":"TIME_WAIT","cause":"expired","inferred":false}
}
