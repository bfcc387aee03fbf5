/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing at TC: a cursor over Ethernet, up to two VLAN tags, IPv4 or
 * IPv6, and the TCP or UDP header, with a bounds check before every read.
 * What it cannot parse it reports as an error; the caller passes such
 * packets untouched.
 */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include "compat.h"
#include "sluice/abi.h"

struct pkt {
	struct sluice_addr dst;
	__u32 l3_off;   /* offset of the IP header */
	__u32 hdr_len;  /* bytes of headers, through L4 when known */
	__u8 family;    /* 4 or 6 */
	__u8 ecn;       /* ECN field of the IP header */
	__u8 l4_proto;
	__u8 dscp;
	__u8 tcp_ctl;   /* TCP with SYN, FIN or RST */
};

static __always_inline void addr_from_v4(struct sluice_addr *a, __be32 ip)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffff);
	a->w[3] = ip;
}

/* Length of the L4 header at off, or 0 when absent or truncated; notes
 * whether a TCP segment opens, ends or resets its connection. */
static __always_inline __u32 l4_hdr_len(void *data, void *data_end, __u32 off,
					__u8 proto, struct pkt *p)
{
	if (proto == IPPROTO_UDP) {
		if (data + off + sizeof(struct udphdr) > data_end)
			return 0;
		return sizeof(struct udphdr);
	}
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end)
			return 0;
		p->tcp_ctl = th->syn | th->fin | th->rst;
		return th->doff * 4;
	}
	return 0;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off,
				      struct pkt *p)
{
	struct iphdr *iph = data + off;
	__u32 ihl;

	if ((void *)(iph + 1) > data_end)
		return -1;
	ihl = iph->ihl * 4;
	if (iph->version != 4 || ihl < sizeof(*iph))
		return -1;
	addr_from_v4(&p->dst, iph->daddr);
	p->family = 4;
	p->ecn = iph->tos & INET_ECN_MASK;
	p->dscp = iph->tos >> 2;
	p->l4_proto = iph->protocol;
	p->hdr_len = off + ihl;
	/* Only a first fragment carries the L4 header. */
	if (!(iph->frag_off & bpf_htons(0x1fff)))
		p->hdr_len += l4_hdr_len(data, data_end, off + ihl, iph->protocol, p);
	return 0;
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off,
				      struct pkt *p)
{
	struct ipv6hdr *ip6h = data + off;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	if (ip6h->version != 6)
		return -1;
	__builtin_memcpy(&p->dst, &ip6h->daddr, sizeof(p->dst));
	p->family = 6;
	p->ecn = (ip6h->flow_lbl[0] >> 4) & INET_ECN_MASK;
	p->dscp = (ip6h->priority << 2) | (ip6h->flow_lbl[0] >> 6);
	p->l4_proto = ip6h->nexthdr;
	p->hdr_len = off + sizeof(*ip6h) +
		     l4_hdr_len(data, data_end, off + sizeof(*ip6h), ip6h->nexthdr, p);
	return 0;
}

static __always_inline int parse_pkt(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = ETH_HLEN;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct vlan_hdr *vh = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->h_vlan_encapsulated_proto;
		off += VLAN_HLEN;
	}
	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, off, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, off, p);
	return -1;
}

#endif
