// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl events [list] [-f|--follow] [-n N] | help
 *
 * The controllers' decision log: the last N events, oldest first, and with
 * --follow every later one as sluiced writes it, until SIGINT or SIGTERM.
 * Following polls the ring: sluiced decides once per control interval,
 * so a 200 ms poll adds little delay, costs a few system calls, and needs
 * nothing from the daemon.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluicectl/sluicectl.h"

#define EVENTS_SHOWN_DEFAULT 50
#define FOLLOW_POLL_NS       200000000L

struct events_args {
	bool follow;
	unsigned long count; /* events shown from the log as it stands */
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = 1;
}

static int do_help(int argc, char **argv)
{
	if (json_output)
		return json_print_null();
	printf("Usage: sluicectl events [list] [-f|--follow] [-n N]\n"
	       "       sluicectl events help\n");
	return 0;
}

static int parse_count(const char *s, unsigned long *count)
{
	char *end;

	errno = 0;
	*count = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno)
		return p_usage("invalid count '%s'", s);
	return 0;
}

static int parse_args(int argc, char **argv, struct events_args *a)
{
	int err;

	a->follow = false;
	a->count = EVENTS_SHOWN_DEFAULT;
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(argv[0], "-f") || !strcmp(argv[0], "--follow")) {
			a->follow = true;
			continue;
		}
		if (strcmp(argv[0], "-n"))
			return p_usage("unexpected argument '%s'", argv[0]);
		if (argc < 2)
			return p_usage("missing value for '-n'");
		err = parse_count(argv[1], &a->count);
		if (err)
			return err;
		argc--;
		argv++;
	}
	return 0;
}

/* Index of the first of the last count events. */
static size_t tail_from(const struct event_log *log, unsigned long count)
{
	return log->n > count ? log->n - count : 0;
}

static int print_array(const struct event_log *log, size_t from)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = from; i < log->n; i++)
		cJSON_AddItemToArray(arr, event_json(&log->v[i]));
	return json_print(arr);
}

/* One event per line, in either format, flushed: a follower reads a pipe. */
static int print_lines(const struct event_log *log, size_t from)
{
	size_t i;
	int err = 0;

	for (i = from; i < log->n && !err; i++) {
		if (json_output)
			err = json_print_line(event_json(&log->v[i]));
		else
			event_print_text(&log->v[i]);
	}
	fflush(stdout);
	return err;
}

static int catch_stop(void)
{
	/* No SA_RESTART: the signal cuts the poll's sleep short. */
	struct sigaction sa = { .sa_handler = on_stop };
	int err;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		err = -errno;
		return p_err(err, "cannot catch signals: %s", strerror(-err));
	}
	return 0;
}

/*
 * More than the ring holds was written between two polls. Text output says
 * so on stderr; JSON output shows it as a gap in seq.
 */
static void report_lost(const struct event_log *log, __u64 last)
{
	if (!json_output && last && log->n && log->v[0].seq > last + 1)
		log_msg(LOG_LVL_WARN, "%llu events overwritten before they could be read",
			(unsigned long long)(log->v[0].seq - last - 1));
}

/* Print what was written since event *last, and move *last past it. */
static int print_new(int fd, struct event_log *log, __u64 *last)
{
	int err = event_log_read(fd, *last, log);

	if (err || !log->n)
		return err;
	report_lost(log, *last);
	*last = log->v[log->n - 1].seq;
	return print_lines(log, 0);
}

static int follow(int fd, struct event_log *log, unsigned long count)
{
	const struct timespec poll = { 0, FOLLOW_POLL_NS };
	__u64 last;
	int err;

	err = catch_stop();
	if (!err)
		err = print_lines(log, tail_from(log, count));
	/* Past everything in the log, shown or not. */
	last = log->n ? log->v[log->n - 1].seq : 0;
	while (!err && !stop) {
		nanosleep(&poll, NULL);
		if (!stop)
			err = print_new(fd, log, &last);
	}
	return err;
}

static int do_list(int argc, char **argv)
{
	struct events_args a;
	struct event_log log;
	struct sluice_maps m;
	int err;

	err = parse_args(argc, argv, &a);
	if (!err)
		err = pins_open(&m);
	if (err)
		return err;
	err = event_log_init(&log);
	if (err)
		goto out_close;
	err = event_log_read(m.events, 0, &log);
	if (err)
		goto out_free;
	if (a.follow)
		err = follow(m.events, &log, a.count);
	else if (json_output)
		err = print_array(&log, tail_from(&log, a.count));
	else
		err = print_lines(&log, tail_from(&log, a.count));
out_free:
	event_log_free(&log);
out_close:
	sluice_maps_close(&m);
	return err;
}

/* The first entry is what "sluicectl events" alone runs. */
static const struct cmd cmds[] = {
	{ "list", do_list },
	{ "help", do_help },
	{ NULL, NULL },
};

/* Options may come without the command: "sluicectl events -f". */
int do_events(int argc, char **argv)
{
	if (argc > 0 && argv[0][0] == '-')
		return do_list(argc, argv);
	return cmd_select("events", cmds, argc, argv);
}
