//go:build linux

package tracer

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/twtrace/twtrace/internal/event"
)

// A rung is one way to attach every hook group. Open climbs the ladder from
// the most precise rung down and keeps the first that attaches fully,
// falling back on any error: kernels refuse fentry with EPERM and kprobes
// with ENOENT, neither of which is ebpf.ErrNotSupported.
type rung struct {
	name   string
	attach func(*twtraceObjects, Config) ([]link.Link, []event.Hook, error)
}

// ladder lists the rungs, most precise first. The tracepoint rung loads
// everywhere twtrace runs (tp_btf, Linux 5.8+ with the ring buffer).
var ladder = []rung{
	{"tracepoint", attachTracepoints},
}

func (t *Tracer) attach() error {
	var refused []string
	for _, r := range ladder {
		links, hooks, err := r.attach(&t.objs, t.cfg)
		if err != nil {
			refused = append(refused, fmt.Sprintf("%s: %v", r.name, err))
			continue
		}
		t.links, t.hooks, t.backend = links, hooks, r.name
		return nil
	}
	return fmt.Errorf("no attach backend works on this kernel: %s", strings.Join(refused, "; "))
}

func attachTracepoints(o *twtraceObjects, cfg Config) ([]link.Link, []event.Hook, error) {
	type tp struct {
		name string
		prog *ebpf.Program
	}
	progs := []tp{
		{"inet_sock_set_state", o.TwSetState},
		{"tcp_receive_reset", o.TwRxReset},
		{"tcp_send_reset", o.TwTxReset},
		{"kfree_skb", o.TwKfreeSkb},
		{"timer_start", o.TwTimerStart},
		{"timer_cancel", o.TwTimerCancel},
		{"timer_expire_entry", o.TwTimerExpire},
	}
	if cfg.Filter.Children {
		progs = append(progs, tp{"sched_process_fork", o.TwFork})
	}
	var links []link.Link
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			return nil, nil, fmt.Errorf("attaching tp_btf/%s: %w", p.name, err)
		}
		links = append(links, l)
	}
	hooks := []event.Hook{
		{Group: "state", Backend: "tp_btf", Note: "inet_sock_set_state, tcp_receive_reset, tcp_send_reset"},
		{Group: "tw", Backend: "tp_btf", Note: "timer_start/cancel/expire_entry on tw_timer_handler; end causes other than expiry are inferred"},
	}
	return links, hooks, nil
}
