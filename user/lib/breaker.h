/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A circuit breaker per destination: closed, open, half-open.
 *
 * Opens on 5 consecutive failed connects, 3 consecutive retransmission
 * timeouts without progress, at least 50% failures over at least 20
 * connects in 10 s, or pressure pinned at 1 for 3 s with the rate at its
 * floor. Stays open 2 s times the number of consecutive openings (at most
 * 60 s, +-15% jitter so hosts do not probe in step), or until one of the
 * connects that pass once per probe gap while open succeeds; then
 * half-opens: one new connect per probe gap goes through, and it closes
 * when at least 90% of at least 3 probes succeed, or opens again. After
 * closing, the rate ramps x1.5 per clean interval back to the last good
 * rate.
 *
 * Plain arithmetic on its inputs (no clock, no maps), like the controllers.
 */
#ifndef SLUICE_BREAKER_H
#define SLUICE_BREAKER_H

#include <stdbool.h>
#include "lib/signals.h"

#define BREAKER_WINDOW 100 /* intervals kept for the failure ratio */
#define BREAKER_GOOD_WINDOW 10 /* intervals kept for the last good rate */

struct breaker {
	__u8 state;             /* enum sluice_breaker */
	__u32 fail_streak;      /* failed connects since the last success */
	__u32 rto_streak;       /* timeouts since the last delivery */
	__u64 saturated_ns;     /* how long pressure has sat at 1 at the floor */
	__u32 win_attempts[BREAKER_WINDOW];
	__u32 win_fails[BREAKER_WINDOW];
	__u64 win_ns[BREAKER_WINDOW];
	__u32 win_next;
	__u32 openings;         /* consecutive openings, for the back-off */
	__u64 open_until_ns;
	__u32 probes_ok, probes_failed;
	__u64 last_good_Bps;    /* the rate before opening: the ramp's target */
	/* The rate of each recent interval that was clean, 0 for others:
	 * the best of them is the rate before trouble, as the first sign of
	 * trouble (a delay spike as the path goes dark) may cut the rate an
	 * interval or two before the breaker opens. */
	__u64 good_Bps[BREAKER_GOOD_WINDOW];
	__u32 good_next;
	__u64 ramp_Bps;         /* where the ramp back has got to */
	__u32 open_reason;      /* enum sluice_reason that opened it */
	bool ramping;
};

struct breaker_input {
	const struct dest_sample *s;
	double pressure;
	bool at_floor;
	__u64 now_ns;
	__u64 interval_ns;
	bool may_open;          /* false when a third of the policy is open */
	double jitter;          /* uniform in [-1, 1], scaled to +-15% */
	__u64 rate_Bps;         /* the controller's rate, remembered on opening */
};

#define BREAKER_PROBE_GAP_NS 200000000ULL /* one probe connect per 200 ms */

/*
 * Advance the breaker by one interval. Returns true when its state
 * changed, with the reason in *reason. A trigger refused because too many
 * destinations are open returns false with *reason = SLUICE_REASON_CAP.
 */
bool breaker_step(struct breaker *b, const struct breaker_input *in, __u32 *reason);

/* After closing: the next rate of the ramp back, or 0 when not ramping. */
__u64 breaker_ramp(struct breaker *b, __u64 rate_Bps, double pressure);

#endif
