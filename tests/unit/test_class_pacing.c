// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The split of a destination's rate by what each class uses
 * (user/lib/class_pacing.c): a busy class that uses little of its share
 * lends the rest to the classes that use all of theirs, keeps its own
 * share to grow back into, and the ladder's limits hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/class_pacing.h"
#include "sluice/classes.h"
#include "check.h"

#define MBIT(x) ((__u64)(x) * 125000)
#define CRIT    (1u << SLUICE_CLASS_CRITICAL)
#define DEF     (1u << SLUICE_CLASS_DEFAULT)
#define SHED    (1u << SLUICE_CLASS_SHEDDABLE)
#define SCAV    (1u << SLUICE_CLASS_SCAVENGER)

static const __u8 shares[SLUICE_CLASSES] = { 40, 30, 20, 10 };

/* Critical uses 30 of 100 beside sheddable bulk: sheddable paces at what
 * critical leaves (with critical's room to grow), not at its third. */
static void test_lender_leaves_the_rest_to_bulk(void **state)
{
	__u64 used[SLUICE_CLASSES] = { MBIT(30), 0, MBIT(33), 0 };
	__u8 pct[SLUICE_CLASSES];
	int bad = 0;

	class_pacing_split(shares, 0, CRIT | SHED, used, MBIT(100), pct);
	tap_note("critical %u%%, sheddable %u%%", pct[SLUICE_CLASS_CRITICAL],
		 pct[SLUICE_CLASS_SHEDDABLE]);
	CHECK(bad, pct[SLUICE_CLASS_CRITICAL] >= 67, "critical paces at %u%%, below its share",
	      pct[SLUICE_CLASS_CRITICAL]);
	CHECK(bad, pct[SLUICE_CLASS_SHEDDABLE] >= 62 && pct[SLUICE_CLASS_SHEDDABLE] <= 64,
	      "sheddable paces at %u%%, want 100 - 30 x 1.25 = 62.5", pct[SLUICE_CLASS_SHEDDABLE]);
	assert_int_equal(bad, 0);
}

/* Every busy class uses all of its share: nothing is lent, each paces
 * at its share of the busy classes, as the datapath would by itself. */
static void test_no_lender_is_the_shares(void **state)
{
	__u64 used[SLUICE_CLASSES] = { MBIT(67), 0, MBIT(33), 0 };
	__u8 pct[SLUICE_CLASSES];
	int i, bad = 0;

	class_pacing_split(shares, 0, CRIT | SHED, used, MBIT(100), pct);
	for (i = 0; i < SLUICE_CLASSES; i++) {
		__u32 want = (sluice_class_permille(shares, CRIT | SHED, 0, (__u8)i) + 9) / 10;

		CHECK(bad, pct[i] == want, "class %d paces at %u%%, want its share %u%%", i, pct[i],
		      want);
	}
	assert_int_equal(bad, 0);
}

/* At step 2 sheddable may not borrow: critical's idle part stays idle
 * for it, and sheddable keeps exactly its floor. */
static void test_ladder_floor_does_not_borrow(void **state)
{
	__u64 used[SLUICE_CLASSES] = { MBIT(10), 0, MBIT(40), 0 };
	__u8 pct[SLUICE_CLASSES];

	class_pacing_split(shares, 2, CRIT | SHED, used, MBIT(100), pct);
	assert_int_equal(pct[SLUICE_CLASS_SHEDDABLE], shares[SLUICE_CLASS_SHEDDABLE]);
}

/* Two borrowers split what is lent by their shares. */
static void test_borrowers_split_by_share(void **state)
{
	__u64 used[SLUICE_CLASSES] = { MBIT(8), MBIT(40), MBIT(30), 0 };
	__u8 pct[SLUICE_CLASSES];
	double extra_def, extra_shed;
	int bad = 0;

	class_pacing_split(shares, 0, CRIT | DEF | SHED, used, MBIT(100), pct);
	extra_def = pct[SLUICE_CLASS_DEFAULT] -
		    sluice_class_permille(shares, CRIT | DEF | SHED, 0, SLUICE_CLASS_DEFAULT) / 10.0;
	extra_shed = pct[SLUICE_CLASS_SHEDDABLE] -
		     sluice_class_permille(shares, CRIT | DEF | SHED, 0, SLUICE_CLASS_SHEDDABLE) / 10.0;
	tap_note("default +%.1f%%, sheddable +%.1f%%", extra_def, extra_shed);
	CHECK(bad, extra_def > 0 && extra_shed > 0, "a borrower got nothing");
	CHECK(bad, extra_def / extra_shed > 1.2 && extra_def / extra_shed < 1.8,
	      "default got %.1f%%, sheddable %.1f%%: want 30:20", extra_def, extra_shed);
	assert_int_equal(bad, 0);
}

/* What the classes can use, lenders at what they need and borrowers at
 * their pace, never adds up to more than the rate (but for rounding). */
static void test_total_at_most_the_rate(void **state)
{
	__u64 steps[] = { 0, MBIT(5), MBIT(20), MBIT(45), MBIT(90) };
	int a, b, c, d, bad = 0, n = sizeof(steps) / sizeof(steps[0]);

	for (a = 0; a < n; a++)
		for (b = 0; b < n; b++)
			for (c = 0; c < n; c++)
				for (d = 0; d < n; d++) {
					__u64 used[SLUICE_CLASSES] = { steps[a], steps[b],
								       steps[c], steps[d] };
					__u8 pct[SLUICE_CLASSES];
					double total = 0;
					int i;

					class_pacing_split(shares, 0, CRIT | DEF | SHED | SCAV, used,
							   MBIT(100), pct);
					for (i = 0; i < SLUICE_CLASSES; i++) {
						double need = used[i] * 1.25 / MBIT(1);

						total += need < pct[i] ? need : pct[i];
					}
					CHECK(bad, total <= 104, "%llu/%llu/%llu/%llu Mbit/s use %.0f%%",
					      (unsigned long long)(used[0] / MBIT(1)),
					      (unsigned long long)(used[1] / MBIT(1)),
					      (unsigned long long)(used[2] / MBIT(1)),
					      (unsigned long long)(used[3] / MBIT(1)), total);
				}
	assert_int_equal(bad, 0);
}

/* No shares configured, or nothing busy: all 0, the datapath's own split. */
static void test_nothing_to_split_is_zero(void **state)
{
	static const __u8 none[SLUICE_CLASSES];
	__u64 used[SLUICE_CLASSES] = { MBIT(30), 0, MBIT(60), 0 };
	__u8 pct[SLUICE_CLASSES] = { 9, 9, 9, 9 };
	int i;

	class_pacing_split(none, 0, CRIT | SHED, used, MBIT(100), pct);
	for (i = 0; i < SLUICE_CLASSES; i++)
		assert_int_equal(pct[i], 0);
	memset(pct, 9, sizeof(pct));
	class_pacing_split(shares, 0, 0, used, MBIT(100), pct);
	for (i = 0; i < SLUICE_CLASSES; i++)
		assert_int_equal(pct[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lender_leaves_the_rest_to_bulk),
		cmocka_unit_test(test_no_lender_is_the_shares),
		cmocka_unit_test(test_ladder_floor_does_not_borrow),
		cmocka_unit_test(test_borrowers_split_by_share),
		cmocka_unit_test(test_total_at_most_the_rate),
		cmocka_unit_test(test_nothing_to_split_is_zero),
	};

	return cmocka_run_group_tests_name("class_pacing", tests, NULL, NULL);
}
