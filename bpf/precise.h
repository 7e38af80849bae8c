/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The tw lifecycle seen from the kernel functions that run it, for the
 * precise backends (fentry/fexit, or kprobes on the same functions): birth
 * and overflow (inet_twsk_alloc, inside tcp_time_wait), the FIN_WAIT2 ->
 * TIME_WAIT change and the SYN/RST verdicts (tcp_timewait_state_process),
 * reuse (tcp_twsk_unique), every kill with its cause read where it happens
 * (inet_twsk_deschedule_put), expiry (tw_timer_handler) and the final free
 * (inet_twsk_free). Nothing here is inferred: each end cause is the context
 * the kill ran in. twtrace.bpf.c has one thin entry point per hook and
 * backend; they only differ in how they get the arguments. */
#pragma once

#include "common.h"
#include "filter.h"
#include "tw.h"

static __always_inline struct precise_ctx *get_pctx(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&precise_cpu, &zero);
}

/* on_tw_alloc: inet_twsk_alloc returned tw (0 past tcp_max_tw_buckets) for
 * the closing socket sk. tcp_time_wait then closes sk (set_state, which
 * takes the birth with take_birth) before it returns. */
static __always_inline void on_tw_alloc(const struct sock *sk, __u64 tw)
{
	__u64 key = (__u64)sk;
	struct tuple t = {};

	/* DCCP shared inet_twsk_alloc until 6.16. */
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return;
	read_tuple(&sk->__sk_common, &t);
	if (in_scope(&t))
		bpf_map_update_elem(&births, &key, &tw, BPF_ANY);
}

/* on_time_wait_done: tcp_time_wait returned. Its set_state took the birth,
 * or never will: forget it either way, so that it cannot match a later
 * socket at the same address. */
static __always_inline void on_time_wait_done(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&births, &key);
}

/* take_birth reports whether the birth hooks decided sk's close, and
 * fills b with the tw that took the connection over (b->tw 0: overflow).
 * The tw is hashed and its timer armed by now. */
static __always_inline bool take_birth(const struct sock *sk, struct birth *b)
{
	__u64 key = (__u64)sk, *twp = bpf_map_lookup_elem(&births, &key);
	struct inet_timewait_sock *tw;

	if (!twp)
		return false;
	tw = (struct inet_timewait_sock *)*twp;
	bpf_map_delete_elem(&births, &key);
	if (tw) {
		b->tw = (__u64)tw;
		b->substate = BPF_CORE_READ(tw, tw_substate);
		b->timeout = jiffies_left(tw);
	}
	return true;
}

/* end_event returns a zero-cause tw_exit record for tw and marks the tw
 * ended, or NULL when the tw is out of scope, not shown, or already
 * reported. known_only: only for a tw whose birth twtrace saw. */
static __always_inline struct event *end_event(struct inet_timewait_sock *tw, bool known_only)
{
	__u64 key = (__u64)tw;
	struct tuple t = {};
	struct tw_info *info;
	__u8 family;

	family = read_tw(tw, &t);
	if (!in_scope(&t))
		return NULL;
	info = bpf_map_lookup_elem(&tw_info, &key);
	if (info) {
		if (info->flags & TWI_ENDED)
			return NULL;
		info->flags |= TWI_ENDED;
	} else if (known_only) {
		return NULL;
	}
	if (!tw_wanted(info, &t, family))
		return NULL;
	return tw_event(EV_TW_EXIT, bpf_ktime_get_ns(), key, &t, family,
			BPF_CORE_READ(tw, tw_substate), info);
}

/* kill_context names the kill of tw by where inet_twsk_deschedule_put was
 * called from. */
static __always_inline __u8 kill_context(struct precise_ctx *c, struct inet_timewait_sock *tw,
					 struct event *e)
{
	__u64 key = (__u64)tw, task = bpf_get_current_pid_tgid();
	struct reuser *r = bpf_map_lookup_elem(&reusing, &key);
	__u8 *flags;

	if (r) {
		e->by_pid = r->pid;
		__builtin_memcpy(e->by_comm, r->comm, 16);
		return CAUSE_REUSED;
	}
	if (c->tsp_tw == key)
		return CAUSE_RST; /* killed inside tcp_timewait_state_process */
	if (c->verdict_tw == key) {
		c->verdict_tw = 0;
		return c->verdict == TCP_TW_SYN ? CAUSE_SYN : CAUSE_TW_RST;
	}
	flags = bpf_map_lookup_elem(&task_ctx, &task);
	if (flags && (*flags & TASK_PURGE))
		return CAUSE_PURGED;
	if (flags && (*flags & TASK_ABORT))
		return CAUSE_DESTROYED;
	return netns_dying(tw) ? CAUSE_PURGED : CAUSE_UNKNOWN;
}

/* on_tw_kill: inet_twsk_deschedule_put, the one way to end a tw early. */
static __always_inline void on_tw_kill(struct inet_timewait_sock *tw)
{
	struct precise_ctx *c = get_pctx();
	__u64 key = (__u64)tw;
	struct event *e;

	if (!c)
		return;
	e = end_event(tw, false);
	if (e) {
		e->cause = kill_context(c, tw, e);
		submit(e);
	}
	/* The verdict was for this kill, reported or not (a tw out of
	 * scope): left behind, it would name the kill of the next tw that
	 * the allocator puts at the same address on this CPU. */
	if (c->verdict_tw == key)
		c->verdict_tw = 0;
	bpf_map_delete_elem(&reusing, &key);
}

/* on_tw_expire: tw_timer_handler, the tw's timer ran out. */
static __always_inline void on_tw_expire(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct event *e;

	tw = (void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
	e = end_event(tw, false);
	if (!e)
		return;
	e->cause = CAUSE_EXPIRED;
	e->timeout = jiffies_left(tw);
	submit(e);
}

/* on_tw_free: the last reference to tw is gone. A tw whose end was not
 * reported was killed where inet_twsk_deschedule_put is inlined
 * (inet_twsk_purge on some builds). Every per-tw entry is deleted here. */
static __always_inline void on_tw_free(struct inet_timewait_sock *tw)
{
	__u64 key = (__u64)tw, task = bpf_get_current_pid_tgid();
	struct event *e = end_event(tw, true);
	__u8 *flags;

	if (e) {
		flags = bpf_map_lookup_elem(&task_ctx, &task);
		e->cause = (flags && (*flags & TASK_PURGE)) || netns_dying(tw) ? CAUSE_PURGED : CAUSE_UNKNOWN;
		submit(e);
	}
	bpf_map_delete_elem(&tw_info, &key);
	bpf_map_delete_elem(&reusing, &key);
}

/* on_tsp_enter: a segment reached tw (tcp_timewait_state_process). */
static __always_inline void on_tsp_enter(struct inet_timewait_sock *tw)
{
	struct precise_ctx *c = get_pctx();

	if (!c)
		return;
	c->tsp_tw = (__u64)tw;
	c->tsp_substate = BPF_CORE_READ(tw, tw_substate);
	c->verdict_tw = 0;
}

/* substate_changed reports a FIN_WAIT2 tw that the peer's FIN turned into
 * TIME_WAIT (and whose timer was re-armed for 60 s). */
static __always_inline void substate_changed(struct inet_timewait_sock *tw)
{
	__u64 key = (__u64)tw;
	struct tuple t = {};
	struct tw_info *info;
	struct event *e;
	__u8 family, substate = BPF_CORE_READ(tw, tw_substate);

	if (substate != TCP_TIME_WAIT)
		return;
	family = read_tw(tw, &t);
	if (!in_scope(&t))
		return;
	info = bpf_map_lookup_elem(&tw_info, &key);
	if (info)
		info->substate = substate;
	if (!tw_wanted(info, &t, family))
		return;
	e = tw_event(EV_TW_SUBSTATE, bpf_ktime_get_ns(), key, &t, family, substate, info);
	if (!e)
		return;
	e->old_state = TCP_FIN_WAIT2;
	e->timeout = jiffies_left(tw);
	submit(e);
}

/* on_tsp_exit: tcp_timewait_state_process returned verdict. SYN and RST
 * verdicts make its caller kill the tw next (kill_context); an ACK from
 * substate FIN_WAIT2 is the peer's FIN. A tw killed inside (an RST) is
 * never read here: its verdict is TCP_TW_SUCCESS. */
static __always_inline void on_tsp_exit(__u64 verdict)
{
	struct precise_ctx *c = get_pctx();
	__u64 tw;

	if (!c || !c->tsp_tw)
		return;
	tw = c->tsp_tw;
	c->tsp_tw = 0;
	if (verdict == TCP_TW_SYN || verdict == TCP_TW_RST) {
		c->verdict_tw = tw;
		c->verdict = verdict;
	} else if (verdict == TCP_TW_ACK && c->tsp_substate == TCP_FIN_WAIT2) {
		substate_changed((struct inet_timewait_sock *)tw);
	}
}

/* on_twsk_unique: tcp_twsk_unique returned ret for sktw, inside connect().
 * 1 means the connecting process takes the tw's tuple: current is the
 * process that reuses it. */
static __always_inline void on_twsk_unique(const struct sock *sktw, int ret)
{
	struct reuser r = {};
	struct tuple t = {};
	__u64 key = (__u64)sktw;

	if (ret != 1 || !sktw)
		return;
	read_tw((struct inet_timewait_sock *)sktw, &t);
	if (!in_scope(&t))
		return;
	r.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(r.comm, sizeof(r.comm));
	bpf_map_update_elem(&reusing, &key, &r, BPF_ANY);
}

/* task_enter and task_exit bracket inet_twsk_purge and tcp_abort for the
 * kills they make. */
static __always_inline void task_enter(__u8 flag)
{
	__u64 task = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&task_ctx, &task, &flag, BPF_ANY);
}

static __always_inline void task_exit(void)
{
	__u64 task = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&task_ctx, &task);
}
