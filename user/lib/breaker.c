// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "lib/breaker.h"

#define FAIL_STREAK_OPEN    5
#define RTO_STREAK_OPEN     3
#define RATIO_WINDOW_NS     10000000000ULL
#define RATIO_MIN_ATTEMPTS  20
#define RATIO_OPEN          0.5
#define SATURATED_OPEN_NS   3000000000ULL
#define OPEN_BASE_NS        2000000000ULL
#define OPEN_MAX_NS         60000000000ULL
#define OPEN_JITTER         0.15
#define PROBES_NEEDED       3
#define PROBES_OK_RATIO     0.9
#define RAMP_GROWTH         1.5
#define RAMP_CALM_PRESSURE  0.1

static void window_push(struct breaker *b, const struct dest_sample *s, __u64 now)
{
	b->win_attempts[b->win_next] = (__u32)s->connects;
	b->win_fails[b->win_next] = (__u32)s->connect_fails;
	b->win_ns[b->win_next] = now;
	b->win_next = (b->win_next + 1) % BREAKER_WINDOW;
}

static bool window_ratio_bad(const struct breaker *b, __u64 now)
{
	__u64 attempts = 0, fails = 0;
	int i;

	for (i = 0; i < BREAKER_WINDOW; i++) {
		if (!b->win_ns[i] || now - b->win_ns[i] > RATIO_WINDOW_NS)
			continue;
		attempts += b->win_attempts[i];
		fails += b->win_fails[i];
	}
	return attempts >= RATIO_MIN_ATTEMPTS && fails >= attempts * RATIO_OPEN;
}

/* Update the streaks and report which trigger fired, if any. */
static __u32 closed_trigger(struct breaker *b, const struct breaker_input *in)
{
	const struct dest_sample *s = in->s;

	b->fail_streak = s->conns_opened ? (__u32)s->connect_fails
					 : b->fail_streak + (__u32)s->connect_fails;
	/* Timeouts in a row with nothing delivered between them: a
	 * destination that went dark. Deliveries reset it, so random loss,
	 * which times out a connection now and then, never adds up. */
	b->rto_streak = s->delivered_pkts ? 0 : b->rto_streak + (__u32)s->rtos;
	/* The rate to return to: the best the law had in a recent clean
	 * interval, before the trouble that opens the breaker cut it. */
	b->good_Bps[b->good_next] = s->delivered_pkts && !s->rtos && !s->connect_fails ?
				    in->rate_Bps : 0;
	b->good_next = (b->good_next + 1) % BREAKER_GOOD_WINDOW;
	if (in->pressure >= 0.99 && in->at_floor)
		b->saturated_ns += in->interval_ns;
	else
		b->saturated_ns = 0;
	window_push(b, s, in->now_ns);

	if (b->fail_streak >= FAIL_STREAK_OPEN)
		return SLUICE_REASON_CONNECT_FAIL;
	if (b->rto_streak >= RTO_STREAK_OPEN)
		return SLUICE_REASON_TIMEOUTS;
	if (window_ratio_bad(b, in->now_ns))
		return SLUICE_REASON_FAIL_RATIO;
	if (b->saturated_ns >= SATURATED_OPEN_NS)
		return SLUICE_REASON_SATURATED;
	return SLUICE_REASON_NONE;
}

static __u64 good_rate(const struct breaker *b)
{
	__u64 best = 0;
	int i;

	for (i = 0; i < BREAKER_GOOD_WINDOW; i++)
		if (b->good_Bps[i] > best)
			best = b->good_Bps[i];
	return best;
}

static void breaker_open(struct breaker *b, const struct breaker_input *in)
{
	__u64 hold = OPEN_BASE_NS * (b->openings + 1);

	if (hold > OPEN_MAX_NS)
		hold = OPEN_MAX_NS;
	hold = (__u64)((double)hold * (1 + OPEN_JITTER * in->jitter));
	if (b->state == SLUICE_BREAKER_CLOSED) {
		__u64 good = good_rate(b);

		b->last_good_Bps = good > in->rate_Bps ? good : in->rate_Bps;
	}
	b->openings++;
	b->state = SLUICE_BREAKER_OPEN;
	b->open_until_ns = in->now_ns + hold;
	b->fail_streak = b->rto_streak = 0;
	b->saturated_ns = 0;
	b->ramping = false;
	memset(b->win_ns, 0, sizeof(b->win_ns));
}

bool breaker_step(struct breaker *b, const struct breaker_input *in, __u32 *reason)
{
	const struct dest_sample *s = in->s;
	__u32 probes;

	*reason = SLUICE_REASON_NONE;
	switch (b->state) {
	case SLUICE_BREAKER_CLOSED:
		*reason = closed_trigger(b, in);
		if (*reason == SLUICE_REASON_NONE)
			return false;
		if (!in->may_open) {
			*reason = SLUICE_REASON_CAP;
			return false;
		}
		breaker_open(b, in);
		b->open_reason = *reason;
		return true;
	case SLUICE_BREAKER_OPEN:
		/* One connect per probe gap passes while open: when one
		 * gets through, the destination is back before its time is
		 * up, and waiting that time out would only delay the heal. */
		if (s->conns_opened && !s->connect_fails) {
			b->state = SLUICE_BREAKER_HALF_OPEN;
			b->probes_ok = (__u32)s->conns_opened;
			b->probes_failed = 0;
			*reason = SLUICE_REASON_ALIVE;
			return true;
		}
		if (in->now_ns < b->open_until_ns)
			return false;
		b->state = SLUICE_BREAKER_HALF_OPEN;
		b->probes_ok = b->probes_failed = 0;
		*reason = SLUICE_REASON_COOLDOWN;
		return true;
	default: /* half-open: probes decide */
		/* Connections that deliver count as much as new ones: a
		 * destination whose clients keep their connections open
		 * makes no new connects to probe with. */
		b->probes_ok += (__u32)s->conns_opened +
				(s->delivered_pkts && !s->rtos && !s->connect_fails ? 1 : 0);
		/* A timeout in an interval that also delivered is a stalled
		 * connection resuming (its retransmission got through), as
		 * after every heal: not a failed probe. */
		b->probes_failed += (__u32)(s->connect_fails + (s->delivered_pkts ? 0 : s->rtos));
		probes = b->probes_ok + b->probes_failed;
		if (probes < PROBES_NEEDED && !b->probes_failed)
			return false;
		if (probes >= PROBES_NEEDED && b->probes_ok >= probes * PROBES_OK_RATIO) {
			b->state = SLUICE_BREAKER_CLOSED;
			b->openings = 0;
			b->ramping = true;
			b->ramp_Bps = 0;
			*reason = SLUICE_REASON_PROBES_OK;
			return true;
		}
		/* An early failure, or too few successes: back to open. */
		breaker_open(b, in);
		*reason = SLUICE_REASON_PROBES_FAILED;
		return true;
	}
}

__u64 breaker_ramp(struct breaker *b, __u64 rate_Bps, double pressure)
{
	__u64 next;

	if (!b->ramping || b->state != SLUICE_BREAKER_CLOSED)
		return 0;
	if (rate_Bps >= b->last_good_Bps) {
		b->ramping = false;
		return 0;
	}
	/* Pressure pauses the ramp, it does not end it: what opened the
	 * breaker keeps pressure up for seconds after the heal (it falls
	 * by a tenth an interval), and a ramp ended by it leaves the law
	 * to climb back from the probe rate at 8% an interval. */
	if (pressure > RAMP_CALM_PRESSURE)
		return 0;
	/* From where the ramp got to, not from the law's rate: a law that
	 * keeps a quiet destination near what it delivers would otherwise
	 * pull each step back down. */
	if (b->ramp_Bps > rate_Bps)
		rate_Bps = b->ramp_Bps;
	next = (__u64)(rate_Bps * RAMP_GROWTH);
	if (next >= b->last_good_Bps) {
		next = b->last_good_Bps;
		b->ramping = false;
	}
	b->ramp_Bps = next;
	return next;
}
