/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decision log: every rate change, breaker transition and ladder step,
 * with the signals behind it, goes to the sluice_events ring (which
 * `sluicectl events` reads) and, one line each, to sluiced's own log.
 */
#ifndef SLUICED_DECISION_LOG_H
#define SLUICED_DECISION_LOG_H

#include "sluice/abi.h"

/* The wall clock, as events carry it. */
__u64 decision_log_now_ns(void);

/*
 * Number ev after *seq, stamp it with the wall clock unless it carries the
 * time it was decided, and write it to its slot of the ring; *seq becomes
 * its number. Returns 0 or -errno (the ring and *seq are then as they
 * were).
 */
int decision_log_append(int events_fd, __u64 *seq, struct sluice_event *ev);

/* One line for sluiced's log; pressure as the controller holds it. */
void decision_log_print(const struct sluice_event *ev, double pressure);

#endif
