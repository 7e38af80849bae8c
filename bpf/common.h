/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Configuration, scope filter, socket reads and event emission shared by
 * every program. */
#pragma once

#include "vmlinux.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_endian.h>
#include <bpf_tracing.h>

#include "maps.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Set from Go before load. */
const volatile __u32 filter_netns = 0;  /* netns inode; 0 = every netns */
const volatile __u64 tw_timer_fn = 0;   /* address of tw_timer_handler */
const volatile __u64 reqsk_timer_fn = 0; /* address of reqsk_timer_handler; 0 = unknown */
const volatile __u64 wakeup_bytes = 1;  /* wake the reader past this backlog */

/* Set from Go after load, once the precise backend's tw birth hooks
 * (inet_twsk_alloc, tcp_time_wait) are attached: from then on every tw
 * birth and overflow is known exactly, and set_state stops inferring them
 * from timer events. */
volatile __u8 births_hooked = 0;

/* read_tuple reads the addresses, remote port and netns shared by full
 * sockets and tw (both start with struct sock_common). The local port is
 * read by the caller: it lives in different places for the two. */
static __always_inline __u8 read_tuple(const struct sock_common *skc, struct tuple *t)
{
	__u16 family = BPF_CORE_READ(skc, skc_family);

	if (family == AF_INET) {
		bpf_core_read(t->saddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(t->daddr, 4, &skc->skc_daddr);
	} else {
		bpf_core_read(t->saddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(t->daddr, 16, &skc->skc_v6_daddr);
	}
	t->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	t->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	return family;
}

/* sk_tuple is read_tuple for the socket a tp_btf program is handed: that
 * pointer is trusted, so its fields are plain loads instead of
 * bpf_probe_read calls, which matters on the hottest path (every state
 * change). Pointers computed from other objects (a tw from its timer) must
 * use read_tuple. */
static __always_inline __u8 sk_tuple(const struct sock *sk, struct tuple *t)
{
	const struct sock_common *skc = &sk->__sk_common;
	__u16 family = skc->skc_family;

	if (family == AF_INET) {
		__builtin_memcpy(t->saddr, &skc->skc_rcv_saddr, 4);
		__builtin_memcpy(t->daddr, &skc->skc_daddr, 4);
	} else {
		__builtin_memcpy(t->saddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(t->daddr, &skc->skc_v6_daddr, 16);
	}
	t->dport = bpf_ntohs(skc->skc_dport);
	t->netns = skc->skc_net.net->ns.inum;
	return family;
}

/* current_comm copies the current task's name, NUL-padded: a name is
 * compared and looked up (watch_comms) as all 16 bytes, and on some kernels
 * (Debian's 6.1) bpf_get_current_comm leaves the bytes after the name as
 * they were. */
static __always_inline void current_comm(char *comm)
{
	__builtin_memset(comm, 0, 16);
	bpf_get_current_comm(comm, 16);
}

static __always_inline bool in_scope(const struct tuple *t)
{
	return !filter_netns || t->netns == filter_netns;
}

static __always_inline bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* count_lost adds n events that could not be delivered to what Go
 * reports as kind=lost. */
static __always_inline void count_lost(__u64 n)
{
	__u32 zero = 0;
	__u64 *lostp = bpf_map_lookup_elem(&lost, &zero);

	if (lostp) /* atomic: a program that interrupts this one may count too */
		__sync_fetch_and_add(lostp, n);
}

/* output sends size bytes as one record, or returns an error. Wake-ups
 * are batched: the reader polls on its own every few milliseconds and is
 * woken early only when the backlog grows large; per-record wake-ups would
 * cost more than everything else together. */
static __always_inline long output(void *data, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return bpf_ringbuf_output(&events, data, size,
				  avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* compiler_barrier keeps the compiler from moving memory accesses across
 * it. The stage is shared only with programs that interrupt this one on
 * the same CPU, which see memory in program order: this is all the
 * ordering its depth needs. */
#define compiler_barrier() asm volatile("" ::: "memory")

/* this_stage finds this CPU's stage and its state (maps.h). */
static __always_inline bool this_stage(struct stage_meta **m, struct stage **s)
{
	__u32 zero = 0;

	*m = bpf_map_lookup_elem(&staged, &zero);
	*s = bpf_map_lookup_elem(&stage, &zero);
	return *m && *s;
}

/* stage_flush sends the CPU's n staged events as one record. */
static __always_inline void stage_flush(struct stage_meta *m, struct stage *s, __u32 n)
{
	if (n > STAGE_EVENTS)
		n = STAGE_EVENTS;
	if (n && output(s->ev, n * sizeof(struct event)))
		count_lost(m->nev);
	m->n = 0;
	m->nev = 0;
}

/* reserve_events returns a zeroed record that stands for n events, or
 * counts the n events lost and returns NULL. A hand-off or overflow record
 * also stands for its socket's last state event, and a record can carry an
 * accepted child's birth (EVF_FROM_LISTEN). Every record reserved must be
 * submitted, before the program returns: the stage (maps.h) is this CPU's
 * until then. */
static __always_inline struct event *reserve_events(__u8 kind, __u64 now, __u8 n)
{
	struct stage_meta *m;
	struct stage *s;
	struct event *e;
	__u32 d;

	if (!this_stage(&m, &s)) {
		count_lost(n);
		return NULL;
	}
	d = m->depth;
	if (d > STAGE_SPARE) {
		count_lost(n);
		return NULL;
	}
	/* Claim the level before reading anything of it: a program that
	 * interrupts this one from here on takes the next level, and one
	 * that came before the claim has already put everything back. */
	m->depth = d + 1;
	compiler_barrier();
	if (d == 0) {
		if (!m->n)
			m->oldest = now;
		m->nev += n;
		e = &s->ev[m->n & (STAGE_EVENTS - 1)];
	} else {
		d = (d - 1) & (STAGE_SPARE - 1); /* the verifier wants it masked */
		m->spare_nev[d] = n;
		e = &s->spare[d];
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->ts = now;
	e->cpu = bpf_get_smp_processor_id();
	return e;
}

/* reserve returns a zeroed record for one event (see reserve_events). */
static __always_inline struct event *reserve(__u8 kind, __u64 now)
{
	return reserve_events(kind, now, 1);
}

/* submit hands over the record reserve returned: a staged one goes out
 * with the stage when that is full or old, a spare one at once. */
static __always_inline void submit(struct event *e)
{
	struct stage_meta *m;
	struct stage *s;
	__u32 d, n;

	if (!this_stage(&m, &s) || !m->depth)
		return;
	d = m->depth - 1;
	if (d == 0) {
		n = m->n + 1;
		if (n >= STAGE_EVENTS || e->ts - m->oldest >= STAGE_AGE_NS)
			stage_flush(m, s, n);
		else
			m->n = n;
	} else if (d <= STAGE_SPARE) {
		n = (d - 1) & (STAGE_SPARE - 1); /* the verifier wants it masked */
		if (output(&s->spare[n], sizeof(struct event)))
			count_lost(m->spare_nev[n]);
	}
	compiler_barrier(); /* everything above is done before the release */
	m->depth = d;
}

/* flush_stage sends what this CPU has staged, unless a program here is
 * between reserve() and submit() (it returns 1: try again later). Go runs
 * it on a CPU whose stage has gone quiet, and on every CPU when it stops. */
static __always_inline int flush_stage(void)
{
	struct stage_meta *m;
	struct stage *s;

	if (!this_stage(&m, &s))
		return 0;
	if (m->depth)
		return 1;
	/* Programs that interrupt the flush use the spares meanwhile. */
	m->depth = 1;
	compiler_barrier();
	stage_flush(m, s, m->n);
	compiler_barrier();
	m->depth = 0;
	return 0;
}

static __always_inline void set_tuple(struct event *e, const struct tuple *t, __u8 family)
{
	__builtin_memcpy(e->saddr, t->saddr, 16);
	__builtin_memcpy(e->daddr, t->daddr, 16);
	e->sport = t->sport;
	e->dport = t->dport;
	e->netns = t->netns;
	e->family = family;
}

static __always_inline struct cpu_slot *get_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_slot, &zero);
}
