// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

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

static bool rule_listed(const struct sluiced_config *c, const struct sluice_class_key *k)
{
	int i;

	for (i = 0; i < c->n_class_rules; i++)
		if (c->class_rules[i].kind == k->kind && c->class_rules[i].value == k->value)
			return true;
	return false;
}

int reconcile_classes(const struct sluice_maps *m, const struct sluiced_config *c)
{
	static struct sluice_class_key stale_rules[1024];
	struct sluice_class_key key, next;
	struct sluice_config cfg;
	__u32 zero = 0, kinds = 0;
	void *prev = NULL;
	int i, n = 0, err;

	/* Rules the config no longer has: collected first, then deleted, so
	 * the walk over the keys never loses its place. */
	while (bpf_map_get_next_key(m->classify, prev, &next) == 0 && n < 1024) {
		key = next;
		prev = &key;
		if (!rule_listed(c, &key))
			stale_rules[n++] = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(m->classify, &stale_rules[i]);
	for (i = 0; i < c->n_class_rules; i++) {
		const struct class_rule *r = &c->class_rules[i];
		struct sluice_class_key k = { .kind = r->kind, .value = r->value };
		__u32 cls = r->cls;

		if (bpf_map_update_elem(m->classify, &k, &cls, BPF_ANY))
			return -errno;
		kinds |= r->kind;
	}
	err = sluice_config_read(m->config, &cfg);
	if (err)
		return err;
	memcpy(cfg.class_share_pct, c->class_share_pct, sizeof(cfg.class_share_pct));
	cfg.critical_headroom_pct = c->classes ? c->critical_headroom_pct : 0;
	cfg.classify_kinds = kinds;
	if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY))
		return -errno;
	if (c->classes)
		log_info("classes: shares %u/%u/%u/%u%% (critical/default/sheddable/scavenger), "
			 "critical headroom %u%%, %d rules", c->class_share_pct[0],
			 c->class_share_pct[1], c->class_share_pct[2], c->class_share_pct[3],
			 c->critical_headroom_pct, c->n_class_rules);
	return 0;
}
