/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Removing what sluice pinned, and nothing else. Every removal goes
 * through here: the pin directory must be a real directory (never a
 * symlink) on a bpf file system, and a name is removed only when it is a
 * BPF object (bpf_obj_get opens it) that is neither a link nor a directory.
 */
#ifndef SLUICED_PINS_H
#define SLUICED_PINS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Open pin_dir for removals. Returns a directory fd, -ENOENT when it does
 * not exist, -ELOOP when it is a symlink, -ENOTDIR when it is not a
 * directory, -EXDEV when it is not on bpffs, or another -errno. Each
 * refusal is logged, naming the directory.
 */
int pin_dir_open(const char *pin_dir);

/*
 * Remove dir_fd/name (opened with pin_dir_open). 0, -ENOENT when absent,
 * -EPERM (logged) when it is there but not a BPF object, or -errno.
 */
int pin_remove_at(int dir_fd, const char *pin_dir, const char *name);

/* pin_remove_at for each of n names; absent ones are no error. Returns
 * 0 or the first -errno. */
int pin_remove_names(int dir_fd, const char *pin_dir, const char *const *names, size_t n);

/* pin_dir_open and pin_remove_at together, for one name. */
int pin_remove(const char *pin_dir, const char *name);

/* Is there anything at pin_dir/name (not following a link)? */
bool pin_present(const char *pin_dir, const char *name);

#endif
