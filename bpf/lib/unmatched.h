/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Destinations no policy covers, remembered so that their packets skip the
 * table and the trie. Every packet of the host crosses the TC program,
 * regulated or not, and for one that no policy covers the hash lookup and
 * the trie lookup that say so cost 40 ns together on this project's
 * machines, where each call into the kernel costs about 10 ns (the kernel
 * guards every return against SRSO). Here it is one load from a plain
 * array, with no call at all.
 *
 * A slot holds an address and the ctl_gen it was found unmatched at. Every
 * policy change moves ctl_gen, and the next packet to each remembered
 * destination looks its policy up again, as entries of sluice_dest
 * re-resolve: a policy added later takes effect at the destination's next
 * packet after the move.
 *
 * One direct-mapped set of slots per CPU, read and written only by the TC
 * program. A TC program cannot be interrupted by another on its CPU (it
 * runs with bottom halves off), so a slot is never seen half written and
 * needs no atomics. The array lives in .bss: the program's own memory,
 * never pinned, never read by user space, and empty after every load. CPUs
 * numbered UNMATCHED_CPUS and above have no slots and take both lookups.
 */
#ifndef SLUICE_BPF_UNMATCHED_H
#define SLUICE_BPF_UNMATCHED_H

#include "compat.h"
#include "sluice/abi.h"

#define UNMATCHED_CPUS      128
#define UNMATCHED_SLOT_BITS 9 /* 512 slots per CPU, 16 KiB; 2 MiB in all */

struct unmatched_slot {
	struct sluice_addr addr;
	__u64 tag; /* ctl_gen + 1 when the address was found unmatched; 0: empty */
	__u64 pad; /* two slots per cache line */
};

static struct unmatched_slot sluice_unmatched[UNMATCHED_CPUS][1 << UNMATCHED_SLOT_BITS];

/* The slot an address would use on this CPU, or NULL on a CPU without. */
static __always_inline struct unmatched_slot *unmatched_slot(const struct sluice_addr *a)
{
	__u32 cpu = bpf_get_smp_processor_id();
	/* Fibonacci hashing of the folded address: consecutive addresses,
	 * the usual neighbours, land in different slots. */
	__u32 h = (a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3]) * 0x9e3779b1U;

	if (cpu >= UNMATCHED_CPUS)
		return NULL;
	return &sluice_unmatched[cpu][h >> (32 - UNMATCHED_SLOT_BITS)];
}

/* Was the address found unmatched at this generation? */
static __always_inline bool unmatched_known(const struct unmatched_slot *s,
					    const struct sluice_addr *a, __u64 gen)
{
	return s->tag == gen + 1 && s->tag &&
	       !((s->addr.w[0] ^ a->w[0]) | (s->addr.w[1] ^ a->w[1]) |
		 (s->addr.w[2] ^ a->w[2]) | (s->addr.w[3] ^ a->w[3]));
}

static __always_inline void unmatched_remember(struct unmatched_slot *s,
					       const struct sluice_addr *a, __u64 gen)
{
	s->addr = *a;
	s->tag = gen + 1;
}

#endif
