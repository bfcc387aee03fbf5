// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice's BPF programs: thin entry points, one per hook. The logic lives
 * in lib/ as small inline helpers.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/tc_egress.h"
#include "lib/sockops.h"
#include "lib/connect.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int sluice_tc_egress(struct __sk_buff *skb)
{
	return tc_egress(skb);
}

SEC("sockops")
int sluice_sockops(struct bpf_sock_ops *ops)
{
	return sockops(ops);
}

SEC("cgroup/connect4")
int sluice_connect4(struct bpf_sock_addr *ctx)
{
	return connect4(ctx);
}

SEC("cgroup/connect6")
int sluice_connect6(struct bpf_sock_addr *ctx)
{
	return connect6(ctx);
}
