// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl status [show | help]
 *
 * The state of the whole datapath at a glance: which ABI the pins speak,
 * the control generation, the daemon's lease and the last event it
 * logged, how full the tables are (a full destination table makes the LRU
 * evict buckets), the priority classes the datapath applies (their shares
 * and what it classifies by) and the global counters the programs keep.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/policy.h"
#include "lib/reason.h"
#include "sluicectl/sluicectl.h"

struct stat_name {
	__u32 idx;
	const char *key;   /* JSON */
	const char *label; /* text */
};

static const struct stat_name stat_names[] = {
	{ SLUICE_STAT_PKTS, "packets", "packets" },
	{ SLUICE_STAT_UNPARSED, "unparsed_packets", "unparsed" },
	{ SLUICE_STAT_UNMATCHED, "unmatched_packets", "unmatched" },
	{ SLUICE_STAT_DEST_NEW, "dest_created", "dest created" },
	{ SLUICE_STAT_DEST_ERR, "dest_errors", "dest errors" },
	{ SLUICE_STAT_PACED, "pacing_updates", "pacing set" },
	{ SLUICE_STAT_SIG_ERR, "signals_errors", "signal errors" },
	{ SLUICE_STAT_CLAMPED, "cwnd_clamp_updates", "cwnd clamps set" },
	{ SLUICE_STAT_CONNECT_REFUSED, "connects_refused", "connects refused" },
	{ SLUICE_STAT_CHANGED_LOST, "changed_lost", "signal changes lost (ring full)" },
};
/* A counter added to the ABI must get a name here. */
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == SLUICE_STAT_MAX,
	       "every sluice_stat has a name");

struct fill {
	unsigned int entries;
	unsigned int max;
};

struct status {
	struct sluice_config cfg;
	__u64 now;
	size_t policies;
	size_t policies_config;
	struct fill dest, dest_ctl, signals, classify;
	__u64 counters[SLUICE_STAT_MAX];
};

/* Classify kinds in the order the datapath tries them: the first that
 * matches decides. */
static const struct {
	__u32 kind;
	const char *name;
} kind_names[] = {
	{ SLUICE_CLASSIFY_CGROUP, "cgroup" },
	{ SLUICE_CLASSIFY_MARK, "mark" },
	{ SLUICE_CLASSIFY_DSCP, "dscp" },
};

static int count_config(const struct sluice_lpm_key *k, const struct sluice_policy *p,
			void *ctx)
{
	struct status *st = ctx;

	st->policies++;
	if (p->flags & SLUICE_POLICY_F_CONFIG)
		st->policies_config++;
	return 0;
}

static int read_fill(int fd, const char *name, struct fill *f)
{
	int err = map_fill(fd, &f->entries, &f->max);

	if (err)
		return p_err(err, "cannot read %s: %s", name, strerror(-err));
	return 0;
}

static int read_counters(const struct sluice_maps *m, struct status *st)
{
	size_t i;
	int err;

	for (i = 0; i < SLUICE_STAT_MAX; i++) {
		err = sluice_stat_read(m->stats, stat_names[i].idx, &st->counters[i]);
		if (err)
			return p_err(err, "cannot read %s: %s", SLUICE_MAP_STATS,
				     strerror(-err));
	}
	return 0;
}

/* Gather everything; on error, one message has been printed. */
static int status_read(const struct sluice_maps *m, struct status *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	err = sluice_config_read(m->config, &st->cfg);
	if (err)
		return p_err(err, "cannot read %s: %s", SLUICE_MAP_CONFIG, strerror(-err));
	st->now = now_mono_ns();
	err = policy_for_each(m, count_config, st);
	if (err)
		return p_err(err, "cannot read policies: %s", strerror(-err));
	err = read_fill(m->dest, SLUICE_MAP_DEST, &st->dest);
	if (!err)
		err = read_fill(m->dest_ctl, SLUICE_MAP_DEST_CTL, &st->dest_ctl);
	if (!err)
		err = read_fill(m->signals, SLUICE_MAP_SIGNALS, &st->signals);
	if (!err)
		err = read_fill(m->classify, SLUICE_MAP_CLASSIFY, &st->classify);
	if (!err)
		err = read_counters(m, st);
	return err;
}

static void json_add_fill(cJSON *o, const char *entries, const char *max,
			  const struct fill *f)
{
	json_add_u64(o, entries, f->entries);
	json_add_u64(o, max, f->max);
}

/* Milliseconds left on the daemon's lease, and since when it lapsed. */
static __u64 lease_left_ms(const struct status *st)
{
	__u64 exp = st->cfg.lease_expires_ns;

	return exp > st->now ? (exp - st->now) / 1000000 : 0;
}

static __u64 lease_lapsed_ms(const struct status *st)
{
	__u64 exp = st->cfg.lease_expires_ns;

	return exp <= st->now ? (st->now - exp) / 1000000 : 0;
}

static cJSON *lease_json(const struct status *st)
{
	cJSON *l;

	if (!st->cfg.lease_expires_ns)
		return cJSON_CreateNull();
	l = cJSON_CreateObject();
	cJSON_AddBoolToObject(l, "expired", st->cfg.lease_expires_ns <= st->now);
	json_add_u64(l, "remaining_ms", lease_left_ms(st));
	json_add_u64(l, "lapsed_ms", lease_lapsed_ms(st));
	return l;
}

/* Classes are on, as the TC program decides it, when the config has
 * shares or classify kinds; without, it ignores rules and ladder alike. */
static bool has_classes(const struct status *st)
{
	size_t i;

	for (i = 0; i < SLUICE_CLASSES; i++)
		if (st->cfg.class_share_pct[i])
			return true;
	return st->cfg.classify_kinds != 0;
}

static void json_add_classes(cJSON *o, const struct status *st)
{
	cJSON *shares = cJSON_AddObjectToObject(o, "class_share_pct");
	cJSON *kinds = cJSON_AddArrayToObject(o, "classify_kinds");
	size_t i;

	for (i = 0; i < SLUICE_CLASSES; i++)
		json_add_u64(shares, class_name(i), st->cfg.class_share_pct[i]);
	json_add_u64(o, "critical_headroom_pct", st->cfg.critical_headroom_pct);
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (st->cfg.classify_kinds & kind_names[i].kind)
			cJSON_AddItemToArray(kinds, cJSON_CreateString(kind_names[i].name));
	json_add_u64(o, "classify_rules", st->classify.entries);
}

static int status_json(const struct status *st)
{
	cJSON *o = cJSON_CreateObject(), *c;
	size_t i;

	cJSON_AddStringToObject(o, "pin_dir", pin_dir);
	json_add_u64(o, "abi_version", st->cfg.abi_version);
	json_add_u64(o, "ctl_gen", st->cfg.ctl_gen);
	cJSON_AddItemToObject(o, "lease", lease_json(st));
	json_add_u64(o, "event_seq", st->cfg.event_seq);
	json_add_u64(o, "policies", st->policies);
	json_add_u64(o, "policies_config", st->policies_config);
	json_add_u64(o, "policies_cli", st->policies - st->policies_config);
	json_add_fill(o, "dest_entries", "dest_max_entries", &st->dest);
	json_add_fill(o, "dest_ctl_entries", "dest_ctl_max_entries", &st->dest_ctl);
	json_add_fill(o, "signals_entries", "signals_max_entries", &st->signals);
	json_add_classes(o, st);
	c = cJSON_AddObjectToObject(o, "counters");
	for (i = 0; i < SLUICE_STAT_MAX; i++)
		json_add_u64(c, stat_names[i].key, st->counters[i]);
	return json_print(o);
}

static void print_fill(const char *label, const struct fill *f)
{
	printf("%-18s%u / %u (%.1f%%)\n", label, f->entries, f->max,
	       f->max ? 100.0 * f->entries / f->max : 0.0);
}

static void print_lease(const struct status *st)
{
	__u64 exp = st->cfg.lease_expires_ns;

	if (!exp)
		printf("%-18snone\n", "lease");
	else if (exp > st->now)
		printf("%-18sexpires in %llu ms\n", "lease",
		       (unsigned long long)lease_left_ms(st));
	else
		printf("%-18slapsed %llu ms ago\n", "lease",
		       (unsigned long long)lease_lapsed_ms(st));
}

static void print_event_seq(const struct status *st)
{
	if (st->cfg.event_seq)
		printf("%-18s%llu\n", "last event", (unsigned long long)st->cfg.event_seq);
	else
		printf("%-18snone\n", "last event");
}

/* "critical 40%  default 30%  sheddable 20%  scavenger 10%", or none. */
static void print_classes(const struct status *st)
{
	size_t i;

	if (!has_classes(st)) {
		printf("%-18snone\n", "classes");
	} else {
		printf("%-18s", "classes");
		for (i = 0; i < SLUICE_CLASSES; i++)
			printf("%s%s %u%%", i ? "  " : "", class_name(i),
			       st->cfg.class_share_pct[i]);
		printf("  (critical headroom %u%%)\n", st->cfg.critical_headroom_pct);
	}
}

/* "3 rules by mark, dscp": the kinds in the order they are tried, or
 * none. Rules of a kind not in use are never looked up: that shows. */
static void print_classify(const struct status *st)
{
	const char *sep = " by ";
	size_t i;

	if (!st->classify.entries && !st->cfg.classify_kinds) {
		printf("%-18snone\n", "classify");
		return;
	}
	printf("%-18s%u rule%s", "classify", st->classify.entries,
	       st->classify.entries == 1 ? "" : "s");
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (st->cfg.classify_kinds & kind_names[i].kind) {
			printf("%s%s", sep, kind_names[i].name);
			sep = ", ";
		}
	if (!st->cfg.classify_kinds && st->classify.entries)
		printf(", none in use");
	printf("\n");
}

static int status_text(const struct status *st)
{
	size_t i;

	printf("%-18s%s\n", "pin dir", pin_dir);
	printf("%-18s%u\n", "abi version", st->cfg.abi_version);
	printf("%-18s%llu\n", "ctl gen", (unsigned long long)st->cfg.ctl_gen);
	print_lease(st);
	print_event_seq(st);
	printf("%-18s%zu (%zu config, %zu cli)\n", "policies", st->policies,
	       st->policies_config, st->policies - st->policies_config);
	print_fill("destinations", &st->dest);
	print_fill("overrides", &st->dest_ctl);
	print_fill("signals", &st->signals);
	print_classes(st);
	print_classify(st);
	for (i = 0; i < SLUICE_STAT_MAX; i++)
		printf("%-18s%llu\n", stat_names[i].label,
		       (unsigned long long)st->counters[i]);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct sluice_maps m;
	struct status st;
	int err;

	err = no_more_args(argc, argv);
	if (!err)
		err = pins_open(&m);
	if (err)
		return err;
	err = status_read(&m, &st);
	if (!err)
		err = json_output ? status_json(&st) : status_text(&st);
	sluice_maps_close(&m);
	return err;
}

static int do_help(int argc, char **argv)
{
	if (json_output)
		return json_print_null();
	printf("Usage: sluicectl status [show]\n"
	       "       sluicectl status help\n");
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show },
	{ "help", do_help },
	{ NULL, NULL },
};

int do_status(int argc, char **argv)
{
	return cmd_select("status", cmds, argc, argv);
}
