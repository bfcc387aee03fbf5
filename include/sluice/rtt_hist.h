/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The RTT histogram's bucket layout, shared by BPF (which fills it) and the
 * daemon (which reads percentiles from it). Log-linear: values below 4 us
 * have a bucket each, then every power of two is split in four, so a
 * bucket is at most 25% wide and 96 buckets reach past 30 s.
 */
#ifndef SLUICE_RTT_HIST_H
#define SLUICE_RTT_HIST_H

#include "sluice/abi.h"

/* Index of the highest set bit of v (v > 0); no clz, the BPF ISA has none. */
static inline __u32 sluice_fls64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

static inline __u32 sluice_rtt_bucket(__u64 us)
{
	__u32 msb, sub, idx;

	if (us < 4)
		return (__u32)us;
	msb = sluice_fls64(us);
	sub = (__u32)(us >> (msb - SLUICE_RTT_SUB_BITS)) & 3;
	idx = 4 + (msb - 2) * 4 + sub;
	return idx < SLUICE_RTT_BUCKETS ? idx : SLUICE_RTT_BUCKETS - 1;
}

/* Smallest value that falls into bucket idx. */
static inline __u64 sluice_rtt_bucket_low(__u32 idx)
{
	__u32 msb, sub;

	if (idx < 4)
		return idx;
	msb = (idx - 4) / 4 + 2;
	sub = (idx - 4) % 4;
	return (__u64)(4 + sub) << (msb - 2);
}

#endif
