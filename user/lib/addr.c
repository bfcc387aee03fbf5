// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"

static const __u8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool addr_is_v4(const struct sluice_addr *a)
{
	return !memcmp(a, v4_mapped, sizeof(v4_mapped));
}

int parse_addr(const char *s, struct sluice_addr *a)
{
	struct sluice_addr tmp;

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &tmp.w[3]) == 1) {
		memcpy(&tmp, v4_mapped, sizeof(v4_mapped));
	} else if (inet_pton(AF_INET6, s, &tmp) != 1) {
		return -EINVAL;
	}
	*a = tmp;
	return 0;
}

static bool host_bits_clear(const struct sluice_addr *a, __u32 prefixlen)
{
	const __u8 *b = (const __u8 *)a;
	__u32 i;

	for (i = prefixlen; i < 128; i++)
		if (b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int parse_prefix(const char *s, struct sluice_lpm_key *k)
{
	char buf[SLUICE_ADDR_STRLEN], *slash, *end;
	struct sluice_lpm_key tmp;
	unsigned long len;
	bool v4;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_addr(buf, &tmp.addr))
		return -EINVAL;
	v4 = addr_is_v4(&tmp.addr) && strchr(buf, ':') == NULL;
	if (!slash) {
		len = v4 ? 32 : 128;
	} else {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > (v4 ? 32UL : 128UL))
			return -EINVAL;
	}
	tmp.prefixlen = v4 ? 96 + len : len;
	if (!host_bits_clear(&tmp.addr, tmp.prefixlen))
		return -EINVAL;
	*k = tmp;
	return 0;
}

char *format_addr(char *buf, size_t len, const struct sluice_addr *a)
{
	if (addr_is_v4(a))
		inet_ntop(AF_INET, &a->w[3], buf, len);
	else
		inet_ntop(AF_INET6, a, buf, len);
	return buf;
}

char *format_prefix(char *buf, size_t len, const struct sluice_lpm_key *k)
{
	char a[INET6_ADDRSTRLEN];
	bool v4 = addr_is_v4(&k->addr) && k->prefixlen >= 96;

	format_addr(a, sizeof(a), &k->addr);
	snprintf(buf, len, "%s/%u", a, v4 ? k->prefixlen - 96 : k->prefixlen);
	return buf;
}

bool prefix_contains(const struct sluice_lpm_key *k, const struct sluice_addr *a)
{
	const __u8 *p = (const __u8 *)&k->addr, *b = (const __u8 *)a;
	__u32 i;

	for (i = 0; i < k->prefixlen && i < 128; i++) {
		__u8 m = 0x80 >> (i % 8);

		if ((p[i / 8] & m) != (b[i / 8] & m))
			return false;
	}
	return true;
}
