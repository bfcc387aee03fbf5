// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Priority classes and the degradation ladder of include/sluice/classes.h,
 * the same code the TC program admits packets with and the sock_ops
 * program paces connections by: what each step allows each class, and the
 * part of a destination's rate each class is paced at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sluice/classes.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_BUSY      ((1u << SLUICE_CLASSES) - 1)
#define BIT(cls)      (1u << (cls))

enum {
	CRIT = SLUICE_CLASS_CRITICAL,
	DEF = SLUICE_CLASS_DEFAULT,
	SHED = SLUICE_CLASS_SHEDDABLE,
	SCAV = SLUICE_CLASS_SCAVENGER,
};

static const char *const names[SLUICE_CLASSES] = {
	"critical", "default", "sheddable", "scavenger",
};

static const char *allow_name(int a)
{
	switch (a) {
	case SLUICE_ALLOW_FULL:
		return "full";
	case SLUICE_ALLOW_FLOOR:
		return "floor";
	case SLUICE_ALLOW_NONE:
		return "none";
	default:
		return "?";
	}
}

/* The daemon's default shares. */
static const __u8 shares[SLUICE_CLASSES] = { 40, 30, 20, 10 };

/*
 * Every share vector sluiced accepts, in steps of step_pct: each share 0
 * to 100, together at most 100, not all 0. fn returns the failures it
 * found; the sum of them is returned.
 */
typedef int (*shares_fn)(const __u8 *share, void *ctx);

static int for_each_shares(int step_pct, shares_fn fn, void *ctx)
{
	int a, b, c, d, bad = 0;
	__u8 s[SLUICE_CLASSES];

	for (a = 0; a <= 100; a += step_pct)
		for (b = 0; a + b <= 100; b += step_pct)
			for (c = 0; a + b + c <= 100; c += step_pct)
				for (d = 0; a + b + c + d <= 100; d += step_pct) {
					if (!(a | b | c | d))
						continue;
					s[0] = a, s[1] = b, s[2] = c, s[3] = d;
					bad += fn(s, ctx);
				}
	return bad;
}

/* --- sluice_class_allow -------------------------------------------------- */

static void test_allow_every_step_and_class(void **state)
{
	static const int want[SLUICE_LADDER_MAX + 1][SLUICE_CLASSES] = {
		/* critical, default, sheddable, scavenger */
		{ SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL },
		{ SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL, SLUICE_ALLOW_NONE },
		{ SLUICE_ALLOW_FULL, SLUICE_ALLOW_FULL, SLUICE_ALLOW_FLOOR, SLUICE_ALLOW_NONE },
		{ SLUICE_ALLOW_FULL, SLUICE_ALLOW_FLOOR, SLUICE_ALLOW_NONE, SLUICE_ALLOW_NONE },
	};
	int bad = 0, step, cls;

	for (step = 0; step <= SLUICE_LADDER_MAX; step++)
		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			int got = sluice_class_allow(step, cls);

			CHECK(bad, got == want[step][cls], "step %d, %s: %s, want %s", step,
			      names[cls], allow_name(got), allow_name(want[step][cls]));
		}
	assert_int_equal(bad, 0);
}

/* A step past the top (a newer daemon, a stray write) degrades no further
 * than the top, and never less. */
static void test_allow_beyond_top_step_is_top(void **state)
{
	static const __u8 steps[] = { SLUICE_LADDER_MAX + 1, 100, 255 };
	int bad = 0, cls;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(steps); i++)
		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			int got = sluice_class_allow(steps[i], cls);
			int top = sluice_class_allow(SLUICE_LADDER_MAX, cls);

			CHECK(bad, got == top, "step %u, %s: %s, the top step gives %s", steps[i],
			      names[cls], allow_name(got), allow_name(top));
		}
	assert_int_equal(bad, 0);
}

/* Each step takes away, never gives back: allow only grows with the step. */
static void test_allow_monotonic_in_step(void **state)
{
	int bad = 0, step, cls;

	for (cls = 0; cls < SLUICE_CLASSES; cls++)
		for (step = 1; step <= SLUICE_LADDER_MAX; step++)
			CHECK(bad,
			      sluice_class_allow(step, cls) >= sluice_class_allow(step - 1, cls),
			      "%s: step %d allows more than step %d", names[cls], step, step - 1);
	assert_int_equal(bad, 0);
}

/* --- sluice_class_permille ----------------------------------------------- */

/* Without shares there are no classes: every class may use the whole rate,
 * at any step, as the TC program then ignores classes and the ladder. */
static void test_permille_no_shares_is_whole_rate(void **state)
{
	static const __u8 none[SLUICE_CLASSES];
	int bad = 0, step, cls;
	__u32 mask;

	for (step = 0; step <= 255; step++)
		for (mask = 0; mask <= ALL_BUSY; mask++)
			for (cls = 0; cls < SLUICE_CLASSES; cls++) {
				__u32 got = sluice_class_permille(none, mask, step, cls);

				CHECK(bad, got == 1000, "no shares, step %d, busy %#x, %s: %u",
				      step, mask, names[cls], got);
			}
	assert_int_equal(bad, 0);
}

/*
 * At step 0 the busy classes split the whole rate in proportion to their
 * shares: an idle class's share goes to those with traffic. The class
 * asked about counts as busy, since it is about to send.
 */
static void test_permille_idle_shares_go_to_busy(void **state)
{
	static const struct {
		__u32 busy;
		__u8 cls;
		__u32 want;
	} cases[] = {
		{ ALL_BUSY, CRIT, 400 },
		{ ALL_BUSY, DEF, 300 },
		{ ALL_BUSY, SHED, 200 },
		{ ALL_BUSY, SCAV, 100 },
		{ BIT(CRIT), CRIT, 1000 },
		{ BIT(SCAV), SCAV, 1000 },
		{ BIT(CRIT) | BIT(DEF), CRIT, 571 },   /* 40 of 70 */
		{ BIT(CRIT) | BIT(DEF), DEF, 428 },    /* 30 of 70 */
		{ BIT(DEF) | BIT(SCAV), DEF, 750 },    /* 30 of 40 */
		{ BIT(DEF) | BIT(SCAV), SCAV, 250 },
		{ BIT(CRIT) | BIT(SHED) | BIT(SCAV), SHED, 285 }, /* 20 of 70 */
		{ BIT(CRIT), DEF, 428 },               /* as if default were busy */
		{ 0, SHED, 1000 },                     /* alone */
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got = sluice_class_permille(shares, cases[i].busy, 0, cases[i].cls);

		CHECK(bad, got == cases[i].want, "busy %#x, %s: %u, want %u", cases[i].busy,
		      names[cases[i].cls], got, cases[i].want);
	}
	assert_int_equal(bad, 0);
}

struct walk {
	__u8 step;
	int noted;
};

/* Note a failing row, up to a few per test: a property broken for one
 * share vector is usually broken for thousands. */
#define NOTE(w, bad, cond, ...)                         \
	do {                                            \
		if (!(cond)) {                          \
			if ((w)->noted++ < 8)           \
				tap_note(__VA_ARGS__);  \
			(bad)++;                        \
		}                                       \
	} while (0)

/*
 * The proportional split, for any shares: busy classes that borrow get
 * parts in the ratio of their (non-zero) shares, and together no less than
 * what the floor classes leave, less rounding: no idle share is lost.
 */
static int check_proportional(const __u8 *s, void *ctx)
{
	struct walk *w = ctx;
	int bad = 0, i, j;
	__u32 mask;

	for (mask = 1; mask <= ALL_BUSY; mask++) {
		__u32 p[SLUICE_CLASSES], floor_sum = 0, full_p = 0, n_full = 0;

		for (i = 0; i < SLUICE_CLASSES; i++) {
			int a = sluice_class_allow(w->step, i);

			p[i] = sluice_class_permille(s, mask, w->step, i);
			if (!(mask & BIT(i)))
				continue;
			if (a == SLUICE_ALLOW_FLOOR)
				floor_sum += s[i];
			if (a == SLUICE_ALLOW_FULL) {
				full_p += p[i];
				n_full++;
			}
		}
		if (!n_full)
			continue;
		/* each rounds down by less than one */
		NOTE(w, bad, full_p + n_full > (100 - floor_sum) * 10,
		     "shares %u/%u/%u/%u step %u busy %#x: borrowers get %u of the %u left",
		     s[0], s[1], s[2], s[3], w->step, mask, full_p, (100 - floor_sum) * 10);
		for (i = 0; i < SLUICE_CLASSES; i++)
			for (j = 0; j < SLUICE_CLASSES; j++) {
				__u64 lhs, rhs;

				if (i == j || !(mask & BIT(i)) || !(mask & BIT(j)) || !s[i] ||
				    !s[j] || sluice_class_allow(w->step, i) != SLUICE_ALLOW_FULL ||
				    sluice_class_allow(w->step, j) != SLUICE_ALLOW_FULL)
					continue;
				/* p[i] / s[i] and p[j] / s[j] agree up to rounding:
				 * p[i] * s[j] within s[j] of p[j] * s[i] */
				lhs = (__u64)p[i] * s[j];
				rhs = (__u64)p[j] * s[i];
				NOTE(w, bad, lhs + s[j] > rhs && rhs + s[i] > lhs,
				     "shares %u/%u/%u/%u step %u busy %#x: %s %u and %s %u are not "
				     "in proportion", s[0], s[1], s[2], s[3], w->step, mask,
				     names[i], p[i], names[j], p[j]);
			}
	}
	return bad;
}

static void test_permille_borrowers_split_in_proportion(void **state)
{
	struct walk w = { 0 };
	int bad = 0;

	for (w.step = 0; w.step <= SLUICE_LADDER_MAX; w.step++)
		bad += for_each_shares(5, check_proportional, &w);
	assert_int_equal(bad, 0);
}

/* A class held to its floor gets exactly its share, however busy or idle
 * the others are; the borrowers split what is left. */
static void test_permille_floor_is_exact_share(void **state)
{
	static const struct {
		__u8 step, cls;
		__u32 busy, want;
	} cases[] = {
		{ 3, CRIT, ALL_BUSY, 700 },  /* default holds 30 */
		{ 3, CRIT, BIT(CRIT), 1000 }, /* default idle: all of it */
		{ 2, CRIT, ALL_BUSY, 457 },  /* 40 of 70 in the 80 sheddable leaves */
		{ 2, DEF, ALL_BUSY, 342 },
	};
	int bad = 0, step, cls;
	size_t i;
	__u32 mask;

	for (mask = 0; mask <= ALL_BUSY; mask++)
		for (step = 0; step <= 255; step++)
			for (cls = 0; cls < SLUICE_CLASSES; cls++) {
				__u32 got = sluice_class_permille(shares, mask, step, cls);

				if (sluice_class_allow(step, cls) != SLUICE_ALLOW_FLOOR)
					continue;
				CHECK(bad, got == shares[cls] * 10u,
				      "step %d busy %#x: %s at its floor gets %u, want %u", step,
				      mask, names[cls], got, shares[cls] * 10u);
			}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got = sluice_class_permille(shares, cases[i].busy, cases[i].step,
						  cases[i].cls);

		CHECK(bad, got == cases[i].want, "step %u busy %#x, %s: %u, want %u",
		      cases[i].step, cases[i].busy, names[cases[i].cls], got, cases[i].want);
	}
	assert_int_equal(bad, 0);
}

/* A stopped class gets nothing, whatever its share; its share goes to the
 * classes that may still borrow. */
static void test_permille_stopped_is_zero(void **state)
{
	static const __u8 big_scavenger[SLUICE_CLASSES] = { 10, 10, 10, 70 };
	int bad = 0, step, cls;
	__u32 mask, got;

	for (step = 0; step <= 255; step++)
		for (mask = 0; mask <= ALL_BUSY; mask++)
			for (cls = 0; cls < SLUICE_CLASSES; cls++) {
				if (sluice_class_allow(step, cls) != SLUICE_ALLOW_NONE)
					continue;
				got = sluice_class_permille(shares, mask, step, cls);
				CHECK(bad, got == 0, "step %d busy %#x: stopped %s gets %u", step,
				      mask, names[cls], got);
				got = sluice_class_permille(big_scavenger, mask, step, cls);
				CHECK(bad, got == 0,
				      "step %d busy %#x: stopped %s with share %u gets %u", step,
				      mask, names[cls], big_scavenger[cls], got);
			}
	/* step 1, all busy: scavenger's 10 goes to the other three */
	CHECK(bad, sluice_class_permille(shares, ALL_BUSY, 1, CRIT) == 444,
	      "step 1: critical %u, want 444", sluice_class_permille(shares, ALL_BUSY, 1, CRIT));
	CHECK(bad, sluice_class_permille(shares, ALL_BUSY, 1, SHED) == 222,
	      "step 1: sheddable %u, want 222", sluice_class_permille(shares, ALL_BUSY, 1, SHED));
	/* step 3: critical alone may borrow, and takes all that default leaves */
	CHECK(bad, sluice_class_permille(big_scavenger, ALL_BUSY, 3, CRIT) == 900,
	      "step 3: critical %u, want 900",
	      sluice_class_permille(big_scavenger, ALL_BUSY, 3, CRIT));
	assert_int_equal(bad, 0);
}

/*
 * A class may be given share 0: it only borrows. Whenever the ladder lets
 * it borrow it is paced at SLUICE_CLASS_MIN_PERMILLE at least, never to a
 * standstill; held to its floor it has nothing (its guarantee is 0, and
 * the TC program drops it then too).
 */
static int check_min(const __u8 *s, void *ctx)
{
	struct walk *w = ctx;
	int bad = 0, cls;
	__u32 mask;

	for (mask = 0; mask <= ALL_BUSY; mask++)
		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			__u32 got = sluice_class_permille(s, mask, w->step, cls);

			if (sluice_class_allow(w->step, cls) != SLUICE_ALLOW_FULL)
				continue;
			NOTE(w, bad, got >= SLUICE_CLASS_MIN_PERMILLE,
			     "shares %u/%u/%u/%u step %u busy %#x: %s paced at %u", s[0], s[1],
			     s[2], s[3], w->step, mask, names[cls], got);
		}
	return bad;
}

static void test_permille_zero_share_never_standstill(void **state)
{
	static const __u8 two_borrowers[SLUICE_CLASSES] = { 50, 50, 0, 0 };
	struct walk w = { 0 };
	int bad = 0;
	__u32 got;

	for (w.step = 0; w.step <= SLUICE_LADDER_MAX; w.step++)
		bad += for_each_shares(5, check_min, &w);
	got = sluice_class_permille(two_borrowers, ALL_BUSY, 0, SCAV);
	CHECK(bad, got == SLUICE_CLASS_MIN_PERMILLE, "share 0 among busy classes: %u, want %u",
	      got, SLUICE_CLASS_MIN_PERMILLE);
	got = sluice_class_permille(two_borrowers, BIT(SCAV), 0, SCAV);
	CHECK(bad, got == 1000, "share 0 alone: %u, want 1000", got);
	got = sluice_class_permille(two_borrowers, BIT(SCAV), 1, SCAV);
	CHECK(bad, got == 0, "share 0, stopped: %u, want 0", got);
	got = sluice_class_permille(two_borrowers, ALL_BUSY, 2, SHED);
	CHECK(bad, got == 0, "share 0 at its floor: %u, want 0", got);
	assert_int_equal(bad, 0);
}

/*
 * Connections are paced at rate x permille / 1000 of their class, so the
 * busy classes' parts together must not exceed the whole rate: more would
 * be paced than the destination's bucket passes, and the excess dropped.
 * Only the busy classes count: an idle one paces no connection. The one
 * exception: when the floors leave less than the minimum for each busy
 * borrower, both cannot hold, and the minimum wins.
 */
static int check_sum(const __u8 *s, void *ctx)
{
	struct walk *w = ctx;
	int bad = 0, cls;
	__u32 mask;

	for (mask = 1; mask <= ALL_BUSY; mask++) {
		__u32 sum = 0, floor_sum = 0, borrowers = 0;

		for (cls = 0; cls < SLUICE_CLASSES; cls++) {
			int a = sluice_class_allow(w->step, cls);

			if (!(mask & BIT(cls)))
				continue;
			sum += sluice_class_permille(s, mask, w->step, cls);
			if (a == SLUICE_ALLOW_FLOOR)
				floor_sum += s[cls];
			else if (a == SLUICE_ALLOW_FULL)
				borrowers++;
		}
		if ((100 - floor_sum) * 10 < borrowers * SLUICE_CLASS_MIN_PERMILLE)
			continue;
		NOTE(w, bad, sum <= 1000, "shares %u/%u/%u/%u step %u busy %#x: parts sum to %u",
		     s[0], s[1], s[2], s[3], w->step, mask, sum);
	}
	return bad;
}

static int with_all_shares(const __u8 *s, void *ctx)
{
	return s[0] && s[1] && s[2] && s[3] ? check_sum(s, ctx) : 0;
}

static int with_a_zero_share(const __u8 *s, void *ctx)
{
	return s[0] && s[1] && s[2] && s[3] ? 0 : check_sum(s, ctx);
}

static void test_permille_sum_at_most_1000(void **state)
{
	struct walk w = { 0 };
	int bad = 0;

	for (w.step = 0; w.step <= SLUICE_LADDER_MAX; w.step++)
		bad += for_each_shares(3, with_all_shares, &w);
	if (bad)
		tap_note("%d share vectors, steps and busy sets over 1000", bad);
	assert_int_equal(bad, 0);
}

/* The same with classes of share 0, which sluice.conf(5) allows: they
 * borrow, and what they borrow must come out of the same whole. */
static void test_permille_sum_at_most_1000_with_zero_shares(void **state)
{
	/* critical and default guaranteed, the two others only borrow */
	static const __u8 two_borrowers[SLUICE_CLASSES] = { 60, 40, 0, 0 };
	static const __u32 busy[] = { BIT(SHED) | BIT(SCAV), ALL_BUSY };
	struct walk w = { 0 };
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(busy); i++) {
		__u32 sum = 0;
		int cls;

		for (cls = 0; cls < SLUICE_CLASSES; cls++)
			if (busy[i] & BIT(cls))
				sum += sluice_class_permille(two_borrowers, busy[i], 0, cls);
		CHECK(bad, sum <= 1000, "shares 60/40/0/0 busy %#x: parts sum to %u", busy[i], sum);
	}
	for (w.step = 0; w.step <= SLUICE_LADDER_MAX; w.step++)
		bad += for_each_shares(3, with_a_zero_share, &w);
	if (bad)
		tap_note("%d share vectors, steps and busy sets over 1000", bad);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_every_step_and_class),
		cmocka_unit_test(test_allow_beyond_top_step_is_top),
		cmocka_unit_test(test_allow_monotonic_in_step),
		cmocka_unit_test(test_permille_no_shares_is_whole_rate),
		cmocka_unit_test(test_permille_idle_shares_go_to_busy),
		cmocka_unit_test(test_permille_borrowers_split_in_proportion),
		cmocka_unit_test(test_permille_floor_is_exact_share),
		cmocka_unit_test(test_permille_stopped_is_zero),
		cmocka_unit_test(test_permille_zero_share_never_standstill),
		cmocka_unit_test(test_permille_sum_at_most_1000),
		cmocka_unit_test(test_permille_sum_at_most_1000_with_zero_shares),
	};

	return cmocka_run_group_tests_name("classes", tests, NULL, NULL);
}
