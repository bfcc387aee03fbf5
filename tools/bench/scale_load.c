// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * scale_load: the load and the probes of the scale benchmark
 * (tools/bench/case_scale.sh). Destinations are addresses of one IPv6
 * prefix that the lab's server namespace owns through a local route, so
 * each address is a host of its own, and a socket bound to [::]:PORT there
 * answers every one of them.
 *
 *   scale_load scan PREFIX -n N [-o OFF] [-r RATE] [-j JOBS] [-p PORT] [-t SECONDS]
 *       N non-blocking connects to N distinct addresses (nothing listens:
 *       each is refused with a RST), at RATE per second (0: as fast as it
 *       can), each socket closed a few thousand connects later; JOBS
 *       processes share the range and the rate.
 *   scale_load flows PREFIX -n M [-o OFF] [-p PORT] [-i MS] -t SECONDS
 *       M TCP connections to M distinct addresses; each sends a 64-byte
 *       request every MS milliseconds (default 50) and reads the reply.
 *   scale_load serve [-p PORT] [-n CONNS] [-t SECONDS]
 *       the server of flows: accepts on [::]:PORT, echoes what it reads
 *       (descriptors for CONNS connections, default 262144, or as many
 *       as the hard limit allows).
 *   scale_load watch PIN_DIR [-I MS] [-q US] [-t SECONDS] [-O RAW] [-M LOG]
 *       polls sluiced's lease (sluice_config) every US microseconds and
 *       derives each tick's start, its wall time, the gaps between ticks
 *       and the lease left when it was renewed; with -M, appends a marker
 *       line to sluiced's log at each change it sees.
 *   scale_load count MAP_PIN
 *       the entries of a pinned hash map.
 *
 * Address i of a run is PREFIX + OFF + i + 1 in the low 64 bits. Every mode
 * that makes traffic ends by itself: after its count, or after SECONDS.
 * Results are "mode: key value ..." lines on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "sluice/abi.h"

#define DEFAULT_PORT   7777
#define SCAN_RING      4096     /* sockets a scan keeps open at once */
#define REQ_BYTES      64
#define CONNECT_BURST  256      /* connects of flows in flight at once */
#define CONNECT_TRIES  3
#define COUNT_BATCH    4096
#define LEASE_INTERVALS 5       /* as sluiced: 5 intervals, at least 1 s */
#define LEASE_MIN_NS   1000000000ULL

struct opts {
	const char *prefix;
	unsigned long n, offset, rate, jobs;
	unsigned int port, period_ms, interval_ms, poll_us;
	double seconds;
	const char *raw, *marks;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ULL),
			       .tv_nsec = (long)(t % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

static void fail(const char *what)
{
	fprintf(stderr, "scale_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Descriptors for `need` sockets, up to the hard limit: the soft one is
 * far below what 10^4 connections hold open. Raising the hard limit needs
 * CAP_SYS_RESOURCE, which a bench host may not grant; a run that needs
 * more says so, rather than failing at the socket past the limit.
 */
static void want_fds(unsigned long need, bool must)
{
	struct rlimit r;

	need += 64;
	if (getrlimit(RLIMIT_NOFILE, &r))
		fail("getrlimit");
	if (r.rlim_cur >= need)
		return;
	r.rlim_cur = need;
	if (r.rlim_max < need) {
		r.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &r)) {
			if (getrlimit(RLIMIT_NOFILE, &r))
				fail("getrlimit");
			r.rlim_cur = r.rlim_max;
		}
	}
	if (setrlimit(RLIMIT_NOFILE, &r))
		fail("setrlimit RLIMIT_NOFILE");
	if (must && r.rlim_cur < need) {
		fprintf(stderr, "scale_load: needs %lu descriptors, the hard limit is %llu "
			"(raising it needs CAP_SYS_RESOURCE)\n", need, (unsigned long long)r.rlim_cur);
		exit(1);
	}
}

/* PREFIX, with or without "/64": the first 64 bits are kept. */
static struct in6_addr prefix_of(const char *s)
{
	char buf[INET6_ADDRSTRLEN + 4];
	struct in6_addr a;
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1) {
		fprintf(stderr, "scale_load: invalid IPv6 prefix '%s'\n", s);
		exit(2);
	}
	memset(&a.s6_addr[8], 0, 8);
	return a;
}

static struct sockaddr_in6 dest_addr(const struct in6_addr *prefix, uint64_t host,
				     unsigned int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = *prefix };
	int i;

	for (i = 15; i >= 8; i--, host >>= 8)
		sa.sin6_addr.s6_addr[i] = (uint8_t)host;
	return sa;
}

/* ---- scan --------------------------------------------------------------- */

struct scan_stats {
	unsigned long done, refused, pending, other;
	double secs;
};

/* Close a scan socket, counting how its connect ended. */
static void scan_close(int fd, struct scan_stats *st)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err == ECONNREFUSED)
		st->refused++;
	else if (err == 0)
		st->pending++;  /* no answer yet: closed while in SYN_SENT */
	else
		st->other++;
	close(fd);
}

/* Connects to hosts first+1 .. first+n at `rate` per second (0: at once). */
static void scan_range(const struct opts *o, uint64_t first, unsigned long n, double rate,
		       uint64_t t0, struct scan_stats *st)
{
	struct in6_addr prefix = prefix_of(o->prefix);
	uint64_t deadline, t = 0;
	unsigned long i, slot;
	static int ring[SCAN_RING];

	for (slot = 0; slot < SCAN_RING; slot++)
		ring[slot] = -1;
	deadline = o->seconds > 0 ? t0 + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
	for (i = 0; i < n && !stop; i++) {
		struct sockaddr_in6 sa = dest_addr(&prefix, first + i + 1, o->port);
		int fd;

		/* Paced by the clock, not by sleeps per connect: a sleep is
		 * taken only when the schedule is 200 us ahead, so the rate
		 * holds without a syscall per connect. */
		if (rate > 0) {
			uint64_t due = t0 + (uint64_t)((double)i * 1e9 / rate);

			if (!(i & 63) || due > t + 200000) {
				t = now_ns();
				if (due > t + 200000)
					sleep_until(due);
			}
		}
		if (!(i & 1023) && now_ns() > deadline)
			break;
		slot = i % SCAN_RING;
		if (ring[slot] >= 0)
			scan_close(ring[slot], st);
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			fail("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS &&
		    errno != ECONNREFUSED) {
			st->other++;
			close(fd);
			ring[slot] = -1;
			continue;
		}
		ring[slot] = fd;
		st->done++;
	}
	st->secs = (double)(now_ns() - t0) / 1e9;
	/* The last connects get the time an answer takes before they close. */
	sleep_until(now_ns() + 100000000ULL);
	for (slot = 0; slot < SCAN_RING; slot++)
		if (ring[slot] >= 0)
			scan_close(ring[slot], st);
}

/*
 * One process makes 40-50k connects a second here: each connect carries
 * its SYN, the router's forwarding and the server's RST through the
 * softirqs of the connecting CPU. -j splits the range and the rate over
 * that many processes, to reach 10^5 a second on more than one core.
 */
static int do_scan(const struct opts *o)
{
	unsigned long j, jobs = o->jobs ? o->jobs : 1;
	struct scan_stats st = {}, one;
	uint64_t t0;
	int fds[2];

	want_fds(SCAN_RING, true);
	if (pipe(fds))
		fail("pipe");
	t0 = now_ns();
	for (j = 0; j < jobs; j++) {
		unsigned long lo = o->n * j / jobs, hi = o->n * (j + 1) / jobs;
		pid_t pid = jobs == 1 ? 0 : fork();

		if (pid < 0)
			fail("fork");
		if (pid > 0)
			continue;
		memset(&one, 0, sizeof(one));
		scan_range(o, o->offset + lo, hi - lo, (double)o->rate / (double)jobs, t0, &one);
		if (jobs == 1) {
			st = one;
			break;
		}
		if (write(fds[1], &one, sizeof(one)) != (ssize_t)sizeof(one))
			_exit(1);
		_exit(0);
	}
	for (j = 0; jobs > 1 && j < jobs; j++) {
		if (read(fds[0], &one, sizeof(one)) != (ssize_t)sizeof(one))
			fail("a scan worker ended without its figures");
		st.done += one.done;
		st.refused += one.refused;
		st.pending += one.pending;
		st.other += one.other;
		if (one.secs > st.secs)
			st.secs = one.secs;
	}
	while (jobs > 1 && wait(NULL) > 0)
		;
	printf("scan: connects %lu seconds %.3f rate %.0f asked %lu jobs %lu refused %lu "
	       "pending %lu failed %lu\n", st.done, st.secs,
	       st.secs > 0 ? (double)st.done / st.secs : 0.0, o->rate, jobs, st.refused,
	       st.pending, st.other);
	return 0;
}

/* ---- flows and serve ---------------------------------------------------- */

enum conn_state { C_IDLE, C_CONNECTING, C_UP, C_DEAD };

struct conn {
	int fd;
	uint8_t state, tries;
	bool waiting;           /* a request is out, its reply not yet read */
	uint16_t got;           /* bytes of the current reply read */
	uint32_t replies;
};

static int epoll_add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void conn_start(struct conn *c, int ep, const struct in6_addr *prefix, uint64_t host,
		       unsigned int port, unsigned long idx)
{
	struct sockaddr_in6 sa = dest_addr(prefix, host, port);
	int one = 1;

	c->tries++;
	c->fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket");
	/* Requests are small and each waits for its reply: no Nagle delay. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->state = C_IDLE;
		return;
	}
	c->state = C_CONNECTING;
	if (epoll_add(ep, c->fd, EPOLLOUT, idx))
		fail("epoll_ctl");
}

/* A connect finished: up, or back to idle for another try. */
static bool conn_connected(struct conn *c, int ep, unsigned long idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = idx };
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		close(c->fd);
		c->fd = -1;
		c->state = c->tries < CONNECT_TRIES ? C_IDLE : C_DEAD;
		return false;
	}
	c->state = C_UP;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
		fail("epoll_ctl");
	return true;
}

static void conn_read(struct conn *c, unsigned long *dead)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		c->state = C_DEAD;
		(*dead)++;
		return;
	}
	c->got += (uint16_t)n;
	while (c->got >= REQ_BYTES) {
		c->got -= REQ_BYTES;
		c->waiting = false;
		c->replies++;
	}
}

static int do_flows(const struct opts *o)
{
	struct in6_addr prefix = prefix_of(o->prefix);
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(o->seconds * 1e9), t_up, t;
	uint64_t period = (uint64_t)o->period_ms * 1000000ULL, sent = 0, due, late = 0;
	unsigned long m = o->n, i, next = 0, inflight = 0, up = 0, dead = 0, min_replies;
	struct epoll_event evs[1024];
	char req[REQ_BYTES];
	struct conn *cs;
	int ep, n, k;

	if (!m || o->seconds <= 0 || !period) {
		fprintf(stderr, "scale_load flows: needs -n, -t and -i above 0\n");
		return 2;
	}
	want_fds(m, true);
	cs = calloc(m, sizeof(*cs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0)
		fail("setup");
	memset(req, 'q', sizeof(req));
	for (i = 0; i < m; i++)
		cs[i].fd = -1;

	/* Connect in bursts: a SYN the server's backlog drops costs a
	 * second's retransmission, and so would 10^4 at once. */
	while (up + dead < m && !stop && now_ns() < deadline) {
		while (inflight < CONNECT_BURST && next < m) {
			struct conn *c = &cs[next];

			if (c->state != C_IDLE) {
				next++;
				continue;
			}
			conn_start(c, ep, &prefix, o->offset + next + 1, o->port, next);
			if (c->state == C_CONNECTING) {
				inflight++;
				next++;
			} else if (c->tries >= CONNECT_TRIES) {
				c->state = C_DEAD;
				dead++;
				next++;
			} /* else it failed at once: tried again on the next turn */
		}
		n = epoll_wait(ep, evs, 1024, 100);
		for (k = 0; k < n; k++) {
			i = evs[k].data.u64;
			if (cs[i].state != C_CONNECTING)
				continue;
			inflight--;
			if (conn_connected(&cs[i], ep, i)) {
				up++;
			} else if (cs[i].state == C_DEAD) {
				dead++;
			} else if (i < next) {
				next = i; /* retry it */
			}
		}
	}
	t_up = now_ns();
	printf("flows: established %lu of %lu in %.3f s\n", up, m, (double)(t_up - t0) / 1e9);
	fflush(stdout);

	/* Connection i sends at t_up + (i + k * m) * period / m: the requests
	 * of all connections spread evenly over each period. A connection
	 * whose last reply has not come yet skips its turn (counted late). */
	while (!stop && (t = now_ns()) < deadline) {
		due = (t - t_up) * m / period + 1;
		while (sent < due) {
			struct conn *c = &cs[sent % m];

			sent++;
			if (c->state != C_UP)
				continue;
			if (c->waiting) {
				late++;
				continue;
			}
			if (write(c->fd, req, sizeof(req)) == (ssize_t)sizeof(req))
				c->waiting = true;
			else
				late++;
		}
		n = epoll_wait(ep, evs, 1024, 1);
		for (k = 0; k < n; k++) {
			i = evs[k].data.u64;
			if (cs[i].state == C_UP) {
				conn_read(&cs[i], &dead);
			} else if (cs[i].state == C_CONNECTING) {
				/* a connect the deadline of the first phase left */
				inflight--;
				if (conn_connected(&cs[i], ep, i))
					up++;
			}
		}
	}
	min_replies = UINT32_MAX;
	for (i = 0; i < m; i++) {
		if (cs[i].state == C_UP && cs[i].replies < min_replies)
			min_replies = cs[i].replies;
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	}
	printf("flows: seconds %.3f connections %lu requests %llu late %llu "
	       "min_replies_per_conn %lu closed_early %lu\n", (double)(now_ns() - t_up) / 1e9,
	       up, (unsigned long long)(sent - late), (unsigned long long)late,
	       min_replies == UINT32_MAX ? 0 : min_replies, dead);
	return up == m ? 0 : 1;
}

static int do_serve(const struct opts *o)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(o->port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	uint64_t deadline = o->seconds > 0 ? now_ns() + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
	unsigned long accepted = 0;
	struct epoll_event evs[1024];
	int one = 1, ls, ep, n, k, fd;
	char buf[4096];

	want_fds(o->n ? o->n : 262144, false);
	ls = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ls < 0 || ep < 0)
		fail("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The wildcard address takes connections to every address of a prefix
	 * routed locally: no IPV6_FREEBIND or IP_TRANSPARENT needed. */
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)))
		fail("bind");
	if (listen(ls, 65535))
		fail("listen");
	if (epoll_add(ep, ls, EPOLLIN, (uint64_t)-1))
		fail("epoll_ctl");
	printf("serve: listening on [::]:%u\n", o->port);
	fflush(stdout);
	while (!stop && now_ns() < deadline) {
		n = epoll_wait(ep, evs, 1024, 100);
		for (k = 0; k < n; k++) {
			if (evs[k].data.u64 == (uint64_t)-1) {
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					if (epoll_add(ep, fd, EPOLLIN, (uint64_t)fd))
						close(fd);
					else
						accepted++;
				}
				continue;
			}
			fd = (int)evs[k].data.u64;
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r > 0) {
				if (write(fd, buf, (size_t)r) != r)
					close(fd); /* a client that stopped reading */
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fd); /* closing also removes it from epoll */
			}
		}
	}
	printf("serve: accepted %lu\n", accepted);
	return 0;
}

/* ---- watch: the lease seen from outside ------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *sorted, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return n ? sorted[i] : 0;
}

/* What one poll of the watcher saw change. */
struct watch_ev {
	uint64_t start, seen;   /* tick start from the lease; when we saw it */
	int64_t margin;         /* lease left when it was renewed */
	bool renewal, gen;      /* lease renewed; read generation moved */
	bool tick;              /* the start of a tick (or its end's renewal) */
};

/* One line, one write: O_APPEND keeps it whole beside sluiced's own. */
static void watch_mark(int fd, const struct watch_ev *e)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "scale_load watch:%s%s %llu\n",
			 e->renewal ? " renewal" : "", e->gen ? " generation" : "",
			 (unsigned long long)e->start);

	if (write(fd, line, (size_t)n) != n)
		fail("write a marker");
}

/* The last word of sluice_config: signal_gen, which sluiced moves at the
 * start of every tick, in layouts that have it; 0 (reserved) before. */
static uint64_t config_gen(const struct sluice_config *cfg)
{
	uint64_t gen;

	_Static_assert(sizeof(*cfg) == 64, "sluice_config layout");
	memcpy(&gen, (const char *)cfg + sizeof(*cfg) - sizeof(gen), sizeof(gen));
	return gen;
}

/*
 * sluiced renews its lease to a tick's start plus the lease length, so
 * each new lease_expires_ns dates the start of the tick that wrote it. A
 * sluiced that renews at the end of each tick (no read generation in its
 * config) makes each of those renewals one tick, and the first poll that
 * sees it bounds the tick's end: wall times to within one poll period
 * (-q); the renewals a long tick makes as it goes are told apart after
 * the fact (below). One
 * with a read generation renews at a tick's start (and within a long
 * tick): its ticks are the generation's moves, and their ends cannot be
 * seen from here (wall n/a; its own summary line has them). Either way the
 * lease left at a renewal is what the previous one still had then.
 *
 * The markers (-M) go into sluiced's own log, appended as it appends: a
 * daemon writes a tick's lines before it renews at the tick's end, so
 * everything before a renewal's marker belongs to that tick or an earlier
 * one, and the debug lines between two markers are one tick's, with no
 * clock to compare. A generation's marker follows its tick's start within
 * a poll period: before the tick's first line whenever reading the table
 * takes longer than that.
 */
static int do_watch(const char *pin_dir, const struct opts *o)
{
	uint64_t interval = (uint64_t)o->interval_ms * 1000000ULL, lease, t0, deadline, t;
	uint64_t last_exp = 0, last_gen = 0, poll = (uint64_t)o->poll_us * 1000ULL;
	uint64_t lapsed_ns = 0, gap_max = 0, prev_start = 0, later, *walls;
	int64_t margin_min = INT64_MAX;
	size_t n = 0, cap = 0, i, nt = 0, nw = 0, overruns = 0, lapses = 0, gens = 0;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	struct watch_ev *ev = NULL;
	struct sluice_config cfg;
	bool in_lapse = false, first = true, by_gen;
	char path[4096], margin[32] = "n/a", p50[32] = "n/a", p99[32] = "n/a", mx[32] = "n/a";
	FILE *raw = NULL;
	int fd, mfd = -1;

	lease = interval * LEASE_INTERVALS > LEASE_MIN_NS ? interval * LEASE_INTERVALS : LEASE_MIN_NS;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, SLUICE_MAP_CONFIG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail(path);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("map info");
	if (info.value_size != sizeof(cfg)) {
		fprintf(stderr, "scale_load: %s holds %u-byte values, this build knows %zu\n",
			path, info.value_size, sizeof(cfg));
		return 1;
	}
	if (o->raw && !(raw = fopen(o->raw, "w")))
		fail(o->raw);
	if (o->marks && (mfd = open(o->marks, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		fail(o->marks);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->seconds * 1e9);
	for (t = t0; !stop && t < deadline; t += poll) {
		sleep_until(t);
		uint64_t seen = now_ns(), gen;

		if (bpf_map_lookup_elem(fd, &zero, &cfg))
			fail("read sluice_config");
		gen = config_gen(&cfg);
		if (cfg.lease_expires_ns && seen > cfg.lease_expires_ns) {
			if (!in_lapse)
				lapses++;
			in_lapse = true;
			lapsed_ns += poll;
		}
		/* The first reading was written before we looked: it only sets
		 * where the next change counts from. */
		if (first) {
			first = false;
			last_exp = cfg.lease_expires_ns;
			last_gen = gen;
			continue;
		}
		if (cfg.lease_expires_ns == last_exp && gen == last_gen)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ev = realloc(ev, cap * sizeof(*ev));
			if (!ev)
				fail("realloc");
		}
		ev[n] = (struct watch_ev){ .start = cfg.lease_expires_ns - lease, .seen = seen,
					   .margin = (int64_t)last_exp - (int64_t)seen,
					   .renewal = cfg.lease_expires_ns != last_exp,
					   .gen = gen != last_gen };
		if (ev[n].renewal && last_exp && ev[n].margin < margin_min)
			margin_min = ev[n].margin;
		gens += ev[n].gen;
		if (mfd >= 0)
			watch_mark(mfd, &ev[n]);
		in_lapse = in_lapse && !ev[n].renewal;
		last_exp = cfg.lease_expires_ns;
		last_gen = gen;
		n++;
	}
	by_gen = gens > 0;
	walls = calloc(n + 1, sizeof(*walls));
	if (!walls)
		fail("calloc");
	/* Without a generation, a tick is a renewal that no later one dates
	 * earlier: a tick that runs past an interval may renew as it goes
	 * (its start plus the time it has run), and then once more from its
	 * own start at its end, which is the one that counts. */
	for (i = n, later = UINT64_MAX; i-- > 0;) {
		ev[i].tick = by_gen ? ev[i].gen : ev[i].renewal && ev[i].start <= later;
		if (ev[i].renewal && ev[i].start < later)
			later = ev[i].start;
	}
	if (raw)
		fprintf(raw, "kind\ttick_start_ns\tseen_ns\twall_us\tgap_us\tmargin_us\n");
	for (i = 0; i < n; i++) {
		bool tick = ev[i].tick;
		uint64_t gap = tick && prev_start && ev[i].start > prev_start ?
			       ev[i].start - prev_start : 0;

		if (tick) {
			nt++;
			if (!by_gen)
				walls[nw++] = ev[i].seen - ev[i].start;
			if (gap > gap_max)
				gap_max = gap;
			if (gap > interval + interval / 2)
				overruns++;
			prev_start = ev[i].start;
		}
		if (raw)
			fprintf(raw, "%s\t%llu\t%llu\t%lld\t%llu\t%lld\n", tick ? "tick" : "renewal",
				(unsigned long long)ev[i].start, (unsigned long long)ev[i].seen,
				by_gen ? -1LL : (long long)((ev[i].seen - ev[i].start) / 1000),
				(unsigned long long)gap / 1000,
				ev[i].renewal ? (long long)ev[i].margin / 1000 : 0LL);
	}
	if (raw)
		fclose(raw);
	if (mfd >= 0)
		close(mfd);
	qsort(walls, nw, sizeof(*walls), cmp_u64);
	if (margin_min != INT64_MAX) /* negative: the lease had lapsed when renewed */
		snprintf(margin, sizeof(margin), "%lld", (long long)(margin_min / 1000000));
	if (nw) {
		snprintf(p50, sizeof(p50), "%llu", (unsigned long long)pct(walls, nw, 0.5) / 1000);
		snprintf(p99, sizeof(p99), "%llu", (unsigned long long)pct(walls, nw, 0.99) / 1000);
		snprintf(mx, sizeof(mx), "%llu", (unsigned long long)walls[nw - 1] / 1000);
	}
	printf("watch: seconds %.3f ticks %zu ticks_from %s wall_p50_us %s wall_p99_us %s "
	       "wall_max_us %s gap_max_us %llu overruns %zu margin_min_ms %s lapses %zu "
	       "lapsed_ms %llu resolution_us %u\n",
	       (double)(now_ns() - t0) / 1e9, nt, by_gen ? "generation" : "lease", p50, p99, mx,
	       (unsigned long long)gap_max / 1000, overruns, margin, lapses,
	       (unsigned long long)lapsed_ns / 1000000, o->poll_us);
	free(walls);
	free(ev);
	return 0;
}

/* ---- count ---------------------------------------------------- */

static int do_count(const char *pin)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), n;
	unsigned long long total = 0;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	void *keys, *vals, *cursor;
	int fd = bpf_obj_get(pin), err;

	if (fd < 0)
		fail(pin);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("map info");
	keys = malloc((size_t)COUNT_BATCH * info.key_size);
	vals = malloc((size_t)COUNT_BATCH * info.value_size);
	cursor = malloc(info.key_size);
	if (!keys || !vals || !cursor)
		fail("malloc");
	/* In batches: one syscall per COUNT_BATCH entries, where get_next_key
	 * would take one per entry of a table of 10^6. The kernel reads the
	 * cursor before it writes the next one, so one buffer serves both. */
	for (;;) {
		n = COUNT_BATCH;
		err = bpf_map_lookup_batch(fd, total ? cursor : NULL, cursor, keys, vals, &n, &opts);
		if (err && errno != ENOENT)
			fail("lookup batch");
		total += n;
		if (err || !n)
			break;
	}
	printf("count: entries %llu max %u\n", total, info.max_entries);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: scale_load scan PREFIX -n N [-o OFF] [-r RATE] [-j JOBS] [-p PORT] [-t SECONDS]\n"
		"       scale_load flows PREFIX -n M [-o OFF] [-p PORT] [-i MS] -t SECONDS\n"
		"       scale_load serve [-p PORT] [-n CONNS] [-t SECONDS]\n"
		"       scale_load watch PIN_DIR [-I MS] [-q US] [-t SECONDS] [-O RAW] [-M LOG]\n"
		"       scale_load count MAP_PIN\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .port = DEFAULT_PORT, .period_ms = 50, .interval_ms = 100,
			  .poll_us = 500, .seconds = 0 };
	const char *mode, *arg = NULL;
	int opt;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	argc--, argv++;
	if (argc > 1 && argv[1][0] != '-') {
		arg = argv[1];
		argc--, argv++;
	}
	while ((opt = getopt(argc, argv, "n:o:r:p:t:i:I:q:O:M:j:h")) != -1) {
		switch (opt) {
		case 'n': o.n = strtoul(optarg, NULL, 0); break;
		case 'o': o.offset = strtoul(optarg, NULL, 0); break;
		case 'r': o.rate = strtoul(optarg, NULL, 0); break;
		case 'p': o.port = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 't': o.seconds = strtod(optarg, NULL); break;
		case 'i': o.period_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'I': o.interval_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'q': o.poll_us = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'O': o.raw = optarg; break;
		case 'M': o.marks = optarg; break;
		case 'j': o.jobs = strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	o.prefix = arg;
	if (!strcmp(mode, "scan") && arg)
		return do_scan(&o);
	if (!strcmp(mode, "flows") && arg)
		return do_flows(&o);
	if (!strcmp(mode, "serve"))
		return do_serve(&o);
	if (!strcmp(mode, "watch") && arg && o.poll_us && o.interval_ms)
		return do_watch(arg, &o);
	if (!strcmp(mode, "count") && arg)
		return do_count(arg);
	usage(stderr);
	return 2;
}
