//go:build linux

package tracer

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/twtrace/twtrace/internal/event"
)

// Backends, most precise first. Backend "" (or "auto") climbs them in this
// order and keeps the first that loads and attaches.
const (
	BackendFentry     = "fentry"
	BackendKprobe     = "kprobe"
	BackendTracepoint = "tracepoint"
)

// Backends lists the names Config.Backend accepts besides "auto".
var Backends = []string{BackendFentry, BackendKprobe, BackendTracepoint}

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
	tpBTF   attachKind = iota
	tracing            // fentry or fexit: the program's section says which
	kprobe
	kretprobe
)

// A way is one backend's means of running a hook group.
type way struct {
	backend string
	// hooks returns what to attach, all or nothing; an error refuses the
	// way before anything is loaded.
	hooks func(*kernelFuncs) ([]hook, error)
	// extras are attached when they can be; each inner slice is all or
	// nothing (an entry probe without its exit would leave a flag set).
	extras [][]hook
	// extraLoss says what is inferred instead when an extra is refused.
	extraLoss string
	// note describes the way in doctor and the hello line.
	note string
	// precise ways see every tw birth (set_state then trusts them).
	precise bool
	// always: the way stands in for the group under any forced backend.
	always bool
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

// taskHooksLoss is what a precise backend loses without its inet_twsk_purge
// and tcp_abort hooks.
const taskHooksLoss = "purges are told by the namespace's reference count, ss -K kills are reported as unknown"

// groups are the hook groups a backend is chosen for, each on its own.
var groups = []group{
	{name: "tw", ways: []way{
		{
			backend: BackendFentry,
			hooks:   fentryTW,
			extras: [][]hook{
				{{"tw_fe_purge", "inet_twsk_purge", tracing}, {"tw_fx_purge", "inet_twsk_purge", tracing}},
				{{"tw_fe_abort", "tcp_abort", tracing}, {"tw_fx_abort", "tcp_abort", tracing}},
			},
			extraLoss: taskHooksLoss,
			note:      "fentry/fexit on inet_twsk_alloc, tcp_time_wait, tcp_timewait_state_process, tcp_twsk_unique, inet_twsk_deschedule_put, tw_timer_handler, inet_twsk_free; end causes seen directly",
			precise:   true,
		},
		{
			backend: BackendKprobe,
			hooks:   kprobeTW,
			extras: [][]hook{
				{{"tw_kp_purge", "inet_twsk_purge", kprobe}, {"tw_kr_purge", "inet_twsk_purge", kretprobe}},
				{{"tw_kp_abort", "tcp_abort", kprobe}, {"tw_kr_abort", "tcp_abort", kretprobe}},
			},
			extraLoss: taskHooksLoss,
			note:      "kprobes on inet_twsk_alloc, tcp_timewait_state_process, tcp_twsk_unique, inet_twsk_deschedule_put, tw_timer_handler, inet_twsk_free; end causes seen directly",
			precise:   true,
		},
		{
			backend: BackendTracepoint,
			hooks: func(*kernelFuncs) ([]hook, error) {
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
	{name: "accept", ways: []way{
		{
			backend: BackendFentry,
			hooks:   fentryAccept,
			note:    "fexit inet_csk_accept: the accepting process owns the connection",
		},
		{
			backend: BackendTracepoint,
			hooks:   func(*kernelFuncs) ([]hook, error) { return nil, nil },
			note:    "no accept hook: an accepted connection is its listener's owner's until closed",
			always:  true,
		},
	}},
}

func fentryTW(k *kernelFuncs) ([]hook, error) {
	tspExit := "tw_fx_tsp"
	n, err := k.params("tcp_timewait_state_process")
	if err != nil {
		return nil, err
	}
	if n == 3 {
		tspExit = "tw_fx_tsp3"
	}
	return []hook{
		{"tw_fx_alloc", "inet_twsk_alloc", tracing},
		{"tw_fx_timewait", "tcp_time_wait", tracing},
		{"tw_fe_tsp", "tcp_timewait_state_process", tracing},
		{tspExit, "tcp_timewait_state_process", tracing},
		{"tw_fx_unique", "tcp_twsk_unique", tracing},
		{"tw_fe_kill", "inet_twsk_deschedule_put", tracing},
		{"tw_fe_expire", "tw_timer_handler", tracing},
		{"tw_fe_free", "inet_twsk_free", tracing},
	}, nil
}

func kprobeTW(*kernelFuncs) ([]hook, error) {
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("the kprobe programs read x86-64 registers, not %s ones", runtime.GOARCH)
	}
	return []hook{
		{"tw_kp_alloc", "inet_twsk_alloc", kprobe},
		{"tw_kr_alloc", "inet_twsk_alloc", kretprobe},
		{"tw_kp_tsp", "tcp_timewait_state_process", kprobe},
		{"tw_kr_tsp", "tcp_timewait_state_process", kretprobe},
		{"tw_kp_unique", "tcp_twsk_unique", kprobe},
		{"tw_kr_unique", "tcp_twsk_unique", kretprobe},
		{"tw_kp_kill", "inet_twsk_deschedule_put", kprobe},
		{"tw_kp_expire", "tw_timer_handler", kprobe},
		{"tw_kp_free", "inet_twsk_free", kprobe},
	}, nil
}

func fentryAccept(k *kernelFuncs) ([]hook, error) {
	n, err := k.params("inet_csk_accept")
	if err != nil {
		return nil, err
	}
	switch n {
	case 2:
		return []hook{{"tw_fx_accept2", "inet_csk_accept", tracing}}, nil
	case 4:
		return []hook{{"tw_fx_accept4", "inet_csk_accept", tracing}}, nil
	}
	return nil, fmt.Errorf("inet_csk_accept takes %d arguments here, twtrace knows 2 and 4", n)
}

// kernelFuncs answers questions about the kernel's functions from its BTF.
type kernelFuncs struct {
	cache *btf.Cache
}

// proto returns fn's prototype, or an error if the kernel's BTF lacks it
// (renamed, inlined everywhere, or not built).
func (k *kernelFuncs) proto(fn string) (*btf.FuncProto, error) {
	spec, err := k.cache.Kernel()
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's BTF: %w", err)
	}
	var f *btf.Func
	if err := spec.TypeByName(fn, &f); err != nil {
		return nil, fmt.Errorf("%s is not in the kernel's BTF: %w", fn, err)
	}
	proto, ok := f.Type.(*btf.FuncProto)
	if !ok {
		return nil, fmt.Errorf("%s has no prototype in the kernel's BTF", fn)
	}
	return proto, nil
}

// params returns how many arguments fn takes on this kernel.
func (k *kernelFuncs) params(fn string) (int, error) {
	proto, err := k.proto(fn)
	if err != nil {
		return 0, err
	}
	return len(proto.Params), nil
}

// attach climbs the ladder for each hook group, then attaches the state
// hooks every backend shares. Open has loaded the maps.
func (t *Tracer) attach() error {
	k := &kernelFuncs{cache: t.objs.cache}
	// The state programs are loaded first: every backend needs them, so
	// the verifier's verdict on them is Open's.
	state := stateHooks(t.cfg)
	if err := t.objs.loadPrograms(append(progNames(state), "tw_flush")); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return fmt.Errorf("the kernel's verifier rejected twtrace's BPF programs: %+v", verr)
		}
		return err
	}
	precise := false
	for _, g := range groups {
		got, refused, err := t.attachGroup(g, k)
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
			t.backend, precise = got.backend, got.precise
		}
	}
	if precise {
		// Only now that every birth is seen may set_state rely on it.
		if err := t.objs.maps.Variables["births_hooked"].Set(uint8(1)); err != nil {
			return fmt.Errorf("telling the BPF programs the birth hooks are attached: %w", err)
		}
	}
	if err := t.attachAll(state); err != nil {
		return err
	}
	note := "inet_sock_set_state, tcp_receive_reset, tcp_send_reset"
	if n := t.storage.note(); n != "" {
		note += "; " + n
	}
	t.hooks = slices.Insert(t.hooks, 0, event.Hook{Group: "state", Backend: "tp_btf", Note: note})
	return nil
}

// attachGroup attaches g with the first way that works and returns it,
// with why the ways before it were refused. With a forced backend only that
// backend's way is tried (or the group's stand-in), and its refusal is the
// error.
func (t *Tracer) attachGroup(g group, k *kernelFuncs) (way, []string, error) {
	var refused []string
	for _, w := range g.ways {
		if t.cfg.Backend != "" && w.backend != t.cfg.Backend && !w.always {
			continue
		}
		lost, err := t.attachWay(w, k)
		if err == nil {
			return w, append(refused, lost...), nil
		}
		if t.cfg.Backend == w.backend {
			return w, nil, fmt.Errorf("%w: %s for the %s hooks: %s", ErrBackendUnavailable, w.backend, g.name, shorten(err))
		}
		refused = append(refused, fmt.Sprintf("%s refused: %s", w.backend, shorten(err)))
	}
	return way{}, nil, fmt.Errorf("no backend can attach the %s hooks: %s", g.name, strings.Join(refused, "; "))
}

// attachWay loads and attaches w's hooks, undoing its own links on error,
// and says which extras it could not attach.
func (t *Tracer) attachWay(w way, k *kernelFuncs) ([]string, error) {
	hooks, err := w.hooks(k)
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		if err := k.check(h); err != nil {
			return nil, err
		}
	}
	if err := t.loadAndAttach(hooks); err != nil {
		return nil, err
	}
	var lost []string
	for _, extra := range w.extras {
		err := k.check(extra[0])
		if err == nil {
			err = t.loadAndAttach(extra)
		}
		if err != nil {
			lost = append(lost, fmt.Sprintf("%s refused (%s): %s", extra[0].fn, shorten(err), w.extraLoss))
		}
	}
	return lost, nil
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

// check refuses a function hook whose function is not in the kernel's BTF,
// before a load or attach fails less clearly.
func (k *kernelFuncs) check(h hook) error {
	if h.how == tpBTF {
		return nil
	}
	_, err := k.proto(h.fn)
	return err
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
	case tracing:
		l, err = link.AttachTracing(link.TracingOptions{Program: p})
	case kprobe:
		l, err = link.Kprobe(h.fn, p, nil)
	case kretprobe:
		l, err = link.Kretprobe(h.fn, p, nil)
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
