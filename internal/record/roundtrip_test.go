package record

import (
	"bytes"
	"errors"
	"io"
	oldrand "math/rand"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/twtrace/twtrace/internal/event"
)

// testMeta is the header of the recordings the tests make.
func testMeta() *event.Meta {
	return &event.Meta{
		Version: "0.1.0-test", Host: "edge-7", Kernel: "6.18.0", Backend: "tracepoint",
		Hooks:      []event.Hook{{Group: "tw", Backend: "tracepoint", Note: "fentry: permission denied"}},
		BootWallNS: 1_763_700_000e9, StartWallNS: 1_763_703_600e9,
		Sysctls: map[string]string{"tcp_tw_reuse": "2", "tcp_max_tw_buckets": "262144",
			"ip_local_port_range": "32768\t60999", "tcp_fin_timeout": "60"},
		Filter: "lport 5001",
	}
}

// testSnapshot returns n sockets of both families.
func testSnapshot(n int) []event.Socket {
	snap := make([]event.Socket, n)
	for i := range snap {
		s := &snap[i]
		s.MonoNS, s.TimerNS, s.Inode, s.UID, s.NetNS = 3600e9, uint64(i)*1e6, uint32(9000+i), 1000, initNetNS
		s.LPort, s.RPort, s.State, s.Family = 5001, uint16(40000+i), event.Established, 4
		if i%3 == 0 {
			s.State, s.Substate = event.TimeWait, event.FinWait2
		}
		if i%2 == 0 {
			s.Family = 6
			s.LAddr = netip.MustParseAddr("2001:db8::1").As16()
			s.RAddr = netip.MustParseAddr("2001:db8::2").As16()
		} else {
			s.PID = 77
			event.SetComm(&s.Comm, "nginx")
		}
	}
	return snap
}

// record writes a recording of evs, flushing after every flushEvery events
// (never when 0), and returns its bytes.
func record(t testing.TB, meta *event.Meta, snap []event.Socket, evs []event.Event, flushEvery int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, meta, snap)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
		if flushEvery > 0 && (i+1)%flushEvery == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replayAll reads every event of data until Next fails, and returns them
// with that error.
func replayAll(t testing.TB, data []byte) (*Reader, []event.Event, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var evs []event.Event
	for {
		var e event.Event
		if err := r.Next(&e); err != nil {
			return r, evs, err
		}
		evs = append(evs, e)
	}
}

// checkRoundTrip records evs and checks that replaying gives back exactly
// the header, the snapshot and the events.
func checkRoundTrip(t *testing.T, snap []event.Socket, evs []event.Event, flushEvery int) {
	t.Helper()
	meta := testMeta()
	r, got, err := replayAll(t, record(t, meta, snap, evs, flushEvery))
	if err != io.EOF {
		t.Fatalf("replay ended with %v, want io.EOF", err)
	}
	if !reflect.DeepEqual(r.Meta(), meta) {
		t.Errorf("meta = %+v, want %+v", r.Meta(), meta)
	}
	if len(snap) == 0 && len(r.Snapshot()) == 0 {
		snap = r.Snapshot() // nil and empty are the same snapshot
	}
	if !reflect.DeepEqual(r.Snapshot(), snap) {
		t.Errorf("snapshot differs: got %d sockets, want %d", len(r.Snapshot()), len(snap))
	}
	if len(got) != len(evs) {
		t.Fatalf("replayed %d events, want %d", len(got), len(evs))
	}
	for i := range evs {
		if got[i] != evs[i] {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got[i], evs[i])
		}
	}
}

// TestRoundTripArbitrary checks that any Event and Socket value, however
// unlikely, comes back bit for bit: every field is random. A field added to
// either type fails this test until the format records it.
func TestRoundTripArbitrary(t *testing.T) {
	rng := oldrand.New(oldrand.NewSource(1)) // testing/quick's generator
	for _, n := range []int{0, 1, 2, 100, 3000} {
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = arbitrary[event.Event](t, rng)
		}
		snap := make([]event.Socket, n/10)
		for i := range snap {
			snap[i] = arbitrary[event.Socket](t, rng)
		}
		checkRoundTrip(t, snap, evs, 0)
	}
}

// arbitrary returns a T with every field random.
func arbitrary[T any](t *testing.T, rng *oldrand.Rand) T {
	v, ok := quick.Value(reflect.TypeFor[T](), rng)
	if !ok {
		t.Fatalf("quick.Value cannot make a %v", reflect.TypeFor[T]())
	}
	return v.Interface().(T)
}

// TestRoundTripPlausible checks streams shaped like real ones, which
// exercise the references and predictions: IPv4 and IPv6 connections that
// recur, every kind and cause, lost events, clocks that step, events out
// of order, blocks flushed at random points.
func TestRoundTripPlausible(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		evs := plausibleEvents(rng, 1+rng.IntN(5000))
		checkRoundTrip(t, testSnapshot(rng.IntN(50)), evs, rng.IntN(300))
	}
}

// plausibleEventsSeeded returns n plausible events from a fixed seed.
func plausibleEventsSeeded(seed uint64, n int) []event.Event {
	return plausibleEvents(rand.New(rand.NewPCG(seed, 3)), n)
}

// plausibleEvents returns n events on a few dozen connections.
func plausibleEvents(rng *rand.Rand, n int) []event.Event {
	type conn struct{ e event.Event }
	conns := make([]conn, 40)
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("::ffff:10.0.0.3")}
	comms := []string{"nginx", "curl", "", "a-very-long-process-name", "worker"}
	for i := range conns {
		e := &conns[i].e
		l := addrs[rng.IntN(len(addrs))]
		r := addrs[rng.IntN(len(addrs))]
		if l.Is4() != r.Is4() {
			r = l
		}
		e.SetLocal(l)
		e.SetRemote(r)
		e.LPort, e.RPort = uint16(rng.IntN(65536)), uint16(rng.IntN(65536))
		e.NetNS, e.PID = initNetNS+uint32(rng.IntN(3)), uint32(rng.IntN(5))*1000
		event.SetComm(&e.Comm, comms[rng.IntN(len(comms))])
		e.Sock = 0xffff888100000000 + rng.Uint64N(1<<30)
		e.Role = event.Role(rng.IntN(3))
	}
	mono := uint64(5e9)
	boot := int64(1_763_700_000e9)
	evs := make([]event.Event, n)
	for i := range evs {
		c := &conns[rng.IntN(len(conns))]
		e := &evs[i]
		*e = c.e
		mono += rng.Uint64N(200e3)
		if rng.IntN(50) == 0 {
			mono += rng.Uint64N(3e9) // a quiet spell longer than a block
		}
		e.MonoNS = mono
		if rng.IntN(20) == 0 {
			e.MonoNS -= rng.Uint64N(1e6) // another CPU's event, late
		}
		if rng.IntN(500) == 0 {
			boot += int64(rng.Uint64N(2e9)) - 1e9 // the wall clock stepped
		}
		e.WallNS = boot + int64(e.MonoNS)
		e.Kind = event.Kind(1 + rng.IntN(int(event.KindLost)))
		switch e.Kind {
		case event.KindState:
			e.Old, e.New = event.State(1+rng.IntN(12)), event.State(1+rng.IntN(12))
		case event.KindTWEnter, event.KindTWSubstate:
			e.Sock += 1 << 32
			e.Substate, e.TimeoutNS = event.TimeWait, 60e9
			if rng.IntN(2) == 0 {
				e.Substate, e.TimeoutNS = event.FinWait2, 55e9
			}
		case event.KindTWExit:
			e.Cause, e.Inferred = event.Cause(1+rng.IntN(int(event.CauseUnknown))), rng.IntN(2) == 0
			if e.Cause == event.CauseReused {
				e.ByPID = uint32(rng.IntN(70000))
				event.SetComm(&e.ByComm, comms[rng.IntN(len(comms))])
			}
		case event.KindTWOverflow:
			e.Sock = 0
		case event.KindLost:
			*e = event.Event{MonoNS: e.MonoNS, WallNS: e.WallNS, Kind: event.KindLost, Count: 1 + rng.Uint64N(1e6)}
		}
		if rng.IntN(3) > 0 {
			e.HasDur, e.DurNS = true, rng.Uint64N(2e9)
		}
		e.Closer = event.Closer(rng.IntN(int(event.CloserUnknown) + 1))
		if rng.IntN(30) == 0 {
			c.e.Sock = 0xffff888100000000 + rng.Uint64N(1<<30) // the connection ended; a new one takes its place
			c.e.LPort++
		}
		if rng.IntN(40) == 0 {
			c.e.PID = uint32(rng.IntN(70000)) // the owner became known
		}
	}
	return evs
}

// TestRoundTripChurn checks the workload the benchmarks measure.
func TestRoundTripChurn(t *testing.T) {
	checkRoundTrip(t, testSnapshot(3), churnEvents(7, 200_000), 0)
}

// TestRoundTripLargeSnapshot checks a snapshot that needs several frames.
func TestRoundTripLargeSnapshot(t *testing.T) {
	checkRoundTrip(t, testSnapshot(3*socketsPerFrame+5), churnEvents(1, 10), 0)
}

func TestReaderVersion(t *testing.T) {
	r, err := Open(bytes.NewReader(record(t, testMeta(), nil, nil, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if major, minor := r.Version(); major != VersionMajor || minor != VersionMinor {
		t.Errorf("Version() = %d.%d, want %d.%d", major, minor, VersionMajor, VersionMinor)
	}
	var e event.Event
	if err := r.Next(&e); !errors.Is(err, io.EOF) {
		t.Errorf("Next on an empty recording = %v, want io.EOF", err)
	}
}

// TestNextAllocates checks the replay hot path: reading events allocates
// nothing once the block buffers have grown.
func TestNextAllocates(t *testing.T) {
	r, err := Open(bytes.NewReader(record(t, testMeta(), nil, churnEvents(2, 400_000), 0)))
	if err != nil {
		t.Fatal(err)
	}
	var e event.Event
	for range 200_000 {
		if err := r.Next(&e); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(9, func() {
		for range 20_000 {
			if err := r.Next(&e); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("reading 20,000 events allocated %v times, want 0", allocs)
	}
}
