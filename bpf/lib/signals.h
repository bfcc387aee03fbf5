/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-destination signals from sock_ops: which connections are busy, and
 * what the receivers say (deliveries, CE echoes, receive-window stalls).
 * The counters are cumulative; the daemon reads them each interval.
 */
#ifndef SLUICE_BPF_SIGNALS_H
#define SLUICE_BPF_SIGNALS_H

#include "compat.h"
#include "maps.h"

/* tcp_sock's chrono counters run in jiffies. */
extern int CONFIG_HZ __kconfig __weak;

static __always_inline struct sluice_signals *signals_get(const struct sluice_addr *a)
{
	struct sluice_signals *s = bpf_map_lookup_elem(&sluice_signals, a);
	static const struct sluice_signals zero;

	if (s)
		return s;
	bpf_map_update_elem(&sluice_signals, a, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&sluice_signals, a);
	if (!s)
		stat_inc(SLUICE_STAT_SIG_ERR);
	return s;
}

/*
 * Tell sluiced that this destination's counters moved, once per read
 * generation: sluiced moves sluice_config.signal_gen at each interval
 * before it drains sluice_changed, so a busy destination costs one record
 * per interval and a quiet one none, and sluiced reads only what moved.
 * Called after the counters are written, so what it reads includes them.
 * A record the ring has no room for is counted; sluiced then reads the
 * whole table.
 */
static __always_inline void signals_announce(const struct sluice_addr *a,
					     struct sluice_signals *s)
{
	__u32 zero = 0;
	struct sluice_config *cfg = bpf_map_lookup_elem(&sluice_config, &zero);
	__u64 gen;

	if (!cfg)
		return;
	gen = READ_ONCE(cfg->signal_gen);
	if (READ_ONCE(s->announced_gen) == gen)
		return;
	WRITE_ONCE(s->announced_gen, gen);
	if (bpf_ringbuf_output(&sluice_changed, (void *)a, sizeof(*a), 0))
		stat_inc(SLUICE_STAT_CHANGED_LOST);
}

/*
 * Whether this socket counts as bulk in the epoch it is entering: it used
 * at least 1/SLUICE_BULK_USE of its pacing rate in the epoch before (or
 * is not paced yet, as a new connection). A light one, a ping-pong beside
 * a bulk transfer, would otherwise take half the rate and use none of it.
 */
static __always_inline bool bulk_in(const struct sluice_sk *st, __u64 epoch)
{
	__u64 used_Bps;

	if (!st->pacing_Bps)
		return true;
	used_Bps = st->busy_epoch + 1 == epoch ?
		   (__u64)st->epoch_bytes * (1000000000ULL / SLUICE_BUSY_EPOCH_NS) : 0;
	return used_Bps * SLUICE_BULK_USE >= st->pacing_Bps;
}

/*
 * Count this socket as busy in the current epoch (in total and in its
 * class, and as bulk if it is), rotating the destination's epoch counters
 * when this is the epoch's first event; `acked` is what this event
 * acknowledged.
 */
static __always_inline void busy_mark(struct sluice_signals *s, struct sluice_sk *st, __u64 now,
				      __u64 acked)
{
	__u64 epoch = now / SLUICE_BUSY_EPOCH_NS;
	__u64 old = READ_ONCE(s->busy_epoch);
	__u8 cls = st->cls & (SLUICE_CLASSES - 1);
	bool next;
	int i;

	if (old != epoch && __sync_val_compare_and_swap(&s->busy_epoch, old, epoch) == old) {
		next = old + 1 == epoch;
		WRITE_ONCE(s->busy_prev, next ? READ_ONCE(s->busy_now) : 0);
		WRITE_ONCE(s->busy_now, 0);
		WRITE_ONCE(s->bulk_prev, next ? READ_ONCE(s->bulk_now) : 0);
		WRITE_ONCE(s->bulk_now, 0);
		for (i = 0; i < SLUICE_CLASSES; i++) {
			WRITE_ONCE(s->class_busy_prev[i], next ? READ_ONCE(s->class_busy_now[i]) : 0);
			WRITE_ONCE(s->class_busy_now[i], 0);
			WRITE_ONCE(s->class_bulk_prev[i], next ? READ_ONCE(s->class_bulk_now[i]) : 0);
			WRITE_ONCE(s->class_bulk_now[i], 0);
		}
	}
	if (st->busy_epoch != epoch) {
		st->bulk = bulk_in(st, epoch);
		st->busy_epoch = epoch;
		st->epoch_bytes = 0;
		__sync_fetch_and_add(&s->busy_now, 1);
		__sync_fetch_and_add(&s->class_busy_now[cls], 1);
		if (st->bulk) {
			__sync_fetch_and_add(&s->bulk_now, 1);
			__sync_fetch_and_add(&s->class_bulk_now[cls], 1);
		}
	}
	acked += st->epoch_bytes;
	st->epoch_bytes = acked > 0xffffffffULL ? 0xffffffffU : (__u32)acked;
}

/* What the receiver tells us: deliveries, CE echoes, window stalls. */
static __always_inline void receiver_signals(struct bpf_sock *sk, const struct tcp_sock *tcp,
					     struct sluice_sk *st, struct sluice_signals *s)
{
	struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
	__u32 v, hz = CONFIG_HZ ? CONFIG_HZ : 1000;

	if (tp) {
		v = tp->delivered;
		if (v != st->last_delivered)
			__sync_fetch_and_add(&s->delivered_pkts, v - st->last_delivered);
		st->last_delivered = v;
		v = tp->delivered_ce;
		if (v != st->last_delivered_ce)
			__sync_fetch_and_add(&s->delivered_ce, v - st->last_delivered_ce);
		st->last_delivered_ce = v;
	}
	if (!tcp)
		return;
	if (tcp->snd_wnd == 0)
		__sync_fetch_and_add(&s->zero_wnd_acks, 1);
	/* chrono_stat only grows when the chrono type changes: add the
	 * stall in progress, so a receiver that stays stalled still shows. */
	v = tcp->chrono_stat[TCP_CHRONO_RWND_LIMITED - 1];
	if (tcp->chrono_type == TCP_CHRONO_RWND_LIMITED)
		v += (__u32)bpf_jiffies64() - tcp->chrono_start;
	if (v > st->last_rwnd_jiffies && st->last_rwnd_jiffies)
		__sync_fetch_and_add(&s->rwnd_limited_us,
				     (__u64)(v - st->last_rwnd_jiffies) * 1000000 / hz);
	st->last_rwnd_jiffies = v ? v : 1;
}

#endif
