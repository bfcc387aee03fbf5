/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rates and sizes as tc(8) writes them. Rates: a number with bit, kbit,
 * mbit, gbit, tbit (bits per second, SI), or bps, kbps, mbps, gbps, tbps
 * (bytes per second); a bare number is bits per second. Sizes: b, k/kb,
 * m/mb, g/gb (binary, as tc: 1kb = 1024 bytes), or kbit, mbit, gbit.
 * Parsers return 0 or -EINVAL and leave *out untouched on error.
 */
#ifndef SLUICE_UNITS_H
#define SLUICE_UNITS_H

#include <stddef.h>
#include <linux/types.h>

int parse_rate(const char *s, __u64 *bytes_per_sec);
int parse_size(const char *s, __u32 *bytes);
/* Durations: ns, us, ms, s; a bare number is milliseconds. */
int parse_duration_ns(const char *s, __u64 *ns);

/* "50Mbit", "1.5Gbit", "800bit": shortest exact-enough form. */
char *format_rate(char *buf, size_t len, __u64 bytes_per_sec);
/* "64Kb", "1500b". */
char *format_size(char *buf, size_t len, __u64 bytes);

#endif
