// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl policy { add | del | list | help }
 *
 * Writers parse and validate everything first, then open the maps, then
 * write under the pin directory's lock: a bad argument changes nothing,
 * and sluicectl never interleaves its writes with sluiced's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/policy.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluicectl/sluicectl.h"

static int do_help(int argc, char **argv)
{
	if (json_output)
		return json_print_null();
	printf("Usage: sluicectl policy add PREFIX [rate RATE] [min RATE] [max RATE]\n"
	       "                           [controller CONTROLLER] [fail FAIL]\n"
	       "                           [burst SIZE] [ecn SIZE] [mode MODE]\n"
	       "       sluicectl policy del PREFIX\n"
	       "       sluicectl policy list\n"
	       "       sluicectl policy help\n"
	       "\n"
	       "PREFIX := { A.B.C.D[/LEN] | X:X::X:X[/LEN] }\n"
	       "RATE := tc rate, e.g. 50mbit, 1gbit, 10mbps\n"
	       "SIZE := tc size, e.g. 64kb, 1mb, 1500b\n"
	       "CONTROLLER := { static | aimd | gradient }\n"
	       "FAIL := { open | closed }\n"
	       "MODE := { enforce | monitor }\n");
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct sluice_maps m;
	struct policy_req req;
	int err, lock;

	err = policy_parse_add(argc, argv, &req);
	if (err)
		return err;
	err = pins_open(&m);
	if (err)
		return err;
	lock = pins_lock();
	if (lock < 0) {
		err = lock;
		goto out_close;
	}
	/* Replacing a prefix's policy keeps its id (policy_put). */
	err = policy_put(&m, &req.key, &req.pol);
	if (err) {
		err = p_err(err, "cannot write policy for %s: %s", argv[0], strerror(-err));
		goto out_unlock;
	}
	if (json_output)
		err = json_print(policy_json(&req.key, &req.pol));
out_unlock:
	sluice_unlock(lock);
out_close:
	sluice_maps_close(&m);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct sluice_lpm_key key;
	struct sluice_maps m;
	int err, lock;

	if (argc < 1)
		return p_usage("missing PREFIX");
	err = parse_prefix_arg(argv[0], &key);
	if (!err)
		err = no_more_args(argc - 1, argv + 1);
	if (!err)
		err = pins_open(&m);
	if (err)
		return err;
	lock = pins_lock();
	if (lock < 0) {
		err = lock;
		goto out_close;
	}
	err = policy_del(&m, &key);
	if (err == -ENOENT)
		err = p_err(err, "no policy for %s", argv[0]);
	else if (err)
		err = p_err(err, "cannot delete policy for %s: %s", argv[0], strerror(-err));
	else if (json_output)
		err = json_print_null();
	sluice_unlock(lock);
out_close:
	sluice_maps_close(&m);
	return err;
}

static int list_json(const struct policy_set *set)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < set->n; i++)
		cJSON_AddItemToArray(arr, policy_json(&set->v[i].key, &set->v[i].pol));
	return json_print(arr);
}

#define LIST_COLS 11

/* A static policy has no floor or ceiling: "-" rather than a zero rate. */
static const char *bound(char *buf, size_t len, const struct sluice_policy *p, __u64 Bps)
{
	if (p->controller == SLUICE_CTRL_STATIC)
		return "-";
	return format_rate(buf, len, Bps);
}

static int list_row(struct table *t, const struct policy_entry *e)
{
	char prefix[SLUICE_ADDR_STRLEN], id[16], rate[32], min[32], max[32];
	char burst[32], ecn[32];
	const struct sluice_policy *p = &e->pol;
	const char *row[LIST_COLS];

	snprintf(id, sizeof(id), "%u", p->id);
	row[0] = format_prefix(prefix, sizeof(prefix), &e->key);
	row[1] = id;
	row[2] = format_rate(rate, sizeof(rate), p->rate_Bps);
	row[3] = bound(min, sizeof(min), p, p->min_Bps);
	row[4] = bound(max, sizeof(max), p, p->max_Bps);
	row[5] = controller_name(p->controller);
	row[6] = format_size(burst, sizeof(burst), p->burst_bytes);
	row[7] = format_size(ecn, sizeof(ecn), p->mark_thresh);
	row[8] = mode_name(p->mode);
	row[9] = fail_mode_name(p->fail_mode);
	row[10] = policy_source(p);
	return table_add(t, row);
}

static int list_text(const struct policy_set *set)
{
	static const char *const hdr[LIST_COLS] = {
		"PREFIX", "ID", "RATE", "MIN", "MAX", "CONTROLLER", "BURST", "ECN",
		"MODE", "FAIL", "SOURCE",
	};
	struct table *t = table_new(LIST_COLS, hdr);
	size_t i;
	int err = 0;

	if (!t)
		return p_err(-ENOMEM, "out of memory");
	for (i = 0; i < set->n && !err; i++)
		err = list_row(t, &set->v[i]);
	if (err)
		err = p_err(err, "out of memory");
	else
		table_print(t);
	table_free(t);
	return err;
}

static int do_list(int argc, char **argv)
{
	struct policy_set set;
	struct sluice_maps m;
	int err;

	err = no_more_args(argc, argv);
	if (!err)
		err = pins_open(&m);
	if (err)
		return err;
	err = policy_set_load(&m, &set);
	if (err)
		goto out_close;
	err = json_output ? list_json(&set) : list_text(&set);
	policy_set_free(&set);
out_close:
	sluice_maps_close(&m);
	return err;
}

/* The first entry is what "sluicectl policy" alone runs. */
static const struct cmd cmds[] = {
	{ "list", do_list },
	{ "add", do_add },
	{ "del", do_del },
	{ "help", do_help },
	{ NULL, NULL },
};

int do_policy(int argc, char **argv)
{
	return cmd_select("policy", cmds, argc, argv);
}
