/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Full-socket transitions: who owns the socket, which side closed, how long
 * each state lasted, and the handoff to a tw (or the overflow when there
 * was none). */
#pragma once

#include "common.h"
#include "compat.h"
#include "filter.h"
#include "precise.h"

/* process_context reports transitions that only run inside a system call
 * of the socket's owner: connect(), listen(), close()/shutdown(). Every
 * other transition may run in softirq, where the current task is whoever
 * happened to be on the CPU (often the peer). */
static __always_inline bool process_context(int old, int new)
{
	return new == TCP_SYN_SENT || new == TCP_LISTEN ||
	       (new == TCP_FIN_WAIT1 && (old == TCP_ESTABLISHED || old == TCP_SYN_RECV)) ||
	       (old == TCP_CLOSE_WAIT && new == TCP_LAST_ACK);
}

/* settle_closer records which side closed once a transition shows it. */
static __always_inline void settle_closer(struct sk_info *st, int old, int new)
{
	if (new == TCP_CLOSING) {
		st->closer = CLOSER_SIMULTANEOUS;
		return;
	}
	if (st->closer != CLOSER_NONE)
		return;
	if (new == TCP_FIN_WAIT1)
		st->closer = CLOSER_LOCAL;
	else if (new == TCP_CLOSE_WAIT)
		st->closer = CLOSER_REMOTE;
	else if (new == TCP_CLOSE && (st->flags & SKF_RX_RST))
		st->closer = CLOSER_REMOTE_RESET;
	else if (new == TCP_CLOSE && (old == TCP_ESTABLISHED || old == TCP_SYN_RECV))
		st->closer = CLOSER_LOCAL_RESET; /* an abort: linger 0, unread data, ss -K */
}

/* lingering_abort reports close() with SO_LINGER {1, 0}: the kernel moves
 * the socket to CLOSE and then sends an RST, so no flag is set yet. */
static __always_inline bool lingering_abort(const struct sock *sk)
{
	__u64 flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	long linger = BPF_CORE_READ(sk, sk_lingertime);
	int bit = bpf_core_enum_value(enum sock_flags, SOCK_LINGER);

	return (flags & (1ULL << (bit & 63))) && linger == 0;
}

static __always_inline void set_owner(struct event *e, __u32 pid, const char *comm)
{
	if (!pid)
		return;
	e->pid = pid;
	__builtin_memcpy(e->comm, comm, 16);
	e->flags |= EVF_OWNER;
}

/* transition_record reserves the record of sk's move from old to new and
 * fills what every transition carries; the caller adds the rest and
 * submits. extra counts the further events the record stands for (a tw's
 * birth, an overflow), born the accepted child's LISTEN -> SYN_RECV. */
static __always_inline struct event *transition_record(__u8 kind, __u8 extra, const struct sk_info *st,
						       const struct sock *sk, const struct tuple *t,
						       __u8 family, int old, int new, __u64 now, __u8 born)
{
	struct event *e = reserve_events(kind, now, 1 + extra + born);

	if (!e)
		return NULL;
	if (born)
		e->flags |= EVF_FROM_LISTEN;
	set_tuple(e, t, family);
	set_owner(e, st->pid, st->comm);
	e->sock = (__u64)sk;
	e->old_state = old;
	e->new_state = new;
	e->role = st->role;
	e->closer = st->closer;
	if (st->state_ts) {
		e->dur = now - st->state_ts;
		e->flags |= EVF_DUR;
	}
	return e;
}

/* handoff records the tw that took over sk's connection and reports both
 * the socket's last transition and the tw's birth in one record. */
static __always_inline void handoff(const struct birth *b, const struct sk_info *st,
				    const struct sock *sk, int old, const struct tuple *t,
				    __u64 now, __u8 family, __u8 born)
{
	struct tw_info info = {
		.birth = now,
		.pid = st->pid,
		.role = st->role,
		.closer = st->closer,
		.substate = b->substate,
	};
	struct event *e;

	__builtin_memcpy(info.comm, st->comm, 16);
	bpf_map_update_elem(&tw_info, &b->tw, &info, BPF_ANY);

	e = transition_record(EV_TW_ENTER, 1, st, sk, t, family, old, TCP_TIME_WAIT, now, born);
	if (!e)
		return;
	e->sock = b->tw;
	e->sk = (__u64)sk;
	e->substate = b->substate;
	e->timeout = b->timeout;
	submit(e);
}

/* timer_birth finds the tw that took over the closing sk in the timer
 * events (tracepoint backend): its timer was armed just before, for the
 * same tuple (pending_birth). Without one, the close made no tw: an
 * overflow unless a reset explains it. */
static __always_inline void timer_birth(const struct sock *sk, const struct sk_info *st,
					const struct tuple *t, struct birth *b, bool *overflow)
{
	struct pending_birth *pb = bpf_map_lookup_elem(&pending_birth, t);

	if (pb) {
		b->tw = pb->tw;
		b->substate = pb->substate;
		b->timeout = pb->timeout;
		bpf_map_delete_elem(&pending_birth, t);
	} else if (!(st->flags & (SKF_RX_RST | SKF_TX_RST)) && !lingering_abort(sk)) {
		*overflow = true;
	}
}

/* closes_to_tw reports the ->CLOSE that tcp_time_wait makes once a tw has
 * taken the connection over (or could not be allocated). */
static __always_inline bool closes_to_tw(int old, int new)
{
	return new == TCP_CLOSE && (old == TCP_FIN_WAIT2 || old == TCP_CLOSING);
}

/* forget_birth drops what the tw hooks recorded for sk's hand-off when sk
 * is not shown, so that nothing waits for a close that will not look. */
static __always_inline void forget_birth(const struct sock *sk, const struct tuple *t)
{
	__u64 key = (__u64)sk;

	if (births_hooked)
		bpf_map_delete_elem(&births, &key);
	else
		bpf_map_delete_elem(&pending_birth, t);
}

/* local_port reads sk's local port. skc_num is a plain load, but it is
 * already 0 at ->CLOSE (the port was released); the inet_sock copy, which
 * needs a probe read, survives. */
static __always_inline __u16 local_port(const struct sock *sk)
{
	__u16 port = sk->__sk_common.skc_num;

	return port ? port : bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

/* storage_of returns sk's sk_info. It creates one unless an owner filter
 * rules the socket out: a socket first seen in process context (cur is its
 * owner) by an owner the filter does not want, or outside process context
 * (cur is NULL) with no storage (an accepted child of a listener that was
 * not wanted) stays without, so that other processes' traffic costs the
 * check and a lookup that finds nothing, and the kernel has no storage to
 * clone or free for it. */
static __always_inline struct sk_info *storage_of(struct sock *sk, const struct owner *cur)
{
	bool create = true;

	/* Where sk_info is a hash (compat.h), a child's entry is made from
	 * its listener's owner, not cloned: it is always created. */
	if (filter_owner && !sk_info_hashed)
		create = cur && owner_wanted(cur->pid, cur->comm);
	return sk_info_get(sk, create);
}

static __always_inline int on_set_state(struct sock *sk, int old, int new)
{
	struct tuple t = {};
	struct sk_info *st;
	struct birth b = {};
	struct owner cur;
	struct event *e;
	bool overflow = false, want, in_owner;
	__u8 family, born;
	__u64 now;

	if (old == new || BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = sk_tuple(sk, &t);
	if (!in_scope(&t))
		return 0;
	t.sport = local_port(sk);

	/* Whoever connects, whether shown or not, may take over a shown tw's
	 * tuple (kill_cause). */
	if (new == TCP_SYN_SENT)
		connecting_set(sk);
	/* The current task is the owner. Its name is read when the filter
	 * decides on it, and otherwise only when the owner changes: reading
	 * it costs more than the rest of the owner's bookkeeping, and a
	 * socket's owner rarely changes (a process keeps the name it had
	 * when it first closed, connected or listened on the socket, even
	 * across an exec). */
	in_owner = process_context(old, new);
	if (in_owner) {
		cur.pid = bpf_get_current_pid_tgid() >> 32;
		if (filter_owner)
			current_comm(cur.comm);
	}
	st = storage_of(sk, in_owner ? &cur : NULL);
	if (!st) {
		if (closes_to_tw(old, new))
			forget_birth(sk, &t);
		return 0;
	}
	now = bpf_ktime_get_ns();

	if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* An accepted child: its storage is a clone of the
		 * listener's, so only the owner carries over. Its birth
		 * goes out with its next transition, which follows at once
		 * (the handshake's last ACK makes it ESTABLISHED in the
		 * same softirq): one record for both. */
		st->role = ROLE_SERVER;
		st->closer = CLOSER_NONE;
		st->flags = SKF_UNREPORTED_BIRTH;
		st->state_ts = now;
		listener_child(&t, st);
		return 0;
	}
	born = (st->flags & SKF_UNREPORTED_BIRTH) != 0;
	st->flags &= ~SKF_UNREPORTED_BIRTH;
	/* A socket leaving SYN_SENT opened actively, one leaving SYN_RECV
	 * passively (a simultaneous open passes SYN_SENT first): that tells
	 * the role when the socket's first transition went unseen (a run
	 * the kernel skipped, storage it refused). */
	if (new == TCP_SYN_SENT || (old == TCP_SYN_SENT && st->role == ROLE_UNKNOWN))
		st->role = ROLE_CLIENT;
	else if (old == TCP_SYN_RECV && st->role == ROLE_UNKNOWN)
		st->role = ROLE_SERVER;
	if (in_owner && st->pid != cur.pid) {
		if (!filter_owner)
			current_comm(cur.comm);
		st->pid = cur.pid;
		__builtin_memcpy(st->comm, cur.comm, 16);
		st->flags &= ~(SKF_WANT_KNOWN | SKF_WANTED);
	}
	if (in_owner && new == TCP_LISTEN)
		listener_set(&t, st);
	settle_closer(st, old, new);
	if (!(st->flags & SKF_WANT_KNOWN))
		st->flags |= SKF_WANT_KNOWN | (owner_wanted(st->pid, st->comm) ? SKF_WANTED : 0);
	want = (st->flags & SKF_WANTED) && tuple_wanted(&t, family);

	if (closes_to_tw(old, new)) {
		if (births_hooked)
			overflow = take_birth(sk, &b) && !b.tw;
		else
			timer_birth(sk, st, &t, &b, &overflow);
	}

	if (b.tw) {
		if (want)
			handoff(&b, st, sk, old, &t, now, family, born);
		sk_info_closed(sk, &t, old);
		return 0;
	}
	if (want) {
		e = transition_record(overflow ? EV_TW_OVERFLOW : EV_STATE, overflow, st, sk, &t, family,
				      old, new, now, born);
		if (e)
			submit(e);
	}
	st->state_ts = now;
	if (new == TCP_CLOSE)
		sk_info_closed(sk, &t, old);
	return 0;
}

/* mark_reset notes on a full socket that an RST went out or came in, which
 * tells a reset close from a clean one and from a tw overflow. */
static __always_inline void mark_reset(const struct sock *sk, __u8 flag)
{
	struct sk_info *st;

	if (!sk)
		return;
	st = sk_info_get((struct sock *)sk, false);
	if (st)
		st->flags |= flag;
}

/* on_send_reset: an RST is going out. From a full socket it marks the
 * socket; from a tw it is the TCP_TW_RST answer, after which the kernel
 * kills that tw on this CPU (tw.h reads the mark at the cancel). */
static __always_inline void on_send_reset(const struct sock *sk)
{
	struct cpu_slot *slot;

	if (!sk)
		return;
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_TIME_WAIT) {
		mark_reset(sk, SKF_TX_RST);
		return;
	}
	slot = get_slot();
	if (slot) {
		slot->rst_tw = (__u64)sk;
		slot->rst_ts = bpf_ktime_get_ns();
	}
}

/* on_accept: accept() returned child (fentry backend). The process that
 * accepts a connection owns it from then on, even when another process
 * (a pre-forking master, systemd's socket activation) opened the listener
 * the child's storage was cloned from; under an owner filter a child of a
 * listener that was not wanted gets storage here when its acceptor is. */
static __always_inline void on_accept(struct sock *child)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct sk_info *st;
	bool create;
	char comm[16];

	if (!child)
		return;
	current_comm(comm);
	create = filter_owner && owner_wanted(pid, comm) &&
		 (!filter_netns || BPF_CORE_READ(child, __sk_common.skc_net.net, ns.inum) == filter_netns);
	st = sk_info_get(child, create);
	if (!st)
		return;
	st->role = ROLE_SERVER;
	st->pid = pid;
	__builtin_memcpy(st->comm, comm, sizeof(comm));
	st->flags &= ~(SKF_WANT_KNOWN | SKF_WANTED);
}
