// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The GCRA bucket arithmetic of include/sluice/bucket.h, the same code the
 * TC program runs: fixed-point cost, zones, refill, rate 0, saturation,
 * GSO wire bytes, and concurrent admission on one bucket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "sluice/bucket.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MBIT(x)       ((__u64)((x) * 125000.0))  /* bytes per second */
#define GBIT(x)       ((__u64)((x) * 125000000.0))
#define FULL_PKT      1514
/* A clock reading well after boot: no test depends on its value. */
#define NOW           (3600ULL * SLUICE_NSEC_PER_SEC)

/*
 * Admit cost_ns-packets from *tat at a fixed time until the first drop;
 * returns how many passed. Stops at limit so that a bucket that never
 * drops cannot hang the test.
 */
static __u64 admit_until_drop(__u64 *tat, __u64 now, __u64 cost, __u64 burst_ns,
			      __u64 limit)
{
	__u64 n, backlog;

	for (n = 0; n < limit; n++)
		if (sluice_bucket_admit(tat, now, cost, burst_ns, burst_ns, 0, &backlog) ==
		    SLUICE_ZONE_DROP)
			break;
	return n;
}

static void test_ns_per_byte_q16_exact_rates(void **state)
{
	assert_int_equal(sluice_ns_per_byte_q16(0), 0);
	assert_int_equal(sluice_ns_per_byte_q16(MBIT(1)), 8000ULL << 16);
	assert_int_equal(sluice_ns_per_byte_q16(GBIT(1)), 8ULL << 16);
	assert_int_equal(sluice_ns_per_byte_q16(1000), 1000000ULL << 16);
	/* below 1kbit the rate is taken as 1kbit, so the cost cannot overflow */
	assert_int_equal(sluice_ns_per_byte_q16(1), sluice_ns_per_byte_q16(SLUICE_RATE_MIN_BPS));
	assert_int_equal(sluice_ns_per_byte_q16(124), sluice_ns_per_byte_q16(SLUICE_RATE_MIN_BPS));
	assert_int_equal(sluice_cost_ticks(FULL_PKT, sluice_ns_per_byte_q16(MBIT(1))),
			 (FULL_PKT * 8000ULL) << SLUICE_TICK_SHIFT);
}

/*
 * A rate of 0 means "pass nothing" (ns_per_byte_q16 == 0 is how the
 * datapath knows). Any other rate, however large, must not read as 0.
 */
static void test_huge_rate_is_not_rate_zero(void **state)
{
	static const __u64 rates[] = {
		GBIT(1000), GBIT(100000), 131072000000000ULL, 1000000000000000ULL,
		~0ULL,
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rates); i++)
		CHECK(bad, sluice_ns_per_byte_q16(rates[i]) != 0,
		      "rate %llu B/s gives ns_per_byte_q16 0: the datapath drops everything",
		      (unsigned long long)rates[i]);
	assert_int_equal(bad, 0);
}

/*
 * Relative error of the time charged for a million full-size packets
 * against the exact time those bytes take at the rate.
 */
static double cost_error(__u64 rate_Bps)
{
	const __u64 n = 1000000;
	__u64 q = sluice_ns_per_byte_q16(rate_Bps);
	double exact = (double)n * FULL_PKT * SLUICE_TICKS_PER_SEC / (double)rate_Bps;
	__u64 charged = 0, i;

	for (i = 0; i < n; i++)
		charged += sluice_cost_ticks(FULL_PKT, q);
	return fabs((double)charged - exact) / exact;
}

static int check_cost_accuracy(const __u64 *rates, size_t n)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double err = cost_error(rates[i]);

		CHECK(bad, err < 0.001, "rate %.3f Gbit/s: 1514-byte packets charged %.3f%% off",
		      rates[i] * 8 / 1e9, err * 100);
	}
	return bad;
}

static void test_cost_accuracy_1mbit_to_10gbit(void **state)
{
	static const __u64 rates[] = {
		MBIT(1), MBIT(1.5), MBIT(10), MBIT(37), MBIT(100), MBIT(333), MBIT(753),
		GBIT(1), GBIT(2.5), GBIT(7.77), GBIT(10),
	};

	assert_int_equal(check_cost_accuracy(rates, ARRAY_SIZE(rates)), 0);
}

static void test_cost_accuracy_10gbit_to_100gbit(void **state)
{
	static const __u64 rates[] = {
		GBIT(14.4), GBIT(25), GBIT(40), GBIT(50), GBIT(80), GBIT(100),
	};

	assert_int_equal(check_cost_accuracy(rates, ARRAY_SIZE(rates)), 0);
}

/*
 * burst 1000 ns, mark 500 ns, 100 ns a packet, full bucket: packets 1..5
 * leave a backlog of at most the mark (pass), 6..10 at most the burst
 * (mark), the 11th would exceed the burst (drop). Equality is inside.
 */
static void test_zones_at_exact_boundaries(void **state)
{
	__u64 tat = NOW, backlog;
	int i;

	for (i = 1; i <= 5; i++) {
		assert_int_equal(sluice_bucket_admit(&tat, NOW, 100, 1000, 500, 0, &backlog),
				 SLUICE_ZONE_PASS);
		assert_int_equal(backlog, i * 100);
	}
	for (i = 6; i <= 10; i++) {
		assert_int_equal(sluice_bucket_admit(&tat, NOW, 100, 1000, 500, 0, &backlog),
				 SLUICE_ZONE_MARK);
		assert_int_equal(backlog, i * 100);
	}
	assert_int_equal(sluice_bucket_admit(&tat, NOW, 100, 1000, 500, 0, &backlog),
			 SLUICE_ZONE_DROP);
	assert_int_equal(backlog, 1100);
	assert_int_equal(tat, NOW + 1000);
	/* one nanosecond later a 1 ns packet fits exactly, a 2 ns one does not */
	assert_int_equal(sluice_bucket_admit(&tat, NOW + 1, 2, 1000, 500, 0, &backlog),
			 SLUICE_ZONE_DROP);
	assert_int_equal(sluice_bucket_admit(&tat, NOW + 1, 1, 1000, 500, 0, &backlog),
			 SLUICE_ZONE_MARK);
	assert_int_equal(backlog, 1000);
}

static void test_drop_does_not_charge(void **state)
{
	__u64 tat = NOW + 900, backlog;

	assert_int_equal(sluice_bucket_admit(&tat, NOW, 200, 1000, 500, 0, &backlog),
			 SLUICE_ZONE_DROP);
	assert_int_equal(tat, NOW + 900);
	assert_int_equal(backlog, 1100); /* what it would have been */
	/* a smaller packet still fits after the drop */
	assert_int_equal(sluice_bucket_admit(&tat, NOW, 100, 1000, 500, 0, &backlog),
			 SLUICE_ZONE_MARK);
	assert_int_equal(tat, NOW + 1000);
}

/* After a long idle the bucket holds one burst, never more. */
static void test_idle_refill_capped_at_burst(void **state)
{
	__u64 q = sluice_ns_per_byte_q16(MBIT(1));
	__u64 cost = sluice_cost_ticks(FULL_PKT, q);
	__u64 burst_ns = sluice_bytes_to_ticks(4 * FULL_PKT, MBIT(1));
	__u64 tat = 0;

	/* idle since boot */
	assert_int_equal(admit_until_drop(&tat, NOW, cost, burst_ns, 100), 4);
	/* idle for a thousand bursts */
	tat = NOW - 1000 * burst_ns;
	assert_int_equal(admit_until_drop(&tat, NOW, cost, burst_ns, 100), 4);
	assert_int_equal(tat, NOW + 4 * cost);
}

/* Waiting t refills exactly t worth of bytes. */
static void test_refill_matches_elapsed_time(void **state)
{
	__u64 cost = sluice_cost_ticks(FULL_PKT, sluice_ns_per_byte_q16(MBIT(1)));
	__u64 burst_ns = 10 * cost;
	__u64 tat = NOW, now = NOW;

	assert_int_equal(admit_until_drop(&tat, now, cost, burst_ns, 100), 10);
	now += 3 * cost - 1;
	assert_int_equal(admit_until_drop(&tat, now, cost, burst_ns, 100), 2);
	now += 1;
	assert_int_equal(admit_until_drop(&tat, now, cost, burst_ns, 100), 1);
	now += 100 * cost;
	assert_int_equal(admit_until_drop(&tat, now, cost, burst_ns, 100), 10);
}

/*
 * The datapath derives the burst from the policy's bytes with an exact
 * division (sluice_bytes_to_ticks) and a packet's cost from the rounded
 * fixed-point rate (sluice_cost_ticks). A burst of exactly k full-size
 * packets, from a full bucket, must admit k of them at every rate; with
 * k = 1 (the smallest burst policy_validate accepts) a lower count means
 * that destination can never send a full-size packet.
 */
static void test_burst_of_k_packets_admits_k_at_every_rate(void **state)
{
	static const unsigned int ks[] = { 1, 2, 3, 10, 43 };
	int bad = 0, shown = 0;
	__u64 mbit;
	size_t i;

	for (mbit = 1; mbit <= 10000; mbit++) {
		__u64 rate = mbit * 125000;
		__u64 cost = sluice_cost_ticks(FULL_PKT, sluice_ns_per_byte_q16(rate));

		for (i = 0; i < ARRAY_SIZE(ks); i++) {
			__u64 burst_ns = sluice_bytes_to_ticks((__u64)ks[i] * FULL_PKT, rate);
			__u64 tat = 0, n = admit_until_drop(&tat, NOW, cost, burst_ns, 100);

			if (n == ks[i])
				continue;
			bad++;
			if (shown++ < 8)
				tap_note("%llumbit, burst %u x 1514 bytes: %llu admitted (cost %llu ns, burst %llu ns)",
					 (unsigned long long)mbit, ks[i], (unsigned long long)n,
					 (unsigned long long)cost, (unsigned long long)burst_ns);
		}
	}
	if (bad)
		tap_note("%d (rate, burst) pairs of %zu admit another count than the burst holds",
			 bad, (size_t)10000 * ARRAY_SIZE(ks));
	assert_int_equal(bad, 0);
}

static void test_rate_zero_admits_nothing(void **state)
{
	__u64 q = sluice_ns_per_byte_q16(0);
	__u64 tat = 0, backlog = 0;
	int i;

	assert_int_equal(q, 0);
	assert_int_equal(sluice_bytes_to_ticks(FULL_PKT, 0), 0);
	assert_int_equal(sluice_cost_ticks(FULL_PKT, q), 0);
	for (i = 0; i < 3; i++) {
		/* even a full bucket after a long idle passes nothing */
		assert_int_equal(sluice_bucket_admit(&tat, NOW + i * SLUICE_NSEC_PER_SEC, 0,
						     ~0ULL, ~0ULL, q == 0, &backlog),
				 SLUICE_ZONE_DROP);
		assert_int_equal(tat, 0);
		assert_true(backlog == ~0ULL);
	}
}

static void test_bytes_to_ticks_saturates(void **state)
{
	const __u64 lim = ~0ULL / SLUICE_TICKS_PER_SEC;

	assert_int_equal(sluice_bytes_to_ticks(FULL_PKT, MBIT(1)),
			 (FULL_PKT * 8000ULL) << SLUICE_TICK_SHIFT);
	/* exact up to the limit, saturated past it: never wrapped */
	assert_int_equal(sluice_bytes_to_ticks(lim, 1), lim * SLUICE_TICKS_PER_SEC);
	assert_true(sluice_bytes_to_ticks(0xffffffffULL, SLUICE_RATE_MIN_BPS) == ~0ULL);
	assert_true(sluice_bytes_to_ticks(lim + 1, 1) == ~0ULL);
	assert_true(sluice_bytes_to_ticks(~0ULL, 1) == ~0ULL);
	assert_true(sluice_bytes_to_ticks(~0ULL, ~0ULL) == ~0ULL);
	/* never smaller for more bytes */
	assert_true(sluice_bytes_to_ticks(lim + 1, GBIT(100)) >= sluice_bytes_to_ticks(lim, GBIT(100)));
}

static void test_cost_saturates_without_overflow(void **state)
{
	__u64 qmin = sluice_ns_per_byte_q16(SLUICE_RATE_MIN_BPS);
	__u64 cap = sluice_cost_ticks(SLUICE_WIRE_MAX_BYTES, qmin);
	__u64 tat = NOW, backlog, burst_ns;

	/* the largest cost there is: 2^24 bytes at 1kbit, 8 ms a byte */
	assert_int_equal(cap, ((__u64)SLUICE_WIRE_MAX_BYTES * 8000000ULL) << SLUICE_TICK_SHIFT);
	assert_int_equal(sluice_cost_ticks(SLUICE_WIRE_MAX_BYTES + 1ULL, qmin), cap);
	assert_int_equal(sluice_cost_ticks(~0ULL, qmin), cap);
	assert_int_equal(sluice_cost_ticks(~0ULL, sluice_ns_per_byte_q16(1)), cap);
	/* the largest burst at 1kbit holds it: charged without wrapping */
	burst_ns = sluice_bytes_to_ticks(0xffffffffULL, SLUICE_RATE_MIN_BPS);
	assert_int_equal(sluice_bucket_admit(&tat, NOW, cap, burst_ns, burst_ns, 0, &backlog),
			 SLUICE_ZONE_PASS);
	assert_int_equal(backlog, cap);
	assert_int_equal(tat, NOW + cap);
	/* a burst one byte short of it drops it, the bucket untouched */
	tat = NOW;
	burst_ns = sluice_bytes_to_ticks(SLUICE_WIRE_MAX_BYTES - 1, SLUICE_RATE_MIN_BPS);
	assert_int_equal(sluice_bucket_admit(&tat, NOW, cap, burst_ns, 0, 0, &backlog),
			 SLUICE_ZONE_DROP);
	assert_int_equal(tat, NOW);
	assert_int_equal(backlog, cap);
}

static void test_wire_bytes_gso(void **state)
{
	assert_int_equal(sluice_wire_bytes(1514, 0, 54), 1514);
	assert_int_equal(sluice_wire_bytes(1514, 1, 54), 1514);
	assert_int_equal(sluice_wire_bytes(60, 1, 60), 60);
	/* 2 x 1448 bytes of TCP payload behind 66 bytes of headers */
	assert_int_equal(sluice_wire_bytes(66 + 2 * 1448, 2, 66), 2 * (66 + 1448));
	/* a 64 KiB super-packet of 45 segments */
	assert_int_equal(sluice_wire_bytes(66 + 45 * 1448, 45, 66), 45 * (66 + 1448));
	assert_int_equal(sluice_wire_bytes(86 + 45 * 1428, 45, 86), 45 * (86 + 1428));
	/* no 32-bit overflow */
	assert_int_equal(sluice_wire_bytes(0xffffffffU, 0xffffffffU, 0xffffffffU),
			 0xffffffffULL + 0xfffffffeULL * 0xffffffffULL);
}

static void test_bucket_tokens(void **state)
{
	__u64 rate = MBIT(1), per_byte = 8000 << SLUICE_TICK_SHIFT, burst = 10000;

	assert_int_equal(sluice_bucket_tokens(0, NOW, burst, rate), burst);
	assert_int_equal(sluice_bucket_tokens(NOW, NOW, burst, rate), burst);
	assert_int_equal(sluice_bucket_tokens(NOW + 4000 * per_byte, NOW, burst, rate), 6000);
	assert_int_equal(sluice_bucket_tokens(NOW + 10000 * per_byte, NOW, burst, rate), 0);
	assert_int_equal(sluice_bucket_tokens(NOW + 20000 * per_byte, NOW, burst, rate), 0);
	/* a backlog whose byte count would overflow 64 bits */
	assert_int_equal(sluice_bucket_tokens(~0ULL, 0, burst, GBIT(100)), 0);
}

/* A bucket at rate 0 admits nothing, so it has nothing to show. */
static void test_bucket_tokens_rate_zero_is_zero(void **state)
{
	assert_int_equal(sluice_bucket_tokens(0, NOW, 10000, 0), 0);
	assert_int_equal(sluice_bucket_tokens(NOW + 1000, NOW, 10000, 0), 0);
}

/*
 * Many CPUs on one bucket. Threads admit on one shared tat at one fixed
 * time, so nothing refills and exactly burst_ns / cost packets fit. The
 * compare-and-swap loop makes that exact; after four lost races in one
 * call bucket.h charges with an atomic add that skips the burst check,
 * allowing at most one packet per racing thread beyond the burst. Every
 * charge made is in tat: tat == now + admitted * cost, always.
 */
#define RACE_THREADS 4
#define RACE_CAP     2000000ULL
#define RACE_COST    100ULL
#define RACE_CALLS   1000000

struct racer {
	pthread_t tid;
	pthread_barrier_t *start;
	__u64 *tat;
	__u64 admitted;
	__u64 bad_backlog; /* admitted above the bound, or dropped within it */
};

static void *race(void *arg)
{
	struct racer *r = arg;
	const __u64 burst_ns = RACE_CAP * RACE_COST;
	__u64 backlog;
	int i, zone;

	pthread_barrier_wait(r->start);
	for (i = 0; i < RACE_CALLS; i++) {
		zone = sluice_bucket_admit(r->tat, NOW, RACE_COST, burst_ns, burst_ns / 2, 0,
					   &backlog);
		if (zone == SLUICE_ZONE_DROP) {
			if (backlog <= burst_ns)
				r->bad_backlog++;
			continue;
		}
		r->admitted++;
		if (backlog < RACE_COST || backlog > burst_ns + RACE_THREADS * RACE_COST)
			r->bad_backlog++;
	}
	return NULL;
}

static void test_concurrent_admits_on_one_bucket(void **state)
{
	struct racer r[RACE_THREADS];
	pthread_barrier_t start;
	__u64 tat = NOW - 5 * SLUICE_NSEC_PER_SEC; /* idle: a full bucket */
	__u64 total = 0, bad_backlog = 0;
	int round, i;

	for (round = 0; round < 5; round++) {
		tat = NOW - 5 * SLUICE_NSEC_PER_SEC;
		total = 0;
		assert_int_equal(pthread_barrier_init(&start, NULL, RACE_THREADS), 0);
		for (i = 0; i < RACE_THREADS; i++) {
			r[i] = (struct racer){ .start = &start, .tat = &tat };
			assert_int_equal(pthread_create(&r[i].tid, NULL, race, &r[i]), 0);
		}
		for (i = 0; i < RACE_THREADS; i++) {
			assert_int_equal(pthread_join(r[i].tid, NULL), 0);
			total += r[i].admitted;
			bad_backlog += r[i].bad_backlog;
		}
		pthread_barrier_destroy(&start);

		if (total != RACE_CAP)
			tap_note("round %d: %llu admitted, burst holds %llu", round,
				 (unsigned long long)total, (unsigned long long)RACE_CAP);
		/* no lost admission, overshoot bounded */
		assert_true(total >= RACE_CAP);
		assert_true(total <= RACE_CAP + RACE_THREADS);
		/* no lost and no doubled charge */
		assert_int_equal(tat, NOW + total * RACE_COST);
		assert_int_equal(bad_backlog, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ns_per_byte_q16_exact_rates),
		cmocka_unit_test(test_huge_rate_is_not_rate_zero),
		cmocka_unit_test(test_cost_accuracy_1mbit_to_10gbit),
		cmocka_unit_test(test_cost_accuracy_10gbit_to_100gbit),
		cmocka_unit_test(test_zones_at_exact_boundaries),
		cmocka_unit_test(test_drop_does_not_charge),
		cmocka_unit_test(test_idle_refill_capped_at_burst),
		cmocka_unit_test(test_refill_matches_elapsed_time),
		cmocka_unit_test(test_burst_of_k_packets_admits_k_at_every_rate),
		cmocka_unit_test(test_rate_zero_admits_nothing),
		cmocka_unit_test(test_bytes_to_ticks_saturates),
		cmocka_unit_test(test_cost_saturates_without_overflow),
		cmocka_unit_test(test_wire_bytes_gso),
		cmocka_unit_test(test_bucket_tokens),
		cmocka_unit_test(test_bucket_tokens_rate_zero_is_zero),
		cmocka_unit_test(test_concurrent_admits_on_one_bucket),
	};

	return cmocka_run_group_tests_name("bucket", tests, NULL, NULL);
}
