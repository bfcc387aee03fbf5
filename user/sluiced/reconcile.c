// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/policy.h"
#include "sluiced/reconcile.h"

/* One entry of the policy table, as read before a reload changes it. */
struct policy_entry {
	struct sluice_lpm_key key;
	struct sluice_policy pol;
};

struct table {
	struct policy_entry *v;
	size_t n, cap;
};

static int snapshot_one(const struct sluice_lpm_key *k, const struct sluice_policy *p, void *ctx)
{
	struct table *t = ctx;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct policy_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct policy_entry){ .key = *k, .pol = *p };
	return 0;
}

static struct policy_entry *table_find(const struct table *t, const struct sluice_lpm_key *k)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!memcmp(&t->v[i].key, k, sizeof(*k)))
			return &t->v[i];
	return NULL;
}

static bool config_names(const struct sluiced_config *c, const struct sluice_lpm_key *k)
{
	int i;

	for (i = 0; i < c->n_policies; i++)
		if (!memcmp(&c->policies[i].key, k, sizeof(*k)))
			return true;
	return false;
}

/* The file's policy no longer in the file: removed by a reload. */
static bool stale(const struct sluiced_config *c, const struct policy_entry *e)
{
	return (e->pol.flags & SLUICE_POLICY_F_CONFIG) && !config_names(c, &e->key);
}

/* Same control values? The id is the map's business, not the file's. */
static bool policy_same(const struct sluice_policy *a, const struct sluice_policy *b)
{
	struct sluice_policy x = *a, y = *b;

	x.id = y.id = 0;
	return !memcmp(&x, &y, sizeof(x));
}

static __u32 table_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/*
 * Put the table back as the snapshot had it: what the reload added (the
 * first `written` policies of c) goes,
 * what it removed or changed comes back with its old values and ids.
 */
static int restore(const struct sluice_maps *m, const struct sluiced_config *c, int written,
		   const struct table *old)
{
	int i, err = 0;
	size_t j;

	for (i = 0; i < written; i++)
		if (!table_find(old, &c->policies[i].key) &&
		    bpf_map_delete_elem(m->policy, &c->policies[i].key) && errno != ENOENT)
			err = -errno;
	for (j = 0; j < old->n; j++)
		if (bpf_map_update_elem(m->policy, &old->v[j].key, &old->v[j].pol, BPF_ANY))
			err = -errno;
	return err;
}

static void log_change(const struct conf_policy *cp, bool existed)
{
	char buf[SLUICE_ADDR_STRLEN];

	log_info("policy %s (%s) %s", cp->name, format_prefix(buf, sizeof(buf), &cp->key),
		 existed ? "updated" : "added");
}

/*
 * Apply the plan: remove the stale policies first (they make room), then
 * write the file's. Ids of existing prefixes stay; new ones take fresh
 * ids, which only ever grow (see policy_put). *failed names the policy
 * a write failed on, or is -1.
 */
static int apply(const struct sluice_maps *m, const struct sluiced_config *c,
		 const struct table *old, struct sluice_config *cfg, struct reconcile_stats *st,
		 int *failed)
{
	char buf[SLUICE_ADDR_STRLEN];
	__u32 next_id = cfg->next_policy_id;
	size_t j;
	int i;

	*failed = -1;
	for (j = 0; j < old->n; j++)
		if (old->v[j].pol.id >= next_id)
			next_id = old->v[j].pol.id + 1;
	for (j = 0; j < old->n; j++) {
		if (!stale(c, &old->v[j]))
			continue;
		if (bpf_map_delete_elem(m->policy, &old->v[j].key) && errno != ENOENT)
			return -errno;
		log_info("policy %s removed: no longer in the config",
			 format_prefix(buf, sizeof(buf), &old->v[j].key));
		st->removed++;
	}
	for (i = 0; i < c->n_policies; i++) {
		const struct conf_policy *cp = &c->policies[i];
		const struct policy_entry *cur = table_find(old, &cp->key);
		struct sluice_policy want = cp->pol;

		if (cur && policy_same(&cur->pol, &want)) {
			st->kept++;
			continue;
		}
		want.id = cur ? cur->pol.id : next_id++;
		if (bpf_map_update_elem(m->policy, &cp->key, &want, BPF_ANY)) {
			*failed = i;
			return -errno;
		}
		log_change(cp, cur != NULL);
		if (cur)
			st->updated++;
		else
			st->added++;
	}
	cfg->next_policy_id = next_id;
	return 0;
}

int reconcile_policies(const struct sluice_maps *m, const struct sluiced_config *c,
		       struct reconcile_stats *st)
{
	char buf[SLUICE_ADDR_STRLEN];
	struct table old = {};
	struct sluice_config cfg;
	size_t j, after;
	__u32 zero = 0, max;
	int i, failed, err, undo;

	memset(st, 0, sizeof(*st));
	err = sluice_config_read(m->config, &cfg);
	if (!err)
		err = policy_for_each(m, snapshot_one, &old);
	if (err)
		goto out;
	/* Does the new set fit beside what stays? Checked before any change,
	 * so a file that is too big changes nothing. */
	after = old.n;
	for (j = 0; j < old.n; j++)
		after -= stale(c, &old.v[j]);
	for (i = 0; i < c->n_policies; i++)
		after += !table_find(&old, &c->policies[i].key);
	max = table_max_entries(m->policy);
	if (max && after > max) {
		log_warnx("the config's %d policies and the %zu that sluicectl added make %zu, "
			  "more than the table's %u entries: nothing changed", c->n_policies,
			  after - (size_t)c->n_policies, after, max);
		err = -ENOSPC;
		goto out;
	}
	err = apply(m, c, &old, &cfg, st, &failed);
	if (!err) {
		cfg.ctl_gen++;
		err = bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY) ? -errno : 0;
	}
	if (err) {
		/* All or nothing: put the previous set back, and say so. */
		undo = restore(m, c, failed >= 0 ? failed : c->n_policies, &old);
		if (failed >= 0)
			log_warnx("policy %s (%s): %s", c->policies[failed].name,
				  format_prefix(buf, sizeof(buf), &c->policies[failed].key),
				  strerror(-err));
		if (undo)
			log_warnx("the previous policies could not all be restored (%s): "
				  "check `sluicectl policy list`", strerror(-undo));
		else
			log_warnx("the previous %zu policies are back in force", old.n);
		sluice_ctl_gen_bump(m->config);
		memset(st, 0, sizeof(*st));
	}
out:
	free(old.v);
	return err;
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
	static struct sluice_class_key stale_rules[SLUICED_MAX_CLASS_RULES];
	struct sluice_class_key key, next;
	struct sluice_config cfg;
	__u32 zero = 0, kinds = 0;
	void *prev = NULL;
	int i, n = 0, err;

	/* Rules the config no longer has: collected first, then deleted, so
	 * the walk over the keys never loses its place. */
	while (bpf_map_get_next_key(m->classify, prev, &next) == 0 && n < SLUICED_MAX_CLASS_RULES) {
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
