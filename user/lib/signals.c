// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "sluice/rtt_hist.h"
#include "lib/addr.h"
#include "lib/maps.h"
#include "lib/signals.h"

#define BATCH 512
#define SWEEP_TICKS 100 /* the slow sweep sees the whole table this often */

/* What was read last time for one destination. */
struct prev {
	struct sluice_addr addr;
	struct sluice_signals sig;
	__u64 read_ns;
	__u64 poll;          /* the last poll that read it */
	__u64 cycle;         /* the last sweep cycle it was read in */
	UT_hash_handle hh;   /* keyed by addr */
};

struct signal_reader {
	int fd, stats_fd;
	struct ring_buffer *changed;
	struct prev *table;  /* uthash, by address */
	__u64 poll;
	__u64 last_poll_ns;
	__u64 lost_seen;     /* SLUICE_STAT_CHANGED_LOST at the last poll */
	bool swept_once;     /* a whole sweep since the start */
	/* The slow sweep: a slice of the table per poll, from where the last
	 * one stopped; a cycle is one pass over the whole table. */
	__u64 cycle;
	struct sluice_addr cursor;
	bool cursor_valid;
	/* Announced this poll, from sluice_changed. */
	struct sluice_addr *queue;
	size_t queued, queue_cap;
	bool short_of_memory;
	struct sluice_addr keys[BATCH];
	struct sluice_signals vals[BATCH];
};

static int on_changed(void *ctx, void *data, size_t size)
{
	struct signal_reader *r = ctx;

	if (size < sizeof(struct sluice_addr))
		return 0;
	if (r->queued == r->queue_cap) {
		size_t cap = r->queue_cap ? r->queue_cap * 2 : 1024;
		struct sluice_addr *q = realloc(r->queue, cap * sizeof(*q));

		if (!q) {
			r->short_of_memory = true; /* a whole sweep then */
			return 0;
		}
		r->queue = q;
		r->queue_cap = cap;
	}
	memcpy(&r->queue[r->queued++], data, sizeof(struct sluice_addr));
	return 0;
}

struct signal_reader *signal_reader_new(int signals_fd, int changed_fd, int stats_fd)
{
	struct signal_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = signals_fd;
	r->stats_fd = stats_fd;
	r->cycle = 1;
	if (changed_fd >= 0) {
		r->changed = ring_buffer__new(changed_fd, on_changed, r, NULL);
		if (!r->changed) {
			free(r);
			return NULL;
		}
	}
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
	ring_buffer__free(r->changed);
	free(r->queue);
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

/*
 * One entry as read now. Its interval starts at the previous poll at the
 * latest: an entry that was not read since had not moved (it would have
 * been announced), so all it moved by, it moved since then.
 */
static int consume_one(struct signal_reader *r, const struct sluice_addr *a,
		       const struct sluice_signals *cur, __u64 now_ns, sample_fn fn, void *ctx)
{
	struct dest_sample s;
	struct prev *p;

	HASH_FIND(hh, r->table, a, sizeof(*a), p);
	if (p && p->poll == r->poll)
		return 0; /* announced and swept in the same poll */
	if (!p) {
		/* The first reading is the baseline. */
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->addr = *a;
		HASH_ADD(hh, r->table, addr, sizeof(p->addr), p);
	} else {
		if (p->read_ns < r->last_poll_ns)
			p->read_ns = r->last_poll_ns;
		if (!memcmp(&p->sig, cur, sizeof(*cur))) {
			/* Nothing moved: the deltas are all zero, no need
			 * to walk the histogram for them. */
			state_values(&s, p, cur, now_ns);
		} else {
			make_sample(&s, p, cur, now_ns);
			s.changed = true;
		}
		fn(&s, ctx);
	}
	p->sig = *cur;
	p->read_ns = now_ns;
	p->poll = r->poll;
	p->cycle = r->cycle;
	return 0;
}

/* A sweep cycle ended: what it did not read is gone from the table. */
static void cycle_end(struct signal_reader *r, gone_fn gone, void *ctx)
{
	struct prev *p, *tmp;

	HASH_ITER(hh, r->table, p, tmp) {
		if (p->cycle == r->cycle)
			continue;
		if (gone)
			gone(&p->addr, ctx);
		HASH_DEL(r->table, p);
		free(p);
	}
	r->cycle++;
	r->cursor_valid = false;
	r->swept_once = true;
}

/* Read up to max entries of the table from the sweep's cursor (all of it
 * with max 0). Returns the number read or -errno. */
static int sweep(struct signal_reader *r, size_t max, __u64 now_ns, sample_fn fn, gone_fn gone,
		 void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sluice_addr out;
	size_t total = 0;
	__u32 i;
	int err, e;

	for (;;) {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(r->fd, r->cursor_valid ? &r->cursor : NULL, &out,
					   r->keys, r->vals, &n, &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < n; i++) {
			e = consume_one(r, &r->keys[i], &r->vals[i], now_ns, fn, ctx);
			if (e)
				return e;
		}
		total += n;
		if (err) { /* ENOENT: the end of the table */
			cycle_end(r, gone, ctx);
			return (int)total;
		}
		r->cursor = out;
		r->cursor_valid = true;
		if (max && total >= max)
			return (int)total;
	}
}

/* Read what sluice_changed announced. An entry no longer there is gone. */
static int read_announced(struct signal_reader *r, __u64 now_ns, sample_fn fn, gone_fn gone,
			  void *ctx)
{
	struct sluice_signals cur;
	struct prev *p;
	size_t i;
	int err;

	for (i = 0; i < r->queued; i++) {
		const struct sluice_addr *a = &r->queue[i];

		if (bpf_map_lookup_elem(r->fd, a, &cur)) {
			if (errno != ENOENT)
				return -errno;
			HASH_FIND(hh, r->table, a, sizeof(*a), p);
			if (p) {
				if (gone)
					gone(a, ctx);
				HASH_DEL(r->table, p);
				free(p);
			}
			continue;
		}
		err = consume_one(r, a, &cur, now_ns, fn, ctx);
		if (err)
			return err;
	}
	return (int)r->queued;
}

int signal_reader_poll(struct signal_reader *r, __u64 now_ns, sample_fn fn, gone_fn gone,
		       void *ctx)
{
	size_t slice = HASH_COUNT(r->table) / SWEEP_TICKS + BATCH;
	__u64 lost = 0;
	int err, n = 0;

	r->poll++;
	r->queued = 0;
	if (r->changed && ring_buffer__consume(r->changed) < 0)
		r->short_of_memory = true;
	if (r->stats_fd >= 0 && sluice_stat_read(r->stats_fd, SLUICE_STAT_CHANGED_LOST, &lost))
		lost = r->lost_seen + 1; /* cannot tell: read it all */
	if (!r->changed || !r->swept_once || lost != r->lost_seen || r->short_of_memory) {
		/* Announcements were lost, or there are none yet: the whole
		 * table, once, from the start. */
		r->lost_seen = lost;
		r->short_of_memory = false;
		r->cursor_valid = false;
		err = sweep(r, 0, now_ns, fn, gone, ctx);
	} else {
		err = read_announced(r, now_ns, fn, gone, ctx);
		if (err >= 0) {
			n = err;
			err = sweep(r, slice, now_ns, fn, gone, ctx);
		}
	}
	r->last_poll_ns = now_ns;
	return err < 0 ? err : err + n;
}

int signal_reader_still(struct signal_reader *r, const struct sluice_addr *a, __u64 now_ns,
			struct dest_sample *s)
{
	struct prev *p;

	HASH_FIND(hh, r->table, a, sizeof(*a), p);
	if (!p)
		return -ENOENT;
	if (p->poll == r->poll)
		return -EALREADY;
	if (p->read_ns < r->last_poll_ns)
		p->read_ns = r->last_poll_ns;
	state_values(s, p, &p->sig, now_ns);
	return 0;
}
