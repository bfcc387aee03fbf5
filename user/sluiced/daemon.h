/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The running daemon: what it has attached, and its lifecycle steps. */
#ifndef SLUICED_DAEMON_H
#define SLUICED_DAEMON_H

#include "sluiced/config.h"
#include "sluiced/loader.h"
#include "sluiced/control.h"
#include "sluiced/attach.h"

struct daemon {
	struct sluiced_config cfg;
	const char *config_path;   /* NULL: command line only */
	struct loader ld;
	struct control *control;
	struct tc_place tc;        /* where our TC filters sit, fixed at start */
	char attached_ifaces[SLUICED_MAX_IFACES][IF_NAMESIZE];
	bool iface_found[SLUICED_MAX_IFACES]; /* ours already when we started */
	int n_attached;
	char attached_cgroup[PATH_MAX]; /* "" when sock_ops is not attached */
	enum link_state {
		LINK_NONE,         /* not attached by this run */
		LINK_NEW,          /* attached by this run */
		LINK_TAKEN_OVER,   /* a previous run's, pointed at our program */
	} cgroup_links[3];         /* sock_ops, connect4, connect6 */
};

/*
 * Load or adopt, apply the config's policies, attach. A start that fails
 * leaves what a previous run attached as it was, and removes only what it
 * attached itself.
 */
int daemon_start(struct daemon *d);
/* Apply a newly read config: policies, interfaces, cgroup. */
int daemon_apply(struct daemon *d, const struct sluiced_config *next);
/* One control interval: read signals, run the controllers. */
void daemon_tick(struct daemon *d);
/* Detach everything; the map pins stay for the next start. */
void daemon_stop(struct daemon *d);
/* Detach and remove the pins: sluice leaves nothing behind. */
int daemon_uninstall(const struct sluiced_config *c);

#endif
