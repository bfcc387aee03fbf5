/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sock_ops callbacks: when a connection to a limited destination
 * opens (connected or accepted), on every ACK, on retransmissions,
 * timeouts and state changes. They classify the connection, apply its
 * limits (limits.h) and feed the destination's signals (signals.h).
 */
#ifndef SLUICE_BPF_SOCKOPS_H
#define SLUICE_BPF_SOCKOPS_H

#include "compat.h"
#include "maps.h"
#include "dest.h"
#include "parse.h"
#include "classify.h"
#include "limits.h"
#include "signals.h"
#include "sluice/rtt_hist.h"

static __always_inline int sk_dst(const struct bpf_sock_ops *ops, struct sluice_addr *a)
{
	if (ops->family == AF_INET) {
		addr_from_v4(a, ops->remote_ip4);
		return 0;
	}
	if (ops->family == AF_INET6) {
		a->w[0] = ops->remote_ip6[0];
		a->w[1] = ops->remote_ip6[1];
		a->w[2] = ops->remote_ip6[2];
		a->w[3] = ops->remote_ip6[3];
		return 0;
	}
	return -1;
}

/*
 * The class of a connection, from its cgroup, mark or DSCP. The cgroup
 * is read at connect(), where the hook runs in the connecting task; mark
 * and DSCP again once established, as an application may set them
 * between socket() and the handshake's end.
 */
static __always_inline __u8 sk_class(const struct sluice_config *cfg, struct bpf_sock *sk,
				     bool at_connect)
{
	__u32 kinds = cfg ? cfg->classify_kinds : 0;
	struct tcp_sock *tcp;
	__u64 cgroup = 0;
	__u8 tos = 0;

	if (!kinds)
		return SLUICE_CLASS_DEFAULT;
	if (at_connect && (kinds & SLUICE_CLASSIFY_CGROUP))
		cgroup = bpf_get_current_cgroup_id();
	if (kinds & SLUICE_CLASSIFY_DSCP) {
		tcp = bpf_skc_to_tcp_sock(sk);
		if (tcp)
			tos = tcp->inet_conn.icsk_inet.tos;
	}
	return classify(kinds, cgroup, sk->mark, tos >> 2);
}

static __always_inline void on_connect(struct bpf_sock_ops *ops, struct bpf_sock *sk,
				       struct sluice_sk *st, const struct sluice_config *cfg)
{
	struct sluice_signals *s;

	st->cls = sk_class(cfg, sk, true);
	if (!dest_lookup(cfg, &st->dst))
		return;
	s = signals_get(&st->dst);
	if (s) {
		__sync_fetch_and_add(&s->connects, 1);
		signals_announce(&st->dst, s);
	}
	/* STATE_CB shows a connect that dies in SYN_SENT (refused); RTO_CB a
	 * SYN that times out, which is how a blackholed destination shows. */
	bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTO_CB_FLAG);
}

/* A connection reached ESTABLISHED: connected (it counts as a connect that
 * succeeded, which the breaker reads) or accepted (it does not). */
static __always_inline void on_established(struct bpf_sock_ops *ops, struct bpf_sock *sk,
					   struct sluice_sk *st, const struct sluice_config *cfg,
					   bool accepted)
{
	struct sluice_dest *d = dest_lookup(cfg, &st->dst);
	struct sluice_signals *s;
	__u64 now;

	if (!d)
		return;
	if (st->cls == SLUICE_CLASS_DEFAULT)
		st->cls = sk_class(cfg, sk, false);

	s = signals_get(&st->dst);
	if (!s)
		return;
	if (!accepted)
		__sync_fetch_and_add(&s->conns_opened, 1);
	__sync_fetch_and_add(&s->conns_active, 1);
	/* A new connection is busy, and bulk, until it shows otherwise. */
	now = bpf_ktime_get_ns();
	busy_mark(s, st, now, 0);
	signals_announce(&st->dst, s);
	st->counted = 1;
	st->last_bytes_acked = ops->bytes_acked;
	st->last_total_retrans = ops->total_retrans;
	bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_RTT_CB_FLAG |
				       BPF_SOCK_OPS_RETRANS_CB_FLAG |
				       BPF_SOCK_OPS_RTO_CB_FLAG |
				       BPF_SOCK_OPS_STATE_CB_FLAG);
	limits_apply(ops, st, cfg, d, s, now);
}

/* Ask for ECN on connections to limited destinations, so the bucket's CE
 * marks reach congestion controls that react to them before any drop. */
static __always_inline int needs_ecn(struct bpf_sock_ops *ops)
{
	struct sluice_addr a;
	struct sluice_dest *d;

	if (sk_dst(ops, &a) < 0)
		return 0;
	d = dest_get(&a);
	return d && d->mode == SLUICE_MODE_ENFORCE;
}

/*
 * The RTT of the newest segment this ACK delivered, in microseconds.
 *
 * The kernel's own sample (args[0]) is taken from the oldest segment the
 * ACK covers. A receiver that delays its ACK until a second segment
 * arrives adds the gap between the two to that sample, and a paced
 * connection's gap grows as its rate falls: a cut would inflate the very
 * signal that asked for it. The newest segment's RTT carries no such
 * wait, and RACK has just measured it: its stamp plus its RTT is this
 * ACK's clock when it was updated by this ACK.
 */
static __always_inline __u32 ack_rtt_us(const struct bpf_sock_ops *ops,
				       const struct tcp_sock *tcp)
{
	__u32 rtt_us;

	if (tcp) {
		rtt_us = tcp->rack.rtt_us;
		if (rtt_us && tcp->rack.mstamp + rtt_us == tcp->tcp_mstamp)
			return rtt_us;
	}
	/* args[0] is the ACK's own sample since Linux 6.10; older kernels
	 * pass 0 there and get the smoothed RTT. */
	if (ops->args[0] && ops->args[0] < 60000000)
		return ops->args[0];
	return ops->srtt_us >> 3;
}

static __always_inline void on_rtt(struct bpf_sock_ops *ops, struct bpf_sock *sk,
				   struct sluice_sk *st, const struct sluice_config *cfg)
{
	struct sluice_dest *d = dest_lookup(cfg, &st->dst);
	struct sluice_signals *s = signals_get(&st->dst);
	struct tcp_sock *tcp = bpf_skc_to_tcp_sock(sk);
	__u32 rtt_us = ack_rtt_us(ops, tcp);
	__u64 acked = ops->bytes_acked, now = bpf_ktime_get_ns();
	__u64 newly = acked > st->last_bytes_acked ? acked - st->last_bytes_acked : 0;

	if (s) {
		__u32 b = sluice_rtt_bucket(rtt_us);

		barrier_var(b); /* keep the bound check the verifier needs */

		__sync_fetch_and_add(&s->rtt_samples, 1);
		__sync_fetch_and_add(&s->rtt_sum_us, rtt_us);
		WRITE_ONCE(s->rtt_last_us, rtt_us);
		if (b < SLUICE_RTT_BUCKETS)
			__sync_fetch_and_add(&s->rtt_hist[b], 1);
		if (newly) {
			__sync_fetch_and_add(&s->bytes_acked, newly);
			__sync_fetch_and_add(&s->class_bytes_acked[st->cls & (SLUICE_CLASSES - 1)],
					     newly);
		}
		/* Applications may mark or set the DSCP of a connection at
		 * any time (some only after connect()): look again once an
		 * epoch while it still counts as default. */
		if (st->cls == SLUICE_CLASS_DEFAULT &&
		    st->busy_epoch != now / SLUICE_BUSY_EPOCH_NS)
			st->cls = sk_class(cfg, sk, false);
		/* RTT samples come from ACKs of new data: the socket is busy. */
		busy_mark(s, st, now, newly);
		receiver_signals(sk, tcp, st, s);
		signals_announce(&st->dst, s);
	}
	st->last_bytes_acked = acked;
	limits_apply(ops, st, cfg, d, s, now);
}

static __always_inline void on_state(struct bpf_sock_ops *ops, struct sluice_sk *st)
{
	__u32 old = ops->args[0], new = ops->args[1];
	struct sluice_signals *s;

	if (new != BPF_TCP_CLOSE)
		return;
	s = bpf_map_lookup_elem(&sluice_signals, &st->dst);
	if (!s)
		return;
	if (old == BPF_TCP_SYN_SENT)
		__sync_fetch_and_add(&s->connect_fails, 1);
	if (st->counted) {
		st->counted = 0;
		__sync_fetch_and_add(&s->conns_active, -1);
		__sync_fetch_and_add(&s->conns_closed, 1);
	}
	signals_announce(&st->dst, s);
}

static __always_inline void on_counter(const struct sluice_sk *st, int op)
{
	struct sluice_signals *s = bpf_map_lookup_elem(&sluice_signals, &st->dst);

	if (!s)
		return;
	if (op == BPF_SOCK_OPS_RETRANS_CB)
		__sync_fetch_and_add(&s->retrans, 1);
	else
		__sync_fetch_and_add(&s->rtos, 1);
	signals_announce(&st->dst, s);
}

static __always_inline int sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct sluice_sk *st;
	int op = ops->op;

	if (!sk)
		return 1;
	switch (op) {
	case BPF_SOCK_OPS_NEEDS_ECN:
		ops->reply = needs_ecn(ops);
		return 1;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		st = bpf_sk_storage_get(&sluice_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!st || sk_dst(ops, &st->dst) < 0)
			return 1;
		if (op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
			on_connect(ops, sk, st, config_get());
			return 1;
		}
		/* An accepted connection sends toward its peer as much as one
		 * the host opened: a host serving downloads, replication or
		 * responses queues at the peer's bottleneck the same way. It
		 * made no connect() (nothing to count as one), and its cgroup
		 * is not the running task's: mark and DSCP classify it. */
		if (op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
			st->cls = SLUICE_CLASS_DEFAULT;
		on_established(ops, sk, st, config_get(),
			       op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB);
		return 1;
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_STATE_CB:
	case BPF_SOCK_OPS_RETRANS_CB:
	case BPF_SOCK_OPS_RTO_CB:
		break;
	default:
		return 1;
	}
	st = bpf_sk_storage_get(&sluice_sk, sk, 0, 0);
	if (!st)
		return 1;
	if (op == BPF_SOCK_OPS_RTT_CB)
		on_rtt(ops, sk, st, config_get());
	else if (op == BPF_SOCK_OPS_STATE_CB)
		on_state(ops, st);
	else
		on_counter(st, op);
	return 1;
}

#endif
