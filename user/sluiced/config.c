// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/addr.h"
#include "lib/policy.h"
#include "lib/reason.h"
#include "lib/units.h"
#include "sluiced/config.h"

#define INTERVAL_MIN_NS 10000000ULL   /* 10 ms */
#define INTERVAL_MAX_NS 10000000000ULL /* 10 s */
#define HEADROOM_DEFAULT_PCT 10
#define HEADROOM_MAX_PCT     50

struct parse_ctx {
	struct sluiced_config *c;
	int cur_class;            /* class section being read, or -1 */
	bool share_set[SLUICE_CLASSES];
	struct conf_policy *cur;  /* policy section being read */
	char cur_section[128];
	char *err;
	size_t errlen;
	int line;
	/* Section headers as the file is read, to find one with no keys:
	 * inih reports keys, and a section without any would vanish. */
	FILE *f;
	int lines_read;
	char header[128];         /* the last header read, "" before the first */
	int header_line;
	int header_keys;          /* keys read under it so far */
	char empty[128];          /* the first section with no keys */
	int empty_line;
};

void config_defaults(struct sluiced_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", SLUICE_PIN_DIR_DEFAULT);
	c->interval_ns = 100000000ULL;
	c->dest_table_size = SLUICE_DEST_MAX_DEFAULT;
	c->critical_headroom_pct = HEADROOM_DEFAULT_PCT;
}

int config_add_iface(struct sluiced_config *c, const char *name)
{
	int i;

	if (!*name || strlen(name) >= IF_NAMESIZE || strchr(name, '/') || strchr(name, ' '))
		return -EINVAL;
	for (i = 0; i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i], name))
			return 0;
	if (c->n_ifaces >= SLUICED_MAX_IFACES)
		return -E2BIG;
	snprintf(c->ifaces[c->n_ifaces++], IF_NAMESIZE, "%s", name);
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int fail(struct parse_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, x->errlen, fmt, ap);
	va_end(ap);
	return 0; /* inih: stop at this line */
}

static int main_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct sluiced_config *c = x->c;
	__u64 ns;
	char *end;
	unsigned long n;

	if (!strcmp(key, "interface")) {
		if (config_add_iface(c, val))
			return fail(x, "invalid interface '%s'", val);
	} else if (!strcmp(key, "cgroup")) {
		if (val[0] != '/' && strcmp(val, "none"))
			return fail(x, "invalid cgroup '%s' (an absolute path or none)", val);
		snprintf(c->cgroup, sizeof(c->cgroup), "%s", val);
	} else if (!strcmp(key, "pin_dir")) {
		if (val[0] != '/')
			return fail(x, "invalid pin_dir '%s' (an absolute path)", val);
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", val);
	} else if (!strcmp(key, "interval")) {
		if (parse_duration_ns(val, &ns) || ns < INTERVAL_MIN_NS || ns > INTERVAL_MAX_NS)
			return fail(x, "invalid interval '%s' (10ms to 10s)", val);
		c->interval_ns = ns;
	} else if (!strcmp(key, "dest_table_size")) {
		errno = 0;
		n = strtoul(val, &end, 10);
		if (errno || *end || n < 16 || n > (1UL << 24))
			return fail(x, "invalid dest_table_size '%s' (16 to 16777216)", val);
		c->dest_table_size = (__u32)n;
	} else if (!strcmp(key, "log")) {
		if (!strcmp(val, "syslog"))
			c->use_syslog = true;
		else if (!strcmp(val, "stderr"))
			c->use_syslog = false;
		else
			return fail(x, "invalid log '%s' (stderr or syslog)", val);
	} else {
		return fail(x, "unknown key '%s' in [sluice]", key);
	}
	return 1;
}

static int policy_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct sluice_policy *p = &x->cur->pol;

	if (!strcmp(key, "prefix")) {
		if (parse_prefix(val, &x->cur->key))
			return fail(x, "invalid prefix '%s'", val);
		x->cur->has_prefix = true;
	} else if (!strcmp(key, "rate")) {
		if (parse_rate(val, &p->rate_Bps))
			return fail(x, "invalid rate '%s'", val);
		x->cur->has_rate = true;
	} else if (!strcmp(key, "burst")) {
		if (parse_size(val, &p->burst_bytes))
			return fail(x, "invalid burst '%s'", val);
	} else if (!strcmp(key, "ecn")) {
		if (parse_size(val, &p->mark_thresh))
			return fail(x, "invalid ecn threshold '%s'", val);
	} else if (!strcmp(key, "mode")) {
		if (parse_mode(val, &p->mode))
			return fail(x, "invalid mode '%s' (enforce or monitor)", val);
	} else if (!strcmp(key, "min")) {
		if (parse_rate(val, &p->min_Bps))
			return fail(x, "invalid min '%s'", val);
	} else if (!strcmp(key, "max")) {
		if (parse_rate(val, &p->max_Bps))
			return fail(x, "invalid max '%s'", val);
	} else if (!strcmp(key, "controller")) {
		if (parse_controller(val, &p->controller))
			return fail(x, "invalid controller '%s' (static, aimd or gradient)", val);
		x->cur->has_controller = true;
	} else if (!strcmp(key, "fail")) {
		if (parse_fail_mode(val, &p->fail_mode))
			return fail(x, "invalid fail mode '%s' (open or closed)", val);
	} else {
		return fail(x, "unknown key '%s' in [%s]", key, x->cur_section);
	}
	return 1;
}

/* Shares when classes are used but the file leaves some out. */
static const __u8 default_share_pct[SLUICE_CLASSES] = { 40, 30, 20, 10 };

static int add_rule(struct parse_ctx *x, __u32 kind, __u64 value, const char *cgroup)
{
	struct sluiced_config *c = x->c;
	struct class_rule *r;
	int i;

	for (i = 0; i < c->n_class_rules; i++)
		if (c->class_rules[i].kind == kind && c->class_rules[i].value == value)
			return fail(x, "[%s] repeats a rule of class %s", x->cur_section,
				    class_name(c->class_rules[i].cls));
	if (c->n_class_rules >= SLUICED_MAX_CLASS_RULES)
		return fail(x, "too many class rules (at most %d)", SLUICED_MAX_CLASS_RULES);
	r = &c->class_rules[c->n_class_rules++];
	r->kind = kind;
	r->value = value;
	r->cls = (__u8)x->cur_class;
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", cgroup ? cgroup : "");
	return 1;
}

/* "46", "0x2e": a number within max. */
static int parse_uint(const char *s, unsigned long long max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "25" or "25%", at most max: 0, or -EINVAL. */
static int parse_pct(const char *s, unsigned long max, __u8 *out)
{
	unsigned long pct;
	char *end;

	errno = 0;
	pct = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-' || (*end && strcmp(end, "%")) || pct > max)
		return -EINVAL;
	*out = (__u8)pct;
	return 0;
}

static int class_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct stat st;
	__u64 v;

	if (!strcmp(key, "share")) {
		if (parse_pct(val, 100, &x->c->class_share_pct[x->cur_class]))
			return fail(x, "invalid share '%s' (0%% to 100%%)", val);
		x->share_set[x->cur_class] = true;
		return 1;
	}
	if (!strcmp(key, "headroom")) {
		if (x->cur_class != SLUICE_CLASS_CRITICAL)
			return fail(x, "headroom belongs in [class critical], not [%s]",
				    x->cur_section);
		if (parse_pct(val, HEADROOM_MAX_PCT, &x->c->critical_headroom_pct))
			return fail(x, "invalid headroom '%s' (0%% to %d%%)", val,
				    HEADROOM_MAX_PCT);
		return 1;
	}
	if (!strcmp(key, "dscp")) {
		if (parse_uint(val, 63, &v))
			return fail(x, "invalid dscp '%s' (0 to 63)", val);
		return add_rule(x, SLUICE_CLASSIFY_DSCP, v, NULL);
	}
	if (!strcmp(key, "mark")) {
		if (parse_uint(val, 0xffffffffULL, &v) || !v)
			return fail(x, "invalid mark '%s' (1 to 0xffffffff)", val);
		return add_rule(x, SLUICE_CLASSIFY_MARK, v, NULL);
	}
	if (!strcmp(key, "cgroup")) {
		/* On cgroup v2 a cgroup's id is its directory's inode number. */
		if (val[0] != '/' || stat(val, &st) || !S_ISDIR(st.st_mode))
			return fail(x, "invalid cgroup '%s' (an existing cgroup v2 directory)", val);
		return add_rule(x, SLUICE_CLASSIFY_CGROUP, st.st_ino, val);
	}
	return fail(x, "unknown key '%s' in [%s]", key, x->cur_section);
}

/* Checks a finished policy section. Returns 1 when valid (inih style). */
static int policy_finish(struct parse_ctx *x)
{
	struct conf_policy *cp = x->cur;
	const char *why;
	int i;

	if (!cp)
		return 1;
	x->cur = NULL;
	if (!cp->has_prefix)
		return fail(x, "[%s] has no prefix", x->cur_section);
	if (!cp->has_rate && !cp->pol.max_Bps)
		return fail(x, "[%s] has no rate and no max", x->cur_section);
	/* Only a rate: a fixed limit. A min or max: adaptive, gradient by default. */
	if (!cp->has_controller && (cp->pol.min_Bps || cp->pol.max_Bps))
		cp->pol.controller = SLUICE_CTRL_GRADIENT;
	cp->pol.flags = SLUICE_POLICY_F_CONFIG;
	policy_fill_defaults(&cp->pol);
	if (policy_validate(&cp->pol, &why))
		return fail(x, "[%s]: %s", x->cur_section, why);
	for (i = 0; i < x->c->n_policies - 1; i++) {
		if (!memcmp(&x->c->policies[i].key, &cp->key, sizeof(cp->key)))
			return fail(x, "[%s] repeats the prefix of [policy %s]",
				    x->cur_section, x->c->policies[i].name);
	}
	return 1;
}

static int start_section(struct parse_ctx *x, const char *section)
{
	const char *name;

	if (!policy_finish(x))
		return 0;
	snprintf(x->cur_section, sizeof(x->cur_section), "%s", section);
	x->cur_class = -1;
	if (!strcmp(section, "sluice"))
		return 1;
	if (!strncmp(section, "class ", 6)) {
		x->cur_class = class_by_name(section + 6);
		if (x->cur_class < 0)
			return fail(x, "unknown class in [%s] (critical, default, sheddable "
				    "or scavenger)", section);
		x->c->classes = true;
		return 1;
	}
	if (strncmp(section, "policy ", 7))
		return fail(x, "unknown section [%s]", section);
	name = section + 7;
	while (*name == ' ')
		name++;
	if (!*name || strlen(name) >= sizeof(x->cur->name))
		return fail(x, "invalid policy name in [%s]", section);
	if (x->c->n_policies >= SLUICED_MAX_POLICIES)
		return fail(x, "too many policies (at most %d)", SLUICED_MAX_POLICIES);
	x->cur = &x->c->policies[x->c->n_policies++];
	memset(x->cur, 0, sizeof(*x->cur));
	snprintf(x->cur->name, sizeof(x->cur->name), "%s", name);
	return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *val)
{
	struct parse_ctx *x = user;

	if (key)
		x->header_keys++;
	if (strcmp(section, x->cur_section) || (!key && !val)) {
		if (!start_section(x, section))
			return 0;
		if (!key)
			return 1;
	}
	if (!strcmp(section, "sluice"))
		return main_key(x, key, val);
	if (x->cur_class >= 0)
		return class_key(x, key, val);
	return policy_key(x, key, val);
}

/* Shares the file left out take their defaults; together at most 100%. */
static int classes_finish(struct parse_ctx *x)
{
	unsigned int i, sum = 0;

	if (!x->c->classes)
		return 1;
	for (i = 0; i < SLUICE_CLASSES; i++) {
		if (!x->share_set[i])
			x->c->class_share_pct[i] = default_share_pct[i];
		sum += x->c->class_share_pct[i];
	}
	if (sum > 100)
		return fail(x, "class shares add up to %u%%, more than 100%%", sum);
	if (!sum)
		return fail(x, "class shares are all 0%%");
	return 1;
}

/* The keys of a section are all read: note it if there were none. */
static void header_done(struct parse_ctx *x)
{
	if (x->header[0] && !x->header_keys && !x->empty[0] && strcmp(x->header, "sluice")) {
		snprintf(x->empty, sizeof(x->empty), "%s", x->header);
		x->empty_line = x->header_line;
	}
}

/* fgets for inih that also notes each section header it passes. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *x = stream;
	char *s = fgets(buf, size, x->f), *end;

	if (!s) {
		header_done(x);
		return NULL;
	}
	x->lines_read++;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[' || !(end = strchr(s, ']')))
		return buf;
	header_done(x);
	for (s++; *s == ' ' || *s == '\t'; s++)
		;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	snprintf(x->header, sizeof(x->header), "%.*s", (int)(end - s), s);
	x->header_line = x->lines_read;
	x->header_keys = 0;
	return buf;
}

int config_load(const char *path, struct sluiced_config *c, char *err, size_t errlen)
{
	struct parse_ctx x = { .c = c, .err = err, .errlen = errlen, .cur_class = -1 };
	char msg[256] = "";
	FILE *f;
	int line;

	x.err = msg;
	x.errlen = sizeof(msg);
	f = fopen(path, "r");
	if (!f) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	x.f = f;
	line = ini_parse_stream(read_line, &x, on_entry, &x);
	fclose(f);
	if (line == 0 && x.empty[0]) {
		/* A section with no keys says nothing, but its header says
		 * the operator meant something: refuse it rather than let
		 * it vanish. */
		bool known = !strncmp(x.empty, "policy ", 7) ||
			     (!strncmp(x.empty, "class ", 6) && class_by_name(x.empty + 6) >= 0);

		snprintf(msg, sizeof(msg), known ? "[%s] has no keys" : "unknown section [%s]",
			 x.empty);
		line = x.empty_line;
	}
	if (line == 0 && !policy_finish(&x))
		line = -2; /* the last section is incomplete */
	if (line == 0 && !classes_finish(&x))
		line = -2;
	if (line == 0)
		return 0;
	if (line > 0 && !msg[0])
		snprintf(msg, sizeof(msg), "syntax error");
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg[0] ? msg : "cannot be read");
	return -EINVAL;
}
