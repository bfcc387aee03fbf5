/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Constants that vmlinux.h cannot carry: they are macros in the uapi headers. */
#ifndef SLUICE_BPF_COMPAT_H
#define SLUICE_BPF_COMPAT_H

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK     0
#define TC_ACT_SHOT   2

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_HLEN     14
#define VLAN_HLEN    4

#define SOCK_STREAM 1

#define AF_INET  2
#define AF_INET6 10

#define SOL_SOCKET            1
#define SO_MAX_PACING_RATE    47
#define SOL_IP                0
#define IP_TOS                1
#define SOL_IPV6              41
#define IPV6_TCLASS           67
#define SOL_TCP               6
#define TCP_BPF_SNDCWND_CLAMP 1002

#define INET_ECN_MASK   3
#define INET_ECN_NOT_ECT 0
#define INET_ECN_CE     3

#define NSEC_PER_SEC 1000000000ULL

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef READ_ONCE
#define READ_ONCE(x)     (*(volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#endif

#endif
