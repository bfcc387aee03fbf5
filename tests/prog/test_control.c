// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control loop on real maps (the skeleton loaded without pins), fed
 * signal counters written here: no fixed cap below the table sizes, state
 * that follows the kernel's table, and a tick that never waits long on a
 * lock another process holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "sluiced/control.h"

#define INTERVAL_NS 100000000ULL
#define POLICIES    300 /* more than the 256 per-policy counts of old */

struct world {
	struct sluice_bpf *skel;
	struct sluice_maps m;
	struct control *ctl;
	char dir[64];
	__u64 now_ns;
};

static struct sluice_addr dest(int i)
{
	struct sluice_addr a = {};

	a.w[2] = htonl(0x0000ffff);
	a.w[3] = htonl(0x0a010000U | (unsigned int)i);
	return a;
}

static int setup(void **state)
{
	struct sluice_config cfg = { .abi_version = SLUICE_ABI_VERSION, .ctl_gen = 1,
				     .next_policy_id = POLICIES + 1 };
	struct world *w = calloc(1, sizeof(*w));
	__u32 zero = 0;
	int i;

	if (!w)
		return -1;
	w->skel = sluice_bpf__open_and_load();
	if (!w->skel) {
		print_error("cannot load the BPF object: %s (run as root)\n", strerror(errno));
		return -1;
	}
	w->m = (struct sluice_maps){
		.config = bpf_map__fd(w->skel->maps.sluice_config),
		.policy = bpf_map__fd(w->skel->maps.sluice_policy),
		.dest = bpf_map__fd(w->skel->maps.sluice_dest),
		.dest_ctl = bpf_map__fd(w->skel->maps.sluice_dest_ctl),
		.signals = bpf_map__fd(w->skel->maps.sluice_signals),
		.stats = bpf_map__fd(w->skel->maps.sluice_stats),
		.events = bpf_map__fd(w->skel->maps.sluice_events),
		.classify = bpf_map__fd(w->skel->maps.sluice_classify),
	};
	snprintf(w->dir, sizeof(w->dir), "/tmp/sluice-test-control-XXXXXX");
	if (!mkdtemp(w->dir) || bpf_map_update_elem(w->m.config, &zero, &cfg, BPF_ANY))
		return -1;
	/* One policy per destination: 10.1.0.i/128 (mapped), static. */
	for (i = 0; i < POLICIES; i++) {
		struct sluice_lpm_key k = { .prefixlen = 128, .addr = dest(i) };
		struct sluice_policy p = {
			.rate_Bps = 1000000, .burst_bytes = 200000, .mark_thresh = 50000,
			.id = (__u32)i + 1, .mode = SLUICE_MODE_ENFORCE,
		};

		if (bpf_map_update_elem(w->m.policy, &k, &p, BPF_ANY))
			return -1;
	}
	w->ctl = control_new(&w->m, bpf_map__fd(w->skel->maps.sluice_changed), w->dir);
	w->now_ns = 1000000000ULL;
	*state = w;
	return w->ctl ? 0 : -1;
}

static int teardown(void **state)
{
	struct world *w = *state;

	control_free(w->ctl);
	sluice_bpf__destroy(w->skel);
	rmdir(w->dir);
	free(w);
	return 0;
}

static void signals_set(struct world *w, int i, __u64 connects, __u64 fails)
{
	struct sluice_signals s = { .connects = connects, .connect_fails = fails };
	struct sluice_addr a = dest(i);

	assert_int_equal(bpf_map_update_elem(w->m.signals, &a, &s, BPF_ANY), 0);
}

static void tick(struct world *w)
{
	w->now_ns += INTERVAL_NS;
	assert_int_equal(control_tick(w->ctl, w->now_ns, INTERVAL_NS), 0);
}

/* Destinations with control values published, and how many of them
 * with the breaker open. */
static int published(struct world *w, int *open)
{
	struct sluice_addr key, next;
	struct sluice_dest_ctl v;
	void *prev = NULL;
	int n = 0;

	*open = 0;
	while (bpf_map_get_next_key(w->m.dest_ctl, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(w->m.dest_ctl, &key, &v))
			continue;
		n++;
		*open += v.breaker != SLUICE_BREAKER_CLOSED;
	}
	return n;
}

static void test_breakers_open_for_every_policy_past_256(void **state)
{
	struct world *w = *state;
	int i, open;

	for (i = 0; i < POLICIES; i++)
		signals_set(w, i, 0, 0);
	tick(w); /* the baseline */
	for (i = 0; i < POLICIES; i++)
		signals_set(w, i, 6, 6); /* six refused connects each */
	tick(w);
	published(w, &open);
	assert_int_equal(open, POLICIES);
}

static void test_state_goes_with_the_kernels_entry(void **state)
{
	const int n = 100;
	struct world *w = *state;
	int i, open;

	for (i = 0; i < n; i++)
		signals_set(w, i, 0, 0);
	tick(w);
	for (i = 0; i < n; i++)
		signals_set(w, i, 6, 6);
	tick(w);
	assert_int_equal(published(w, &open), n);
	/* The table lets them go (LRU eviction looks the same): at the next
	 * tick their control values go too, not a minute later. */
	for (i = 0; i < n; i++) {
		struct sluice_addr a = dest(i);

		assert_int_equal(bpf_map_delete_elem(w->m.signals, &a), 0);
	}
	tick(w);
	assert_int_equal(published(w, &open), 0);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("control_tick still waiting on the lock after 5 s");
}

static __u64 lease(struct world *w)
{
	struct sluice_config cfg;

	assert_int_equal(sluice_config_read(w->m.config, &cfg), 0);
	return cfg.lease_expires_ns;
}

static void test_a_held_lock_skips_the_tick_instead_of_waiting(void **state)
{
	struct world *w = *state;
	struct timespec t0, t1;
	__u64 before, took_ns;
	int fd;

	tick(w);
	before = lease(w);
	fd = open(w->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0); /* a sluicectl stopped with ^Z */
	signal(SIGALRM, on_alarm);
	alarm(5);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w->now_ns += INTERVAL_NS;
	assert_int_equal(control_tick(w->ctl, w->now_ns, INTERVAL_NS), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	took_ns = (__u64)(t1.tv_sec - t0.tv_sec) * 1000000000ULL + (__u64)t1.tv_nsec -
		  (__u64)t0.tv_nsec;
	/* A quarter of the interval, and some slack for a busy machine. */
	assert_true(took_ns < INTERVAL_NS / 2);
	assert_true(took_ns >= INTERVAL_NS / 8);
	assert_int_equal(lease(w), before); /* nothing written without the lock */
	close(fd);
	tick(w);
	assert_true(lease(w) > before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_breakers_open_for_every_policy_past_256,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_goes_with_the_kernels_entry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_held_lock_skips_the_tick_instead_of_waiting,
						setup, teardown),
	};

	log_init("sluiced", LOG_LVL_WARN, false); /* not an event line per breaker */
	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
