/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The tw lifecycle seen through the timer tracepoints, filtered on the tw
 * timer's function (tw_timer_handler). Every timer in the kernel passes
 * through these programs, so the common path is one compare. */
#pragma once

#include "common.h"
#include "compat.h"
#include "filter.h"

/* emit_hint tells Go what killed the tw this CPU just cancelled. */
static __always_inline void emit_hint(struct cpu_slot *slot, __u8 cause)
{
	struct event *e;

	slot->kind = SLOT_EMPTY;
	if (!slot->shown)
		return;
	e = reserve(EV_TW_HINT, bpf_ktime_get_ns());
	if (!e)
		return;
	set_tuple(e, &slot->t, slot->family);
	e->sock = slot->tw;
	e->cause = cause;
	submit(e);
}

/* syn_hint: a listener armed a request socket's timer right after a tw
 * cancel on this CPU, for the tw's own tuple: the SYN that reopened the
 * connection killed the tw (TCP_TW_SYN). */
static __always_inline void syn_hint(struct cpu_slot *slot, struct timer_list *timer)
{
	struct request_sock *req;
	struct tuple t = {};

	req = (void *)timer - bpf_core_field_offset(struct request_sock, rsk_timer);
	read_tuple(&req->__req_common, &t);
	t.sport = BPF_CORE_READ(req, __req_common.skc_num);
	if (tuple_eq(&t, &slot->t))
		emit_hint(slot, CAUSE_SYN);
}

/* tw_of returns the tw whose tw_timer is timer, or NULL for other timers. */
static __always_inline struct inet_timewait_sock *tw_of(struct timer_list *timer,
							  struct cpu_slot **slotp, bool start)
{
	struct cpu_slot *slot = get_slot();
	__u64 fn = (__u64)timer->function;

	*slotp = slot;
	if (fn != tw_timer_fn) {
		/* Not ours: it still breaks any back-to-back pair. */
		if (slot && slot->kind != SLOT_EMPTY) {
			if (start && slot->kind == SLOT_CANCEL && fn == reqsk_timer_fn && fn)
				syn_hint(slot, timer);
			slot->kind = SLOT_EMPTY;
		}
		return NULL;
	}
	return (void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
}

static __always_inline __u8 read_tw(struct inet_timewait_sock *tw, struct tuple *t)
{
	__u8 family = read_tuple(&tw->__tw_common, t);

	t->sport = BPF_CORE_READ(tw, __tw_common.skc_num);
	return family;
}

/* A tw's birth, as the handoff reports it. */
struct birth {
	__u64 tw;       /* 0: no tw */
	__s64 timeout;  /* jiffies left on its timer */
	__u8 substate;
};

static __always_inline __s64 jiffies_left(struct inet_timewait_sock *tw)
{
	return (__s64)(BPF_CORE_READ(tw, tw_timer.expires) - bpf_jiffies64());
}

/* tw_wanted: a tw is shown when it passes the tuple filters and, under an
 * owner filter, when the handoff recorded it (only wanted tw get info). */
static __always_inline bool tw_wanted(const struct tw_info *info, const struct tuple *t, __u8 family)
{
	return (info || !filter_owner) && tuple_wanted(t, family);
}

/* tw_event fills a record about tw from what the handoff stored. */
static __always_inline struct event *tw_event(__u8 kind, __u64 now, __u64 twaddr,
					      const struct tuple *t, __u8 family,
					      __u8 substate, const struct tw_info *info)
{
	struct event *e = reserve(kind, now);

	if (!e)
		return NULL;
	set_tuple(e, t, family);
	e->sock = twaddr;
	e->substate = substate;
	if (info) {
		if (info->pid) {
			e->pid = info->pid;
			__builtin_memcpy(e->comm, info->comm, 16);
			e->flags |= EVF_OWNER;
		}
		e->role = info->role;
		e->closer = info->closer;
		e->dur = now - info->birth;
		e->flags |= EVF_DUR;
	}
	return e;
}

/* on_timer_start: a tw timer was armed. Either a new tw (its full socket's
 * ->CLOSE follows and finds it in pending_birth) or a reschedule of a live one
 * (the same tw's cancel came just before). */
static __always_inline int on_timer_start(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct cpu_slot *slot;
	struct tuple t = {};
	__u8 family, substate;
	__s64 left;

	tw = tw_of(timer, &slot, true);
	if (!tw || !slot)
		return 0;
	family = read_tw(tw, &t);
	if (!in_scope(&t)) {
		slot->kind = SLOT_EMPTY;
		return 0;
	}
	substate = BPF_CORE_READ(tw, tw_substate);
	left = jiffies_left(tw);

	if (slot->kind == SLOT_CANCEL && slot->tw == (__u64)tw && tuple_eq(&slot->t, &t)) {
		__u64 key = (__u64)tw, now = bpf_ktime_get_ns();
		struct tw_info *info = slot->has_info ? &slot->info : NULL;
		struct event *e = NULL;

		if (tw_wanted(info, &t, family))
			e = tw_event(EV_TW_RESCHED, now, key, &t, family, substate, info);

		if (e) {
			e->old_state = info ? info->substate : 0;
			e->timeout = left;
			submit(e);
		}
		if (info) {
			/* The cancel took the entry out; the tw lives on. */
			info->substate = substate;
			bpf_map_update_elem(&tw_info, &key, info, BPF_ANY);
		}
		slot->kind = SLOT_EMPTY;
		return 0;
	}
	/* A new tw: its socket's ->CLOSE reports the hand-off. */
	slot->kind = SLOT_EMPTY;
	{
		struct pending_birth pb = { .tw = (__u64)tw, .timeout = left, .substate = substate };

		bpf_map_update_elem(&pending_birth, &t, &pb, BPF_ANY);
	}
	return 0;
}

/* Kernels differ in where a namespace keeps its reference count. */
struct ns_common___ref {
	refcount_t __ns_ref;
} __attribute__((preserve_access_index));
struct ns_common___count {
	refcount_t count;
} __attribute__((preserve_access_index));
struct net___count { /* before 5.12: the count is the namespace's own */
	refcount_t count;
} __attribute__((preserve_access_index));

/* netns_dying reports a namespace whose last reference is gone: its tw are
 * being purged by the cleanup worker. */
static __always_inline bool netns_dying(struct inet_timewait_sock *tw)
{
	struct net *net = BPF_CORE_READ(tw, __tw_common.skc_net.net);
	int refs;

	if (bpf_core_field_exists(struct ns_common___ref, __ns_ref))
		refs = BPF_CORE_READ((struct ns_common___ref *)&net->ns, __ns_ref.refs.counter);
	else if (bpf_core_field_exists(struct ns_common___count, count))
		refs = BPF_CORE_READ((struct ns_common___count *)&net->ns, count.refs.counter);
	else if (bpf_core_field_exists(struct net___count, count))
		refs = BPF_CORE_READ((struct net___count *)net, count.refs.counter);
	else
		return false;
	return refs == 0;
}

/* kill_cause reads what the cancel's own context says about a kill; the
 * SYN and RST kills are told by what follows (emit_hint). Recording the
 * reusing process fills e->by_pid/by_comm. */
static __always_inline __u8 kill_cause(struct cpu_slot *slot, struct inet_timewait_sock *tw,
				       const struct tuple *t, __u64 now, struct event *e)
{
	__u64 task = bpf_get_current_pid_tgid();
	struct tuple nt = {};
	struct sock *sk;
	__u64 *skp;

	if (slot->rst_tw == (__u64)tw && now - slot->rst_ts < 10000000) {
		slot->rst_tw = 0;
		return CAUSE_TW_RST;
	}
	if (netns_dying(tw))
		return CAUSE_PURGED;
	skp = connecting_get();
	if (!skp)
		return CAUSE_NONE;
	sk = (struct sock *)*skp;
	read_tuple(&sk->__sk_common, &nt);
	nt.sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (!tuple_eq(&nt, t))
		return CAUSE_NONE;
	e->by_pid = task >> 32;
	bpf_get_current_comm(e->by_comm, sizeof(e->by_comm));
	return CAUSE_REUSED;
}

/* on_kfree_skb: the kernel dropped a segment. Right after a tw cancel on
 * this CPU, a segment for the tw's ports is the one that killed it, then
 * discarded: an in-window RST (RFC 1337), or a segment the tw answered
 * with an RST (TCP_TW_RST; kernels before 6.10 have no tcp_send_reset
 * tracepoint on that path to tell it earlier). */
static __always_inline int on_kfree_skb(struct sk_buff *skb)
{
	struct cpu_slot *slot = get_slot();
	unsigned char *head;
	struct tcphdr th;
	__u8 proto = 0;

	if (!slot || slot->kind != SLOT_CANCEL)
		return 0;
	head = BPF_CORE_READ(skb, head);
	if (slot->family == AF_INET)
		bpf_probe_read_kernel(&proto, 1, head + BPF_CORE_READ(skb, network_header) + 9);
	else
		bpf_probe_read_kernel(&proto, 1, head + BPF_CORE_READ(skb, network_header) + 6);
	if (proto != IPPROTO_TCP ||
	    bpf_probe_read_kernel(&th, sizeof(th), head + BPF_CORE_READ(skb, transport_header)))
		return 0;
	if (bpf_ntohs(th.dest) == slot->t.sport && bpf_ntohs(th.source) == slot->t.dport)
		emit_hint(slot, th.rst ? CAUSE_RST : CAUSE_TW_RST);
	return 0;
}

/* on_timer_cancel: a tw timer was detached. That is a kill, a reschedule
 * (a start follows) or the expiry itself (expire_entry follows). Go holds
 * the record until it sees what this CPU reports next. */
static __always_inline int on_timer_cancel(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct cpu_slot *slot;
	struct tuple t = {};
	struct tw_info *info;
	struct event *e;
	__u64 key, now;
	__u8 family;

	tw = tw_of(timer, &slot, false);
	if (!tw || !slot)
		return 0;
	family = read_tw(tw, &t);
	if (!in_scope(&t)) {
		slot->kind = SLOT_EMPTY;
		return 0;
	}
	key = (__u64)tw;
	now = bpf_ktime_get_ns();
	info = bpf_map_lookup_elem(&tw_info, &key);
	e = NULL;
	if (tw_wanted(info, &t, family))
		e = tw_event(EV_TW_CANCEL, now, key, &t, family, BPF_CORE_READ(tw, tw_substate), info);
	slot->shown = e != NULL;
	slot->has_info = info != NULL;
	if (info) {
		/* Whatever follows (kill, expiry, re-arm) finds it in the slot. */
		slot->info = *info;
		bpf_map_delete_elem(&tw_info, &key);
	}
	if (e) {
		e->timeout = jiffies_left(tw);
		e->cause = kill_cause(slot, tw, &t, now, e);
		submit(e);
	}
	slot->kind = SLOT_CANCEL;
	slot->tw = key;
	slot->t = t;
	slot->family = family;
	return 0;
}

/* on_timer_expire: the tw's 60 s (or FIN_WAIT2) timer ran out. */
static __always_inline int on_timer_expire(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct cpu_slot *slot;
	struct tuple t = {};
	struct tw_info *info;
	struct event *e;
	bool from_slot;
	__u64 key;
	__u8 family;

	tw = tw_of(timer, &slot, false);
	if (!tw || !slot)
		return 0;
	key = (__u64)tw;
	/* The cancel that detached the timer just before moved the entry
	 * into the slot. */
	from_slot = slot->kind == SLOT_CANCEL && slot->tw == key && slot->has_info;
	slot->kind = SLOT_EMPTY;
	family = read_tw(tw, &t);
	if (!in_scope(&t))
		return 0;
	info = from_slot ? &slot->info : bpf_map_lookup_elem(&tw_info, &key);
	e = NULL;
	if (tw_wanted(info, &t, family))
		e = tw_event(EV_TW_EXIT, bpf_ktime_get_ns(), key, &t, family,
			     BPF_CORE_READ(tw, tw_substate), info);
	if (e) {
		e->cause = CAUSE_EXPIRED;
		e->timeout = jiffies_left(tw);
		submit(e);
	}
	if (info && !from_slot)
		bpf_map_delete_elem(&tw_info, &key);
	return 0;
}
