/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the BPF object and pinning its maps, or adopting the maps a
 * previous sluiced pinned (after checking their ABI version), so that a
 * restart never resets rates, policies or counters.
 */
#ifndef SLUICED_LOADER_H
#define SLUICED_LOADER_H

#include <stdbool.h>
#include "lib/maps.h"

struct sluice_bpf;

struct loader {
	struct sluice_bpf *skel;
	struct sluice_maps maps; /* the loaded object's map fds (not owned) */
	bool adopted;            /* the maps were pinned before we started */
};

/* Mount bpffs at /sys/fs/bpf when pin_dir needs it and it is missing. */
int bpffs_ensure(const char *pin_dir);
/*
 * Load, adopting pins under pin_dir when present. dest_table_size applies
 * to new maps only; adopted maps keep their size. Returns 0 or -errno
 * (-EPROTO: ABI mismatch; -EINVAL: a pin that is not what we expect).
 */
int loader_load(struct loader *l, const char *pin_dir, __u32 dest_table_size);
void loader_close(struct loader *l);
/* Remove our pins (maps and link) from pin_dir, and pin_dir when empty.
 * Files that are not ours are left alone. */
int loader_unpin_all(const char *pin_dir);

int loader_tc_prog_fd(const struct loader *l);
/* sluice_changed, the ring of destinations whose signals moved. */
int loader_changed_fd(const struct loader *l);

#endif
