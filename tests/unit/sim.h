/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A deterministic fluid model of one destination behind a bottleneck, for
 * replaying the controllers and the breaker on synthetic signal traces.
 *
 * The application offers min(rate, demand, what the receiver reads) bytes
 * per second; the senders' TCP window, capped by the cwnd clamp sluice
 * sets, bounds what is in flight. The bottleneck serves cap_Bps; what it
 * cannot serve waits in its queue (dropped beyond buffer_bytes, if set),
 * and every packet sees the path's latency plus the queue ahead of it.
 * From that the model fills the struct dest_sample the daemon would have
 * read for the interval; the caller then sets the next rate and clamp.
 *
 * TCP is one aggregate window over the busy connections: slow start from
 * ten segments each, x0.7 at most once per RTT on a loss (as CUBIC), one
 * segment per connection per RTT after that, never above the clamp. With
 * loss_tolerant set, random loss is retransmitted without shrinking the
 * window (as BBR rides through it); queue overflow always shrinks it.
 *
 * Faults are fields the caller changes between intervals: capacity, extra
 * path latency (no queueing), random loss, CE marking, a receiver that
 * stops reading, and a blackhole. In a blackhole nothing is acknowledged:
 * each busy connection times out with exponential back-off, and connects
 * fail once the application's connect timeout expires. After the heal a
 * stalled connection resumes only when its next timeout fires, as TCP's
 * does, and that timeout still counts as one.
 *
 * Random loss comes from a fixed-seed generator: a run is the same every
 * time, so margins in the tests hold deterministically.
 */
#ifndef SLUICE_TEST_SIM_H
#define SLUICE_TEST_SIM_H

#include <stdbool.h>
#include <string.h>

#include "lib/breaker.h"
#include "lib/signals.h"
#include "sluice/rtt_hist.h"

#define SIM_INTERVAL_NS   100000000ULL /* the daemon's control interval */
#define SIM_SUBSTEPS      100          /* 1 ms steps within an interval */
#define SIM_MSS           1448
#define SIM_IW            10           /* initial window, segments */
#define SIM_CONNS_MAX     16
#define SIM_RTO_MIN_US    200000       /* Linux TCP_RTO_MIN */
#define SIM_RTO_MAX_US    120000000    /* Linux TCP_RTO_MAX */
#define SIM_PENDING_SLOTS 128          /* connect timeouts up to 12.8 s */
#define SIM_BUFFER_PKTS   1000         /* the lab's pfifo limit */

struct sim_conn {
	bool stalled;       /* waiting on a retransmission timeout */
	__u64 rto_at_ns;    /* when it fires */
	__u64 rto_us;       /* current back-off */
};

struct sim {
	/* The path and the application; change them between intervals. */
	double cap_Bps;            /* bottleneck capacity */
	__u64 base_us;             /* RTT without queueing */
	__u64 extra_us;            /* added path latency (not a queue) */
	double buffer_bytes;       /* bottleneck queue limit; 0 = unlimited */
	double demand_Bps;         /* what the application would send */
	double recv_Bps;           /* what the receiver reads; 0 = unlimited */
	double rwnd_share;         /* share of the interval senders stall on rwnd */
	double loss;               /* random loss probability per packet */
	bool loss_tolerant;        /* random loss leaves TCP's window alone (BBR) */
	double ce;                 /* share of delivered packets echoed CE */
	bool blackhole;            /* everything toward the peer is dropped */
	bool quantize_rtt;         /* report RTTs as the daemon's histogram does */
	__u64 host_us;             /* a busy host's own delays (softirqs, scheduling,
				    * many connections' ACKs), random each interval:
				    * up to twice this in the median RTT sample, up
				    * to half of it in the low percentile */
	__u32 conns;               /* long-lived busy connections */
	double connects_per_s;     /* new connections the application opens */
	__u64 connect_timeout_ns;  /* the application gives up on a SYN after */

	/* Set by the caller from the control decision, every interval. */
	double rate_Bps;
	__u32 cwnd_clamp;          /* segments in flight to the destination, 0 = none */
	bool gated;                /* breaker not closed: one connect per probe gap */

	/* Model state. */
	__u64 now_ns;              /* end of the last simulated interval */
	__u64 step;                /* intervals simulated */
	double queue;              /* bytes waiting at the bottleneck */
	double wnd;                /* TCP's window over all busy connections */
	bool slow_start;
	__u64 wnd_cut_ns;          /* last reduction, for once per RTT */
	double pkt_phase;          /* fraction of a packet delivered so far */
	double connect_credit;
	__u64 next_probe_ns;
	__u32 pending[SIM_PENDING_SLOTS]; /* connects timing out, per interval */
	struct sim_conn conn[SIM_CONNS_MAX];
	__u64 prng;

	/* What the last interval looked like from the bottleneck. */
	double qdelay_max_us;      /* the longest queueing delay in it */
	double sent_Bps;
	double delivered_Bps;
};

/*
 * Fresh connections (slow start), demand beyond reach, the lab's queue, no
 * faults and no new connects. The rate starts at rate_Bps with no clamp,
 * as a destination's first interval does.
 */
static inline void sim_init(struct sim *m, double cap_Bps, __u64 base_us, double rate_Bps)
{
	memset(m, 0, sizeof(*m));
	m->cap_Bps = cap_Bps;
	m->base_us = base_us;
	m->buffer_bytes = SIM_BUFFER_PKTS * SIM_MSS;
	m->demand_Bps = 1e13;
	m->conns = 4;
	m->connect_timeout_ns = 1000000000ULL;
	m->rate_Bps = rate_Bps;
	m->wnd = (double)m->conns * SIM_IW * SIM_MSS;
	m->slow_start = true;
	m->now_ns = 1000 * 1000000000ULL; /* well after boot: no test depends on it */
	m->prng = 0x9e3779b97f4a7c15ULL;
}

/*
 * Connections already running, their window grown and the bottleneck's
 * queue full: what a destination looks like when sluiced starts, or its
 * policy changes, in the middle of a transfer.
 */
static inline void sim_mid_transfer(struct sim *m)
{
	double bdp = m->cap_Bps * (double)(m->base_us + m->extra_us) / 1e6;

	m->queue = m->buffer_bytes;
	m->wnd = 2 * (bdp + m->buffer_bytes);
	m->slow_start = false;
}

/* xorshift64*: fixed seed, same sequence on every machine. */
static inline double sim_uniform(struct sim *m)
{
	m->prng ^= m->prng >> 12;
	m->prng ^= m->prng << 25;
	m->prng ^= m->prng >> 27;
	return (double)((m->prng * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

/* The middle of the histogram bucket the sock_ops program files it under. */
static inline __u64 sim_rtt_seen(const struct sim *m, double us)
{
	__u32 b;

	if (us < 1)
		us = 1;
	if (!m->quantize_rtt)
		return (__u64)(us + 0.5);
	b = sluice_rtt_bucket((__u64)us);
	return (sluice_rtt_bucket_low(b) + sluice_rtt_bucket_low(b + 1)) / 2;
}

/*
 * Timeouts of the long-lived connections over [t0, t1). Returns how many
 * fired, and in *resume_ns the earliest time a connection carried data
 * (t1 when none did).
 */
static inline __u64 sim_timeouts(struct sim *m, __u64 t0, __u64 t1, __u64 *resume_ns)
{
	__u64 rtos = 0;
	__u32 i;

	*resume_ns = t1;
	for (i = 0; i < m->conns && i < SIM_CONNS_MAX; i++) {
		struct sim_conn *c = &m->conn[i];
		bool was_stalled = c->stalled;

		if (m->blackhole && !c->stalled) {
			/* The last ACK came just before t0; stagger the
			 * connections by a millisecond each. */
			c->stalled = true;
			c->rto_us = SIM_RTO_MIN_US + m->base_us + m->extra_us;
			c->rto_at_ns = t0 + c->rto_us * 1000 + i * 1000000ULL;
		}
		while (c->stalled && c->rto_at_ns < t1) {
			rtos++;
			/* After a timeout TCP starts over from one segment. */
			m->wnd = (double)m->conns * SIM_MSS;
			m->slow_start = true;
			if (!m->blackhole) {
				/* the retransmission gets through */
				c->stalled = false;
				if (c->rto_at_ns < *resume_ns)
					*resume_ns = c->rto_at_ns;
				break;
			}
			c->rto_us = c->rto_us * 2 < SIM_RTO_MAX_US ? c->rto_us * 2 : SIM_RTO_MAX_US;
			c->rto_at_ns += c->rto_us * 1000;
		}
		if (!was_stalled && !c->stalled)
			*resume_ns = t0;
	}
	return rtos;
}

/*
 * New connections over [t0, t1): attempts spread evenly over the interval;
 * while gated, one per probe gap goes out and the rest are refused before
 * any SYN (not counted: the connect hook refuses them). In a blackhole a
 * SYN's failure is seen when the application's timeout expires; if the
 * path healed by then, the SYN's retransmission got through.
 */
static inline void sim_connects(struct sim *m, __u64 t0, struct dest_sample *s)
{
	__u64 due = m->connect_timeout_ns / SIM_INTERVAL_NS;
	__u32 n, i, *slot = &m->pending[m->step % SIM_PENDING_SLOTS];

	if (*slot) {
		if (m->blackhole)
			s->connect_fails += *slot;
		else
			s->conns_opened += *slot;
		*slot = 0;
	}
	m->connect_credit += m->connects_per_s * SIM_INTERVAL_NS / 1e9;
	n = (__u32)m->connect_credit;
	m->connect_credit -= n;
	for (i = 0; i < n; i++) {
		__u64 at = t0 + (2 * i + 1) * SIM_INTERVAL_NS / (2 * n);

		if (m->gated) {
			if (at < m->next_probe_ns)
				continue;
			m->next_probe_ns = at + BREAKER_PROBE_GAP_NS;
		}
		s->connects++;
		if (!m->blackhole)
			s->conns_opened++;
		else
			m->pending[(m->step + (due ? due : 1)) % SIM_PENDING_SLOTS]++;
	}
}

/* The p-quantile of the queue over an interval, weighted by deliveries. */
static inline double sim_queue_quantile(const double *q, const double *w, double total,
					double p)
{
	double seen = 0, at = 0;
	int i, j, k, order[SIM_SUBSTEPS];

	for (i = 0; i < SIM_SUBSTEPS; i++)
		order[i] = i;
	for (i = 1; i < SIM_SUBSTEPS; i++) {
		k = order[i];
		for (j = i; j > 0 && q[order[j - 1]] > q[k]; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	for (i = 0; i < SIM_SUBSTEPS; i++) {
		if (w[order[i]] <= 0)
			continue;
		at = q[order[i]];
		seen += w[order[i]];
		if (seen > p * total)
			break;
	}
	return at;
}

/* Packets among the next `bytes` delivered, and how many of them were lost. */
static inline __u64 sim_lost(struct sim *m, double bytes, __u64 *pkts)
{
	__u64 n, lost = 0, i;

	m->pkt_phase += bytes / SIM_MSS;
	n = (__u64)m->pkt_phase;
	m->pkt_phase -= (double)n;
	*pkts += n;
	if (m->loss > 0)
		for (i = 0; i < n; i++)
			lost += sim_uniform(m) < m->loss;
	return lost;
}

/*
 * Simulate the next interval at m->rate_Bps and m->cwnd_clamp and fill
 * its sample. The interval is walked in 1 ms steps, shorter than an RTT,
 * so a window limit and a queue that fills and drains within the interval
 * both show.
 */
static inline void sim_step(struct sim *m, struct dest_sample *s)
{
	const double T = SIM_INTERVAL_NS / 1e9, dt = T / SIM_SUBSTEPS;
	__u64 t0 = m->now_ns, t1 = t0 + SIM_INTERVAL_NS, resume_ns, pkts = 0, lost = 0;
	double path_s = (double)(m->base_us + m->extra_us) / 1e6;
	double qs[SIM_SUBSTEPS], ws[SIM_SUBSTEPS];
	double offered, clamp_wnd = 0, q = m->queue, sent = 0, delivered = 0, dropped = 0;
	__u32 busy = 0, i;
	int k;

	memset(s, 0, sizeof(*s));
	s->interval_ns = SIM_INTERVAL_NS;
	s->rtos = sim_timeouts(m, t0, t1, &resume_ns);
	s->retrans = s->rtos; /* each timeout resends a segment */
	sim_connects(m, t0, s);
	for (i = 0; i < m->conns && i < SIM_CONNS_MAX; i++)
		busy += !m->conn[i].stalled;

	offered = m->rate_Bps < m->demand_Bps ? m->rate_Bps : m->demand_Bps;
	if (m->recv_Bps && m->recv_Bps < offered)
		offered = m->recv_Bps;
	if (m->cwnd_clamp)
		/* the destination's window, shared out at least 2 a connection */
		clamp_wnd = (double)(m->cwnd_clamp > 2 * (busy ? busy : 1) ?
				     m->cwnd_clamp : 2 * (busy ? busy : 1)) * SIM_MSS;
	if (m->blackhole)
		q = 0; /* what was queued dies past the bottleneck */
	m->qdelay_max_us = q / m->cap_Bps * 1e6;
	for (k = 0; k < SIM_SUBSTEPS; k++) {
		__u64 tk = t0 + (__u64)k * SIM_INTERVAL_NS / SIM_SUBSTEPS;
		double rtt = path_s + q / m->cap_Bps, in = 0, out, drop = 0, q_before = q;
		__u64 lost_now;
		bool wnd_limited = false;

		if (clamp_wnd && m->wnd > clamp_wnd)
			m->wnd = clamp_wnd; /* snd_cwnd never exceeds the clamp */
		if (!m->blackhole && tk >= resume_ns) {
			in = offered;
			if (m->wnd / rtt <= in) {
				in = m->wnd / rtt;
				wnd_limited = true;
			}
		}
		in *= dt;
		out = q + in < m->cap_Bps * dt ? q + in : m->cap_Bps * dt;
		q += in - out;
		if (m->buffer_bytes && q > m->buffer_bytes) {
			drop = q - m->buffer_bytes;
			q = m->buffer_bytes;
		}
		lost_now = sim_lost(m, out, &pkts);
		lost += lost_now;
		if ((drop > 0 || (lost_now && !m->loss_tolerant)) &&
		    tk - m->wnd_cut_ns >= rtt * 1e9) {
			m->wnd *= 0.7;
			m->slow_start = false;
			m->wnd_cut_ns = tk;
		} else if (wnd_limited) {
			m->wnd += m->slow_start ? out : busy * SIM_MSS * out / m->wnd;
		}
		sent += in;
		delivered += out;
		dropped += drop;
		qs[k] = q_before;
		ws[k] = out;
		if (q / m->cap_Bps * 1e6 > m->qdelay_max_us)
			m->qdelay_max_us = q / m->cap_Bps * 1e6;
	}
	m->queue = q;
	m->sent_Bps = sent / T;
	m->delivered_Bps = delivered / T;

	s->bytes_acked = (__u64)delivered;
	s->delivered_Bps = (__u64)m->delivered_Bps;
	s->delivered_pkts = pkts;
	if (pkts) {
		double q10 = sim_queue_quantile(qs, ws, delivered, 0.1);
		double q50 = sim_queue_quantile(qs, ws, delivered, 0.5);

		s->rtt_samples = pkts / 2 + 1; /* delayed ACKs */
		double host10 = 0, host50 = 0;

		if (m->host_us) {
			host10 = sim_uniform(m) * m->host_us / 2;
			host50 = sim_uniform(m) * m->host_us * 2;
			host50 = host50 > host10 ? host50 : host10;
		}
		s->rtt_p10_us = sim_rtt_seen(m, (path_s + q10 / m->cap_Bps) * 1e6 + host10);
		s->rtt_p50_us = sim_rtt_seen(m, (path_s + q50 / m->cap_Bps) * 1e6 + host50);
		s->rtt_mean_us = s->rtt_p50_us;
		s->retrans += (__u64)(dropped / SIM_MSS + 0.5) + lost;
		s->delivered_ce = (__u64)(pkts * m->ce + 0.5);
	}
	s->conns_active = m->conns;
	s->conns_busy = pkts ? (busy ? busy : 1) : 0;
	s->conns_bulk = s->conns_busy; /* what the sim sends is bulk */
	if (m->rwnd_share > 0)
		s->rwnd_limited_us = (__u64)(m->rwnd_share * T * 1e6 *
					     (s->conns_busy ? s->conns_busy : 1));
	s->active = s->rtt_samples || s->connects || s->connect_fails || s->retrans ||
		    s->rtos || s->conns_active;
	m->now_ns = t1;
	m->step++;
}

#endif
