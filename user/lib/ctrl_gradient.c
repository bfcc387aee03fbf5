// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gradient: the default law. Keeps the queueing delay a destination's
 * traffic causes near a small target, and backs off on loss, ECN and
 * receive-window stalls:
 *
 *   cut at most once per max(interval, RTT); for a queue of less than
 *   four times the target only when it has stood two intervals, at most
 *   every third:
 *     RTO                 x 0.5
 *     loss L > 2%         x max(1 - 5L, 0.5)
 *     ECN, rwnd           x max(1 - alpha / 2, 1 - 0.5 P_rwnd, 0.8),
 *                         ECN not below 85% of what was delivered
 *     delay q             to D x min(max(1 - (q - target) / 200 ms, 0.6), 0.95),
 *                         at least x 0.5 (x 0.95 if D is above the rate)
 *   where D is what the destination delivered while the queue stood (for
 *   a small queue the better of its two intervals, as a host's hiccup
 *   lowers one, and no less than 0.9 of the last second's best): while a
 *   queue stands the path delivers its capacity,
 *   and sending that much less empties the queue within 200 ms. D is
 *   kept as the capacity C, and the rate at the cut, within [D, 1.03 D],
 *   as the filling rate F.
 *   otherwise, when the destination uses at least half its rate:
 *     below 0.97 F                 x 1.25, up to 0.97 F: back to what
 *                                  the path carried, in a few intervals
 *     while delivery stays <= 1.02 C
 *                                  x 1.01, x 1.02 ... up to x 1.04 while
 *                                  no queue shows at all; held while a
 *                                  queue starts (the 10th percentile
 *                                  past half the target, the median
 *                                  past it)
 *     delivery beyond 1.02 C       with a queue starting: that is the
 *                                  capacity, C and F are learned;
 *                                  without (two intervals in a row):
 *                                  the capacity grew, C and F are
 *                                  forgotten, x 1.04, then x 1.1 after
 *                                  two clean intervals, until a queue
 *                                  starts while delivery stops growing
 *                                  (two intervals in a row),
 *     never above twice the best recent delivered rate, 1.25 times
 *     while the median shows a queue, once the path has pushed back.
 *   While critical traffic shares the destination with a lower class, the
 *   rate stays the configured headroom below F (default 10%: 0.9 F; for
 *   10 s after the path last showed F): the bottleneck's queue is theirs
 *   in common.
 *   A destination using less than half its rate is kept within twice
 *   what it delivers, or 0.97 F if that is more.
 *
 * Timeouts and retransmissions in an interval that delivers ten times what
 * the one before did are connections resuming, not congestion.
 *
 * Every 10 s while bulk transfers fill a destination whose path has
 * pushed back (first 1 s after resuming, or after starting on traffic that
 * ran before: a previous sluiced's, or the policy before), the rate drops
 * to half the delivered rate (but not below what critical traffic uses and a
 * quarter more, up to 80% of the delivered rate) for two intervals, and
 * the RTT seen then becomes the base: the base only falls on its own, so
 * one learned over a queue that already stood would otherwise stay wrong
 * for good.
 *
 * A delay cut is judged one interval later: if the RTT did not fall but the
 * delivered rate did, the queue was not ours (a longer path, a slower
 * peer). After three such cuts in a row they are undone and the base RTT
 * accepts the new latency, so a latency rise with no capacity change
 * cannot walk the rate down.
 */
#include <stdint.h>

#include "lib/ctrl.h"

#define CUT_MIN          0.5  /* loss and timeouts */
#define DELAY_CUT_MIN    0.8  /* delay, ECN, rwnd: an interval spans many RTTs */
#define DELAY_GAIN       0.8
#define LOSS_CUT_AT      0.02
#define LOSS_GAIN        5.0
#define SIGNAL_AT        0.05 /* ECN alpha or rwnd pressure worth acting on */
#define CLEAN_FOR_FAST   2
#define DELIVERED_CAP    2
#define RAISE_CAP        1.25 /* ... while a queue shows, once the path pushed back */
#define JUDGE_RTT_KEPT   0.9  /* the RTT stayed above 90% of the cut's */
#define JUDGE_RATE_LOST  0.9  /* while delivery fell below 90% */
#define FUTILE_CUTS      3    /* in a row, before the latency is accepted */
#define DRAIN_TIME_US    200000 /* a delay cut empties the queue in this long */
#define DRAIN_FLOOR      0.6  /* delay cuts stop at this share of delivery */
#define DRAIN_LEAST      0.95 /* ... and go at least this far below it */
#define ECN_FLOOR        0.85 /* ECN cuts stop at this share of delivery */
#define DELAY_PERSIST    2    /* intervals in a row above target before a cut */
#define DELAY_AT_ONCE    4    /* ... unless the queue is this many targets */
#define SMALL_QUEUE_KEEPS 0.9 /* a small queue: the path still carries this much */
#define CAP_SETTLE       0.97 /* the share of the filling rate to return to */
#define CAP_RETURN       1.25 /* how fast, per interval */
#define CAP_PROBE        1.01 /* growth past it, while delivery stays */
#define PROBE_STEP       0.01 /* and this much more each clean probe, */
#define PROBE_STEPS_MOST 3    /* up to x 1.04 */
#define CAP_GREW         1.02 /* delivery this far above the capacity ... */
#define CAP_GREW_FOR     2    /* ... in this many intervals in a row: it grew */
#define CAP_RATE_MOST    1.03 /* the filling rate is at most this far above D */
#define CAP_TRUST        0.4  /* D below this share of the rate is not kept */
#define RESUME_JUMP      10   /* delivery this many times the last: resuming */
#define GROW_BEYOND      1.04 /* beyond it, with no queue, first */
#define GROW_FAST        1.1  /* ... then, after CLEAN_FOR_FAST clean intervals */
#define STARTUP_GAIN     2    /* before the path ever pushed back, as slow start */
#define SEARCH_STILL_GROWING 1.05 /* delivery this much above the last interval's */
#define SEARCH_QUEUED_FOR 2   /* intervals in a row, before the search ends */
#define HEADROOM_TRUST   100  /* intervals: a filling rate older is measured anew */
#define DELAY_SPACING    3    /* delay cuts at most every 3 intervals */
#define DRAIN_EVERY_NS   10000000000ULL /* see the path without a queue... */
#define DRAIN_FIRST_NS   1000000000ULL  /* ... first a second after starting */
#define DRAIN_INTERVALS  2    /* at half the delivered rate: 100 ms of queue */
#define DRAIN_GAIN       0.5
#define DRAIN_KEEP_CRITICAL 1.25 /* critical traffic keeps this much of its use */
#define DRAIN_MOST       0.8  /* ... but a drain still drains */

/* What the interval `ago` intervals before the last one pushed delivered. */
static __u64 delivered_ago(const struct ctrl_state *st, __u32 ago)
{
	return st->delivered[(st->delivered_next + 2 * CTRL_DELIVERED_WINDOW - 1 - ago) %
			     CTRL_DELIVERED_WINDOW];
}

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

/* The path delivered D while a queue stood, at this rate. */
static void cap_learn(struct ctrl_state *st, __u64 D, __u64 rate)
{
	st->found = true;
	st->cap_age = 0;
	st->cap_Bps = D;
	st->cap_rate_Bps = rate < D ? D : rate > D * CAP_RATE_MOST ?
		(__u64)(D * CAP_RATE_MOST) : rate;
}

/*
 * A delay cut. While the queue stands the path delivers its capacity, D:
 * sending q / DRAIN_TIME less than that empties a queue of q within
 * DRAIN_TIME, where a cut by a fixed factor of a rate far above D would
 * leave the queue growing for several cuts more. Never below DRAIN_FLOOR
 * of D: a queue is drained by sending a little less than the path
 * delivers, not by starving it. And never below half the rate at once:
 * a longer path also raises the RTT and, as each connection's window is
 * sized to the base RTT, lowers D in the same interval; the cut is judged
 * an interval later, and undone if it was futile.
 *
 * The rate that filled the path is kept beside D: senders deliver a
 * little less than the rate lets them (windows, ECN marks at the
 * bucket), so the rate to return to is above D by as much; but by 3% at
 * most, as the rate at a cut is mostly the probe that overshot, and a
 * return above the capacity rebuilds the queue within an interval.
 */
static __u64 drain_rate(struct ctrl_state *st, const struct ctrl_signals *sig,
			__u64 D, __u64 rate)
{
	double f = 1 - (double)(sig->queue_us - sig->target_us) / DRAIN_TIME_US;
	__u64 drain;

	if (!D)
		return rate;
	/* Below CAP_TRUST of the rate, D may be a path going dark or
	 * growing longer rather than its capacity: keep the last one. */
	if (D >= rate * CAP_TRUST) {
		/* A queue says the path carries no more than it showed:
		 * a cut never raises the capacity. (D of a small queue keeps
		 * most of the last second's best, which right after the
		 * path narrowed is the old capacity.) */
		cap_learn(st, st->cap_Bps && st->cap_Bps < D ? st->cap_Bps : D, rate);
		/* A receiver's hiccup also raises the RTT as D falls: the
		 * capacity a cut learns holds no headroom until the path is
		 * seen full again from below (and grew past it, if it did). */
		st->cap_age = HEADROOM_TRUST;
	}
	f = f < DRAIN_FLOOR ? DRAIN_FLOOR : f > DRAIN_LEAST ? DRAIN_LEAST : f;
	drain = (__u64)(D * f);
	if (drain < rate * CUT_MIN)
		drain = (__u64)(rate * CUT_MIN);
	/* Delivering more than the rate (a burst let through): still a cut. */
	return drain < rate ? drain : (__u64)(rate * DRAIN_LEAST);
}

/*
 * What the path delivered while the queue stood. A small queue is cut
 * once it has stood DELAY_PERSIST intervals, and the better of the last
 * two is the capacity: a host's hiccup (the receiver or the bottleneck
 * itself descheduled for a few milliseconds) raises the RTT and lowers
 * one interval's delivery together, and a cut to that dip cost 16 flows
 * a fifth of the path for seconds. A hiccup can span both intervals, so a
 * small queue is also taken for no less than SMALL_QUEUE_KEEPS of the
 * best delivery of the last second: a path that narrowed by more fills a
 * big queue within two intervals (a tenth less capacity queues 10 ms a
 * second), and a cut to two dips' delivery (80 of 100 Mbit/s) cost 16
 * flows a sixth of the path for 2 s, as probes past a busy host's RTTs
 * climb a percent an interval. A big queue is cut from this interval's
 * delivery alone: the capacity may just have fallen.
 */
static __u64 queue_delivered(const struct ctrl_state *st, const struct dest_sample *s,
			     bool big_queue)
{
	__u64 D = s->delivered_Bps, before = delivered_ago(st, 1), least;

	if (big_queue)
		return D;
	if (st->over >= DELAY_PERSIST && before > D)
		D = before;
	least = (__u64)(ctrl_delivered_max(st) * SMALL_QUEUE_KEEPS);
	return D > least ? D : least;
}

/* One interval's delivery is noisy by a few percent: the capacity grew
 * when CAP_GREW_FOR intervals in a row deliver beyond it. Beyond it with
 * a queue starting, the capacity was a little more than the last cut
 * saw, and this is it: learn it, rather than search far past it. */
static bool capacity_grew(struct ctrl_state *st, const struct ctrl_signals *sig,
			  const struct dest_sample *s, __u64 rate)
{
	if (s->delivered_Bps <= st->cap_Bps * CAP_GREW) {
		st->grew = 0;
		return false;
	}
	if (sig->queue_p50_us > sig->target_us) {
		st->grew = 0;
		cap_learn(st, s->delivered_Bps, rate);
		return false;
	}
	if (++st->grew < CAP_GREW_FOR)
		return false;
	st->grew = 0;
	return true;
}

/*
 * A clean interval at a rate the destination uses. Return quickly to
 * just below the rate that filled the path last time; probe gently past
 * it, as every step above it queues for a whole interval; and once the
 * path delivers more than the capacity it showed, the capacity grew:
 * find the new one fast.
 */
static __u64 grow(struct ctrl_state *st, const struct ctrl_signals *sig,
		  const struct dest_sample *s, __u64 rate)
{
	bool path_queues = st->found && sig->queue_p50_us > sig->target_us;
	__u64 settle = (__u64)(st->cap_rate_Bps * CAP_SETTLE), most;
	double g;

	/* A rate far above anything the senders delivered lately, while
	 * the median shows a queue, shows nothing of the path and holds
	 * nothing back when it narrows: 16 flows held to 100 Mbit/s by
	 * their windows, the queue unseen in the low percentile, crept to
	 * 180 in 6 s, and a halved path then queued 20 ms behind half
	 * that. There, once the path has pushed back, a raise stops a
	 * quarter above the best recent delivery: room for senders a busy
	 * host holds a fifth below their rate. With no queue at all the
	 * rate keeps twice the delivery within reach, for demand that
	 * returns (critical traffic alone, when a surge joins it). */
	most = (__u64)(ctrl_delivered_max(st) * (path_queues ? RAISE_CAP : DELIVERED_CAP));

	st->clean++;
	if (rate < settle) {
		st->clean = 0;
		rate = (__u64)(rate * CAP_RETURN);
		rate = rate < settle ? rate : settle;
	} else if (st->cap_Bps && !capacity_grew(st, sig, s, rate)) {
		st->clean = 0;
		/* A queue starting: even the low percentile waits, and
		 * half the samples wait past the target. Hold there: the
		 * path counts as seen full. (Stepping back from it instead
		 * walked the rate down whenever a busy receiver inflated
		 * the RTTs: 16 flows at 60-80% of the path.) */
		if (sig->queue_us * 2 > sig->target_us && sig->queue_p50_us > sig->target_us) {
			st->cap_age = 0;
			st->probes = 0;
		} else if (sig->queue_us * 2 <= sig->target_us) {
			/* Faster while not even the median waits (the
			 * capacity may have grown), or while below what the
			 * path delivered in the last second with no queue at
			 * all (a stall cut the rate, not the capacity). */
			rate = (__u64)(rate * (CAP_PROBE + PROBE_STEP * st->probes));
			if (sig->queue_p50_us * 4 <= sig->target_us ||
			    (sig->queue_us * 4 <= sig->target_us && rate < ctrl_delivered_max(st)))
				st->probes += st->probes < PROBE_STEPS_MOST;
			else
				st->probes = 0;
		}
	} else {
		/* Searching, past a capacity that grew or none known yet: a
		 * queue starting while delivery stops growing is the path
		 * found. The median is the signal here, as the clamp's
		 * smallest windows leave the queue empty now and then. */
		if (sig->queue_p50_us > sig->target_us &&
		    s->delivered_Bps < delivered_ago(st, 1) * SEARCH_STILL_GROWING) {
			/* Two intervals in a row: one can be a receiver's
			 * hiccup. The capacity is the best recent delivery,
			 * not this interval's, which may have dipped. */
			if (++st->queued < SEARCH_QUEUED_FOR)
				return rate;
			st->queued = 0;
			cap_learn(st, ctrl_delivered_max(st), rate);
			st->probes = 0;
			return rate < st->cap_rate_Bps ? rate : st->cap_rate_Bps;
		}
		st->queued = 0;
		st->cap_Bps = st->cap_rate_Bps = 0;
		g = st->clean > CLEAN_FOR_FAST ? GROW_FAST : GROW_BEYOND;
		/* Nothing known of the path yet (a destination that only
		 * trickled was held near its floor): double, as TCP's slow
		 * start does, until it first pushes back. */
		if (!st->found && sig->queue_p50_us <= sig->target_us)
			g = STARTUP_GAIN;
		rate = (__u64)(rate * g);
	}
	if (rate > most)
		rate = most > st->rate_Bps ? most : st->rate_Bps;
	return rate;
}

/*
 * Critical traffic beside traffic of a lower class. The bottleneck's queue
 * is one FIFO for every class: however short the law keeps it, critical
 * packets wait in it behind sheddable ones. So while they compete the
 * destination keeps the headroom (in->headroom_pct) below the rate that
 * filled the path, and the queue stays short; the lower classes give up
 * the difference, the more of it the emptier the queue (in the surge
 * benchmark, critical's TCP ping-pong p99: 3.4-9 ms at 10%, 2.8-3.3 ms
 * at 20%, 1.1-1.9 ms at 30%, the path 82-85%, 75-76% and 66-67% used).
 * Below the path the law cannot see it grow, so a filling rate is trusted for
 * HEADROOM_TRUST intervals: then the law probes up to the path again, and
 * the queue it meets gives the next one.
 */
static bool classes_compete(const struct dest_sample *s)
{
	__u8 critical = 1u << SLUICE_CLASS_CRITICAL;

	return (s->classes_busy & critical) && (s->classes_busy & ~critical);
}

/*
 * The rate a drain sends at: half what the destination delivered, which
 * empties a queue of 100 ms within the drain's two intervals. Critical
 * traffic keeps what it used, and a quarter more, through it: the queue
 * empties as long as the other classes give way, if more slowly.
 */
static __u64 drain_to(const struct dest_sample *s)
{
	double D = (double)s->delivered_Bps, keep;

	keep = (double)s->class_delivered_Bps[SLUICE_CLASS_CRITICAL] * DRAIN_KEEP_CRITICAL;
	keep = keep < D * DRAIN_MOST ? keep : D * DRAIN_MOST;
	return (__u64)(D * DRAIN_GAIN > keep ? D * DRAIN_GAIN : keep);
}

/*
 * The rate a drain ends at: the one it left, but no higher than where the
 * law returns after a cut. The rate it left is often a probe that just
 * found the path full; returning there would queue at once.
 */
static __u64 drain_return(const struct ctrl_state *st)
{
	__u64 settle = (__u64)(st->cap_rate_Bps * CAP_SETTLE);

	return st->cap_rate_Bps && settle < st->drain_from_Bps ? settle : st->drain_from_Bps;
}

static void gradient_step(struct ctrl_state *st, const struct ctrl_input *in,
			  struct ctrl_output *out)
{
	const struct dest_sample *s = in->s;
	struct ctrl_signals *sig = &out->sig;
	__u64 rate = st->rate_Bps, hold_ns;
	double m = 1, f_delay, f_ecn, f_rwnd, room;
	__u32 reason = SLUICE_REASON_HOLD;
	bool may_cut, may_cut_delay, big_queue, using, resuming, rto;

	/* Deliveries after an interval with next to none: connections that
	 * stalled (a path that went dark and healed) resume, each with the
	 * retransmission its timeout sent. Those timeouts and retransmits
	 * are the recovery, not congestion. */
	resuming = s->delivered_Bps > RESUME_JUMP * delivered_ago(st, 0);
	ctrl_pressure_update(st, in, sig);
	ctrl_delivered_push(st, s->delivered_Bps);
	st->cap_age += st->cap_age < UINT32_MAX;
	if (judge_last_cut(st, s)) {
		rate = st->rate_Bps;
		reason = SLUICE_REASON_PATH;
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
	if (!st->drained_ns) {
		st->drained_ns = in->now_ns;
		if (st->inherited)
			st->drained_ns -= DRAIN_EVERY_NS - DRAIN_FIRST_NS;
	} else if (resuming && st->found) { /* not while connections come back */
		st->drained_ns = in->now_ns - DRAIN_EVERY_NS + DRAIN_FIRST_NS;
	}
	if (st->draining) {
		/* A drain is an experiment, not a noisy sample: what the
		 * path shows without the queue is its base. */
		if (s->rtt_samples && s->rtt_p10_us < st->base.base_us)
			base_rtt_reset(&st->base, s->rtt_p10_us);
		rate = --st->draining ? rate : drain_return(st);
		reason = SLUICE_REASON_DRAIN;
		rate = ctrl_bound(in->pol, rate, &reason);
		ctrl_finish(st, in, out, rate, reason);
		return;
	}
	/* A drain costs what the destination would have sent in it: only
	 * where a queue can hide, behind a bottleneck that pushed back or
	 * behind traffic that ran before this state began, and only to slow
	 * bulk transfers, never request/response traffic alone, which queues
	 * nothing worth a drain. */
	if (s->active && s->delivered_Bps * 2 >= rate && s->conns_bulk &&
	    (st->found || st->inherited) && in->now_ns - st->drained_ns >= DRAIN_EVERY_NS) {
		st->inherited = false;
		st->drained_ns = in->now_ns;
		st->draining = DRAIN_INTERVALS;
		st->drain_from_Bps = rate;
		st->judging = false;
		rate = drain_to(s);
		reason = SLUICE_REASON_DRAIN;
		rate = ctrl_bound(in->pol, rate, &reason);
		ctrl_finish(st, in, out, rate, reason);
		return;
	}
	hold_ns = sig->rtt_us * 1000 > in->interval_ns ? sig->rtt_us * 1000 : in->interval_ns;
	may_cut = in->now_ns - st->last_cut_ns >= hold_ns;
	/* Delay is noisy sample to sample: act on a small queue when it has
	 * stood for two intervals, and give each cut time to drain it. A
	 * big one is no noise: each interval sets the rate from the queue
	 * left and what the path delivers, which cannot compound. */
	st->over = delay_factor(sig) < 1 ? st->over + 1 : 0;
	big_queue = sig->queue_us >= DELAY_AT_ONCE * sig->target_us;
	may_cut_delay = big_queue ? may_cut :
			st->over >= DELAY_PERSIST &&
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
	} else if (!resuming && (ctrl_rtos_widespread(s) || ctrl_loss_beyond(s, LOSS_CUT_AT))) {
		rto = ctrl_rtos_widespread(s);
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
		reason = m == 1 ? SLUICE_REASON_WATCH :
			 m == f_rwnd ? SLUICE_REASON_RWND :
			 m == f_ecn ? SLUICE_REASON_ECN : SLUICE_REASON_DELAY;
	} else if (!using) {
		/* Using less than half its rate: the rate is not what limits
		 * it, and cutting it would shorten no queue. Keep it within
		 * reach of what the destination delivers, but not below the
		 * rate that last filled the path: connections that resume
		 * (after a heal, their timeouts backed off) or demand that
		 * returns find it at once. */
		__u64 cap = ctrl_delivered_max(st) * DELIVERED_CAP;
		__u64 known = (__u64)(st->cap_rate_Bps * CAP_SETTLE);

		cap = cap > known ? cap : known;

		if (cap && rate > cap)
			rate = cap;
		reason = SLUICE_REASON_HOLD;
	} else {
		rate = grow(st, sig, s, rate);
		/* A search that ends at a queue returns to the filling
		 * rate it learned: a delay cut, if a small one. */
		reason = rate < st->rate_Bps ? SLUICE_REASON_DELAY : SLUICE_REASON_PROBE;
	}

	if (m < 1) {
		st->found = true;
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
		rate = reason == SLUICE_REASON_DELAY ?
		       drain_rate(st, sig, queue_delivered(st, s, big_queue), rate) :
		       (__u64)(rate * m);
		/* A queue is drained by sending a little less than the path
		 * delivers, not by starving it: ECN cuts stop just below the
		 * delivered rate. */
		if (reason == SLUICE_REASON_ECN && rate < s->delivered_Bps * ECN_FLOOR)
			rate = (__u64)(s->delivered_Bps * ECN_FLOOR) < st->rate_Bps ?
			       (__u64)(s->delivered_Bps * ECN_FLOOR) : st->rate_Bps;
	} else if (reason != SLUICE_REASON_PROBE) {
		st->clean = 0;
	}
	room = 1 - in->headroom_pct / 100.0;
	if (in->headroom_pct && classes_compete(s) && st->cap_rate_Bps &&
	    st->cap_age < HEADROOM_TRUST && rate > st->cap_rate_Bps * room) {
		rate = (__u64)(st->cap_rate_Bps * room);
		reason = SLUICE_REASON_HEADROOM;
	}
	/* Bound first: the bound may change the reason (FLOOR, CEILING),
	 * and function arguments are evaluated in no set order. */
	rate = ctrl_bound(in->pol, rate, &reason);
	ctrl_finish(st, in, out, rate, reason);
}

const struct controller ctrl_gradient = { .name = "gradient", .step = gradient_step };
