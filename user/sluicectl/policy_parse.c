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
#include "lib/reason.h"
#include "lib/units.h"
#include "sluicectl/sluicectl.h"

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

/* One rate, for "rate", "min" and "max". The ceiling is the library's
 * (lib/policy.h), checked here too so that the error quotes the word. */
static int rate_value(const char *what, const char *v, __u64 *out)
{
	char max[32];
	__u64 r;

	if (parse_rate(v, &r))
		return p_usage("invalid %s '%s'", what, v);
	if (r > SLUICE_RATE_MAX_BPS)
		return p_usage("invalid %s '%s': above %s", what, v,
			       format_rate(max, sizeof(max), SLUICE_RATE_MAX_BPS));
	*out = r;
	return 0;
}

static int kw_rate(const char *v, struct sluice_policy *p)
{
	return rate_value("rate", v, &p->rate_Bps);
}

static int kw_min(const char *v, struct sluice_policy *p)
{
	return rate_value("min rate", v, &p->min_Bps);
}

static int kw_max(const char *v, struct sluice_policy *p)
{
	return rate_value("max rate", v, &p->max_Bps);
}

static int kw_controller(const char *v, struct sluice_policy *p)
{
	if (parse_controller(v, &p->controller))
		return p_usage("invalid controller '%s' (static, aimd or gradient)", v);
	return 0;
}

static int kw_fail(const char *v, struct sluice_policy *p)
{
	if (parse_fail_mode(v, &p->fail_mode))
		return p_usage("invalid fail mode '%s' (open or closed)", v);
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

enum { KW_RATE, KW_MIN, KW_MAX, KW_CONTROLLER, KW_FAIL, KW_BURST, KW_ECN, KW_MODE };

#define KW(i) (1U << (i))

static const struct keyword keywords[] = {
	[KW_RATE] = { "rate", kw_rate },
	[KW_MIN] = { "min", kw_min },
	[KW_MAX] = { "max", kw_max },
	[KW_CONTROLLER] = { "controller", kw_controller },
	[KW_FAIL] = { "fail", kw_fail },
	[KW_BURST] = { "burst", kw_burst },
	[KW_ECN] = { "ecn", kw_ecn },
	[KW_MODE] = { "mode", kw_mode },
	{ NULL, NULL },
};

/* "KEYWORD VALUE ..." pairs; each keyword at most once. *seen gets the
 * KW() bits of the keywords given. */
static int parse_keywords(int argc, char **argv, struct sluice_policy *p,
			  unsigned int *seen)
{
	int i, err;

	*seen = 0;
	for (; argc > 0; argc -= 2, argv += 2) {
		i = table_match(argv[0], keywords, sizeof(keywords[0]));
		if (i == -ENOTUNIQ)
			return p_usage("ambiguous keyword '%s'", argv[0]);
		if (i < 0)
			return p_usage("unknown keyword '%s'", argv[0]);
		if (*seen & KW(i))
			return p_usage("duplicate keyword '%s'", argv[0]);
		if (argc < 2)
			return p_usage("missing value for '%s'", argv[0]);
		err = keywords[i].parse(argv[1], p);
		if (err)
			return err;
		*seen |= KW(i);
	}
	return 0;
}

/*
 * The law a policy follows when the operator names none (lib/policy.h):
 * a rate alone is a static limit, a floor or a ceiling asks for the
 * gradient controller. A static limit needs its rate; an adaptive one
 * can start from its max, which policy_validate() checks.
 */
static int pick_controller(unsigned int seen, struct sluice_policy *p)
{
	if (!(seen & KW(KW_CONTROLLER)))
		p->controller = seen & (KW(KW_MIN) | KW(KW_MAX)) ? SLUICE_CTRL_GRADIENT
								 : SLUICE_CTRL_STATIC;
	if (p->controller == SLUICE_CTRL_STATIC && !(seen & KW(KW_RATE)))
		return p_usage("missing 'rate RATE'");
	return 0;
}

/* PREFIX [rate RATE] [min RATE] [max RATE] [controller C] [fail F] ... */
int policy_parse_add(int argc, char **argv, struct policy_req *req)
{
	unsigned int seen;
	const char *why;
	int err;

	memset(req, 0, sizeof(*req));
	if (argc < 1)
		return p_usage("missing PREFIX");
	err = parse_prefix_arg(argv[0], &req->key);
	if (err)
		return err;
	err = parse_keywords(argc - 1, argv + 1, &req->pol, &seen);
	if (!err)
		err = pick_controller(seen, &req->pol);
	if (err)
		return err;
	/* CLI policies keep flags 0: only the config file sets F_CONFIG. */
	policy_fill_defaults(&req->pol);
	if (policy_validate(&req->pol, &why))
		return p_usage("invalid policy for '%s': %s", argv[0], why);
	return 0;
}
