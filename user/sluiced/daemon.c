// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/units.h"
#include "sluiced/attach.h"
#include "sluiced/daemon.h"
#include "sluiced/pins.h"
#include "sluiced/reconcile.h"
#include "sluice.skel.h"

/* How long a start or a reload waits for a sluicectl that holds the lock. */
#define APPLY_LOCK_WAIT_NS 2000000000ULL

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The cgroup sock_ops should serve: "" in the config means the root. */
static int cgroup_target(const struct sluiced_config *c, char *buf, size_t len)
{
	if (!strcmp(c->cgroup, "none")) {
		buf[0] = '\0';
		return 0;
	}
	if (c->cgroup[0]) {
		snprintf(buf, len, "%s", c->cgroup);
		return 0;
	}
	return cgroup2_root(buf, len);
}

static int apply_policies(struct daemon *d, const struct sluiced_config *c)
{
	struct reconcile_stats st;
	int lock, err;

	lock = sluice_lock_timeout(c->pin_dir, APPLY_LOCK_WAIT_NS);
	if (lock == -EWOULDBLOCK)
		log_warnx("pin dir %s stayed locked by another process for %llu ms",
			  c->pin_dir, APPLY_LOCK_WAIT_NS / 1000000ULL);
	if (lock < 0)
		return lock;
	err = reconcile_policies(&d->ld.maps, c, &st);
	if (!err)
		err = reconcile_classes(&d->ld.maps, c);
	sluice_unlock(lock);
	if (err)
		log_warnx("apply policies: %s", strerror(-err));
	else
		log_info("policies: %d added, %d updated, %d removed, %d unchanged",
			 st.added, st.updated, st.removed, st.kept);
	return err;
}

static bool iface_listed(const char (*list)[IF_NAMESIZE], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

static struct tc_place tc_place_of(const struct sluiced_config *c)
{
	return (struct tc_place){ .handle = c->tc_handle, .priority = c->tc_priority };
}

/*
 * Which attachments an apply makes. A start first makes the new ones,
 * which may be refused (a foreign filter, a kernel error), and only then
 * takes over what a previous run left attached: a start that fails leaves
 * those running the programs they had. A reload takes both at once.
 */
enum attach_pass {
	ATTACH_NEW = 1,
	ATTACH_TAKEOVER = 2,
	ATTACH_ALL = ATTACH_NEW | ATTACH_TAKEOVER,
};

/* Detach from interface i of d's list, which it then leaves. */
static void iface_drop(struct daemon *d, int i)
{
	tc_detach(d->attached_ifaces[i], &d->tc);
	d->n_attached--;
	memmove(d->attached_ifaces[i], d->attached_ifaces[i + 1],
		(size_t)(d->n_attached - i) * sizeof(d->attached_ifaces[0]));
	memmove(&d->iface_found[i], &d->iface_found[i + 1],
		(size_t)(d->n_attached - i) * sizeof(d->iface_found[0]));
}

/* Attach to the interfaces in c, detach from those it no longer names. */
static int apply_ifaces(struct daemon *d, const struct sluiced_config *c,
			enum attach_pass pass)
{
	int i, ours, err, first_err = 0;
	bool found;

	for (i = d->n_attached - 1; i >= 0; i--)
		if (!iface_listed(c->ifaces, c->n_ifaces, d->attached_ifaces[i]))
			iface_drop(d, i);
	for (i = 0; i < c->n_ifaces; i++) {
		if (iface_listed(d->attached_ifaces, d->n_attached, c->ifaces[i]))
			continue;
		ours = tc_is_ours(c->ifaces[i], &d->tc);
		if (ours >= 0 && !(pass & (ours ? ATTACH_TAKEOVER : ATTACH_NEW)))
			continue;
		err = tc_attach(c->ifaces[i], loader_tc_prog_fd(&d->ld), &d->tc, &found);
		if (err) {
			first_err = first_err ? first_err : err;
			continue;
		}
		snprintf(d->attached_ifaces[d->n_attached], IF_NAMESIZE, "%s", c->ifaces[i]);
		d->iface_found[d->n_attached++] = found;
	}
	return first_err;
}

/* The cgroup programs: TCP pacing and signals, and fail-fast connects. */
static const struct {
	const char *link;
	enum bpf_attach_type type;
} cgroup_progs[] = {
	{ SLUICE_LINK_SOCKOPS, BPF_CGROUP_SOCK_OPS },
	{ SLUICE_LINK_CONNECT4, BPF_CGROUP_INET4_CONNECT },
	{ SLUICE_LINK_CONNECT6, BPF_CGROUP_INET6_CONNECT },
};

#define N_CGROUP_PROGS (sizeof(cgroup_progs) / sizeof(cgroup_progs[0]))
_Static_assert(N_CGROUP_PROGS == sizeof(((struct daemon *)0)->cgroup_links) /
				 sizeof(((struct daemon *)0)->cgroup_links[0]),
	       "a state for each cgroup program");

static int cgroup_prog_fd(const struct daemon *d, enum bpf_attach_type type)
{
	switch (type) {
	case BPF_CGROUP_SOCK_OPS:
		return bpf_program__fd(d->ld.skel->progs.sluice_sockops);
	case BPF_CGROUP_INET4_CONNECT:
		return bpf_program__fd(d->ld.skel->progs.sluice_connect4);
	default:
		return bpf_program__fd(d->ld.skel->progs.sluice_connect6);
	}
}

/* Detach the cgroup programs; with only_new, those this run attached and
 * did not find there. */
static void cgroup_detach_all(struct daemon *d, bool only_new)
{
	size_t i;

	for (i = 0; i < N_CGROUP_PROGS; i++) {
		if (!only_new || d->cgroup_links[i] == LINK_NEW)
			cgroup_detach(d->cfg.pin_dir, cgroup_progs[i].link);
		d->cgroup_links[i] = LINK_NONE;
	}
	d->attached_cgroup[0] = '\0';
}

static int apply_cgroup(struct daemon *d, const struct sluiced_config *c,
			enum attach_pass pass)
{
	char target[PATH_MAX];
	size_t i, done = 0;
	bool found;
	int err;

	err = cgroup_target(c, target, sizeof(target));
	if (err) {
		log_warnx("no cgroup v2 mount found for sock_ops");
		return err;
	}
	if (!strcmp(target, d->attached_cgroup))
		return 0;
	if (!target[0]) {
		cgroup_detach_all(d, false);
		return 0;
	}
	/* Moving to another cgroup: each link is made anew (see attach.c). */
	if (d->attached_cgroup[0]) {
		memset(d->cgroup_links, 0, sizeof(d->cgroup_links));
		d->attached_cgroup[0] = '\0';
	}
	for (i = 0; i < N_CGROUP_PROGS; i++) {
		if (d->cgroup_links[i] != LINK_NONE) {
			done++;
			continue;
		}
		found = cgroup_link_serves(c->pin_dir, cgroup_progs[i].link, target);
		if (!(pass & (found ? ATTACH_TAKEOVER : ATTACH_NEW)))
			continue;
		err = cgroup_attach(target, cgroup_prog_fd(d, cgroup_progs[i].type),
				    cgroup_progs[i].type, d->cfg.pin_dir, cgroup_progs[i].link,
				    &found);
		if (err)
			return err;
		d->cgroup_links[i] = found ? LINK_TAKEN_OVER : LINK_NEW;
		done++;
	}
	if (done == N_CGROUP_PROGS)
		snprintf(d->attached_cgroup, sizeof(d->attached_cgroup), "%s", target);
	return 0;
}

static int apply_attachments(struct daemon *d, const struct sluiced_config *c,
			     enum attach_pass pass)
{
	int err = apply_cgroup(d, c, pass), e = apply_ifaces(d, c, pass);

	return err ? err : e;
}

/*
 * What a start can check before it touches anything: the interfaces and
 * the cgroup exist, and no other program holds our place on an interface.
 */
static int preflight(const struct sluiced_config *c, const struct tc_place *at)
{
	char target[PATH_MAX];
	struct stat st;
	int i, err;

	for (i = 0; i < c->n_ifaces; i++) {
		if (!if_nametoindex(c->ifaces[i])) {
			log_warnx("no interface '%s'", c->ifaces[i]);
			return -ENODEV;
		}
		err = tc_is_ours(c->ifaces[i], at);
		if (err < 0)
			return err;
	}
	if (cgroup_target(c, target, sizeof(target))) {
		log_warnx("no cgroup v2 mount found for sock_ops");
		return -ENOENT;
	}
	if (target[0] && (stat(target, &st) || !S_ISDIR(st.st_mode))) {
		log_warnx("cgroup '%s' is not a directory", target);
		return -ENOENT;
	}
	return 0;
}

/* A start failed: remove what it attached and did not find attached, and
 * leave what a previous run attached as it was. */
static void daemon_abandon(struct daemon *d)
{
	int i;

	for (i = d->n_attached - 1; i >= 0; i--)
		if (!d->iface_found[i])
			tc_detach(d->attached_ifaces[i], &d->tc);
	d->n_attached = 0;
	cgroup_detach_all(d, true);
	control_free(d->control);
	d->control = NULL;
	loader_close(&d->ld);
}

int daemon_start(struct daemon *d)
{
	int err;

	d->tc = tc_place_of(&d->cfg);
	err = preflight(&d->cfg, &d->tc);
	if (err)
		return err;
	err = loader_load(&d->ld, d->cfg.pin_dir, d->cfg.dest_table_size);
	if (err)
		return err;
	d->control = control_new(&d->ld.maps, loader_changed_fd(&d->ld), d->cfg.pin_dir);
	if (!d->control) {
		err = -ENOMEM;
		goto err_abandon;
	}
	err = apply_policies(d, &d->cfg);
	if (!err)
		err = apply_attachments(d, &d->cfg, ATTACH_NEW);
	if (!err)
		err = apply_attachments(d, &d->cfg, ATTACH_TAKEOVER);
	if (err)
		goto err_abandon;
	daemon_tick(d); /* the first lease, before the first interval ends */
	return 0;

err_abandon:
	daemon_abandon(d);
	return err;
}

int daemon_apply(struct daemon *d, const struct sluiced_config *next)
{
	int err = 0, e;

	if (strcmp(next->pin_dir, d->cfg.pin_dir) ||
	    next->dest_table_size != d->cfg.dest_table_size ||
	    next->tc_handle != d->cfg.tc_handle || next->tc_priority != d->cfg.tc_priority)
		log_warnx("pin_dir, dest_table_size, tc_handle and tc_priority take effect "
			  "at the next start");
	e = apply_policies(d, next);
	err = err ? err : e;
	e = apply_attachments(d, next, ATTACH_ALL);
	err = err ? err : e;
	/* Keep the running pin dir and table size whatever the file says. */
	{
		char pin_dir[PATH_MAX];
		__u32 size = d->cfg.dest_table_size;

		snprintf(pin_dir, sizeof(pin_dir), "%s", d->cfg.pin_dir);
		d->cfg = *next;
		snprintf(d->cfg.pin_dir, sizeof(d->cfg.pin_dir), "%s", pin_dir);
		d->cfg.dest_table_size = size;
		d->cfg.tc_handle = d->tc.handle;
		d->cfg.tc_priority = d->tc.priority;
	}
	return err;
}

void daemon_tick(struct daemon *d)
{
	int err = control_tick(d->control, now_ns(), d->cfg.interval_ns);

	if (err)
		log_warnx("control interval: %s", strerror(-err));
}

void daemon_stop(struct daemon *d)
{
	while (d->n_attached)
		iface_drop(d, d->n_attached - 1);
	if (d->attached_cgroup[0])
		cgroup_detach_all(d, false);
	control_free(d->control);
	d->control = NULL;
	loader_close(&d->ld);
}

int daemon_uninstall(const struct sluiced_config *c)
{
	struct tc_place at = tc_place_of(c);
	int i, err, fd;
	size_t j;

	/* Refuse a pin dir that is a symlink or off bpffs before anything. */
	fd = pin_dir_open(c->pin_dir);
	if (fd < 0 && fd != -ENOENT)
		return fd;
	if (fd >= 0)
		close(fd);
	for (i = 0; i < c->n_ifaces; i++) {
		err = tc_detach(c->ifaces[i], &at);
		if (err == -ENOENT)
			log_info("no sluice filter on %s", c->ifaces[i]);
	}
	for (j = 0; j < N_CGROUP_PROGS; j++)
		cgroup_detach(c->pin_dir, cgroup_progs[j].link);
	return loader_unpin_all(c->pin_dir);
}
