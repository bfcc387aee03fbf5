// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/units.h"
#include "sluiced/attach.h"
#include "sluiced/daemon.h"
#include "sluiced/reconcile.h"
#include "sluice.skel.h"

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

	lock = sluice_lock(c->pin_dir);
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

/* Attach to the interfaces in c, detach from those it no longer names. */
static int apply_ifaces(struct daemon *d, const struct sluiced_config *c)
{
	char kept[SLUICED_MAX_IFACES][IF_NAMESIZE];
	int i, n = 0, err, first_err = 0;

	for (i = 0; i < d->n_attached; i++)
		if (!iface_listed(c->ifaces, c->n_ifaces, d->attached_ifaces[i]))
			tc_detach(d->attached_ifaces[i]);
	for (i = 0; i < c->n_ifaces; i++) {
		err = tc_attach(c->ifaces[i], loader_tc_prog_fd(&d->ld));
		if (err) {
			first_err = first_err ? first_err : err;
			continue;
		}
		snprintf(kept[n++], IF_NAMESIZE, "%s", c->ifaces[i]);
	}
	memcpy(d->attached_ifaces, kept, sizeof(kept));
	d->n_attached = n;
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

static void cgroup_detach_all(const char *pin_dir)
{
	size_t i;

	for (i = 0; i < sizeof(cgroup_progs) / sizeof(cgroup_progs[0]); i++)
		cgroup_detach(pin_dir, cgroup_progs[i].link);
}

static int cgroup_attach_all(const struct daemon *d, const char *cgroup, const char *pin_dir)
{
	size_t i;
	int err;

	for (i = 0; i < sizeof(cgroup_progs) / sizeof(cgroup_progs[0]); i++) {
		err = cgroup_attach(cgroup, cgroup_prog_fd(d, cgroup_progs[i].type),
				    cgroup_progs[i].type, pin_dir, cgroup_progs[i].link);
		if (err)
			return err;
	}
	return 0;
}

static int apply_cgroup(struct daemon *d, const struct sluiced_config *c)
{
	char target[PATH_MAX];
	int err;

	err = cgroup_target(c, target, sizeof(target));
	if (err) {
		log_warnx("no cgroup v2 mount found for sock_ops");
		return err;
	}
	if (!strcmp(target, d->attached_cgroup))
		return 0;
	if (!target[0]) {
		cgroup_detach_all(c->pin_dir);
		d->attached_cgroup[0] = '\0';
		return 0;
	}
	err = cgroup_attach_all(d, target, c->pin_dir);
	if (err)
		return err;
	snprintf(d->attached_cgroup, sizeof(d->attached_cgroup), "%s", target);
	return 0;
}

int daemon_start(struct daemon *d)
{
	int err;

	err = loader_load(&d->ld, d->cfg.pin_dir, d->cfg.dest_table_size);
	if (err)
		return err;
	d->control = control_new(&d->ld.maps, d->cfg.pin_dir);
	if (!d->control) {
		err = -ENOMEM;
		goto err_close;
	}
	err = apply_policies(d, &d->cfg);
	if (err)
		goto err_close;
	err = apply_cgroup(d, &d->cfg);
	if (err)
		goto err_detach;
	err = apply_ifaces(d, &d->cfg);
	if (err)
		goto err_detach;
	daemon_tick(d); /* the first lease, before the first interval ends */
	return 0;

err_detach:
	daemon_stop(d);
	return err;
err_close:
	control_free(d->control);
	d->control = NULL;
	loader_close(&d->ld);
	return err;
}

int daemon_apply(struct daemon *d, const struct sluiced_config *next)
{
	int err = 0, e;

	if (strcmp(next->pin_dir, d->cfg.pin_dir) ||
	    next->dest_table_size != d->cfg.dest_table_size)
		log_warnx("pin_dir and dest_table_size take effect at the next start");
	e = apply_policies(d, next);
	err = err ? err : e;
	e = apply_cgroup(d, next);
	err = err ? err : e;
	e = apply_ifaces(d, next);
	err = err ? err : e;
	/* Keep the running pin dir and table size whatever the file says. */
	{
		char pin_dir[PATH_MAX];
		__u32 size = d->cfg.dest_table_size;

		snprintf(pin_dir, sizeof(pin_dir), "%s", d->cfg.pin_dir);
		d->cfg = *next;
		snprintf(d->cfg.pin_dir, sizeof(d->cfg.pin_dir), "%s", pin_dir);
		d->cfg.dest_table_size = size;
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
	int i;

	for (i = 0; i < d->n_attached; i++)
		tc_detach(d->attached_ifaces[i]);
	d->n_attached = 0;
	if (d->attached_cgroup[0])
		cgroup_detach_all(d->cfg.pin_dir);
	d->attached_cgroup[0] = '\0';
	control_free(d->control);
	d->control = NULL;
	loader_close(&d->ld);
}

int daemon_uninstall(const struct sluiced_config *c)
{
	int i, err;

	for (i = 0; i < c->n_ifaces; i++) {
		err = tc_detach(c->ifaces[i]);
		if (err == -ENOENT)
			log_info("no sluice filter on %s", c->ifaces[i]);
	}
	cgroup_detach_all(c->pin_dir);
	return loader_unpin_all(c->pin_dir);
}
