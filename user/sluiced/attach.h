/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching sluice's programs: TC egress on interfaces (netlink filters,
 * which outlive sluiced by design) and sock_ops on a cgroup v2 (through a
 * pinned link, which outlives it too). Both are replaced in place when a
 * new sluiced takes over, so enforcement never has a gap.
 */
#ifndef SLUICED_ATTACH_H
#define SLUICED_ATTACH_H

#include <stddef.h>
#include <linux/bpf.h>

/* Our filter's place on clsact egress: fixed, so it is found again. */
#define SLUICE_TC_HANDLE 0x51
#define SLUICE_TC_PRIO   0x5100
#define SLUICE_LINK_SOCKOPS  "sluice_sockops_link"
#define SLUICE_LINK_CONNECT4 "sluice_connect4_link"
#define SLUICE_LINK_CONNECT6 "sluice_connect6_link"
#define SLUICE_TC_PROG_NAME "sluice_tc_egres" /* the kernel keeps 15 chars */

/* Attach or replace our TC egress filter on ifname. 0 or -errno. */
int tc_attach(const char *ifname, int prog_fd);
/* Remove our filter from ifname; a filter at our place that runs another
 * program is left alone (-EBUSY). -ENOENT when there is none. */
int tc_detach(const char *ifname);

/* The cgroup v2 mount point, from /proc/self/mountinfo. */
int cgroup2_root(char *buf, size_t len);
/* Attach a cgroup program through a link pinned as pin_dir/link_name, or
 * point that pinned link at prog_fd when it already serves this cgroup. */
int cgroup_attach(const char *cgroup, int prog_fd, enum bpf_attach_type type,
		  const char *pin_dir, const char *link_name);
/* Unpin the link, which detaches it once nothing else holds it. */
int cgroup_detach(const char *pin_dir, const char *link_name);

#endif
