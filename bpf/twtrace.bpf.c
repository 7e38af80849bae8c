//go:build ignore
/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* twtrace's BPF entry points. Each is a thin SEC() wrapper; the logic is in
 * the topic headers (owner.h: full sockets, tw.h: the tw lifecycle,
 * filter.h: what the user asked to see). */

#include "common.h"
#include "filter.h"
#include "owner.h"
#include "tw.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keep these types in BTF so bpf2go exports them to Go (-type). */
const struct event *unused_event __attribute__((unused));
const enum tw_event_kind *unused_kind __attribute__((unused));
const enum tw_event_flags *unused_flags __attribute__((unused));
const enum tw_cause *unused_cause __attribute__((unused));

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tw_set_state, struct sock *sk, int old, int new)
{
	return on_set_state(sk, old, new);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tw_rx_reset, struct sock *sk)
{
	mark_reset(sk, SKF_RX_RST);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tw_tx_reset, const struct sock *sk)
{
	on_send_reset(sk);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tw_kfree_skb, struct sk_buff *skb)
{
	return on_kfree_skb(skb);
}

SEC("tp_btf/timer_start")
int BPF_PROG(tw_timer_start, struct timer_list *timer)
{
	return on_timer_start(timer);
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tw_timer_cancel, struct timer_list *timer)
{
	return on_timer_cancel(timer);
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tw_timer_expire, struct timer_list *timer)
{
	return on_timer_expire(timer);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tw_fork, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}
