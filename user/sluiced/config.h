/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluiced's configuration: what the file (/etc/sluice/sluice.conf, INI)
 * and the command line set. The command line wins over the file.
 */
#ifndef SLUICED_CONFIG_H
#define SLUICED_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <limits.h>
#include "sluice/abi.h"

#define SLUICED_CONF_DEFAULT "/etc/sluice/sluice.conf"
#define SLUICED_MAX_IFACES   32
/* As many as the tables hold: sluice_policy and sluice_classify. */
#define SLUICED_MAX_POLICIES SLUICE_POLICY_MAX_DEFAULT

struct conf_policy {
	char name[64];
	struct sluice_lpm_key key;
	struct sluice_policy pol;
	bool has_prefix;
	bool has_rate;
	bool has_controller;
};

#define SLUICED_MAX_CLASS_RULES 1024 /* sluice_classify (bpf/lib/maps.h) */

/* A rule that puts traffic into a priority class. */
struct class_rule {
	__u32 kind;             /* enum sluice_classify_kind */
	__u64 value;            /* DSCP, mark, or cgroup id */
	__u8 cls;               /* enum sluice_class */
};

struct sluiced_config {
	char pin_dir[PATH_MAX];
	char cgroup[PATH_MAX];    /* "" = the cgroup2 root; "none" = no sock_ops */
	char ifaces[SLUICED_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	__u64 interval_ns;
	__u32 dest_table_size;
	/* The place of sluice's filter on clsact egress (tc_handle and
	 * tc_priority in [sluice]): another one for when a foreign filter
	 * holds the default. */
	__u32 tc_handle, tc_priority;
	bool use_syslog;
	int n_policies;
	struct conf_policy policies[SLUICED_MAX_POLICIES];
	/* Priority classes: shares in percent, all 0 when none are configured. */
	__u8 class_share_pct[SLUICE_CLASSES];
	bool classes;
	/* [class critical] headroom: percent below the path while it shares */
	__u8 critical_headroom_pct;
	int n_class_rules;
	struct class_rule class_rules[SLUICED_MAX_CLASS_RULES];
};


void config_defaults(struct sluiced_config *c);
/*
 * Read an INI file into c. Returns 0, or -errno with a one-line reason in
 * err: the file's first error, with its line and key ("FILE:LINE: invalid
 * rate '50mbt' (key 'rate' in [policy web])"). No input crashes it; on
 * error c holds part of the file, to be thrown away.
 */
int config_load(const char *path, struct sluiced_config *c, char *err, size_t errlen);
/* Add an interface name; -EINVAL for a bad name, -E2BIG when full. */
int config_add_iface(struct sluiced_config *c, const char *name);

#endif
