/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one declaration of what the BPF side sends to Go. bpf2go exports
 * struct event with -type, so Go decodes exactly this layout. */
#pragma once

/* Kinds 1..5 are the public event kinds of internal/event (same numbers);
 * kinds from 16 are raw timer observations the Go tracer resolves. */
enum tw_event_kind {
	EV_STATE = 1,       /* a full socket changed state */
	EV_TW_ENTER = 2,    /* a tw was created and handed the connection */
	EV_TW_SUBSTATE = 3, /* FIN_WAIT2 -> TIME_WAIT inside a tw */
	EV_TW_EXIT = 4,     /* a tw ended (here: its timer expired) */
	EV_TW_OVERFLOW = 5, /* a closing socket got no tw */
	EV_TW_CANCEL = 16,  /* a tw's timer was detached: a kill, unless the
			     * same CPU's next event rearms or expires it */
	EV_TW_RESCHED = 17, /* the timer of a live tw was re-armed */
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

enum tw_cause {
	CAUSE_NONE = 0,
	CAUSE_EXPIRED = 1,
};

enum tw_event_flags {
	EVF_DUR = 1,     /* dur is valid */
	EVF_OWNER = 2,   /* pid/comm are the socket's owner */
};

struct event {
	__u64 ts;      /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 dur;     /* ns in old state, or tw age; valid with EVF_DUR */
	__s64 timeout; /* jiffies left on the tw timer */
	__u64 sock;    /* kernel address of the sk or tw: identity while alive */
	__u32 netns;
	__u32 pid;
	__u32 cpu;     /* lets Go pair a cancel with the same CPU's next event */
	__u16 sport;   /* host order */
	__u16 dport;   /* host order */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[16];
	__u8 kind;
	__u8 family;   /* AF_INET or AF_INET6 */
	__u8 old_state;
	__u8 new_state;
	__u8 substate;
	__u8 role;
	__u8 closer;
	__u8 cause;
	__u8 flags;
	__u8 _pad[7];
};
