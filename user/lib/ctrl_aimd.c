// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * aimd: additive increase, multiplicative decrease on loss, timeouts or
 * ECN, as loss-based limiters do. Blind to latency by design: choose it for
 * destinations whose RTT says nothing about their load.
 */
#include "lib/ctrl.h"

#define AIMD_CUT      0.9
#define AIMD_STEP_DIV 100 /* +1% of the ceiling per interval */

static void aimd_step(struct ctrl_state *st, const struct ctrl_input *in,
		      struct ctrl_output *out)
{
	const struct dest_sample *s = in->s;
	struct ctrl_signals *sig = &out->sig;
	__u64 rate = st->rate_Bps;
	__u32 reason;

	ctrl_pressure_update(st, in, sig);
	if (s->rtos || sig->loss > 0.005 || sig->ce > 0.005) {
		rate = (__u64)(rate * AIMD_CUT);
		reason = s->rtos ? SLUICE_REASON_RTO :
			 sig->loss > 0.005 ? SLUICE_REASON_LOSS : SLUICE_REASON_ECN;
	} else if (s->delivered_Bps * 2 >= rate) {
		rate += in->pol->max_Bps / AIMD_STEP_DIV;
		reason = SLUICE_REASON_PROBE;
	} else {
		reason = SLUICE_REASON_HOLD;
	}
	rate = ctrl_bound(in->pol, rate, &reason);
	ctrl_finish(st, in, out, rate, reason);
	out->cwnd_clamp = 0;
}

const struct controller ctrl_aimd = { .name = "aimd", .step = aimd_step };
