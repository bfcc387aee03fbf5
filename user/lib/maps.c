// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/maps.h"

struct map_spec {
	const char *name;
	size_t offset;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
};

#define SPEC(field, nm, t, k, v) { nm, offsetof(struct sluice_maps, field), t, k, v }

static const struct map_spec specs[] = {
	SPEC(config, SLUICE_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct sluice_config)),
	SPEC(policy, SLUICE_MAP_POLICY, BPF_MAP_TYPE_LPM_TRIE,
	     sizeof(struct sluice_lpm_key), sizeof(struct sluice_policy)),
	SPEC(dest, SLUICE_MAP_DEST, BPF_MAP_TYPE_LRU_HASH,
	     sizeof(struct sluice_addr), sizeof(struct sluice_dest)),
	SPEC(dest_ctl, SLUICE_MAP_DEST_CTL, BPF_MAP_TYPE_HASH,
	     sizeof(struct sluice_addr), sizeof(struct sluice_dest_ctl)),
	SPEC(signals, SLUICE_MAP_SIGNALS, BPF_MAP_TYPE_LRU_HASH,
	     sizeof(struct sluice_addr), sizeof(struct sluice_signals)),
	SPEC(stats, SLUICE_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8),
	SPEC(events, SLUICE_MAP_EVENTS, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct sluice_event)),
	SPEC(classify, SLUICE_MAP_CLASSIFY, BPF_MAP_TYPE_HASH, sizeof(struct sluice_class_key), 4),
};

static int *slot(struct sluice_maps *m, const struct map_spec *s)
{
	return (int *)((char *)m + s->offset);
}

void sluice_maps_close(struct sluice_maps *m)
{
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int *fd = slot(m, &specs[i]);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* Open one pin and check it is the map we expect. */
static int open_checked(const char *pin_dir, const struct map_spec *s)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, s->name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.type != s->type || info.key_size != s->key_size ||
	    info.value_size != s->value_size) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int sluice_config_read(int config_fd, struct sluice_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(config_fd, &zero, cfg))
		return -errno;
	return 0;
}

int sluice_maps_open(const char *pin_dir, struct sluice_maps *m, __u32 *found_abi)
{
	struct sluice_config cfg;
	size_t i;
	int fd, err;

	*m = (struct sluice_maps)SLUICE_MAPS_INIT;
	/* The config map first: its first field is the ABI version, in
	 * every version, so it can be read before trusting any layout. */
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		fd = open_checked(pin_dir, &specs[i]);
		if (fd < 0) {
			err = fd;
			if (i == 0 && err == -EINVAL) {
				/* config exists but differs: maybe another version */
				err = -EPROTO;
			}
			goto err_close;
		}
		*slot(m, &specs[i]) = fd;
		if (i == 0) {
			err = sluice_config_read(fd, &cfg);
			if (err)
				goto err_close;
			if (found_abi)
				*found_abi = cfg.abi_version;
			if (cfg.abi_version != SLUICE_ABI_VERSION) {
				err = -EPROTO;
				goto err_close;
			}
		}
	}
	return 0;

err_close:
	sluice_maps_close(m);
	return err;
}

int sluice_lock(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int sluice_lock_timeout(const char *pin_dir, __u64 timeout_ns)
{
	struct timespec start, now, nap = { .tv_nsec = 1000000 }; /* 1 ms */
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* flock has no timeout of its own: try, and nap between tries. */
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? 0 : -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!err && (__u64)(now.tv_sec - start.tv_sec) * 1000000000ULL +
				    (__u64)now.tv_nsec - (__u64)start.tv_nsec >= timeout_ns)
			err = -EWOULDBLOCK;
		if (err) {
			close(fd);
			return err;
		}
		nanosleep(&nap, NULL);
	}
	return fd;
}

void sluice_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

int sluice_ctl_gen_bump(int config_fd)
{
	struct sluice_config cfg;
	__u32 zero = 0;
	int err;

	err = sluice_config_read(config_fd, &cfg);
	if (err)
		return err;
	cfg.ctl_gen++;
	if (bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int sluice_stat_read(int stats_fd, __u32 idx, __u64 *value)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 *vals, sum = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(stats_fd, &idx, vals)) {
		free(vals);
		return -errno;
	}
	for (i = 0; i < ncpu; i++)
		sum += vals[i];
	free(vals);
	*value = sum;
	return 0;
}
