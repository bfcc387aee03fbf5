/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Priority classes and the degradation ladder, shared by the datapath
 * (which admits packets and paces sockets by class) and the daemon (which
 * moves each destination up and down the ladder by pressure).
 *
 * Ladder steps, taken as pressure rises (and left with hysteresis):
 *   0  every class gets its guarantee and borrows idle share
 *   1  scavenger stops
 *   2  sheddable falls to its floor: its guarantee, no borrowing
 *   3  sheddable stops, default falls to its floor
 * Critical is never degraded: it keeps its guarantee and borrows.
 */
#ifndef SLUICE_CLASSES_H
#define SLUICE_CLASSES_H

#include "sluice/abi.h"

#define SLUICE_LADDER_MAX 3
/* A class that may send is never paced to a standstill. */
#define SLUICE_CLASS_MIN_PERMILLE 10

enum sluice_allow {
	SLUICE_ALLOW_FULL = 0,  /* guarantee and borrowing */
	SLUICE_ALLOW_FLOOR = 1, /* guarantee only */
	SLUICE_ALLOW_NONE = 2,  /* nothing */
};

static inline int sluice_class_allow(__u8 step, __u8 cls)
{
	switch (cls) {
	case SLUICE_CLASS_SCAVENGER:
		return step >= 1 ? SLUICE_ALLOW_NONE : SLUICE_ALLOW_FULL;
	case SLUICE_CLASS_SHEDDABLE:
		return step >= 3 ? SLUICE_ALLOW_NONE :
		       step >= 2 ? SLUICE_ALLOW_FLOOR : SLUICE_ALLOW_FULL;
	case SLUICE_CLASS_DEFAULT:
		return step >= 3 ? SLUICE_ALLOW_FLOOR : SLUICE_ALLOW_FULL;
	default:
		return SLUICE_ALLOW_FULL;
	}
}

/*
 * The part of a destination's rate, in 1/1000, that class cls may use now,
 * given which classes are busy (bit per class in busy_mask): floor classes
 * get their share, the rest of the rate is split among the busy classes
 * that may borrow, in proportion to their shares. So an idle class's share
 * goes to those that have traffic, and a stopped class gets nothing.
 * With no shares configured (all 0) every class may use the whole rate.
 */
static inline __u32 sluice_class_permille(const __u8 *share_pct, __u32 busy_mask, __u8 step,
					  __u8 cls)
{
	__u32 floor_sum = 0, full_sum = 0, n_zero = 0, total = 0, rest, avail, v, i;
	int allow;

	cls &= SLUICE_CLASSES - 1;
	for (i = 0; i < SLUICE_CLASSES; i++)
		total += share_pct[i];
	if (!total)
		return 1000;
	allow = sluice_class_allow(step, cls);
	if (allow == SLUICE_ALLOW_NONE)
		return 0;
	if (allow == SLUICE_ALLOW_FLOOR)
		return share_pct[cls] * 10;
	busy_mask |= 1u << cls;
	for (i = 0; i < SLUICE_CLASSES; i++) {
		int a = sluice_class_allow(step, (__u8)i);

		if (!(busy_mask & (1u << i)))
			continue;
		if (a == SLUICE_ALLOW_FLOOR)
			floor_sum += share_pct[i];
		else if (a == SLUICE_ALLOW_FULL && share_pct[i])
			full_sum += share_pct[i];
		else if (a == SLUICE_ALLOW_FULL)
			n_zero++; /* borrows, with no share of its own */
	}
	if (floor_sum > 100)
		floor_sum = 100;
	rest = (100 - floor_sum) * 10;
	if (!full_sum) {
		/* only classes without a share borrow: they split what is left */
		v = rest / (n_zero ? n_zero : 1);
	} else if (!share_pct[cls]) {
		v = SLUICE_CLASS_MIN_PERMILLE;
	} else {
		/* classes with a share split what is left, after the minimum
		 * that each borrower without a share keeps */
		avail = rest > n_zero * SLUICE_CLASS_MIN_PERMILLE ?
			rest - n_zero * SLUICE_CLASS_MIN_PERMILLE : 0;
		v = (__u32)((__u64)share_pct[cls] * avail / full_sum);
	}
	return v < SLUICE_CLASS_MIN_PERMILLE ? SLUICE_CLASS_MIN_PERMILLE : v;
}

#endif
