// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * static: the rate is the policy's. Pressure is still measured, so an
 * operator sees what an adaptive policy would react to.
 */
#include "lib/ctrl.h"

static void static_step(struct ctrl_state *st, const struct ctrl_input *in,
			struct ctrl_output *out)
{
	ctrl_pressure_update(st, in, &out->sig);
	ctrl_finish(st, in, out, in->pol->rate_Bps, SLUICE_REASON_POLICY);
	out->burst_bytes = in->pol->burst_bytes;
	out->mark_thresh = in->pol->mark_thresh;
	out->cwnd_clamp = 0;
}

const struct controller ctrl_static = { .name = "static", .step = static_step };
