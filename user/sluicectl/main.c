// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl [--pin-dir DIR] [-j|--json] [-p|--pretty] [-h] [-V] OBJECT COMMAND ...
 *
 * Exit status: 0 success, 1 runtime failure, 2 bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/libbpf.h>

#include "sluicectl/sluicectl.h"

#define EXIT_USAGE 2

const char *pin_dir = SLUICE_PIN_DIR_DEFAULT;
bool json_output;
bool pretty_output;

static int do_help(int argc, char **argv)
{
	if (json_output)
		return json_print_null();
	printf("Usage: sluicectl [OPTIONS] OBJECT { COMMAND | help }\n"
	       "       sluicectl help\n"
	       "\n"
	       "OBJECT := { policy | dest | events | status }\n"
	       "OPTIONS := { --pin-dir DIR | -j|--json | -p|--pretty | -h|--help |\n"
	       "             -V|--version }\n");
	return 0;
}

static int do_version(void)
{
	if (json_output) {
		cJSON *o = cJSON_CreateObject();

		json_add_u64(o, "abi_version", SLUICE_ABI_VERSION);
		cJSON_AddStringToObject(o, "libbpf_version", libbpf_version_string());
		return json_print(o);
	}
	printf("sluicectl: sluice ABI version %d, libbpf %s\n", SLUICE_ABI_VERSION,
	       libbpf_version_string());
	return 0;
}

static const struct cmd objects[] = {
	{ "policy", do_policy },
	{ "dest", do_dest },
	{ "events", do_events },
	{ "status", do_status },
	{ "help", do_help },
	{ NULL, NULL },
};

static int run_object(int argc, char **argv)
{
	int i;

	if (argc < 1)
		return p_usage("missing OBJECT (try 'sluicectl help')");
	i = table_match(argv[0], objects, sizeof(objects[0]));
	if (i == -ENOTUNIQ)
		return p_usage("ambiguous object '%s' (try 'sluicectl help')", argv[0]);
	if (i < 0)
		return p_usage("unknown object '%s' (try 'sluicectl help')", argv[0]);
	return objects[i].fn(argc - 1, argv + 1);
}

enum { OPT_PIN_DIR = 256 };

static const struct option long_opts[] = {
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "json", no_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The option getopt stopped at, as the user typed it. */
static int bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return p_usage("missing value for '%s'", arg);
	if (optopt)
		return p_usage("unknown option '-%c'", optopt);
	return p_usage("unknown option '%s'", arg);
}

/*
 * Options stop at the first word that is not one ('+'), so that a value
 * such as "-5mbit" reaches its command and is reported there.
 */
static int parse_options(int argc, char **argv, bool *help, bool *version)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:jphV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_PIN_DIR:
			if (!*optarg)
				return p_usage("invalid pin directory ''");
			pin_dir = optarg;
			break;
		case 'p':
			pretty_output = true; /* pretty output is JSON output */
			json_output = true;
			break;
		case 'j':
			json_output = true;
			break;
		case 'h':
			*help = true;
			break;
		case 'V':
			*version = true;
			break;
		default:
			return bad_option(c, argv);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool help = false, version = false;
	int err;

	log_init("sluicectl", LOG_LVL_WARN, false);
	log_route_libbpf(false);
	json_install_hooks();

	err = parse_options(argc, argv, &help, &version);
	if (!err) {
		if (help)
			err = do_help(0, NULL);
		else if (version)
			err = do_version();
		else
			err = run_object(argc - optind, argv + optind);
	}
	if (err == -EINVAL)
		return EXIT_USAGE;
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
