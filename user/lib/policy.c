// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/policy.h"
#include "sluice/bucket.h"

void policy_fill_defaults(struct sluice_policy *p)
{
	__u64 top = p->rate_Bps;

	if (p->controller != SLUICE_CTRL_STATIC) {
		if (!p->max_Bps)
			p->max_Bps = p->rate_Bps;
		if (!p->rate_Bps)
			p->rate_Bps = p->max_Bps;
		if (!p->min_Bps)
			p->min_Bps = p->max_Bps / 100 > SLUICE_RATE_MIN_BPS ?
				     p->max_Bps / 100 : SLUICE_RATE_MIN_BPS;
		top = p->max_Bps;
	}
	if (!p->burst_bytes) {
		__u64 b = top * SLUICE_BURST_TIME_NS / SLUICE_NSEC_PER_SEC;

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
	if (p->rate_Bps > SLUICE_RATE_MAX_BPS || p->max_Bps > SLUICE_RATE_MAX_BPS) {
		*why = "rate above 8tbit";
		return -EINVAL;
	}
	if (p->controller >= SLUICE_CTRL_MAX) {
		*why = "unknown controller";
		return -EINVAL;
	}
	if (p->fail_mode > SLUICE_FAIL_OPEN) {
		*why = "unknown fail mode";
		return -EINVAL;
	}
	if (p->controller != SLUICE_CTRL_STATIC) {
		if (!p->max_Bps) {
			*why = "an adaptive policy needs a rate or a max";
			return -EINVAL;
		}
		if (p->min_Bps < SLUICE_RATE_MIN_BPS) {
			*why = "min below 1kbit";
			return -EINVAL;
		}
		if (p->min_Bps > p->rate_Bps || p->rate_Bps > p->max_Bps) {
			*why = "rates out of order: need min <= rate <= max";
			return -EINVAL;
		}
	} else if (p->min_Bps || p->max_Bps) {
		*why = "min and max need an adaptive controller (aimd or gradient)";
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

	struct sluice_config cfg;
	bool existed = policy_get(m, k, &cur) == 0;
	__u32 zero = 0;

	err = sluice_config_read(m->config, &cfg);
	if (err)
		return err;
	if (existed) {
		p->id = cur.id;
	} else {
		/* Ids only ever grow, so a deleted policy's id is never reused
		 * for another prefix while destinations may still carry it. */
		err = policy_for_each(m, find_max_id, &mx);
		if (err)
			return err;
		p->id = mx.max + 1 > cfg.next_policy_id ? mx.max + 1 : cfg.next_policy_id;
		cfg.next_policy_id = p->id + 1;
	}
	if (bpf_map_update_elem(m->policy, k, p, BPF_ANY))
		return -errno;
	cfg.ctl_gen++;
	if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY)) {
		err = -errno;
		/* Undo, so the change is all or nothing. */
		if (existed)
			bpf_map_update_elem(m->policy, k, &cur, BPF_ANY);
		else
			bpf_map_delete_elem(m->policy, k);
		return err;
	}
	return 0;
}

int policy_del(const struct sluice_maps *m, const struct sluice_lpm_key *k)
{
	struct sluice_policy cur;
	int err = policy_get(m, k, &cur);

	if (err)
		return err;
	if (bpf_map_delete_elem(m->policy, k))
		return -errno;
	err = sluice_ctl_gen_bump(m->config);
	if (err) /* undo, so the change is all or nothing */
		bpf_map_update_elem(m->policy, k, &cur, BPF_ANY);
	return err;
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
