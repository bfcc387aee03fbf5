// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <uthash.h>

#include "sluice/rtt_hist.h"
#include "lib/addr.h"
#include "lib/signals.h"

#define BATCH 512

/* What was read last time for one destination. */
struct prev {
	struct sluice_addr addr;
	struct sluice_signals sig;
	__u64 read_ns;
	__u64 poll;          /* the last poll that read it */
	UT_hash_handle hh;   /* keyed by addr */
};

struct signal_reader {
	int fd;
	struct prev *table;  /* uthash, by address */
	__u64 poll;
	struct sluice_addr keys[BATCH];
	struct sluice_signals vals[BATCH];
};

struct signal_reader *signal_reader_new(int signals_fd)
{
	struct signal_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->fd = signals_fd;
	return r;
}

void signal_reader_free(struct signal_reader *r)
{
	struct prev *p, *tmp;

	if (!r)
		return;
	HASH_ITER(hh, r->table, p, tmp) {
		HASH_DEL(r->table, p);
		free(p);
	}
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

/* The values that are state, not counters: what the entry says now. */
static void state_values(struct dest_sample *s, const struct prev *p,
			 const struct sluice_signals *cur, __u64 now_ns)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->addr = p->addr;
	s->interval_ns = now_ns - p->read_ns;
	s->conns_active = cur->conns_active;
	s->conns_busy = cur->busy_now > cur->busy_prev ? cur->busy_now : cur->busy_prev;
	s->conns_bulk = cur->bulk_now > cur->bulk_prev ? cur->bulk_now : cur->bulk_prev;
	for (i = 0; i < SLUICE_CLASSES; i++)
		if (cur->class_busy_now[i] | cur->class_busy_prev[i])
			s->classes_busy |= 1u << i;
	s->active = cur->conns_active != 0;
}

static void make_sample(struct dest_sample *s, const struct prev *p,
			const struct sluice_signals *cur, __u64 now_ns)
{
	const struct sluice_signals *old = &p->sig;
	__u32 hist[SLUICE_RTT_BUCKETS];
	int i;

	state_values(s, p, cur, now_ns);
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

static int consume(struct signal_reader *r, __u32 n, __u64 now_ns, sample_fn fn, void *ctx)
{
	struct dest_sample s;
	struct prev *p;
	__u32 i;

	for (i = 0; i < n; i++) {
		HASH_FIND(hh, r->table, &r->keys[i], sizeof(r->keys[i]), p);
		if (!p) {
			/* The first reading is the baseline. */
			p = calloc(1, sizeof(*p));
			if (!p)
				return -ENOMEM;
			p->addr = r->keys[i];
			HASH_ADD(hh, r->table, addr, sizeof(p->addr), p);
		} else if (!memcmp(&p->sig, &r->vals[i], sizeof(p->sig))) {
			/* Nothing moved: the deltas are all zero, no need to
			 * walk the histogram for them. */
			state_values(&s, p, &r->vals[i], now_ns);
			fn(&s, ctx);
		} else {
			make_sample(&s, p, &r->vals[i], now_ns);
			s.changed = true;
			fn(&s, ctx);
		}
		p->sig = r->vals[i];
		p->read_ns = now_ns;
		p->poll = r->poll;
	}
	return 0;
}

/* What this poll did not read is gone from the kernel's table. */
static void sweep_gone(struct signal_reader *r, gone_fn gone, void *ctx)
{
	struct prev *p, *tmp;

	HASH_ITER(hh, r->table, p, tmp) {
		if (p->poll == r->poll)
			continue;
		if (gone)
			gone(&p->addr, ctx);
		HASH_DEL(r->table, p);
		free(p);
	}
}

int signal_reader_poll(struct signal_reader *r, __u64 now_ns, sample_fn fn, gone_fn gone,
		       void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sluice_addr batch_key;
	void *in = NULL;
	int total = 0, err;

	r->poll++;
	for (;;) {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(r->fd, in, &batch_key, r->keys, r->vals, &n, &opts);
		if (err && errno != ENOENT)
			return -errno; /* what was not read keeps its baseline */
		if (n) {
			int e = consume(r, n, now_ns, fn, ctx);

			if (e)
				return e;
			total += n;
		}
		if (err) /* ENOENT: that was the last batch */
			break;
		in = &batch_key;
	}
	sweep_gone(r, gone, ctx);
	return total;
}
