/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which priority class traffic belongs to: by cgroup, socket mark or DSCP,
 * in that order, as sluiced configured in sluice_classify. Only the kinds
 * the config uses are looked up, so without classes this costs nothing.
 */
#ifndef SLUICE_BPF_CLASSIFY_H
#define SLUICE_BPF_CLASSIFY_H

#include "maps.h"

static __always_inline int class_lookup(__u32 kind, __u64 value, __u8 *cls)
{
	struct sluice_class_key k = { .kind = kind, .value = value };
	__u32 *v = bpf_map_lookup_elem(&sluice_classify, &k);

	if (!v)
		return -1;
	*cls = *v & (SLUICE_CLASSES - 1);
	return 0;
}

static __always_inline __u8 classify(__u32 kinds, __u64 cgroup_id, __u32 mark, __u8 dscp)
{
	__u8 cls;

	if ((kinds & SLUICE_CLASSIFY_CGROUP) && cgroup_id &&
	    !class_lookup(SLUICE_CLASSIFY_CGROUP, cgroup_id, &cls))
		return cls;
	if ((kinds & SLUICE_CLASSIFY_MARK) && mark &&
	    !class_lookup(SLUICE_CLASSIFY_MARK, mark, &cls))
		return cls;
	if ((kinds & SLUICE_CLASSIFY_DSCP) && !class_lookup(SLUICE_CLASSIFY_DSCP, dscp, &cls))
		return cls;
	return SLUICE_CLASS_DEFAULT;
}

#endif
