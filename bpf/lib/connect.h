/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Failing fast while a destination's breaker is open. A connect() refused
 * here returns EPERM to the caller at once, which its retry and fallback
 * logic handles far better than SYNs silently dropped (those make it wait
 * out its own timeouts and then retransmit). While the breaker is open or
 * half-open, one new connect per probe gap still goes through, so the
 * daemon sees whether the destination has recovered.
 */
#ifndef SLUICE_BPF_CONNECT_H
#define SLUICE_BPF_CONNECT_H

#include "compat.h"
#include "maps.h"
#include "dest.h"
#include "parse.h"

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

static __always_inline int connect_check(const struct sluice_addr *a)
{
	struct sluice_dest *d = dest_get(a);

	__u64 now = bpf_ktime_get_ns();

	if (!d || d->breaker == SLUICE_BREAKER_CLOSED || d->mode != SLUICE_MODE_ENFORCE ||
	    lease_lapsed_open(d, now))
		return CONNECT_ALLOW;
	if (probe_admit(d, now))
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
	return connect_check(&a);
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
	return connect_check(&a);
}

#endif
