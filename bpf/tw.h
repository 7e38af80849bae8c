/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The tw lifecycle seen through the timer tracepoints, filtered on the tw
 * timer's function (tw_timer_handler). Every timer in the kernel passes
 * through these programs, so the common path is one compare. */
#pragma once

#include "common.h"

/* tw_of returns the tw whose tw_timer is timer, or NULL for other timers. */
static __always_inline struct inet_timewait_sock *tw_of(struct timer_list *timer,
							  struct cpu_slot **slotp)
{
	struct cpu_slot *slot = get_slot();

	*slotp = slot;
	if ((__u64)timer->function != tw_timer_fn) {
		/* Not ours: it still breaks any back-to-back pair. */
		if (slot && slot->kind != SLOT_EMPTY)
			slot->kind = SLOT_EMPTY;
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

static __always_inline __s64 jiffies_left(struct inet_timewait_sock *tw)
{
	return (__s64)(BPF_CORE_READ(tw, tw_timer.expires) - bpf_jiffies64());
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
 * ->CLOSE follows on this CPU: see handoff) or a reschedule of a live one
 * (the same tw's cancel came just before). */
static __always_inline int on_timer_start(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct cpu_slot *slot;
	struct tuple t = {};
	__u8 family, substate;
	__s64 left;

	tw = tw_of(timer, &slot);
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
		struct tw_info *info = bpf_map_lookup_elem(&tw_info, &key);
		struct event *e = tw_event(EV_TW_RESCHED, now, key, &t, family, substate, info);

		if (e) {
			e->old_state = info ? info->substate : 0;
			e->timeout = left;
			submit(e);
		}
		if (info)
			info->substate = substate;
		slot->kind = SLOT_EMPTY;
		return 0;
	}
	slot->kind = SLOT_START;
	slot->tw = (__u64)tw;
	slot->t = t;
	slot->family = family;
	slot->substate = substate;
	slot->timeout = left;
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
	__u64 key;
	__u8 family;

	tw = tw_of(timer, &slot);
	if (!tw || !slot)
		return 0;
	family = read_tw(tw, &t);
	if (!in_scope(&t)) {
		slot->kind = SLOT_EMPTY;
		return 0;
	}
	key = (__u64)tw;
	info = bpf_map_lookup_elem(&tw_info, &key);
	e = tw_event(EV_TW_CANCEL, bpf_ktime_get_ns(), key, &t, family,
		     BPF_CORE_READ(tw, tw_substate), info);
	if (e) {
		e->timeout = jiffies_left(tw);
		submit(e);
	}
	slot->kind = SLOT_CANCEL;
	slot->tw = key;
	slot->t = t;
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
	__u64 key;
	__u8 family;

	tw = tw_of(timer, &slot);
	if (!tw || !slot)
		return 0;
	slot->kind = SLOT_EMPTY;
	family = read_tw(tw, &t);
	if (!in_scope(&t))
		return 0;
	key = (__u64)tw;
	info = bpf_map_lookup_elem(&tw_info, &key);
	e = tw_event(EV_TW_EXIT, bpf_ktime_get_ns(), key, &t, family,
		     BPF_CORE_READ(tw, tw_substate), info);
	if (e) {
		e->cause = CAUSE_EXPIRED;
		e->timeout = jiffies_left(tw);
		submit(e);
	}
	if (info)
		bpf_map_delete_elem(&tw_info, &key);
	return 0;
}
