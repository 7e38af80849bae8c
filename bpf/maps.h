/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map twtrace uses, with who inserts, who deletes and what bounds it. */
#pragma once

#include "event.h"

/* events: records for Go, each one event or a batch of staged events (see
 * stage below). Inserted by every program through reserve() and submit()
 * (common.h) and by the flush program; consumed by Tracer.Read. Size set
 * from Go (Config.RingBytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* lost: per-CPU count of events that could not be delivered: those of a
 * record the ring buffer had no room for, and those of a socket whose
 * storage could not be made. Incremented by count_lost() (common.h); read
 * (never reset) by Go, which reports increases as kind=lost. One slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Staging. A ring-buffer record costs a reservation and a commit, each
 * taking the ring's lock and touching cache lines every CPU shares: about
 * as much as everything else a state change costs. So events are staged
 * per CPU and go out STAGE_EVENTS at a time, as one record, when the stage
 * is full or its oldest event is STAGE_AGE_NS old; Go flushes a stage that
 * has gone quiet (the tw_flush program, run on that CPU) and puts the CPUs'
 * batches back in time order. A program that interrupts another between
 * its reserve() and submit() on the same CPU (a softirq landing in a
 * system call) cannot use the stage, which is mid-write: it fills one of
 * the spare records and sends it at once. */
#define STAGE_EVENTS 16
#define STAGE_SPARE 4 /* a power of two */
#define STAGE_AGE_NS 5000000ULL

struct stage {
	struct event ev[STAGE_EVENTS];
	struct event spare[STAGE_SPARE]; /* one per nesting level */
};

/* stage: one per CPU. Written only by programs on that CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stage);
} stage SEC(".maps");

/* The state of a CPU's stage, apart from the records so that Go can read
 * it every drain for a few bytes per CPU. */
struct stage_meta {
	__u64 oldest; /* ts of ev[0], when n > 0 */
	__u32 n;      /* events staged */
	__u32 nev;    /* events they stand for (reserve_events), for the lost count */
	__u32 depth;  /* programs between reserve() and submit() on this CPU */
	__u8 spare_nev[STAGE_SPARE];
	__u8 _pad;
};

/* staged: one per CPU, beside stage; read by Go every drain. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stage_meta);
} staged SEC(".maps");

/* What twtrace knows about a full socket. */
struct sk_info {
	__u64 state_ts;  /* when the socket entered its current state; 0 = not seen */
	__u32 pid;       /* owner, captured in process context; 0 = unknown */
	char comm[16];
	__u8 role;
	__u8 closer;
	__u8 flags;      /* SKF_* */
	__u8 _pad;
};

enum sk_flags {
	SKF_RX_RST = 1,     /* an RST was received (tcp_receive_reset) */
	SKF_TX_RST = 2,     /* this socket sent an RST (tcp_send_reset) */
	SKF_WANT_KNOWN = 4, /* SKF_WANTED is up to date with the owner */
	SKF_WANTED = 8,     /* the owner passes the owner filter */
	SKF_UNREPORTED_BIRTH = 16, /* an accepted child's LISTEN -> SYN_RECV,
				    * reported with its next transition */
};

/* sk_info: per-socket storage. Created by the set_state program on a
 * socket's first transition in scope; freed by the kernel with the socket.
 * BPF_F_CLONE copies a listener's entry (its owner) into every accepted
 * child, which is how a server socket learns its owner in softirq.
 * Kernels without socket storage for tracing programs (before 5.11) get a
 * hash keyed by socket address instead (compat.h, sk_info_hashed). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sk_info);
} sk_info SEC(".maps");

/* What twtrace knows about a tw: the full socket's owner, carried over.
 * Only tw that pass the filters get one. */
struct tw_info {
	__u64 birth;     /* when the tw took over the connection */
	__u32 pid;
	char comm[16];
	__u8 role;
	__u8 closer;
	__u8 substate;
	__u8 flags;      /* TWI_* */
};

enum tw_info_flags {
	TWI_ENDED = 1, /* the precise hooks reported its end (kill or expiry) */
};

/* tw_info: keyed by tw address. Inserted at the handoff from a full socket
 * (set_state program) when the tw is to be shown. The tracepoint backend
 * deletes it at every cancel of its timer (a kill, the expiry, or a
 * re-arm, which puts it back from cpu_slot); the precise backends when the
 * tw is freed (inet_twsk_free). A tw address is reused within
 * microseconds, which overwrites an entry whose cancel was missed. Size
 * set from Go from tcp_max_tw_buckets: an update
 * that must evict is what costs most on the hot path, so the map is kept
 * free of stale entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tw_info);
} tw_info SEC(".maps");

/* The last tw timer cancel on this CPU, when it was the very last timer
 * event of any kind here: a start of the same tw right after is a
 * reschedule, and what follows names a kill (emit_hint). Any other timer
 * event clears it, so only back-to-back pairs match. */
enum slot_kind {
	SLOT_EMPTY = 0,
	SLOT_CANCEL = 2,
};

struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;
	__u16 sport;
	__u16 dport;
};

struct cpu_slot {
	struct tuple t;
	struct tw_info info; /* SLOT_CANCEL: the cancelled tw's entry, with has_info */
	__u64 tw;
	__u64 rst_tw;    /* the tw that tcp_send_reset last answered for here */
	__u64 rst_ts;
	__u8 kind;
	__u8 family;
	__u8 shown;      /* SLOT_CANCEL: the cancel was reported */
	__u8 has_info;
	__u8 _pad[4];
};

/* cpu_slot: one per CPU, overwritten by every timer event (see above). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_slot);
} cpu_slot SEC(".maps");

/* connecting: per task, the socket it last connect()ed. Set at ->SYN_SENT,
 * inside connect(); a tw killed while the current task holds the same tuple
 * was recycled by it (tcp_tw_reuse, or a bind() to the port). Task storage
 * is freed with the task and costs a pointer chase, not a hash update.
 * Kernels without task storage (before 5.11) get an LRU hash keyed by
 * pid_tgid instead (compat.h, connecting_hashed), bounded by its size. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} connecting SEC(".maps");

/* What the precise backends (precise.h) carry from the entry of a kernel
 * function to its return, or to the next one on the CPU. Each of these
 * functions runs in softirq or with bottom halves disabled, so nothing
 * else runs on the CPU in between. */
struct precise_ctx {
	__u64 alloc_sk;   /* kprobes: inet_twsk_alloc's socket, entry to return */
	__u64 tsp_tw;     /* the tw tcp_timewait_state_process is handling */
	__u64 verdict_tw; /* the tw whose last verdict was TCP_TW_SYN/RST */
	__u64 unique_tw;  /* kprobes: tcp_twsk_unique's tw, entry to return */
	__u8 tsp_substate; /* tsp_tw's substate on entry */
	__u8 verdict;     /* enum tcp_tw_status for verdict_tw */
	__u8 _pad[6];
};

/* precise_cpu: one per CPU. Written and cleared by the precise hooks
 * around each function call; read by set_state (the birth) and by the kill
 * hook (the verdict). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct precise_ctx);
} precise_cpu SEC(".maps");

/* births: the tw inet_twsk_alloc made for a closing socket (0: none, an
 * overflow), keyed by the socket's address. Inserted when inet_twsk_alloc
 * returns, inside tcp_time_wait; deleted by the socket's ->CLOSE
 * (set_state), which tcp_time_wait makes before it returns, or by
 * tcp_time_wait's return (fentry backend). Not per CPU: tcp_time_wait may
 * run in process context with bottom halves enabled (socket backlog), so
 * softirqs that close other sockets run in between, and the task may move
 * to another CPU. Only sockets in scope get an entry; the LRU bounds what
 * the kprobe backend, without the cleanup, could leave. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} births SEC(".maps");

/* The process whose connect() takes over a tw. */
struct reuser {
	__u32 pid;
	char comm[16];
};

/* reusing: keyed by tw address. Inserted when tcp_twsk_unique returns 1
 * (connect() may take this tw's tuple); deleted by the kill that follows,
 * or when the tw is freed if the connect failed after all. LRU-bounded. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct reuser);
} reusing SEC(".maps");

enum task_ctx_flags {
	TASK_PURGE = 1, /* inside inet_twsk_purge: netns teardown */
	TASK_ABORT = 2, /* inside tcp_abort: sock_destroy, ss -K */
};

/* task_ctx: keyed by pid_tgid, because both functions may sleep and move
 * to another CPU. Inserted at their entry, deleted at their return. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} task_ctx SEC(".maps");

/* A tw's birth as its timer start saw it, waiting for its full socket's
 * ->CLOSE to report the handoff. */
struct pending_birth {
	__u64 tw;
	__s64 timeout;  /* jiffies left */
	__u8 substate;
	__u8 _pad[7];
};

/* pending_birth: keyed by tuple. Inserted by the tw timer start of a new tw;
 * deleted by its socket's ->CLOSE, which normally follows at once on the
 * same CPU; keyed by tuple, not by CPU, because softirqs can run at the
 * local_bh_enable between the two, and the task can migrate (backlog
 * processing is preemptible).
 * Every start is followed by its close, so entries do not linger; a plain
 * hash, because an LRU's update costs several times more. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tuple);
	__type(value, struct pending_birth);
} pending_birth SEC(".maps");

/* Where a listener's owner is kept for its accepted children when sk_info
 * is a hash (compat.h): a hash entry is not cloned into the child. */
struct listener_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

struct owner {
	__u32 pid;
	char comm[16];
};

/* listeners: keyed by the listening port. Used only when sk_info_hashed.
 * Inserted at ->LISTEN (inside listen()); deleted at LISTEN -> CLOSE. One
 * entry here; Go sizes it when it is used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct listener_key);
	__type(value, struct owner);
} listeners SEC(".maps");
