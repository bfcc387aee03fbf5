// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses and prefixes in sluice's form: IPv4 stored IPv4-mapped, so an
 * IPv4 /N is a /96+N key in the policy trie.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/addr.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const __u8 sentinel_bytes[20] = {
	0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
};

static struct sluice_addr v6(const char *s)
{
	struct sluice_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct sluice_lpm_key prefix(const char *s)
{
	struct sluice_lpm_key k;

	if (parse_prefix(s, &k))
		fail_msg("parse_prefix(\"%s\") refused", s);
	return k;
}

static void test_parse_addr_v4_is_mapped(void **state)
{
	struct sluice_addr a, mapped = v6("::ffff:10.1.2.3");

	assert_int_equal(parse_addr("10.1.2.3", &a), 0);
	assert_int_equal(a.w[0], 0);
	assert_int_equal(a.w[1], 0);
	assert_int_equal(a.w[2], htonl(0x0000ffff));
	assert_int_equal(a.w[3], htonl(0x0a010203));
	assert_true(addr_is_v4(&a));
	/* the same address written as IPv6 is the same key */
	assert_memory_equal(&a, &mapped, sizeof(a));
}

static void test_parse_addr_v6(void **state)
{
	struct sluice_addr a, want = v6("2001:db8::1");

	assert_int_equal(parse_addr("2001:db8::1", &a), 0);
	assert_memory_equal(&a, &want, sizeof(a));
	assert_false(addr_is_v4(&a));
	assert_int_equal(parse_addr("::", &a), 0);
	assert_false(addr_is_v4(&a));
	assert_int_equal(parse_addr("::1", &a), 0);
	assert_false(addr_is_v4(&a));
}

static void test_parse_addr_rejects_leave_output(void **state)
{
	static const char *const refused[] = {
		"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "10.0.0.1/32", " 10.0.0.1",
		"10.0.0.1 ", "gggg::1", "2001:db8:::1", "1:2:3:4:5:6:7:8:9", "localhost",
	};
	struct sluice_addr a;
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		int err;

		memcpy(&a, sentinel_bytes, sizeof(a));
		err = parse_addr(refused[i], &a);
		CHECK(bad, err == -EINVAL, "parse_addr(\"%s\") = %d", refused[i], err);
		CHECK(bad, !memcmp(&a, sentinel_bytes, sizeof(a)),
		      "parse_addr(\"%s\") wrote *a on error", refused[i]);
	}
	CHECK(bad, parse_addr(NULL, &a) == -EINVAL, "parse_addr(NULL) accepted");
	assert_int_equal(bad, 0);
}

static void test_parse_prefix_lengths(void **state)
{
	static const struct {
		const char *in;
		__u32 prefixlen;
	} cases[] = {
		{ "10.0.0.0/8", 96 + 8 },
		{ "10.1.0.0/16", 96 + 16 },
		{ "10.0.0.0/7", 96 + 7 },     /* 10 = 00001010: nothing beyond /7 */
		{ "192.168.1.0/24", 96 + 24 },
		{ "10.0.0.1/32", 128 },
		{ "10.0.0.1", 128 },          /* bare v4: host prefix */
		{ "0.0.0.0/0", 96 },          /* all of IPv4, none of IPv6 */
		{ "2001:db8::/32", 32 },
		{ "2001:db8::1", 128 },       /* bare v6: host prefix */
		{ "2001:db8::1/128", 128 },
		{ "::/0", 0 },
		{ "::ffff:10.0.0.0/120", 120 }, /* the same key as 10.0.0.0/24 */
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sluice_lpm_key k = { .prefixlen = 999 };
		int err = parse_prefix(cases[i].in, &k);

		CHECK(bad, err == 0 && k.prefixlen == cases[i].prefixlen,
		      "parse_prefix(\"%s\") = %d, prefixlen %u, want %u", cases[i].in, err,
		      k.prefixlen, cases[i].prefixlen);
	}
	assert_int_equal(bad, 0);
}

static void test_parse_prefix_v4_key_equals_mapped_v6(void **state)
{
	struct sluice_lpm_key a = prefix("10.0.0.0/24");
	struct sluice_lpm_key b = prefix("::ffff:10.0.0.0/120");
	struct sluice_lpm_key c = prefix("10.0.0.7");
	struct sluice_addr host;

	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(parse_addr("10.0.0.7", &host), 0);
	assert_memory_equal(&c.addr, &host, sizeof(host));
}

static void test_parse_prefix_rejects_leave_output(void **state)
{
	static const char *const refused[] = {
		"10.0.0.1/24",       /* host bits set */
		"10.0.0.128/24",
		"11.0.0.0/7",        /* 11 = 00001011: its last bit lies beyond /7 */
		"2001:db8::1/64",
		"2001:db8::/16",
		"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/abc",
		"10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/+8",
		"10.0.0.0//8", "10.0.0.0/8/8", "/8", "", "10.0.0/8", "10.0.0.256/32",
		"10.0.0.0/99999999999999999999999",
		"::ffff:10.0.0.0/95", /* host bits (the ffff) beyond /95 */
		"1111:2222:3333:4444:5555:6666:7777:8888/128-and-far-too-long-for-the-buffer",
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		struct sluice_lpm_key k;
		int err;

		memcpy(&k, sentinel_bytes, sizeof(k));
		err = parse_prefix(refused[i], &k);
		CHECK(bad, err == -EINVAL, "parse_prefix(\"%s\") = %d", refused[i], err);
		CHECK(bad, !memcmp(&k, sentinel_bytes, sizeof(k)),
		      "parse_prefix(\"%s\") wrote *k on error", refused[i]);
	}
	assert_int_equal(bad, 0);
}

static void test_format_round_trip(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "192.168.1.0/24", "192.168.1.0/24" },
		{ "10.0.0.1", "10.0.0.1/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "::/0", "::/0" },
		{ "::ffff:10.0.0.0/120", "10.0.0.0/24" },
	};
	char buf[SLUICE_ADDR_STRLEN];
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sluice_lpm_key k = prefix(cases[i].in), back;
		int err;

		format_prefix(buf, sizeof(buf), &k);
		CHECK(bad, !strcmp(buf, cases[i].out), "format_prefix(\"%s\") = \"%s\", want \"%s\"",
		      cases[i].in, buf, cases[i].out);
		err = parse_prefix(buf, &back);
		CHECK(bad, !err && !memcmp(&k, &back, sizeof(k)),
		      "\"%s\" -> \"%s\" does not parse back to the same key", cases[i].in, buf);
	}
	assert_int_equal(bad, 0);
}

static void test_format_addr(void **state)
{
	char buf[SLUICE_ADDR_STRLEN];
	struct sluice_addr a;

	assert_int_equal(parse_addr("10.1.2.3", &a), 0);
	assert_string_equal(format_addr(buf, sizeof(buf), &a), "10.1.2.3");
	assert_int_equal(parse_addr("2001:DB8:0:0::1", &a), 0);
	assert_string_equal(format_addr(buf, sizeof(buf), &a), "2001:db8::1");
}

/* The longest form fits SLUICE_ADDR_STRLEN together with its length. */
static void test_format_longest_prefix(void **state)
{
	struct sluice_lpm_key k = prefix("1111:2222:3333:4444:5555:6666:7777:8888/128");
	char buf[SLUICE_ADDR_STRLEN];

	assert_string_equal(format_prefix(buf, sizeof(buf), &k),
			    "1111:2222:3333:4444:5555:6666:7777:8888/128");
}

static void test_prefix_contains(void **state)
{
	static const struct {
		const char *prefix, *addr;
		bool in;
	} cases[] = {
		{ "10.0.0.0/8", "10.255.0.1", true },
		{ "10.0.0.0/8", "10.0.0.0", true },
		{ "10.0.0.0/8", "11.0.0.1", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "10.1.2.3", "10.1.2.3", true },
		{ "10.1.2.3", "10.1.2.4", false },
		{ "192.168.0.0/23", "192.168.1.200", true },
		{ "192.168.0.0/23", "192.168.2.1", false },
		{ "0.0.0.0/0", "1.2.3.4", true },
		{ "0.0.0.0/0", "2001:db8::1", false },  /* v4 policy, v6 traffic */
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "1.2.3.4", true },            /* ::/0 covers mapped v4 */
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "2001:db8::/32", "10.0.0.1", false },
		{ "2001:db8::1", "2001:db8::1", true },
		{ "2001:db8::1", "2001:db8::2", false },
	};
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sluice_lpm_key k = prefix(cases[i].prefix);
		struct sluice_addr a;

		assert_int_equal(parse_addr(cases[i].addr, &a), 0);
		CHECK(bad, prefix_contains(&k, &a) == cases[i].in, "%s %s %s, got the opposite",
		      cases[i].prefix, cases[i].in ? "contains" : "does not contain",
		      cases[i].addr);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr_v4_is_mapped),
		cmocka_unit_test(test_parse_addr_v6),
		cmocka_unit_test(test_parse_addr_rejects_leave_output),
		cmocka_unit_test(test_parse_prefix_lengths),
		cmocka_unit_test(test_parse_prefix_v4_key_equals_mapped_v6),
		cmocka_unit_test(test_parse_prefix_rejects_leave_output),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_addr),
		cmocka_unit_test(test_format_longest_prefix),
		cmocka_unit_test(test_prefix_contains),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
