// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>

#include "lib/class_pacing.h"
#include "sluice/classes.h"

#define GROW_ROOM 1.25 /* a lender keeps a quarter above what it used */

void class_pacing_split(const __u8 share_pct[SLUICE_CLASSES], __u8 ladder, __u8 busy_mask,
			const __u64 used_Bps[SLUICE_CLASSES], __u64 rate_Bps,
			__u8 pct[SLUICE_CLASSES])
{
	double permille[SLUICE_CLASSES], lent = 0, borrow_shares = 0;
	bool borrows[SLUICE_CLASSES] = { false };
	int i, borrowers = 0;

	memset(pct, 0, SLUICE_CLASSES);
	if (!rate_Bps || !busy_mask ||
	    !(share_pct[0] | share_pct[1] | share_pct[2] | share_pct[3]))
		return;
	for (i = 0; i < SLUICE_CLASSES; i++) {
		double need;

		permille[i] = sluice_class_permille(share_pct, busy_mask, ladder, (__u8)i);
		if (!(busy_mask & (1u << i)) || !permille[i])
			continue;
		need = (double)used_Bps[i] * 1000 * GROW_ROOM / rate_Bps;
		if (need < permille[i]) {
			lent += permille[i] - need;
		} else if (sluice_class_allow(ladder, (__u8)i) == SLUICE_ALLOW_FULL) {
			borrows[i] = true;
			borrowers++;
			borrow_shares += share_pct[i];
		}
	}
	for (i = 0; i < SLUICE_CLASSES; i++) {
		double v = permille[i];

		if (borrows[i])
			v += borrow_shares ? lent * share_pct[i] / borrow_shares : lent / borrowers;
		v = (v + 9) / 10; /* percent, rounded up */
		pct[i] = v > 100 ? 100 : v < 1 ? 1 : (__u8)v;
	}
}
