// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Traffic no policy covers, through BPF_PROG_TEST_RUN: it passes untouched
 * and is counted, packet after packet, while the TC program remembers the
 * destination as unmatched (bpf/lib/unmatched.h); a policy added later
 * takes effect at the destination's next packet once ctl_gen moves, as
 * sluicectl and sluiced move it with every policy they write.
 *
 * The program remembers per CPU, and test-run runs it on the caller's CPU:
 * the process keeps to one CPU, so that every frame sees what the one
 * before it left.
 */
#include <sched.h>

#include "fixture.h"

static int pin_to_one_cpu(void **state)
{
	cpu_set_t set, one;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		return sched_setaffinity(0, sizeof(one), &one);
	}
	return -1;
}

static void del_policy(struct fx *f, const char *prefix)
{
	struct sluice_lpm_key k = key_of(prefix);

	assert_int_equal(bpf_map_delete_elem(f->policy, &k), 0);
}

static int dest_count(struct fx *f)
{
	struct sluice_addr key, next;
	const void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(f->dest, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static bool has_dest(struct fx *f, const char *addr)
{
	struct sluice_addr a = addr_of(addr);
	struct sluice_dest d;

	return bpf_map_lookup_elem(f->dest, &a, &d) == 0;
}

/* What sluicectl policy add does: the policy, then ctl_gen moved. */
static void add_policy_as_writers_do(struct fx *f, const char *prefix, __u32 id, __u64 rate)
{
	put_policy(f, prefix, id, rate, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	set_ctl_gen(f, f->cfg.ctl_gen + 1);
}

/* Packet after packet to the same uncovered destinations: each passes
 * untouched and is counted, and none takes table space. */
static void test_unmatched_stays_unmatched_and_passes(void **state)
{
	static const char *const dsts[] = { "192.168.1.1", "2001:db9::1" };
	struct fx *f = fx_get(state);
	size_t i;
	int k;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	put_policy(f, "2001:db8::/32", 2, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (k = 0; k < 5; k++) {
		for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
			struct pkt_buf b;
			struct run_out o;

			mk_tcp(&b, dsts[i], ECN_ECT0);
			run(f, &b, &o);
			assert_pass_untouched(&b, &o);
		}
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_PKTS), 10);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 10);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 0);
	assert_int_equal(dest_count(f), 0);
}

/*
 * A destination seen unmatched is remembered at that generation. A policy
 * for it, written as sluicectl and sluiced write one (the policy, then
 * ctl_gen moved), applies from its next packet; written without moving
 * ctl_gen it waits for the next move, as every control value does.
 */
static void test_policy_added_later_applies_at_next_packet(void **state)
{
	static const struct {
		const char *dst, *prefix;
	} cases[] = {
		{ "192.168.7.1", "192.168.7.0/24" },
		{ "2001:db9::7", "2001:db9::/64" },
	};
	struct fx *f = fx_get(state);
	size_t i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 unmatched = stat_of(f, SLUICE_STAT_UNMATCHED);
		struct sluice_dest d;
		struct pkt_buf b;
		struct run_out o;

		mk_tcp(&b, cases[i].dst, 0);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);

		/* rate 0: a matched frame is dropped, so the verdict shows it */
		put_policy(f, cases[i].prefix, 10 + i, 0, BIG_BURST, BIG_BURST,
			   SLUICE_MODE_ENFORCE);
		run(f, &b, &o);
		assert_pass_untouched(&b, &o); /* remembered at this generation */
		assert_false(has_dest(f, cases[i].dst));

		set_ctl_gen(f, f->cfg.ctl_gen + 1);
		run(f, &b, &o);
		if (o.ret != TC_DROP)
			fail_msg("%s: verdict %d after ctl_gen moved, want a drop", cases[i].dst,
				 o.ret);
		d = dest_of(f, cases[i].dst);
		assert_int_equal(d.policy_id, 10 + i);
		assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED);
		assert_int_equal(d.dropped_pkts, 1);
		assert_int_equal(d.passed_pkts, 0);
		assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED) - unmatched, 3);
	}
}

/* The same, the way sluicectl does it: no packet ever sees the policy
 * without the move. */
static void test_policy_add_as_sluicectl_applies_at_next_packet(void **state)
{
	struct fx *f = fx_get(state);
	struct pkt_buf b;
	struct run_out o;

	set_ctl_gen(f, 3);
	mk_tcp(&b, "198.51.100.9", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	add_policy_as_writers_do(f, "198.51.100.0/24", 4, 0);
	run(f, &b, &o);
	assert_int_equal(o.ret, TC_DROP);
	assert_int_equal(dest_of(f, "198.51.100.9").policy_id, 4);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 1);
}

/*
 * A destination whose policy is deleted is remembered as unmatched: its
 * packets pass and are counted as unmatched, one by one, and its entry
 * keeps the counters it had. A policy for it again picks the entry up
 * where it was.
 */
static void test_deleted_policy_counters_stay_right(void **state)
{
	struct fx *f = fx_get(state);
	struct sluice_dest d;
	struct pkt_buf b;
	struct run_out o;
	int k;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.30.0/24", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	mk_tcp(&b, "10.0.30.1", 0);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);

	del_policy(f, "10.0.30.0/24");
	set_ctl_gen(f, 2);
	for (k = 0; k < 4; k++) {
		run(f, &b, &o);
		assert_pass_untouched(&b, &o);
	}
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 4);
	assert_int_equal(stat_of(f, SLUICE_STAT_PKTS), 6);
	d = dest_of(f, "10.0.30.1");
	assert_int_equal(d.flags & SLUICE_DEST_F_MATCHED, 0);
	assert_int_equal(d.passed_pkts, 2);
	assert_int_equal(d.passed_bytes, 2 * V4_LEN);

	add_policy_as_writers_do(f, "10.0.30.0/24", 1, RATE);
	run(f, &b, &o);
	assert_pass_untouched(&b, &o);
	d = dest_of(f, "10.0.30.1");
	assert_int_equal(d.flags, SLUICE_DEST_F_MATCHED);
	assert_int_equal(d.passed_pkts, 3);
	assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), 4);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), 1);
}

/*
 * Far more uncovered destinations than remembered slots, mixed with
 * covered ones: a slot that another address took never hides a covered
 * destination, and every packet is counted once, where it belongs.
 */
static void test_many_unmatched_beside_matched(void **state)
{
	enum { N = 2048 };
	struct fx *f = fx_get(state);
	int pass, i;

	set_ctl_gen(f, 1);
	put_policy(f, "10.0.0.0/8", 1, RATE, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
	for (pass = 1; pass <= 2; pass++) {
		for (i = 0; i < 2 * N; i++) {
			char dst[32];
			struct pkt_buf b;
			struct run_out o;

			/* unmatched and matched alternate, so they share slots */
			snprintf(dst, sizeof(dst), "%s.%d.%d", i % 2 ? "10.1" : "192.168",
				 (i / 2) >> 8, (i / 2) & 0xff);
			mk_tcp(&b, dst, 0);
			run(f, &b, &o);
			assert_pass_untouched(&b, &o);
			if (i % 2 && dest_of(f, dst).passed_pkts != (__u64)pass)
				fail_msg("%s: %llu frames passed on pass %d", dst,
					 (unsigned long long)dest_of(f, dst).passed_pkts, pass);
		}
		assert_int_equal(stat_of(f, SLUICE_STAT_UNMATCHED), (__u64)pass * N);
	}
	assert_int_equal(dest_count(f), N);
	assert_int_equal(stat_of(f, SLUICE_STAT_DEST_NEW), N);
	assert_int_equal(stat_of(f, SLUICE_STAT_PKTS), 4 * N);
}

/*
 * An empty slot (address ::, nothing remembered) must not read as "::
 * unmatched" at any generation, the largest included, where the
 * generation's tag wraps to the empty slot's 0.
 */
static void test_empty_slot_is_not_a_match(void **state)
{
	static const __u64 gens[] = { 0, ~0ULL };
	size_t i;

	for (i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		struct fx *f;
		struct pkt_buf b;
		struct run_out o;

		/* a fresh program, so that nothing is remembered anywhere */
		fx_teardown(state);
		assert_int_equal(fx_setup(state), 0);
		f = fx_get(state);
		set_ctl_gen(f, gens[i]);
		put_policy(f, "::/0", 1, 0, BIG_BURST, BIG_BURST, SLUICE_MODE_ENFORCE);
		mk_tcp(&b, "::", 0);
		run(f, &b, &o);
		if (o.ret != TC_DROP)
			fail_msg("ctl_gen %llu: a frame to :: under ::/0 at rate 0 got verdict %d",
				 (unsigned long long)gens[i], o.ret);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unmatched_stays_unmatched_and_passes),
		T(test_policy_added_later_applies_at_next_packet),
		T(test_policy_add_as_sluicectl_applies_at_next_packet),
		T(test_deleted_policy_counters_stay_right),
		T(test_many_unmatched_beside_matched),
		T(test_empty_slot_is_not_a_match),
	};
#undef T

	return cmocka_run_group_tests_name("tc_unmatched", tests, pin_to_one_cpu, NULL);
}
