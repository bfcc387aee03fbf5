// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What the control laws share: pressure, base RTT, burst, cwnd clamp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctrl.h"
#include "sluice/bucket.h"

#define BASE_RISE_PERIOD_NS 30000000000ULL /* the base may rise once per 30 s */
#define BASE_RISE_MAX       1.10           /* ... by at most 10% */
#define TARGET_MIN_US       1000           /* RTT samples jitter by ~1 ms here */
#define ECN_GAIN            (1.0 / 16)
#define PRESSURE_RISE       0.5
#define PRESSURE_FALL       0.1
/* A 64 KiB GSO super-packet of 45 full-size segments costs 45 x 1514 =
 * 68130 bytes on the wire, more than 66 KiB, and the bucket drops any
 * packet that costs more than its burst: keep two, as policy.h does. */
#define BURST_MIN_BYTES     (128 * 1024)
#define BURST_TIME_MIN_US   2000
#define BURST_TIME_MAX_US   5000           /* never deeper than 5 ms at the rate */
#define CLAMP_MIN           2              /* 1 collapses: delayed ACKs */
#define CLAMP_TOTAL_MIN     16             /* packets across a destination */
#define CLAMP_NONE_ABOVE    65535

extern const struct controller ctrl_static, ctrl_aimd, ctrl_gradient;

const struct controller *controller_for(__u8 id)
{
	switch (id) {
	case SLUICE_CTRL_AIMD:
		return &ctrl_aimd;
	case SLUICE_CTRL_GRADIENT:
		return &ctrl_gradient;
	default:
		return &ctrl_static;
	}
}

void ctrl_init(struct ctrl_state *st, const struct sluice_policy *pol)
{
	memset(st, 0, sizeof(*st));
	st->rate_Bps = pol->rate_Bps;
	st->reason = SLUICE_REASON_POLICY;
	st->started = true;
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/*
 * The k-th smallest of v[0..n) (0-based), as v sorted would hold it at
 * k: Hoare's selection, which reorders v. Linear on average, where a sort
 * of the whole window for one of its values cost each active destination
 * some 10 us per interval.
 */
static __u32 kth_smallest(__u32 *v, __u32 n, __u32 k)
{
	__u32 lo = 0, hi = n - 1;

	while (lo < hi) {
		__u32 pivot = v[lo + (hi - lo) / 2], i = lo, j = hi, t;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break; /* v[k] equals the pivot */
	}
	return v[k];
}

void base_rtt_update(struct base_rtt *b, __u64 sample_us, bool calm, __u64 now_ns)
{
	__u32 sorted[CTRL_BASE_WINDOW];
	__u64 p10;

	if (!sample_us)
		return;
	b->hist[b->next] = (__u32)(sample_us > 0xffffffffULL ? 0xffffffffULL : sample_us);
	b->next = (b->next + 1) % CTRL_BASE_WINDOW;
	if (b->n < CTRL_BASE_WINDOW)
		b->n++;
	memcpy(sorted, b->hist, b->n * sizeof(sorted[0]));
	p10 = kth_smallest(sorted, b->n, b->n / 10);
	/* Falls at once: less queueing than thought. It never creeps up on
	 * its own: under load the low percentile includes the queue the
	 * destination keeps at its target, so any slow rise would make that
	 * queue the new normal, and the next one longer. A longer path is
	 * accepted by the gradient law when cutting does not shorten it
	 * (base_rtt_reset). */
	if (!b->base_us || p10 <= b->base_us)
		b->base_us = p10;
}

void base_rtt_reset(struct base_rtt *b, __u64 base_us)
{
	__u32 i;

	for (i = 0; i < b->n; i++)
		b->hist[i] = (__u32)base_us;
	b->base_us = base_us;
}

void ctrl_delivered_push(struct ctrl_state *st, __u64 Bps)
{
	st->delivered[st->delivered_next] = Bps;
	st->delivered_next = (st->delivered_next + 1) % CTRL_DELIVERED_WINDOW;
}

__u64 ctrl_delivered_max(const struct ctrl_state *st)
{
	__u64 m = 0;
	int i;

	for (i = 0; i < CTRL_DELIVERED_WINDOW; i++)
		if (st->delivered[i] > m)
			m = st->delivered[i];
	return m;
}

/*
 * n segments lost at random with probability p retransmit about n p of
 * them, give or take sqrt(n p). At 10 Mbit/s an interval carries ~90
 * segments, and 1% random loss retransmits 2 of them (2.2%, past a 2%
 * threshold) one interval in five: a law that cut on the fraction alone
 * would climb out of its floor at the pace of the dice. Two standard
 * deviations above n p, chance gets there one interval in several hundred;
 * the loss a full policer or queue causes is many times that.
 */
bool ctrl_loss_beyond(const struct dest_sample *s, double p)
{
	double expect = (double)s->delivered_pkts * p;

	return (double)s->retrans > expect + 2 * sqrt(expect);
}

void ctrl_pressure_update(struct ctrl_state *st, const struct ctrl_input *in,
			  struct ctrl_signals *sig)
{
	const struct dest_sample *s = in->s;
	double interval_us = (double)in->interval_ns / 1000;
	__u64 delivered = s->delivered_pkts;

	memset(sig, 0, sizeof(*sig));
	sig->delivered_Bps = s->delivered_Bps;
	if (s->rtt_samples)
		base_rtt_update(&st->base, s->rtt_p10_us, st->pressure < 0.1, in->now_ns);
	sig->base_us = st->base.base_us;
	/* The interval's low percentile, not its median: delayed ACKs add
	 * one-sided noise to many samples, while a standing queue raises
	 * every one of them. */
	sig->rtt_us = s->rtt_samples ? s->rtt_p10_us : 0;
	sig->target_us = sig->base_us / 4 > TARGET_MIN_US ? sig->base_us / 4 : TARGET_MIN_US;
	if (sig->rtt_us > sig->base_us)
		sig->queue_us = sig->rtt_us - sig->base_us;
	if (s->rtt_samples && s->rtt_p50_us > sig->base_us)
		sig->queue_p50_us = s->rtt_p50_us - sig->base_us;
	if (sig->rtt_us && sig->queue_us > sig->target_us)
		sig->p_delay = clamp01((double)(sig->queue_us - sig->target_us) /
				       (3.0 * sig->target_us));

	if (s->retrans || s->rtos)
		sig->loss = delivered ? clamp01((double)s->retrans / delivered) : 1;
	sig->p_loss = ctrl_rtos_widespread(s) ? 1 : clamp01((sig->loss - 0.01) / 0.09);

	sig->ce = delivered ? clamp01((double)s->delivered_ce / delivered) : 0;
	if (delivered)
		st->ecn_alpha += ECN_GAIN * (sig->ce - st->ecn_alpha);
	sig->p_ecn = st->ecn_alpha;

	if (interval_us > 0)
		sig->rwnd = clamp01((double)s->rwnd_limited_us /
				    (interval_us * (s->conns_busy ? s->conns_busy : 1)));
	sig->p_rwnd = sig->rwnd;
	if (s->zero_wnd_acks && sig->p_rwnd < 0.5)
		sig->p_rwnd = 0.5;

	if (s->connects)
		sig->fail = clamp01((double)s->connect_fails / s->connects);
	sig->p_fail = sig->fail;

	sig->p_raw = sig->p_delay;
	sig->top = SLUICE_REASON_DELAY;
#define TAKE(p, r) do { if ((p) > sig->p_raw) { sig->p_raw = (p); sig->top = (r); } } while (0)
	TAKE(sig->p_loss, ctrl_rtos_widespread(s) ? SLUICE_REASON_RTO : SLUICE_REASON_LOSS);
	TAKE(sig->p_ecn, SLUICE_REASON_ECN);
	TAKE(sig->p_rwnd, SLUICE_REASON_RWND);
	TAKE(sig->p_fail, SLUICE_REASON_CONNECT_FAIL);
#undef TAKE
	/* Rise fast, fall slowly: pressure should outlast a brief lull. */
	st->pressure += (sig->p_raw > st->pressure ? PRESSURE_RISE : PRESSURE_FALL) *
			(sig->p_raw - st->pressure);
	if (st->pressure < 0.001)
		st->pressure = 0;
}

void ctrl_burst(const struct sluice_policy *pol, __u64 rate_Bps, double pressure,
		__u64 base_us, __u32 *burst, __u32 *mark)
{
	__u64 tight_us = base_us > BURST_TIME_MIN_US ? base_us : BURST_TIME_MIN_US;
	double tight = (double)rate_Bps * tight_us / 1e6, loose = pol->burst_bytes;
	double at_rate = (double)rate_Bps * BURST_TIME_MAX_US / 1e6;
	double b;

	if (tight < BURST_MIN_BYTES)
		tight = BURST_MIN_BYTES;
	/* The policy's burst is sized for its ceiling; at a rate far below
	 * it, a full bucket released at once (after a drain, a cut, an idle
	 * moment) would queue for tens of milliseconds at the bottleneck. */
	if (at_rate < BURST_MIN_BYTES)
		at_rate = BURST_MIN_BYTES;
	if (loose > at_rate)
		loose = at_rate;
	if (tight > loose)
		tight = loose;
	/* Deep when calm, shrinking toward a couple of milliseconds at the
	 * rate as pressure rises, so tails stay short under pressure. */
	b = loose - (loose - tight) * clamp01(pressure);
	*burst = (__u32)b;
	*mark = pol->burst_bytes ? (__u32)((double)pol->mark_thresh * b / pol->burst_bytes)
				 : *burst / 4;
}

__u32 ctrl_cwnd_clamp(__u64 rate_Bps, __u64 rtt_us, __u32 conns, __u64 mss)
{
	__u32 floor;
	double segs;

	if (!rtt_us || !rate_Bps)
		return 0;
	segs = (double)rate_Bps * rtt_us / 1e6 /
	       ((conns ? conns : 1) * (double)(mss ? mss : 1448));
	if (segs > CLAMP_NONE_ABOVE)
		return 0;
	segs = ceil(segs);
	/* At least CLAMP_MIN per connection, and CLAMP_TOTAL_MIN across the
	 * destination: a lone connection with a 2-segment window stalls on
	 * its receiver's delayed ACKs. */
	floor = (CLAMP_TOTAL_MIN + (conns ? conns : 1) - 1) / (conns ? conns : 1);
	floor = floor < CLAMP_MIN ? CLAMP_MIN : floor;
	return segs < floor ? floor : (__u32)segs;
}

__u64 ctrl_bound(const struct sluice_policy *pol, __u64 rate_Bps, __u32 *reason)
{
	if (pol->max_Bps && rate_Bps >= pol->max_Bps) {
		if (rate_Bps > pol->max_Bps || *reason == SLUICE_REASON_PROBE)
			*reason = SLUICE_REASON_CEILING;
		return pol->max_Bps;
	}
	if (rate_Bps <= pol->min_Bps) {
		*reason = SLUICE_REASON_FLOOR;
		return pol->min_Bps;
	}
	return rate_Bps;
}

/*
 * The RTT a window is sized for: the base and the target queue, the most
 * the law counts as the path without a queue; but while the low
 * percentile shows no queue, the median, if longer: what the path shows
 * while delivering, up to a second target. At 1 Gbit/s with 16 flows on
 * a busy host, half the samples wait past the base and the target on the
 * hosts themselves, and a window that ignores it held delivery to 75% of
 * the link with nothing queued. The median also waits in a queue that
 * starts, which the low percentile does not yet show: hence the bound.
 * A queue past the target is no host delay: the window then makes no
 * room for it.
 */
static __u64 clamp_rtt_us(const struct ctrl_signals *sig, const struct dest_sample *s)
{
	__u64 rtt = sig->base_us + sig->target_us, most = rtt + sig->target_us;

	if (s->rtt_samples && sig->queue_us <= sig->target_us && s->rtt_p50_us > rtt)
		rtt = s->rtt_p50_us < most ? s->rtt_p50_us : most;
	return rtt;
}

void ctrl_finish(struct ctrl_state *st, const struct ctrl_input *in,
		 struct ctrl_output *out, __u64 rate_Bps, __u32 reason)
{
	const struct dest_sample *s = in->s;
	__u64 mss = s->delivered_pkts ? s->bytes_acked / s->delivered_pkts : 0, delivered;

	if (mss < 536 || mss > 65535)
		mss = 1448;
	st->rate_Bps = rate_Bps;
	st->reason = reason;
	out->rate_Bps = rate_Bps;
	out->reason = reason;
	out->pressure_milli = (__u16)lround(st->pressure * 1000);
	ctrl_burst(in->pol, rate_Bps, st->pressure, st->base.base_us, &out->burst_bytes,
		   &out->mark_thresh);
	/* The window follows the rate, so that the rate stays what limits
	 * the destination and its queue shows in the RTT; but never more than
	 * twice what it delivered lately, as the rate of a destination that
	 * uses little of it may sit far above. Following the delivered rate
	 * itself would feed on its own output: a window sized to today's
	 * delivery delivers less as soon as the RTT rises, and the next
	 * window is smaller still. */
	delivered = ctrl_delivered_max(st) * 2;
	/* Sized for the RTT the path shows while delivering (clamp_rtt_us):
	 * where the hosts' own delays exceed the base (always, at datacenter
	 * speeds), a window of rate x base caps delivery far below the rate,
	 * and a law that follows delivery then walks the rate down. The
	 * destination's whole window: the datapath gives each connection the
	 * part its share of the rate is. */
	out->cwnd_clamp = ctrl_cwnd_clamp(delivered && delivered < rate_Bps ? delivered : rate_Bps,
					  clamp_rtt_us(&out->sig, s), 1, mss);
}
