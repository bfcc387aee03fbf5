/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafted Ethernet frames for BPF_PROG_TEST_RUN: IPv4 (with options and
 * fragments) or IPv6, TCP, UDP or ICMP, behind up to three VLAN tags, with
 * any ECN codepoint, and cut short where a test needs a truncated header.
 * The IPv4 header checksum is valid; L4 checksums are left 0 (nothing in
 * sluice reads them).
 */
#ifndef SLUICE_TEST_PKT_H
#define SLUICE_TEST_PKT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <linux/types.h>

#define PKT_MAX 3500 /* test-run takes a little less than a page */

#define PKT_ETH_P_IP     0x0800
#define PKT_ETH_P_ARP    0x0806
#define PKT_ETH_P_IPV6   0x86dd
#define PKT_ETH_P_8021Q  0x8100
#define PKT_ETH_P_8021AD 0x88a8

#define ECN_NOT_ECT 0
#define ECN_ECT1    1
#define ECN_ECT0    2
#define ECN_CE      3

struct pkt_spec {
	const char *dst;      /* IPv4 or IPv6 address: picks the family */
	__u8 proto;           /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, or other */
	__u8 tos;             /* IPv4 TOS or IPv6 traffic class, ECN in bits 0-1 */
	__u32 flow_label;     /* IPv6 only */
	__u32 ip_opt_len;     /* IPv4 options, a multiple of 4, at most 40 */
	__u16 frag;           /* IPv4 flags and fragment offset, host order */
	__u32 tcp_opt_len;    /* TCP options, a multiple of 4, at most 40 */
	__u8 tcp_flags;       /* 0: PSH and ACK */
	__u32 payload;        /* bytes after the L4 header */
	int vlans;            /* 0, 1 (802.1Q), 2 or 3 (802.1ad, then 802.1Q) tags */
	__u16 ethertype;      /* when no dst: a non-IP frame of this type */
};

struct pkt_buf {
	__u8 data[PKT_MAX];
	__u32 len;
	__u32 l3_off;         /* where the IP header starts */
	__u32 l4_off;         /* where the L4 header starts */
	__u32 hdr_len;        /* all headers through L4: one segment's overhead */
};

static inline void pkt_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* One's complement sum of 16-bit big-endian words. */
static inline __u16 pkt_csum(const __u8 *p, __u32 len)
{
	__u32 sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* A received IPv4 header is valid when its sum, checksum included, is 0. */
static inline bool pkt_ipv4_csum_ok(const __u8 *iph)
{
	return pkt_csum(iph, (iph[0] & 0x0f) * 4) == 0;
}

static inline __u32 pkt_l4(__u8 *p, const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		memset(p, 0, 20 + s->tcp_opt_len);
		pkt_put16(p, 40000);               /* source port */
		pkt_put16(p + 2, 5201);            /* destination port */
		p[4] = 0x11;                       /* sequence number */
		p[12] = ((20 + s->tcp_opt_len) / 4) << 4;
		p[13] = s->tcp_flags ? s->tcp_flags : 0x18; /* PSH, ACK */
		pkt_put16(p + 14, 65535);          /* window */
		memset(p + 20, 1, s->tcp_opt_len); /* NOP options */
		return 20 + s->tcp_opt_len;
	case IPPROTO_UDP:
		pkt_put16(p, 40000);
		pkt_put16(p + 2, 5201);
		pkt_put16(p + 4, 8 + s->payload);
		pkt_put16(p + 6, 0);
		return 8;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		memset(p, 0, 8);
		p[0] = s->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		return 8;
	default:
		return 0;
	}
}

/*
 * Build the frame described by s into b. Returns false when the spec does
 * not fit or makes no sense (the test then fails at its assertion).
 */
static inline bool pkt_build(struct pkt_buf *b, const struct pkt_spec *s)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	__u32 off = 12, l3, l4len, i;
	__u8 *p, addr[16];
	int family = 0;
	__u16 type;

	memset(b, 0, sizeof(*b));
	p = b->data;
	if (s->dst && inet_pton(AF_INET, s->dst, addr) == 1)
		family = 4;
	else if (s->dst && inet_pton(AF_INET6, s->dst, addr) == 1)
		family = 6;
	else if (s->dst)
		return false;
	if (s->ip_opt_len % 4 || s->ip_opt_len > 40 || s->tcp_opt_len % 4 ||
	    s->tcp_opt_len > 40 || s->vlans < 0 || s->vlans > 3 ||
	    s->payload > PKT_MAX - 200)
		return false;

	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	for (i = 0; i < (__u32)s->vlans; i++) {
		pkt_put16(p + off, s->vlans >= 2 && i == 0 ? PKT_ETH_P_8021AD : PKT_ETH_P_8021Q);
		pkt_put16(p + off + 2, 100 + i); /* VLAN id */
		off += 4;
	}
	type = family == 4 ? PKT_ETH_P_IP : family == 6 ? PKT_ETH_P_IPV6 : s->ethertype;
	pkt_put16(p + off, type);
	l3 = off + 2;
	b->l3_off = l3;

	if (family == 4) {
		__u32 ihl = 20 + s->ip_opt_len;
		__u8 *ip = p + l3;

		b->l4_off = l3 + ihl;
		l4len = pkt_l4(p + b->l4_off, s);
		ip[0] = 0x40 | ihl / 4;
		ip[1] = s->tos;
		pkt_put16(ip + 2, ihl + l4len + s->payload);
		pkt_put16(ip + 4, 0x1234);          /* id */
		pkt_put16(ip + 6, s->frag);
		ip[8] = 64;                         /* ttl */
		ip[9] = s->proto;
		ip[12] = 10, ip[13] = 9, ip[14] = 9, ip[15] = 9;
		memcpy(ip + 16, addr, 4);
		memset(ip + 20, 1, s->ip_opt_len);  /* NOP options */
		pkt_put16(ip + 10, pkt_csum(ip, ihl));
	} else if (family == 6) {
		static const __u8 src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 1 };
		__u8 *ip = p + l3;
		__u32 w = 6U << 28 | (__u32)s->tos << 20 | (s->flow_label & 0xfffff);

		b->l4_off = l3 + 40;
		l4len = pkt_l4(p + b->l4_off, s);
		ip[0] = w >> 24, ip[1] = w >> 16, ip[2] = w >> 8, ip[3] = w;
		pkt_put16(ip + 4, l4len + s->payload);
		ip[6] = s->proto;
		ip[7] = 64;                         /* hop limit */
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, addr, 16);
	} else {
		/* non-IP: an ARP request body, or just bytes */
		b->l4_off = l3;
		l4len = 0;
		if (type == PKT_ETH_P_ARP) {
			static const __u8 arp[28] = {
				0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 9, 9, 9,
				0, 0, 0, 0, 0, 0, 10, 1, 2, 3,
			};

			memcpy(p + l3, arp, sizeof(arp));
			l4len = sizeof(arp);
		}
	}
	b->hdr_len = b->l4_off + l4len;
	for (i = 0; i < s->payload; i++)
		p[b->hdr_len + i] = (__u8)(i * 7 + 3);
	/* no padding to 60 bytes: at TC egress a frame is not padded yet */
	b->len = b->hdr_len + s->payload;
	return true;
}

/* Cut the frame to len bytes: a header that ends early. */
static inline void pkt_truncate(struct pkt_buf *b, __u32 len)
{
	if (len < b->len)
		b->len = len;
}

#endif
