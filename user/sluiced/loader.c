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
#include "sluice.skel.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define BPFFS_MOUNT "/sys/fs/bpf"

/* Every file sluice pins, and nothing else is ever removed. */
static const char *const pinned_names[] = {
	SLUICE_MAP_CONFIG, SLUICE_MAP_POLICY,  SLUICE_MAP_DEST, SLUICE_MAP_DEST_CTL,
	SLUICE_MAP_SIGNALS, SLUICE_MAP_STATS, SLUICE_MAP_EVENTS, SLUICE_MAP_CLASSIFY, "sluice_sk",
	SLUICE_LINK_SOCKOPS, SLUICE_LINK_CONNECT4, SLUICE_LINK_CONNECT6,
};

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

/* Check what a previous run pinned; report the table size it was made with. */
static int check_pins(const char *pin_dir, __u32 *dest_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), abi = 0;
	struct sluice_maps m;
	int err;

	err = sluice_maps_open(pin_dir, &m, &abi);
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
	char path[PATH_MAX], cfg_path[PATH_MAX];
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
	err = pin_path(cfg_path, sizeof(cfg_path), pin_dir, SLUICE_MAP_CONFIG);
	if (err)
		return err;
	if (existed && access(cfg_path, F_OK) == 0) {
		err = check_pins(pin_dir, &size);
		if (err)
			return err;
		if (size != dest_table_size)
			log_warnx("destination table keeps its pinned size %u; "
				  "a new size takes effect after sluiced --uninstall", size);
		l->adopted = true;
	}

	l->skel = sluice_bpf__open();
	if (!l->skel) {
		err = -errno;
		log_warnx("open BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(l->skel->maps.sluice_dest, size);
	bpf_map__set_max_entries(l->skel->maps.sluice_dest_ctl, size);
	bpf_map__set_max_entries(l->skel->maps.sluice_signals, size);
	bpf_object__for_each_map(map, l->skel->obj) {
		if (bpf_map__is_internal(map))
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
	/* New maps get our ABI version; adopted ones re-resolve once, so every
	 * destination reads its control values through the new programs. */
	err = l->adopted ? sluice_ctl_gen_bump(l->maps.config) : config_init(l->maps.config);
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

int loader_tc_prog_fd(const struct loader *l)
{
	return bpf_program__fd(l->skel->progs.sluice_tc_egress);
}

int loader_unpin_all(const char *pin_dir)
{
	char path[PATH_MAX];
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(pinned_names) / sizeof(pinned_names[0]); i++) {
		if (pin_path(path, sizeof(path), pin_dir, pinned_names[i]))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT) {
			log_warn("remove %s", path);
			err = -errno;
		}
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		if (errno == ENOTEMPTY)
			log_warnx("left %s in place: it holds files that are not sluice's", pin_dir);
		else
			log_warn("remove %s", pin_dir);
	}
	return err;
}
