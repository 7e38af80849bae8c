//go:build ignore
/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* twtrace's BPF entry points. Each is a thin SEC() wrapper; the logic is in
 * the topic headers (owner.h: full sockets, tw.h: the tw lifecycle from the
 * timer tracepoints, precise.h: the tw lifecycle from the kernel functions,
 * filter.h: what the user asked to see).
 *
 * Go loads the programs a backend needs and no others (tracer/attach.go):
 * the tp_btf ones run on every backend; the tracepoint backend adds the
 * timer and kfree_skb ones; the fentry backend the tw_fe_ and tw_fx_ ones;
 * the kprobe backend the tw_kp_ and tw_kr_ ones. */

#include "common.h"
#include "filter.h"
#include "owner.h"
#include "tw.h"
#include "precise.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keep these types in BTF so bpf2go exports them to Go (-type). */
const struct event *unused_event __attribute__((unused));
const enum tw_event_kind *unused_kind __attribute__((unused));
const enum tw_event_flags *unused_flags __attribute__((unused));
const enum tw_cause *unused_cause __attribute__((unused));

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tw_set_state, struct sock *sk, int old, int new)
{
	return on_set_state(sk, old, new);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tw_rx_reset, struct sock *sk)
{
	mark_reset(sk, SKF_RX_RST);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tw_tx_reset, const struct sock *sk)
{
	on_send_reset(sk);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tw_kfree_skb, struct sk_buff *skb)
{
	return on_kfree_skb(skb);
}

SEC("tp_btf/timer_start")
int BPF_PROG(tw_timer_start, struct timer_list *timer)
{
	return on_timer_start(timer);
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tw_timer_cancel, struct timer_list *timer)
{
	return on_timer_cancel(timer);
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tw_timer_expire, struct timer_list *timer)
{
	return on_timer_expire(timer);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tw_fork, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

/* Not attached: Go runs it on a CPU (BPF_PROG_TEST_RUN) to send what that
 * CPU has staged (common.h). */
SEC("raw_tp")
int tw_flush(void *ctx)
{
	return flush_stage();
}

/* The fentry backend. */

SEC("fexit/inet_twsk_alloc")
int BPF_PROG(tw_fx_alloc, const struct sock *sk, void *dr, int state,
	     struct inet_timewait_sock *tw)
{
	on_tw_alloc(sk, (__u64)tw);
	return 0;
}

SEC("fexit/tcp_time_wait")
int BPF_PROG(tw_fx_timewait, struct sock *sk)
{
	on_time_wait_done(sk);
	return 0;
}

SEC("fentry/tcp_timewait_state_process")
int BPF_PROG(tw_fe_tsp, struct inet_timewait_sock *tw)
{
	on_tsp_enter(tw);
	return 0;
}

/* tcp_timewait_state_process took 3 arguments until 6.10 (then 4, then 5
 * from 6.15): the return value follows them. Go picks the variant by the
 * function's parameter count in the kernel's BTF. */
SEC("fexit/tcp_timewait_state_process")
int BPF_PROG(tw_fx_tsp3, void *tw, void *skb, void *th, int verdict)
{
	on_tsp_exit(verdict);
	return 0;
}

/* Later kernels (5.17+) tell a program the return value whatever the
 * arguments. */
SEC("fexit/tcp_timewait_state_process")
int tw_fx_tsp(void *ctx)
{
	__u64 verdict = 0;

	bpf_get_func_ret(ctx, &verdict);
	on_tsp_exit(verdict);
	return 0;
}

SEC("fexit/tcp_twsk_unique")
int BPF_PROG(tw_fx_unique, struct sock *sk, struct sock *sktw, void *twp, int ret)
{
	on_twsk_unique(sktw, ret);
	return 0;
}

SEC("fentry/inet_twsk_deschedule_put")
int BPF_PROG(tw_fe_kill, struct inet_timewait_sock *tw)
{
	on_tw_kill(tw);
	return 0;
}

SEC("fentry/tw_timer_handler")
int BPF_PROG(tw_fe_expire, struct timer_list *timer)
{
	on_tw_expire(timer);
	return 0;
}

SEC("fentry/inet_twsk_free")
int BPF_PROG(tw_fe_free, struct inet_timewait_sock *tw)
{
	on_tw_free(tw);
	return 0;
}

SEC("fentry/inet_twsk_purge")
int BPF_PROG(tw_fe_purge)
{
	task_enter(TASK_PURGE);
	return 0;
}

SEC("fexit/inet_twsk_purge")
int BPF_PROG(tw_fx_purge)
{
	task_exit();
	return 0;
}

SEC("fentry/tcp_abort")
int BPF_PROG(tw_fe_abort)
{
	task_enter(TASK_ABORT);
	return 0;
}

SEC("fexit/tcp_abort")
int BPF_PROG(tw_fx_abort)
{
	task_exit();
	return 0;
}

/* inet_csk_accept took 4 arguments until 6.10, 2 since: the accepted
 * socket follows them. */
SEC("fexit/inet_csk_accept")
int BPF_PROG(tw_fx_accept4, struct sock *sk, int flags, int *err, bool kern, struct sock *child)
{
	on_accept(child);
	return 0;
}

SEC("fexit/inet_csk_accept")
int BPF_PROG(tw_fx_accept2, struct sock *sk, void *arg, struct sock *child)
{
	on_accept(child);
	return 0;
}

/* The kprobe backend: the same functions. A kretprobe sees only the return
 * value, so the entry probe keeps the argument in precise_cpu. */

SEC("kprobe/inet_twsk_alloc")
int BPF_KPROBE(tw_kp_alloc, const struct sock *sk)
{
	struct precise_ctx *c = get_pctx();

	if (c)
		c->alloc_sk = (__u64)sk;
	return 0;
}

SEC("kretprobe/inet_twsk_alloc")
int BPF_KRETPROBE(tw_kr_alloc, struct inet_timewait_sock *tw)
{
	struct precise_ctx *c = get_pctx();

	if (c && c->alloc_sk)
		on_tw_alloc((const struct sock *)c->alloc_sk, (__u64)tw);
	return 0;
}

SEC("kprobe/tcp_timewait_state_process")
int BPF_KPROBE(tw_kp_tsp, struct inet_timewait_sock *tw)
{
	on_tsp_enter(tw);
	return 0;
}

SEC("kretprobe/tcp_timewait_state_process")
int BPF_KRETPROBE(tw_kr_tsp, int verdict)
{
	on_tsp_exit(verdict);
	return 0;
}

SEC("kprobe/tcp_twsk_unique")
int BPF_KPROBE(tw_kp_unique, struct sock *sk, struct sock *sktw)
{
	struct precise_ctx *c = get_pctx();

	if (c)
		c->unique_tw = (__u64)sktw;
	return 0;
}

SEC("kretprobe/tcp_twsk_unique")
int BPF_KRETPROBE(tw_kr_unique, int ret)
{
	struct precise_ctx *c = get_pctx();

	if (c)
		on_twsk_unique((const struct sock *)c->unique_tw, ret);
	return 0;
}

SEC("kprobe/inet_twsk_deschedule_put")
int BPF_KPROBE(tw_kp_kill, struct inet_timewait_sock *tw)
{
	on_tw_kill(tw);
	return 0;
}

SEC("kprobe/tw_timer_handler")
int BPF_KPROBE(tw_kp_expire, struct timer_list *timer)
{
	on_tw_expire(timer);
	return 0;
}

SEC("kprobe/inet_twsk_free")
int BPF_KPROBE(tw_kp_free, struct inet_timewait_sock *tw)
{
	on_tw_free(tw);
	return 0;
}

SEC("kprobe/inet_twsk_purge")
int BPF_KPROBE(tw_kp_purge)
{
	task_enter(TASK_PURGE);
	return 0;
}

SEC("kretprobe/inet_twsk_purge")
int BPF_KRETPROBE(tw_kr_purge)
{
	task_exit();
	return 0;
}

SEC("kprobe/tcp_abort")
int BPF_KPROBE(tw_kp_abort)
{
	task_enter(TASK_ABORT);
	return 0;
}

SEC("kretprobe/tcp_abort")
int BPF_KRETPROBE(tw_kr_abort)
{
	task_exit();
	return 0;
}
