/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Socket and task storage, with the fallbacks for kernels that lack them.
 * Linux 5.11 gave tracing programs bpf_sk_storage_get and added task
 * storage; Debian 11's 5.10 has neither. There Go swaps the map types
 * (sk_info becomes a hash keyed by socket address, connecting an LRU hash
 * keyed by pid_tgid) and sets the flags below before load. The flags are
 * read-only constants to the verifier, which never visits the branch this
 * kernel lacks: a newer kernel runs exactly the storage path, and an older
 * one never meets a helper it does not have. */
#pragma once

#include "common.h"

/* Set from Go before load. */
const volatile bool sk_info_hashed = false;    /* no socket storage for tracing */
const volatile bool connecting_hashed = false; /* no task storage */

/* sk_info_get returns sk's entry, creating it with create. A failed
 * creation drops the caller's event and counts it: storage can refuse
 * (no memory, or its lock busy in a nested program), and a hash can be
 * full (more live sockets in scope than it holds). */
static __always_inline struct sk_info *sk_info_get(struct sock *sk, bool create)
{
	__u64 key = (__u64)sk;
	struct sk_info *st;

	if (!sk_info_hashed) {
		st = bpf_sk_storage_get(&sk_info, sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
		if (!st && create)
			count_lost(1);
		return st;
	}
	st = bpf_map_lookup_elem(&sk_info, &key);
	if (st || !create)
		return st;
	{
		struct sk_info zero = {};

		bpf_map_update_elem(&sk_info, &key, &zero, BPF_NOEXIST);
	}
	st = bpf_map_lookup_elem(&sk_info, &key);
	if (!st)
		count_lost(1);
	return st;
}

/* sk_info_closed: sk reached CLOSE, its last state. Storage goes with the
 * socket; a hash entry is deleted here, and a listener's owner with it. */
static __always_inline void sk_info_closed(struct sock *sk, const struct tuple *t, int old)
{
	__u64 key = (__u64)sk;

	if (!sk_info_hashed)
		return;
	bpf_map_delete_elem(&sk_info, &key);
	if (old == TCP_LISTEN) {
		struct listener_key lk = { .netns = t->netns, .port = t->sport };

		bpf_map_delete_elem(&listeners, &lk);
	}
}

/* listener_set: sk started listening on t; keep its owner for the children
 * (storage clones it into them by itself). */
static __always_inline void listener_set(const struct tuple *t, const struct sk_info *st)
{
	struct listener_key lk = { .netns = t->netns, .port = t->sport };
	struct owner o = { .pid = st->pid };

	if (!sk_info_hashed)
		return;
	__builtin_memcpy(o.comm, st->comm, 16);
	bpf_map_update_elem(&listeners, &lk, &o, BPF_ANY);
}

/* listener_child: st is a new child of the listener on t; give it that
 * listener's owner, as storage's clone does. */
static __always_inline void listener_child(const struct tuple *t, struct sk_info *st)
{
	struct listener_key lk = { .netns = t->netns, .port = t->sport };
	struct owner *o;

	if (!sk_info_hashed)
		return;
	o = bpf_map_lookup_elem(&listeners, &lk);
	if (o) {
		st->pid = o->pid;
		__builtin_memcpy(st->comm, o->comm, 16);
	}
}

/* connecting_set: the current task is connecting sk. */
static __always_inline void connecting_set(struct sock *sk)
{
	__u64 key, val = (__u64)sk, *conn;

	if (connecting_hashed) {
		key = bpf_get_current_pid_tgid();
		bpf_map_update_elem(&connecting, &key, &val, BPF_ANY);
		return;
	}
	conn = bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (conn)
		*conn = val;
}

/* connecting_get returns the socket the current task last connected, or
 * NULL. */
static __always_inline __u64 *connecting_get(void)
{
	__u64 key;

	if (connecting_hashed) {
		key = bpf_get_current_pid_tgid();
		return bpf_map_lookup_elem(&connecting, &key);
	}
	return bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), 0, 0);
}
