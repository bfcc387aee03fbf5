// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/policy.h"
#include "sluiced/reconcile.h"

#define MAX_STALE 4096

struct stale {
	const struct sluiced_config *c;
	struct sluice_lpm_key keys[MAX_STALE];
	int n;
};

static bool config_names(const struct sluiced_config *c, const struct sluice_lpm_key *k)
{
	int i;

	for (i = 0; i < c->n_policies; i++)
		if (!memcmp(&c->policies[i].key, k, sizeof(*k)))
			return true;
	return false;
}

static int collect_stale(const struct sluice_lpm_key *k, const struct sluice_policy *p,
			 void *ctx)
{
	struct stale *s = ctx;

	if (!(p->flags & SLUICE_POLICY_F_CONFIG) || config_names(s->c, k))
		return 0;
	if (s->n >= MAX_STALE)
		return -E2BIG;
	s->keys[s->n++] = *k;
	return 0;
}

/* Same control values? The id is the map's business, not the file's. */
static bool policy_same(const struct sluice_policy *a, const struct sluice_policy *b)
{
	struct sluice_policy x = *a, y = *b;

	x.id = y.id = 0;
	return !memcmp(&x, &y, sizeof(x));
}

int reconcile_policies(const struct sluice_maps *m, const struct sluiced_config *c,
		       struct reconcile_stats *st)
{
	static struct stale stale;
	char buf[SLUICE_ADDR_STRLEN];
	int i, err;

	memset(st, 0, sizeof(*st));
	stale.c = c;
	stale.n = 0;
	err = policy_for_each(m, collect_stale, &stale);
	if (err)
		return err;
	for (i = 0; i < stale.n; i++) {
		err = policy_del(m, &stale.keys[i]);
		if (err && err != -ENOENT)
			return err;
		log_info("policy %s removed: no longer in the config",
			 format_prefix(buf, sizeof(buf), &stale.keys[i]));
		st->removed++;
	}
	for (i = 0; i < c->n_policies; i++) {
		const struct conf_policy *cp = &c->policies[i];
		struct sluice_policy cur, want = cp->pol;
		bool exists = policy_get(m, &cp->key, &cur) == 0;

		if (exists && policy_same(&cur, &want)) {
			st->kept++;
			continue;
		}
		err = policy_put(m, &cp->key, &want);
		if (err)
			return err;
		log_info("policy %s (%s) %s", cp->name,
			 format_prefix(buf, sizeof(buf), &cp->key), exists ? "updated" : "added");
		if (exists)
			st->updated++;
		else
			st->added++;
	}
	return 0;
}
