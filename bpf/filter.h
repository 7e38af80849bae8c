/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the user asked to see: owner (--pid/--pname, --children), ports
 * (-L/-D), family (-4/-6). The netns filter is in common.h (in_scope)
 * because it also decides which sockets get storage at all. The owner
 * filter follows ownership captured in process context, so it holds for
 * the transitions that run in softirq. */
#pragma once

#include "common.h"

/* Set from Go before load; false/0 = no filter of that kind. */
const volatile __u8 filter_family = 0; /* AF_INET or AF_INET6 */
const volatile bool filter_lports = false;
const volatile bool filter_rports = false;
const volatile bool filter_owner = false;

/* watch_pids: processes (tgid) whose sockets to show. Filled by Go at
 * start (--pid N, and the descendants of N with --children); the fork
 * program adds new descendants. Never deleted: bounded by max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} watch_pids SEC(".maps");

/* watch_comms: process names whose sockets to show (--pid NAME), as the
 * kernel stores comm (15 bytes, NUL-padded). Filled by Go at start only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[16]);
	__type(value, __u8);
} watch_comms SEC(".maps");

/* watch_lports, watch_rports: -L and -D. Filled by Go at start only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} watch_lports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} watch_rports SEC(".maps");

/* owner_wanted reports whether a socket owned by pid/comm is to be shown.
 * An unknown owner (0) never matches an owner filter. */
static __always_inline bool owner_wanted(__u32 pid, const char *comm)
{
	char name[16];

	if (!filter_owner)
		return true;
	if (!pid)
		return false;
	if (bpf_map_lookup_elem(&watch_pids, &pid))
		return true;
	__builtin_memcpy(name, comm, sizeof(name));
	return bpf_map_lookup_elem(&watch_comms, name) != NULL;
}

static __always_inline bool tuple_wanted(const struct tuple *t, __u8 family)
{
	if (filter_family && family != filter_family)
		return false;
	if (filter_lports && !bpf_map_lookup_elem(&watch_lports, &t->sport))
		return false;
	if (filter_rports && !bpf_map_lookup_elem(&watch_rports, &t->dport))
		return false;
	return true;
}

/* on_fork adds a new process to watch_pids when its parent is watched
 * (--children). Threads share their parent's tgid and need nothing. */
static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = parent->tgid, cpid = child->tgid;
	__u8 one = 1;

	if (ppid != cpid && bpf_map_lookup_elem(&watch_pids, &ppid))
		bpf_map_update_elem(&watch_pids, &cpid, &one, BPF_NOEXIST);
	return 0;
}
