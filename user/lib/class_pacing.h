/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How each class's connections pace, from what each class used.
 *
 * The datapath can split a destination's rate among its busy classes by
 * their shares alone (sluice/classes.h), but a class that is busy and
 * uses little of its share (critical RPCs beside a bulk transfer) would
 * then hold the rest idle: the other classes' connections pace at their
 * own shares, and the link stays part empty. So each interval the daemon
 * works out a split by use; the datapath paces by it, and at TC
 * guarantees each class its part of it:
 *   - every busy class keeps at least its share (it may grow back into
 *     it at once);
 *   - a class using less than its share, with room to grow by a quarter,
 *     lends the rest;
 *   - the classes using all of their share, and allowed to borrow at the
 *     ladder's step, split what is lent by their shares.
 * The split can add up to more than the rate while a lender grows back
 * into its share, until the next interval's split.
 */
#ifndef SLUICE_CLASS_PACING_H
#define SLUICE_CLASS_PACING_H

#include "sluice/abi.h"

/*
 * Fill pct[] (percent of rate_Bps each class paces at) from the policy's
 * shares, the ladder step, the classes busy now (bit per enum
 * sluice_class) and what each delivered in the interval. All 0 when no
 * shares are configured or nothing is busy: the datapath then splits by
 * shares alone.
 */
void class_pacing_split(const __u8 share_pct[SLUICE_CLASSES], __u8 ladder, __u8 busy_mask,
			const __u64 used_Bps[SLUICE_CLASSES], __u64 rate_Bps,
			__u8 pct[SLUICE_CLASSES]);

#endif
