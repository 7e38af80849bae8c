//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/twtrace/twtrace/internal/event"
)

// Backends, most precise first. Backend "" (or "auto") climbs them in this
// order and keeps the first that loads and attaches.
const (
	BackendTracepoint = "tracepoint"
)

// Backends lists the names Config.Backend accepts besides "auto".
var Backends = []string{BackendTracepoint}

// ErrBackendUnavailable is returned by Open when Config.Backend forces a
// backend this kernel cannot load or attach.
var ErrBackendUnavailable = errors.New("backend not available")

// A hook is one program attached to one kernel function or tracepoint.
type hook struct {
	prog string // the program's name in the BPF object
	fn   string // the kernel function or tp_btf tracepoint
	how  attachKind
}

type attachKind int

const (
	tpBTF attachKind = iota
)

// A way is one backend's means of running a hook group.
type way struct {
	backend string
	// hooks returns what to attach, all or nothing; an error refuses the
	// way before anything is loaded.
	hooks func() ([]hook, error)
	// note describes the way in doctor and the hello line.
	note string
}

// A group is a set of hooks that must come from the same backend.
type group struct {
	name string
	ways []way
}

// stateHooks are the full-socket hooks every backend uses: tp_btf exists
// wherever twtrace runs and gives the socket storage the owners live in.
func stateHooks(cfg Config) []hook {
	hooks := []hook{
		{"tw_set_state", "inet_sock_set_state", tpBTF},
		{"tw_rx_reset", "tcp_receive_reset", tpBTF},
		{"tw_tx_reset", "tcp_send_reset", tpBTF},
	}
	if cfg.Filter.Children {
		hooks = append(hooks, hook{"tw_fork", "sched_process_fork", tpBTF})
	}
	return hooks
}

// groups are the hook groups a backend is chosen for, each on its own.
var groups = []group{
	{name: "tw", ways: []way{
		{
			backend: BackendTracepoint,
			hooks: func() ([]hook, error) {
				return []hook{
					{"tw_timer_start", "timer_start", tpBTF},
					{"tw_timer_cancel", "timer_cancel", tpBTF},
					{"tw_timer_expire", "timer_expire_entry", tpBTF},
					{"tw_kfree_skb", "kfree_skb", tpBTF},
				}, nil
			},
			note: "timer_start/cancel/expire_entry on tw_timer_handler, kfree_skb; end causes other than expiry are inferred",
		},
	}},
}

// attach climbs the ladder for each hook group, then attaches the state
// hooks every backend shares. Open has loaded the maps.
func (t *Tracer) attach() error {
	// The state programs are loaded first: every backend needs them, so
	// the verifier's verdict on them is Open's.
	state := stateHooks(t.cfg)
	if err := t.objs.loadPrograms(progNames(state)); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return fmt.Errorf("the kernel's verifier rejected twtrace's BPF programs: %+v", verr)
		}
		return err
	}
	for _, g := range groups {
		got, refused, err := t.attachGroup(g)
		if err != nil {
			return err
		}
		note := got.note
		if len(refused) > 0 {
			note += "; " + strings.Join(refused, "; ")
		}
		backend := got.backend
		if backend == BackendTracepoint {
			backend = "tp_btf"
		}
		t.hooks = append(t.hooks, event.Hook{Group: g.name, Backend: backend, Note: note})
		if g.name == "tw" {
			t.backend = got.backend
		}
	}
	if err := t.attachAll(state); err != nil {
		return err
	}
	t.hooks = slices.Insert(t.hooks, 0, event.Hook{Group: "state", Backend: "tp_btf", Note: "inet_sock_set_state, tcp_receive_reset, tcp_send_reset"})
	return nil
}

// attachGroup attaches g with the first way that works and returns it,
// with why the ways before it were refused. With a forced backend only that
// backend's way is tried, and its refusal is the error.
func (t *Tracer) attachGroup(g group) (way, []string, error) {
	var refused []string
	for _, w := range g.ways {
		if t.cfg.Backend != "" && w.backend != t.cfg.Backend {
			continue
		}
		err := t.attachWay(w)
		if err == nil {
			return w, refused, nil
		}
		if t.cfg.Backend == w.backend {
			return w, nil, fmt.Errorf("%w: %s for the %s hooks: %s", ErrBackendUnavailable, w.backend, g.name, shorten(err))
		}
		refused = append(refused, fmt.Sprintf("%s refused: %s", w.backend, shorten(err)))
	}
	return way{}, nil, fmt.Errorf("no backend can attach the %s hooks: %s", g.name, strings.Join(refused, "; "))
}

// attachWay loads and attaches w's hooks, all or nothing.
func (t *Tracer) attachWay(w way) error {
	hooks, err := w.hooks()
	if err != nil {
		return err
	}
	return t.loadAndAttach(hooks)
}

// loadAndAttach loads the programs of hooks and attaches them, all or
// nothing: on error what it loaded is unloaded again.
func (t *Tracer) loadAndAttach(hooks []hook) error {
	names := progNames(hooks)
	if err := t.objs.loadPrograms(names); err != nil {
		return err
	}
	if err := t.attachAll(hooks); err != nil {
		t.objs.unload(names)
		return err
	}
	return nil
}

// progNames lists the programs hooks use, once each.
func progNames(hooks []hook) []string {
	var names []string
	for _, h := range hooks {
		if !slices.Contains(names, h.prog) {
			names = append(names, h.prog)
		}
	}
	return names
}

// attachAll attaches every hook, or none: on error the links it made are
// closed.
func (t *Tracer) attachAll(hooks []hook) error {
	n := len(t.links)
	for _, h := range hooks {
		l, err := attachHook(h, t.objs.progs[h.prog])
		if err != nil {
			for _, l := range t.links[n:] {
				l.Close()
			}
			t.links = t.links[:n]
			return err
		}
		t.links = append(t.links, l)
	}
	return nil
}

func attachHook(h hook, p *ebpf.Program) (link.Link, error) {
	var l link.Link
	var err error
	switch h.how {
	case tpBTF:
		l, err = link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
	}
	if err != nil {
		return nil, fmt.Errorf("attaching %s to %s: %w", h.prog, h.fn, err)
	}
	return l, nil
}

// shorten keeps what a user needs from an attach or load error: twtrace's
// own context and the kernel's answer, without the layers in between. A
// file the kernel lacks (kprobe_events without CONFIG_KPROBES) keeps its
// path.
func shorten(err error) string {
	root := err
	var verr *ebpf.VerifierError
	var pe *fs.PathError
	switch {
	case errors.As(err, &verr):
		root = verr // with the verifier's last word
	case errors.As(err, &pe):
		root = pe
	default:
		for next := errors.Unwrap(root); next != nil; next = errors.Unwrap(root) {
			root = next
		}
	}
	if root == err {
		return err.Error()
	}
	context, _, _ := strings.Cut(err.Error(), ": ")
	return context + ": " + root.Error()
}
