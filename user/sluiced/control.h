/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The control loop: every interval, each destination's signals go through
 * its policy's controller and its breaker, and the resulting control values
 * are published to the datapath (sluice_dest_ctl), with an event for every
 * decision worth explaining. It also renews the daemon's lease.
 */
#ifndef SLUICED_CONTROL_H
#define SLUICED_CONTROL_H

#include "lib/maps.h"
#include "lib/signals.h"

struct control;

/* changed_fd: sluice_changed, the ring of destinations whose signals moved. */
struct control *control_new(const struct sluice_maps *m, int changed_fd, const char *pin_dir);
void control_free(struct control *c);
/* One interval. Returns 0 or -errno. */
int control_tick(struct control *c, __u64 now_ns, __u64 interval_ns);

#endif
