/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one declaration of what the BPF side sends to Go. bpf2go exports
 * struct event with -type, so Go decodes exactly this layout. */
#pragma once

/* Kinds 1..5 are the public event kinds of internal/event (same numbers);
 * kinds from 16 are raw timer observations the Go tracer resolves. */
enum tw_event_kind {
	EV_STATE = 1,       /* a full socket changed state */
	EV_TW_ENTER = 2,    /* a tw was created and handed the connection; the
			     * record also stands for its socket's last state
			     * event (old_state -> TIME_WAIT): one record
			     * instead of two on every close */
	EV_TW_SUBSTATE = 3, /* FIN_WAIT2 -> TIME_WAIT inside a tw */
	EV_TW_EXIT = 4,     /* a tw ended (here: its timer expired) */
	EV_TW_OVERFLOW = 5, /* a closing socket got no tw; like EV_TW_ENTER,
			     * also its last state event (old_state -> CLOSE) */
	EV_TW_CANCEL = 16,  /* a tw's timer was detached: a kill, unless the
			     * same CPU's next event rearms or expires it */
	EV_TW_RESCHED = 17, /* the timer of a live tw was re-armed */
	EV_TW_HINT = 18,    /* what killed the tw just cancelled on this CPU */
};

enum tw_role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT = 1,
	ROLE_SERVER = 2,
};

enum tw_closer {
	CLOSER_NONE = 0,
	CLOSER_LOCAL = 1,
	CLOSER_REMOTE = 2,
	CLOSER_SIMULTANEOUS = 3,
	CLOSER_LOCAL_RESET = 4,
	CLOSER_REMOTE_RESET = 5,
};

/* Why a tw ended; the numbers are internal/event's. */
enum tw_cause {
	CAUSE_NONE = 0,
	CAUSE_EXPIRED = 1,
	CAUSE_REUSED = 2,    /* a local connect() took the tuple */
	CAUSE_SYN = 3,       /* an incoming SYN reopened it */
	CAUSE_RST = 4,       /* an in-window RST killed it (RFC 1337) */
	CAUSE_TW_RST = 5,    /* it answered a segment with an RST and died */
	CAUSE_DESTROYED = 6, /* sock_destroy (ss -K) */
	CAUSE_PURGED = 7,    /* its network namespace was torn down */
	CAUSE_UNKNOWN = 8,   /* killed in a context twtrace does not know */
};

enum tw_event_flags {
	EVF_DUR = 1,     /* dur is valid */
	EVF_OWNER = 2,   /* pid/comm are the socket's owner */
	EVF_FROM_LISTEN = 4, /* the record also stands for an accepted child's
			      * LISTEN -> SYN_RECV, dur ns before ts */
};

struct event {
	__u64 ts;      /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 dur;     /* ns in old state, or tw age; valid with EVF_DUR (on
			* EV_TW_ENTER: the socket's time in old_state) */
	__s64 timeout; /* jiffies left on the tw timer */
	__u64 sock;    /* kernel address of the sk or tw: identity while alive */
	__u64 sk;      /* EV_TW_ENTER: the full socket that handed over */
	__u32 netns;
	__u32 pid;
	__u32 cpu;     /* lets Go pair a cancel with the same CPU's next event */
	__u32 by_pid;  /* CAUSE_REUSED: the connecting process */
	__u16 sport;   /* host order */
	__u16 dport;   /* host order */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[16];
	char by_comm[16];
	__u8 kind;
	__u8 family;   /* AF_INET or AF_INET6 */
	__u8 old_state;
	__u8 new_state;
	__u8 substate;
	__u8 role;
	__u8 closer;
	__u8 cause;
	__u8 flags;
	__u8 _pad[3];
};
