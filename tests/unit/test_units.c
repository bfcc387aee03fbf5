// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rates, sizes and durations as operators write them (tc(8) units), and
 * the forms sluice prints them in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "lib/units.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL   0x5a5a5a5a5a5a5a5aULL
#define SENTINEL32 0x5a5a5a5aU

struct rate_case {
	const char *in;
	__u64 Bps;
};

struct size_case {
	const char *in;
	__u32 bytes;
};

struct dur_case {
	const char *in;
	__u64 ns;
};

static int check_rates(const struct rate_case *cases, size_t n)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		__u64 got = SENTINEL;
		int err = parse_rate(cases[i].in, &got);

		CHECK(bad, err == 0, "parse_rate(\"%s\") refused (%d)", cases[i].in, err);
		CHECK(bad, err || got == cases[i].Bps,
		      "parse_rate(\"%s\") = %llu B/s, want %llu", cases[i].in,
		      (unsigned long long)got, (unsigned long long)cases[i].Bps);
	}
	return bad;
}

static void test_parse_rate_every_unit(void **state)
{
	static const struct rate_case cases[] = {
		{ "0", 0 },
		{ "8", 1 },                     /* bare number: bit/s */
		{ "8000", 1000 },
		{ "800bit", 100 },
		{ "1kbit", 125 },
		{ "1mbit", 125000 },
		{ "1gbit", 125000000 },
		{ "1tbit", 125000000000ULL },
		{ "1bps", 1 },                  /* bps: bytes per second */
		{ "1kbps", 1000 },
		{ "1mbps", 1000000 },
		{ "1gbps", 1000000000 },
		{ "1tbps", 1000000000000ULL },
		{ "100gbit", 12500000000ULL },
		{ "10tbit", 1250000000000ULL },
	};

	assert_int_equal(check_rates(cases, ARRAY_SIZE(cases)), 0);
}

static void test_parse_rate_decimals_and_case(void **state)
{
	static const struct rate_case cases[] = {
		{ "1.5mbit", 187500 },
		{ "0.5gbit", 62500000 },
		{ "12.5mbit", 1562500 },
		{ "2.5gbps", 2500000000ULL },
		{ "50MBIT", 6250000 },
		{ "50Mbit", 6250000 },
		{ "50mBiT", 6250000 },
		{ "3KBPS", 3000 },
		{ "1Tbit", 125000000000ULL },
	};

	assert_int_equal(check_rates(cases, ARRAY_SIZE(cases)), 0);
}

static void test_parse_rate_rejects_leave_output(void **state)
{
	static const char *const refused[] = {
		"", "-1mbit", "+1mbit", "50mbt", "mbit", "1e3mbit", "inf", "infbit",
		"nan", " 5mbit", "5mbit ", "5 mbit", "0x10mbit", "1,5mbit",
		"1.5.5mbit", "5kibit", "5mb", "5b",
		/* beyond 64 bits of bytes per second */
		"20000000000000000000bps", "1000000000tbps",
		"160000000000000000000bit",
	};
	int bad = 0;
	size_t i;
	__u64 out;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		int err;

		out = SENTINEL;
		err = parse_rate(refused[i], &out);
		CHECK(bad, err == -EINVAL, "parse_rate(\"%s\") = %d, want -EINVAL",
		      refused[i], err);
		CHECK(bad, out == SENTINEL, "parse_rate(\"%s\") wrote *out on error",
		      refused[i]);
	}
	out = SENTINEL;
	CHECK(bad, parse_rate(NULL, &out) == -EINVAL, "parse_rate(NULL) accepted");
	CHECK(bad, out == SENTINEL, "parse_rate(NULL) wrote *out");
	assert_int_equal(bad, 0);
}

/*
 * Values between 2^63 and 2^64 still fit the 64-bit result: they must come
 * out exact, or be refused, never turned into another value.
 */
static void test_parse_above_2_63_exact_or_refused(void **state)
{
	static const struct rate_case cases[] = {
		{ "10000000000000000000bps", 10000000000000000000ULL },
		{ "9300000000000000000bps", 9300000000000000000ULL },
		{ "80000000000000000000bit", 10000000000000000000ULL },
	};
	static const struct dur_case durations[] = {
		{ "10000000000s", 10000000000000000000ULL },
		{ "9300000000000000000ns", 9300000000000000000ULL },
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u64 got = SENTINEL;
		int err = parse_rate(cases[i].in, &got);

		CHECK(bad, err || got == cases[i].Bps,
		      "parse_rate(\"%s\") = %llu B/s, want %llu or -EINVAL", cases[i].in,
		      (unsigned long long)got, (unsigned long long)cases[i].Bps);
		CHECK(bad, !err || got == SENTINEL,
		      "parse_rate(\"%s\") wrote *out on error", cases[i].in);
	}
	for (i = 0; i < ARRAY_SIZE(durations); i++) {
		__u64 got = SENTINEL;
		int err = parse_duration_ns(durations[i].in, &got);

		CHECK(bad, err || got == durations[i].ns,
		      "parse_duration_ns(\"%s\") = %llu, want %llu or -EINVAL",
		      durations[i].in, (unsigned long long)got,
		      (unsigned long long)durations[i].ns);
		CHECK(bad, !err || got == SENTINEL,
		      "parse_duration_ns(\"%s\") wrote *out on error", durations[i].in);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_size_tc_units(void **state)
{
	static const struct size_case cases[] = {
		{ "0", 0 },
		{ "1500", 1500 },   /* bare number: bytes */
		{ "1500b", 1500 },
		{ "1k", 1024 },     /* binary, as tc */
		{ "1kb", 1024 },
		{ "1KB", 1024 },
		{ "64kb", 65536 },
		{ "1.5kb", 1536 },
		{ "1m", 1048576 },
		{ "1mb", 1048576 },
		{ "1g", 1073741824 },
		{ "1gb", 1073741824 },
		{ "3gb", 3221225472U },
		{ "1kbit", 128 },   /* bits of the binary unit */
		{ "1mbit", 131072 },
		{ "1gbit", 134217728 },
		{ "4294967295", 4294967295U },
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got = SENTINEL32;
		int err = parse_size(cases[i].in, &got);

		CHECK(bad, err == 0, "parse_size(\"%s\") refused (%d)", cases[i].in, err);
		CHECK(bad, err || got == cases[i].bytes, "parse_size(\"%s\") = %u, want %u",
		      cases[i].in, got, cases[i].bytes);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_size_rejects_leave_output(void **state)
{
	static const char *const refused[] = {
		"", "-1kb", "kb", "1kib", "1tb", "1e3kb", "inf", " 1kb", "1 kb",
		"1kb ", "0x10kb",
		"4gb",        /* 2^32: one more than fits */
		"4294967296", "5gb",
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		__u32 out = SENTINEL32;
		int err = parse_size(refused[i], &out);

		CHECK(bad, err == -EINVAL, "parse_size(\"%s\") = %d, want -EINVAL",
		      refused[i], err);
		CHECK(bad, out == SENTINEL32, "parse_size(\"%s\") wrote *out on error",
		      refused[i]);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_duration(void **state)
{
	static const struct dur_case cases[] = {
		{ "0", 0 },
		{ "1ns", 1 },
		{ "1us", 1000 },
		{ "250US", 250000 },
		{ "1ms", 1000000 },
		{ "5", 5000000 },   /* bare number: milliseconds */
		{ "1s", 1000000000 },
		{ "1.5s", 1500000000 },
		{ "0.25ms", 250000 },
		{ "3600s", 3600000000000ULL },
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u64 got = SENTINEL;
		int err = parse_duration_ns(cases[i].in, &got);

		CHECK(bad, err == 0, "parse_duration_ns(\"%s\") refused (%d)", cases[i].in,
		      err);
		CHECK(bad, err || got == cases[i].ns, "parse_duration_ns(\"%s\") = %llu, want %llu",
		      cases[i].in, (unsigned long long)got, (unsigned long long)cases[i].ns);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_duration_rejects_leave_output(void **state)
{
	static const char *const refused[] = {
		"", "-1s", "1m", "1min", "1sec", "1 s", "s", "inf", "1e3ms", " 1s",
		"20000000000s", /* 2e19 ns: beyond 64 bits */
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		__u64 out = SENTINEL;
		int err = parse_duration_ns(refused[i], &out);

		CHECK(bad, err == -EINVAL, "parse_duration_ns(\"%s\") = %d, want -EINVAL",
		      refused[i], err);
		CHECK(bad, out == SENTINEL, "parse_duration_ns(\"%s\") wrote *out on error",
		      refused[i]);
	}
	assert_int_equal(bad, 0);
}

static void test_format_rate_values(void **state)
{
	static const struct {
		__u64 Bps;
		const char *want;
	} cases[] = {
		{ 0, "0bit" },
		{ 100, "800bit" },
		{ 125, "1Kbit" },
		{ 125000, "1Mbit" },
		{ 6250000, "50Mbit" },
		{ 12500000000ULL, "100Gbit" },
		{ 1250000000000ULL, "10Tbit" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(format_rate(buf, sizeof(buf), cases[i].Bps),
				    cases[i].want);
}

/* units.h promises the shortest form: "1.5Gbit", not "1.50Gbit". */
static void test_format_rate_shortest_form(void **state)
{
	char buf[32];
	int bad = 0;

	format_rate(buf, sizeof(buf), 187500000);
	CHECK(bad, !strcmp(buf, "1.5Gbit"), "format_rate(1.5gbit) = \"%s\"", buf);
	format_rate(buf, sizeof(buf), 312500);
	CHECK(bad, !strcmp(buf, "2.5Mbit"), "format_rate(2.5mbit) = \"%s\"", buf);
	format_rate(buf, sizeof(buf), 1562500);
	CHECK(bad, !strcmp(buf, "12.5Mbit"), "format_rate(12.5mbit) = \"%s\"", buf);
	assert_int_equal(bad, 0);
}

/* What sluice prints, an operator can paste back and get the same rate. */
static void test_format_rate_round_trip_exact(void **state)
{
	static const char *const rates[] = {
		"1kbit", "8kbit", "1mbit", "1.5mbit", "2.5mbit", "12.5mbit",
		"50mbit", "155.5mbit", "1gbit", "2.5gbit", "10gbit", "40gbit",
		"100gbit", "1tbit", "800bit",
	};
	char buf[32];
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rates); i++) {
		__u64 v, back = SENTINEL;
		int err;

		assert_int_equal(parse_rate(rates[i], &v), 0);
		format_rate(buf, sizeof(buf), v);
		err = parse_rate(buf, &back);
		CHECK(bad, !err && back == v, "\"%s\" -> %llu -> \"%s\" -> %llu (%d)",
		      rates[i], (unsigned long long)v, buf, (unsigned long long)back, err);
	}
	assert_int_equal(bad, 0);
}

/* Any rate prints to a form that parses back within 0.5%. */
static void test_format_rate_round_trip_close(void **state)
{
	char buf[32];
	int bad = 0;
	__u64 v;

	for (v = 1; v < 20000000000000ULL; v = v * 3 / 2 + 7) {
		__u64 back = 0;
		double diff;
		int err;

		format_rate(buf, sizeof(buf), v);
		err = parse_rate(buf, &back);
		diff = fabs((double)back - (double)v);
		/* below 1kbit the printed bits round to whole bytes: allow 0.5 B/s */
		CHECK(bad, !err && (diff / (double)v <= 0.005 || diff <= 0.5),
		      "%llu B/s -> \"%s\" -> %llu B/s (%d)", (unsigned long long)v, buf,
		      (unsigned long long)back, err);
	}
	assert_int_equal(bad, 0);
}

static void test_format_size_values(void **state)
{
	char buf[32];

	assert_string_equal(format_size(buf, sizeof(buf), 0), "0b");
	assert_string_equal(format_size(buf, sizeof(buf), 1023), "1023b");
	assert_string_equal(format_size(buf, sizeof(buf), 1024), "1Kb");
	assert_string_equal(format_size(buf, sizeof(buf), 65536), "64Kb");
	assert_string_equal(format_size(buf, sizeof(buf), 1048576), "1Mb");
	assert_string_equal(format_size(buf, sizeof(buf), 3221225472ULL), "3Gb");
}

/*
 * Sizes (bursts, thresholds) print exactly: units.h gives "1500b" as the
 * form of 1500 bytes, and a printed burst pasted back must be the same
 * burst, up to the largest one a policy can hold.
 */
static void test_format_size_round_trip_exact(void **state)
{
	static const __u32 sizes[] = {
		0, 1, 1023, 1024, 1500, 1514, 1536, 4542, 65536, 131072, 1048576,
		12500000, 1073741824, 4294967295U,
	};
	char buf[32];
	int bad = 0;
	size_t i;

	format_size(buf, sizeof(buf), 1500);
	CHECK(bad, !strcmp(buf, "1500b"), "format_size(1500) = \"%s\", want \"1500b\"",
	      buf);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		__u32 back = SENTINEL32;
		int err;

		format_size(buf, sizeof(buf), sizes[i]);
		err = parse_size(buf, &back);
		CHECK(bad, !err && back == sizes[i], "%u -> \"%s\" -> %u (%d)", sizes[i],
		      buf, back, err);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rate_every_unit),
		cmocka_unit_test(test_parse_rate_decimals_and_case),
		cmocka_unit_test(test_parse_rate_rejects_leave_output),
		cmocka_unit_test(test_parse_above_2_63_exact_or_refused),
		cmocka_unit_test(test_parse_size_tc_units),
		cmocka_unit_test(test_parse_size_rejects_leave_output),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_duration_rejects_leave_output),
		cmocka_unit_test(test_format_rate_values),
		cmocka_unit_test(test_format_rate_shortest_form),
		cmocka_unit_test(test_format_rate_round_trip_exact),
		cmocka_unit_test(test_format_rate_round_trip_close),
		cmocka_unit_test(test_format_size_values),
		cmocka_unit_test(test_format_size_round_trip_exact),
	};

	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
