// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * delayline: a wire of fixed length between two interfaces, for the lab.
 *
 *   delayline [-d DELAY] [-D DELAY] [-r MBIT] [-n FRAMES] [-t TICK] [-p PIDFILE] IF_A IF_B
 *
 * Every frame that arrives on IF_A leaves on IF_B DELAY later (-d), and
 * every frame from IF_B leaves on IF_A after the other delay (-D, the same
 * as -d unless given): the round trip through it is their sum. All
 * ethertypes pass (ARP and neighbour discovery too), in order: the delay
 * is constant, so one FIFO per direction stays sorted by departure time.
 *
 * Frames are read and written with AF_PACKET sockets, in batches
 * (recvmmsg/sendmmsg). Each frame's arrival is the kernel's receive
 * timestamp, so a frame that waits in the socket for the next wakeup
 * still leaves at arrival + DELAY. Wakeups are at most one per TICK
 * (default 100 us), which bounds the cost per second whatever the packet
 * rate; a frame leaves between TICK/2 early and about TICK late.
 *
 * The FIFO is bounded: it holds what arrives during one delay at MBIT
 * (default 4000) in full-sized frames, plus 256 for bursts, or -n FRAMES.
 * A frame that finds it full is dropped and counted, as is one the socket
 * dropped because this process fell behind. A frame that leaves more than
 * 1 ms after its time is counted as late ("read late" if it was still in
 * the socket then, i.e. this process did not run in time). SIGUSR1 prints
 * the counters; SIGTERM, SIGINT or SIGHUP prints them and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define BATCH		64
#define LATE_NS		1000000LL	/* a frame this late is counted as late */
#define BUF_BYTES	(4 << 20)	/* socket buffers: ~25 ms at 1 Gbit/s */
#define CTL_BYTES	CMSG_SPACE(sizeof(struct timespec))

struct fifo {
	unsigned char *data;	/* cap slots of slot bytes */
	int64_t *due;		/* departure, CLOCK_MONOTONIC ns */
	uint32_t *len;		/* 0: a slot whose frame was dropped */
	uint32_t cap, slot, head, count;
};

struct counters {
	uint64_t in, out, overflow, sock_drops, oversize, tx_errors, tx_busy, late, read_late;
	int64_t max_late_ns;
};

/* One direction: frames read from rx_fd leave on tx_fd. */
struct dir {
	char name[2 * IF_NAMESIZE + 4];
	int rx_fd, tx_fd;
	int64_t delay_ns, last_due;
	struct fifo q;
	struct counters c;
};

/* Per batch: headers, buffers of the frames and their timestamps. */
struct batch {
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint32_t slot[BATCH];
	unsigned char ctl[BATCH][CTL_BYTES];
};

static struct batch bt;
static unsigned char *scratch;	/* where frames go that find the FIFO full */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "10ms", "250us", "0.5s", "5" (milliseconds): nanoseconds, or -1. */
static int64_t parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "ms"))
		return (int64_t)(v * 1e6);
	if (!strcmp(end, "us"))
		return (int64_t)(v * 1e3);
	if (!strcmp(end, "s"))
		return (int64_t)(v * 1e9);
	return -1;
}

static int fifo_init(struct fifo *q, uint32_t cap, uint32_t slot)
{
	q->cap = cap;
	q->slot = slot;
	q->head = q->count = 0;
	q->data = malloc((size_t)cap * slot);
	q->due = calloc(cap, sizeof(*q->due));
	q->len = calloc(cap, sizeof(*q->len));
	if (!q->data || !q->due || !q->len)
		return -ENOMEM;
	return 0;
}

static void fifo_free(struct fifo *q)
{
	free(q->data);
	free(q->due);
	free(q->len);
}

static unsigned char *fifo_slot(const struct fifo *q, uint32_t i)
{
	return q->data + (size_t)i * q->slot;
}

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/* A raw socket on one interface, both directions, without our own sends. */
static int packet_open(const char *ifname, unsigned int *mtu)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr = { 0 };
	int fd, err;

	/* Protocol 0: nothing arrives before bind() picks the interface. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr)) {
		err = -errno;
		goto fail;
	}
	*mtu = ifr.ifr_mtu;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		err = -errno;
		goto fail;
	}
	err = set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
	if (!err)
		err = set_int(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
	if (!err)
		err = set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	/* FORCE needs CAP_NET_ADMIN; without it the sysctl maximum holds. */
	if (!err && set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, BUF_BYTES))
		err = set_int(fd, SOL_SOCKET, SO_RCVBUF, BUF_BYTES);
	if (!err && set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, BUF_BYTES))
		err = set_int(fd, SOL_SOCKET, SO_SNDBUF, BUF_BYTES);
	if (err)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

/* The socket's own drops since the last call (reading resets them). */
static void count_sock_drops(struct dir *d)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (!getsockopt(d->rx_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		d->c.sock_drops += st.tp_drops;
}

/* Arrival in CLOCK_MONOTONIC ns from the kernel's CLOCK_REALTIME stamp. */
static int64_t arrival_ns(struct msghdr *mh, int64_t now, int64_t real_off)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			int64_t t;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			t = ts.tv_sec * 1000000000LL + ts.tv_nsec - real_off;
			/* A clock step: the stamp says nothing, now is close. */
			if (t > now || t < now - 1000000000LL)
				return now;
			return t;
		}
	}
	return now;
}

/* Prepare batch entry i to receive into buf. */
static void batch_rx_entry(int i, unsigned char *buf, uint32_t len)
{
	bt.iov[i] = (struct iovec){ .iov_base = buf, .iov_len = len };
	bt.msg[i].msg_hdr = (struct msghdr){ .msg_iov = &bt.iov[i], .msg_iovlen = 1,
					     .msg_control = bt.ctl[i],
					     .msg_controllen = CTL_BYTES };
}

/*
 * Read what waits on d's socket into its FIFO, each frame due at its
 * arrival plus the delay. A full FIFO drops what is read if may_drop,
 * else it ends the reading. Returns 0 once the socket is empty, 1 when
 * the FIFO is full, or -errno.
 */
static int dir_recv(struct dir *d, int64_t now, int64_t real_off, bool may_drop)
{
	struct fifo *q = &d->q;

	for (;;) {
		uint32_t tail = (q->head + q->count) % q->cap;
		uint32_t room = q->cap - q->count, n, i;
		bool full = !room;
		int r;

		if (full && !may_drop)
			return 1;
		n = full ? BATCH : room;
		if (!full && n > q->cap - tail)
			n = q->cap - tail;	/* up to the wrap */
		if (n > BATCH)
			n = BATCH;
		for (i = 0; i < n; i++)
			batch_rx_entry(i, full ? scratch + (size_t)i * q->slot :
					     fifo_slot(q, tail + i), q->slot);
		r = recvmmsg(d->rx_fd, bt.msg, n, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		d->c.in += r;
		if (full) {
			d->c.overflow += r;
			continue;
		}
		for (i = 0; i < (uint32_t)r; i++) {
			struct msghdr *mh = &bt.msg[i].msg_hdr;
			int64_t due = arrival_ns(mh, now, real_off) + d->delay_ns;

			/* Read only after it was due: the kernel held it back. */
			if (due + LATE_NS < now)
				d->c.read_late++;
			/* Stamps from two CPUs may cross by a little; keep order. */
			if (due < d->last_due)
				due = d->last_due;
			d->last_due = due;
			q->due[tail + i] = due;
			if (mh->msg_flags & MSG_TRUNC) {
				/* GSO left on upstream, or an MTU above ours. */
				d->c.oversize++;
				q->len[tail + i] = 0;
			} else {
				q->len[tail + i] = bt.msg[i].msg_len;
			}
		}
		q->count += r;
		if ((uint32_t)r < n)
			return 0;
	}
}

static void count_departure(struct dir *d, int64_t now, int64_t due)
{
	int64_t late = now - due;

	d->c.out++;
	if (late > LATE_NS)
		d->c.late++;
	if (late > d->c.max_late_ns)
		d->c.max_late_ns = late;
}

/*
 * Send every frame of d due by `until`. Returns 0, or -EAGAIN when the
 * socket had no room (the caller tries again shortly).
 */
static int dir_send(struct dir *d, int64_t until, int64_t now)
{
	struct fifo *q = &d->q;

	while (q->count && q->due[q->head] <= until) {
		uint32_t scanned = 0, n = 0, i;
		int r;

		/* Contiguous slots up to the wrap; dropped ones are skipped. */
		while (n < BATCH && scanned < q->count && q->head + scanned < q->cap &&
		       q->due[q->head + scanned] <= until) {
			uint32_t s = q->head + scanned++;

			if (!q->len[s])
				continue;
			bt.iov[n] = (struct iovec){ .iov_base = fifo_slot(q, s),
						    .iov_len = q->len[s] };
			bt.msg[n].msg_hdr = (struct msghdr){ .msg_iov = &bt.iov[n],
							     .msg_iovlen = 1 };
			bt.slot[n++] = s;
		}
		if (!n) {
			q->head = (q->head + scanned) % q->cap;
			q->count -= scanned;
			continue;
		}
		r = sendmmsg(d->tx_fd, bt.msg, n, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				/* The peer's ring or our send buffer is full. */
				d->c.tx_busy++;
				return -EAGAIN;
			}
			/* The frame at the head cannot go (link down): drop it. */
			d->c.tx_errors++;
			r = 1;
			scanned = bt.slot[0] - q->head + 1;
		} else {
			for (i = 0; i < (uint32_t)r; i++)
				count_departure(d, now, q->due[bt.slot[i]]);
			if ((uint32_t)r < n)
				scanned = bt.slot[r] - q->head;
		}
		q->head = (q->head + scanned) % q->cap;
		q->count -= scanned;
	}
	return 0;
}

/*
 * Move d's frames: send what is due by `until`, read what waits, and again
 * while reading fills the FIFO. After a stall the socket holds frames that
 * are already due: they go out as they come in, and only a FIFO full of
 * frames not yet due drops. *busy is set when the sending socket had no room.
 */
static int dir_pump(struct dir *d, int64_t now, int64_t until, int64_t real_off, bool *busy)
{
	struct fifo *q = &d->q;
	int err;

	for (;;) {
		bool due;

		err = dir_send(d, until, now);
		if (err == -EAGAIN)
			*busy = true;
		else if (err)
			return err;
		due = q->count && q->due[q->head] <= until;
		err = dir_recv(d, now, real_off, !due);
		if (err != 1)
			return err;
		if (*busy)
			return 0;	/* the rest waits in the socket for room */
	}
}

static void dir_report(struct dir *d, const char *when)
{
	count_sock_drops(d);
	fprintf(stderr,
		"delayline %s: %s: delay %.3f ms, in %" PRIu64 ", out %" PRIu64
		", held %u of %u, overflow %" PRIu64 ", socket drops %" PRIu64
		", oversize %" PRIu64 ", tx errors %" PRIu64 ", tx busy %" PRIu64
		", late >1ms %" PRIu64
		" (read late %" PRIu64 "), max late %.3f ms\n",
		when, d->name, d->delay_ns / 1e6, d->c.in, d->c.out, d->q.count, d->q.cap,
		d->c.overflow, d->c.sock_drops, d->c.oversize, d->c.tx_errors, d->c.tx_busy, d->c.late,
		d->c.read_late, d->c.max_late_ns / 1e6);
}

static void report(struct dir *dirs, const char *when, int64_t start)
{
	struct rusage ru;

	dir_report(&dirs[0], when);
	dir_report(&dirs[1], when);
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "delayline %s: cpu user %.3f s, system %.3f s, over %.3f s\n", when,
		ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		(clock_ns(CLOCK_MONOTONIC) - start) / 1e9);
	fflush(stderr);
}

static int arm_timer(int tfd, int64_t at)
{
	struct itimerspec its = { 0 };

	if (at) {
		its.it_value.tv_sec = at / 1000000000LL;
		its.it_value.tv_nsec = at % 1000000000LL;
	}
	return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

/* Earliest moment something is due in either direction, 0 if none. */
static int64_t next_due(struct dir *dirs, int64_t early)
{
	int64_t at = 0;
	int i;

	for (i = 0; i < 2; i++) {
		struct fifo *q = &dirs[i].q;
		int64_t t;

		if (!q->count)
			continue;
		t = q->due[q->head] - early;
		if (!at || t < at)
			at = t;
	}
	return at;
}

static int write_pidfile(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

struct options {
	int64_t delay[2], tick;
	double mbit;
	long frames;
	const char *pidfile, *ifname[2];
};

static int usage(void)
{
	fprintf(stderr, "usage: delayline [-d DELAY] [-D DELAY] [-r MBIT] [-n FRAMES] "
			"[-t TICK] [-p PIDFILE] IF_A IF_B\n"
			"  -d  delay from IF_A to IF_B (10ms, 250us; default 5ms)\n"
			"  -D  delay from IF_B to IF_A (default: as -d)\n"
			"  -r  rate the FIFO is sized for, Mbit/s (default 4000)\n"
			"  -n  FIFO size in frames per direction (default: from -r)\n"
			"  -t  shortest time between wakeups (default 100us)\n"
			"  -p  write the pid here once ready, remove it at exit\n");
	return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	*o = (struct options){ .delay = { 5000000, -1 }, .tick = 100000, .mbit = 4000 };
	while ((c = getopt(argc, argv, "d:D:r:n:t:p:h")) != -1) {
		switch (c) {
		case 'd':
			o->delay[0] = parse_duration(optarg);
			if (o->delay[0] < 0)
				return -EINVAL;
			break;
		case 'D':
			o->delay[1] = parse_duration(optarg);
			if (o->delay[1] < 0)
				return -EINVAL;
			break;
		case 'r':
			o->mbit = atof(optarg);
			if (o->mbit <= 0)
				return -EINVAL;
			break;
		case 'n':
			o->frames = atol(optarg);
			if (o->frames <= 0)
				return -EINVAL;
			break;
		case 't':
			o->tick = parse_duration(optarg);
			if (o->tick < 0)
				return -EINVAL;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 2)
		return -EINVAL;
	o->ifname[0] = argv[optind];
	o->ifname[1] = argv[optind + 1];
	if (o->delay[1] < 0)
		o->delay[1] = o->delay[0];
	return 0;
}

/* Frames in flight over the longer delay at the sized rate, plus bursts. */
static uint32_t fifo_frames(const struct options *o, unsigned int mtu)
{
	int64_t delay = o->delay[0] > o->delay[1] ? o->delay[0] : o->delay[1];

	if (o->frames)
		return o->frames;
	return (uint32_t)(o->mbit * 1e6 / 8 * (delay / 1e9) / (mtu + ETH_HLEN)) + 256;
}

static int setup(const struct options *o, struct dir *dirs, int fds[2])
{
	unsigned int mtu[2], slot;
	int i, err;

	for (i = 0; i < 2; i++) {
		fds[i] = packet_open(o->ifname[i], &mtu[i]);
		if (fds[i] < 0) {
			fprintf(stderr, "delayline: %s: %s\n", o->ifname[i], strerror(-fds[i]));
			return fds[i];
		}
	}
	/* Room for the larger MTU, a VLAN tag, and one byte to see truncation. */
	slot = ((mtu[0] > mtu[1] ? mtu[0] : mtu[1]) + ETH_HLEN + 4 + 64) & ~63u;
	scratch = malloc((size_t)BATCH * slot);
	if (!scratch)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		struct dir *d = &dirs[i];

		snprintf(d->name, sizeof(d->name), "%s->%s", o->ifname[i], o->ifname[!i]);
		d->rx_fd = fds[i];
		d->tx_fd = fds[!i];
		d->delay_ns = o->delay[i];
		err = fifo_init(&d->q, fifo_frames(o, mtu[0] > mtu[1] ? mtu[0] : mtu[1]), slot);
		if (err)
			return err;
	}
	return 0;
}

static int epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Wait, read, send what is due, re-arm; until SIGTERM or SIGINT. */
static int run(struct dir *dirs, int fds[2], int tfd, int sfd, int64_t tick, int64_t start)
{
	int64_t early = tick / 2;
	int ep, err, i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	err = epoll_add(ep, fds[0]);
	if (!err)
		err = epoll_add(ep, fds[1]);
	if (!err)
		err = epoll_add(ep, tfd);
	if (!err)
		err = epoll_add(ep, sfd);
	while (!err) {
		struct epoll_event ev[4];
		int64_t woke, now, real_off, at;
		bool busy = false;
		int n;

		n = epoll_wait(ep, ev, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		woke = clock_ns(CLOCK_MONOTONIC);
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo != SIGUSR1)
					goto out;
				report(dirs, "now", start);
			} else if (ev[i].data.fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					err = -errno;
			}
		}
		real_off = clock_ns(CLOCK_REALTIME) - woke;
		for (i = 0; i < 2 && !err; i++)
			err = dir_pump(&dirs[i], woke, woke + early, real_off, &busy);
		if (err)
			break;
		/* What came in while the other direction was served. */
		now = clock_ns(CLOCK_MONOTONIC);
		for (i = 0; i < 2 && !err; i++) {
			err = dir_send(&dirs[i], now + early, now);
			if (err == -EAGAIN) {
				busy = true;
				err = 0;
			}
		}
		if (err)
			break;
		at = busy ? now + tick : next_due(dirs, early);
		err = arm_timer(tfd, at);
		/* At most one wakeup per tick: frames wait in the sockets meanwhile. */
		if (!err && tick) {
			struct timespec ts = { .tv_sec = (woke + tick) / 1000000000LL,
					       .tv_nsec = (woke + tick) % 1000000000LL };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
	}
out:
	close(ep);
	return err;
}

int main(int argc, char **argv)
{
	struct dir dirs[2] = { 0 };
	int fds[2] = { -1, -1 }, tfd = -1, sfd = -1, err, i;
	struct options o;
	int64_t start;
	sigset_t sigs;

	if (parse_options(argc, argv, &o))
		return usage();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	/* The default slack of 50 us would be added to every tick's sleep. */
	prctl(PR_SET_TIMERSLACK, 1000UL);

	err = setup(&o, dirs, fds);
	if (err)
		goto out;
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < 2; i++)
		count_sock_drops(&dirs[i]);	/* from before bind() took effect */
	if (o.pidfile) {
		err = write_pidfile(o.pidfile);
		if (err) {
			fprintf(stderr, "delayline: %s: %s\n", o.pidfile, strerror(-err));
			goto out;
		}
	}
	start = clock_ns(CLOCK_MONOTONIC);
	fprintf(stderr, "delayline: ready: %s delay %.3f ms, %s delay %.3f ms, "
			"fifo %u frames of %u bytes each way, tick %.3f ms\n",
		dirs[0].name, dirs[0].delay_ns / 1e6, dirs[1].name, dirs[1].delay_ns / 1e6,
		dirs[0].q.cap, dirs[0].q.slot, o.tick / 1e6);
	fflush(stderr);
	err = run(dirs, fds, tfd, sfd, o.tick, start);
	report(dirs, "exit", start);
	if (err)
		fprintf(stderr, "delayline: %s\n", strerror(-err));
	if (o.pidfile)
		unlink(o.pidfile);
out:
	for (i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fifo_free(&dirs[i].q);
	}
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	free(scratch);
	return err ? 1 : 0;
}
