// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl dest { list | show ADDR | help }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/addr.h"
#include "sluicectl/sluicectl.h"

static int do_help(int argc, char **argv)
{
	if (json_output)
		return json_print_null();
	printf("Usage: sluicectl dest list\n"
	       "       sluicectl dest show ADDR\n"
	       "       sluicectl dest help\n"
	       "\n"
	       "ADDR := { A.B.C.D | X:X::X:X }\n");
	return 0;
}

static int do_show(int argc, char **argv)
{
	char addr[SLUICE_ADDR_STRLEN];
	struct sluice_addr a;
	struct dest_view v;
	struct dest_ctx c;
	int err;

	if (argc < 1)
		return p_usage("missing ADDR");
	if (parse_addr(argv[0], &a))
		return p_usage("invalid address '%s'", argv[0]);
	err = no_more_args(argc - 1, argv + 1);
	if (!err)
		err = dest_ctx_open(&c);
	if (err)
		return err;
	err = dest_view_read(&c.m, &a, &v);
	if (err)
		goto out_close;
	if (!v.has_entry && !v.has_override && !v.has_signals) {
		err = p_err(-ENOENT, "no destination entry for %s",
			    format_addr(addr, sizeof(addr), &a));
		goto out_close;
	}
	if (json_output)
		err = json_print(dest_view_json(&c, &v));
	else
		dest_view_text(&c, &v);
out_close:
	dest_ctx_close(&c);
	return err;
}

static int list_views(const struct dest_ctx *c, const struct sluice_addr *addrs, size_t n)
{
	static const char *const hdr[DEST_LIST_COLS] = {
		"DEST", "POLICY", "MODE", "RATE", "PRESSURE", "BREAKER", "TOKENS",
		"PASSED", "MARKED", "DROPPED", "OVERRIDE",
	};
	cJSON *arr = json_output ? cJSON_CreateArray() : NULL;
	struct table *t = json_output ? NULL : table_new(DEST_LIST_COLS, hdr);
	struct dest_view v;
	int err = 0;
	size_t i;

	if (!arr && !t)
		return p_err(-ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		err = dest_view_read(&c->m, &addrs[i], &v);
		if (err)
			break;
		if (!v.has_entry)
			continue; /* evicted since the walk */
		if (arr)
			cJSON_AddItemToArray(arr, dest_view_json(c, &v));
		else if (dest_list_row(t, c, &v))
			err = p_err(-ENOMEM, "out of memory");
	}
	if (err)
		cJSON_Delete(arr);
	else if (arr)
		err = json_print(arr);
	else
		table_print(t);
	table_free(t);
	return err;
}

static int do_list(int argc, char **argv)
{
	struct sluice_addr *addrs;
	struct dest_ctx c;
	size_t n;
	int err;

	err = no_more_args(argc, argv);
	if (!err)
		err = dest_ctx_open(&c);
	if (err)
		return err;
	err = dest_addrs(&c.m, &addrs, &n);
	if (err)
		goto out_close;
	err = list_views(&c, addrs, n);
	free(addrs);
out_close:
	dest_ctx_close(&c);
	return err;
}

/* The first entry is what "sluicectl dest" alone runs. */
static const struct cmd cmds[] = {
	{ "list", do_list },
	{ "show", do_show },
	{ "help", do_help },
	{ NULL, NULL },
};

int do_dest(int argc, char **argv)
{
	return cmd_select("dest", cmds, argc, argv);
}
