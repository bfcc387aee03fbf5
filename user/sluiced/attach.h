/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching sluice's programs: TC egress on interfaces (netlink filters,
 * which outlive sluiced by design) and sock_ops on a cgroup v2 (through a
 * pinned link, which outlives it too). Both are replaced in place when a
 * new sluiced takes over, so enforcement never has a gap.
 */
#ifndef SLUICED_ATTACH_H
#define SLUICED_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>

/* Our filter's place on clsact egress: fixed, so it is found again. */
#define SLUICE_TC_HANDLE 0x51
#define SLUICE_TC_PRIO   0x5100
#define SLUICE_LINK_SOCKOPS  "sluice_sockops_link"
#define SLUICE_LINK_CONNECT4 "sluice_connect4_link"
#define SLUICE_LINK_CONNECT6 "sluice_connect6_link"
#define SLUICE_TC_PROG_NAME "sluice_tc_egres" /* the kernel keeps 15 chars */

/* Where our filter sits on clsact egress (tc_handle, tc_priority). */
struct tc_place {
	__u32 handle;
	__u32 priority;
};

/*
 * Attach our TC egress filter on ifname at place at, or replace ours that
 * a previous run left there (*found is then true). A filter at that place
 * that is not ours is never replaced: -EBUSY, with its program named in
 * the log. 0 or -errno.
 */
int tc_attach(const char *ifname, int prog_fd, const struct tc_place *at, bool *found);
/* 1 when our filter holds our place on ifname, 0 when not, or -errno. */
int tc_is_ours(const char *ifname, const struct tc_place *at);
/* Remove our filter from ifname; a filter at our place that runs another
 * program is left alone (-EBUSY). -ENOENT when there is none. */
int tc_detach(const char *ifname, const struct tc_place *at);

/* The cgroup v2 mount point, from /proc/self/mountinfo. */
int cgroup2_root(char *buf, size_t len);
/* Attach a cgroup program through a link pinned as pin_dir/link_name, or
 * point that pinned link at prog_fd when it already serves this cgroup
 * (*found is then true). */
int cgroup_attach(const char *cgroup, int prog_fd, enum bpf_attach_type type,
		  const char *pin_dir, const char *link_name, bool *found);
/* Does pin_dir/link_name hold a cgroup link that serves this cgroup? */
bool cgroup_link_serves(const char *pin_dir, const char *link_name, const char *cgroup);
/* Unpin the link, which detaches it once nothing else holds it. */
int cgroup_detach(const char *pin_dir, const char *link_name);

#endif
