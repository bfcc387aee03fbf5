// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * RTT statistics over everything the sock_ops program has recorded for a
 * destination. The counters are cumulative (the daemon works on deltas,
 * the operator sees the whole history), so these are lifetime figures.
 */
#include <errno.h>

#include "sluice/rtt_hist.h"
#include "sluicectl/sluicectl.h"

int rtt_mean_us(const struct sluice_signals *s, unsigned long long *us)
{
	if (!s->rtt_samples)
		return -ENODATA;
	*us = (s->rtt_sum_us + s->rtt_samples / 2) / s->rtt_samples;
	return 0;
}

/*
 * The median from the histogram: find the bucket that holds the middle
 * sample, then place it inside the bucket as if the bucket's samples were
 * spread evenly over its width (at most 25% of its value). The total is
 * the histogram's own, not rtt_samples: the two are updated separately.
 */
int rtt_median_us(const struct sluice_signals *s, unsigned long long *us)
{
	__u64 total = 0, below = 0, rank, lo, hi;
	double frac;
	__u32 i;

	for (i = 0; i < SLUICE_RTT_BUCKETS; i++)
		total += s->rtt_hist[i];
	if (!total)
		return -ENODATA;
	rank = (total + 1) / 2;
	for (i = 0; i < SLUICE_RTT_BUCKETS - 1; i++) {
		if (below + s->rtt_hist[i] >= rank)
			break;
		below += s->rtt_hist[i];
	}
	lo = sluice_rtt_bucket_low(i);
	/* The last bucket is open-ended: its low bound is all we know. */
	hi = i + 1 < SLUICE_RTT_BUCKETS ? sluice_rtt_bucket_low(i + 1) : lo;
	frac = s->rtt_hist[i] ? (rank - below - 0.5) / s->rtt_hist[i] : 0;
	*us = lo + (__u64)(frac * (double)(hi - lo));
	return 0;
}
