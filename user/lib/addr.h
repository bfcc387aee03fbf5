/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Addresses and prefixes in sluice's form: IPv4 stored IPv4-mapped, so an
 * IPv4 /N is a /96+N in the trie. Parsers return 0 or -EINVAL.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include "sluice/abi.h"

#define SLUICE_ADDR_STRLEN 64 /* enough for "ffff:...:ffff/128" */

bool addr_is_v4(const struct sluice_addr *a);
int parse_addr(const char *s, struct sluice_addr *a);
/* "10.0.0.0/8", "2001:db8::/32"; a bare address is a host prefix.
 * Host bits set beyond the prefix length are an error. */
int parse_prefix(const char *s, struct sluice_lpm_key *k);
char *format_addr(char *buf, size_t len, const struct sluice_addr *a);
char *format_prefix(char *buf, size_t len, const struct sluice_lpm_key *k);
/* Does prefix k contain address a? */
bool prefix_contains(const struct sluice_lpm_key *k, const struct sluice_addr *a);

#endif
