/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A fresh sluice for each BPF_PROG_TEST_RUN test: the skeleton loaded
 * without pins (nothing outside the process sees its maps), the maps
 * written the way sluiced writes them, and frames run one at a time
 * through sluice_tc_egress.
 *
 * Time: buckets refill in real time (bpf_ktime_get_ns) while a test runs.
 * RATE is 1kbit (125 B/s), the smallest a policy may have: a 454-byte
 * frame costs 3.6 s, so refill during a test (a few ms) is a few bytes,
 * and every burst a test relies on is set half a frame away from the
 * boundary. Bucket times are ticks of 1/16 ns (bucket.h).
 *
 * Everything here is static inline: a test file uses what it needs.
 */
#ifndef SLUICE_TEST_FIXTURE_H
#define SLUICE_TEST_FIXTURE_H

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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "sluice/abi.h"
#include "sluice/bucket.h"
#include "lib/addr.h"
#include "pkt.h"

#define TC_PASS (-1) /* TC_ACT_UNSPEC: pass, and let later filters run */
#define TC_DROP 2    /* TC_ACT_SHOT */

#define RATE           SLUICE_RATE_MIN_BPS /* 1kbit */
#define NS_PER_BYTE    (SLUICE_NSEC_PER_SEC / RATE)
#define TICKS_PER_BYTE (NS_PER_BYTE << SLUICE_TICK_SHIFT)
#define BIG_BURST      1000000 /* never reached in a test */

/* The frames most tests send: 400 bytes of TCP payload. */
#define V4_LEN 454
#define V6_LEN 474

struct fx {
	struct sluice_bpf *skel;
	int load_err;
	int prog, config, policy, dest, dest_ctl, stats, classify;
	int ncpus;
	struct sluice_config cfg; /* what set_ctl_gen() and set_classes() write */
};

struct run_out {
	int ret;
	__u32 len;
	__u8 data[PKT_MAX];
};

/* --- fixture ------------------------------------------------------------- */

/* libbpf's messages from the last load, shown only when it fails. */
static char fx_load_log[16384];
static size_t fx_load_log_len;

static inline int fx_log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG || fx_load_log_len >= sizeof(fx_load_log) - 1)
		return 0;
	n = vsnprintf(fx_load_log + fx_load_log_len, sizeof(fx_load_log) - fx_load_log_len,
		      fmt, ap);
	if (n > 0)
		fx_load_log_len += (size_t)n;
	if (fx_load_log_len >= sizeof(fx_load_log))
		fx_load_log_len = sizeof(fx_load_log) - 1;
	return 0;
}

static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->cfg.abi_version = SLUICE_ABI_VERSION;
	if (geteuid() != 0) {
		f->load_err = -EPERM;
		return 0;
	}
	fx_load_log_len = 0;
	fx_load_log[0] = '\0';
	libbpf_set_print(fx_log_libbpf);
	f->skel = sluice_bpf__open_and_load();
	if (!f->skel) {
		f->load_err = -errno;
		return 0;
	}
	f->prog = bpf_program__fd(f->skel->progs.sluice_tc_egress);
	f->config = bpf_map__fd(f->skel->maps.sluice_config);
	f->policy = bpf_map__fd(f->skel->maps.sluice_policy);
	f->dest = bpf_map__fd(f->skel->maps.sluice_dest);
	f->dest_ctl = bpf_map__fd(f->skel->maps.sluice_dest_ctl);
	f->stats = bpf_map__fd(f->skel->maps.sluice_stats);
	f->classify = bpf_map__fd(f->skel->maps.sluice_classify);
	f->ncpus = libbpf_num_possible_cpus();
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	sluice_bpf__destroy(f->skel);
	free(f);
	return 0;
}

/* The loaded fixture; skips when this process may not load BPF. */
static inline struct fx *fx_get(void **state)
{
	struct fx *f = *state;
	char *line, *save = NULL;

	if (f->load_err == -EPERM || f->load_err == -EACCES) {
		print_message("# SKIP loading sluice.bpf.o needs root with CAP_BPF and "
			      "CAP_NET_ADMIN: %s\n", strerror(-f->load_err));
		skip();
	}
	if (!f->skel) {
		for (line = strtok_r(fx_load_log, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			print_message("# %s\n", line);
		fail_msg("loading sluice.bpf.o failed: %s", strerror(-f->load_err));
	}
	assert_true(f->ncpus > 0);
	return f;
}

/* --- maps ---------------------------------------------------------------- */

static inline void fx_write_config(struct fx *f)
{
	__u32 zero = 0;

	assert_int_equal(bpf_map_update_elem(f->config, &zero, &f->cfg, BPF_ANY), 0);
}

/* Move the control generation, keeping every other setting. */
static inline void set_ctl_gen(struct fx *f, __u64 gen)
{
	f->cfg.ctl_gen = gen;
	fx_write_config(f);
}

/* Class shares (percent, by enum sluice_class) and the classify kinds in
 * use, as sluiced's reconcile_classes() publishes them. */
static inline void set_classes(struct fx *f, const __u8 share_pct[SLUICE_CLASSES], __u32 kinds)
{
	memcpy(f->cfg.class_share_pct, share_pct, sizeof(f->cfg.class_share_pct));
	f->cfg.classify_kinds = kinds;
	fx_write_config(f);
}

static inline void put_class_rule(struct fx *f, __u32 kind, __u64 value, __u32 cls)
{
	struct sluice_class_key k = { .kind = kind, .value = value };

	assert_int_equal(bpf_map_update_elem(f->classify, &k, &cls, BPF_ANY), 0);
}

static inline struct sluice_lpm_key key_of(const char *prefix)
{
	struct sluice_lpm_key k;

	if (parse_prefix(prefix, &k))
		fail_msg("bad prefix in test: %s", prefix);
	return k;
}

static inline struct sluice_addr addr_of(const char *s)
{
	struct sluice_addr a;

	if (parse_addr(s, &a))
		fail_msg("bad address in test: %s", s);
	return a;
}

static inline void put_policy(struct fx *f, const char *prefix, __u32 id, __u64 rate,
			      __u32 burst, __u32 mark, __u16 mode)
{
	struct sluice_lpm_key k = key_of(prefix);
	struct sluice_policy p = {
		.rate_Bps = rate,
		.burst_bytes = burst,
		.mark_thresh = mark,
		.id = id,
		.mode = mode,
	};

	assert_int_equal(bpf_map_update_elem(f->policy, &k, &p, BPF_ANY), 0);
}

/* An override as the daemon's controller writes it; it takes effect when
 * ctl_gen next moves. */
static inline void put_override(struct fx *f, const char *addr,
				const struct sluice_dest_ctl *ovr)
{
	struct sluice_addr a = addr_of(addr);

	assert_int_equal(bpf_map_update_elem(f->dest_ctl, &a, ovr, BPF_ANY), 0);
}

static inline struct sluice_dest dest_of(struct fx *f, const char *addr)
{
	struct sluice_addr a = addr_of(addr);
	struct sluice_dest d;

	if (bpf_map_lookup_elem(f->dest, &a, &d))
		fail_msg("no sluice_dest entry for %s", addr);
	return d;
}

static inline __u64 stat_of(struct fx *f, __u32 idx)
{
	__u64 *v = calloc(f->ncpus, sizeof(*v)), sum = 0;
	int i;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(f->stats, &idx, v), 0);
	for (i = 0; i < f->ncpus; i++)
		sum += v[i];
	free(v);
	return sum;
}

/* --- frames -------------------------------------------------------------- */

static inline void mk(struct pkt_buf *b, const struct pkt_spec *s)
{
	assert_true(pkt_build(b, s));
}

/* The usual test frame: 400 bytes of TCP payload to dst. */
static inline void mk_tcp(struct pkt_buf *b, const char *dst, __u8 tos)
{
	mk(b, &(struct pkt_spec){ .dst = dst, .proto = IPPROTO_TCP, .tos = tos,
				  .payload = 400 });
}

static inline void run_ctx(struct fx *f, const struct pkt_buf *b, const struct __sk_buff *ctx,
			   struct run_out *o)
{
	struct bpf_test_run_opts opts = { .sz = sizeof(opts), .repeat = 1 };
	struct __sk_buff c;
	int err;

	memset(o, 0, sizeof(*o));
	opts.data_in = b->data;
	opts.data_size_in = b->len;
	opts.data_out = o->data;
	opts.data_size_out = sizeof(o->data);
	if (ctx) {
		c = *ctx;
		opts.ctx_in = &c;
		opts.ctx_size_in = sizeof(c);
	}
	err = bpf_prog_test_run_opts(f->prog, &opts);
	if (err)
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(-err));
	o->ret = (int)opts.retval;
	o->len = opts.data_size_out;
}

static inline void run(struct fx *f, const struct pkt_buf *b, struct run_out *o)
{
	run_ctx(f, b, NULL, o);
}

/* The frame as a socket with SO_MARK (or an earlier filter) sends it:
 * test-run copies __sk_buff.mark into the skb. */
static inline void run_mark(struct fx *f, const struct pkt_buf *b, __u32 mark,
			    struct run_out *o)
{
	struct __sk_buff ctx = { .mark = mark };

	run_ctx(f, b, &ctx, o);
}

static inline void assert_pass_untouched(const struct pkt_buf *b, const struct run_out *o)
{
	assert_int_equal(o->ret, TC_PASS);
	assert_int_equal(o->len, b->len);
	assert_memory_equal(o->data, b->data, b->len);
}

#endif
