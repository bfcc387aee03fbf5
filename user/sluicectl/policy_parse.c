// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Parsing "policy add" arguments into a policy that is complete and valid
 * before any map is opened, so that a typo can never leave half an update
 * behind. Every error names the offending word and quotes it as typed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/policy.h"
#include "lib/units.h"
#include "sluice/bucket.h"
#include "sluicectl/sluicectl.h"

/*
 * Above this rate a byte costs less than 2^-16 ns in the datapath's fixed
 * point and rounds to 0, which the bucket reads as rate 0: pass nothing.
 */
#define RATE_MAX_BYTES_PER_SEC (2 * (SLUICE_NSEC_PER_SEC << 16))

/*
 * Would the prefix be valid with its host bits cleared? If so, *k gets
 * that prefix, to suggest it. Mirrors parse_prefix(): an IPv4 address
 * without ':' counts its length from bit 96.
 */
static int host_bits_hint(const char *s, struct sluice_lpm_key *k)
{
	char buf[SLUICE_ADDR_STRLEN], *slash, *end;
	unsigned long len;
	__u8 *b;
	bool v4;
	__u32 i;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	*slash = '\0';
	if (parse_addr(buf, &k->addr))
		return -EINVAL;
	v4 = addr_is_v4(&k->addr) && !strchr(buf, ':');
	len = strtoul(slash + 1, &end, 10);
	if (*end || len > (v4 ? 32UL : 128UL))
		return -EINVAL;
	k->prefixlen = v4 ? 96 + len : len;
	b = (__u8 *)&k->addr;
	for (i = k->prefixlen; i < 128; i++)
		b[i / 8] &= ~(0x80 >> (i % 8));
	return 0;
}

int parse_prefix_arg(const char *s, struct sluice_lpm_key *k)
{
	char hint[SLUICE_ADDR_STRLEN];
	struct sluice_lpm_key masked;

	if (!parse_prefix(s, k))
		return 0;
	if (!host_bits_hint(s, &masked))
		return p_usage("invalid prefix '%s': host bits set (did you mean %s?)", s,
			       format_prefix(hint, sizeof(hint), &masked));
	return p_usage("invalid prefix '%s'", s);
}

static int kw_rate(const char *v, struct sluice_policy *p)
{
	char max[32];
	__u64 r;

	if (parse_rate(v, &r))
		return p_usage("invalid rate '%s'", v);
	if (r > RATE_MAX_BYTES_PER_SEC)
		return p_usage("invalid rate '%s': above %s, the most the datapath can hold",
			       v, format_rate(max, sizeof(max), RATE_MAX_BYTES_PER_SEC));
	p->rate_Bps = r;
	return 0;
}

static int kw_burst(const char *v, struct sluice_policy *p)
{
	if (parse_size(v, &p->burst_bytes))
		return p_usage("invalid burst '%s'", v);
	return 0;
}

static int kw_ecn(const char *v, struct sluice_policy *p)
{
	if (parse_size(v, &p->mark_thresh))
		return p_usage("invalid ecn threshold '%s'", v);
	return 0;
}

static int kw_mode(const char *v, struct sluice_policy *p)
{
	if (parse_mode(v, &p->mode))
		return p_usage("invalid mode '%s' (enforce or monitor)", v);
	return 0;
}

struct keyword {
	const char *name;
	int (*parse)(const char *val, struct sluice_policy *p);
};

enum { KW_RATE, KW_BURST, KW_ECN, KW_MODE };

static const struct keyword keywords[] = {
	[KW_RATE] = { "rate", kw_rate },
	[KW_BURST] = { "burst", kw_burst },
	[KW_ECN] = { "ecn", kw_ecn },
	[KW_MODE] = { "mode", kw_mode },
	{ NULL, NULL },
};

/* "KEYWORD VALUE ..." pairs; each keyword at most once. */
static int parse_keywords(int argc, char **argv, struct sluice_policy *p)
{
	unsigned int seen = 0;
	int i, err;

	for (; argc > 0; argc -= 2, argv += 2) {
		i = table_match(argv[0], keywords, sizeof(keywords[0]));
		if (i == -ENOTUNIQ)
			return p_usage("ambiguous keyword '%s'", argv[0]);
		if (i < 0)
			return p_usage("unknown keyword '%s'", argv[0]);
		if (seen & (1U << i))
			return p_usage("duplicate keyword '%s'", argv[0]);
		if (argc < 2)
			return p_usage("missing value for '%s'", argv[0]);
		err = keywords[i].parse(argv[1], p);
		if (err)
			return err;
		seen |= 1U << i;
	}
	if (!(seen & (1U << KW_RATE)))
		return p_usage("missing 'rate RATE'");
	return 0;
}

/* PREFIX rate RATE [burst SIZE] [ecn SIZE] [mode MODE] */
int policy_parse_add(int argc, char **argv, struct policy_req *req)
{
	const char *why;
	int err;

	memset(req, 0, sizeof(*req));
	if (argc < 1)
		return p_usage("missing PREFIX");
	err = parse_prefix_arg(argv[0], &req->key);
	if (err)
		return err;
	err = parse_keywords(argc - 1, argv + 1, &req->pol);
	if (err)
		return err;
	/* CLI policies keep flags 0: only the config file sets F_CONFIG. */
	policy_fill_defaults(&req->pol);
	if (policy_validate(&req->pol, &why))
		return p_usage("invalid policy for '%s': %s", argv[0], why);
	return 0;
}
