// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice.conf, read with inih. inih splits lines into keys and values;
 * everything else is decided here, in read_line() (each line as it is
 * read: its syntax and the section headers) and on_entry() (each key), so
 * that the first error stops the reading at its own line: inih itself
 * goes on after an error, and the state an error leaves behind is no
 * ground to read further on.
 */
#include <ctype.h>
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
#include "sluiced/attach.h"
#include "sluiced/config.h"

#define INTERVAL_MIN_NS 10000000ULL   /* 10 ms */
#define INTERVAL_MAX_NS 10000000000ULL /* 10 s */
#define HEADROOM_DEFAULT_PCT 10
#define HEADROOM_MAX_PCT     50
#define STR_(x) #x
#define STR(x)  STR_(x)

/* inih keeps this much of a section's name (its MAX_SECTION less the NUL)
 * and would cut a longer one short without a word. */
#define INI_SECTION_MAX 49
/* Of a value or a line quoted in a message. */
#define QUOTE_MAX 80

enum section_kind { SECTION_NONE, SECTION_MAIN, SECTION_CLASS, SECTION_POLICY };

struct parse_ctx {
	struct sluiced_config *c;
	/* The section being read; none before the first header. */
	enum section_kind kind;
	char cur_section[INI_SECTION_MAX + 1];
	int cur_line;             /* the line of its header */
	int cur_keys;             /* keys read under it so far */
	int cur_class;            /* in a [class] section: its class */
	struct conf_policy *cur;  /* in a [policy] section: its policy */
	const char *key;          /* the key being read, for messages */
	bool share_set[SLUICE_CLASSES];
	int share_line;           /* the line of the last share */
	int policy_line[SLUICED_MAX_POLICIES]; /* of each policy's header */
	/* The file, handed to inih a line at a time (read_line). */
	FILE *f;
	char *buf;                /* getline()'s */
	size_t cap;
	int lines_read;
	int read_errno;
	/* The first error: once there is one, nothing more is read. */
	bool failed;
	int err_line;             /* 0: the file as a whole */
	char msg[256];
};

void config_defaults(struct sluiced_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", SLUICE_PIN_DIR_DEFAULT);
	c->interval_ns = 100000000ULL;
	c->dest_table_size = SLUICE_DEST_MAX_DEFAULT;
	c->tc_handle = SLUICE_TC_HANDLE;
	c->tc_priority = SLUICE_TC_PRIO;
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

/* Note the first error, at line (0: the file as a whole); later ones are
 * ignored. Returns 0: inih's "this line failed". */
__attribute__((format(printf, 3, 4)))
static int fail_at(struct parse_ctx *x, int line, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return 0;
	x->failed = true;
	x->err_line = line;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* An error of the line being read. */
#define fail(x, ...) fail_at((x), (x)->lines_read, __VA_ARGS__)

/* A value the key being read refuses: "invalid rate '50mbt' (key 'rate' in
 * [policy web])", after what is valid when hint says it. */
static int bad_value(struct parse_ctx *x, const char *what, const char *val, const char *hint)
{
	return fail(x, "invalid %s '%.*s' (%s%skey '%s' in [%s])", what, QUOTE_MAX, val,
		    hint ? hint : "", hint ? "; " : "", x->key, x->cur_section);
}

/* "46", "0x2e": a number within max, decimal or 0x hex. */
static int parse_uint(const char *s, unsigned long long max, __u64 *out)
{
	unsigned long long v;
	const char *p;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++)
		if (base == 16 ? !isxdigit((unsigned char)*p) : !isdigit((unsigned char)*p))
			return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
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

static int main_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct sluiced_config *c = x->c;
	__u64 v;
	int e;

	if (!strcmp(key, "interface")) {
		e = config_add_iface(c, val);
		if (e == -E2BIG)
			return fail(x, "too many interfaces (at most %d; key 'interface' in [%s])",
				    SLUICED_MAX_IFACES, x->cur_section);
		if (e)
			return bad_value(x, "interface", val, NULL);
	} else if (!strcmp(key, "cgroup")) {
		if (val[0] != '/' && strcmp(val, "none"))
			return bad_value(x, "cgroup", val, "an absolute path or none");
		snprintf(c->cgroup, sizeof(c->cgroup), "%s", val);
	} else if (!strcmp(key, "pin_dir")) {
		if (val[0] != '/')
			return bad_value(x, "pin_dir", val, "an absolute path");
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", val);
	} else if (!strcmp(key, "interval")) {
		if (parse_duration_ns(val, &v) || v < INTERVAL_MIN_NS || v > INTERVAL_MAX_NS)
			return bad_value(x, "interval", val, "10ms to 10s");
		c->interval_ns = v;
	} else if (!strcmp(key, "dest_table_size")) {
		if (parse_uint(val, 1ULL << 24, &v) || v < 16)
			return bad_value(x, "dest_table_size", val, "16 to 16777216");
		c->dest_table_size = (__u32)v;
	} else if (!strcmp(key, "tc_handle")) {
		if (parse_uint(val, 0xffffffffULL, &v) || !v)
			return bad_value(x, "tc_handle", val, "1 to 0xffffffff");
		c->tc_handle = (__u32)v;
	} else if (!strcmp(key, "tc_priority")) {
		if (parse_uint(val, 0xffff, &v) || !v)
			return bad_value(x, "tc_priority", val, "1 to 0xffff");
		c->tc_priority = (__u32)v;
	} else if (!strcmp(key, "log")) {
		if (!strcmp(val, "syslog"))
			c->use_syslog = true;
		else if (!strcmp(val, "stderr"))
			c->use_syslog = false;
		else
			return bad_value(x, "log", val, "stderr or syslog");
	} else {
		return fail(x, "unknown key '%s' in [%s]", key, x->cur_section);
	}
	return 1;
}

static int policy_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct sluice_policy *p = &x->cur->pol;

	if (!strcmp(key, "prefix")) {
		if (parse_prefix(val, &x->cur->key))
			return bad_value(x, "prefix", val, NULL);
		x->cur->has_prefix = true;
	} else if (!strcmp(key, "rate")) {
		if (parse_rate(val, &p->rate_Bps))
			return bad_value(x, "rate", val, NULL);
		x->cur->has_rate = true;
	} else if (!strcmp(key, "burst")) {
		if (parse_size(val, &p->burst_bytes))
			return bad_value(x, "burst", val, NULL);
	} else if (!strcmp(key, "ecn")) {
		if (parse_size(val, &p->mark_thresh))
			return bad_value(x, "ecn threshold", val, NULL);
	} else if (!strcmp(key, "mode")) {
		if (parse_mode(val, &p->mode))
			return bad_value(x, "mode", val, "enforce or monitor");
	} else if (!strcmp(key, "min")) {
		if (parse_rate(val, &p->min_Bps))
			return bad_value(x, "min", val, NULL);
	} else if (!strcmp(key, "max")) {
		if (parse_rate(val, &p->max_Bps))
			return bad_value(x, "max", val, NULL);
	} else if (!strcmp(key, "controller")) {
		if (parse_controller(val, &p->controller))
			return bad_value(x, "controller", val, "static, aimd or gradient");
		x->cur->has_controller = true;
	} else if (!strcmp(key, "fail")) {
		if (parse_fail_mode(val, &p->fail_mode))
			return bad_value(x, "fail mode", val, "open or closed");
	} else {
		return fail(x, "unknown key '%s' in [%s]", key, x->cur_section);
	}
	return 1;
}

/* Shares when classes are used but the file leaves some out. */
static const __u8 default_share_pct[SLUICE_CLASSES] = { 40, 30, 20, 10 };

static int add_rule(struct parse_ctx *x, __u32 kind, __u64 value, const char *val)
{
	struct sluiced_config *c = x->c;
	struct class_rule *r;
	int i;

	for (i = 0; i < c->n_class_rules; i++)
		if (c->class_rules[i].kind == kind && c->class_rules[i].value == value)
			return fail(x, "'%.*s' is already a rule of class %s (key '%s' in [%s])",
				    QUOTE_MAX, val, class_name(c->class_rules[i].cls), x->key,
				    x->cur_section);
	if (c->n_class_rules >= SLUICED_MAX_CLASS_RULES)
		return fail(x, "too many class rules (at most %d; key '%s' in [%s])",
			    SLUICED_MAX_CLASS_RULES, x->key, x->cur_section);
	r = &c->class_rules[c->n_class_rules++];
	r->kind = kind;
	r->value = value;
	r->cls = (__u8)x->cur_class;
	return 1;
}

static int class_key(struct parse_ctx *x, const char *key, const char *val)
{
	struct stat st;
	__u64 v;

	if (!strcmp(key, "share")) {
		if (parse_pct(val, 100, &x->c->class_share_pct[x->cur_class]))
			return bad_value(x, "share", val, "0% to 100%");
		x->share_set[x->cur_class] = true;
		x->share_line = x->lines_read;
		return 1;
	}
	if (!strcmp(key, "headroom")) {
		if (x->cur_class != SLUICE_CLASS_CRITICAL)
			return fail(x, "headroom belongs in [class critical], not [%s]",
				    x->cur_section);
		if (parse_pct(val, HEADROOM_MAX_PCT, &x->c->critical_headroom_pct))
			return bad_value(x, "headroom", val, "0% to " STR(HEADROOM_MAX_PCT) "%");
		return 1;
	}
	if (!strcmp(key, "dscp")) {
		if (parse_uint(val, 63, &v))
			return bad_value(x, "dscp", val, "0 to 63");
		return add_rule(x, SLUICE_CLASSIFY_DSCP, v, val);
	}
	if (!strcmp(key, "mark")) {
		if (parse_uint(val, 0xffffffffULL, &v) || !v)
			return bad_value(x, "mark", val, "1 to 0xffffffff");
		return add_rule(x, SLUICE_CLASSIFY_MARK, v, val);
	}
	if (!strcmp(key, "cgroup")) {
		/* On cgroup v2 a cgroup's id is its directory's inode number. */
		if (val[0] != '/' || stat(val, &st) || !S_ISDIR(st.st_mode))
			return bad_value(x, "cgroup", val, "an existing cgroup v2 directory");
		return add_rule(x, SLUICE_CLASSIFY_CGROUP, st.st_ino, val);
	}
	return fail(x, "unknown key '%s' in [%s]", key, x->cur_section);
}

/* Checks a finished policy section; its errors are at its header. Returns
 * 1 when valid (inih style). */
static int policy_finish(struct parse_ctx *x)
{
	struct conf_policy *cp = x->cur;
	const char *why;
	int i;

	if (!cp)
		return 1;
	x->cur = NULL;
	if (!cp->has_prefix)
		return fail_at(x, x->cur_line, "[%s] has no prefix", x->cur_section);
	if (!cp->has_rate && !cp->pol.max_Bps)
		return fail_at(x, x->cur_line, "[%s] has no rate and no max", x->cur_section);
	/* Only a rate: a fixed limit. A min or max: adaptive, gradient by default. */
	if (!cp->has_controller && (cp->pol.min_Bps || cp->pol.max_Bps))
		cp->pol.controller = SLUICE_CTRL_GRADIENT;
	cp->pol.flags = SLUICE_POLICY_F_CONFIG;
	policy_fill_defaults(&cp->pol);
	if (policy_validate(&cp->pol, &why))
		return fail_at(x, x->cur_line, "[%s]: %s", x->cur_section, why);
	for (i = 0; i < x->c->n_policies - 1; i++) {
		if (!memcmp(&x->c->policies[i].key, &cp->key, sizeof(cp->key)))
			return fail_at(x, x->cur_line, "[%s] repeats the prefix of [policy %s] "
				       "(line %d)", x->cur_section, x->c->policies[i].name,
				       x->policy_line[i]);
	}
	return 1;
}

/* The section being read ends (at the next header, or the end of the
 * file). One with no keys would vanish without a word, and its header says
 * the operator meant something: refused. Returns 1 when it is valid. */
static int section_done(struct parse_ctx *x)
{
	if ((x->kind == SECTION_CLASS || x->kind == SECTION_POLICY) && !x->cur_keys)
		return fail_at(x, x->cur_line, "[%s] has no keys", x->cur_section);
	return policy_finish(x);
}

/* A header, at the line being read. Returns 1 when it starts a section. */
static int start_section(struct parse_ctx *x, const char *section)
{
	const char *name;
	int i;

	snprintf(x->cur_section, sizeof(x->cur_section), "%s", section);
	x->cur_line = x->lines_read;
	x->cur_keys = 0;
	x->cur_class = -1;
	x->kind = SECTION_NONE;
	if (!strcmp(section, "sluice")) {
		x->kind = SECTION_MAIN;
		return 1;
	}
	if (!strncmp(section, "class ", 6)) {
		x->cur_class = class_by_name(section + 6);
		if (x->cur_class < 0)
			return fail(x, "unknown class in [%s] (critical, default, sheddable "
				    "or scavenger)", section);
		x->c->classes = true;
		x->kind = SECTION_CLASS;
		return 1;
	}
	if (strncmp(section, "policy ", 7))
		return fail(x, "unknown section [%s]", section);
	name = section + 7;
	while (*name == ' ')
		name++;
	if (!*name || strlen(name) >= sizeof(x->cur->name))
		return fail(x, "invalid policy name in [%s]", section);
	for (i = 0; i < x->c->n_policies; i++)
		if (!strcmp(x->c->policies[i].name, name))
			return fail(x, "[%s] repeats the name of the policy at line %d", section,
				    x->policy_line[i]);
	if (x->c->n_policies >= SLUICED_MAX_POLICIES)
		return fail(x, "too many policies (at most %d)", SLUICED_MAX_POLICIES);
	x->policy_line[x->c->n_policies] = x->cur_line;
	x->cur = &x->c->policies[x->c->n_policies++];
	memset(x->cur, 0, sizeof(*x->cur));
	snprintf(x->cur->name, sizeof(x->cur->name), "%s", name);
	x->kind = SECTION_POLICY;
	return 1;
}

/* Each key inih reads. Its section is the one read_line() last started;
 * inih's own view of it is not needed. */
static int on_entry(void *user, const char *section, const char *key, const char *val)
{
	struct parse_ctx *x = user;

	if (x->failed)
		return 0;
	if (!key) /* a new section, from an inih built to report those */
		return 1;
	if (!val) /* a key alone, from an inih built to take those */
		return fail(x, "syntax error: key '%s' has no '='", key);
	x->key = key;
	x->cur_keys++;
	switch (x->kind) {
	case SECTION_MAIN:
		return main_key(x, key, val);
	case SECTION_CLASS:
		return class_key(x, key, val);
	case SECTION_POLICY:
		return policy_key(x, key, val);
	case SECTION_NONE:
		break;
	}
	return fail(x, "key '%s' outside any section", key);
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
		return fail_at(x, x->share_line, "class shares add up to %u%%, more than 100%% "
			       "(key 'share')", sum);
	if (!sum)
		return fail_at(x, x->share_line, "class shares are all 0%% (key 'share')");
	return 1;
}

/* inih's ini_find_chars_or_comment(): the first of chars in s, or the start
 * of a comment (a ';' after white space), or the end. Lines are judged
 * here as inih will read them. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* " (key 'rate' in [policy web])" for a line that holds a key, else "". */
static const char *key_of_line(const struct parse_ctx *x, const char *s, char *buf,
			       size_t len)
{
	const char *end = find_chars_or_comment(s, "=:");

	buf[0] = '\0';
	if (*s == '[' || (*end != '=' && *end != ':'))
		return buf;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end > s && x->kind != SECTION_NONE)
		snprintf(buf, len, " (key '%.*s' in [%s])", (int)(end - s < QUOTE_MAX ? end - s :
			 QUOTE_MAX), s, x->cur_section);
	else if (end > s)
		snprintf(buf, len, " (key '%.*s')", (int)(end - s < QUOTE_MAX ? end - s :
			 QUOTE_MAX), s);
	return buf;
}

/* "[name]", and after it nothing but a comment. */
static int read_header(struct parse_ctx *x, const char *s)
{
	const char *end = find_chars_or_comment(s + 1, "]"), *rest;
	char name[INI_SECTION_MAX + 1];

	if (*end != ']')
		return fail(x, "syntax error: '%.*s' has no ']'", QUOTE_MAX, s);
	for (rest = end + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#')
		return fail(x, "syntax error: '%.*s' after ']' in '%.*s'", QUOTE_MAX, rest,
			    QUOTE_MAX, s);
	if (end - s - 1 > INI_SECTION_MAX)
		return fail(x, "section name too long in '%.*s' (at most %d characters)",
			    QUOTE_MAX, s, INI_SECTION_MAX);
	if (!section_done(x))
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
	return start_section(x, name);
}

/* "key = value" or "key: value", as inih splits it. */
static int check_key_line(struct parse_ctx *x, const char *s)
{
	const char *end = find_chars_or_comment(s, "=:");

	if (*end != '=' && *end != ':')
		return fail(x, "syntax error: '%.*s' has no '='", QUOTE_MAX, s);
	if (end == s)
		return fail(x, "syntax error: '%.*s' has no key", QUOTE_MAX, s);
	return 1;
}

/*
 * fgets for inih: one line of the file at a time, stripped of the space
 * around it, its line end and a byte order mark, checked, and ended with
 * '\n'. A line inih could not take whole (longer than its buffer: it
 * would take the rest for lines of their own) or with a NUL byte (where
 * it would end the line) is refused; a comment is passed on as a blank
 * line, however long. Headers start sections here. Once there is an error
 * no more is read.
 */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *x = stream;
	char key[QUOTE_MAX + INI_SECTION_MAX + 32];
	ssize_t n;
	char *s;

	if (x->failed)
		return NULL;
	errno = 0;
	n = getline(&x->buf, &x->cap, x->f);
	if (n < 0) {
		if (ferror(x->f))
			x->read_errno = errno ? errno : EIO;
		else
			section_done(x);
		return NULL;
	}
	x->lines_read++;
	s = x->buf;
	if (x->lines_read == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		n -= 3;
	}
	if (memchr(s, '\0', (size_t)n)) {
		while (isspace((unsigned char)*s))
			s++;
		fail(x, "NUL byte in the line%s", key_of_line(x, s, key, sizeof(key)));
		return NULL;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	for (; isspace((unsigned char)*s); n--)
		s++;
	if (*s == ';' || *s == '#')
		n = 0;
	else if (n > size - 2)
		fail(x, "line too long: %zd characters, at most %d%s", n, size - 2,
		     key_of_line(x, s, key, sizeof(key)));
	else if (*s == '[')
		read_header(x, s);
	else if (*s)
		check_key_line(x, s);
	if (x->failed)
		return NULL;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	return buf;
}

/* Control characters of the file, quoted in a message, would break it
 * into more than one line, or move the cursor of whoever reads it. */
static void printable(char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			*s = '?';
}

int config_load(const char *path, struct sluiced_config *c, char *err, size_t errlen)
{
	struct parse_ctx x = { .c = c, .cur_class = -1 };
	int line, e;

	x.f = fopen(path, "re");
	if (!x.f) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	line = ini_parse_stream(read_line, &x, on_entry, &x);
	free(x.buf);
	fclose(x.f);
	if (x.read_errno || line < 0) {
		e = x.read_errno ? x.read_errno : ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* A line inih refused never reached on_entry(). read_line() refuses
	 * those first; this is for an inih that refuses more. */
	if (line > 0 && (!x.failed || line < x.err_line)) {
		x.failed = false;
		fail_at(&x, line, "syntax error");
	}
	if (!x.failed && classes_finish(&x))
		return 0;
	if (x.err_line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, x.err_line, x.msg);
	else
		snprintf(err, errlen, "%s: %s", path, x.msg);
	printable(err);
	return -EINVAL;
}
