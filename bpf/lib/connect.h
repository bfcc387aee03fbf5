/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Failing fast while a destination's breaker is open. A connect() refused
 * here returns EPERM to the caller at once, which its retry and fallback
 * logic handles far better than SYNs silently dropped (those make it wait
 * out its own timeouts and then retransmit). While the breaker is open or
 * half-open, one new connect per probe gap still goes through, so the
 * daemon sees whether the destination has recovered, and critical traffic
 * connects as it likes.
 */
#ifndef SLUICE_BPF_CONNECT_H
#define SLUICE_BPF_CONNECT_H

#include "compat.h"
#include "maps.h"
#include "dest.h"
#include "parse.h"
#include "classify.h"

#define CONNECT_ALLOW  1
#define CONNECT_REFUSE 0

/* One probe connect per gap, through a bucket one probe deep. */
static __always_inline bool probe_admit(struct sluice_dest *d, __u64 now)
{
	__u64 gap = sluice_ns_to_ticks(d->probe_gap_ns), backlog;

	if (!gap)
		return false;
	return sluice_bucket_admit(&d->connect_tat, sluice_ns_to_ticks(now), gap, gap, gap, 0,
				   &backlog) != SLUICE_ZONE_DROP;
}

/*
 * Critical traffic keeps connecting while the breaker is open: it is held
 * to the probe rate by the bucket instead. Classified by the connecting
 * task's cgroup or the socket's mark; the DSCP is rarely set this early.
 */
static __always_inline bool connect_is_critical(struct bpf_sock_addr *ctx,
						const struct sluice_config *cfg)
{
	__u32 kinds = cfg ? cfg->classify_kinds : 0;
	struct bpf_sock *sk = ctx->sk;

	if (!(kinds & (SLUICE_CLASSIFY_CGROUP | SLUICE_CLASSIFY_MARK)) || !sk)
		return false;
	return classify(kinds & ~SLUICE_CLASSIFY_DSCP,
			kinds & SLUICE_CLASSIFY_CGROUP ? bpf_get_current_cgroup_id() : 0,
			sk->mark, 0) == SLUICE_CLASS_CRITICAL;
}

static __always_inline int connect_check(struct bpf_sock_addr *ctx, const struct sluice_addr *a)
{
	struct sluice_config *cfg = config_get();
	struct sluice_dest *d = dest_lookup(cfg, a);
	__u64 now;

	if (!d || d->breaker == SLUICE_BREAKER_CLOSED || d->mode != SLUICE_MODE_ENFORCE)
		return CONNECT_ALLOW;
	now = bpf_ktime_get_ns();
	if (lease_lapsed(cfg, d, now) || probe_admit(d, now) || connect_is_critical(ctx, cfg))
		return CONNECT_ALLOW;
	__sync_fetch_and_add(&d->connects_refused, 1);
	stat_inc(SLUICE_STAT_CONNECT_REFUSED);
	return CONNECT_REFUSE;
}

static __always_inline int connect4(struct bpf_sock_addr *ctx)
{
	struct sluice_addr a;

	if (ctx->type != SOCK_STREAM)
		return CONNECT_ALLOW;
	addr_from_v4(&a, ctx->user_ip4);
	return connect_check(ctx, &a);
}

static __always_inline int connect6(struct bpf_sock_addr *ctx)
{
	struct sluice_addr a;

	if (ctx->type != SOCK_STREAM)
		return CONNECT_ALLOW;
	a.w[0] = ctx->user_ip6[0];
	a.w[1] = ctx->user_ip6[1];
	a.w[2] = ctx->user_ip6[2];
	a.w[3] = ctx->user_ip6[3];
	return connect_check(ctx, &a);
}

#endif
