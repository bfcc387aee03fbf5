// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The decision log. sluiced writes event seq into slot seq %
 * SLUICE_EVENTS_MAX of sluice_events, so the ring holds the last
 * SLUICE_EVENTS_MAX decisions in slot order, not in time order, and slots
 * not yet written have seq 0. A reader takes the whole array at once,
 * keeps what is newer than what it has seen and sorts it by seq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "lib/addr.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluicectl/sluicectl.h"

int event_log_init(struct event_log *log)
{
	log->n = 0;
	log->v = calloc(SLUICE_EVENTS_MAX, sizeof(*log->v));
	log->keys = calloc(SLUICE_EVENTS_MAX, sizeof(*log->keys));
	if (!log->v || !log->keys) {
		event_log_free(log);
		return p_err(-ENOMEM, "out of memory");
	}
	return 0;
}

void event_log_free(struct event_log *log)
{
	free(log->v);
	free(log->keys);
	log->v = NULL;
	log->keys = NULL;
	log->n = 0;
}

/* Every slot, in as few system calls as the kernel allows. */
static int ring_read(int fd, struct event_log *log)
{
	__u32 next, count;
	void *in = NULL;
	int err = 0;

	log->n = 0;
	while (log->n < SLUICE_EVENTS_MAX) {
		count = SLUICE_EVENTS_MAX - log->n;
		err = bpf_map_lookup_batch(fd, in, &next, log->keys + log->n,
					   log->v + log->n, &count, NULL);
		log->n += count;
		if (err)
			break;
		in = &next;
	}
	return err == -ENOENT ? 0 : err;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct sluice_event *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

int event_log_read(int fd, __u64 after, struct event_log *log)
{
	size_t i, kept = 0;
	int err;

	err = ring_read(fd, log);
	if (err) {
		log->n = 0;
		return p_err(err, "cannot read %s: %s", SLUICE_MAP_EVENTS, strerror(-err));
	}
	for (i = 0; i < log->n; i++)
		if (log->v[i].seq > after) /* empty slots have seq 0 */
			log->v[kept++] = log->v[i];
	log->n = kept;
	qsort(log->v, log->n, sizeof(*log->v), cmp_seq);
	return 0;
}

/* CLOCK_REALTIME in local time, to the millisecond, as one word. */
static char *fmt_time(char *buf, size_t len, __u64 ns)
{
	time_t sec = ns / 1000000000ULL;
	struct tm tm;
	size_t n = 0;

	if (localtime_r(&sec, &tm))
		n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n)
		snprintf(buf + n, len - n, ".%03llu", (unsigned long long)(ns / 1000000 % 1000));
	else /* a time the C library cannot break down: the raw value */
		snprintf(buf, len, "%llu", (unsigned long long)ns);
	return buf;
}

static const char *event_breaker(__u64 v)
{
	return breaker_name(v > 0xff ? 0xff : (__u8)v);
}

/* An old or new value as its kind counts it. */
static char *fmt_value(char *buf, size_t len, __u32 kind, __u64 v)
{
	if (kind == SLUICE_EV_RATE)
		return format_rate(buf, len, v);
	if (kind == SLUICE_EV_BREAKER)
		snprintf(buf, len, "%s", event_breaker(v));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

void event_print_text(const struct sluice_event *e)
{
	char when[48], addr[SLUICE_ADDR_STRLEN], old[32], new[32];
	char pressure[16], rtt[32], base[32], delivered[32];

	printf("%s  %s  %s  %s -> %s  %s  pressure %s rtt %s base %s loss %.1f%% delivered %s\n",
	       fmt_time(when, sizeof(when), e->time_ns),
	       format_addr(addr, sizeof(addr), &e->addr), event_kind_name(e->kind),
	       fmt_value(old, sizeof(old), e->kind, e->old_value),
	       fmt_value(new, sizeof(new), e->kind, e->new_value), reason_name(e->reason),
	       fmt_pressure(pressure, sizeof(pressure), e->pressure_milli),
	       fmt_usec(rtt, sizeof(rtt), e->rtt_us),
	       fmt_usec(base, sizeof(base), e->base_rtt_us), e->loss_permille / 10.0,
	       format_rate(delivered, sizeof(delivered), e->delivered_Bps));
}

/* Keys that carry the unit of the kind: a rate, a breaker state, a step. */
static void json_add_values(cJSON *o, const struct sluice_event *e)
{
	switch (e->kind) {
	case SLUICE_EV_RATE:
		json_add_u64(o, "old_rate_bps", rate_bps(e->old_value));
		json_add_u64(o, "new_rate_bps", rate_bps(e->new_value));
		break;
	case SLUICE_EV_BREAKER:
		cJSON_AddStringToObject(o, "old_breaker", event_breaker(e->old_value));
		cJSON_AddStringToObject(o, "new_breaker", event_breaker(e->new_value));
		break;
	case SLUICE_EV_LADDER:
		json_add_u64(o, "old_ladder_step", e->old_value);
		json_add_u64(o, "new_ladder_step", e->new_value);
		break;
	default:
		json_add_u64(o, "old_value", e->old_value);
		json_add_u64(o, "new_value", e->new_value);
	}
}

cJSON *event_json(const struct sluice_event *e)
{
	char addr[SLUICE_ADDR_STRLEN];
	cJSON *o = cJSON_CreateObject();

	json_add_u64(o, "seq", e->seq);
	json_add_u64(o, "time_us", e->time_ns / 1000);
	cJSON_AddStringToObject(o, "addr", format_addr(addr, sizeof(addr), &e->addr));
	cJSON_AddStringToObject(o, "kind", event_kind_name(e->kind));
	json_add_values(o, e);
	cJSON_AddStringToObject(o, "reason", reason_name(e->reason));
	cJSON_AddStringToObject(o, "reason_text", reason_text(e->reason));
	json_add_pressure(o, e->pressure_milli);
	json_add_u64(o, "rtt_us", e->rtt_us);
	json_add_u64(o, "base_rtt_us", e->base_rtt_us);
	json_add_u64(o, "loss_permille", e->loss_permille);
	json_add_u64(o, "delivered_bps", rate_bps(e->delivered_Bps));
	return o;
}
