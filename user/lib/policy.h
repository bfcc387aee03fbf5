/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy operations shared by sluicectl and sluiced. Each writes the policy
 * trie and then moves the control generation, so destinations pick the
 * change up at their next packet. Callers hold sluice_lock().
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include "lib/maps.h"

/* Default bucket depth: 10 ms at the rate, and never less than two
 * 64 KiB GSO super-packets, or a full-size one could never pass. */
#define SLUICE_BURST_TIME_NS  10000000ULL
#define SLUICE_BURST_MIN      (128 * 1024U)

/*
 * Policy values and their defaults:
 *  - static controller: rate_Bps is the limit; min and max are unused.
 *  - adaptive controllers (aimd, gradient): the rate moves between
 *    min_Bps and max_Bps, starting at rate_Bps. max defaults to rate and
 *    rate to max; min defaults to max / 100 (at least 1kbit).
 *  - burst defaults to 10 ms at the highest rate the policy allows, and
 *    the ECN mark threshold to a quarter of the burst.
 * An operator who names only a rate gets a static limit; naming min or max
 * without a controller selects the gradient law.
 */
#define SLUICE_RATE_MAX_BPS 1000000000000ULL /* 8 Tbit/s */

/* Fill what the operator left out (see above). */
void policy_fill_defaults(struct sluice_policy *p);
/* Check a policy's values; on error, *why names the problem. */
int policy_validate(const struct sluice_policy *p, const char **why);

/* Add or replace the policy for a prefix. A replaced policy keeps its id. */
int policy_put(const struct sluice_maps *m, const struct sluice_lpm_key *k,
	       struct sluice_policy *p);
/* Remove a prefix's policy; -ENOENT when there is none. */
int policy_del(const struct sluice_maps *m, const struct sluice_lpm_key *k);
int policy_get(const struct sluice_maps *m, const struct sluice_lpm_key *k,
	       struct sluice_policy *p);

/* Call fn for every policy, in trie key order; stops at a non-zero return. */
typedef int (*policy_fn)(const struct sluice_lpm_key *k, const struct sluice_policy *p,
			 void *ctx);
int policy_for_each(const struct sluice_maps *m, policy_fn fn, void *ctx);

const char *mode_name(__u16 mode);
int parse_mode(const char *s, __u16 *mode);

#endif
