/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the bucket spares. Over the rate, dropping a SYN, a FIN, a RST or a
 * pure ACK saves next to nothing and stalls a connection for a timeout;
 * dropping a request or a response costs its caller a timeout too, while
 * a bulk transfer to the same destination loses one segment of many and
 * is being paced down anyway. So those pass, and the room they take is
 * charged to the bucket: the bulk packets after them pay for it.
 *
 * Only what the bucket would drop is looked at here: the common path
 * costs one comparison more.
 */
#ifndef SLUICE_BPF_SPARE_H
#define SLUICE_BPF_SPARE_H

#include "compat.h"
#include "maps.h"
#include "parse.h"

/* The kind of a packet, as far as its headers tell: light or bulk data
 * needs its socket (kind_of_data). */
static __always_inline __u8 pkt_kind(const struct __sk_buff *skb, const struct pkt *p)
{
	if (p->l4_proto != IPPROTO_TCP)
		return SLUICE_KIND_OTHER;
	if (p->tcp_ctl || skb->len <= p->hdr_len)
		return SLUICE_KIND_CONTROL;
	return SLUICE_KIND_BULK;
}

/* A segment this small, alone, is a request or a response, not a
 * transfer: a sender with data queued fills its segments. */
#define SPARE_SMALL_BYTES 536 /* the least MSS a TCP peer may announce */

/* A socket counted light in its busy epoch (limits.h)? */
static __always_inline bool sk_light(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct sluice_sk *st;

	if (!sk)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return false;
	st = bpf_sk_storage_get(&sluice_sk, sk, 0, 0);
	return st && !st->bulk;
}

/*
 * TCP data of a request/response exchange: a lone small segment, or one
 * from a socket counted light (a connection whose requests come often
 * enough can count bulk for an epoch, and its small segments stay light).
 * LIGHT while the destination has bulk connections to slow instead.
 * Forwarded traffic has no socket here: only its size tells.
 */
static __always_inline __u8 kind_of_data(struct __sk_buff *skb, const struct pkt *p)
{
	struct sluice_signals *s;
	bool small = skb->gso_segs <= 1 && skb->len - p->hdr_len <= SPARE_SMALL_BYTES;

	if (!small && !sk_light(skb))
		return SLUICE_KIND_BULK;
	s = bpf_map_lookup_elem(&sluice_signals, &p->dst);
	if (!s || !(READ_ONCE(s->bulk_now) | READ_ONCE(s->bulk_prev)))
		return SLUICE_KIND_BULK;
	return SLUICE_KIND_LIGHT;
}

/*
 * Charge a spared packet, but let the debt reach at most two bursts: light
 * and control traffic alone above the rate must not hold a destination's
 * bulk traffic off for longer than the bucket's own depth.
 */
static __always_inline void spare_charge(struct sluice_dest *d, __u64 now, __u64 cost)
{
	__u64 tat = READ_ONCE(d->tat);

	if (tat > now && tat - now >= 2 * d->burst_ticks)
		return;
	sluice_bucket_charge(&d->tat, now, cost);
}

/*
 * A packet the bucket would drop: pass it if it is of a kind the bucket
 * spares, charging its room. A rate of 0 blocks everything: that is the
 * operator's or the breaker's word, not congestion. *kind becomes what
 * the packet turned out to be.
 */
static __always_inline bool spared(struct __sk_buff *skb, struct sluice_dest *d,
				   const struct pkt *p, __u8 *kind, __u64 now, __u64 cost)
{
	if (!d->ns_per_byte_q16)
		return false;
	if (*kind == SLUICE_KIND_BULK)
		*kind = kind_of_data(skb, p);
	if (*kind != SLUICE_KIND_CONTROL && *kind != SLUICE_KIND_LIGHT)
		return false;
	spare_charge(d, now, cost);
	return true;
}

#endif
