/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluicectl: the operator's view of a running sluice, read and written
 * straight from the pinned maps.
 *
 * Error contract: every command returns 0 or -errno. -EINVAL is kept for a
 * bad command line (exit 2, no map touched); any other error is a runtime
 * failure (exit 1). Each failure prints exactly one message, through
 * p_usage() or p_err(), at the point where it is detected.
 */
#ifndef SLUICECTL_H
#define SLUICECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "lib/log.h"
#include "lib/maps.h"

/* Set once from the command line, before any command runs. */
extern const char *pin_dir;
extern bool json_output;
extern bool pretty_output;

/* A command table entry; tables end with a NULL name. */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* cmd.c: dispatch on an exact or unambiguous-prefix match. */
int cmd_select(const char *object, const struct cmd *cmds, int argc, char **argv);
/*
 * Index of arg in a NULL-terminated table of structs whose first member is
 * the name: an exact match, else the only entry arg is a prefix of.
 * -ENOENT when nothing matches, -ENOTUNIQ when several do.
 */
int table_match(const char *arg, const void *table, size_t stride);
int no_more_args(int argc, char **argv);

/* output.c: errors, JSON documents, text tables. */
int p_usage(const char *fmt, ...) __printf(1, 2);
int p_err(int err, const char *fmt, ...) __printf(2, 3);
int json_print(cJSON *doc);
int json_print_line(cJSON *doc);
int json_print_null(void);
void json_add_u64(cJSON *obj, const char *key, unsigned long long v);
void json_add_pressure(cJSON *obj, unsigned int milli);
void json_install_hooks(void);

struct table;
struct table *table_new(int ncols, const char *const *headers);
int table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t);
void table_free(struct table *t);

/* Human forms: "1.25ms", "3.2s", "850us". */
char *fmt_usec(char *buf, size_t len, unsigned long long us);
char *fmt_nsec(char *buf, size_t len, unsigned long long ns);
/* Pressure from thousandths: "0.62". */
char *fmt_pressure(char *buf, size_t len, unsigned int milli);

/* Priority classes as sluice.conf(5) names them: "critical"; what a
 * ladder step allows a class: "full", "floor", "none"; and what a step
 * means: "scavenger stopped, sheddable held to its guarantee". */
const char *allow_name(int allow);
char *fmt_ladder(char *buf, size_t len, __u8 step);

/* Bits per second, as tc and operators count rates; the maps hold bytes. */
static inline unsigned long long rate_bps(__u64 rate_Bps)
{
	return rate_Bps > ~0ULL / 8 ? ~0ULL : rate_Bps * 8;
}

/* pins.c: the pinned maps of pin_dir. */
int pins_open(struct sluice_maps *m);
int pins_lock(void);
int map_fill(int fd, unsigned int *entries, unsigned int *max_entries);
unsigned long long now_mono_ns(void);

/* policies.c: every policy, sorted by prefix, for lookups by id. */
struct policy_entry {
	struct sluice_lpm_key key;
	struct sluice_policy pol;
};

struct policy_set {
	struct policy_entry *v;
	size_t n;
};

int policy_set_load(const struct sluice_maps *m, struct policy_set *set);
const struct policy_entry *policy_set_find_id(const struct policy_set *set, __u32 id);
void policy_set_free(struct policy_set *set);
const char *policy_source(const struct sluice_policy *p);
cJSON *policy_json(const struct sluice_lpm_key *k, const struct sluice_policy *p);

/* policy_parse.c: "PREFIX [rate RATE] [min RATE] ..." into a checked policy. */
struct policy_req {
	struct sluice_lpm_key key;
	struct sluice_policy pol;
};

int parse_prefix_arg(const char *s, struct sluice_lpm_key *k);
int policy_parse_add(int argc, char **argv, struct policy_req *req);

/* dest_read.c: what the maps hold about one destination. */
struct dest_view {
	struct sluice_addr addr;
	bool has_entry;    /* sluice_dest: bucket, control values, counters */
	bool has_override; /* sluice_dest_ctl */
	bool has_signals;  /* sluice_signals */
	struct sluice_dest entry;
	struct sluice_dest_ctl ovr;
	struct sluice_signals sig;
};

/* The maps, the policies and the clock, read once per command. */
struct dest_ctx {
	struct sluice_maps m;
	struct policy_set policies;
	__u64 ctl_gen; /* of sluice_config, to tell stale entries */
	__u64 now;     /* CLOCK_MONOTONIC, as the entries' times */
	bool classes;  /* sluice_config has class shares or classify kinds */
};

int dest_ctx_open(struct dest_ctx *c);
void dest_ctx_close(struct dest_ctx *c);
int dest_view_read(const struct sluice_maps *m, const struct sluice_addr *a,
		   struct dest_view *v);
int dest_addrs(const struct sluice_maps *m, struct sluice_addr **addrs, size_t *n);

/* dest_print.c: a destination as JSON, as text, as a row of "dest list". */
cJSON *dest_view_json(const struct dest_ctx *c, const struct dest_view *v);
void dest_view_text(const struct dest_ctx *c, const struct dest_view *v);
#define DEST_LIST_COLS 11
int dest_list_row(struct table *t, const struct dest_ctx *c, const struct dest_view *v);

/* rtt.c: statistics from the cumulative RTT histogram. */
int rtt_median_us(const struct sluice_signals *s, unsigned long long *us);
int rtt_mean_us(const struct sluice_signals *s, unsigned long long *us);

/* events.c: the decision log (sluice_events), sorted by seq. */
struct event_log {
	struct sluice_event *v; /* n events, oldest first */
	size_t n;
	__u32 *keys;            /* room for the ring's keys */
};

/* Room for the whole ring; on error, one message has been printed. */
int event_log_init(struct event_log *log);
void event_log_free(struct event_log *log);
/* Read the ring, keeping the events whose seq is above after; on error,
 * one message has been printed and the log is empty. */
int event_log_read(int fd, __u64 after, struct event_log *log);
void event_print_text(const struct sluice_event *e);
cJSON *event_json(const struct sluice_event *e);

/* Objects. */
int do_policy(int argc, char **argv);
int do_dest(int argc, char **argv);
int do_events(int argc, char **argv);
int do_status(int argc, char **argv);

#endif
