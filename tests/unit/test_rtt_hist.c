// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The RTT histogram's bucket layout (include/sluice/rtt_hist.h), which the
 * sock_ops program fills and the daemon reads percentiles from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sluice/rtt_hist.h"
#include "check.h"

#define LAST (SLUICE_RTT_BUCKETS - 1)

/* Values to visit: every one up to 2^20 us, then a dense geometric walk. */
static __u64 next_value(__u64 v)
{
	if (v < (1ULL << 20))
		return v + 1;
	if (v > ~0ULL - v / 64 - 1)
		return 0; /* done */
	return v + v / 64 + 1;
}

static void test_fls64(void **state)
{
	int i;

	assert_int_equal(sluice_fls64(1), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(sluice_fls64(1ULL << i), i);
		assert_int_equal(sluice_fls64((1ULL << i) | 1), i);
		if (i)
			assert_int_equal(sluice_fls64((1ULL << i) - 1), i - 1);
	}
	assert_int_equal(sluice_fls64(~0ULL), 63);
}

static void test_small_values_have_own_bucket(void **state)
{
	__u64 v;

	for (v = 0; v < 4; v++) {
		assert_int_equal(sluice_rtt_bucket(v), v);
		assert_int_equal(sluice_rtt_bucket_low(v), v);
	}
	/* then four sub-buckets per power of two */
	assert_int_equal(sluice_rtt_bucket(4), 4);
	assert_int_equal(sluice_rtt_bucket(5), 5);
	assert_int_equal(sluice_rtt_bucket(7), 7);
	assert_int_equal(sluice_rtt_bucket(8), 8);
	assert_int_equal(sluice_rtt_bucket(9), 8);
	assert_int_equal(sluice_rtt_bucket(10), 9);
	assert_int_equal(sluice_rtt_bucket(16), 12);
}

static void test_bucket_monotonic_and_low_bound(void **state)
{
	__u32 prev = 0, b;
	int bad = 0;
	__u64 v;

	for (v = 0;;) {
		b = sluice_rtt_bucket(v);
		CHECK(bad, b <= LAST, "bucket(%llu) = %u, past the last", (unsigned long long)v, b);
		CHECK(bad, b >= prev, "bucket(%llu) = %u after %u: not monotonic",
		      (unsigned long long)v, b, prev);
		CHECK(bad, sluice_rtt_bucket_low(b) <= v, "low(bucket(%llu)) = %llu > value",
		      (unsigned long long)v, (unsigned long long)sluice_rtt_bucket_low(b));
		/* and the value is below the next bucket's start */
		CHECK(bad, b == LAST || v < sluice_rtt_bucket_low(b + 1),
		      "%llu is not below low(%u) = %llu", (unsigned long long)v, b + 1,
		      (unsigned long long)sluice_rtt_bucket_low(b + 1));
		if (bad > 10)
			break;
		prev = b;
		v = next_value(v);
		if (!v)
			break;
	}
	assert_int_equal(bad, 0);
}

/* bucket_low is the inverse of bucket at every bucket's first value. */
static void test_low_is_inverse(void **state)
{
	__u32 i;

	for (i = 0; i < SLUICE_RTT_BUCKETS; i++) {
		assert_int_equal(sluice_rtt_bucket(sluice_rtt_bucket_low(i)), i);
		if (i)
			assert_true(sluice_rtt_bucket_low(i) > sluice_rtt_bucket_low(i - 1));
	}
}

/* From 4 us on, a bucket is at most 25% wider than its first value. */
static void test_bucket_width_at_most_25_percent(void **state)
{
	int bad = 0;
	__u32 i;

	for (i = 4; i < LAST; i++) {
		__u64 lo = sluice_rtt_bucket_low(i), hi = sluice_rtt_bucket_low(i + 1);

		CHECK(bad, (hi - lo) * 4 <= lo, "bucket %u: [%llu, %llu) is wider than 25%%", i,
		      (unsigned long long)lo, (unsigned long long)hi);
	}
	assert_int_equal(bad, 0);
}

static void test_clamps_at_last_bucket(void **state)
{
	__u64 last_low = sluice_rtt_bucket_low(LAST);

	/* the histogram reaches past 29 s before it clamps */
	assert_true(last_low >= 29000000ULL);
	assert_int_equal(sluice_rtt_bucket(last_low), LAST);
	assert_int_equal(sluice_rtt_bucket(last_low - 1), LAST - 1);
	assert_int_equal(sluice_rtt_bucket(60000000ULL), LAST);   /* 60 s */
	assert_int_equal(sluice_rtt_bucket(0xffffffffULL), LAST); /* 32-bit srtt max */
	assert_int_equal(sluice_rtt_bucket(~0ULL), LAST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fls64),
		cmocka_unit_test(test_small_values_have_own_bucket),
		cmocka_unit_test(test_bucket_monotonic_and_low_bound),
		cmocka_unit_test(test_low_is_inverse),
		cmocka_unit_test(test_bucket_width_at_most_25_percent),
		cmocka_unit_test(test_clamps_at_last_bucket),
	};

	return cmocka_run_group_tests_name("rtt_hist", tests, NULL, NULL);
}
