/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token-bucket arithmetic, shared by the BPF datapath and the user-space
 * tools and tests. Plain C with fixed-width types and compiler atomics, so
 * the same code runs under the verifier and under cmocka.
 *
 * The bucket is a GCRA virtual time: tat (theoretical arrival time) is when
 * everything admitted so far will have drained at the rate. A packet that
 * costs c nanoseconds at the rate is admitted while the backlog after it,
 * max(tat, now) + c - now, stays within the burst. A full bucket is
 * tat <= now, so an idle destination may send a whole burst at once, as
 * with a classic token bucket of depth burst.
 */
#ifndef SLUICE_BUCKET_H
#define SLUICE_BUCKET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SLUICE_NSEC_PER_SEC 1000000000ULL
/*
 * Bucket time runs in ticks of 1/16 ns. At 100 Gbit/s a full-size frame
 * costs 121.12 ns, which whole nanoseconds would charge 0.1% off; in ticks
 * the error stays below 0.05% up to 100 Gbit/s, and a u64 of ticks lasts
 * 36 years of uptime.
 */
#define SLUICE_TICK_SHIFT 4
#define SLUICE_TICKS_PER_SEC (SLUICE_NSEC_PER_SEC << SLUICE_TICK_SHIFT)
/* Below this rate the fixed-point cost could overflow; it is 1 kbit/s. */
#define SLUICE_RATE_MIN_BPS 125ULL
/* Largest packet cost considered: GSO super-packets stay far below. */
#define SLUICE_WIRE_MAX_BYTES (1U << 24)

enum sluice_zone {
	SLUICE_ZONE_PASS = 0, /* backlog within the mark threshold */
	SLUICE_ZONE_MARK = 1, /* admitted, but past the mark threshold */
	SLUICE_ZONE_DROP = 2, /* would exceed the burst: not admitted */
};

/*
 * Nanoseconds per byte in 16.16 fixed point; 0 for rate 0 (no refill).
 * Rounded down, so that k packets of a burst of exactly k packets' bytes
 * always fit (the burst itself is converted with an exact division).
 */
static inline __u64 sluice_ns_per_byte_q16(__u64 rate_Bps)
{
	__u64 q;

	if (!rate_Bps)
		return 0;
	if (rate_Bps < SLUICE_RATE_MIN_BPS)
		rate_Bps = SLUICE_RATE_MIN_BPS;
	q = (SLUICE_NSEC_PER_SEC << 16) / rate_Bps;
	return q ? q : 1; /* a huge rate is nearly free, never rate 0 */
}

static inline __u64 sluice_ns_to_ticks(__u64 ns)
{
	return ns << SLUICE_TICK_SHIFT;
}

/* Ticks a byte count takes at a rate; saturates instead of overflowing. */
static inline __u64 sluice_bytes_to_ticks(__u64 bytes, __u64 rate_Bps)
{
	if (!rate_Bps)
		return 0;
	if (bytes > ~0ULL / SLUICE_TICKS_PER_SEC)
		return ~0ULL;
	return bytes * SLUICE_TICKS_PER_SEC / rate_Bps;
}

/* Cost of one packet in ticks, from the fixed-point rate. */
static inline __u64 sluice_cost_ticks(__u64 wire_bytes, __u64 ns_per_byte_q16)
{
	if (wire_bytes > SLUICE_WIRE_MAX_BYTES)
		wire_bytes = SLUICE_WIRE_MAX_BYTES;
	return (wire_bytes * ns_per_byte_q16) >> (16 - SLUICE_TICK_SHIFT);
}

/*
 * Bytes a packet occupies on the wire. A GSO super-packet leaves as
 * gso_segs frames, each carrying its own copy of the headers.
 */
static inline __u64 sluice_wire_bytes(__u32 len, __u32 gso_segs, __u32 hdr_len)
{
	if (gso_segs <= 1)
		return len;
	return (__u64)len + (__u64)(gso_segs - 1) * hdr_len;
}

/*
 * Charge a bucket without asking, and return the tat the charge started
 * from. An idle bucket first moves up to now, or the add would charge
 * against a stale time and hand out tokens beyond the burst. Used where a
 * charge must not be lost: the admit path after lost races, and traffic a
 * class's guarantee admitted, which still uses the destination's rate.
 */
static inline __u64 sluice_bucket_charge(__u64 *tat, __u64 now, __u64 cost)
{
	__u64 old = *(volatile __u64 *)tat;

	if (old < now)
		__sync_val_compare_and_swap(tat, old, now);
	return __sync_fetch_and_add(tat, cost);
}

/*
 * Admit a packet of cost ticks against the bucket at *tat (all times in
 * ticks). Lock-free: a
 * bounded compare-and-swap loop, so concurrent CPUs neither lose nor
 * double a charge. After four lost races (other CPUs are admitting on
 * this bucket at this very moment) the charge is made with an atomic add,
 * which cannot be lost; the overshoot that allows is at most one packet
 * per racing CPU.
 * rate 0 (ns_per_byte_q16 == 0) admits nothing.
 * *backlog receives the backlog after the packet (or that it would have
 * had, for a drop).
 */
static inline int sluice_bucket_admit(__u64 *tat, __u64 now, __u64 cost,
				      __u64 burst, __u64 mark,
				      int no_refill, __u64 *backlog)
{
	__u64 old, base, next;
	int i;

	if (no_refill) {
		*backlog = ~0ULL;
		return SLUICE_ZONE_DROP;
	}
	for (i = 0; i < 4; i++) {
		old = *(volatile __u64 *)tat;
		base = old > now ? old : now;
		next = base + cost;
		*backlog = next - now;
		if (*backlog > burst)
			return SLUICE_ZONE_DROP;
		if (__sync_val_compare_and_swap(tat, old, next) == old)
			return *backlog > mark ? SLUICE_ZONE_MARK
						     : SLUICE_ZONE_PASS;
	}
	old = sluice_bucket_charge(tat, now, cost);
	next = (old > now ? old : now) + cost;
	*backlog = next - now;
	return *backlog > mark ? SLUICE_ZONE_MARK : SLUICE_ZONE_PASS;
}

/* Bytes the bucket could admit right now (for display); times in ticks. */
static inline __u64 sluice_bucket_tokens(__u64 tat, __u64 now, __u64 burst_bytes,
					 __u64 rate_Bps)
{
	__u64 backlog, backlog_bytes;

	if (!rate_Bps)
		return 0;
	if (tat <= now)
		return burst_bytes;
	backlog = tat - now;
	if (backlog > ~0ULL / rate_Bps)
		return 0;
	backlog_bytes = backlog * rate_Bps / SLUICE_TICKS_PER_SEC;
	return backlog_bytes >= burst_bytes ? 0 : burst_bytes - backlog_bytes;
}

#endif
