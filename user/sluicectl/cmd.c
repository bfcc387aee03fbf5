// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Command dispatch, as bpftool does it: a word may be shortened to any
 * prefix that names one entry only ("sluicectl p l" is "policy list").
 * Unlike bpftool the first match does not win: an ambiguous prefix is an
 * error, so that a new command can never silently change what an old
 * abbreviation means.
 */
#include <errno.h>
#include <string.h>

#include "sluicectl/sluicectl.h"

static const char *name_at(const void *table, size_t stride, int i)
{
	return *(const char *const *)((const char *)table + (size_t)i * stride);
}

int table_match(const char *arg, const void *table, size_t stride)
{
	size_t len = strlen(arg);
	int i, found = -ENOENT;
	const char *name;

	if (!len)
		return -ENOENT;
	for (i = 0; (name = name_at(table, stride, i)); i++) {
		if (!strcmp(arg, name))
			return i;
		if (strncmp(arg, name, len))
			continue;
		if (found >= 0)
			found = -ENOTUNIQ;
		else if (found == -ENOENT)
			found = i;
	}
	return found;
}

/*
 * Run the command argv[0] names from cmds with the remaining arguments.
 * Without a command, the table's first entry runs (its listing command).
 */
int cmd_select(const char *object, const struct cmd *cmds, int argc, char **argv)
{
	int i;

	if (argc < 1)
		return cmds[0].fn(0, argv);
	i = table_match(argv[0], cmds, sizeof(*cmds));
	if (i == -ENOTUNIQ)
		return p_usage("ambiguous command '%s' for %s (try 'sluicectl %s help')",
			       argv[0], object, object);
	if (i < 0)
		return p_usage("unknown command '%s' for %s (try 'sluicectl %s help')",
			       argv[0], object, object);
	return cmds[i].fn(argc - 1, argv + 1);
}

int no_more_args(int argc, char **argv)
{
	if (argc > 0)
		return p_usage("unexpected argument '%s'", argv[0]);
	return 0;
}
