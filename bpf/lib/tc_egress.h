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
#include "unmatched.h"
#include "classify.h"
#include "spare.h"
#include "sluice/bucket.h"
#include "sluice/classes.h"

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_MARK,
	VERDICT_DROP,
	VERDICT_SPARED, /* over the rate, passed: spare.h */
};

/* kind is read for a verdict other than PASS only. */
static __always_inline int count_verdict(struct sluice_dest *d, int v, __u8 kind, __u64 bytes)
{
	kind &= SLUICE_KINDS - 1;
	switch (v) {
	case VERDICT_DROP:
		__sync_fetch_and_add(&d->dropped_pkts, 1);
		__sync_fetch_and_add(&d->dropped_bytes, bytes);
		__sync_fetch_and_add(&d->kind_dropped_pkts[kind], 1);
		return v;
	case VERDICT_MARK:
		__sync_fetch_and_add(&d->marked_pkts, 1);
		__sync_fetch_and_add(&d->marked_bytes, bytes);
		__sync_fetch_and_add(&d->kind_marked_pkts[kind], 1);
		break;
	case VERDICT_SPARED:
		__sync_fetch_and_add(&d->kind_spared_pkts[kind], 1);
		break;
	}
	/* passed: marked and spared packets too */
	__sync_fetch_and_add(&d->passed_pkts, 1);
	__sync_fetch_and_add(&d->passed_bytes, bytes);
	return v;
}

/* The destination's own bucket: what borrowing, and classless traffic, use. */
static __always_inline int dest_verdict(struct sluice_dest *d, const struct pkt *p,
					__u64 cost, __u64 now)
{
	__u64 backlog;
	int zone;

	zone = sluice_bucket_admit(&d->tat, now, cost, d->burst_ticks, d->mark_ticks,
				   d->ns_per_byte_q16 == 0, &backlog);
	if (zone == SLUICE_ZONE_DROP)
		return VERDICT_DROP;
	if (zone == SLUICE_ZONE_MARK && p->ecn != INET_ECN_NOT_ECT)
		return VERDICT_MARK;
	return VERDICT_PASS;
}

/*
 * A class's guarantee, in percent of the destination's rate: the part the
 * daemon paces it at when it gave one (its share among the busy classes,
 * and what idle ones lend it), else its configured share. Pacing and the
 * guarantee then agree: a critical class paced at 60% of the rate is not
 * held to a guarantee of 40% (its share among all four classes) while
 * bulk traffic fills the destination's bucket.
 */
static __always_inline __u8 class_guarantee(const struct sluice_config *cfg,
					    const struct sluice_dest *d, __u8 cls)
{
	cls &= SLUICE_CLASSES - 1;
	if (d->class_pct[0] | d->class_pct[1] | d->class_pct[2] | d->class_pct[3])
		return d->class_pct[cls];
	return cfg->class_share_pct[cls];
}

/*
 * With classes: first the class's guaranteed share (its own bucket at
 * share x rate, charged to the destination's bucket too, so borrowers see
 * the room it took), then borrowing from the destination's bucket, as far
 * as the degradation ladder allows. *shed: the ladder sheds the class or
 * holds it to its guarantee.
 */
static __always_inline int class_verdict(struct sluice_dest *d, const struct pkt *p,
					 __u8 cls, __u8 share, __u64 cost, __u64 now, bool *shed)
{
	int allow = sluice_class_allow(d->ladder, cls);
	__u64 backlog;
	int zone;

	*shed = allow != SLUICE_ALLOW_FULL;

	if (allow == SLUICE_ALLOW_NONE)
		return VERDICT_DROP;
	if (share) {
		zone = sluice_bucket_admit(&d->class_tat[cls & (SLUICE_CLASSES - 1)], now,
					   cost * 100 / share, d->burst_ticks, d->mark_ticks,
					   d->ns_per_byte_q16 == 0, &backlog);
		if (zone != SLUICE_ZONE_DROP) {
			sluice_bucket_charge(&d->tat, now, cost);
			return zone == SLUICE_ZONE_MARK && p->ecn != INET_ECN_NOT_ECT ?
			       VERDICT_MARK : VERDICT_PASS;
		}
	}
	if (allow == SLUICE_ALLOW_FLOOR)
		return VERDICT_DROP;
	return dest_verdict(d, p, cost, now);
}

/*
 * A packet that met the rate: its kind, for the counters, and whether the
 * bucket spares it (spare.h). A class the ladder sheds or holds to its
 * guarantee keeps its connections' control packets, not its data. A
 * packet that passed is neither looked at nor counted by kind.
 */
static __always_inline int verdict_kind(struct __sk_buff *skb, struct sluice_dest *d,
					const struct pkt *p, int v, bool shed, __u64 now,
					__u64 cost, __u8 *kind)
{
	*kind = SLUICE_KIND_BULK;
	if (v == VERDICT_PASS)
		return v;
	*kind = pkt_kind(skb, p);
	if (v == VERDICT_DROP && (!shed || *kind == SLUICE_KIND_CONTROL) &&
	    spared(skb, d, p, kind, now, cost))
		return VERDICT_SPARED;
	return v;
}

static __always_inline void count_class(struct sluice_dest *d, __u8 cls, int v, __u64 bytes)
{
	cls &= SLUICE_CLASSES - 1;
	if (v == VERDICT_DROP)
		__sync_fetch_and_add(&d->class_dropped_bytes[cls], bytes);
	else
		__sync_fetch_and_add(&d->class_passed_bytes[cls], bytes);
}

/*
 * The time to charge a packet at. TCP stamps every packet with its
 * departure time on the monotonic clock (EDT), and reading that is far
 * cheaper than reading the clock, which on some machines costs more than
 * the rest of this program. Other packets read the clock.
 */
static __always_inline __u64 skb_now(struct __sk_buff *skb)
{
	__u64 t = skb->tstamp;

	if (t && skb->tstamp_type == BPF_SKB_TSTAMP_DELIVERY_MONO)
		return t;
	return bpf_ktime_get_ns();
}

/*
 * The entry of the packet's destination, or NULL for traffic that passes
 * untouched: no policy covers it (remembered on this CPU, so its next
 * packets cost neither lookup) or the table refused an entry (not
 * remembered: the next packet tries again).
 */
static __always_inline struct sluice_dest *tc_dest(const struct sluice_config *cfg,
						   const struct sluice_addr *a)
{
	struct unmatched_slot *slot = unmatched_slot(a);
	__u64 gen = ctl_gen_of(cfg);
	bool no_policy = false;
	struct sluice_dest *d;

	if (slot && unmatched_known(slot, a, gen))
		return NULL;
	d = dest_lookup_gen(a, gen, &no_policy);
	if (!d && no_policy && slot)
		unmatched_remember(slot, a, gen);
	return d;
}

static __always_inline int tc_egress(struct __sk_buff *skb)
{
	struct sluice_config *cfg;
	struct sluice_dest *d;
	struct pkt p = {};
	__u64 wire, now, cost;
	__u8 cls, share, kind;
	bool shed;
	int v;

	stat_inc(SLUICE_STAT_PKTS);
	if (parse_pkt(skb, &p) < 0) {
		stat_inc(SLUICE_STAT_UNPARSED);
		return TC_ACT_UNSPEC;
	}
	cfg = config_get();
	d = tc_dest(cfg, &p.dst);
	if (!d) {
		stat_inc(SLUICE_STAT_UNMATCHED);
		return TC_ACT_UNSPEC;
	}

	now = skb_now(skb);
	if (lease_lapsed(cfg, d, now))
		return TC_ACT_UNSPEC;
	wire = sluice_wire_bytes(skb->len, skb->gso_segs, p.hdr_len);
	cost = sluice_cost_ticks(wire, d->ns_per_byte_q16);
	WRITE_ONCE(d->last_ns, now);
	now = sluice_ns_to_ticks(now);
	if (cfg && cfg->classify_kinds | cfg->class_share_pct[0] | cfg->class_share_pct[1] |
		   cfg->class_share_pct[2] | cfg->class_share_pct[3]) {
		cls = classify(cfg->classify_kinds, bpf_skb_cgroup_id(skb), skb->mark, p.dscp);
		share = class_guarantee(cfg, d, cls);
		v = class_verdict(d, &p, cls, share, cost, now, &shed);
		v = verdict_kind(skb, d, &p, v, shed, now, cost, &kind);
		count_class(d, cls, v, wire);
	} else {
		v = dest_verdict(d, &p, cost, now);
		v = verdict_kind(skb, d, &p, v, false, now, cost, &kind);
	}
	count_verdict(d, v, kind, wire);
	if (d->mode == SLUICE_MODE_MONITOR)
		return TC_ACT_UNSPEC;
	if (v == VERDICT_DROP)
		return TC_ACT_SHOT;
	if (v == VERDICT_MARK)
		ecn_set_ce(skb, &p); /* only ECN-capable packets get VERDICT_MARK */
	return TC_ACT_UNSPEC;
}

#endif
