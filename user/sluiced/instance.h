/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One sluiced per pin directory. A second daemon on the same maps would
 * take over the first one's links and filters, and tear them down when it
 * failed or stopped while the first believed it still regulated. The
 * guard is an flock on a file under the run directory (bpffs holds no
 * plain files), named after the pin directory and holding the holder's
 * pid, so that the refusal can say who is running.
 */
#ifndef SLUICED_INSTANCE_H
#define SLUICED_INSTANCE_H

#define SLUICED_RUN_DIR_DEFAULT "/run/sluiced"

/*
 * Take the lock for pin_dir without waiting. Returns the fd to keep open
 * while running, -EEXIST when another process holds it (its pid in
 * *holder, 0 when unknown), or another -errno.
 */
int instance_lock(const char *run_dir, const char *pin_dir, long *holder);
/* Release it and remove the file. */
void instance_unlock(int fd, const char *run_dir, const char *pin_dir);

#endif
