/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What each TCP connection to a limited destination may do: its pacing
 * rate (SO_MAX_PACING_RATE) and its in-flight window
 * (TCP_BPF_SNDCWND_CLAMP), both from its share of the destination's rate.
 *
 * A TC bucket that drops makes TCP back off far below the rate (one flow got
 * 47% of its target here). Pacing by the kernel's own TCP pacing keeps each
 * connection at its share, and the bucket becomes a backstop that rarely
 * acts; the window bounds what can sit in the bottleneck's queue.
 */
#ifndef SLUICE_BPF_LIMITS_H
#define SLUICE_BPF_LIMITS_H

#include "compat.h"
#include "maps.h"
#include "dest.h"
#include "sluice/classes.h"

/* Per-segment headers that pacing does not count but the wire does. */
#define WIRE_OVERHEAD_V4 (14 + 20 + 32)
#define WIRE_OVERHEAD_V6 (14 + 40 + 32)
#define PACING_UNLIMITED (~0U)
/* Above this a connection is not paced: TCP's own pacing timer, once on,
 * holds a flow near 10 Gbit/s on veth whatever the rate asked; the bucket
 * still holds the destination's rate. */
#define PACING_MAX_BPS 1000000000ULL
#define CLAMP_MIN 2 /* a 1-segment window stalls on delayed ACKs */

static __always_inline __u32 max3(__u32 a, __u32 b, __u32 c)
{
	a = a > b ? a : b;
	return a > c ? a : c;
}

/* Connections counted lately: the larger of this epoch's count (still
 * growing) and the last one's. */
static __always_inline __u32 lately(__u32 now, __u32 prev)
{
	return max3(now, prev, 1);
}

/*
 * This connection's part of the destination's rate: the rate split among
 * the connections busy lately, and with priority classes, first among the
 * busy classes by their shares and the ladder (sluice/classes.h). A bulk
 * connection's split is among the bulk ones: a light one beside it (a
 * ping-pong beside a transfer) no longer halves it. A light one's is among
 * all the busy ones, as it was, and it used less than 1/SLUICE_BULK_USE of
 * that: the light ones together go at most that share of the rate beyond
 * it, which the bucket at TC holds back.
 */
static __always_inline __u64 share_of(const struct sluice_config *cfg,
				      const struct sluice_dest *d,
				      const struct sluice_signals *s, const struct sluice_sk *st)
{
	__u32 mask = 0, permille, i, n;
	__u8 cls = st->cls & (SLUICE_CLASSES - 1);

	if (!s)
		return d->rate_Bps;
	if (!cfg || !(cfg->class_share_pct[0] | cfg->class_share_pct[1] |
		      cfg->class_share_pct[2] | cfg->class_share_pct[3]))
		return d->rate_Bps / (st->bulk ? lately(s->bulk_now, s->bulk_prev) :
						 lately(s->busy_now, s->busy_prev));
	for (i = 0; i < SLUICE_CLASSES; i++)
		if (s->class_busy_now[i] | s->class_busy_prev[i])
			mask |= 1u << i;
	/* The daemon's split by use, when it gave one: a class that uses
	 * less than its share lends the rest to the classes that need it. */
	if (d->class_pct[0] | d->class_pct[1] | d->class_pct[2] | d->class_pct[3])
		permille = d->class_pct[cls] ? d->class_pct[cls] * 10 : SLUICE_CLASS_MIN_PERMILLE;
	else
		permille = sluice_class_permille(cfg->class_share_pct, mask, d->ladder, cls);
	n = st->bulk ? lately(s->class_bulk_now[cls], s->class_bulk_prev[cls]) :
		       lately(s->class_busy_now[cls], s->class_busy_prev[cls]);
	return d->rate_Bps * permille / 1000 / n;
}

/* This connection's share of its destination's rate, or 0 when nothing
 * limits it (no policy, monitor mode, rate 0, or a lapsed lease that fails
 * open). Computed once per callback: pacing and the window both use it. */
static __always_inline __u64 enforced_share(const struct sluice_config *cfg,
					    const struct sluice_dest *d,
					    const struct sluice_signals *s,
					    const struct sluice_sk *st, __u64 now)
{
	__u64 share;

	if (!d || d->mode != SLUICE_MODE_ENFORCE || !d->rate_Bps || lease_lapsed(cfg, d, now))
		return 0;
	share = share_of(cfg, d, s, st);
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
					 const struct sluice_config *cfg,
					 const struct sluice_dest *d,
					 const struct sluice_signals *s, __u64 now)
{
	__u64 share = enforced_share(cfg, d, s, st, now);

	pacing_apply(ops, st, share);
	clamp_apply(ops, st, d, share);
}

#endif
