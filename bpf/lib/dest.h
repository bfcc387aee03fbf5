/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Finding a destination's entry. The per-packet path is one hash lookup:
 * each entry caches its control values together with the generation
 * (sluice_config.ctl_gen) they were read at. When user space changes a
 * policy or an override it moves the generation, and the next packet to
 * each destination re-resolves through the policy trie. Destinations no
 * policy covers have no entry; the TC program remembers them apart
 * (unmatched.h), at the generation too.
 */
#ifndef SLUICE_BPF_DEST_H
#define SLUICE_BPF_DEST_H

#include "compat.h"
#include "maps.h"
#include "sluice/bucket.h"

/* What a new destination entry starts from. */
static const struct sluice_dest dest_empty;

static __always_inline struct sluice_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sluice_config, &zero);
}

/*
 * Has the daemon stopped renewing its lease? Then a policy that fails open
 * stops limiting; one that fails closed keeps the last rates it was given.
 */
static __always_inline bool lease_lapsed(const struct sluice_config *cfg,
					 const struct sluice_dest *d, __u64 now)
{
	return d->fail_mode == SLUICE_FAIL_OPEN && cfg && cfg->lease_expires_ns &&
	       now > cfg->lease_expires_ns;
}

/* Copy control values into an entry, and derive the bucket's times. */
static __always_inline void dest_apply_ctl(struct sluice_dest *d,
					   const struct sluice_policy *pol,
					   const struct sluice_dest_ctl *ovr,
					   __u64 gen)
{
	__u64 rate = ovr ? ovr->rate_Bps : pol->rate_Bps;
	__u32 burst = ovr ? ovr->burst_bytes : pol->burst_bytes;
	__u32 mark = ovr ? ovr->mark_thresh : pol->mark_thresh;

	d->rate_Bps = rate;
	d->burst_bytes = burst;
	d->mark_thresh = mark;
	d->cwnd_clamp = ovr ? ovr->cwnd_clamp : 0;
	d->breaker = ovr ? ovr->breaker : SLUICE_BREAKER_CLOSED;
	d->ladder = ovr ? ovr->ladder : 0;
	d->probe_gap_ns = ovr ? ovr->probe_gap_ns : 0;
	if (ovr)
		__builtin_memcpy(d->class_pct, ovr->class_pct, sizeof(d->class_pct));
	else
		__builtin_memset(d->class_pct, 0, sizeof(d->class_pct));
	d->ns_per_byte_q16 = sluice_ns_per_byte_q16(rate);
	d->burst_ticks = sluice_bytes_to_ticks(burst, rate);
	d->mark_ticks = sluice_bytes_to_ticks(mark, rate);
	d->policy_id = pol->id;
	d->mode = pol->mode;
	d->fail_mode = pol->fail_mode;
	d->flags = SLUICE_DEST_F_MATCHED | (ovr ? SLUICE_DEST_F_OVERRIDE : 0);
	d->ctl_gen = gen;
}

/*
 * The entry for a destination at generation gen, created or refreshed as
 * needed. NULL when no policy covers the address (unmatched traffic takes
 * no table space; *no_policy is then set, when given) or when the table
 * refuses the entry.
 */
static __always_inline struct sluice_dest *dest_lookup_gen(const struct sluice_addr *a,
							   __u64 gen, bool *no_policy)
{
	struct sluice_lpm_key key = { .prefixlen = 128 };
	const struct sluice_dest_ctl *ovr;
	const struct sluice_policy *pol;
	struct sluice_dest *d;

	d = bpf_map_lookup_elem(&sluice_dest, a);
	if (likely(d && d->ctl_gen == gen)) {
		if (d->flags & SLUICE_DEST_F_MATCHED)
			return d;
		if (no_policy)
			*no_policy = true;
		return NULL;
	}

	key.addr = *a;
	pol = bpf_map_lookup_elem(&sluice_policy, &key);
	if (!pol) {
		if (d) {
			/* Its policy is gone: the entry stays for its counters. */
			d->flags = 0;
			d->ctl_gen = gen;
		}
		if (no_policy)
			*no_policy = true;
		return NULL;
	}
	ovr = bpf_map_lookup_elem(&sluice_dest_ctl, a);
	if (d) {
		dest_apply_ctl(d, pol, ovr, gen);
		return d;
	}

	/* A new entry starts empty and takes its values in place: the
	 * entry is too big for the stack beside the callers' frames. Until
	 * then its generation (0) matches no configured one, so a packet on
	 * another CPU that finds it resolves it the same way. */
	if (bpf_map_update_elem(&sluice_dest, a, &dest_empty, BPF_NOEXIST) == 0)
		stat_inc(SLUICE_STAT_DEST_NEW);
	d = bpf_map_lookup_elem(&sluice_dest, a);
	if (!d) {
		stat_inc(SLUICE_STAT_DEST_ERR);
		return NULL;
	}
	if (d->ctl_gen != gen || !(d->flags & SLUICE_DEST_F_MATCHED))
		dest_apply_ctl(d, pol, ovr, gen);
	return d;
}

/* The current generation: read once, so that every decision about one
 * packet or callback is made at the same one. */
static __always_inline __u64 ctl_gen_of(const struct sluice_config *cfg)
{
	return cfg ? READ_ONCE(cfg->ctl_gen) : 0;
}

static __always_inline struct sluice_dest *dest_lookup(const struct sluice_config *cfg,
						       const struct sluice_addr *a)
{
	return dest_lookup_gen(a, ctl_gen_of(cfg), NULL);
}

static __always_inline struct sluice_dest *dest_get(const struct sluice_addr *a)
{
	return dest_lookup(config_get(), a);
}

#endif
