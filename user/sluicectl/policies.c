// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy trie read into memory. The trie walks its keys in an order
 * of its own; operators read prefixes sorted, IPv4 first, and destinations
 * name their policy by id, so both uses want a copy in an array.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/policy.h"
#include "lib/reason.h"
#include "sluicectl/sluicectl.h"

struct grow {
	struct policy_set *set;
	size_t cap;
};

static int collect(const struct sluice_lpm_key *k, const struct sluice_policy *p, void *ctx)
{
	struct grow *g = ctx;
	struct policy_entry *v;

	if (g->set->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		v = realloc(g->set->v, g->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->set->v = v;
	}
	g->set->v[g->set->n].key = *k;
	g->set->v[g->set->n].pol = *p;
	g->set->n++;
	return 0;
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct sluice_lpm_key *x = a, *y = b;
	bool x4 = addr_is_v4(&x->addr), y4 = addr_is_v4(&y->addr);
	int c;

	if (x4 != y4)
		return x4 ? -1 : 1;
	c = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

/* Read every policy; on error, one message has been printed. */
int policy_set_load(const struct sluice_maps *m, struct policy_set *set)
{
	struct grow g = { .set = set };
	int err;

	set->v = NULL;
	set->n = 0;
	err = policy_for_each(m, collect, &g);
	if (err) {
		policy_set_free(set);
		return p_err(err, "cannot read policies: %s", strerror(-err));
	}
	if (set->n)
		qsort(set->v, set->n, sizeof(*set->v), cmp_prefix);
	return 0;
}

const struct policy_entry *policy_set_find_id(const struct policy_set *set, __u32 id)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].pol.id == id)
			return &set->v[i];
	return NULL;
}

void policy_set_free(struct policy_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

const char *policy_source(const struct sluice_policy *p)
{
	return p->flags & SLUICE_POLICY_F_CONFIG ? "config" : "cli";
}

cJSON *policy_json(const struct sluice_lpm_key *k, const struct sluice_policy *p)
{
	char prefix[SLUICE_ADDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "prefix", format_prefix(prefix, sizeof(prefix), k));
	json_add_u64(o, "id", p->id);
	json_add_u64(o, "rate_bps", rate_bps(p->rate_Bps));
	json_add_u64(o, "burst_bytes", p->burst_bytes);
	json_add_u64(o, "ecn_threshold_bytes", p->mark_thresh);
	json_add_u64(o, "min_rate_bps", rate_bps(p->min_Bps));
	json_add_u64(o, "max_rate_bps", rate_bps(p->max_Bps));
	cJSON_AddStringToObject(o, "controller", controller_name(p->controller));
	cJSON_AddStringToObject(o, "fail_mode", fail_mode_name(p->fail_mode));
	cJSON_AddStringToObject(o, "mode", mode_name(p->mode));
	cJSON_AddStringToObject(o, "source", policy_source(p));
	return o;
}
