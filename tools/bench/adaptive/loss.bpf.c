// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Random loss for the adaptive benchmark: a TC program that drops each
 * IPv4 packet with probability LOSS_PPM / 1,000,000 (default 1%), counting
 * what it passes and drops. Attached at the server's ingress, behind the
 * router's bottleneck, it is a lossy last link (sch_netem is not available).
 *
 * It expects MTU-sized frames (the router segments, with TSO off on its
 * link toward the server); a GSO packet that still arrives is dropped with
 * the probability that one of its segments would be, and counted apart.
 *
 *   clang -O2 -g -target bpf -DLOSS_PPM=10000 -c loss.bpf.c -o loss.bpf.o
 *   tc filter add dev s0 ingress bpf direct-action obj loss.bpf.o sec tc
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef LOSS_PPM
#define LOSS_PPM 10000
#endif

enum {
	LOSS_PASSED_PKTS,
	LOSS_PASSED_BYTES,
	LOSS_DROPPED_PKTS,
	LOSS_DROPPED_BYTES,
	LOSS_GSO_PKTS,
	LOSS_NR,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LOSS_NR);
	__type(key, __u32);
	__type(value, __u64);
} loss_counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&loss_counters, &idx);

	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("tc")
int loss(struct __sk_buff *skb)
{
	__u32 segs = skb->gso_segs ? skb->gso_segs : 1;
	__u64 keep = 1000000 - LOSS_PPM, p = 1000000;
	__u32 i;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (segs > 1)
		count(LOSS_GSO_PKTS, 1);
	/* P(drop) = 1 - (1 - loss)^segs, in parts per million. */
	for (i = 1; i < segs && i < 64; i++)
		p = p * keep / 1000000;
	p = p * keep / 1000000;
	if (bpf_get_prandom_u32() % 1000000 >= p) {
		count(LOSS_DROPPED_PKTS, segs);
		count(LOSS_DROPPED_BYTES, skb->len);
		return TC_ACT_SHOT;
	}
	count(LOSS_PASSED_PKTS, segs);
	count(LOSS_PASSED_BYTES, skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
