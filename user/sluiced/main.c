// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluiced: loads sluice's BPF programs, keeps its maps pinned, attaches to
 * the configured interfaces and cgroup, and runs the control loop.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/units.h"
#include "sluiced/daemon.h"
#include "sluiced/instance.h"

#define EXIT_USAGE 2

struct options {
	const char *config_path;
	bool config_given;
	bool check_only;
	bool uninstall;
	int verbosity;
	/* command-line values, applied over the file's */
	const char *pin_dir;
	const char *cgroup;
	const char *interval;
	bool use_syslog;
	char ifaces[SLUICED_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluiced [OPTIONS]\n"
		"  -c, --config FILE    config file (default " SLUICED_CONF_DEFAULT ")\n"
		"  -n, --check          check the config and exit\n"
		"  -i, --iface IF       attach TC egress to IF (repeatable)\n"
		"  -g, --cgroup DIR     attach sock_ops to cgroup v2 DIR (none: do not)\n"
		"  -P, --pin-dir DIR    pin maps under DIR (default " SLUICE_PIN_DIR_DEFAULT ")\n"
		"  -I, --interval TIME  control interval (default 100ms)\n"
		"  -s, --syslog         log to syslog instead of stderr\n"
		"  -v, --verbose        debug log (-vv: libbpf's too)\n"
		"  -U, --uninstall      detach and remove every pin, then exit\n"
		"  -h, --help           show this help\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "iface", required_argument, NULL, 'i' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "interval", required_argument, NULL, 'I' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt;

	o->config_path = SLUICED_CONF_DEFAULT;
	while ((opt = getopt_long(argc, argv, "c:ni:g:P:I:svUh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config_path = optarg;
			o->config_given = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'i':
			if (o->n_ifaces >= SLUICED_MAX_IFACES || !*optarg ||
			    strlen(optarg) >= IF_NAMESIZE) {
				log_warnx("invalid interface '%s'", optarg);
				return -EINVAL;
			}
			snprintf(o->ifaces[o->n_ifaces++], IF_NAMESIZE, "%s", optarg);
			break;
		case 'g':
			o->cgroup = optarg;
			break;
		case 'P':
			o->pin_dir = optarg;
			break;
		case 'I':
			o->interval = optarg;
			break;
		case 's':
			o->use_syslog = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'U':
			o->uninstall = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/*
 * Build the effective config: the file (when given, or when the default
 * exists), then the command line over it. On error, *err says why.
 */
static int build_config(const struct options *o, struct sluiced_config *c,
			char *err, size_t errlen)
{
	int i, e;

	config_defaults(c);
	if (o->config_given || access(o->config_path, F_OK) == 0) {
		e = config_load(o->config_path, c, err, errlen);
		if (e)
			return e;
	}
	for (i = 0; i < o->n_ifaces; i++) {
		if (config_add_iface(c, o->ifaces[i])) {
			snprintf(err, errlen, "invalid interface '%s'", o->ifaces[i]);
			return -EINVAL;
		}
	}
	if (o->cgroup) {
		if (o->cgroup[0] != '/' && strcmp(o->cgroup, "none")) {
			snprintf(err, errlen, "invalid cgroup '%s' (an absolute path or none)",
				 o->cgroup);
			return -EINVAL;
		}
		snprintf(c->cgroup, sizeof(c->cgroup), "%s", o->cgroup);
	}
	if (o->pin_dir) {
		if (o->pin_dir[0] != '/') {
			snprintf(err, errlen, "invalid pin dir '%s' (an absolute path)", o->pin_dir);
			return -EINVAL;
		}
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", o->pin_dir);
	}
	if (o->interval) {
		__u64 ns;

		if (parse_duration_ns(o->interval, &ns) || ns < 10000000ULL ||
		    ns > 10000000000ULL) {
			snprintf(err, errlen, "invalid interval '%s' (10ms to 10s)", o->interval);
			return -EINVAL;
		}
		c->interval_ns = ns;
	}
	if (o->use_syslog)
		c->use_syslog = true;
	return 0;
}

static int timer_arm(int fd, __u64 ns)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL },
	};

	its.it_value = its.it_interval;
	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

static void reload(struct daemon *d, const struct options *o, int timer_fd)
{
	static struct sluiced_config next;
	char err[512];

	if (build_config(o, &next, err, sizeof(err))) {
		log_warnx("reload refused, running config kept: %s", err);
		return;
	}
	log_info("reloading %s", o->config_path);
	if (daemon_apply(d, &next))
		log_warnx("reload applied with errors; see above");
	timer_arm(timer_fd, d->cfg.interval_ns);
}

/*
 * Block the signals the event loop reads, and give them an fd. Done
 * first thing, long before anything touches the datapath: a HUP that arrives
 * while starting waits for the loop and reloads then, a TERM or INT stops
 * it cleanly then, and neither ends the daemon half way through a start.
 */
static int signals_take(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Runs until SIGTERM or SIGINT. Returns the exit status. */
static int run(struct daemon *d, const struct options *o, int sig_fd)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	int timer_fd;
	__u64 expirations;

	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (timer_fd < 0 || timer_arm(timer_fd, d->cfg.interval_ns)) {
		log_warn("set up the event loop");
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = timer_fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(timer_fd, &expirations, sizeof(expirations)) > 0)
				daemon_tick(d);
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload(d, o, timer_fd);
			continue;
		}
		log_info("signal %u: detaching and exiting", si.ssi_signo);
		return 0;
	}
}

/* Take the pin directory for this process, or say who has it. */
static int claim(const char *pin_dir)
{
	long holder;
	int fd = instance_lock(SLUICED_RUN_DIR_DEFAULT, pin_dir, &holder);

	if (fd == -EEXIST) {
		if (holder > 0)
			log_warnx("already running (pid %ld) on %s", holder, pin_dir);
		else
			log_warnx("already running on %s", pin_dir);
	} else if (fd < 0) {
		log_warnx("cannot take %s for this sluiced: %s", pin_dir, strerror(-fd));
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct options opts;
	static struct daemon d;
	char err[512];
	int status, sig_fd, inst;

	log_init("sluiced", LOG_LVL_INFO, false);
	sig_fd = signals_take();
	if (sig_fd < 0) {
		log_warnx("take signals: %s", strerror(-sig_fd));
		return 1;
	}
	if (parse_args(argc, argv, &opts)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (build_config(&opts, &d.cfg, err, sizeof(err))) {
		log_warnx("%s", err);
		return EXIT_USAGE;
	}
	if (opts.check_only) {
		bool file = opts.config_given || access(opts.config_path, F_OK) == 0;

		printf("%s: ok (%d interfaces, %d policies)\n",
		       file ? opts.config_path : "command line", d.cfg.n_ifaces,
		       d.cfg.n_policies);
		return 0;
	}
	log_init("sluiced", opts.verbosity >= 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		 d.cfg.use_syslog);
	log_route_libbpf(opts.verbosity >= 2);
	/* Before anything is touched: one sluiced per pin directory, and an
	 * uninstall never pulls the maps from under a running one. */
	inst = claim(d.cfg.pin_dir);
	if (inst < 0)
		return 1;
	if (opts.uninstall) {
		status = daemon_uninstall(&d.cfg) ? 1 : 0;
		instance_unlock(inst, SLUICED_RUN_DIR_DEFAULT, d.cfg.pin_dir);
		return status;
	}
	if (daemon_start(&d)) {
		log_warnx("not started");
		instance_unlock(inst, SLUICED_RUN_DIR_DEFAULT, d.cfg.pin_dir);
		return 1;
	}
	log_info("ready: %d interface%s, sock_ops on %s, maps at %s", d.n_attached,
		 d.n_attached == 1 ? "" : "s",
		 d.attached_cgroup[0] ? d.attached_cgroup : "no cgroup", d.cfg.pin_dir);
	status = run(&d, &opts, sig_fd);
	daemon_stop(&d);
	instance_unlock(inst, SLUICED_RUN_DIR_DEFAULT, d.cfg.pin_dir);
	return status;
}
