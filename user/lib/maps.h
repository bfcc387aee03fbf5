/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Opening sluice's pinned maps, as sluicectl and a restarting sluiced do.
 * Every open checks that each pin is a map of the expected type and sizes
 * and that the config map carries our ABI version, so a stale or foreign
 * pin directory is refused rather than misread.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <stdbool.h>
#include "sluice/abi.h"

struct sluice_maps {
	int config;
	int policy;
	int dest;
	int dest_ctl;
	int signals;
	int stats;
	int events;
	int classify;
};

#define SLUICE_MAPS_INIT { -1, -1, -1, -1, -1, -1, -1, -1 }

/*
 * Open all pinned maps under pin_dir. Returns 0, -ENOENT when nothing is
 * pinned there, -EPROTO on an ABI version mismatch (the found version is
 * stored in *found_abi when non-NULL), -EINVAL when a pin is not the map
 * sluice expects, or another -errno. On error no fd is left open.
 */
int sluice_maps_open(const char *pin_dir, struct sluice_maps *m, __u32 *found_abi);
void sluice_maps_close(struct sluice_maps *m);

/*
 * Serialise writers (sluicectl, sluiced) on one pin directory: an exclusive
 * flock on the directory itself. Returns the fd to pass to sluice_unlock(),
 * or -errno.
 */
int sluice_lock(const char *pin_dir);
/* The same lock, waiting at most timeout_ns: -EWOULDBLOCK when another
 * process held it all that time (a sluicectl stopped with Ctrl-Z). */
int sluice_lock_timeout(const char *pin_dir, __u64 timeout_ns);
void sluice_unlock(int fd);

/* Make every destination re-read its control values (see abi.h). */
int sluice_ctl_gen_bump(int config_fd);
int sluice_config_read(int config_fd, struct sluice_config *cfg);

/* Sum of one global counter over all CPUs. */
int sluice_stat_read(int stats_fd, __u32 idx, __u64 *value);

#endif
