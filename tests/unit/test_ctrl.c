// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control laws on synthetic signal traces (sim.h): convergence to a
 * bottleneck, capacity steps, a latency rise with no capacity change,
 * random loss, receive-window stalls, ECN; and the shared pieces they are
 * built from: pressure, burst, cwnd clamp, bounds. Every trace is
 * deterministic, so the margins below hold on any machine.
 *
 * Times are measured from the change to the first decision that meets
 * the condition; a decision is taken at the end of each 100 ms interval.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/breaker.h"
#include "lib/ctrl.h"
#include "lib/policy.h"
#include "lib/reason.h"
#include "sluice/bucket.h"
#include "check.h"
#include "sim.h"

#define MBIT(x)      ((double)(x) * 125000.0) /* bytes per second */
#define GBIT(x)      ((double)(x) * 125000000.0)
#define BASE_US      10000                    /* path RTT of every trace */
#define STEPS_MAX    1200                     /* 120 s of intervals */
#define SECONDS(s)   ((int)((s) * 10 + 0.5))  /* in intervals */
#define NOTES_MAX    8                        /* invariant breaches shown */

/* One destination under one law, and what every interval looked like. */
struct run {
	struct sluice_policy pol;
	const struct controller *law;
	struct ctrl_state st;
	struct sim m;
	struct dest_sample s;        /* the last interval's signals */
	struct ctrl_output out;      /* the last decision */
	int n;
	double rate[STEPS_MAX];      /* decided at the end of each interval */
	double delivered[STEPS_MAX];
	double qdelay_us[STEPS_MAX]; /* longest queueing delay in the interval */
	double pressure[STEPS_MAX];
	__u32 reason[STEPS_MAX];
	int broken;                  /* invariant breaches */
};

/* One trace at a time: a failed assertion leaves nothing to free. */
static struct run the_run;

static struct run *run_new(__u8 controller, double max_Bps, double cap_Bps)
{
	struct run *r = &the_run;

	memset(r, 0, sizeof(*r));
	r->pol = (struct sluice_policy){
		.max_Bps = (__u64)max_Bps,
		.controller = controller,
		.mode = SLUICE_MODE_ENFORCE,
	};
	if (controller == SLUICE_CTRL_STATIC)
		r->pol.rate_Bps = (__u64)max_Bps;
	policy_fill_defaults(&r->pol);
	r->law = controller_for(controller);
	ctrl_init(&r->st, &r->pol);
	sim_init(&r->m, cap_Bps, BASE_US, (double)r->pol.rate_Bps);
	return r;
}

/* What must hold after every decision of every law. */
static void check_invariants(struct run *r)
{
	const struct ctrl_output *o = &r->out;
	const struct sluice_policy *p = &r->pol;
	int before = r->broken;

	if (r->st.pressure < 0 || r->st.pressure > 1 || o->pressure_milli > 1000)
		r->broken++;
	if (p->controller != SLUICE_CTRL_STATIC &&
	    (o->rate_Bps < p->min_Bps || o->rate_Bps > p->max_Bps))
		r->broken++;
	if (o->burst_bytes > p->burst_bytes || o->mark_thresh > o->burst_bytes)
		r->broken++;
	if (o->cwnd_clamp == 1)
		r->broken++;
	if (r->broken > before && r->broken <= NOTES_MAX)
		tap_note("interval %d: rate %llu pressure %.3f burst %u mark %u clamp %u reason %u",
			 r->n, (unsigned long long)o->rate_Bps, r->st.pressure, o->burst_bytes,
			 o->mark_thresh, o->cwnd_clamp, o->reason);
}

/* One interval: the model runs at the last decision, the law decides. */
static void run_step(struct run *r)
{
	struct ctrl_input in = {
		.s = &r->s,
		.pol = &r->pol,
		.interval_ns = SIM_INTERVAL_NS,
	};

	assert_true(r->n < STEPS_MAX);
	sim_step(&r->m, &r->s);
	in.now_ns = r->m.now_ns;
	memset(&r->out, 0, sizeof(r->out));
	r->law->step(&r->st, &in, &r->out);
	check_invariants(r);
	r->rate[r->n] = (double)r->out.rate_Bps;
	r->delivered[r->n] = (double)r->s.delivered_Bps;
	r->qdelay_us[r->n] = r->m.qdelay_max_us;
	r->pressure[r->n] = r->st.pressure;
	r->reason[r->n] = r->out.reason;
	/* CTRL_TRACE=1 prints every interval: what a failing trace did. */
	if (getenv("CTRL_TRACE"))
		tap_note("%4d rate %8.2f deliv %8.2f Mbit/s q %7.2f ms p10 %6llu p50 %6llu base %6llu clamp %5u %s",
			 r->n, r->rate[r->n] / 125000, r->delivered[r->n] / 125000,
			 r->qdelay_us[r->n] / 1000, (unsigned long long)r->s.rtt_p10_us,
			 (unsigned long long)r->s.rtt_p50_us, (unsigned long long)r->st.base.base_us,
			 r->out.cwnd_clamp, reason_name(r->out.reason));
	r->n++;
	/* What the daemon publishes, the datapath enforces. */
	r->m.rate_Bps = (double)r->out.rate_Bps;
	r->m.cwnd_clamp = r->out.cwnd_clamp;
}

static void run_for(struct run *r, int intervals)
{
	while (intervals-- > 0)
		run_step(r);
}

static double mean(const double *v, int from, int to)
{
	double sum = 0;
	int i;

	for (i = from; i < to; i++)
		sum += v[i];
	return to > from ? sum / (to - from) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(const double *v, int from, int to, double q)
{
	double sorted[STEPS_MAX];
	int n = to - from, i;

	if (n <= 0)
		return 0;
	memcpy(sorted, v + from, n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), cmp_double);
	i = (int)ceil(q * n) - 1;
	return sorted[i < 0 ? 0 : i];
}

/* Seconds from the change before interval `from` to the first decision
 * at or after it with v within [lo, hi]; -1 when none is. */
static double time_to(const double *v, int from, int to, double lo, double hi)
{
	int i;

	for (i = from; i < to; i++)
		if (v[i] >= lo && v[i] <= hi)
			return (i - from + 1) / 10.0;
	return -1;
}

/* Seconds from interval `from` until v stays within [lo, hi] up to `to`. */
static double settle_time(const double *v, int from, int to, double lo, double hi)
{
	int i;

	for (i = to - 1; i >= from; i--)
		if (v[i] < lo || v[i] > hi)
			break;
	return i == to - 1 ? -1 : (i + 1 - from + 1) / 10.0;
}

/* ---- the gradient law on traces ---------------------------------------- */

/*
 * Starting at its 1gbit ceiling in front of a 100mbit bottleneck, the law
 * must find the bottleneck within a few seconds and then keep its rate
 * near it without a standing queue.
 */
static void test_gradient_converges_to_bottleneck(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, last = SECONDS(10), from = SECONDS(5);
	double settle, rate, used, q99;

	run_for(r, last);
	settle = settle_time(r->rate, 0, last, 0.85 * C, 1.15 * C);
	rate = mean(r->rate, from, last) / C;
	used = mean(r->delivered, from, last) / C;
	q99 = quantile(r->qdelay_us, from, last, 0.99) / 1000;
	tap_note("converged in %.1f s: rate %.0f%% of capacity, delivered %.0f%%, p99 queueing %.1f ms, base %llu us",
		 settle, rate * 100, used * 100, q99, (unsigned long long)r->st.base.base_us);
	CHECK(bad, settle >= 0 && settle <= 3,
	      "rate not within 85-115%% of capacity 3 s in (%.1f s)", settle);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "settled rate %.0f%% of capacity", rate * 100);
	CHECK(bad, used >= 0.95, "settled delivery %.0f%% of capacity", used * 100);
	CHECK(bad, q99 <= 5, "settled p99 queueing delay %.1f ms, want at most 5 ms", q99);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * A transfer starts toward a destination that so far only trickled: the
 * trickle held the rate down to the floor (it used less than half its
 * rate), and nothing is known of the path. The law must reach the path
 * within a second, as TCP's own slow start would, not climb x1.1 an
 * interval for 3 s; the doubling that finds the path overshoots it for
 * an interval at most, so the queue stays under two base RTTs.
 */
static void test_gradient_starts_from_the_floor_quickly(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, start = SECONDS(2), last = SECONDS(6);
	double held, t_full, q_peak;

	r->m.demand_Bps = MBIT(0.1);
	run_for(r, start);
	held = r->rate[start - 1];
	r->m.demand_Bps = 1e13;
	run_for(r, last - start);
	t_full = time_to(r->delivered, start, last, 0.9 * C, INFINITY);
	q_peak = quantile(r->qdelay_us, start, last, 1) / 1000;
	tap_note("held at %.0f Mbit/s by a trickle; then 90%% of the path delivered after %.1f s, queueing at most %.1f ms",
		 held / 125000, t_full, q_peak);
	CHECK(bad, held <= 0.2 * C, "the trickle left the rate at %.0f Mbit/s", held / 125000);
	CHECK(bad, t_full >= 0 && t_full <= 1, "90%% of the path after %.1f s", t_full);
	CHECK(bad, q_peak <= 2 * BASE_US / 1000.0, "queueing reached %.1f ms", q_peak);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * A drain ends by returning to the rate it left. When that rate was a
 * probe above the path, the return queues at once: the law had just
 * learned the rate that fills the path, and the return goes no higher.
 */
static void test_gradient_drain_returns_below_the_path(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, last = SECONDS(60), drains = 0, i;
	double worst_rate = 0, worst_q = 0;

	run_for(r, last);
	for (i = SECONDS(5); i < last - 3; i++) {
		if (r->reason[i] != SLUICE_REASON_DRAIN || r->reason[i + 1] == SLUICE_REASON_DRAIN)
			continue;
		if (r->rate[i] < r->rate[i - 1]) /* its first interval */
			continue;
		drains++;
		worst_rate = r->rate[i] > worst_rate ? r->rate[i] : worst_rate;
		worst_q = fmax(worst_q, fmax(r->qdelay_us[i + 1], fmax(r->qdelay_us[i + 2],
								  r->qdelay_us[i + 3])));
	}
	tap_note("%d drains: returned to at most %.1f%% of the path, queueing after at most %.1f ms",
		 drains, worst_rate / C * 100, worst_q / 1000);
	CHECK(bad, drains >= 4, "%d drains in 55 s", drains);
	CHECK(bad, worst_rate <= C, "a drain returned to %.1f%% of the path", worst_rate / C * 100);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The same, with RTTs as coarse as the daemon's histogram reports them:
 * near 12 ms its buckets are 2 ms wide, so the law cannot hold the queue
 * finer than its 2.5 ms target plus about a bucket.
 */
static void test_gradient_converges_with_histogram_rtts(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, last = SECONDS(10), from = SECONDS(5);
	double rate, used, q99;

	r->m.quantize_rtt = true;
	run_for(r, last);
	rate = mean(r->rate, from, last) / C;
	used = mean(r->delivered, from, last) / C;
	q99 = quantile(r->qdelay_us, from, last, 0.99) / 1000;
	tap_note("histogram RTTs: rate %.0f%% of capacity, delivered %.0f%%, p99 queueing %.1f ms",
		 rate * 100, used * 100, q99);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "settled rate %.0f%% of capacity", rate * 100);
	CHECK(bad, used >= 0.9, "settled delivery %.0f%% of capacity", used * 100);
	CHECK(bad, q99 <= 6, "settled p99 queueing delay %.1f ms, want at most 6 ms", q99);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * Two minutes at a bottleneck: the queue the destination's own traffic
 * keeps must not become its base RTT, or the target and the queue grow
 * with it (the drift of Gradient2 and Envoy's minRTT, control.md).
 */
static void test_gradient_base_rtt_does_not_drift_under_own_queue(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	int bad = 0, last = SECONDS(120);
	double q99;

	run_for(r, last);
	q99 = quantile(r->qdelay_us, last - SECONDS(10), last, 0.99) / 1000;
	tap_note("after 120 s: base %llu us (path %u us), p99 queueing %.1f ms",
		 (unsigned long long)r->st.base.base_us, BASE_US, q99);
	CHECK(bad, r->st.base.base_us <= BASE_US * 1.1,
	      "base RTT crept to %llu us on a %u us path", (unsigned long long)r->st.base.base_us,
	      BASE_US);
	CHECK(bad, q99 <= 5, "p99 queueing delay %.1f ms after 120 s, want at most 5 ms", q99);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The law takes over a destination whose transfer already fills the
 * bottleneck's queue (sluiced restarted, or the policy changed, mid
 * transfer): its first RTTs all carry that queue. It must still find the
 * path's own RTT and drain the queue, not keep it as the normal.
 */
static void test_gradient_drains_a_queue_it_starts_on(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, last = SECONDS(20), from = SECONDS(15);
	double rate, used, q99;

	sim_mid_transfer(&r->m);
	r->st.inherited = true; /* as the daemon says of a policy changed mid transfer */
	run_for(r, last);
	rate = mean(r->rate, from, last) / C;
	used = mean(r->delivered, from, last) / C;
	q99 = quantile(r->qdelay_us, from, last, 0.99) / 1000;
	tap_note("started on a full queue: after 15 s base %llu us (path %u us), p99 queueing %.1f ms, rate %.0f%%, delivered %.0f%%",
		 (unsigned long long)r->st.base.base_us, BASE_US, q99, rate * 100, used * 100);
	CHECK(bad, r->st.base.base_us <= BASE_US * 1.1, "base RTT %llu us on a %u us path",
	      (unsigned long long)r->st.base.base_us, BASE_US);
	CHECK(bad, q99 <= 5, "p99 queueing delay %.1f ms 15 s on, want at most 5 ms", q99);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "rate %.0f%% of capacity 15 s on", rate * 100);
	CHECK(bad, used >= 0.9, "delivery %.0f%% of capacity 15 s on", used * 100);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The bottleneck halves under a settled destination: the rate must come
 * down to it within 2 s, and the queue the excess built must drain.
 */
static void test_gradient_follows_capacity_step_down(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(50);
	int bad = 0, step = SECONDS(10), last = SECONDS(20), from = SECONDS(15);
	double t_rate, t_queue, rate, q99;

	run_for(r, step);
	r->m.cap_Bps = C;
	run_for(r, last - step);
	t_rate = time_to(r->rate, step, last, 0, 1.15 * C);
	t_queue = settle_time(r->qdelay_us, step, last, 0, 5000);
	rate = mean(r->rate, from, last) / C;
	q99 = quantile(r->qdelay_us, from, last, 0.99) / 1000;
	tap_note("100 -> 50mbit: rate within 115%% in %.1f s, queue under 5 ms for good in %.1f s; then rate %.0f%%, p99 queueing %.1f ms",
		 t_rate, t_queue, rate * 100, q99);
	CHECK(bad, t_rate >= 0 && t_rate <= 2, "rate took %.1f s to follow, want at most 2 s",
	      t_rate);
	CHECK(bad, t_queue >= 0 && t_queue <= 1,
	      "queue took %.1f s to stay under 5 ms, want at most 1 s", t_queue);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "settled rate %.0f%% of the new capacity",
	      rate * 100);
	CHECK(bad, q99 <= 5, "settled p99 queueing delay %.1f ms", q99);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * A smaller step, 100 -> 85mbit: the queue it builds stays small for a
 * while, and a small queue's cut keeps nine tenths of the last second's
 * delivery. The next cuts, and the big queue if it grows, still follow.
 */
static void test_gradient_follows_a_small_capacity_drop(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(85);
	int bad = 0, step = SECONDS(10), last = SECONDS(20), from = SECONDS(13);
	double t_rate, rate, q99, q_max;

	run_for(r, step);
	r->m.cap_Bps = C;
	run_for(r, last - step);
	t_rate = time_to(r->rate, step, last, 0, 1.05 * C);
	rate = mean(r->rate, from, last) / C;
	q_max = quantile(r->qdelay_us, step, last, 1) / 1000;
	q99 = quantile(r->qdelay_us, from, last, 0.99) / 1000;
	tap_note("100 -> 85mbit: rate within 105%% in %.1f s, longest queue %.1f ms; then rate %.0f%%, p99 queueing %.1f ms",
		 t_rate, q_max, rate * 100, q99);
	CHECK(bad, t_rate >= 0 && t_rate <= 1, "rate took %.1f s to follow, want at most 1 s",
	      t_rate);
	CHECK(bad, q_max <= 20, "the queue reached %.1f ms", q_max);
	CHECK(bad, rate >= 0.85 && rate <= 1.1, "settled rate %.0f%% of the new capacity",
	      rate * 100);
	CHECK(bad, q99 <= 5, "settled p99 queueing delay %.1f ms", q99);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The router stalls for 300 ms on a busy host: the path delivers 55% of
 * its capacity while the queue stands, and the law cuts to that. On such
 * a host RTT samples wait on the host itself (the median by up to 3 ms,
 * the low percentile by up to 0.75 ms), so a queue seems to start at any
 * rate. The capacity the cut learned must not hold the rate down: it is
 * back near the path within 2 s, where probing at x1.01 an interval as
 * though each step met a queue takes 6.
 */
static void test_gradient_returns_after_a_router_stall(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, stall = SECONDS(15), last = SECONDS(25);
	double t_back, low;

	r->m.host_us = 1500;
	run_for(r, stall);
	r->m.cap_Bps = 0.55 * C;
	run_for(r, 3);
	r->m.cap_Bps = C;
	run_for(r, last - stall - 3);
	low = quantile(r->rate, stall, last, 0) / C;
	t_back = time_to(r->rate, stall + 3, last, 0.9 * C, INFINITY);
	tap_note("300 ms at 55%%: the rate fell to %.0f%%, back at 90%% %.1f s after the stall",
		 low * 100, t_back);
	CHECK(bad, low < 0.7, "the rate stayed at %.0f%%: the stall was not seen", low * 100);
	CHECK(bad, t_back >= 0 && t_back <= 2, "rate took %.1f s to come back", t_back);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The host hiccups 15 s into a transfer on a 100 Mbit/s path: for two
 * intervals every RTT is 3 ms longer (past the target, short of four: a
 * small queue, which the law watches an interval before it cuts), and the
 * senders, descheduled, deliver `first` and then `second` of the path
 * (1: all they may). The lowest rate from the hiccup on, and the mean
 * delivery over the `after` intervals that follow it, as shares of the
 * path, which never changed.
 */
static void run_hiccup(double first, double second, int after, double *low, double *used)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int hiccup = SECONDS(15);

	run_for(r, hiccup);
	r->m.extra_us = 3000;
	r->m.demand_Bps = first < 1 ? first * C : 1e13;
	run_for(r, 1);
	r->m.demand_Bps = second < 1 ? second * C : 1e13;
	run_for(r, 1);
	r->m.extra_us = 0;
	r->m.demand_Bps = 1e13;
	run_for(r, after);
	*low = quantile(r->rate, hiccup, r->n, 0) / C;
	*used = mean(r->delivered, hiccup + 2, r->n) / C;
	assert_int_equal(r->broken, 0);
}

/* The second interval delivers three quarters of the path: a cut to that
 * dip would cost a quarter of the path until the probes find it again. */
static void test_gradient_rides_out_a_host_hiccup(void **state)
{
	double low, used;
	int bad = 0;

	run_hiccup(1, 0.75, SECONDS(3), &low, &used);
	tap_note("a 200 ms hiccup: the rate fell to %.0f%%, then delivered %.0f%%",
		 low * 100, used * 100);
	CHECK(bad, low >= 0.85, "the rate fell to %.0f%% of a path that never changed",
	      low * 100);
	CHECK(bad, used >= 0.9, "delivered %.0f%% in the 3 s after it", used * 100);
	assert_int_equal(bad, 0);
}

/*
 * Both intervals deliver four fifths of the path. A small queue cannot say
 * the path narrowed by a fifth (that would queue 20 ms a second): the cut
 * keeps nine tenths of the last second's best delivery.
 */
static void test_gradient_rides_out_a_two_interval_hiccup(void **state)
{
	double low, used;
	int bad = 0;

	run_hiccup(0.8, 0.8, SECONDS(2), &low, &used);
	tap_note("a 200 ms hiccup at 80%%: the rate fell to %.0f%%, then delivered %.0f%%",
		 low * 100, used * 100);
	CHECK(bad, low >= 0.83, "the rate fell to %.0f%% of a path that never changed",
	      low * 100);
	CHECK(bad, used >= 0.9, "delivered %.0f%% in the 2 s after it", used * 100);
	assert_int_equal(bad, 0);
}

/* The bottleneck doubles: the rate, and what is delivered, must follow. */
static void test_gradient_follows_capacity_step_up(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(200);
	int bad = 0, step = SECONDS(10), last = SECONDS(20), from = SECONDS(15);
	double t_rate, t_used, rate, used;

	run_for(r, step);
	r->m.cap_Bps = C;
	run_for(r, last - step);
	t_rate = time_to(r->rate, step, last, 0.9 * C, INFINITY);
	t_used = time_to(r->delivered, step, last, 0.9 * C, INFINITY);
	rate = mean(r->rate, from, last) / C;
	used = mean(r->delivered, from, last) / C;
	tap_note("100 -> 200mbit: rate at 90%% in %.1f s, delivery at 90%% in %.1f s; then rate %.0f%%, delivered %.0f%%",
		 t_rate, t_used, rate * 100, used * 100);
	CHECK(bad, t_rate >= 0 && t_rate <= 1.5, "rate took %.1f s to reach 90%%", t_rate);
	CHECK(bad, t_used >= 0 && t_used <= 1.5, "delivery took %.1f s to reach 90%%", t_used);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "settled rate %.0f%% of the new capacity",
	      rate * 100);
	CHECK(bad, used >= 0.9, "settled delivery %.0f%% of the new capacity", used * 100);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * The path's latency rises tenfold and stays, capacity unchanged: the RTT
 * rise is not a queue the destination caused, and cutting would only cost
 * throughput. The rate must not collapse, and must come back.
 */
static void test_gradient_latency_rise_does_not_collapse_rate(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	int bad = 0, rise = SECONDS(10), last = SECONDS(25), from = SECONDS(20), i, undone = 0;
	double after, low, t_used, rate, used;

	run_for(r, rise);
	r->m.extra_us = 9 * BASE_US; /* 10x the base RTT in all */
	run_for(r, last - rise);
	for (i = rise; i < last; i++)
		undone += r->reason[i] == SLUICE_REASON_PATH;
	after = mean(r->rate, rise, last) / C;
	low = quantile(r->rate, rise, last, 0) / C;
	t_used = time_to(r->delivered, rise, last, 0.9 * C, INFINITY);
	rate = mean(r->rate, from, last) / C;
	used = mean(r->delivered, from, last) / C;
	tap_note("RTT 10 -> 100 ms: rate %.0f%% of capacity on average after, lowest %.0f%%, delivery back to 90%% in %.1f s; then rate %.0f%%, delivered %.0f%%, base %llu us; cuts undone %d times",
		 after * 100, low * 100, t_used, rate * 100, used * 100,
		 (unsigned long long)r->st.base.base_us, undone);
	CHECK(bad, after >= 0.5, "rate averaged %.0f%% of capacity after the rise", after * 100);
	CHECK(bad, rate >= 0.85 && rate <= 1.15, "rate %.0f%% of capacity 10 s on", rate * 100);
	CHECK(bad, used >= 0.85, "delivery %.0f%% of capacity 10 s on", used * 100);
	CHECK(bad, undone >= 1, "no decision said the cuts were undone (reason path)");
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * 1% random loss on an uncongested path for a minute, with senders that
 * ride through it (as BBR does): no breaker opening, and the gradient law
 * does not cut for it at all. Started at its floor, where an interval
 * carries ~90 segments and chance alone often retransmits more than 2% of
 * them, it still reaches the path within 3.5 s (a law that cut on the
 * fraction took 4.7 s, cutting 6 times). aimd cuts on any loss above 0.5%
 * by design; it is measured, not held to the rate.
 */
static void check_random_loss(__u8 controller, double start_Bps, int *bad, double *rate_out)
{
	struct run *r = run_new(controller, GBIT(1), MBIT(100));
	const double C = MBIT(100);
	struct breaker br = {};
	int last = SECONDS(60), transitions = 0, loss_cuts = 0, full_at = -1;

	r->m.loss = 0.01;
	r->m.loss_tolerant = true;
	r->st.rate_Bps = (__u64)start_Bps;
	r->m.rate_Bps = start_Bps;
	while (r->n < last) {
		struct breaker_input bin = {
			.s = &r->s,
			.interval_ns = SIM_INTERVAL_NS,
			.may_open = true,
		};
		__u32 why;

		run_step(r);
		bin.pressure = r->st.pressure;
		bin.at_floor = r->out.rate_Bps <= r->pol.min_Bps;
		bin.now_ns = r->m.now_ns;
		bin.rate_Bps = r->out.rate_Bps;
		if (breaker_step(&br, &bin, &why)) {
			transitions++;
			tap_note("%s: breaker moved to %u (reason %u) at %.1f s", r->law->name,
				 br.state, why, r->n / 10.0);
		}
		if (r->n > 1 && r->rate[r->n - 1] < r->rate[r->n - 2] &&
		    r->out.reason == SLUICE_REASON_LOSS)
			loss_cuts++;
		if (full_at < 0 && r->out.rate_Bps >= 0.85 * C)
			full_at = r->n;
	}
	*rate_out = mean(r->rate, SECONDS(5), last) / C;
	tap_note("%s, 1%% loss from %.0f Mbit/s: rate %.0f%% of capacity over 5-60 s, "
		 "%d loss cuts, 85%% of capacity after %.1f s", r->law->name, start_Bps * 8 / 1e6,
		 *rate_out * 100, loss_cuts, full_at / 10.0);
	CHECK(*bad, transitions == 0, "%s: breaker left closed %d times", r->law->name,
	      transitions);
	if (controller == SLUICE_CTRL_GRADIENT) {
		CHECK(*bad, loss_cuts == 0, "gradient cut %d times for 1%% random loss", loss_cuts);
		CHECK(*bad, full_at >= 0 && full_at <= SECONDS(3.5),
		      "gradient reached 85%% of the path after %.1f s", full_at / 10.0);
	}
	CHECK(*bad, r->broken == 0, "%s: invariants broken", r->law->name);
}

static void test_random_loss_1pct_no_opening_no_cut(void **state)
{
	double gradient, aimd;
	int bad = 0;

	check_random_loss(SLUICE_CTRL_GRADIENT, GBIT(1), &bad, &gradient);
	check_random_loss(SLUICE_CTRL_GRADIENT, MBIT(10), &bad, &gradient);
	check_random_loss(SLUICE_CTRL_AIMD, GBIT(1), &bad, &aimd);
	CHECK(bad, gradient >= 0.85 && gradient <= 1.15,
	      "gradient rate %.0f%% of capacity under 1%% loss", gradient * 100);
	assert_int_equal(bad, 0);
}

/*
 * The receiver stops reading: senders stall on the receive window most of
 * the interval while the path stays empty (no RTT rise). Pressure must
 * rise and the rate fall within a second, for the receive window's sake.
 */
static void test_gradient_rwnd_stall_cuts_within_1s(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, GBIT(1), MBIT(100));
	int bad = 0, stall = SECONDS(10), i, first_cut = -1;
	double before, t_fall, t_pressure;

	run_for(r, stall);
	before = r->rate[stall - 1];
	r->m.recv_Bps = MBIT(20);
	r->m.rwnd_share = 0.9;
	run_for(r, SECONDS(2));
	for (i = stall; i < r->n && first_cut < 0; i++)
		if (r->rate[i] < r->rate[i - 1])
			first_cut = i;
	t_fall = time_to(r->rate, stall, r->n, 0, 0.5 * before);
	t_pressure = time_to(r->pressure, stall, r->n, 0.5, 1);
	tap_note("receiver stalls: pressure 0.5 in %.1f s, rate halved in %.1f s, first cut reason %u, RTT %llu us",
		 t_pressure, t_fall, first_cut >= 0 ? r->reason[first_cut] : 0,
		 (unsigned long long)r->s.rtt_p10_us);
	CHECK(bad, t_pressure >= 0 && t_pressure <= 1, "pressure took %.1f s to reach 0.5",
	      t_pressure);
	CHECK(bad, t_fall >= 0 && t_fall <= 1, "rate took %.1f s to halve", t_fall);
	CHECK(bad, first_cut >= 0 && r->reason[first_cut] == SLUICE_REASON_RWND,
	      "first cut gave reason %u, want RWND (%u)",
	      first_cut >= 0 ? r->reason[first_cut] : 0, SLUICE_REASON_RWND);
	CHECK(bad, r->s.rtt_p10_us <= BASE_US + 1000, "the trace's RTT rose to %llu us",
	      (unsigned long long)r->s.rtt_p10_us);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/*
 * Half the delivered segments come back CE-marked on a path with room to
 * spare: pressure rises with the DCTCP-style alpha and the rate falls.
 */
static void test_gradient_ecn_cuts(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_GRADIENT, MBIT(100), MBIT(1000));
	int bad = 0, mark = SECONDS(5), i, first_cut = -1;
	double before, p1, p3, after;

	run_for(r, mark);
	before = r->rate[mark - 1];
	r->m.ce = 0.5;
	run_for(r, SECONDS(3));
	for (i = mark; i < r->n && first_cut < 0; i++)
		if (r->rate[i] < r->rate[i - 1])
			first_cut = i;
	p1 = r->pressure[mark + SECONDS(1) - 1];
	p3 = r->pressure[r->n - 1];
	after = r->rate[r->n - 1];
	tap_note("50%% CE: pressure %.2f after 1 s, %.2f after 3 s; rate %.0f -> %.0f mbit; first cut reason %u",
		 p1, p3, before / MBIT(1), after / MBIT(1),
		 first_cut >= 0 ? r->reason[first_cut] : 0);
	CHECK(bad, p1 >= 0.15, "pressure %.2f after 1 s of CE", p1);
	CHECK(bad, p3 >= 0.35, "pressure %.2f after 3 s of CE", p3);
	CHECK(bad, after <= 0.7 * before, "rate %.0f of %.0f mbit after 3 s of CE",
	      after / MBIT(1), before / MBIT(1));
	CHECK(bad, first_cut >= 0 && r->reason[first_cut] == SLUICE_REASON_ECN,
	      "first cut gave reason %u, want ECN (%u)",
	      first_cut >= 0 ? r->reason[first_cut] : 0, SLUICE_REASON_ECN);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/* ---- shared pieces --------------------------------------------------------- */

static struct dest_sample clean_sample(__u64 rtt_us)
{
	return (struct dest_sample){
		.interval_ns = SIM_INTERVAL_NS,
		.rtt_samples = 100,
		.rtt_p10_us = rtt_us,
		.rtt_p50_us = rtt_us,
		.bytes_acked = 1000 * SIM_MSS,
		.delivered_Bps = 10 * 1000 * SIM_MSS,
		.delivered_pkts = 1000,
		.conns_active = 1,
		.conns_busy = 1,
		.conns_bulk = 1,
		.active = true,
	};
}

/* ---- the gradient law's probe, one crafted interval at a time ------------ */

#define TARGET_US    (BASE_US / 4) /* the law's target on a BASE_US path */

/* A gradient state that knows the path: capacity C, filled at rate C. */
static void probe_state(struct ctrl_state *st, struct sluice_policy *pol, double C,
			double rate)
{
	*pol = (struct sluice_policy){ .max_Bps = (__u64)GBIT(1),
				       .controller = SLUICE_CTRL_GRADIENT };
	policy_fill_defaults(pol);
	ctrl_init(st, pol);
	base_rtt_reset(&st->base, BASE_US);
	st->cap_Bps = st->cap_rate_Bps = (__u64)C;
	st->found = true;
	st->rate_Bps = (__u64)rate;
}

#define HEADROOM_PCT 10 /* sluice.conf's default */

/* One gradient interval of these busy classes (bit per enum
 * sluice_class) that delivered `delivered` with these RTTs, with this
 * critical headroom. */
static struct ctrl_output headroom_step(struct ctrl_state *st, const struct sluice_policy *pol,
					__u8 classes, double delivered, __u64 p10_us,
					__u64 p50_us, __u8 headroom_pct)
{
	struct dest_sample s = clean_sample(p10_us);
	struct ctrl_input in = { .s = &s, .pol = pol, .interval_ns = SIM_INTERVAL_NS,
				 .now_ns = 100 * SIM_INTERVAL_NS, .headroom_pct = headroom_pct };
	struct ctrl_output o = {};

	s.rtt_p50_us = p50_us;
	s.delivered_Bps = (__u64)delivered;
	s.classes_busy = classes;
	st->drained_ns = in.now_ns; /* no periodic drain in the middle */
	controller_for(SLUICE_CTRL_GRADIENT)->step(st, &in, &o);
	return o;
}

/* The same, with the default headroom. */
static struct ctrl_output class_step(struct ctrl_state *st, const struct sluice_policy *pol,
				     __u8 classes, double delivered, __u64 p10_us, __u64 p50_us)
{
	return headroom_step(st, pol, classes, delivered, p10_us, p50_us, HEADROOM_PCT);
}

/* The same, for a destination without classes: the rate decided. */
static double probe_step(struct ctrl_state *st, const struct sluice_policy *pol,
			 double delivered, __u64 p10_us, __u64 p50_us)
{
	return (double)class_step(st, pol, 0, delivered, p10_us, p50_us).rate_Bps;
}

/*
 * Probing past the capacity, a queue starts: the low percentile waits and
 * half the samples wait past the target. The probe holds there (a delay
 * cut follows if the queue stands); the median rising alone (a busy
 * receiver) holds nothing back.
 */
static void test_gradient_probe_holds_at_a_starting_queue(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_state st;
	double rate;
	int bad = 0;

	probe_state(&st, &pol, C, 1.02 * C);
	rate = probe_step(&st, &pol, C, BASE_US + TARGET_US * 6 / 10, BASE_US + 2 * TARGET_US);
	tap_note("a queue starting at 102%%: rate %.1f%%", 100 * rate / C);
	CHECK(bad, fabs(rate - 1.02 * C) < 1, "rate %.1f%% of capacity, want held at 102%%",
	      100 * rate / C);

	probe_state(&st, &pol, C, 1.02 * C);
	rate = probe_step(&st, &pol, C, BASE_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, rate > 1.02 * C, "a median rising alone held the rate at %.1f%%",
	      100 * rate / C);
	assert_int_equal(bad, 0);
}

/*
 * While not even the median waits, each probe grows a little faster, up
 * to x1.04: after a capacity rise the path is found in a few intervals.
 */
static void test_gradient_probe_speeds_up_while_clean(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_state st;
	double prev = C, rate, g[5];
	int bad = 0, i;

	probe_state(&st, &pol, C, C);
	for (i = 0; i < 5; i++) {
		rate = probe_step(&st, &pol, C, BASE_US, BASE_US);
		g[i] = rate / prev;
		prev = rate;
	}
	tap_note("clean probes: x%.3f x%.3f x%.3f x%.3f x%.3f", g[0], g[1], g[2], g[3], g[4]);
	for (i = 1; i < 5; i++)
		CHECK(bad, g[i] >= g[i - 1] - 1e-4, "probe %d grew x%.3f after x%.3f", i, g[i],
		      g[i - 1]);
	CHECK(bad, g[0] <= 1.0101, "first probe x%.3f, want x1.01", g[0]);
	CHECK(bad, g[4] >= 1.039 && g[4] <= 1.041, "fifth probe x%.3f, want x1.04", g[4]);
	assert_int_equal(bad, 0);
}

/*
 * Delivery beyond the known capacity with a queue starting: the capacity
 * was a little more than the last cut saw. It is learned, and the law
 * does not search past it (x1.04, then x1.1, would pass 105% by the third
 * interval); without the queue, it searches.
 */
static void test_gradient_capacity_beyond_with_a_queue_is_learned(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_state st;
	double rate = 0;
	int bad = 0, i;

	probe_state(&st, &pol, C, C);
	for (i = 0; i < 3; i++)
		rate = probe_step(&st, &pol, 1.05 * C, BASE_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, st.cap_Bps == (__u64)(1.05 * C), "capacity %.1f%%, want the 105%% delivered",
	      100 * (double)st.cap_Bps / C);
	CHECK(bad, rate <= 1.05 * C, "rate %.1f%% after three intervals: searched past the path",
	      100 * rate / C);

	probe_state(&st, &pol, C, C);
	for (i = 0; i < 2; i++)
		rate = probe_step(&st, &pol, 1.05 * C, BASE_US, BASE_US);
	CHECK(bad, st.cap_Bps == 0, "capacity still %.1f%% once it grew",
	      100 * (double)st.cap_Bps / C);
	CHECK(bad, rate >= 1.04 * C * 0.999, "rate %.1f%% once the capacity grew, want x1.04",
	      100 * rate / C);
	assert_int_equal(bad, 0);
}

/*
 * Searching with no capacity known (the demand grew: a surge of new
 * connections), the rate runs ahead of what is delivered. A queue
 * starting while delivery stops growing, two intervals in a row, is the
 * path found: the capacity is the best recent delivery, and the rate comes
 * back to what filled it. With no queue, the search goes on.
 */
static void test_gradient_search_stops_where_a_queue_starts(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_state st;
	double rate;
	int bad = 0;

	probe_state(&st, &pol, C, 1.6 * C);
	st.cap_Bps = st.cap_rate_Bps = 0;
	ctrl_delivered_push(&st, (__u64)C);
	rate = probe_step(&st, &pol, 0.9 * C, BASE_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, rate == 1.6 * C && !st.cap_Bps,
	      "one interval with a queue (a hiccup?) ended the search at %.1f%%", 100 * rate / C);
	rate = probe_step(&st, &pol, 0.9 * C, BASE_US, BASE_US + 2 * TARGET_US);
	tap_note("searching at 160%%, a queue starting twice: rate to %.1f%%, capacity %.1f%%",
		 100 * rate / C, 100 * (double)st.cap_Bps / C);
	CHECK(bad, st.cap_Bps == (__u64)C,
	      "capacity %.1f%%, want the best of the last intervals (100%%), not the 90%% dip",
	      100 * (double)st.cap_Bps / C);
	CHECK(bad, rate <= 1.031 * C, "rate %.1f%%, want at most 103%%", 100 * rate / C);

	probe_state(&st, &pol, C, 1.6 * C);
	st.cap_Bps = st.cap_rate_Bps = 0;
	ctrl_delivered_push(&st, (__u64)C);
	rate = probe_step(&st, &pol, 1.5 * C, BASE_US, BASE_US);
	CHECK(bad, rate > 1.6 * C, "no queue, yet the search stopped at %.1f%%", 100 * rate / C);

	/* Senders a quarter below the rate (their windows hold them),
	 * the median queueing and the low percentile not: a probe past a
	 * known capacity shows nothing of the path, and stops there once
	 * the path has pushed back. With no queue at all (demand below the
	 * path), the rate stays within reach of twice the delivery. */
	probe_state(&st, &pol, C, 1.25 * C);
	st.found = true;
	ctrl_delivered_push(&st, (__u64)C);
	rate = probe_step(&st, &pol, C, BASE_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, rate == 1.25 * C, "delivering 100%%, a probe raised 125%% to %.1f%%",
	      100 * rate / C);
	probe_state(&st, &pol, C, 1.25 * C);
	st.found = true;
	ctrl_delivered_push(&st, (__u64)C);
	rate = probe_step(&st, &pol, C, BASE_US, BASE_US);
	CHECK(bad, rate > 1.25 * C, "no queue at all, yet the probe stopped at %.1f%%",
	      100 * rate / C);
	assert_int_equal(bad, 0);
}

/*
 * Critical traffic beside sheddable: the rate stays 10% below the one that
 * filled the path, so that the bottleneck's shared queue stays empty, and
 * says why; for 10 s after the path was last seen full, then it probes to
 * see it again. Without critical traffic, or with critical traffic alone,
 * the law probes as ever.
 */
static void test_gradient_headroom_while_critical_shares(void **state)
{
	const __u8 crit = 1u << SLUICE_CLASS_CRITICAL, shed = 1u << SLUICE_CLASS_SHEDDABLE,
		   def = 1u << SLUICE_CLASS_DEFAULT;
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_output o;
	struct ctrl_state st;
	int bad = 0;

	probe_state(&st, &pol, C, C);
	o = class_step(&st, &pol, crit | shed, C, BASE_US, BASE_US);
	CHECK(bad, o.rate_Bps <= 0.9 * C + 1, "critical beside sheddable: rate %.1f%%",
	      100 * o.rate_Bps / C);
	CHECK(bad, o.reason == SLUICE_REASON_HEADROOM, "reason %u, want headroom (%u)", o.reason,
	      SLUICE_REASON_HEADROOM);

	/* The operator's headroom: 30% keeps the rate at 70%; 0 keeps none. */
	probe_state(&st, &pol, C, C);
	o = headroom_step(&st, &pol, crit | shed, C, BASE_US, BASE_US, 30);
	CHECK(bad, o.rate_Bps <= 0.7 * C + 1 && o.reason == SLUICE_REASON_HEADROOM,
	      "headroom 30%%: rate %.1f%% (%s), want 70%% (headroom)", 100 * o.rate_Bps / C,
	      reason_name(o.reason));
	probe_state(&st, &pol, C, C);
	o = headroom_step(&st, &pol, crit | shed, C, BASE_US, BASE_US, 0);
	CHECK(bad, o.rate_Bps > C, "headroom 0%%: rate %.1f%%, want a probe past 100%%",
	      100 * o.rate_Bps / C);

	probe_state(&st, &pol, C, C);
	st.cap_age = 100; /* 10 s since the path was last seen full */
	o = class_step(&st, &pol, crit | shed, C, BASE_US, BASE_US);
	CHECK(bad, o.rate_Bps > C, "critical beside sheddable, the path last seen 10 s ago: "
	      "rate %.1f%%, want a probe past 100%% to see it again", 100 * o.rate_Bps / C);

	/* A delay cut learns what the path delivered while the RTT rose,
	 * which a receiver's hiccup lowers too: no headroom from it until
	 * the path is seen full again. */
	probe_state(&st, &pol, C, C);
	st.over = 1; /* the queue stood one interval already */
	st.last_cut_ns = 0;
	o = class_step(&st, &pol, crit | shed, 0.7 * C, BASE_US + 3 * TARGET_US,
		       BASE_US + 3 * TARGET_US);
	CHECK(bad, o.reason == SLUICE_REASON_DELAY, "reason %u, want a delay cut (%u)", o.reason,
	      SLUICE_REASON_DELAY);
	o = class_step(&st, &pol, crit | shed, 0.7 * C, BASE_US, BASE_US);
	CHECK(bad, o.reason != SLUICE_REASON_HEADROOM,
	      "headroom at %.1f%% from a cut's capacity of 70%%", 100 * o.rate_Bps / C);

	probe_state(&st, &pol, C, C);
	o = class_step(&st, &pol, crit, C, BASE_US, BASE_US);
	CHECK(bad, o.rate_Bps > C, "critical alone: rate %.1f%%, want a probe past 100%%",
	      100 * o.rate_Bps / C);
	probe_state(&st, &pol, C, C);
	o = class_step(&st, &pol, def | shed, C, BASE_US, BASE_US);
	CHECK(bad, o.rate_Bps > C, "no critical traffic: rate %.1f%%, want a probe past 100%%",
	      100 * o.rate_Bps / C);
	assert_int_equal(bad, 0);
}

/*
 * A small queue for one interval is not yet a cut: the decision says it
 * watches (not "cut" with the rate unchanged); the second interval cuts.
 */
static void test_gradient_watches_a_small_queue_before_cutting(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_output o;
	struct ctrl_state st;
	int bad = 0;

	probe_state(&st, &pol, C, C);
	o = class_step(&st, &pol, 0, C, BASE_US + 2 * TARGET_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, o.reason == SLUICE_REASON_WATCH && o.rate_Bps == (__u64)C,
	      "one interval of a small queue: %s at %.1f%%, want watch at 100%%",
	      reason_name(o.reason), 100 * o.rate_Bps / C);
	o = class_step(&st, &pol, 0, C, BASE_US + 2 * TARGET_US, BASE_US + 2 * TARGET_US);
	CHECK(bad, o.reason == SLUICE_REASON_DELAY && o.rate_Bps < C,
	      "two intervals of it: %s at %.1f%%, want a delay cut", reason_name(o.reason),
	      100 * o.rate_Bps / C);
	assert_int_equal(bad, 0);
}

/*
 * The periodic drain halves the rate, but critical traffic keeps what it
 * used and a quarter more through it; a drain still drains.
 */
static void test_gradient_drain_keeps_critical_traffic(void **state)
{
	const double C = MBIT(100);
	struct sluice_policy pol;
	struct ctrl_state st;
	struct dest_sample s;
	struct ctrl_input in = { .s = &s, .pol = &pol, .interval_ns = SIM_INTERVAL_NS,
				 .now_ns = 1000 * SIM_INTERVAL_NS };
	struct ctrl_output o = {};
	double crit[] = { 0, 0.3, 0.6, 0.95 }, want;
	int bad = 0, i;

	for (i = 0; i < 4; i++) {
		probe_state(&st, &pol, C, C);
		s = clean_sample(BASE_US);
		s.delivered_Bps = (__u64)C;
		s.classes_busy = (1u << SLUICE_CLASS_CRITICAL) | (1u << SLUICE_CLASS_SHEDDABLE);
		s.class_delivered_Bps[SLUICE_CLASS_CRITICAL] = (__u64)(crit[i] * C);
		ctrl_delivered_push(&st, (__u64)C); /* delivering before: not resuming */
		st.drained_ns = in.now_ns - 20 * 1000000000ULL; /* a drain is due */
		controller_for(SLUICE_CTRL_GRADIENT)->step(&st, &in, &o);
		want = crit[i] * 1.25 > 0.5 ? crit[i] * 1.25 : 0.5;
		want = want < 0.8 ? want : 0.8;
		tap_note("critical at %.0f%%: drain to %.1f%%", 100 * crit[i],
			 100 * o.rate_Bps / C);
		CHECK(bad, st.draining, "no drain started with critical at %.0f%%", 100 * crit[i]);
		CHECK(bad, o.reason == SLUICE_REASON_DRAIN, "reason %s, want drain",
		      reason_name(o.reason));
		CHECK(bad, fabs(o.rate_Bps / C - want) < 0.005,
		      "critical at %.0f%%: drain to %.1f%%, want %.1f%%", 100 * crit[i],
		      100 * o.rate_Bps / C, 100 * want);
	}
	assert_int_equal(bad, 0);
}

/*
 * A timeout drives the raw pressure to 1: the smoothed pressure must get
 * most of the way in a few intervals, and take several times as long to
 * come back down once the signals are clean.
 */
static void test_pressure_rises_fast_falls_slowly(void **state)
{
	struct sluice_policy pol = { .max_Bps = (__u64)MBIT(100),
				     .controller = SLUICE_CTRL_GRADIENT };
	struct dest_sample calm = clean_sample(BASE_US), hit = calm;
	struct ctrl_input in = { .pol = &pol, .interval_ns = SIM_INTERVAL_NS };
	struct ctrl_signals sig;
	struct ctrl_state st;
	int rise = 0, fall = 0, bad = 0;

	policy_fill_defaults(&pol);
	ctrl_init(&st, &pol);
	hit.rtos = 1;
	in.now_ns = SIM_INTERVAL_NS;
	in.s = &calm;
	ctrl_pressure_update(&st, &in, &sig);
	assert_true(st.pressure == 0);
	in.s = &hit;
	while (st.pressure < 0.9 && rise < 100) {
		in.now_ns += SIM_INTERVAL_NS;
		ctrl_pressure_update(&st, &in, &sig);
		rise++;
		CHECK(bad, st.pressure >= 0 && st.pressure <= 1, "pressure %f", st.pressure);
	}
	in.s = &calm;
	while (st.pressure >= 0.1 && fall < 1000) {
		in.now_ns += SIM_INTERVAL_NS;
		ctrl_pressure_update(&st, &in, &sig);
		fall++;
		CHECK(bad, st.pressure >= 0 && st.pressure <= 1, "pressure %f", st.pressure);
	}
	tap_note("pressure 0 -> 0.9 in %d intervals, 0.9 -> 0.1 in %d", rise, fall);
	CHECK(bad, rise <= 4, "pressure took %d intervals to reach 0.9", rise);
	CHECK(bad, fall >= 4 * rise, "pressure fell from 0.9 to 0.1 in %d intervals", fall);
	CHECK(bad, fall <= 50, "pressure took %d intervals to fall to 0.1", fall);
	assert_int_equal(bad, 0);
}

/* Arbitrary, even absurd, signals never take pressure out of [0, 1]. */
static void test_pressure_stays_within_0_1(void **state)
{
	struct sluice_policy pol = { .max_Bps = (__u64)MBIT(100),
				     .controller = SLUICE_CTRL_GRADIENT };
	struct ctrl_input in = { .pol = &pol, .interval_ns = SIM_INTERVAL_NS };
	struct ctrl_signals sig;
	struct ctrl_state st;
	struct sim rng;
	int i, bad = 0;

	policy_fill_defaults(&pol);
	ctrl_init(&st, &pol);
	sim_init(&rng, 1, 1, 1); /* for its generator only */
	for (i = 0; i < 20000; i++) {
		struct dest_sample s = {
			.interval_ns = SIM_INTERVAL_NS,
			.rtt_samples = sim_uniform(&rng) < 0.9 ? 10 : 0,
			.rtt_p10_us = (__u64)(sim_uniform(&rng) * 1e6),
			.delivered_pkts = (__u64)(sim_uniform(&rng) * 1000),
			.retrans = (__u64)(sim_uniform(&rng) * 2000),
			.rtos = sim_uniform(&rng) < 0.05,
			.delivered_ce = (__u64)(sim_uniform(&rng) * 2000),
			.rwnd_limited_us = (__u64)(sim_uniform(&rng) * 1e6),
			.zero_wnd_acks = sim_uniform(&rng) < 0.1,
			.connects = (__u64)(sim_uniform(&rng) * 10),
			.connect_fails = (__u64)(sim_uniform(&rng) * 20),
			.conns_busy = (__u32)(sim_uniform(&rng) * 4),
			.active = true,
		};

		in.s = &s;
		in.now_ns = (__u64)(i + 1) * SIM_INTERVAL_NS;
		ctrl_pressure_update(&st, &in, &sig);
		CHECK(bad, st.pressure >= 0 && st.pressure <= 1 && sig.p_raw >= 0 && sig.p_raw <= 1,
		      "sample %d: pressure %f, raw %f", i, st.pressure, sig.p_raw);
		if (bad > NOTES_MAX)
			break;
	}
	assert_int_equal(bad, 0);
}

/* Points of the burst-against-pressure curve that are wrong. */
static int burst_curve_faults(const struct sluice_policy *pol, __u64 rate, __u64 base_us,
			      __u64 gso, int *shown)
{
	/* calm: the policy's burst, but no deeper than 5 ms at the rate
	 * (and never below two GSO packets) */
	__u64 calm = (__u64)((double)rate * 5000 / 1e6);
	__u32 prev = ~0U, burst, mark;
	int p, bad = 0;

	calm = calm > 128 * 1024 ? calm : 128 * 1024;
	calm = calm < pol->burst_bytes ? calm : pol->burst_bytes;
	for (p = 0; p <= 100; p += 5) {
		ctrl_burst(pol, rate, p / 100.0, base_us, &burst, &mark);
		if ((p == 0 && (burst < calm - 1 || burst > calm + 1)) || burst > prev || burst < gso ||
		    mark > burst) {
			bad++;
			if ((*shown)++ < NOTES_MAX)
				tap_note("max %.0f mbit, rate %.3f mbit, base %llu us, pressure %.2f: burst %u mark %u (policy %u, before %u, GSO %llu)",
					 pol->max_Bps / MBIT(1), rate / MBIT(1),
					 (unsigned long long)base_us, p / 100.0, burst, mark,
					 pol->burst_bytes, prev, (unsigned long long)gso);
		}
		prev = burst;
	}
	return bad;
}

/*
 * The burst shrinks as pressure rises, from the policy's depth toward a
 * couple of milliseconds at the rate, but never below one full-size GSO
 * super-packet on the wire: the bucket drops any packet costing more
 * than its burst, so a smaller burst would never pass one.
 */
static void test_burst_shrinks_with_pressure_not_below_gso(void **state)
{
	static const double maxes[] = { MBIT(1), MBIT(10), MBIT(100), GBIT(1), GBIT(10),
					 GBIT(100) };
	static const __u64 bases[] = { 0, 200, 10000, 100000 };
	/* 45 segments of 1448 bytes behind 66 bytes of headers (64 KiB of
	 * TSO), charged as the TC program charges it */
	const __u64 gso = sluice_wire_bytes(66 + 45 * SIM_MSS, 45, 66);
	int bad = 0, shown = 0;
	size_t i, j;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		struct sluice_policy pol = { .max_Bps = (__u64)maxes[i],
					     .controller = SLUICE_CTRL_GRADIENT };

		policy_fill_defaults(&pol);
		for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++) {
			bad += burst_curve_faults(&pol, pol.min_Bps, bases[j], gso, &shown);
			bad += burst_curve_faults(&pol, pol.max_Bps / 10, bases[j], gso, &shown);
			bad += burst_curve_faults(&pol, pol.max_Bps, bases[j], gso, &shown);
		}
	}
	if (bad)
		tap_note("%d points of the burst curves are wrong", bad);
	assert_int_equal(bad, 0);
}

/* The clamp for one rate, base and connection count: how many checks fail. */
static int clamp_faults(double rate, __u64 base_us, __u32 conns)
{
	__u32 clamp = ctrl_cwnd_clamp((__u64)rate, base_us, conns, SIM_MSS);
	__u32 c = conns ? conns : 1;
	double bdp = rate * base_us / 1e6 / SIM_MSS; /* segments */
	int bad = 0;

	if (!clamp && bdp / c > 65535)
		return 0; /* beyond what a clamp can say: none */
	CHECK(bad, clamp >= 2, "rate %.0f base %llu conns %u: clamp %u", rate,
	      (unsigned long long)base_us, conns, clamp);
	CHECK(bad, (double)clamp * c >= bdp - 1e-9,
	      "rate %.0f base %llu conns %u: %u x %u below the BDP %.1f", rate,
	      (unsigned long long)base_us, conns, clamp, c, bdp);
	/* rounding up, and the floors, are all that may add */
	CHECK(bad, (double)clamp * c <= fmax(bdp, 16) + 2.0 * c,
	      "rate %.0f base %llu conns %u: %u x %u for a BDP of %.1f", rate,
	      (unsigned long long)base_us, conns, clamp, c, bdp);
	return bad;
}

/*
 * The per-connection clamp: at least 2 segments (1 stalls on delayed
 * ACKs), and together the connections get rate x RTT, shared out
 * rather than each taking all of it.
 */
static void test_cwnd_clamp_at_least_two_and_shares_bdp(void **state)
{
	static const double rates[] = { 1000, MBIT(1), MBIT(100), GBIT(10) };
	static const __u64 bases[] = { 100, 10000, 100000 };
	static const __u32 conns[] = { 0, 1, 2, 4, 7, 64, 1000 };
	int bad = 0;
	size_t i, j, k;

	CHECK(bad, ctrl_cwnd_clamp(0, 10000, 1, SIM_MSS) == 0, "rate 0 clamps");
	CHECK(bad, ctrl_cwnd_clamp((__u64)MBIT(100), 0, 1, SIM_MSS) == 0,
	      "no base RTT yet, yet a clamp");
	CHECK(bad, ctrl_cwnd_clamp((__u64)GBIT(100), 100000, 1, SIM_MSS) == 0,
	      "a clamp beyond 65535 segments should be none");
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++)
			for (k = 0; k < sizeof(conns) / sizeof(conns[0]); k++)
				bad += clamp_faults(rates[i], bases[j], conns[k]);
	assert_int_equal(bad, 0);
}

/* ---- static, aimd, bounds --------------------------------------------------- */

/* static holds the policy's values through congestion, loss, CE and stalls. */
static void test_static_never_moves(void **state)
{
	struct run *r = run_new(SLUICE_CTRL_STATIC, MBIT(50), MBIT(10));
	double peak = 0;
	int bad = 0, i;

	r->m.loss = 0.05;
	r->m.ce = 0.3;
	r->m.rwnd_share = 0.5;
	for (i = 0; i < SECONDS(10); i++) {
		run_step(r);
		if (i == SECONDS(5))
			r->m.blackhole = true;
		CHECK(bad, r->out.rate_Bps == r->pol.rate_Bps &&
		      r->out.reason == SLUICE_REASON_POLICY &&
		      r->out.burst_bytes == r->pol.burst_bytes &&
		      r->out.mark_thresh == r->pol.mark_thresh && r->out.cwnd_clamp == 0,
		      "interval %d: rate %llu reason %u burst %u mark %u clamp %u", i,
		      (unsigned long long)r->out.rate_Bps, r->out.reason, r->out.burst_bytes,
		      r->out.mark_thresh, r->out.cwnd_clamp);
		if (r->st.pressure > peak)
			peak = r->st.pressure;
	}
	/* Still measured, for operators to see. */
	CHECK(bad, peak >= 0.5, "static's pressure never rose above %.2f", peak);
	assert_int_equal(r->broken, 0);
	assert_int_equal(bad, 0);
}

/* One aimd step from `rate` on a crafted sample. */
static struct ctrl_output aimd_step(struct ctrl_state *st, const struct sluice_policy *pol,
				    __u64 rate, const struct dest_sample *s)
{
	struct ctrl_input in = { .s = s, .pol = pol, .interval_ns = SIM_INTERVAL_NS,
				 .now_ns = 100 * SIM_INTERVAL_NS };
	struct ctrl_output o = {};

	st->rate_Bps = rate;
	controller_for(SLUICE_CTRL_AIMD)->step(st, &in, &o);
	return o;
}

static void test_aimd_cuts_10pct_on_loss_adds_1pct_of_max(void **state)
{
	struct sluice_policy pol = { .max_Bps = (__u64)MBIT(100), .controller = SLUICE_CTRL_AIMD };
	const __u64 R = (__u64)MBIT(50), step = (__u64)MBIT(1);
	struct dest_sample s;
	struct ctrl_state st;
	struct ctrl_output o;

	policy_fill_defaults(&pol);
	ctrl_init(&st, &pol);

	s = clean_sample(BASE_US);
	s.delivered_Bps = R;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, R + step);
	assert_int_equal(o.reason, SLUICE_REASON_PROBE);
	assert_int_equal(o.cwnd_clamp, 0);

	/* blind to latency: a 10x RTT with no loss still probes */
	s.rtt_p10_us = s.rtt_p50_us = 10 * BASE_US;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, R + step);

	/* 1% retransmitted: x0.9 */
	s = clean_sample(BASE_US);
	s.delivered_Bps = R;
	s.retrans = 10;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, (__u64)(R * 0.9));
	assert_int_equal(o.reason, SLUICE_REASON_LOSS);

	/* 0.5% is within the law's tolerance */
	s.retrans = 5;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, R + step);

	s.retrans = 0;
	s.rtos = 1;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, (__u64)(R * 0.9));
	assert_int_equal(o.reason, SLUICE_REASON_RTO);

	s.rtos = 0;
	s.delivered_ce = 10;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, (__u64)(R * 0.9));
	assert_int_equal(o.reason, SLUICE_REASON_ECN);

	/* using less than half its rate: nothing to probe for */
	s = clean_sample(BASE_US);
	s.delivered_Bps = R / 2 - 1;
	o = aimd_step(&st, &pol, R, &s);
	assert_int_equal(o.rate_Bps, R);
	assert_int_equal(o.reason, SLUICE_REASON_HOLD);
}

/*
 * Bounds: heavy loss drives a law to its floor and no further (reason
 * FLOOR); a clean, roomy path takes it to its ceiling and no further
 * (reason CEILING).
 */
static void check_bounds(__u8 controller, int *bad)
{
	struct run *r = run_new(controller, MBIT(100), MBIT(1000));
	int i, floor_seen = 0, ceiling_seen = 0;

	r->pol.rate_Bps = r->pol.min_Bps * 2; /* start low: the ceiling must be earned */
	ctrl_init(&r->st, &r->pol);
	r->m.rate_Bps = (double)r->pol.rate_Bps;
	for (i = 0; i < SECONDS(10); i++) {
		run_step(r);
		ceiling_seen += r->out.rate_Bps == r->pol.max_Bps &&
				r->out.reason == SLUICE_REASON_CEILING;
	}
	r->m.loss = 0.3;
	r->m.loss_tolerant = true;
	for (i = 0; i < SECONDS(10); i++) {
		run_step(r);
		floor_seen += r->out.rate_Bps == r->pol.min_Bps &&
			      r->out.reason == SLUICE_REASON_FLOOR;
	}
	tap_note("%s: %d intervals at the ceiling, %d at the floor", r->law->name, ceiling_seen,
		 floor_seen);
	CHECK(*bad, ceiling_seen > 0, "%s never reached its ceiling with reason CEILING",
	      r->law->name);
	CHECK(*bad, r->rate[SECONDS(10) - 1] == r->pol.max_Bps, "%s ended the clean part at %.0f",
	      r->law->name, r->rate[SECONDS(10) - 1]);
	/* (aimd may leave the floor by a step after an interval that lost
	 * nothing: at 1mbit one holds only a few packets) */
	CHECK(*bad, floor_seen > 0, "%s never reached its floor with reason FLOOR", r->law->name);
	CHECK(*bad, r->broken == 0, "%s: rate left [min, max]", r->law->name);
}

static void test_bounds_floor_and_ceiling(void **state)
{
	int bad = 0;

	check_bounds(SLUICE_CTRL_GRADIENT, &bad);
	check_bounds(SLUICE_CTRL_AIMD, &bad);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gradient_converges_to_bottleneck),
		cmocka_unit_test(test_gradient_converges_with_histogram_rtts),
		cmocka_unit_test(test_gradient_base_rtt_does_not_drift_under_own_queue),
		cmocka_unit_test(test_gradient_drains_a_queue_it_starts_on),
		cmocka_unit_test(test_gradient_drain_returns_below_the_path),
		cmocka_unit_test(test_gradient_starts_from_the_floor_quickly),
		cmocka_unit_test(test_gradient_follows_capacity_step_down),
		cmocka_unit_test(test_gradient_returns_after_a_router_stall),
		cmocka_unit_test(test_gradient_follows_a_small_capacity_drop),
		cmocka_unit_test(test_gradient_rides_out_a_host_hiccup),
		cmocka_unit_test(test_gradient_rides_out_a_two_interval_hiccup),
		cmocka_unit_test(test_gradient_follows_capacity_step_up),
		cmocka_unit_test(test_gradient_latency_rise_does_not_collapse_rate),
		cmocka_unit_test(test_gradient_probe_holds_at_a_starting_queue),
		cmocka_unit_test(test_gradient_probe_speeds_up_while_clean),
		cmocka_unit_test(test_gradient_capacity_beyond_with_a_queue_is_learned),
		cmocka_unit_test(test_gradient_search_stops_where_a_queue_starts),
		cmocka_unit_test(test_gradient_headroom_while_critical_shares),
		cmocka_unit_test(test_gradient_drain_keeps_critical_traffic),
		cmocka_unit_test(test_gradient_watches_a_small_queue_before_cutting),
		cmocka_unit_test(test_random_loss_1pct_no_opening_no_cut),
		cmocka_unit_test(test_gradient_rwnd_stall_cuts_within_1s),
		cmocka_unit_test(test_gradient_ecn_cuts),
		cmocka_unit_test(test_pressure_rises_fast_falls_slowly),
		cmocka_unit_test(test_pressure_stays_within_0_1),
		cmocka_unit_test(test_burst_shrinks_with_pressure_not_below_gso),
		cmocka_unit_test(test_cwnd_clamp_at_least_two_and_shares_bdp),
		cmocka_unit_test(test_static_never_moves),
		cmocka_unit_test(test_aimd_cuts_10pct_on_loss_adds_1pct_of_max),
		cmocka_unit_test(test_bounds_floor_and_ceiling),
	};

	/* CTRL_TEST=pattern runs only the tests whose names match it. */
	if (getenv("CTRL_TEST"))
		cmocka_set_test_filter(getenv("CTRL_TEST"));
	return cmocka_run_group_tests_name("ctrl", tests, NULL, NULL);
}
