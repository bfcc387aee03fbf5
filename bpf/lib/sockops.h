/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP-friendly enforcement and signal collection, from sock_ops.
 *
 * A TC bucket that drops makes TCP back off far below the rate (one flow got
 * 47% of its target here). So each connection to a limited destination is
 * paced by the kernel's own TCP pacing, SO_MAX_PACING_RATE, at its share of
 * the destination's rate, and the bucket becomes a backstop that rarely
 * acts. The same callbacks feed per-destination signals to the daemon.
 */
#ifndef SLUICE_BPF_SOCKOPS_H
#define SLUICE_BPF_SOCKOPS_H

#include "compat.h"
#include "maps.h"
#include "dest.h"
#include "parse.h"
#include "classify.h"
#include "sluice/classes.h"
#include "sluice/rtt_hist.h"

/* tcp_sock's chrono counters run in jiffies. */
extern int CONFIG_HZ __kconfig __weak;

/* Per-segment headers that pacing does not count but the wire does. */
#define WIRE_OVERHEAD_V4 (14 + 20 + 32)
#define WIRE_OVERHEAD_V6 (14 + 40 + 32)
#define PACING_UNLIMITED (~0U)
/* Above this a connection is not paced: TCP's own pacing timer, once on,
 * holds a flow near 10 Gbit/s on veth whatever the rate asked; the bucket
 * still holds the destination's rate. */
#define PACING_MAX_BPS 1000000000ULL
#define CLAMP_MIN 2 /* a 1-segment window stalls on delayed ACKs */

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

static __always_inline struct sluice_signals *signals_get(const struct sluice_addr *a)
{
	struct sluice_signals *s = bpf_map_lookup_elem(&sluice_signals, a);
	static const struct sluice_signals zero;

	if (s)
		return s;
	bpf_map_update_elem(&sluice_signals, a, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&sluice_signals, a);
	if (!s)
		stat_inc(SLUICE_STAT_SIG_ERR);
	return s;
}

static __always_inline __u32 max3(__u32 a, __u32 b, __u32 c)
{
	a = a > b ? a : b;
	return a > c ? a : c;
}

/*
 * This connection's part of the destination's rate: the rate split among
 * the connections busy lately, and with priority classes, first among the
 * busy classes by their shares and the ladder (sluice/classes.h).
 */
static __always_inline __u64 share_of(const struct sluice_dest *d,
				      const struct sluice_signals *s, const struct sluice_sk *st)
{
	struct sluice_config *cfg = config_get();
	__u32 mask = 0, permille, i, n;
	__u8 cls = st->cls & (SLUICE_CLASSES - 1);

	if (!s)
		return d->rate_Bps;
	if (!cfg || !(cfg->class_share_pct[0] | cfg->class_share_pct[1] |
		      cfg->class_share_pct[2] | cfg->class_share_pct[3]))
		return d->rate_Bps / max3(s->busy_now, s->busy_prev, 1);
	for (i = 0; i < SLUICE_CLASSES; i++)
		if (s->class_busy_now[i] | s->class_busy_prev[i])
			mask |= 1u << i;
	permille = sluice_class_permille(cfg->class_share_pct, mask, d->ladder, cls);
	n = max3(s->class_busy_now[cls], s->class_busy_prev[cls], 1);
	return d->rate_Bps * permille / 1000 / n;
}

/* This connection's share of its destination's rate, or 0 when nothing
 * limits it (no policy, monitor mode, rate 0, or a lapsed lease that fails
 * open). Computed once per callback: pacing and the window both use it. */
static __always_inline __u64 enforced_share(const struct sluice_dest *d,
					    const struct sluice_signals *s,
					    const struct sluice_sk *st)
{
	__u64 share;

	if (!d || d->mode != SLUICE_MODE_ENFORCE || !d->rate_Bps ||
	    lease_lapsed_open(d, bpf_ktime_get_ns()))
		return 0;
	share = share_of(d, s, st);
	return share ? share : 1;
}

/*
 * The pacing rate, in bytes of TCP segment per second, that puts this
 * connection's share of the destination's rate on the wire.
 */
static __always_inline __u32 pacing_for(const struct bpf_sock_ops *ops, __u64 share)
{
	__u64 mss = ops->mss_cache ? ops->mss_cache : 1448;
	__u64 ovh = ops->family == AF_INET6 ? WIRE_OVERHEAD_V6 : WIRE_OVERHEAD_V4;
	__u64 rate;

	if (!share || share > PACING_MAX_BPS)
		return PACING_UNLIMITED;
	rate = share * mss / (mss + ovh);
	if (rate < SLUICE_RATE_MIN_BPS)
		rate = SLUICE_RATE_MIN_BPS;
	if (rate >= PACING_UNLIMITED)
		rate = PACING_UNLIMITED - 1;
	return (__u32)rate;
}

/* Set the pacing rate when it differs from what this socket last got. */
static __always_inline void pacing_apply(struct bpf_sock_ops *ops, struct sluice_sk *st,
					 __u64 share)
{
	__u32 want = pacing_for(ops, share);
	int val = (int)want; /* the option takes exactly 4 bytes */

	if (want == st->pacing_Bps || (want == PACING_UNLIMITED && !st->pacing_Bps))
		return;
	if (bpf_setsockopt(ops, SOL_SOCKET, SO_MAX_PACING_RATE, &val, sizeof(val)))
		return;
	st->pacing_Bps = want == PACING_UNLIMITED ? 0 : want;
	stat_inc(SLUICE_STAT_PACED);
}

/*
 * Count this socket as busy in the current epoch (in total and in its
 * class), rotating the destination's epoch counters when this is the
 * epoch's first event.
 */
static __always_inline void busy_mark(struct sluice_signals *s, struct sluice_sk *st, __u64 now)
{
	__u64 epoch = now / SLUICE_BUSY_EPOCH_NS;
	__u64 old = READ_ONCE(s->busy_epoch);
	__u8 cls = st->cls & (SLUICE_CLASSES - 1);
	bool next;
	int i;

	if (old != epoch && __sync_val_compare_and_swap(&s->busy_epoch, old, epoch) == old) {
		next = old + 1 == epoch;
		WRITE_ONCE(s->busy_prev, next ? READ_ONCE(s->busy_now) : 0);
		WRITE_ONCE(s->busy_now, 0);
		for (i = 0; i < SLUICE_CLASSES; i++) {
			WRITE_ONCE(s->class_busy_prev[i], next ? READ_ONCE(s->class_busy_now[i]) : 0);
			WRITE_ONCE(s->class_busy_now[i], 0);
		}
	}
	if (st->busy_epoch != epoch) {
		st->busy_epoch = epoch;
		__sync_fetch_and_add(&s->busy_now, 1);
		__sync_fetch_and_add(&s->class_busy_now[cls], 1);
	}
}

/*
 * The class of a connection, from its cgroup, mark or DSCP. The cgroup
 * is read at connect(), where the hook runs in the connecting task; mark
 * and DSCP again once established, as an application may set them
 * between socket() and the handshake's end.
 */
static __always_inline __u8 sk_class(struct bpf_sock *sk, bool at_connect)
{
	struct sluice_config *cfg = config_get();
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

/*
 * Bound what each connection may have in flight. A window, unlike a rate,
 * bounds what can sit in the bottleneck's queue. 0 from the daemon means
 * no clamp, which is restored as an effectively unlimited one.
 */
static __always_inline void clamp_apply(struct bpf_sock_ops *ops, struct sluice_sk *st,
					const struct sluice_dest *d, __u64 share)
{
	__u32 want = 0;
	int val;

	/* dest_ctl gives the destination's whole window; each connection
	 * holds the part of it that its share of the rate is, so a class's
	 * priority holds in the bottleneck's queue as well as in pacing. */
	if (share && d->cwnd_clamp) {
		want = (__u32)((d->cwnd_clamp * share + d->rate_Bps - 1) / d->rate_Bps);
		want = want < CLAMP_MIN ? CLAMP_MIN : want;
	}
	val = want ? (int)want : 0x7fffffff;
	if (want == st->cwnd_clamp)
		return;
	if (bpf_setsockopt(ops, SOL_TCP, TCP_BPF_SNDCWND_CLAMP, &val, sizeof(val)))
		return;
	st->cwnd_clamp = want;
	stat_inc(SLUICE_STAT_CLAMPED);
}

/* Pace and bound the window, from one computation of the share. */
static __always_inline void limits_apply(struct bpf_sock_ops *ops, struct sluice_sk *st,
					 const struct sluice_dest *d,
					 const struct sluice_signals *s)
{
	__u64 share = enforced_share(d, s, st);

	pacing_apply(ops, st, share);
	clamp_apply(ops, st, d, share);
}

/* What the receiver tells us: deliveries, CE echoes, window stalls. */
static __always_inline void receiver_signals(struct bpf_sock *sk, struct sluice_sk *st,
					     struct sluice_signals *s)
{
	struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
	struct tcp_sock *tcp;
	__u32 v, hz = CONFIG_HZ ? CONFIG_HZ : 1000;

	if (tp) {
		v = tp->delivered;
		if (v != st->last_delivered)
			__sync_fetch_and_add(&s->delivered_pkts, v - st->last_delivered);
		st->last_delivered = v;
		v = tp->delivered_ce;
		if (v != st->last_delivered_ce)
			__sync_fetch_and_add(&s->delivered_ce, v - st->last_delivered_ce);
		st->last_delivered_ce = v;
	}
	tcp = bpf_skc_to_tcp_sock(sk);
	if (!tcp)
		return;
	if (tcp->snd_wnd == 0)
		__sync_fetch_and_add(&s->zero_wnd_acks, 1);
	/* chrono_stat only grows when the chrono type changes: add the
	 * stall in progress, so a receiver that stays stalled still shows. */
	v = tcp->chrono_stat[TCP_CHRONO_RWND_LIMITED - 1];
	if (tcp->chrono_type == TCP_CHRONO_RWND_LIMITED)
		v += (__u32)bpf_jiffies64() - tcp->chrono_start;
	if (v > st->last_rwnd_jiffies && st->last_rwnd_jiffies)
		__sync_fetch_and_add(&s->rwnd_limited_us,
				     (__u64)(v - st->last_rwnd_jiffies) * 1000000 / hz);
	st->last_rwnd_jiffies = v ? v : 1;
}

static __always_inline void on_connect(struct bpf_sock_ops *ops, struct bpf_sock *sk,
				       struct sluice_sk *st)
{
	struct sluice_signals *s;

	st->cls = sk_class(sk, true);
	if (!dest_get(&st->dst))
		return;
	s = signals_get(&st->dst);
	if (s)
		__sync_fetch_and_add(&s->connects, 1);
	/* STATE_CB shows a connect that dies in SYN_SENT (refused); RTO_CB a
	 * SYN that times out, which is how a blackholed destination shows. */
	bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTO_CB_FLAG);
}

static __always_inline void on_established(struct bpf_sock_ops *ops, struct bpf_sock *sk,
					   struct sluice_sk *st)
{
	struct sluice_dest *d = dest_get(&st->dst);
	struct sluice_signals *s;

	if (!d)
		return;
	if (st->cls == SLUICE_CLASS_DEFAULT)
		st->cls = sk_class(sk, false);

	s = signals_get(&st->dst);
	if (!s)
		return;
	__sync_fetch_and_add(&s->conns_opened, 1);
	__sync_fetch_and_add(&s->conns_active, 1);
	/* A new connection is busy until it shows otherwise. */
	busy_mark(s, st, bpf_ktime_get_ns());
	st->counted = 1;
	st->last_bytes_acked = ops->bytes_acked;
	st->last_total_retrans = ops->total_retrans;
	bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_RTT_CB_FLAG |
				       BPF_SOCK_OPS_RETRANS_CB_FLAG |
				       BPF_SOCK_OPS_RTO_CB_FLAG |
				       BPF_SOCK_OPS_STATE_CB_FLAG);
	limits_apply(ops, st, d, s);
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

static __always_inline void on_rtt(struct bpf_sock_ops *ops, struct bpf_sock *sk,
				   struct sluice_sk *st)
{
	struct sluice_dest *d = dest_get(&st->dst);
	struct sluice_signals *s = signals_get(&st->dst);
	/* The ACK's own RTT sample (args[0] since Linux 6.10; older kernels
	 * pass 0 there and get the smoothed RTT). Per-sample values keep the
	 * fast samples that a smoothed RTT averages away: a paced flow's
	 * delayed ACKs inflate many samples, never the lowest ones. */
	__u32 rtt_us = ops->args[0] && ops->args[0] < 60000000 ? ops->args[0] : ops->srtt_us >> 3;
	__u64 acked = ops->bytes_acked, now;

	if (s) {
		__u32 b = sluice_rtt_bucket(rtt_us);

		barrier_var(b); /* keep the bound check the verifier needs */

		__sync_fetch_and_add(&s->rtt_samples, 1);
		__sync_fetch_and_add(&s->rtt_sum_us, rtt_us);
		WRITE_ONCE(s->rtt_last_us, rtt_us);
		if (b < SLUICE_RTT_BUCKETS)
			__sync_fetch_and_add(&s->rtt_hist[b], 1);
		if (acked > st->last_bytes_acked)
			__sync_fetch_and_add(&s->bytes_acked, acked - st->last_bytes_acked);
		/* Applications may mark or set the DSCP of a connection at
		 * any time (some only after connect()): look again once an
		 * epoch while it still counts as default. */
		now = bpf_ktime_get_ns();
		if (st->cls == SLUICE_CLASS_DEFAULT &&
		    st->busy_epoch != now / SLUICE_BUSY_EPOCH_NS)
			st->cls = sk_class(sk, false);
		/* RTT samples come from ACKs of new data: the socket is busy. */
		busy_mark(s, st, now);
		receiver_signals(sk, st, s);
	}
	st->last_bytes_acked = acked;
	limits_apply(ops, st, d, s);
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
		st = bpf_sk_storage_get(&sluice_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!st || sk_dst(ops, &st->dst) < 0)
			return 1;
		if (op == BPF_SOCK_OPS_TCP_CONNECT_CB)
			on_connect(ops, sk, st);
		else
			on_established(ops, sk, st);
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
		on_rtt(ops, sk, st);
	else if (op == BPF_SOCK_OPS_STATE_CB)
		on_state(ops, st);
	else
		on_counter(st, op);
	return 1;
}

#endif
