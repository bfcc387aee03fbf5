// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The pin directory: opening its maps with errors an operator can act on,
 * the writers' lock, and table fullness.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "sluicectl/sluicectl.h"

#define ABI_UNKNOWN 0xffffffffU

/* -ENOENT from sluice_maps_open: nothing pinned, or only part of it. */
static int report_missing(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, SLUICE_MAP_CONFIG);
	if (access(path, F_OK) == 0)
		return p_err(-ENOENT, "sluice maps at %s are incomplete (a pin is missing)",
			     pin_dir);
	return p_err(-ENOENT, "no sluice maps pinned at %s (is sluiced running?)", pin_dir);
}

/* -EPROTO: the config map carries another version, or has another shape
 * altogether, in which case its version could not be read. */
static int report_abi(__u32 found)
{
	if (found == ABI_UNKNOWN)
		return p_err(-EPROTO,
			     "pinned maps at %s have an unknown layout, this sluicectl speaks ABI version %d",
			     pin_dir, SLUICE_ABI_VERSION);
	return p_err(-EPROTO, "pinned maps at %s have ABI version %u, this sluicectl speaks %d",
		     pin_dir, found, SLUICE_ABI_VERSION);
}

/* Open every map under pin_dir; on error, one message has been printed. */
int pins_open(struct sluice_maps *m)
{
	__u32 found = ABI_UNKNOWN;
	int err;

	err = sluice_maps_open(pin_dir, m, &found);
	switch (err) {
	case 0:
		return 0;
	case -ENOENT:
		return report_missing();
	case -EPROTO:
		return report_abi(found);
	case -EINVAL:
		return p_err(err, "a pin at %s is not the map sluice expects", pin_dir);
	case -EPERM:
	case -EACCES:
		return p_err(err, "cannot open maps at %s: %s (needs root or CAP_BPF)",
			     pin_dir, strerror(-err));
	default:
		return p_err(err, "cannot open maps at %s: %s", pin_dir, strerror(-err));
	}
}

/* Take the writers' lock; returns the fd for sluice_unlock() or -errno. */
int pins_lock(void)
{
	int fd = sluice_lock(pin_dir);

	if (fd < 0)
		return p_err(fd, "cannot lock %s: %s", pin_dir, strerror(-fd));
	return fd;
}

/* How many entries a map holds, and how many it can hold. */
int map_fill(int fd, unsigned int *entries, unsigned int *max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), n = 0;
	void *key, *next;
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	key = malloc(info.key_size);
	next = malloc(info.key_size);
	if (!key || !next) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * Not a snapshot: entries come and go while we walk, and a hash
	 * restarts from its first key when ours was just deleted. The bound
	 * keeps such a walk finite on a busy table.
	 */
	for (; n < info.max_entries; n++) {
		if (bpf_map_get_next_key(fd, n ? key : NULL, next)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		memcpy(key, next, info.key_size);
	}
	*entries = n;
	*max_entries = info.max_entries;
out:
	free(key);
	free(next);
	return err;
}

/* The clock bpf_ktime_get_ns() reads, so bucket times compare directly. */
unsigned long long now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
