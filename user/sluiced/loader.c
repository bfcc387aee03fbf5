// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "sluiced/attach.h"
#include "sluiced/loader.h"
#include "sluiced/pins.h"
#include "sluice.skel.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define BPFFS_MOUNT "/sys/fs/bpf"

/*
 * The maps sluice pins, in the order a new set is pinned: the config map,
 * which carries the ABI version, comes last, so that its presence says the
 * set is complete. A start killed before that leaves a set without it,
 * which the next start removes and makes again.
 */
static const char *const map_names[] = {
	SLUICE_MAP_POLICY, SLUICE_MAP_DEST, SLUICE_MAP_DEST_CTL, SLUICE_MAP_SIGNALS,
	SLUICE_MAP_STATS, SLUICE_MAP_EVENTS, SLUICE_MAP_CLASSIFY, "sluice_sk",
	SLUICE_MAP_CHANGED, SLUICE_MAP_CONFIG,
};
#define N_MAPS (sizeof(map_names) / sizeof(map_names[0]))

/* The links, pinned by attach.c: they are attachments, not state. */
static const char *const link_names[] = {
	SLUICE_LINK_SOCKOPS, SLUICE_LINK_CONNECT4, SLUICE_LINK_CONNECT6,
};

#define ABI_UNREAD 0xffffffffU /* the config map could not be read */

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int bpffs_ensure(const char *pin_dir)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (on_bpffs(parent))
		return 0;
	if (strcmp(parent, BPFFS_MOUNT)) {
		log_warnx("%s is not on a bpf file system", parent);
		return -EINVAL;
	}
	if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700")) {
		log_warn("mount bpffs at %s", BPFFS_MOUNT);
		return -errno;
	}
	log_info("mounted bpffs at %s", BPFFS_MOUNT);
	return 0;
}

/* The pin directory must be a real directory (never a symlink) on bpffs. */
static int pin_dir_prepare(const char *pin_dir, bool *existed)
{
	struct stat st;

	if (lstat(pin_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			log_warnx("pin dir %s exists and is not a directory", pin_dir);
			return -ENOTDIR;
		}
		if (!on_bpffs(pin_dir)) {
			log_warnx("pin dir %s is not on a bpf file system", pin_dir);
			return -EINVAL;
		}
		*existed = true;
		return 0;
	}
	if (mkdir(pin_dir, 0700)) {
		log_warn("create pin dir %s", pin_dir);
		return -errno;
	}
	*existed = false;
	return 0;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Check what a previous run pinned and report the table size it was made
 * with. 0: a complete set of ours, to adopt. -ESTALE: the set a start
 * left when it was killed before it stamped the ABI version (no config
 * map, or one still all zero), which is not ours yet. Any other error:
 * refuse.
 */
static int check_pins(const char *pin_dir, __u32 *dest_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), abi = ABI_UNREAD;
	struct sluice_maps m;
	size_t i;
	int err;

	if (!pin_present(pin_dir, SLUICE_MAP_CONFIG)) {
		for (i = 0; i < N_MAPS; i++)
			if (pin_present(pin_dir, map_names[i]))
				return -ESTALE;
		return -ENOENT;
	}
	err = sluice_maps_open(pin_dir, &m, &abi);
	if (err == -EPROTO && abi == 0)
		return -ESTALE; /* no version was ever 0 */
	if (err == -EPROTO && abi == ABI_UNREAD) {
		log_warnx("the config map pinned at %s has another layout (another version of "
			  "sluice, or not sluice's); refusing to adopt it, left untouched "
			  "(sluiced --uninstall removes it)", pin_dir);
		return err;
	}
	if (err == -EPROTO) {
		log_warnx("pinned maps at %s have ABI version %u, this sluiced speaks %u; "
			  "they are left untouched (sluiced --uninstall removes them)",
			  pin_dir, abi, SLUICE_ABI_VERSION);
		return err;
	}
	if (err) {
		log_warnx("pins at %s are not sluice's maps (%s); refusing to adopt them",
			  pin_dir, strerror(-err));
		return -EINVAL;
	}
	if (bpf_obj_get_info_by_fd(m.dest, &info, &len) == 0)
		*dest_size = info.max_entries;
	sluice_maps_close(&m);
	return 0;
}

/* Is the map pinned at pin_dir/name one a sluice made? libbpf names each
 * map after its pin, and a map of another tool is never removed. */
static bool pinned_map_is_ours(const char *pin_dir, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	bool ours;
	int fd;

	if (pin_path(path, sizeof(path), pin_dir, name))
		return false;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT;
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       !strncmp(info.name, name, sizeof(info.name) - 1);
	close(fd);
	return ours;
}

/* Remove the maps of an interrupted start; the links stay (see above). */
static int remove_incomplete(const char *pin_dir)
{
	int fd, err;
	size_t i;

	for (i = 0; i < N_MAPS; i++) {
		if (!pinned_map_is_ours(pin_dir, map_names[i])) {
			log_warnx("pins at %s are not sluice's maps (%s is another map); "
				  "refusing to adopt or remove them", pin_dir, map_names[i]);
			return -EINVAL;
		}
	}
	fd = pin_dir_open(pin_dir);
	if (fd < 0)
		return fd;
	err = pin_remove_names(fd, pin_dir, map_names, N_MAPS);
	close(fd);
	if (!err)
		log_info("removed the maps an interrupted start left at %s; pinning anew",
			 pin_dir);
	return err;
}

/* Pin a new set of maps, the config map last (see map_names). On error,
 * the ones pinned here are unpinned again, and nothing else. */
static int pin_new_maps(struct loader *l, const char *pin_dir)
{
	struct bpf_map *maps[N_MAPS];
	char path[PATH_MAX];
	size_t i, n;
	int err = 0;

	for (n = 0; n < N_MAPS; n++) {
		maps[n] = bpf_object__find_map_by_name(l->skel->obj, map_names[n]);
		err = maps[n] ? pin_path(path, sizeof(path), pin_dir, map_names[n]) : -ENOENT;
		if (!err)
			err = bpf_obj_pin(bpf_map__fd(maps[n]), path) ? -errno : 0;
		if (err) {
			log_warnx("pin %s/%s: %s", pin_dir, map_names[n], strerror(-err));
			break;
		}
	}
	if (!err)
		return 0;
	for (i = 0; i < n; i++) {
		pin_path(path, sizeof(path), pin_dir, map_names[i]);
		unlink(path);
	}
	return err;
}

static int config_init(int fd)
{
	struct sluice_config cfg = { .abi_version = SLUICE_ABI_VERSION, .ctl_gen = 1 };
	__u32 zero = 0;

	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int loader_load(struct loader *l, const char *pin_dir, __u32 dest_table_size)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	__u32 size = dest_table_size;
	bool existed;
	int err;

	memset(l, 0, sizeof(*l));
	l->maps = (struct sluice_maps)SLUICE_MAPS_INIT;
	err = bpffs_ensure(pin_dir);
	if (err)
		return err;
	err = pin_dir_prepare(pin_dir, &existed);
	if (err)
		return err;
	err = existed ? check_pins(pin_dir, &size) : -ENOENT;
	if (err == -ESTALE)
		err = remove_incomplete(pin_dir);
	else if (err == 0)
		l->adopted = true;
	else if (err == -ENOENT)
		err = 0;
	if (err)
		return err;
	if (l->adopted && size != dest_table_size)
		log_warnx("destination table keeps its pinned size %u; "
			  "a new size takes effect after sluiced --uninstall", size);

	l->skel = sluice_bpf__open();
	if (!l->skel) {
		err = -errno;
		log_warnx("open BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(l->skel->maps.sluice_dest, size);
	bpf_map__set_max_entries(l->skel->maps.sluice_dest_ctl, size);
	bpf_map__set_max_entries(l->skel->maps.sluice_signals, size);
	/* Adopting: libbpf reuses each pinned map (checking its type and
	 * sizes). A new set is pinned only once it is stamped, below. */
	bpf_object__for_each_map(map, l->skel->obj) {
		if (!l->adopted || bpf_map__is_internal(map))
			continue;
		err = pin_path(path, sizeof(path), pin_dir, bpf_map__name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			goto err_close;
	}
	err = sluice_bpf__load(l->skel);
	if (err) {
		log_warnx("load BPF programs: %s", strerror(-err));
		goto err_close;
	}
	l->maps.config = bpf_map__fd(l->skel->maps.sluice_config);
	l->maps.policy = bpf_map__fd(l->skel->maps.sluice_policy);
	l->maps.dest = bpf_map__fd(l->skel->maps.sluice_dest);
	l->maps.dest_ctl = bpf_map__fd(l->skel->maps.sluice_dest_ctl);
	l->maps.signals = bpf_map__fd(l->skel->maps.sluice_signals);
	l->maps.stats = bpf_map__fd(l->skel->maps.sluice_stats);
	l->maps.events = bpf_map__fd(l->skel->maps.sluice_events);
	l->maps.classify = bpf_map__fd(l->skel->maps.sluice_classify);
	/* Adopted maps re-resolve once, so every destination reads its
	 * control values through the new programs. New maps get our ABI
	 * version before any of them is pinned. */
	if (l->adopted)
		err = sluice_ctl_gen_bump(l->maps.config);
	else
		err = config_init(l->maps.config) ?: pin_new_maps(l, pin_dir);
	if (err)
		goto err_close;
	log_info("%s maps at %s", l->adopted ? "adopted" : "pinned", pin_dir);
	return 0;

err_close:
	sluice_bpf__destroy(l->skel);
	l->skel = NULL;
	return err;
}

void loader_close(struct loader *l)
{
	sluice_bpf__destroy(l->skel); /* pins stay: they are the state */
	l->skel = NULL;
}

int loader_changed_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.sluice_changed);
}

int loader_tc_prog_fd(const struct loader *l)
{
	return bpf_program__fd(l->skel->progs.sluice_tc_egress);
}

int loader_unpin_all(const char *pin_dir)
{
	int fd = pin_dir_open(pin_dir), err, e;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	err = pin_remove_names(fd, pin_dir, map_names, N_MAPS);
	e = pin_remove_names(fd, pin_dir, link_names, sizeof(link_names) / sizeof(link_names[0]));
	err = err ? err : e;
	close(fd);
	/* rmdir never follows a link, and pin_dir_open has refused one. */
	if (rmdir(pin_dir) && errno != ENOENT) {
		if (errno == ENOTEMPTY)
			log_warnx("left %s in place: it holds files that are not sluice's", pin_dir);
		else
			log_warn("remove %s", pin_dir);
	}
	return err;
}
