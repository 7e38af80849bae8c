//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/twtrace/twtrace/internal/churn"
	"github.com/twtrace/twtrace/internal/nettest"
	"github.com/twtrace/twtrace/internal/sysctl"
)

// eventsPerConn is how many times sock:inet_sock_set_state fires per churn
// connection, both ends together, in either mode (performance-anchors §1).
const eventsPerConn = 10

// Targets from issue 2 (and issue 7 for twtrace-nomatch's ratio, issue 6
// for the UI's CPU).
const (
	targetRatio       = 0.95
	targetCPUPer10k   = 1.5 // % of one core per 10k events/s
	targetBPFPerEvent = 400 // ns
	targetUICPU       = 10  // % of one core, at 10 frames a second
)

// pairResult is one without/with pair for one tracer.
type pairResult struct {
	pair            int
	tracer          string
	without, with   churn.Result
	delivered, lost int64 // -1: the tracer does not say
	cpuTicks        uint64
}

func (p pairResult) ratio() float64     { return p.with.Rate() / p.without.Rate() }
func (p pairResult) generated() float64 { return float64(eventsPerConn * p.with.Conns) }

// cpuPct is the tracer's CPU during the churn run, in % of one core.
func (p pairResult) cpuPct() float64 {
	return float64(p.cpuTicks) / ticksPerSecond / p.with.Elapsed.Seconds() * 100
}

// cpuPer10k is cpuPct per 10k generated events/s: the userspace cost per
// event, comparable across rates.
func (p pairResult) cpuPer10k() float64 {
	evPerSec := p.generated() / p.with.Elapsed.Seconds()
	if evPerSec == 0 {
		return 0
	}
	return p.cpuPct() / (evPerSec / 10000)
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (a network namespace, BPF statistics, the tracers)")
	}
	ns, err := nettest.CreateNS("twbench")
	if err != nil {
		return err
	}
	defer func() {
		if err := ns.Delete(); err != nil {
			fmt.Fprintln(stderr, "twbench:", err)
		}
	}()
	dir, err := os.MkdirTemp("", "twbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := newWorkload(ns, dir, cfg)
	if err != nil {
		return err
	}

	var tracers []*tracer
	for _, name := range cfg.tracers {
		t, note, err := newTracer(name, cfg, ns.Path)
		if err != nil {
			return err
		}
		if note != "" {
			fmt.Fprintln(stdout, "# note:", note)
			continue
		}
		if t.control {
			unmount, err := ensureTracefs(stdout)
			if err != nil {
				fmt.Fprintf(stdout, "# note: %s skipped: %v\n", t.name, err)
				continue
			}
			defer unmount()
		}
		tracers = append(tracers, t)
	}
	printHeader(stdout, cfg, ns)

	if cfg.warmup > 0 {
		fmt.Fprintf(stderr, "twbench: warm-up churn run (%v)\n", cfg.warmup)
		if _, err := w.run(ctx, cfg.warmup, cfg.rate, nil, nil); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	results, failed, err := runPairs(ctx, w, tracers, cfg, stdout, stderr)
	if err != nil {
		return err
	}
	for _, t := range tracers {
		if rs := results[t.name]; len(rs) > 0 {
			fmt.Fprintln(stdout, medianLine(t.name, rs))
		}
	}
	v := judge(stdout, tracers, results)

	var bpfNs map[string]float64
	if cfg.bpfStats {
		var ok []*tracer
		for _, t := range tracers {
			// The UI loads the same programs as twtrace.
			if !failed[t.name] && !t.inTmux {
				ok = append(ok, t)
			}
		}
		if bpfNs, err = runBPFStats(ctx, w, ok, cfg, stdout, stderr); err != nil {
			return err
		}
	}
	printTargets(stdout, v, tracers, results, bpfNs)
	return nil
}

// runPairs runs cfg.pairs rounds; in each, every tracer gets its own
// without/with pair, so slow drifts of the machine hit all tracers alike.
// A tracer that fails (exits, say) is dropped with a note, and reported in
// failed; the others go on.
func runPairs(ctx context.Context, w *workload, tracers []*tracer, cfg config, out, progress io.Writer) (results map[string][]pairResult, failed map[string]bool, err error) {
	results = make(map[string][]pairResult)
	failed = make(map[string]bool)
	for pair := 1; pair <= cfg.pairs; pair++ {
		for _, t := range tracers {
			if failed[t.name] {
				continue
			}
			fmt.Fprintf(progress, "twbench: pair %d/%d, %s\n", pair, cfg.pairs, t.name)
			pr, err := runPair(ctx, w, t, cfg)
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if err != nil {
				fmt.Fprintf(out, "# note: %s dropped from the run: %v\n", t.name, err)
				failed[t.name] = true
				continue
			}
			pr.pair = pair
			fmt.Fprintln(out, pr.line())
			results[t.name] = append(results[t.name], pr)
		}
	}
	return results, failed, nil
}

// runBPFStats turns kernel.bpf_stats_enabled on for one fixed-load run per
// tracer and returns each tracer's ns per inet_sock_set_state hit.
func runBPFStats(ctx context.Context, w *workload, tracers []*tracer, cfg config, out, progress io.Writer) (map[string]float64, error) {
	restore, err := enableBPFStats()
	if err != nil {
		return nil, err
	}
	perEvent := make(map[string]float64)
	for _, t := range tracers {
		fmt.Fprintf(progress, "twbench: bpf_stats run, %s\n", t.name)
		ns, err := bpfStatsRun(ctx, w, t, cfg, out)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			fmt.Fprintf(out, "# note: bpf_stats for %s: %v\n", t.name, err)
			continue
		}
		perEvent[t.name] = ns
	}
	if err := restore(); err != nil {
		return nil, err
	}
	return perEvent, ctx.Err()
}

// runPair runs churn without, then with, the tracer.
func runPair(ctx context.Context, w *workload, t *tracer, cfg config) (pairResult, error) {
	pr := pairResult{tracer: t.name}
	var err error
	if pr.without, err = w.run(ctx, cfg.duration, cfg.rate, nil, nil); err != nil {
		return pr, fmt.Errorf("run without: %w", err)
	}
	r, err := t.start(ctx, cfg.settle)
	if err != nil {
		return pr, err
	}
	var ticks0, ticks1 uint64
	var tickErr error
	pr.with, err = w.run(ctx, cfg.duration, cfg.rate,
		func() { ticks0, tickErr = r.cpuTicks() },
		func() {
			var e error
			ticks1, e = r.cpuTicks()
			tickErr = errors.Join(tickErr, e)
		})
	stopErr := r.stop()
	if err != nil {
		return pr, fmt.Errorf("run with: %w", err)
	}
	if tickErr != nil {
		return pr, fmt.Errorf("%s's CPU time: %w (did it exit during the run? %s)", t.name, tickErr, lastLines(r.stderr.String(), 3))
	}
	if stopErr != nil {
		return pr, fmt.Errorf("stopping %s: %w: %s", t.name, stopErr, lastLines(r.stderr.String(), 3))
	}
	pr.cpuTicks = ticks1 - ticks0
	pr.delivered, pr.lost = t.counts(r.stdout.String(), r.stderr.String())
	return pr, nil
}

// figures are what a pair line and a median line report.
type figures struct {
	ratio                  float64
	connsWithout           float64 // connections/s
	connsWith              float64
	generated, genPerSec   float64 // events
	delivered, delPerSec   float64 // < 0: the tracer does not say
	lost                   float64 // < 0: the tracer does not say
	cpuPct, cpuPctPer10kEv float64
}

// fields lists f's figures, for computing medians field by field.
func (f *figures) fields() []*float64 {
	return []*float64{&f.ratio, &f.connsWithout, &f.connsWith, &f.generated, &f.genPerSec,
		&f.delivered, &f.delPerSec, &f.lost, &f.cpuPct, &f.cpuPctPer10kEv}
}

func (p pairResult) figures() figures {
	secs := p.with.Elapsed.Seconds()
	f := figures{
		ratio:          p.ratio(),
		connsWithout:   p.without.Rate(),
		connsWith:      p.with.Rate(),
		generated:      p.generated(),
		genPerSec:      p.generated() / secs,
		delivered:      float64(p.delivered),
		delPerSec:      -1,
		lost:           float64(p.lost),
		cpuPct:         p.cpuPct(),
		cpuPctPer10kEv: p.cpuPer10k(),
	}
	if p.delivered >= 0 {
		f.delPerSec = f.delivered / secs
	}
	return f
}

// medianFigures is the median of each figure over the pairs; a figure a
// tracer does not report stays unreported.
func medianFigures(rs []pairResult) figures {
	var m figures
	all := make([]figures, len(rs))
	for i, r := range rs {
		all[i] = r.figures()
	}
	for k, dst := range m.fields() {
		v := make([]float64, len(all))
		for i := range all {
			v[i] = *all[i].fields()[k]
		}
		if slices.Min(v) < 0 {
			*dst = -1
		} else {
			*dst = median(v)
		}
	}
	return m
}

func (f figures) String() string {
	return fmt.Sprintf("ratio=%.3f conns_without=%.0f conns_with=%.0f events_generated=%.0f generated_per_s=%.0f delivered=%s delivered_per_s=%s lost=%s tracer_cpu_pct=%.2f cpu_pct_per_10k_ev=%.3f",
		f.ratio, f.connsWithout, f.connsWith, f.generated, f.genPerSec,
		reported(f.delivered), reported(f.delPerSec), reported(f.lost), f.cpuPct, f.cpuPctPer10kEv)
}

// reported formats a figure a tracer may not report, n/a when it does not.
func reported(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

func (p pairResult) line() string {
	return fmt.Sprintf("pair=%d tracer=%s %v", p.pair, p.tracer, p.figures())
}

func medianLine(name string, rs []pairResult) string {
	ratios := make([]string, len(rs))
	for i, r := range rs {
		ratios[i] = fmt.Sprintf("%.3f", r.ratio())
	}
	return fmt.Sprintf("median tracer=%s pairs=%d %v ratios=%s", name, len(rs), medianFigures(rs), strings.Join(ratios, ","))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// verdict is what the noise control says of a run.
type verdict string

const (
	valid     verdict = "valid"
	void      verdict = "VOID"
	unchecked verdict = "unchecked" // no control ran
)

// judge prints and returns whether the noise control held. Without a
// control the run is neither valid nor void, and says so.
func judge(out io.Writer, tracers []*tracer, results map[string][]pairResult) verdict {
	for _, t := range tracers {
		if !t.control || len(results[t.name]) == 0 {
			continue
		}
		r := medianFigures(results[t.name]).ratio
		if r < controlLow || r > controlHigh {
			fmt.Fprintf(out, "%s: control %s ratio=%.3f is outside %.2f-%.2f: the machine was too noisy for these figures; run again\n", void, t.name, r, controlLow, controlHigh)
			return void
		}
		fmt.Fprintf(out, "%s: control %s ratio=%.3f is within %.2f-%.2f\n", valid, t.name, r, controlLow, controlHigh)
		return valid
	}
	fmt.Fprintf(out, "%s: the bt-count control did not run, so noise could not be ruled out\n", unchecked)
	return unchecked
}

// bpfStatsRun measures the BPF cost per event of t at a fixed load, with
// kernel.bpf_stats_enabled on, and prints it. It returns the ns per run of
// t's inet_sock_set_state program.
func bpfStatsRun(ctx context.Context, w *workload, t *tracer, cfg config, out io.Writer) (float64, error) {
	r, err := t.start(ctx, cfg.settle)
	if err != nil {
		return 0, err
	}
	res, progs, err := measurePrograms(ctx, w, r, cfg)
	if stopErr := r.stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stopping: %w", stopErr)
	}
	if err != nil {
		return 0, err
	}
	// The programs see the whole host's traffic, not only the workload's,
	// so costs are per hit of the set-state program rather than per event
	// the workload generated; hits > events_generated shows other traffic.
	var total time.Duration
	var hits uint64
	setState := -1.0
	for _, p := range progs {
		total += p.runtime
		if p.name == t.setStateProg {
			setState, hits = p.nsPerRun(), p.runs
		}
	}
	allPerHit := -1.0
	if hits > 0 {
		allPerHit = float64(total.Nanoseconds()) / float64(hits)
	}
	fmt.Fprintf(out, "bpf tracer=%s rate=%.0f events_generated=%d hits=%d bpf_ns_per_event=%s all_progs_ns_per_hit=%s\n",
		t.name, res.Rate(), eventsPerConn*res.Conns, hits, reported(setState), reported(allPerHit))
	for _, p := range progs {
		fmt.Fprintf(out, "bpf_prog tracer=%s prog=%s id=%d runs=%d ns_per_run=%.0f\n", t.name, p.name, p.id, p.runs, p.nsPerRun())
	}
	if setState < 0 {
		return 0, fmt.Errorf("no program named %s among its programs", t.setStateProg)
	}
	return setState, nil
}

// measurePrograms runs churn at the stats rate and returns the run time and
// run count the running tracer's programs accumulated meanwhile.
func measurePrograms(ctx context.Context, w *workload, r *running, cfg config) (churn.Result, []progStats, error) {
	ids, err := processPrograms(r.pid)
	if err != nil {
		return churn.Result{}, nil, fmt.Errorf("finding its programs: %w", err)
	}
	if len(ids) == 0 {
		return churn.Result{}, nil, errors.New("it holds no BPF program")
	}
	before, err := readStats(ids)
	if err != nil {
		return churn.Result{}, nil, err
	}
	res, err := w.run(ctx, cfg.duration, cfg.statsRate, nil, nil)
	if err != nil {
		return res, nil, err
	}
	after, err := readStats(ids)
	if err != nil {
		return res, nil, err
	}
	return res, statsDelta(before, after), nil
}

// printTargets checks twtrace's medians against issue 2's targets (and
// twtrace-nomatch's ratio against issue 7's), saying when the run was not
// valid and the checks are not to be believed.
func printTargets(out io.Writer, v verdict, tracers []*tracer, results map[string][]pairResult, bpfNs map[string]float64) {
	for _, t := range tracers {
		rs := results[t.name]
		if !strings.HasPrefix(t.name, "twtrace") || len(rs) == 0 {
			continue
		}
		var checks []string
		check := func(what string, ok bool) {
			verdict := "FAIL"
			if ok {
				verdict = "ok"
			}
			checks = append(checks, what+" "+verdict)
		}
		r := medianFigures(rs).ratio
		check(fmt.Sprintf("ratio=%.3f>=%.2f", r, targetRatio), r >= targetRatio)
		if t.name == "twtrace" {
			var lost int64
			known := true
			for _, p := range rs {
				if p.lost < 0 {
					known = false
				}
				lost += max(p.lost, 0)
			}
			if known {
				check(fmt.Sprintf("lost=%d==0", lost), lost == 0)
			} else {
				checks = append(checks, "lost unknown (no `twtrace: events=N lost=M` line)")
			}
			cpu := medianFigures(rs).cpuPctPer10kEv
			check(fmt.Sprintf("cpu_pct_per_10k_ev=%.3f<=%.1f", cpu, targetCPUPer10k), cpu <= targetCPUPer10k)
			if ns, ok := bpfNs[t.name]; ok {
				check(fmt.Sprintf("bpf_ns_per_event=%.0f<=%d", ns, targetBPFPerEvent), ns <= targetBPFPerEvent)
			}
		}
		if t.name == "twtrace-ui" {
			cpu := medianFigures(rs).cpuPct
			check(fmt.Sprintf("tracer_cpu_pct=%.2f<%d", cpu, targetUICPU), cpu < targetUICPU)
		}
		fmt.Fprintf(out, "targets tracer=%s run=%s: %s\n", t.name, v, strings.Join(checks, "; "))
	}
}

func printHeader(out io.Writer, cfg config, ns *nettest.NS) {
	kernel, _ := sysctl.Read("kernel.osrelease")
	var tw map[string]string
	ns.Do(func() error { tw = sysctl.TimeWait(); return nil })
	rate := "max"
	if cfg.rate > 0 {
		rate = fmt.Sprint(cfg.rate)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(out, "# twbench: kernel %s, netns %s, churn -mode %s -workers %d -addr %s -rate %s, runs of %v, pairs=%d, settle %v\n",
		kernel, ns.Name, cfg.mode, cfg.workers, cfg.addr, rate, cfg.duration, cfg.pairs, cfg.settle)
	fmt.Fprintf(out, "# load average at start: %s (other work on the machine makes ratios noisy)\n", strings.TrimSpace(string(load)))
	fmt.Fprintf(out, "# netns sysctls: tcp_tw_reuse=%s tcp_tw_reuse_delay=%s tcp_max_tw_buckets=%s ip_local_port_range=%q\n",
		tw["tcp_tw_reuse"], tw["tcp_tw_reuse_delay"], tw["tcp_max_tw_buckets"], tw["ip_local_port_range"])
	fmt.Fprintln(out, "# conns_* are connections/s; events_generated is 10 per connection of the run with the tracer;")
	fmt.Fprintln(out, "# delivered and lost are what the tracer reports over its whole life (attach to exit), per_s over the run;")
	fmt.Fprintln(out, "# tracer_cpu_pct is its user+system CPU during the run, in % of one core")
}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when it is not
// there: bpftrace's classic tracepoints need it (twtrace does not). It
// returns a function that unmounts it again if this call mounted it.
func ensureTracefs(out io.Writer) (unmount func(), err error) {
	const dir = "/sys/kernel/tracing"
	if _, err := os.Stat(dir + "/events"); err == nil {
		return func() {}, nil
	}
	if err := syscall.Mount("tracefs", dir, "tracefs", 0, ""); err != nil {
		return nil, fmt.Errorf("mounting tracefs on %s for bpftrace: %w", dir, err)
	}
	fmt.Fprintf(out, "# note: mounted tracefs on %s for bpftrace; unmounted at the end\n", dir)
	return func() { syscall.Unmount(dir, 0) }, nil
}
