/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The TC egress regulator: parse, find the destination, charge the bytes
 * the packet puts on the wire, and turn the bucket's zone into a verdict.
 * Passing returns TC_ACT_UNSPEC so that filters after ours still run.
 */
#ifndef SLUICE_BPF_TC_EGRESS_H
#define SLUICE_BPF_TC_EGRESS_H

#include "compat.h"
#include "maps.h"
#include "parse.h"
#include "ecn.h"
#include "dest.h"
#include "sluice/bucket.h"

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_MARK,
	VERDICT_DROP,
};

static __always_inline int count_verdict(struct sluice_dest *d, int v, __u64 bytes)
{
	switch (v) {
	case VERDICT_DROP:
		__sync_fetch_and_add(&d->dropped_pkts, 1);
		__sync_fetch_and_add(&d->dropped_bytes, bytes);
		break;
	case VERDICT_MARK:
		__sync_fetch_and_add(&d->marked_pkts, 1);
		__sync_fetch_and_add(&d->marked_bytes, bytes);
		/* fallthrough: a marked packet is also passed */
	default:
		__sync_fetch_and_add(&d->passed_pkts, 1);
		__sync_fetch_and_add(&d->passed_bytes, bytes);
	}
	return v;
}

/* Decide what the bucket says about this packet, not yet acting on it. */
static __always_inline int dest_verdict(struct sluice_dest *d, const struct pkt *p,
					__u64 wire, __u64 now)
{
	__u64 cost = sluice_cost_ticks(wire, d->ns_per_byte_q16);
	__u64 backlog;
	int zone;

	zone = sluice_bucket_admit(&d->tat, sluice_ns_to_ticks(now), cost, d->burst_ticks,
				   d->mark_ticks, d->ns_per_byte_q16 == 0, &backlog);
	if (zone == SLUICE_ZONE_DROP)
		return VERDICT_DROP;
	if (zone == SLUICE_ZONE_MARK && p->ecn != INET_ECN_NOT_ECT)
		return VERDICT_MARK;
	return VERDICT_PASS;
}

static __always_inline int tc_egress(struct __sk_buff *skb)
{
	struct sluice_dest *d;
	struct pkt p = {};
	__u64 wire, now;
	int v;

	stat_inc(SLUICE_STAT_PKTS);
	if (parse_pkt(skb, &p) < 0) {
		stat_inc(SLUICE_STAT_UNPARSED);
		return TC_ACT_UNSPEC;
	}
	d = dest_get(&p.dst);
	if (!d) {
		stat_inc(SLUICE_STAT_UNMATCHED);
		return TC_ACT_UNSPEC;
	}

	now = bpf_ktime_get_ns();
	if (lease_lapsed_open(d, now))
		return TC_ACT_UNSPEC;
	wire = sluice_wire_bytes(skb->len, skb->gso_segs, p.hdr_len);
	WRITE_ONCE(d->last_ns, now);
	v = count_verdict(d, dest_verdict(d, &p, wire, now), wire);
	if (d->mode == SLUICE_MODE_MONITOR)
		return TC_ACT_UNSPEC;
	if (v == VERDICT_DROP)
		return TC_ACT_SHOT;
	if (v == VERDICT_MARK)
		ecn_set_ce(skb, &p); /* dest_verdict only marks ECN-capable packets */
	return TC_ACT_UNSPEC;
}

#endif
