// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "sluice/rtt_hist.h"
#include "lib/addr.h"
#include "lib/signals.h"

#define BATCH 512

/* What was read last time for one destination. */
struct prev {
	struct sluice_addr addr;
	struct sluice_signals sig;
	__u64 read_ns;
};

struct signal_reader {
	int fd;
	void *tree;      /* tsearch tree of struct prev, keyed by address */
	struct sluice_addr keys[BATCH];
	struct sluice_signals vals[BATCH];
};

static int prev_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct prev *)a)->addr, &((const struct prev *)b)->addr,
		      sizeof(struct sluice_addr));
}

struct signal_reader *signal_reader_new(int signals_fd)
{
	struct signal_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->fd = signals_fd;
	return r;
}

void signal_reader_free(struct signal_reader *r)
{
	if (!r)
		return;
	tdestroy(r->tree, free);
	free(r);
}

__u64 rtt_hist_quantile(const __u32 *hist, double q)
{
	__u64 total = 0, seen = 0, want;
	int i;

	for (i = 0; i < SLUICE_RTT_BUCKETS; i++)
		total += hist[i];
	if (!total)
		return 0;
	want = (__u64)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < SLUICE_RTT_BUCKETS; i++) {
		seen += hist[i];
		if (seen > want) {
			/* The middle of the bucket: at most 12.5% off. */
			__u64 lo = sluice_rtt_bucket_low(i);
			__u64 hi = i + 1 < SLUICE_RTT_BUCKETS ? sluice_rtt_bucket_low(i + 1) : lo;

			return (lo + hi) / 2;
		}
	}
	return 0;
}

/*
 * Header bytes a TCP segment carries on the wire beside its payload:
 * Ethernet, IP and TCP with timestamps, as Linux sends it. The bucket
 * charges every segment with its headers, so the delivered rate has to be
 * counted the same way to be compared with the enforced one.
 */
static __u64 segment_overhead(const struct sluice_addr *a)
{
	return addr_is_v4(a) ? 14 + 20 + 32 : 14 + 40 + 32;
}

#define DELTA(f) (cur->f >= old->f ? cur->f - old->f : 0)

static void make_sample(struct dest_sample *s, const struct prev *p,
			const struct sluice_signals *cur, __u64 now_ns)
{
	const struct sluice_signals *old = &p->sig;
	__u32 hist[SLUICE_RTT_BUCKETS];
	int i;

	memset(s, 0, sizeof(*s));
	s->addr = p->addr;
	s->interval_ns = now_ns - p->read_ns;
	s->rtt_samples = DELTA(rtt_samples);
	s->bytes_acked = DELTA(bytes_acked);
	s->retrans = DELTA(retrans);
	s->rtos = DELTA(rtos);
	s->connects = DELTA(connects);
	s->connect_fails = DELTA(connect_fails);
	s->conns_opened = DELTA(conns_opened);
	s->delivered_pkts = DELTA(delivered_pkts);
	s->delivered_ce = DELTA(delivered_ce);
	s->rwnd_limited_us = DELTA(rwnd_limited_us);
	s->zero_wnd_acks = DELTA(zero_wnd_acks);
	s->conns_active = cur->conns_active;
	s->conns_busy = cur->busy_now > cur->busy_prev ? cur->busy_now : cur->busy_prev;
	s->conns_bulk = cur->bulk_now > cur->bulk_prev ? cur->bulk_now : cur->bulk_prev;
	for (i = 0; i < SLUICE_CLASSES; i++)
		if (cur->class_busy_now[i] | cur->class_busy_prev[i])
			s->classes_busy |= 1u << i;
	for (i = 0; i < SLUICE_RTT_BUCKETS; i++)
		hist[i] = cur->rtt_hist[i] >= old->rtt_hist[i] ?
			  cur->rtt_hist[i] - old->rtt_hist[i] : 0;
	if (s->rtt_samples) {
		s->rtt_mean_us = DELTA(rtt_sum_us) / s->rtt_samples;
		s->rtt_p10_us = rtt_hist_quantile(hist, 0.10);
		s->rtt_p50_us = rtt_hist_quantile(hist, 0.50);
	}
	if (s->interval_ns)
		s->delivered_Bps = (s->bytes_acked + s->delivered_pkts * segment_overhead(&s->addr)) *
				   1000000000ULL / s->interval_ns;
	/* Split the delivered rate as the acked bytes split, headers and all. */
	for (i = 0; i < SLUICE_CLASSES && s->bytes_acked; i++)
		s->class_delivered_Bps[i] = (__u64)((double)s->delivered_Bps *
						    DELTA(class_bytes_acked[i]) / s->bytes_acked);
	s->active = s->rtt_samples || s->connects || s->connect_fails || s->retrans ||
		    s->rtos || s->conns_active;
}

/*
 * Move each destination read in this batch from the previous poll's tree
 * into this poll's; what is left in the old tree afterwards is gone from
 * the kernel's table and is freed with it.
 */
static int consume(struct signal_reader *r, void **next_tree, __u32 n, __u64 now_ns,
		   sample_fn fn, void *ctx)
{
	struct dest_sample s;
	__u32 i;

	for (i = 0; i < n; i++) {
		struct prev key = { .addr = r->keys[i] }, **found, *p;

		found = tfind(&key, &r->tree, prev_cmp);
		if (found) {
			p = *found;
			tdelete(p, &r->tree, prev_cmp);
			make_sample(&s, p, &r->vals[i], now_ns);
			fn(&s, ctx);
		} else {
			p = calloc(1, sizeof(*p));
			if (!p)
				return -ENOMEM;
			p->addr = r->keys[i];
		}
		p->sig = r->vals[i];
		p->read_ns = now_ns;
		if (!tsearch(p, next_tree, prev_cmp)) {
			free(p);
			return -ENOMEM;
		}
	}
	return 0;
}

/* twalk has no context argument; the reader runs on one thread. */
static gone_fn gone_cb;
static void *gone_ctx;

static void report_gone(const void *node, VISIT which, int depth)
{
	(void)depth;
	if (which == postorder || which == leaf)
		gone_cb(&(*(struct prev *const *)node)->addr, gone_ctx);
}

int signal_reader_poll(struct signal_reader *r, __u64 now_ns, sample_fn fn, gone_fn gone,
		       void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sluice_addr batch_key;
	void *in = NULL, *next_tree = NULL;
	int total = 0, err;

	for (;;) {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(r->fd, in, &batch_key, r->keys, r->vals, &n, &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		if (n) {
			int e = consume(r, &next_tree, n, now_ns, fn, ctx);

			if (e) {
				err = e;
				goto out;
			}
			total += n;
		}
		if (err) /* ENOENT: that was the last batch */
			break;
		in = &batch_key;
	}
	err = total;
	if (gone) {
		gone_cb = gone;
		gone_ctx = ctx;
		twalk(r->tree, report_gone);
	}
out:
	/* After an error, destinations not read yet start from a new baseline. */
	tdestroy(r->tree, free);
	r->tree = next_tree;
	return err;
}
