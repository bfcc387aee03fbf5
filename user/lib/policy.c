// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/policy.h"
#include "sluice/bucket.h"

void policy_fill_defaults(struct sluice_policy *p)
{
	if (!p->burst_bytes) {
		__u64 b = p->rate_Bps * SLUICE_BURST_TIME_NS / SLUICE_NSEC_PER_SEC;

		if (b < SLUICE_BURST_MIN)
			b = SLUICE_BURST_MIN;
		if (b > 0xffffffffULL)
			b = 0xffffffffULL;
		p->burst_bytes = (__u32)b;
	}
	if (!p->mark_thresh)
		p->mark_thresh = p->burst_bytes / 4;
}

int policy_validate(const struct sluice_policy *p, const char **why)
{
	if (p->rate_Bps && p->rate_Bps < SLUICE_RATE_MIN_BPS) {
		*why = "rate below 1kbit";
		return -EINVAL;
	}
	if (p->burst_bytes < 1514) {
		*why = "burst smaller than one packet (1514 bytes)";
		return -EINVAL;
	}
	if (p->mark_thresh > p->burst_bytes) {
		*why = "ecn threshold larger than burst";
		return -EINVAL;
	}
	if (p->mode != SLUICE_MODE_ENFORCE && p->mode != SLUICE_MODE_MONITOR) {
		*why = "unknown mode";
		return -EINVAL;
	}
	return 0;
}

struct max_id {
	__u32 max;
};

static int find_max_id(const struct sluice_lpm_key *k, const struct sluice_policy *p,
		       void *ctx)
{
	struct max_id *m = ctx;

	if (p->id > m->max)
		m->max = p->id;
	return 0;
}

/* An LPM lookup returns the longest match, not the exact prefix: walk the
 * keys to know whether this very prefix has a policy. */
static bool policy_exists(const struct sluice_maps *m, const struct sluice_lpm_key *k)
{
	struct sluice_lpm_key next;
	const void *prev = NULL;

	while (bpf_map_get_next_key(m->policy, prev, &next) == 0) {
		if (!memcmp(&next, k, sizeof(next)))
			return true;
		prev = &next;
	}
	return false;
}

int policy_get(const struct sluice_maps *m, const struct sluice_lpm_key *k,
	       struct sluice_policy *p)
{
	if (!policy_exists(m, k))
		return -ENOENT;
	/* The exact prefix exists, so the longest match is that prefix. */
	if (bpf_map_lookup_elem(m->policy, k, p))
		return -errno;
	return 0;
}

int policy_put(const struct sluice_maps *m, const struct sluice_lpm_key *k,
	       struct sluice_policy *p)
{
	struct sluice_policy cur;
	struct max_id mx = { 0 };
	int err;

	if (policy_get(m, k, &cur) == 0) {
		p->id = cur.id;
	} else {
		err = policy_for_each(m, find_max_id, &mx);
		if (err)
			return err;
		p->id = mx.max + 1;
	}
	if (bpf_map_update_elem(m->policy, k, p, BPF_ANY))
		return -errno;
	return sluice_ctl_gen_bump(m->config);
}

int policy_del(const struct sluice_maps *m, const struct sluice_lpm_key *k)
{
	if (bpf_map_delete_elem(m->policy, k))
		return -errno;
	return sluice_ctl_gen_bump(m->config);
}

int policy_for_each(const struct sluice_maps *m, policy_fn fn, void *ctx)
{
	struct sluice_lpm_key key, next;
	struct sluice_policy p;
	void *prev = NULL;
	int err;

	while (bpf_map_get_next_key(m->policy, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->policy, &key, &p))
			continue; /* removed meanwhile */
		err = fn(&key, &p, ctx);
		if (err)
			return err;
	}
	return errno == ENOENT ? 0 : -errno;
}

const char *mode_name(__u16 mode)
{
	switch (mode) {
	case SLUICE_MODE_ENFORCE:
		return "enforce";
	case SLUICE_MODE_MONITOR:
		return "monitor";
	default:
		return "unknown";
	}
}

int parse_mode(const char *s, __u16 *mode)
{
	if (!strcmp(s, "enforce"))
		*mode = SLUICE_MODE_ENFORCE;
	else if (!strcmp(s, "monitor"))
		*mode = SLUICE_MODE_MONITOR;
	else
		return -EINVAL;
	return 0;
}
