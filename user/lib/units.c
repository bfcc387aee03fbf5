// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/units.h"

struct unit {
	const char *name;
	double scale;
};

/* Rates are stored in bytes per second: bit units divide by 8. */
static const struct unit rate_units[] = {
	{ "", 1.0 / 8 },	{ "bit", 1.0 / 8 },  { "kbit", 1e3 / 8 },
	{ "mbit", 1e6 / 8 },	{ "gbit", 1e9 / 8 }, { "tbit", 1e12 / 8 },
	{ "bps", 1 },		{ "kbps", 1e3 },     { "mbps", 1e6 },
	{ "gbps", 1e9 },	{ "tbps", 1e12 },
};

static const struct unit size_units[] = {
	{ "", 1 },		  { "b", 1 },		   { "k", 1024 },
	{ "kb", 1024 },		  { "m", 1048576 },	   { "mb", 1048576 },
	{ "g", 1073741824.0 },	  { "gb", 1073741824.0 },  { "kbit", 1024 / 8.0 },
	{ "mbit", 1048576 / 8.0 }, { "gbit", 1073741824.0 / 8 },
};

static const struct unit time_units[] = {
	{ "", 1e6 }, { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
};

/* A non-negative finite number followed by one of the units. */
static int parse_scaled(const char *s, const struct unit *units, size_t n, double *out)
{
	char *end;
	double v;
	size_t i;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	/* strtod also takes "inf", "nan" and hex floats: digits only here. */
	for (const char *c = s; c < end; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.'))
			return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!strcasecmp(end, units[i].name)) {
			*out = v * units[i].scale;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_rate(const char *s, __u64 *bytes_per_sec)
{
	double v;

	if (parse_scaled(s, rate_units, sizeof(rate_units) / sizeof(rate_units[0]), &v))
		return -EINVAL;
	if (v >= 1.8e19)
		return -EINVAL;
	*bytes_per_sec = (__u64)(v + 0.5); /* llround overflows past 2^63 */
	return 0;
}

int parse_size(const char *s, __u32 *bytes)
{
	double v;

	if (parse_scaled(s, size_units, sizeof(size_units) / sizeof(size_units[0]), &v))
		return -EINVAL;
	if (v > 4294967295.0)
		return -EINVAL;
	*bytes = (__u32)llround(v);
	return 0;
}

int parse_duration_ns(const char *s, __u64 *ns)
{
	double v;

	if (parse_scaled(s, time_units, sizeof(time_units) / sizeof(time_units[0]), &v))
		return -EINVAL;
	if (v >= 1.8e19)
		return -EINVAL;
	*ns = (__u64)(v + 0.5);
	return 0;
}

/* Print v with up to two decimals, without trailing zeros. */
static void print_trimmed(char *buf, size_t len, double v, const char *unit)
{
	char num[64], *dot, *end;

	snprintf(num, sizeof(num), "%.2f", v);
	dot = strchr(num, '.');
	if (dot) {
		end = num + strlen(num) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
	snprintf(buf, len, "%s%s", num, unit);
}

char *format_rate(char *buf, size_t len, __u64 bytes_per_sec)
{
	static const char *names[] = { "bit", "Kbit", "Mbit", "Gbit", "Tbit" };
	double bits = (double)bytes_per_sec * 8;
	int i = 0;

	while (bits >= 1000 && i < 4) {
		bits /= 1000;
		i++;
	}
	print_trimmed(buf, len, bits, names[i]);
	return buf;
}

/* The largest unit that divides the size exactly, so that it parses back. */
char *format_size(char *buf, size_t len, __u64 bytes)
{
	static const char *names[] = { "b", "Kb", "Mb", "Gb" };
	int i = 0;

	while (i < 3 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)bytes, names[i]);
	return buf;
}
