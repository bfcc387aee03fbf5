/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Adaptive control of one destination's rate. Every interval the daemon
 * hands each destination's signals to its policy's controller, which
 * returns the control values the datapath should enforce and why.
 *
 * Controllers share the pressure estimate (ctrl_pressure.c): one number in
 * [0, 1] per destination, the largest of its normalised signals (queueing
 * delay, loss, ECN, receive-window stalls, failed connects), rising fast
 * and falling slowly. It is what operators and the degradation ladder see.
 * The laws differ in what they act on: static never moves, aimd reacts to
 * loss only, gradient (the default) to every signal.
 *
 * Everything here is plain arithmetic on its inputs: no clock, no maps,
 * so traces can be replayed in unit tests.
 */
#ifndef SLUICE_CTRL_H
#define SLUICE_CTRL_H

#include <stdbool.h>
#include "lib/signals.h"
#include "sluice/abi.h"

#define CTRL_BASE_WINDOW 300 /* intervals of RTT history for the base RTT */
#define CTRL_DELIVERED_WINDOW 10

/* The path's RTT without queueing: a low percentile of recent intervals,
 * never the plain minimum, and allowed to rise only slowly and calmly. */
struct base_rtt {
	__u32 hist[CTRL_BASE_WINDOW]; /* per-interval low-percentile RTT, us */
	__u32 n, next;
	__u64 base_us;
	__u64 raised_at_ns;           /* last time the base was allowed up */
};

struct ctrl_state {
	__u64 rate_Bps;            /* what the datapath enforces now */
	double pressure;           /* [0, 1], smoothed */
	double ecn_alpha;          /* smoothed CE fraction (DCTCP, g = 1/16) */
	struct base_rtt base;
	__u64 last_cut_ns;
	__u32 clean;               /* intervals without pressure in a row */
	__u64 delivered[CTRL_DELIVERED_WINDOW]; /* bytes per second, recent */
	__u32 delivered_next;
	__u32 reason;              /* enum sluice_reason of the last decision */
	bool started;
	/* A delay cut under judgement: did it shorten the queue? */
	bool judging;
	__u64 cut_from_Bps;
	__u64 cut_rtt_us;
	__u64 cut_delivered_Bps;
	__u32 futile;              /* futile delay cuts in a row */
	__u32 over;                /* intervals in a row with delay above target */
	__u64 futile_from_Bps;     /* the rate before the first of them */
	/* What the path delivered while a queue stood at the last delay cut:
	 * the destination's capacity, as far as it has shown it, and the
	 * rate that filled it. 0 = none. */
	__u64 cap_Bps;
	__u64 cap_rate_Bps;
	__u32 cap_age;             /* intervals since the path last showed them */
	__u32 queued;              /* search intervals in a row meeting a queue */
	__u32 grew;                /* intervals in a row delivering beyond it */
	__u32 probes;              /* probes in a row with no queue at all */
	bool found;                /* the path pushed back once: no more startup */
	/* Draining now and then, to see the path without a queue. */
	__u64 drained_ns;          /* when the last drain began */
	__u32 draining;            /* intervals of it left */
	__u64 drain_from_Bps;      /* the rate to return to */
	/* Traffic ran before this state began (a previous sluiced's, or
	 * under the policy before): a queue may stand that the base would
	 * learn, so the first drain comes early. Set by the daemon. */
	bool inherited;
};

/* What the interval showed, normalised; filled by ctrl_pressure_update(). */
struct ctrl_signals {
	__u64 rtt_us;       /* low percentile over the interval, 0 when no samples */
	__u64 base_us;
	__u64 queue_us;     /* rtt - base, at least 0 */
	__u64 queue_p50_us; /* the interval's median RTT - base: a queue starting */
	__u64 target_us;    /* queueing the law allows */
	double loss;        /* retransmitted / delivered segments */
	double ce;          /* CE-echoed / delivered segments, this interval */
	double rwnd;        /* share of the interval senders stalled on rwnd */
	double fail;        /* failed / attempted connects */
	/* the same, as pressures in [0, 1] */
	double p_delay, p_loss, p_ecn, p_rwnd, p_fail;
	double p_raw;       /* the largest */
	__u64 delivered_Bps;
	__u32 top;          /* enum sluice_reason of the largest */
};

struct ctrl_input {
	const struct dest_sample *s;
	const struct sluice_policy *pol;
	__u64 now_ns;
	__u64 interval_ns;
	/* While critical traffic shares the destination with a lower class,
	 * stay this many percent below the rate that fills the path (0: do
	 * not): sluice.conf's [class critical] headroom. */
	__u8 headroom_pct;
};

struct ctrl_output {
	__u64 rate_Bps;
	__u32 burst_bytes;
	__u32 mark_thresh;
	__u32 cwnd_clamp;      /* 0 = none */
	__u16 pressure_milli;
	__u32 reason;
	struct ctrl_signals sig; /* what the decision was based on */
};

struct controller {
	const char *name;
	void (*step)(struct ctrl_state *st, const struct ctrl_input *in,
		     struct ctrl_output *out);
};

/*
 * Timeouts that say the destination, not one unlucky connection, is in
 * trouble: nothing was delivered in the interval, or at least a quarter of
 * the busy connections timed out. A lone timeout among many connections
 * is random loss, not congestion.
 */
static inline bool ctrl_rtos_widespread(const struct dest_sample *s)
{
	return s->rtos && (!s->delivered_pkts || s->rtos * 4 >= (s->conns_busy ? s->conns_busy : 1));
}

/* More retransmits in the interval than random loss of `p` explains. */
bool ctrl_loss_beyond(const struct dest_sample *s, double p);

/* The controller for a policy's enum sluice_controller (static if unknown). */
const struct controller *controller_for(__u8 id);

/* Start a destination at its policy's starting rate. */
void ctrl_init(struct ctrl_state *st, const struct sluice_policy *pol);

/* Shared pieces of the laws (ctrl_common.c). */
void ctrl_pressure_update(struct ctrl_state *st, const struct ctrl_input *in,
			  struct ctrl_signals *sig);
void base_rtt_update(struct base_rtt *b, __u64 sample_us, bool calm, __u64 now_ns);
/* Accept a new base at once: the window forgets what it held. */
void base_rtt_reset(struct base_rtt *b, __u64 base_us);
__u64 ctrl_delivered_max(const struct ctrl_state *st);
void ctrl_delivered_push(struct ctrl_state *st, __u64 Bps);
/* Burst and mark threshold for a rate under a pressure. */
void ctrl_burst(const struct sluice_policy *pol, __u64 rate_Bps, double pressure,
		__u64 base_us, __u32 *burst, __u32 *mark);
/* Per-connection in-flight bound: the rate's share of rate x rtt. */
__u32 ctrl_cwnd_clamp(__u64 rate_Bps, __u64 rtt_us, __u32 conns, __u64 mss);
__u64 ctrl_bound(const struct sluice_policy *pol, __u64 rate_Bps, __u32 *reason);
void ctrl_finish(struct ctrl_state *st, const struct ctrl_input *in,
		 struct ctrl_output *out, __u64 rate_Bps, __u32 reason);

#endif
