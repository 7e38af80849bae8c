//go:build linux

package tracer

import (
	"testing"
	"time"
	"unsafe"

	"github.com/twtrace/twtrace/internal/event"
)

// raw encodes r as the ring buffer would deliver it.
func raw(r twtraceEvent) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
}

type collected []event.Event

func (c *collected) add(e *event.Event) { *c = append(*c, *e) }

func (c collected) kinds() []event.Kind {
	var ks []event.Kind
	for _, e := range c {
		ks = append(ks, e.Kind)
	}
	return ks
}

func TestDecoderResolvesCancels(t *testing.T) {
	const tw, other = 0xffff0001, 0xffff0002
	ms := uint64(time.Millisecond)
	cancel := twtraceEvent{Kind: uint8(twtraceTwEventKindEV_TW_CANCEL), Sock: tw, Ts: 100 * ms, Cpu: 1,
		Dur: 3 * ms, Flags: uint8(twtraceTwEventFlagsEVF_DUR), Substate: uint8(event.TimeWait)}
	expire := twtraceEvent{Kind: uint8(twtraceTwEventKindEV_TW_EXIT), Sock: tw, Ts: 100*ms + 1, Cpu: 1,
		Cause: uint8(twtraceTwCauseCAUSE_EXPIRED)}
	resched := twtraceEvent{Kind: uint8(twtraceTwEventKindEV_TW_RESCHED), Sock: tw, Ts: 100*ms + 1, Cpu: 1,
		OldState: uint8(event.FinWait2), Substate: uint8(event.TimeWait), Timeout: 15000}
	rearm := resched
	rearm.OldState = uint8(event.TimeWait)
	unrelated := twtraceEvent{Kind: uint8(twtraceTwEventKindEV_STATE), Sock: other, Ts: 100*ms + 2, Cpu: 1}
	synHint := twtraceEvent{Kind: uint8(twtraceTwEventKindEV_TW_HINT), Sock: tw, Ts: 100*ms + 1, Cpu: 1,
		Cause: uint8(twtraceTwCauseCAUSE_SYN)}
	reuse := cancel
	reuse.Cause, reuse.ByPid = uint8(twtraceTwCauseCAUSE_REUSED), 4242
	otherCPU := unrelated
	otherCPU.Cpu = 0

	tests := []struct {
		name    string
		records []twtraceEvent
		settle  uint64 // when to settle; 0 = do not
		want    []event.Kind
		cause   event.Cause // of the tw_exit, if one is wanted
	}{
		{"expiry: cancel then expire_entry", []twtraceEvent{cancel, expire}, 0,
			[]event.Kind{event.KindTWExit}, event.CauseExpired},
		{"substate change: cancel then re-arm", []twtraceEvent{cancel, resched}, 200 * ms,
			[]event.Kind{event.KindTWSubstate}, 0},
		{"re-arm within TIME_WAIT is not news", []twtraceEvent{cancel, rearm}, 200 * ms, nil, 0},
		{"kill with no evidence: destroyed", []twtraceEvent{cancel, unrelated}, 0,
			[]event.Kind{event.KindTWExit, event.KindState}, event.CauseDestroyed},
		{"kill named by the next record", []twtraceEvent{cancel, synHint}, 0,
			[]event.Kind{event.KindTWExit}, event.CauseSYN},
		{"kill named by the cancel itself", []twtraceEvent{reuse, unrelated}, 0,
			[]event.Kind{event.KindTWExit, event.KindState}, event.CauseReused},
		{"another CPU's record does not settle it", []twtraceEvent{cancel, otherCPU}, 0,
			[]event.Kind{event.KindState}, 0},
		{"kill: settled once the ring is drained", []twtraceEvent{cancel}, 100*ms + settleNS + 1,
			[]event.Kind{event.KindTWExit}, event.CauseDestroyed},
		{"too early to settle", []twtraceEvent{cancel}, 100*ms + settleNS - 1, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDecoder(4, 250)
			var got collected
			for _, r := range tc.records {
				d.record(&r, got.add)
			}
			if tc.settle != 0 {
				d.settle(tc.settle, got.add)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got kinds %v, want %v", got.kinds(), tc.want)
			}
			for i, k := range tc.want {
				if got[i].Kind != k {
					t.Fatalf("got kinds %v, want %v", got.kinds(), tc.want)
				}
				if k == event.KindTWExit {
					if got[i].Cause != tc.cause || got[i].Sock != tw {
						t.Errorf("tw_exit cause %v sock %x, want %v %x", got[i].Cause, got[i].Sock, tc.cause, tw)
					}
					if inferred := tc.cause != event.CauseExpired; got[i].Inferred != inferred {
						t.Errorf("tw_exit inferred %v, want %v", got[i].Inferred, inferred)
					}
				}
			}
		})
	}
}

// A closing socket's hand-off to its tw comes as one record, which stands
// for the socket's last transition and the tw's birth, in that order.
func TestDecoderSplitsTheHandoff(t *testing.T) {
	const sk, tw = 0xffff0001, 0xffff0002
	d := newDecoder(1, 250)
	var got collected
	d.record(&twtraceEvent{
		Kind: uint8(twtraceTwEventKindEV_TW_ENTER), Sock: tw, Sk: sk, Family: afInet,
		OldState: uint8(event.FinWait2), NewState: uint8(event.TimeWait), Dur: 5000, Flags: uint8(twtraceTwEventFlagsEVF_DUR),
		Substate: uint8(event.TimeWait), Timeout: 15000,
	}, got.add)
	if len(got) != 2 {
		t.Fatalf("got %d events, want state and tw_enter: %+v", len(got), got)
	}
	st, enter := got[0], got[1]
	if st.Kind != event.KindState || st.Sock != sk || st.Old != event.FinWait2 || st.New != event.TimeWait ||
		!st.HasDur || st.DurNS != 5000 || st.Substate != event.StateNone || st.TimeoutNS != 0 {
		t.Errorf("state event %+v, want the socket's FIN_WAIT2 -> TIME_WAIT after 5 µs", st)
	}
	if enter.Kind != event.KindTWEnter || enter.Sock != tw || enter.Old != event.StateNone || enter.HasDur ||
		enter.Substate != event.TimeWait || enter.TimeoutNS != uint64(60*time.Second) || enter.Family != 4 {
		t.Errorf("tw_enter %+v, want the tw's IPv4 birth with a 60 s timeout (15000 jiffies at 250 Hz)", enter)
	}
}

func TestDecoderSplitsTheOverflow(t *testing.T) {
	const sk = 0xffff0001
	d := newDecoder(1, 250)
	var got collected
	d.record(&twtraceEvent{
		Kind: uint8(twtraceTwEventKindEV_TW_OVERFLOW), Sock: sk, Family: afInet,
		OldState: uint8(event.FinWait2), NewState: uint8(event.Close), Dur: 7, Flags: uint8(twtraceTwEventFlagsEVF_DUR),
	}, got.add)
	if len(got) != 2 || got[0].Kind != event.KindState || got[0].New != event.Close || got[0].DurNS != 7 ||
		got[1].Kind != event.KindTWOverflow || got[1].Sock != sk || got[1].Old != event.StateNone || got[1].HasDur {
		t.Fatalf("got %+v, want FIN_WAIT2 -> CLOSE then tw_overflow of the same socket", got)
	}
}

// An accepted child's LISTEN -> SYN_RECV rides on the record of its next
// transition, and comes out first, at the time it happened.
func TestDecoderSplitsAChildsBirth(t *testing.T) {
	const sk = 0xffff0001
	d := newDecoder(1, 250)
	var got collected
	d.record(&twtraceEvent{
		Kind: uint8(twtraceTwEventKindEV_STATE), Sock: sk, Family: afInet, Ts: 1000, Role: 2,
		OldState: uint8(event.SynRecv), NewState: uint8(event.Established), Dur: 30,
		Flags: uint8(twtraceTwEventFlagsEVF_DUR | twtraceTwEventFlagsEVF_FROM_LISTEN),
	}, got.add)
	if len(got) != 2 {
		t.Fatalf("got %d events, want LISTEN -> SYN_RECV and SYN_RECV -> ESTABLISHED: %+v", len(got), got)
	}
	birth, est := got[0], got[1]
	if birth.Kind != event.KindState || birth.Sock != sk || birth.Old != event.Listen || birth.New != event.SynRecv ||
		birth.MonoNS != 970 || birth.HasDur || birth.Role != event.RoleServer {
		t.Errorf("birth %+v, want the server socket's LISTEN -> SYN_RECV at 970 ns without a duration", birth)
	}
	if est.Old != event.SynRecv || est.New != event.Established || est.MonoNS != 1000 || !est.HasDur || est.DurNS != 30 {
		t.Errorf("second event %+v, want SYN_RECV -> ESTABLISHED at 1000 ns after 30 ns", est)
	}
	if est.WallNS-birth.WallNS != 30 {
		t.Errorf("wall times %d and %d: want them 30 ns apart", birth.WallNS, est.WallNS)
	}
}

// The BPF side and internal/event number roles, closers and kinds alike;
// the decoder converts by value.
func TestBPFEnumsMatchTheEventModel(t *testing.T) {
	pairs := []struct {
		name     string
		bpf, go_ uint32
	}{
		{"state", uint32(twtraceTwEventKindEV_STATE), uint32(event.KindState)},
		{"tw_enter", uint32(twtraceTwEventKindEV_TW_ENTER), uint32(event.KindTWEnter)},
		{"tw_substate", uint32(twtraceTwEventKindEV_TW_SUBSTATE), uint32(event.KindTWSubstate)},
		{"tw_exit", uint32(twtraceTwEventKindEV_TW_EXIT), uint32(event.KindTWExit)},
		{"tw_overflow", uint32(twtraceTwEventKindEV_TW_OVERFLOW), uint32(event.KindTWOverflow)},
		{"expired", uint32(twtraceTwCauseCAUSE_EXPIRED), uint32(event.CauseExpired)},
		{"reused", uint32(twtraceTwCauseCAUSE_REUSED), uint32(event.CauseReused)},
		{"syn", uint32(twtraceTwCauseCAUSE_SYN), uint32(event.CauseSYN)},
		{"rst", uint32(twtraceTwCauseCAUSE_RST), uint32(event.CauseRST)},
		{"tw_rst", uint32(twtraceTwCauseCAUSE_TW_RST), uint32(event.CauseTWRST)},
		{"destroyed", uint32(twtraceTwCauseCAUSE_DESTROYED), uint32(event.CauseDestroyed)},
		{"purged", uint32(twtraceTwCauseCAUSE_PURGED), uint32(event.CausePurged)},
	}
	for _, p := range pairs {
		if p.bpf != p.go_ {
			t.Errorf("%s: BPF %d, Go %d", p.name, p.bpf, p.go_)
		}
	}
}
