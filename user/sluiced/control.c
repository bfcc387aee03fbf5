// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <uthash.h>
#include <utlist.h>

#include "lib/addr.h"
#include "lib/class_pacing.h"
#include "lib/breaker.h"
#include "lib/ctrl.h"
#include "lib/log.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluice/classes.h"
#include "sluiced/control.h"
#include "sluiced/decision_log.h"

#define LEASE_INTERVALS 5          /* the lease outlives a few missed ticks */
#define LEASE_MIN_NS    1000000000ULL
#define EVENT_RATE_STEP 0.05       /* rate changes below 5% are not events */
#define STALE_INTERVALS 600        /* forget destinations idle this long */
#define LOCK_WAIT_DIVISOR 4        /* wait at most interval / 4 for the lock */
#define SETTLE_TICKS 10            /* idle steps before a destination settles */
#define PRUNE_SLICES 100           /* the prune sees the table once per 100 ticks */
#define BUDGET_DIVISOR 4           /* a tick that takes more than interval / 4 overruns */
#define LADDER_DOWN_GAP 0.2        /* step down this far below the step's threshold */
#define LADDER_HOLD_NS  1000000000ULL /* ... and only after a second there */

/* Pressure at which each ladder step is taken (sluice/classes.h). */
static const double ladder_up[SLUICE_LADDER_MAX] = { 0.5, 0.7, 0.9 };

/* What the loop's summary line says, over its window (SUMMARY_NS). */
#define SUMMARY_NS   10000000000ULL
#define SUMMARY_MAX  1024          /* tick times kept for the quantiles */

struct tick_stats {
	__u64 since_ns;               /* the window's start */
	__u64 cpu_us;                 /* process CPU at the window's start */
	__u32 wall_us[SUMMARY_MAX];
	__u32 ticks;
	__u64 visited;                /* destinations stepped */
	__u64 overruns;               /* ticks over their budget */
	__u64 overruns_total;
	__s64 margin_min_ns;          /* least lease left at a renewal */
	bool margin_seen;
};

/* This interval's samples, read before any is acted on. */
struct pending {
	struct dest_sample *v;
	size_t n, cap;
};

/* Everything the daemon knows about one destination. */
struct dest_ctrl {
	struct sluice_addr addr;
	__u32 policy_id;
	struct sluice_policy pol;   /* as last seen, to notice changes */
	struct ctrl_state ctrl;
	struct breaker br;
	struct sluice_dest_ctl published;
	bool has_published;
	bool adopted;               /* published by a previous sluiced */
	__u64 event_rate_Bps;       /* rate in the last rate event */
	__u32 event_reason;
	struct ctrl_output unlogged; /* the last decision too small to log */
	__u64 unlogged_ns;          /* and when it was made (wall clock) */
	bool has_unlogged;
	__u32 cap_reported;
	__u64 seen_tick;
	__u8 ladder;                /* degradation step */
	__u64 ladder_low_since_ns;  /* pressure below the step's exit since */
	__u64 policy_epoch;         /* c->policy_epoch when pol was read */
	bool settled;               /* not stepped until its counters move */
	__u16 idle_ticks;           /* steps in a row that could settle it */
	bool counted;               /* in its policy's count (policy_id, breaker) */
	bool awake;                 /* on c->awake: stepped each interval */
	struct dest_ctrl *awake_prev, *awake_next;
	UT_hash_handle hh;          /* c->dests, by addr */
};

/* Destinations and open breakers of one policy, by policy id. */
struct policy_count {
	__u32 id;
	__u32 dests, open;
	UT_hash_handle hh;
};

struct control {
	const struct sluice_maps *m;
	const char *pin_dir;
	struct dest_ctrl *dests;    /* uthash, by address */
	struct dest_ctrl *prune_at; /* where the sliced prune goes on */
	/* The destinations not settled: stepped every interval, read or not
	 * (a breaker's timers, a ramp, a ladder step run on the clock). */
	struct dest_ctrl *awake;
	struct signal_reader *reader;
	struct sluice_config cfg;   /* read and written under the lock */
	bool cfg_dirty;
	bool ctl_changed;
	__u64 tick;
	__u64 now_ns, interval_ns;
	struct pending pending;
	struct policy_count *counts; /* uthash, as many as there are policies */
	unsigned int seed;
	__u64 lock_skips;           /* ticks skipped: the pin dir stayed locked */
	__u64 lock_skips_logged;
	/* Policies are read again only when someone else changed the maps:
	 * a ctl_gen other than the one this loop wrote last. */
	__u64 ctl_gen_written;
	__u64 policy_epoch;
	struct tick_stats stats;
};

static struct dest_ctrl *dest_find(struct control *c, const struct sluice_addr *a);

/* Take over the control values a previous sluiced published. */
static int adopt_published(struct control *c)
{
	struct sluice_addr key, next;
	struct sluice_dest_ctl v;
	struct dest_ctrl *d;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(c->m->dest_ctl, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->m->dest_ctl, &key, &v))
			continue;
		d = dest_find(c, &key);
		if (!d)
			return -ENOMEM;
		d->published = v;
		d->has_published = true;
		d->adopted = true;
		n++;
	}
	if (n)
		log_info("adopted control values of %d destination%s", n, n == 1 ? "" : "s");
	return 0;
}

struct control *control_new(const struct sluice_maps *m, int changed_fd, const char *pin_dir)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->m = m;
	c->pin_dir = pin_dir;
	c->reader = signal_reader_new(m->signals, changed_fd, m->stats);
	if (!c->reader) {
		free(c);
		return NULL;
	}
	c->seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)c;
	if (adopt_published(c)) {
		control_free(c);
		return NULL;
	}
	return c;
}

static void counts_clear(struct control *c)
{
	struct policy_count *pc, *tmp;

	HASH_ITER(hh, c->counts, pc, tmp) {
		HASH_DEL(c->counts, pc);
		free(pc);
	}
}

void control_free(struct control *c)
{
	struct dest_ctrl *d, *tmp;

	if (!c)
		return;
	counts_clear(c);
	free(c->pending.v);
	HASH_ITER(hh, c->dests, d, tmp) {
		HASH_DEL(c->dests, d);
		free(d);
	}
	signal_reader_free(c->reader);
	free(c);
}

/* Append to the decision log (the sluice_events ring) and our own log. */
static void emit_at(struct control *c, const struct dest_ctrl *d, __u64 time_ns, __u32 kind,
		    __u32 reason, __u64 old_v, __u64 new_v, const struct ctrl_output *o)
{
	struct sluice_event ev = {
		.time_ns = time_ns,
		.addr = d->addr,
		.kind = kind,
		.reason = reason,
		.old_value = old_v,
		.new_value = new_v,
		.pressure_milli = (__u32)(d->ctrl.pressure * 1000),
	};

	if (o) {
		ev.pressure_milli = o->pressure_milli;
		ev.rtt_us = (__u32)o->sig.rtt_us;
		ev.base_rtt_us = (__u32)o->sig.base_us;
		ev.loss_permille = (__u32)(o->sig.loss * 1000);
		ev.delivered_Bps = o->sig.delivered_Bps;
	}
	if (decision_log_append(c->m->events, &c->cfg.event_seq, &ev))
		return;
	c->cfg_dirty = true;
	decision_log_print(&ev, ev.pressure_milli / 1000.0);
}

static void emit(struct control *c, const struct dest_ctrl *d, __u32 kind, __u32 reason,
		 __u64 old_v, __u64 new_v, const struct ctrl_output *o)
{
	emit_at(c, d, 0, kind, reason, old_v, new_v, o);
}

static struct policy_count *count_for(struct control *c, __u32 policy_id)
{
	struct policy_count *pc;

	HASH_FIND(hh, c->counts, &policy_id, sizeof(policy_id), pc);
	if (pc)
		return pc;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->id = policy_id;
	HASH_ADD(hh, c->counts, id, sizeof(pc->id), pc);
	return pc;
}

/* Add (sign 1) or take away (-1) d's part in its policy's counts. The
 * counts follow each change of a policy id or a breaker state, so no tick
 * walks every destination to make them. */
static void count_dest(struct control *c, struct dest_ctrl *d, int sign)
{
	struct policy_count *pc;

	if ((sign > 0) == d->counted)
		return;
	pc = count_for(c, d->policy_id);
	if (!pc)
		return; /* out of memory: may_open says no for this policy */
	d->counted = sign > 0;
	pc->dests += sign;
	if (d->br.state != SLUICE_BREAKER_CLOSED)
		pc->open += sign;
}

/* Never more than a third of one policy's destinations open (at least one). */
static bool may_open(struct control *c, __u32 policy_id)
{
	struct policy_count *pc = count_for(c, policy_id);
	__u32 allowed;

	if (!pc)
		return false;
	allowed = pc->dests / 3 ? pc->dests / 3 : 1;
	return pc->open < allowed;
}

static struct dest_ctrl *dest_find(struct control *c, const struct sluice_addr *a)
{
	struct dest_ctrl *d;

	HASH_FIND(hh, c->dests, a, sizeof(*a), d);
	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->addr = *a;
	HASH_ADD(hh, c->dests, addr, sizeof(d->addr), d);
	return d;
}

static int policy_of(struct control *c, const struct sluice_addr *a, struct sluice_policy *p)
{
	struct sluice_lpm_key k = { .prefixlen = 128, .addr = *a };

	return bpf_map_lookup_elem(c->m->policy, &k, p) ? -errno : 0;
}

static void unpublish(struct control *c, struct dest_ctrl *d)
{
	if (!d->has_published)
		return;
	if (bpf_map_delete_elem(c->m->dest_ctl, &d->addr) && errno != ENOENT)
		log_warn("remove control values");
	d->has_published = false;
	c->ctl_changed = true;
}

static void publish(struct control *c, struct dest_ctrl *d, const struct sluice_dest_ctl *v)
{
	if (d->has_published && !memcmp(&d->published, v, sizeof(*v)))
		return;
	if (bpf_map_update_elem(c->m->dest_ctl, &d->addr, v, BPF_ANY)) {
		log_warn("write control values");
		return;
	}
	d->published = *v;
	d->has_published = true;
	c->ctl_changed = true;
}

static void rate_event_emit(struct control *c, struct dest_ctrl *d, __u64 time_ns,
			    const struct ctrl_output *o)
{
	emit_at(c, d, time_ns, SLUICE_EV_RATE, o->reason, d->event_rate_Bps, o->rate_Bps, o);
	d->event_rate_Bps = o->rate_Bps;
	d->event_reason = o->reason;
	d->has_unlogged = false;
}

/*
 * Small steps of one reason (probes of 1-4%) are one event once they add
 * up to 5%. A decision of another reason first logs where the unlogged
 * steps took the rate: each event then starts where the last one ended,
 * and moves the way its reason says (a delay cut from an unlogged probe
 * is a cut, not a rise from the last logged rate).
 */
static void rate_event(struct control *c, struct dest_ctrl *d, const struct ctrl_output *o)
{
	double step;

	if (!d->event_rate_Bps) {
		d->event_rate_Bps = o->rate_Bps;
		d->event_reason = o->reason;
		return;
	}
	step = (double)o->rate_Bps / d->event_rate_Bps;
	if (o->rate_Bps == d->event_rate_Bps ||
	    (step > 1 - EVENT_RATE_STEP && step < 1 + EVENT_RATE_STEP &&
	     o->reason == d->event_reason)) {
		d->unlogged = *o;
		d->unlogged_ns = decision_log_now_ns();
		d->has_unlogged = o->rate_Bps != d->event_rate_Bps;
		return;
	}
	if (d->has_unlogged && o->reason != d->event_reason) {
		rate_event_emit(c, d, d->unlogged_ns, &d->unlogged);
		if (o->rate_Bps == d->event_rate_Bps)
			return;
	}
	rate_event_emit(c, d, 0, o);
}

static void breaker_update(struct control *c, struct dest_ctrl *d, const struct dest_sample *s,
			   const struct ctrl_output *o)
{
	struct breaker_input bin = {
		.s = s,
		/* Saturation opens the breaker on trouble the destination
		 * shows, not on queueing delay: delay is the law's to act on,
		 * and a cut to the floor is how it acts. */
		.pressure = o->sig.top == SLUICE_REASON_DELAY ? 0 : d->ctrl.pressure,
		.at_floor = o->rate_Bps <= d->pol.min_Bps,
		.now_ns = c->now_ns,
		.interval_ns = c->interval_ns,
		.may_open = may_open(c, d->policy_id),
		.jitter = (double)rand_r(&c->seed) / RAND_MAX * 2 - 1,
		.rate_Bps = o->rate_Bps,
	};
	__u8 before = d->br.state;
	bool changed;
	__u32 reason;

	count_dest(c, d, -1);
	changed = breaker_step(&d->br, &bin, &reason);
	count_dest(c, d, 1);
	if (changed) {
		emit(c, d, SLUICE_EV_BREAKER, reason, before, d->br.state, o);
		if (d->br.state == SLUICE_BREAKER_CLOSED) /* ramp up from the probe rate */
			d->ctrl.rate_Bps = d->pol.min_Bps ? d->pol.min_Bps : o->rate_Bps;
		d->cap_reported = 0;
	} else if (reason == SLUICE_REASON_CAP && !d->cap_reported) {
		emit(c, d, SLUICE_EV_BREAKER, reason, before, before, o);
		d->cap_reported = 1;
	}
}

static bool classes_on(const struct control *c)
{
	return c->cfg.class_share_pct[0] | c->cfg.class_share_pct[1] |
	       c->cfg.class_share_pct[2] | c->cfg.class_share_pct[3];
}

/*
 * Move the degradation ladder one step per interval as pressure rises;
 * step back down only when pressure has stayed well below the step's
 * threshold for a second, so the ladder does not flap.
 */
static void ladder_update(struct control *c, struct dest_ctrl *d, const struct ctrl_output *o)
{
	double p = d->ctrl.pressure;
	__u8 before = d->ladder;

	if (!classes_on(c)) {
		d->ladder = 0;
		return;
	}
	if (d->ladder < SLUICE_LADDER_MAX && p >= ladder_up[d->ladder]) {
		d->ladder++;
		d->ladder_low_since_ns = 0;
	} else if (d->ladder > 0 && p < ladder_up[d->ladder - 1] - LADDER_DOWN_GAP) {
		if (!d->ladder_low_since_ns) {
			d->ladder_low_since_ns = c->now_ns;
		} else if (c->now_ns - d->ladder_low_since_ns >= LADDER_HOLD_NS) {
			d->ladder--;
			d->ladder_low_since_ns = c->now_ns;
		}
	} else {
		d->ladder_low_since_ns = 0;
	}
	if (d->ladder != before)
		emit(c, d, SLUICE_EV_LADDER, SLUICE_REASON_PRESSURE, before, d->ladder, o);
}

/* The rate the datapath gets: the law's, unless the breaker says otherwise. */
static __u64 compose_rate(struct dest_ctrl *d, struct ctrl_output *o)
{
	__u64 ramp;

	if (d->br.state != SLUICE_BREAKER_CLOSED) {
		o->reason = d->br.open_reason ? d->br.open_reason : SLUICE_REASON_CONNECT_FAIL;
		return d->pol.min_Bps ? d->pol.min_Bps : o->rate_Bps / 100;
	}
	ramp = breaker_ramp(&d->br, d->ctrl.rate_Bps, o->sig.p_raw);
	if (ramp) {
		d->ctrl.rate_Bps = ramp;
		o->reason = SLUICE_REASON_PROBE;
		return ramp;
	}
	return o->rate_Bps;
}

/* One line per active destination and interval, for `sluiced -v`. */
static void log_decision(const struct dest_ctrl *d, const struct dest_sample *s,
			 const struct ctrl_output *o)
{
	char a[SLUICE_ADDR_STRLEN], r[32], dl[32];

	log_debug("%s: rate %s (%s) pressure %.2f rtt %llu/%llu us base %llu us target %llu us "
		  "delivered %s conns %u bulk %u clamp %u retrans %llu ce %llu",
		  format_addr(a, sizeof(a), &d->addr), format_rate(r, sizeof(r), o->rate_Bps),
		  reason_name(o->reason), d->ctrl.pressure,
		  (unsigned long long)s->rtt_p10_us, (unsigned long long)s->rtt_p50_us,
		  (unsigned long long)o->sig.base_us, (unsigned long long)o->sig.target_us,
		  format_rate(dl, sizeof(dl), s->delivered_Bps),
		  s->conns_busy, s->conns_bulk, o->cwnd_clamp, (unsigned long long)s->retrans,
		  (unsigned long long)s->delivered_ce);
}

/*
 * A destination that has been idle for SETTLE_TICKS intervals, with its
 * breaker closed and nothing pending, is settled: it is not stepped again
 * until its counters move, so a table of quiet destinations costs one
 * lookup each per interval. Its control values stay as the last step
 * left them.
 */
static bool settles(const struct dest_ctrl *d, const struct dest_sample *s)
{
	return !s->active && d->br.state == SLUICE_BREAKER_CLOSED && !d->br.ramping &&
	       !d->ladder && !d->has_unlogged && !d->ctrl.draining;
}

static void awake_set(struct control *c, struct dest_ctrl *d, bool awake)
{
	if (awake == d->awake)
		return;
	if (awake)
		DL_APPEND2(c->awake, d, awake_prev, awake_next);
	else
		DL_DELETE2(c->awake, d, awake_prev, awake_next);
	d->awake = awake;
}

/* The destination's policy, read again only when someone else changed
 * the maps since it was last read. 0, or -ENOENT when none covers it. */
static int policy_current(struct control *c, struct dest_ctrl *d, struct sluice_policy *pol)
{
	int err;

	if (d->policy_epoch == c->policy_epoch && d->ctrl.started) {
		*pol = d->pol;
		return 0;
	}
	err = policy_of(c, &d->addr, pol);
	if (!err || err == -ENOENT)
		d->policy_epoch = c->policy_epoch;
	return err;
}

static void policy_adopt(struct control *c, struct dest_ctrl *d, const struct sluice_policy *pol)
{
	bool was_running = d->ctrl.started;

	count_dest(c, d, -1);
	ctrl_init(&d->ctrl, pol);
	d->ctrl.inherited = was_running;
	memset(&d->br, 0, sizeof(d->br));
	if (d->adopted && d->has_published) {
		/* Carry on from where a previous sluiced left off: its rate
		 * is no fresh start to double from. */
		d->ctrl.rate_Bps = d->published.rate_Bps;
		d->ctrl.found = true;
		d->ctrl.inherited = true;
		d->br.state = d->published.breaker;
		d->br.last_good_Bps = pol->rate_Bps;
	}
	d->adopted = false;
	d->pol = *pol;
	d->policy_id = pol->id;
	d->event_rate_Bps = 0;
	d->has_unlogged = false;
	count_dest(c, d, 1);
}

static void control_one(struct control *c, const struct dest_sample *s)
{
	struct ctrl_input in = { .s = s, .now_ns = c->now_ns, .interval_ns = c->interval_ns,
				 .headroom_pct = classes_on(c) ? c->cfg.critical_headroom_pct : 0 };
	struct sluice_dest_ctl v = {};
	struct ctrl_output o = {};
	struct sluice_policy pol;
	struct dest_ctrl *d;

	d = dest_find(c, &s->addr);
	if (!d)
		return;
	d->seen_tick = c->tick;
	if (d->settled && !s->changed && d->policy_epoch == c->policy_epoch)
		return;
	c->stats.visited++;
	if (policy_current(c, d, &pol) || pol.mode != SLUICE_MODE_ENFORCE) {
		unpublish(c, d);
		d->ctrl.started = false;
		d->settled = !s->active;
		awake_set(c, d, false);
		return;
	}
	if (!d->ctrl.started || memcmp(&pol, &d->pol, sizeof(pol)))
		policy_adopt(c, d, &pol);
	in.pol = &d->pol;
	controller_for(pol.controller)->step(&d->ctrl, &in, &o);
	breaker_update(c, d, s, &o);
	o.rate_Bps = compose_rate(d, &o);
	if (s->active && log_get_level() >= LOG_LVL_DEBUG)
		log_decision(d, s, &o);
	rate_event(c, d, &o);
	ladder_update(c, d, &o);
	d->idle_ticks = settles(d, s) ? d->idle_ticks + 1 : 0;
	d->settled = d->idle_ticks >= SETTLE_TICKS;
	awake_set(c, d, !d->settled);

	if (pol.controller == SLUICE_CTRL_STATIC && d->br.state == SLUICE_BREAKER_CLOSED &&
	    !d->br.ramping && !d->ladder) {
		unpublish(c, d); /* the policy's own values apply */
		return;
	}
	v.rate_Bps = o.rate_Bps;
	v.burst_bytes = o.burst_bytes;
	v.mark_thresh = o.mark_thresh;
	v.cwnd_clamp = o.cwnd_clamp;
	v.pressure_milli = o.pressure_milli;
	v.breaker = d->br.state;
	v.ladder = d->ladder;
	v.probe_gap_ns = d->br.state != SLUICE_BREAKER_CLOSED ? BREAKER_PROBE_GAP_NS : 0;
	v.reason = o.reason;
	if (classes_on(c))
		class_pacing_split(c->cfg.class_share_pct, d->ladder, s->classes_busy,
				   s->class_delivered_Bps, o.rate_Bps, v.class_pct);
	publish(c, d, &v);
}

static void collect(const struct dest_sample *s, void *ctx)
{
	struct pending *p = &((struct control *)ctx)->pending;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct dest_sample *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *s;
}

/* Forget one destination: its state here and its control values. */
static void dest_forget(struct control *c, struct dest_ctrl *d)
{
	if (c->prune_at == d)
		c->prune_at = d->hh.next;
	awake_set(c, d, false);
	count_dest(c, d, -1);
	unpublish(c, d);
	HASH_DEL(c->dests, d);
	free(d);
}

/* The kernel's table no longer has this destination (evicted, or the
 * table was cleared): nothing will be read for it again. */
static void gone(const struct sluice_addr *a, void *ctx)
{
	struct control *c = ctx;
	struct dest_ctrl *d;

	HASH_FIND(hh, c->dests, a, sizeof(*a), d);
	if (d)
		dest_forget(c, d);
}

/*
 * Destinations gone quiet for long: control values adopted from a
 * previous sluiced for destinations that never showed up again (every
 * other one is read each interval, or reported gone). A slice of the
 * table per tick, so the whole is seen every PRUNE_SLICES ticks and no
 * tick pays for all of it.
 */
static void prune_slice(struct control *c)
{
	unsigned int n = HASH_COUNT(c->dests) / PRUNE_SLICES + 16;
	struct dest_ctrl *d, *next;

	if (!c->prune_at)
		c->prune_at = c->dests;
	for (d = c->prune_at; d && n; d = next, n--) {
		next = d->hh.next;
		if (c->tick - d->seen_tick > STALE_INTERVALS)
			dest_forget(c, d);
	}
	c->prune_at = d;
}

/* Step the destinations that are awake but were not read this interval:
 * their counters did not move, and their clocks run on. */
static void step_awake(struct control *c)
{
	struct dest_ctrl *d, *tmp;
	struct dest_sample s;

	DL_FOREACH_SAFE2(c->awake, d, tmp, awake_next) {
		if (d->seen_tick == c->tick)
			continue;
		if (signal_reader_still(c->reader, &d->addr, c->now_ns, &s) == 0)
			control_one(c, &s);
		else
			awake_set(c, d, false); /* nothing to read: the prune's */
	}
}

/* Say once per stretch that ticks are skipped, and how many in all. */
static void lock_skipped(struct control *c)
{
	if (c->lock_skips++ == c->lock_skips_logged)
		log_warnx("pin dir %s held locked by another process (a stopped sluicectl?): "
			  "control interval skipped (%llu so far)", c->pin_dir,
			  (unsigned long long)c->lock_skips);
}

static __u64 cpu_us_now(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (__u64)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
	       (__u64)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * One line per window, for the operator and the benchmark: how long the
 * ticks took, what they cost, how much they did, and how close the lease
 * came to lapsing.
 */
static void stats_window(struct control *c, __u64 now_ns)
{
	struct tick_stats *t = &c->stats;
	__u32 n = t->ticks < SUMMARY_MAX ? t->ticks : SUMMARY_MAX;
	__u64 cpu = cpu_us_now();

	if (!t->since_ns) {
		t->since_ns = now_ns;
		t->cpu_us = cpu;
		return;
	}
	if (now_ns - t->since_ns < SUMMARY_NS || !n)
		return;
	qsort(t->wall_us, n, sizeof(t->wall_us[0]), cmp_u32);
	log_info("control: %u ticks: wall p50 %u us p99 %u us max %u us, cpu %llu us per tick, "
		 "tracked %u, visited %llu per tick, overruns %llu, lease margin min %lld ms",
		 t->ticks, t->wall_us[n / 2], t->wall_us[(n * 99) / 100], t->wall_us[n - 1],
		 (unsigned long long)((cpu - t->cpu_us) / t->ticks), HASH_COUNT(c->dests),
		 (unsigned long long)(t->visited / t->ticks), (unsigned long long)t->overruns,
		 t->margin_seen ? (long long)(t->margin_min_ns / 1000000) : -1LL);
	*t = (struct tick_stats){ .since_ns = now_ns, .cpu_us = cpu,
				  .overruns_total = t->overruns_total };
}

static void stats_tick(struct control *c, __u64 started_ns, __u64 interval_ns)
{
	struct tick_stats *t = &c->stats;
	__u64 wall = mono_ns() - started_ns;

	if (t->ticks < SUMMARY_MAX)
		t->wall_us[t->ticks] = (__u32)(wall / 1000 > 0xffffffffULL ? 0xffffffffU : wall / 1000);
	t->ticks++;
	if (wall > interval_ns / BUDGET_DIVISOR) {
		/* Logged at the first of a run of them; all are counted. */
		if (!t->overruns_total++ || !t->overruns)
			log_warnx("control interval took %llu ms, more than its budget of %llu ms "
				  "(%u destinations)", (unsigned long long)(wall / 1000000),
				  (unsigned long long)(interval_ns / BUDGET_DIVISOR / 1000000),
				  HASH_COUNT(c->dests));
		t->overruns++;
	}
}

/* Renew the lease; with note, count how much of the old one was left. */
static void lease_renew(struct control *c, __u64 now_ns, __u64 interval_ns, bool note)
{
	__u64 lease = interval_ns * LEASE_INTERVALS;
	__s64 left = (__s64)(c->cfg.lease_expires_ns - now_ns);

	if (note && c->cfg.lease_expires_ns &&
	    (!c->stats.margin_seen || left < c->stats.margin_min_ns)) {
		c->stats.margin_min_ns = left;
		c->stats.margin_seen = true;
	}
	c->cfg.lease_expires_ns = now_ns + (lease > LEASE_MIN_NS ? lease : LEASE_MIN_NS);
}

/*
 * A long tick is a busy loop, not a stuck one: once it has run for an
 * interval, renew the lease as it goes, so that load alone never lets the
 * datapath fall into its fail mode. (Only the lease: the overrides of this
 * tick are written at its end.)
 */
static void lease_keep(struct control *c, __u64 started, __u64 now_ns, __u64 interval_ns,
		       const __u32 *zero)
{
	struct sluice_config cfg;
	__u64 ran = mono_ns() - started;

	if (ran < interval_ns || sluice_config_read(c->m->config, &cfg))
		return;
	lease_renew(c, now_ns + ran, interval_ns, true);
	cfg.lease_expires_ns = c->cfg.lease_expires_ns;
	if (bpf_map_update_elem(c->m->config, zero, &cfg, BPF_ANY))
		log_warn("renew the lease");
}

int control_tick(struct control *c, __u64 now_ns, __u64 interval_ns)
{
	struct pending *p = &c->pending;
	__u64 started = mono_ns();
	__u32 zero = 0;
	int lock, err;
	size_t i;

	/* The config map is shared with sluicectl: read-modify-write it, and
	 * the control values, under the same lock. Wait a quarter of the
	 * interval for it at most, so a sluicectl that holds it (stopped
	 * with Ctrl-Z) never freezes the loop; the signals are read after,
	 * so a skipped interval folds into the next one. */
	lock = sluice_lock_timeout(c->pin_dir, interval_ns / LOCK_WAIT_DIVISOR);
	if (lock == -EWOULDBLOCK) {
		lock_skipped(c);
		return 0;
	}
	if (lock < 0)
		return lock;
	if (c->lock_skips != c->lock_skips_logged) {
		log_info("pin dir %s unlocked: control resumed after %llu skipped intervals",
			 c->pin_dir, (unsigned long long)(c->lock_skips - c->lock_skips_logged));
		c->lock_skips_logged = c->lock_skips;
	}
	c->tick++;
	c->now_ns = now_ns;
	c->interval_ns = interval_ns;
	stats_window(c, now_ns);
	err = sluice_config_read(c->m->config, &c->cfg);
	if (err)
		goto out;
	/* Someone else moved ctl_gen (sluicectl changed a policy or a
	 * class): every destination reads its policy again. */
	if (c->cfg.ctl_gen != c->ctl_gen_written)
		c->policy_epoch++;
	c->cfg_dirty = c->ctl_changed = false;
	/* A new read generation, before reading: every change from here on
	 * is announced again, for the next interval (bpf/lib/signals.h). The
	 * lease is renewed with it, before the interval's work. */
	c->cfg.signal_gen++;
	lease_renew(c, now_ns, interval_ns, true);
	if (bpf_map_update_elem(c->m->config, &zero, &c->cfg, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	p->n = 0;
	err = signal_reader_poll(c->reader, now_ns, collect, gone, c);
	if (err < 0)
		goto out;
	for (i = 0; i < p->n; i++) {
		control_one(c, &p->v[i]);
		if ((i & 4095) == 4095)
			lease_keep(c, started, now_ns, interval_ns, &zero);
	}
	step_awake(c);
	prune_slice(c);
	if (c->ctl_changed)
		c->cfg.ctl_gen++;
	lease_renew(c, now_ns, interval_ns, false);
	err = bpf_map_update_elem(c->m->config, &zero, &c->cfg, BPF_ANY) ? -errno : 0;
	if (!err)
		c->ctl_gen_written = c->cfg.ctl_gen;
out:
	sluice_unlock(lock);
	stats_tick(c, started, interval_ns);
	return err < 0 ? err : 0;
}
