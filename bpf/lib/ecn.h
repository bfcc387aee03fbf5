/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Congestion Experienced marking, keeping the IPv4 header checksum valid. */
#ifndef SLUICE_BPF_ECN_H
#define SLUICE_BPF_ECN_H

#include "compat.h"
#include "parse.h"

/* RFC 1624: HC' = ~(~HC + ~m + m'), on 16-bit one's complement words. */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32)new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * Set CE on an ECN-capable packet. Returns 0 when the packet now carries
 * CE (including when it already did), -1 when it is not ECN-capable or the
 * header is out of reach or cannot be made writable.
 *
 * The bytes are written through bpf_skb_store_bytes(), never through the
 * packet pointers: a program that writes packet memory directly gets an
 * unclone call from the verifier at its start, run for every cloned
 * packet (every TCP data segment is a clone of the one TCP keeps for
 * retransmission), marked or not. The helper makes the header writable
 * only for the packets marked. IPv4's TOS and checksum go in one store,
 * so a failure leaves the header as it was.
 */
static __always_inline int ecn_set_ce(struct __sk_buff *skb, const struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = p->l3_off;

	if (p->ecn == INET_ECN_NOT_ECT)
		return -1;
	if (p->ecn == INET_ECN_CE)
		return 0;
	if (off > 64)
		return -1;
	if (p->family == 4) {
		struct iphdr *iph = data + off, h;
		__u16 old, new;

		if ((void *)(iph + 1) > data_end)
			return -1;
		h = *iph;
		/* memcpy, not a cast: the compiler may not assume the first
		 * 16 bits are unchanged by the tos store. */
		__builtin_memcpy(&old, &h, sizeof(old));
		h.tos |= INET_ECN_CE;
		__builtin_memcpy(&new, &h, sizeof(new));
		h.check = csum_replace16(h.check, old, new);
		/* version through checksum: the addresses stay as they are */
		return bpf_skb_store_bytes(skb, off, &h, offsetof(struct iphdr, saddr),
					   BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
	}
	{
		struct ipv6hdr *ip6h = data + off;
		__u8 b;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		/* The traffic class straddles bytes 0 and 1: ECN is 0x30 of byte 1. */
		b = ip6h->flow_lbl[0] | INET_ECN_CE << 4;
		return bpf_skb_store_bytes(skb, off + offsetof(struct ipv6hdr, flow_lbl), &b, 1,
					   BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
	}
}

#endif
