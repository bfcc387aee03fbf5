// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gradient: the default law. Keeps the queueing delay a destination's
 * traffic causes near a small target, and backs off on loss, ECN and
 * receive-window stalls:
 *
 *   cut at most once per max(interval, RTT), and for delay only when it
 *   has stood two intervals, at most every third:
 *     RTO                 x 0.5
 *     loss L > 2%         x max(1 - 5L, 0.5)
 *     delay, ECN, rwnd    x max(min(1 - 0.8 (q - target) / rtt,
 *                                   1 - alpha / 2, 1 - 0.5 P_rwnd), 0.8)
 *   (an interval spans many RTTs, so a delay cut of at most 20% per
 *   interval still drains a queue within a few intervals), and never
 *   below 85% of what the destination delivered in the interval: a
 *   queue drains when the sender sends a little less than the path
 *   delivers; sending much less only loses throughput
 *   otherwise, when the destination uses at least half its rate:
 *     x 1.02 per interval, x 1.08 after three clean ones,
 *     never above twice the best recent delivered rate.
 *   A destination using less than half its rate is kept within twice
 *   what it delivers.
 *
 * Every 10 s (first 1 s after starting) the rate drops to half the
 * delivered rate for two intervals, and the RTT seen then becomes the
 * base: the base only falls on its own, so one learned over a queue that
 * already stood would otherwise stay wrong for good.
 *
 * A delay cut is judged one interval later: if the RTT did not fall but the
 * delivered rate did, the queue was not ours (a longer path, a slower
 * peer). After three such cuts in a row they are undone and the base RTT
 * accepts the new latency, so a latency rise with no capacity change
 * cannot walk the rate down.
 */
#include "lib/ctrl.h"

#define CUT_MIN          0.5  /* loss and timeouts */
#define DELAY_CUT_MIN    0.8  /* delay, ECN, rwnd: an interval spans many RTTs */
#define DELAY_GAIN       0.8
#define LOSS_CUT_AT      0.02
#define LOSS_GAIN        5.0
#define SIGNAL_AT        0.05 /* ECN alpha or rwnd pressure worth acting on */
#define GROW_SLOW        1.02
#define GROW_FAST        1.08
#define CLEAN_FOR_FAST   3
#define DELIVERED_CAP    2
#define JUDGE_RTT_KEPT   0.9  /* the RTT stayed above 90% of the cut's */
#define JUDGE_RATE_LOST  0.9  /* while delivery fell below 90% */
#define FUTILE_CUTS      3    /* in a row, before the latency is accepted */
#define DRAIN_FLOOR      0.85 /* delay cuts stop at this share of delivery */
#define DELAY_PERSIST    2    /* intervals in a row above target before a cut */
#define DELAY_SPACING    3    /* delay cuts at most every 3 intervals */
#define DRAIN_EVERY_NS   10000000000ULL /* see the path without a queue... */
#define DRAIN_FIRST_NS   1000000000ULL  /* ... first a second after starting */
#define DRAIN_INTERVALS  2    /* at half the delivered rate: 100 ms of queue */
#define DRAIN_GAIN       0.5

static double fmin3(double a, double b, double c)
{
	double m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * Delay cuts that only cost throughput, three in a row: undo them and
 * accept the latency as the path's. One futile cut proves little, as
 * RTT samples are noisy; three do.
 */
static bool judge_last_cut(struct ctrl_state *st, const struct dest_sample *s)
{
	bool futile;

	if (!st->judging || !s->rtt_samples)
		return false;
	st->judging = false;
	futile = s->rtt_p10_us >= st->cut_rtt_us * JUDGE_RTT_KEPT &&
		 s->delivered_Bps <= st->cut_delivered_Bps * JUDGE_RATE_LOST;
	if (!futile) {
		st->futile = 0;
		return false;
	}
	if (++st->futile < FUTILE_CUTS)
		return false;
	st->futile = 0;
	base_rtt_reset(&st->base, s->rtt_p10_us);
	st->rate_Bps = st->futile_from_Bps;
	return true;
}

static double delay_factor(const struct ctrl_signals *sig)
{
	double f;

	if (!sig->rtt_us || sig->queue_us <= sig->target_us)
		return 1;
	f = 1 - DELAY_GAIN * (double)(sig->queue_us - sig->target_us) / sig->rtt_us;
	return f < DELAY_CUT_MIN ? DELAY_CUT_MIN : f;
}

static void gradient_step(struct ctrl_state *st, const struct ctrl_input *in,
			  struct ctrl_output *out)
{
	const struct dest_sample *s = in->s;
	struct ctrl_signals *sig = &out->sig;
	__u64 rate = st->rate_Bps, hold_ns;
	double m = 1, f_delay, f_ecn, f_rwnd;
	__u32 reason = SLUICE_REASON_HOLD;
	bool may_cut, may_cut_delay, using;

	ctrl_pressure_update(st, in, sig);
	ctrl_delivered_push(st, s->delivered_Bps);
	if (judge_last_cut(st, s)) {
		rate = st->rate_Bps;
		ctrl_pressure_update(st, in, sig); /* against the new base */
		rate = ctrl_bound(in->pol, rate, &reason);
		ctrl_finish(st, in, out, rate, reason);
		return;
	}
	/*
	 * Drain now and then: the base RTT only ever falls, so a base
	 * learned while a queue already stood (sluiced restarted, or the
	 * policy changed, in the middle of a transfer) would make that
	 * queue the normal for good, and no lower RTT would ever show.
	 */
	if (!st->drained_ns)
		st->drained_ns = in->now_ns - DRAIN_EVERY_NS + DRAIN_FIRST_NS;
	if (st->draining) {
		/* A drain is an experiment, not a noisy sample: what the
		 * path shows without the queue is its base. */
		if (s->rtt_samples && s->rtt_p10_us < st->base.base_us)
			base_rtt_reset(&st->base, s->rtt_p10_us);
		rate = --st->draining ? rate : st->drain_from_Bps;
		rate = ctrl_bound(in->pol, rate, &reason);
		ctrl_finish(st, in, out, rate, reason);
		return;
	}
	if (s->active && s->delivered_Bps * 2 >= rate &&
	    in->now_ns - st->drained_ns >= DRAIN_EVERY_NS) {
		st->drained_ns = in->now_ns;
		st->draining = DRAIN_INTERVALS;
		st->drain_from_Bps = rate;
		st->judging = false;
		rate = (__u64)(s->delivered_Bps * DRAIN_GAIN);
		rate = ctrl_bound(in->pol, rate, &reason);
		ctrl_finish(st, in, out, rate, reason);
		return;
	}
	hold_ns = sig->rtt_us * 1000 > in->interval_ns ? sig->rtt_us * 1000 : in->interval_ns;
	may_cut = in->now_ns - st->last_cut_ns >= hold_ns;
	/* Delay is noisy sample to sample: act on it when it has stood for
	 * two intervals, and give each cut time to drain the queue. */
	st->over = delay_factor(sig) < 1 ? st->over + 1 : 0;
	may_cut_delay = st->over >= DELAY_PERSIST &&
			in->now_ns - st->last_cut_ns >= hold_ns * DELAY_SPACING;

	f_delay = delay_factor(sig);
	f_ecn = sig->p_ecn > SIGNAL_AT ? 1 - st->ecn_alpha / 2 : 1;
	f_rwnd = sig->p_rwnd > SIGNAL_AT ? 1 - 0.5 * sig->p_rwnd : 1;
	f_ecn = f_ecn < DELAY_CUT_MIN ? DELAY_CUT_MIN : f_ecn;
	f_rwnd = f_rwnd < DELAY_CUT_MIN ? DELAY_CUT_MIN : f_rwnd;

	/* Using its rate, or building a queue anyway (a capacity drop
	 * halves delivery before anything else shows). */
	using = s->delivered_Bps * 2 >= rate || sig->p_delay >= 0.5;
	if (!s->active) {
		reason = SLUICE_REASON_HOLD;
	} else if (ctrl_rtos_widespread(s) || sig->loss > LOSS_CUT_AT) {
		bool rto = ctrl_rtos_widespread(s);

		if (may_cut) {
			m = rto ? CUT_MIN : 1 - LOSS_GAIN * sig->loss;
			m = m < CUT_MIN ? CUT_MIN : m;
		}
		reason = rto ? SLUICE_REASON_RTO : SLUICE_REASON_LOSS;
	} else if (f_delay < 1 || f_ecn < 1 || f_rwnd < 1) {
		/* Whether or not it uses its rate: a capacity drop leaves a
		 * destination delivering less than half its rate too, and
		 * only a cut, judged an interval later, tells its own queue
		 * from a longer path. */
		if (!may_cut_delay)
			f_delay = 1;
		if (may_cut)
			m = fmin3(f_delay, f_ecn, f_rwnd);
		reason = m == f_rwnd && f_rwnd < 1 ? SLUICE_REASON_RWND :
			 m == f_ecn && f_ecn < 1 ? SLUICE_REASON_ECN : SLUICE_REASON_DELAY;
	} else if (!using) {
		/* Using less than half its rate: the rate is not what limits
		 * it, and cutting it would shorten no queue. Keep it within
		 * reach of what the destination delivers. */
		__u64 cap = ctrl_delivered_max(st) * DELIVERED_CAP;

		if (cap && rate > cap)
			rate = cap;
		reason = SLUICE_REASON_HOLD;
	} else {
		__u64 cap = ctrl_delivered_max(st) * DELIVERED_CAP;

		st->clean++;
		rate = (__u64)(rate * (st->clean > CLEAN_FOR_FAST ? GROW_FAST : GROW_SLOW));
		if (rate > cap)
			rate = cap > st->rate_Bps ? cap : st->rate_Bps;
		reason = SLUICE_REASON_PROBE;
	}

	if (m < 1) {
		st->clean = 0;
		st->last_cut_ns = in->now_ns;
		if (reason == SLUICE_REASON_DELAY) {
			if (!st->futile)
				st->futile_from_Bps = rate;
			st->judging = true;
			st->cut_from_Bps = rate;
			st->cut_rtt_us = sig->rtt_us;
			st->cut_delivered_Bps = s->delivered_Bps;
		}
		rate = (__u64)(rate * m);
		/* A queue is drained by sending a little less than the path
		 * delivers, not by starving it: delay and ECN cuts stop just
		 * below the delivered rate. */
		if ((reason == SLUICE_REASON_DELAY || reason == SLUICE_REASON_ECN) &&
		    rate < s->delivered_Bps * DRAIN_FLOOR)
			rate = (__u64)(s->delivered_Bps * DRAIN_FLOOR) < st->rate_Bps ?
			       (__u64)(s->delivered_Bps * DRAIN_FLOOR) : st->rate_Bps;
	} else if (reason != SLUICE_REASON_PROBE) {
		st->clean = 0;
	}
	/* Bound first: the bound may change the reason (FLOOR, CEILING),
	 * and function arguments are evaluated in no set order. */
	rate = ctrl_bound(in->pol, rate, &reason);
	ctrl_finish(st, in, out, rate, reason);
}

const struct controller ctrl_gradient = { .name = "gradient", .step = gradient_step };
