/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-destination signals over one control interval. The kernel keeps
 * cumulative counters (struct sluice_signals); each interval the daemon
 * reads them all in batches and turns them into the interval's values by
 * difference with what it read last time.
 */
#ifndef SLUICE_SIGNALS_H
#define SLUICE_SIGNALS_H

#include <stdbool.h>
#include "sluice/abi.h"

struct dest_sample {
	struct sluice_addr addr;
	__u64 interval_ns;
	__u64 rtt_samples;
	__u64 rtt_p10_us;    /* low percentile: the path without queueing */
	__u64 rtt_p50_us;
	__u64 rtt_mean_us;
	__u64 bytes_acked;
	__u64 delivered_Bps; /* acked bytes per second with their headers, as the
			      * bucket charges them */
	__u64 retrans;
	__u64 rtos;
	__u64 connects;
	__u64 connect_fails;
	__u64 conns_opened;  /* connects that succeeded */
	__u64 delivered_pkts;
	__u64 delivered_ce;
	__u64 rwnd_limited_us;
	__u64 zero_wnd_acks;
	__u32 conns_active;
	__u32 conns_busy;    /* connections with data acked lately */
	__u32 conns_bulk;    /* of them, those the rate is split among */
	__u8 classes_busy;   /* bit per enum sluice_class with such connections */
	__u64 class_delivered_Bps[SLUICE_CLASSES]; /* delivered_Bps, by class */
	bool active;         /* anything happened in the interval */
	bool changed;        /* the counters moved since the last reading */
};

struct signal_reader;

/*
 * changed_fd is sluice_changed (-1: none, read the whole table each
 * poll); stats_fd is sluice_stats, where the datapath counts the
 * announcements the ring had no room for.
 */
struct signal_reader *signal_reader_new(int signals_fd, int changed_fd, int stats_fd);
void signal_reader_free(struct signal_reader *r);

/*
 * Read the destinations announced in sluice_changed since the last poll,
 * and a slice of the whole table (all of it every SWEEP_TICKS polls, and
 * at once when announcements were lost or none were read yet), and call
 * fn with each one's interval sample: one with changed false and only its
 * state values when its counters did not move. The first reading of a
 * destination only sets the baseline. gone (when not NULL) is called for
 * each destination the table no longer holds: one announced but absent,
 * or one a whole sweep did not find. Returns the number of destinations
 * read, or -errno.
 */
typedef void (*sample_fn)(const struct dest_sample *s, void *ctx);
typedef void (*gone_fn)(const struct sluice_addr *a, void *ctx);
int signal_reader_poll(struct signal_reader *r, __u64 now_ns, sample_fn fn, gone_fn gone,
		       void *ctx);
/*
 * The sample of a destination this poll did not read (its counters did
 * not move: only its state values), for one the caller still steps. 0,
 * -ENOENT when the reader does not know it, -EALREADY when this poll read it.
 */
int signal_reader_still(struct signal_reader *r, const struct sluice_addr *a, __u64 now_ns,
			struct dest_sample *s);

/* The q-quantile (0..1) of a histogram, from its bucket layout. */
__u64 rtt_hist_quantile(const __u32 *hist, double q);

#endif
