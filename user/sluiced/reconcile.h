/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bringing the policy trie in line with the config file. Policies from the
 * file carry SLUICE_POLICY_F_CONFIG: those the file no longer names are
 * removed, the rest are added or updated. Policies an operator added with
 * sluicectl are never touched, unless the file now names their prefix.
 */
#ifndef SLUICED_RECONCILE_H
#define SLUICED_RECONCILE_H

#include "lib/maps.h"
#include "sluiced/config.h"

struct reconcile_stats {
	int added, updated, removed, kept;
};

/* Make sluice_classify and the class shares what the config says.
 * Caller holds sluice_lock(). Returns 0 or -errno. */
int reconcile_classes(const struct sluice_maps *m, const struct sluiced_config *c);

/*
 * All or nothing: the whole new set is checked to fit the table before
 * anything changes (-ENOSPC, nothing changed), and a write that fails part
 * way puts the previous set back, ids and all, and says so in the log.
 * Caller holds sluice_lock(). Returns 0 or -errno.
 */
int reconcile_policies(const struct sluice_maps *m, const struct sluiced_config *c,
		       struct reconcile_stats *st);

#endif
