// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A reload is all or nothing: reconcile_policies() on real maps (a small
 * policy trie and the config array, made here, pinned nowhere). A file
 * that does not fit beside what sluicectl added changes nothing; a write
 * that fails part way puts the previous set back, ids and all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "lib/maps.h"
#include "sluiced/reconcile.h"

#define TABLE 8

struct world {
	struct sluice_maps m;
	struct sluiced_config *c;
};

struct entry {
	struct sluice_lpm_key key;
	struct sluice_policy pol;
};

/* 10.0.n.0/24, as an IPv4-mapped key. */
static struct sluice_lpm_key prefix(int n)
{
	struct sluice_lpm_key k = { .prefixlen = 96 + 24 };

	k.addr.w[2] = htonl(0x0000ffff);
	k.addr.w[3] = htonl(0x0a000000U | (unsigned int)n << 8);
	return k;
}

static struct sluice_policy static_policy(__u64 rate_Bps, __u32 flags)
{
	return (struct sluice_policy){ .rate_Bps = rate_Bps, .burst_bytes = 200000,
				       .mark_thresh = 50000, .mode = SLUICE_MODE_ENFORCE,
				       .flags = flags };
}

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, lpm, .map_flags = BPF_F_NO_PREALLOC);
	struct sluice_config cfg = { .abi_version = SLUICE_ABI_VERSION, .ctl_gen = 1,
				     .next_policy_id = 1 };
	struct world *w = calloc(1, sizeof(*w));
	__u32 zero = 0;

	if (!w)
		return -1;
	w->m = (struct sluice_maps)SLUICE_MAPS_INIT;
	w->c = calloc(1, sizeof(*w->c));
	w->m.policy = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t_policy",
				     sizeof(struct sluice_lpm_key), sizeof(struct sluice_policy),
				     TABLE, &lpm);
	w->m.config = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_config", 4,
				     sizeof(struct sluice_config), 1, NULL);
	if (!w->c || w->m.policy < 0 || w->m.config < 0 ||
	    bpf_map_update_elem(w->m.config, &zero, &cfg, BPF_ANY)) {
		print_error("cannot make the maps: %s (run as root)\n", strerror(errno));
		return -1;
	}
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	close(w->m.policy);
	close(w->m.config);
	free(w->c);
	free(w);
	return 0;
}

/* The whole table, in key order (get_next_key's order). */
static int dump(const struct world *w, struct entry *out)
{
	struct sluice_lpm_key key, next;
	void *prev = NULL;
	int n = 0;

	memset(out, 0, (TABLE + 1) * sizeof(*out)); /* padding compares too */
	while (n < TABLE + 1 && bpf_map_get_next_key(w->m.policy, prev, &next) == 0) {
		key = next;
		prev = &key;
		out[n].key = key;
		assert_int_equal(bpf_map_lookup_elem(w->m.policy, &key, &out[n].pol), 0);
		n++;
	}
	return n;
}

static void config_set(struct world *w, int n, const int *prefixes, __u64 rate_Bps)
{
	int i;

	memset(w->c, 0, sizeof(*w->c));
	w->c->n_policies = n;
	for (i = 0; i < n; i++) {
		struct conf_policy *cp = &w->c->policies[i];

		snprintf(cp->name, sizeof(cp->name), "p%d", prefixes[i]);
		cp->key = prefix(prefixes[i]);
		cp->pol = static_policy(rate_Bps, SLUICE_POLICY_F_CONFIG);
	}
}

/* Three policies an operator added with sluicectl, four from a file. */
static void fill(struct world *w)
{
	static const int file[] = { 1, 2, 3, 4 };
	struct reconcile_stats st;
	int i;

	for (i = 0; i < 3; i++) {
		struct sluice_lpm_key k = prefix(100 + i);
		struct sluice_policy p = static_policy(1000000, 0);

		p.id = 100 + i;
		assert_int_equal(bpf_map_update_elem(w->m.policy, &k, &p, BPF_ANY), 0);
	}
	config_set(w, 4, file, 1000000);
	assert_int_equal(reconcile_policies(&w->m, w->c, &st), 0);
	assert_int_equal(st.added, 4);
}

static void assert_same_table(const struct entry *a, int na, const struct entry *b, int nb)
{
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na * sizeof(*a));
}

static void test_a_reload_that_does_not_fit_changes_nothing(void **state)
{
	/* Two kept, four new: 3 + 6 = 9 in a table of 8. */
	static const int bigger[] = { 1, 2, 5, 6, 7, 8 };
	struct entry before[TABLE + 1], after[TABLE + 1];
	struct world *w = *state;
	struct reconcile_stats st;
	int nb, na;

	fill(w);
	nb = dump(w, before);
	assert_int_equal(nb, 7);
	config_set(w, 6, bigger, 2000000);
	assert_int_equal(reconcile_policies(&w->m, w->c, &st), -ENOSPC);
	na = dump(w, after);
	assert_same_table(before, nb, after, na);
}

static void test_a_reload_that_fails_part_way_restores_the_previous_set(void **state)
{
	static const int next[] = { 1, 5, 6 };
	struct entry before[TABLE + 1], after[TABLE + 1];
	struct world *w = *state;
	struct reconcile_stats st;
	struct sluice_config cfg_before, cfg_after;
	int nb, na;

	fill(w);
	nb = dump(w, before);
	assert_int_equal(sluice_config_read(w->m.config, &cfg_before), 0);
	/* p1 changes, p2-p4 go, p5 is added, and p6's write fails: the
	 * trie refuses a prefix longer than its key. */
	config_set(w, 3, next, 3000000);
	w->c->policies[2].key.prefixlen = 200;
	assert_int_not_equal(reconcile_policies(&w->m, w->c, &st), 0);
	na = dump(w, after);
	assert_same_table(before, nb, after, na);
	assert_int_equal(sluice_config_read(w->m.config, &cfg_after), 0);
	assert_int_equal(cfg_after.next_policy_id, cfg_before.next_policy_id);
	/* And the datapath re-reads what it may have cached meanwhile. */
	assert_true(cfg_after.ctl_gen > cfg_before.ctl_gen);
}

static void test_a_reload_keeps_ids_and_gives_new_prefixes_new_ones(void **state)
{
	static const int next[] = { 1, 2, 9 };
	struct entry t[TABLE + 1];
	struct world *w = *state;
	struct reconcile_stats st;
	__u32 id1 = 0, id9 = 0, max_before = 0;
	int n, i;

	fill(w);
	n = dump(w, t);
	for (i = 0; i < n; i++) {
		if (t[i].pol.id > max_before)
			max_before = t[i].pol.id;
		if (t[i].key.addr.w[3] == prefix(1).addr.w[3])
			id1 = t[i].pol.id;
	}
	config_set(w, 3, next, 1000000);
	assert_int_equal(reconcile_policies(&w->m, w->c, &st), 0);
	assert_int_equal(st.kept, 2);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.removed, 2);
	n = dump(w, t);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++) {
		if (t[i].key.addr.w[3] == prefix(1).addr.w[3])
			assert_int_equal(t[i].pol.id, id1);
		if (t[i].key.addr.w[3] == prefix(9).addr.w[3])
			id9 = t[i].pol.id;
	}
	assert_true(id9 > max_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_reload_that_does_not_fit_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_reload_that_fails_part_way_restores_the_previous_set, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_reload_keeps_ids_and_gives_new_prefixes_new_ones, setup, teardown),
	};

	return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
