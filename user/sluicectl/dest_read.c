// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading destinations. Three maps may know an address: sluice_dest (the
 * bucket and counters, created by the first packet a policy covers),
 * sluice_dest_ctl (an override, which may exist before any traffic) and
 * sluice_signals (TCP signals). Each is read on its own; BPF keeps writing
 * meanwhile, so a view is a set of recent values, not a snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lib/addr.h"
#include "lib/maps.h"
#include "sluicectl/sluicectl.h"

/* Open the maps and read what every view needs; prints its own errors. */
int dest_ctx_open(struct dest_ctx *c)
{
	struct sluice_config cfg;
	int err;

	err = pins_open(&c->m);
	if (err)
		return err;
	err = sluice_config_read(c->m.config, &cfg);
	if (err) {
		err = p_err(err, "cannot read %s: %s", SLUICE_MAP_CONFIG, strerror(-err));
		goto out_close;
	}
	err = policy_set_load(&c->m, &c->policies);
	if (err)
		goto out_close;
	c->ctl_gen = cfg.ctl_gen;
	c->now = now_mono_ns();
	c->classes = cfg.classify_kinds || cfg.class_share_pct[0] || cfg.class_share_pct[1] ||
		     cfg.class_share_pct[2] || cfg.class_share_pct[3];
	return 0;

out_close:
	sluice_maps_close(&c->m);
	return err;
}

void dest_ctx_close(struct dest_ctx *c)
{
	policy_set_free(&c->policies);
	sluice_maps_close(&c->m);
}

/* 1 when found, 0 when absent, -errno on failure. */
static int lookup(int fd, const struct sluice_addr *a, void *val)
{
	if (!bpf_map_lookup_elem(fd, a, val))
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* Read all three maps; on error, one message has been printed. */
int dest_view_read(const struct sluice_maps *m, const struct sluice_addr *a,
		   struct dest_view *v)
{
	const struct {
		int fd;
		void *val;
		bool *found;
	} maps[] = {
		{ m->dest, &v->entry, &v->has_entry },
		{ m->dest_ctl, &v->ovr, &v->has_override },
		{ m->signals, &v->sig, &v->has_signals },
	};
	char addr[SLUICE_ADDR_STRLEN];
	size_t i;
	int ret;

	memset(v, 0, sizeof(*v));
	v->addr = *a;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		ret = lookup(maps[i].fd, a, maps[i].val);
		if (ret < 0)
			return p_err(ret, "cannot read destination %s: %s",
				     format_addr(addr, sizeof(addr), a), strerror(-ret));
		*maps[i].found = ret;
	}
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct sluice_addr *x = a, *y = b;
	bool x4 = addr_is_v4(x), y4 = addr_is_v4(y);

	if (x4 != y4)
		return x4 ? -1 : 1;
	return memcmp(x, y, sizeof(*x));
}

/* A walk that restarted returns some addresses twice; v is sorted. */
static size_t dedup(struct sluice_addr *v, size_t n)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++)
		if (!out || memcmp(&v[out - 1], &v[i], sizeof(*v)))
			v[out++] = v[i];
	return out;
}

/*
 * Every address in sluice_dest, sorted, IPv4 first. The walk is bounded by
 * the table size: an LRU hash restarts from its first key when the current
 * one is evicted under us.
 */
int dest_addrs(const struct sluice_maps *m, struct sluice_addr **addrs, size_t *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct sluice_addr *v;
	size_t i = 0;
	int err;

	if (bpf_obj_get_info_by_fd(m->dest, &info, &len)) {
		err = -errno;
		return p_err(err, "cannot read %s: %s", SLUICE_MAP_DEST, strerror(-err));
	}
	v = calloc(info.max_entries ? info.max_entries : 1, sizeof(*v));
	if (!v)
		return p_err(-ENOMEM, "out of memory");
	while (i < info.max_entries &&
	       !bpf_map_get_next_key(m->dest, i ? &v[i - 1] : NULL, &v[i]))
		i++;
	if (i < info.max_entries && errno != ENOENT) {
		err = -errno;
		free(v);
		return p_err(err, "cannot read %s: %s", SLUICE_MAP_DEST, strerror(-err));
	}
	qsort(v, i, sizeof(*v), cmp_addr);
	*addrs = v;
	*n = dedup(v, i);
	return 0;
}
