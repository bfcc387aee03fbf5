// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy values before they reach the maps: defaults for burst and mark
 * threshold, validation, and modes. (The map operations are exercised
 * against real maps in the program and integration tiers.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/policy.h"
#include "sluice/bucket.h"
#include "check.h"

#define MBIT(x) ((__u64)((x) * 125000.0))
#define GBIT(x) ((__u64)((x) * 125000000.0))

static struct sluice_policy valid_policy(void)
{
	return (struct sluice_policy){
		.rate_Bps = MBIT(50),
		.burst_bytes = 64 * 1024,
		.mark_thresh = 16 * 1024,
		.mode = SLUICE_MODE_ENFORCE,
	};
}

static void test_defaults_burst_is_10ms_at_rate(void **state)
{
	struct sluice_policy p = { .rate_Bps = GBIT(10) };

	policy_fill_defaults(&p);
	assert_int_equal(p.burst_bytes, GBIT(10) / 100); /* 12.5 MB */
	assert_int_equal(p.mark_thresh, p.burst_bytes / 4);
}

static void test_defaults_burst_floor(void **state)
{
	struct sluice_policy slow = { .rate_Bps = MBIT(1) };
	struct sluice_policy zero = { .rate_Bps = 0 };

	/* 10 ms of 1mbit is 1250 bytes: raised to two GSO super-packets */
	policy_fill_defaults(&slow);
	assert_int_equal(slow.burst_bytes, SLUICE_BURST_MIN);
	assert_int_equal(slow.mark_thresh, SLUICE_BURST_MIN / 4);
	policy_fill_defaults(&zero);
	assert_int_equal(zero.burst_bytes, SLUICE_BURST_MIN);
}

static void test_defaults_keep_explicit_values(void **state)
{
	struct sluice_policy p = { .rate_Bps = GBIT(10), .burst_bytes = 3000,
				   .mark_thresh = 1500 };
	struct sluice_policy q = { .rate_Bps = GBIT(10), .burst_bytes = 3000 };

	policy_fill_defaults(&p);
	assert_int_equal(p.burst_bytes, 3000);
	assert_int_equal(p.mark_thresh, 1500);
	/* an explicit burst gets its default threshold from that burst */
	policy_fill_defaults(&q);
	assert_int_equal(q.burst_bytes, 3000);
	assert_int_equal(q.mark_thresh, 750);
}

/* The largest rate a policy may have gets the largest burst there is. */
static void test_defaults_burst_at_largest_rate(void **state)
{
	struct sluice_policy p = { .rate_Bps = SLUICE_RATE_MAX_BPS };

	policy_fill_defaults(&p);
	assert_int_equal(p.burst_bytes, 0xffffffffU);
	assert_int_equal(p.mark_thresh, 0xffffffffU / 4);
}

/* A higher rate never gets a smaller default burst. */
static void test_defaults_burst_monotonic_in_rate(void **state)
{
	__u32 prev = 0;
	int bad = 0;
	__u64 r;

	for (r = 0; r <= SLUICE_RATE_MAX_BPS; r = r * 5 / 4 + 1000) {
		struct sluice_policy p = { .rate_Bps = r };

		policy_fill_defaults(&p);
		CHECK(bad, p.burst_bytes >= prev, "rate %llu B/s: default burst %u < %u",
		      (unsigned long long)r, p.burst_bytes, prev);
		CHECK(bad, p.burst_bytes >= SLUICE_BURST_MIN, "rate %llu B/s: burst %u",
		      (unsigned long long)r, p.burst_bytes);
		prev = p.burst_bytes;
	}
	assert_int_equal(bad, 0);
}

static void test_defaults_adaptive_range(void **state)
{
	struct sluice_policy only_max = { .controller = SLUICE_CTRL_GRADIENT,
					  .max_Bps = GBIT(10) };
	struct sluice_policy only_rate = { .controller = SLUICE_CTRL_AIMD,
					   .rate_Bps = MBIT(100) };
	struct sluice_policy tiny = { .controller = SLUICE_CTRL_GRADIENT,
				      .max_Bps = MBIT(0.01) };
	struct sluice_policy both = { .controller = SLUICE_CTRL_GRADIENT,
				      .rate_Bps = MBIT(100), .max_Bps = GBIT(1) };
	const char *why;

	/* rate starts at max, min is a hundredth of max */
	policy_fill_defaults(&only_max);
	assert_int_equal(only_max.rate_Bps, GBIT(10));
	assert_int_equal(only_max.min_Bps, GBIT(10) / 100);
	assert_int_equal(only_max.burst_bytes, GBIT(10) / 100);
	assert_int_equal(policy_validate(&only_max, &why), 0);

	/* max is the rate */
	policy_fill_defaults(&only_rate);
	assert_int_equal(only_rate.max_Bps, MBIT(100));
	assert_int_equal(only_rate.min_Bps, MBIT(1));
	assert_int_equal(policy_validate(&only_rate, &why), 0);

	/* min never below 1kbit */
	policy_fill_defaults(&tiny);
	assert_int_equal(tiny.min_Bps, SLUICE_RATE_MIN_BPS);
	assert_int_equal(policy_validate(&tiny, &why), 0);

	/* burst from the highest rate the policy allows, not the start */
	policy_fill_defaults(&both);
	assert_int_equal(both.rate_Bps, MBIT(100));
	assert_int_equal(both.burst_bytes, GBIT(1) / 100);
	assert_int_equal(policy_validate(&both, &why), 0);
}

static void test_validate_accepts_valid(void **state)
{
	struct sluice_policy p = valid_policy();
	const char *why = NULL;

	assert_int_equal(policy_validate(&p, &why), 0);
	/* filled defaults are valid at any rate a policy can be given */
	p = (struct sluice_policy){ .rate_Bps = MBIT(1) };
	policy_fill_defaults(&p);
	assert_int_equal(policy_validate(&p, &why), 0);
	/* rate 0 is valid: it passes nothing */
	p.rate_Bps = 0;
	assert_int_equal(policy_validate(&p, &why), 0);
	p = valid_policy();
	p.mode = SLUICE_MODE_MONITOR;
	assert_int_equal(policy_validate(&p, &why), 0);
}

static void test_validate_boundaries(void **state)
{
	struct sluice_policy p = valid_policy();
	const char *why = NULL;

	p.rate_Bps = SLUICE_RATE_MIN_BPS;
	assert_int_equal(policy_validate(&p, &why), 0);
	p.rate_Bps = SLUICE_RATE_MIN_BPS - 1;
	why = NULL;
	assert_int_equal(policy_validate(&p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "rate"));

	p = valid_policy();
	p.burst_bytes = 1514;
	p.mark_thresh = 0;
	assert_int_equal(policy_validate(&p, &why), 0);
	p.burst_bytes = 1513;
	why = NULL;
	assert_int_equal(policy_validate(&p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "burst"));

	p = valid_policy();
	p.mark_thresh = p.burst_bytes;
	assert_int_equal(policy_validate(&p, &why), 0);
	p.mark_thresh = p.burst_bytes + 1;
	why = NULL;
	assert_int_equal(policy_validate(&p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "threshold"));

	p = valid_policy();
	p.mode = 2;
	why = NULL;
	assert_int_equal(policy_validate(&p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "mode"));
}

static void expect_invalid(const struct sluice_policy *p, const char *what)
{
	const char *why = NULL;

	if (policy_validate(p, &why) != -EINVAL)
		fail_msg("%s: accepted", what);
	if (!why || !*why)
		fail_msg("%s: refused without a reason", what);
}

static void test_validate_rate_ceiling(void **state)
{
	struct sluice_policy p = valid_policy();
	const char *why;

	p.rate_Bps = SLUICE_RATE_MAX_BPS;
	assert_int_equal(policy_validate(&p, &why), 0);
	p.rate_Bps = SLUICE_RATE_MAX_BPS + 1;
	expect_invalid(&p, "rate above the ceiling");

	p = valid_policy();
	p.controller = SLUICE_CTRL_GRADIENT;
	p.min_Bps = MBIT(1);
	p.max_Bps = SLUICE_RATE_MAX_BPS + 1;
	expect_invalid(&p, "max above the ceiling");
}

static void test_validate_controllers(void **state)
{
	struct sluice_policy p = valid_policy();
	const char *why;

	p.controller = SLUICE_CTRL_MAX;
	expect_invalid(&p, "unknown controller");

	p = valid_policy();
	p.fail_mode = SLUICE_FAIL_OPEN;
	assert_int_equal(policy_validate(&p, &why), 0);
	p.fail_mode = SLUICE_FAIL_OPEN + 1;
	expect_invalid(&p, "unknown fail mode");

	/* a static limit has no range */
	p = valid_policy();
	p.max_Bps = GBIT(1);
	expect_invalid(&p, "static with a max");
	p = valid_policy();
	p.min_Bps = MBIT(1);
	expect_invalid(&p, "static with a min");

	/* adaptive: min <= rate <= max, min at least 1kbit */
	p = valid_policy();
	p.controller = SLUICE_CTRL_AIMD;
	p.min_Bps = MBIT(1);
	p.max_Bps = MBIT(100);
	assert_int_equal(policy_validate(&p, &why), 0);
	p.max_Bps = 0;
	expect_invalid(&p, "adaptive without a max");
	p.max_Bps = MBIT(100);
	p.min_Bps = SLUICE_RATE_MIN_BPS - 1;
	expect_invalid(&p, "min below 1kbit");
	p.min_Bps = MBIT(60);
	expect_invalid(&p, "min above rate");
	p.min_Bps = MBIT(1);
	p.max_Bps = MBIT(40);
	expect_invalid(&p, "rate above max");
	p.min_Bps = p.rate_Bps;
	p.max_Bps = p.rate_Bps;
	assert_int_equal(policy_validate(&p, &why), 0);
}

/*
 * A valid policy means what it says in the datapath: a rate other than 0
 * is not "pass nothing" (see test_bucket's huge-rate case), so a rate the
 * fixed-point bucket cannot represent is refused here.
 */
static void test_validate_refuses_rates_the_bucket_reads_as_zero(void **state)
{
	static const __u64 rates[] = { 1000000000000000ULL, ~0ULL };
	int bad = 0;
	size_t i;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct sluice_policy p = valid_policy();
		const char *why;

		p.rate_Bps = rates[i];
		CHECK(bad, policy_validate(&p, &why) != 0 ||
			   sluice_ns_per_byte_q16(p.rate_Bps) != 0,
		      "rate %llu B/s validates but the datapath treats it as rate 0",
		      (unsigned long long)rates[i]);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_mode(void **state)
{
	static const char *const refused[] = {
		"", "Enforce", "MONITOR", "enforce ", " monitor", "enf", "drop", "0", "1",
	};
	__u16 mode;
	size_t i;

	assert_int_equal(parse_mode("enforce", &mode), 0);
	assert_int_equal(mode, SLUICE_MODE_ENFORCE);
	assert_int_equal(parse_mode("monitor", &mode), 0);
	assert_int_equal(mode, SLUICE_MODE_MONITOR);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		mode = 0xa5a5;
		if (parse_mode(refused[i], &mode) != -EINVAL)
			fail_msg("parse_mode(\"%s\") accepted", refused[i]);
		assert_int_equal(mode, 0xa5a5);
	}
}

static void test_mode_name_round_trip(void **state)
{
	__u16 modes[] = { SLUICE_MODE_ENFORCE, SLUICE_MODE_MONITOR }, back;
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(parse_mode(mode_name(modes[i]), &back), 0);
		assert_int_equal(back, modes[i]);
	}
	assert_string_equal(mode_name(7), "unknown");
	assert_int_equal(parse_mode(mode_name(7), &back), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_burst_is_10ms_at_rate),
		cmocka_unit_test(test_defaults_burst_floor),
		cmocka_unit_test(test_defaults_keep_explicit_values),
		cmocka_unit_test(test_defaults_burst_at_largest_rate),
		cmocka_unit_test(test_defaults_burst_monotonic_in_rate),
		cmocka_unit_test(test_defaults_adaptive_range),
		cmocka_unit_test(test_validate_accepts_valid),
		cmocka_unit_test(test_validate_boundaries),
		cmocka_unit_test(test_validate_rate_ceiling),
		cmocka_unit_test(test_validate_controllers),
		cmocka_unit_test(test_validate_refuses_rates_the_bucket_reads_as_zero),
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test(test_mode_name_round_trip),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
