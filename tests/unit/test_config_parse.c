// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice.conf as sluiced reads it (config_load): a valid file gives the
 * values it says, and a broken one is refused with one line that names the
 * file, the line of the first error and the key, whatever is broken and
 * whatever follows. Every file is written to a private directory; the ones
 * that may break the parser are read in a child process, so that a crash
 * is one failed row rather than the end of the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/addr.h"
#include "sluiced/attach.h"
#include "sluiced/config.h"
#include "check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MBIT(x) ((__u64)(x) * 125000ULL)

static char dir[PATH_MAX];         /* the private directory */
static struct sluiced_config cfg;  /* too large for the stack */

static int dir_make(void **state)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sluice-test-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove what the tests wrote: files, and the one directory. */
static int dir_remove(void **state)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && errno == EISDIR)
			rmdir(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* Write len bytes as dir/name; path gets its full name. */
static void write_conf(const char *name, const char *text, size_t len, char *path,
		       size_t pathlen)
{
	int fd;

	snprintf(path, pathlen, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* What config_load() did with a file, read in a child process. */
struct outcome {
	int rc;
	int sig;        /* the signal that ended the child, 0 when none */
	char err[512];
};

static struct outcome load_in_child(const char *path)
{
	struct outcome o = { .rc = 0 };
	int p[2], status;
	ssize_t n = 0, r;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's handlers would carry on with its tests in here. */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(sigs); i++)
			signal(sigs[i], SIG_DFL);
		close(p[0]);
		config_defaults(&cfg);
		o.rc = config_load(path, &cfg, o.err, sizeof(o.err));
		_exit(write(p[1], &o, sizeof(o)) == sizeof(o) ? 0 : 1);
	}
	close(p[1]);
	while (n < (ssize_t)sizeof(o) && (r = read(p[0], (char *)&o + n, sizeof(o) - n)) > 0)
		n += r;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		memset(&o, 0, sizeof(o));
		o.sig = WTERMSIG(status);
	} else {
		assert_int_equal(n, sizeof(o));
	}
	return o;
}

/* The line an error names: "PATH:LINE: ...", or 0 when it names none. */
static int error_line(const char *path, const char *err)
{
	size_t n = strlen(path);
	char *end;
	long line;

	if (strncmp(err, path, n) || err[n] != ':')
		return 0;
	line = strtol(err + n + 1, &end, 10);
	return end != err + n + 1 && *end == ':' && end[1] == ' ' ? (int)line : 0;
}

static bool one_printable_line(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

/* A refused file: not a crash, -errno, one line "PATH:LINE: ..." with that
 * line, holding each word (a word "!w" must not be there). */
static int check_refused(const char *what, const char *path, const struct outcome *o,
			 int line, const char *const *words, size_t n_words)
{
	int bad = 0, got;
	size_t i;

	if (o->sig) {
		tap_note("%s: the parser crashed (signal %d)", what, o->sig);
		return 1;
	}
	CHECK(bad, o->rc < 0, "%s: config_load returned %d, want an error", what, o->rc);
	CHECK(bad, one_printable_line(o->err), "%s: not one printable line: '%s'", what, o->err);
	got = error_line(path, o->err);
	CHECK(bad, got == line, "%s: error at line %d, want %d: '%s'", what, got, line, o->err);
	for (i = 0; i < n_words && words[i]; i++) {
		bool neg = words[i][0] == '!';
		bool has = strstr(o->err, words[i] + neg) != NULL;

		CHECK(bad, has != neg, "%s: the error %s %s: '%s'", what,
		      neg ? "names" : "does not name", words[i] + neg, o->err);
	}
	return bad;
}

struct bad_case {
	const char *name;
	const char *text;
	size_t len;
	int line;                /* of the first error */
	const char *words[3];    /* the error names these */
};

#define TEXT(s) s, sizeof(s) - 1

static const struct bad_case bad_cases[] = {
	/* A key in no section: before the first header... */
	{ "key before any section", TEXT("rate = 1mbit\n[sluice]\ninterface = lo\n"), 1,
	  { "key 'rate' outside any section" } },
	{ "key before any section, after comments", TEXT("# sluice\n\n; x\nrate = 1mbit\n"), 4,
	  { "'rate'", "outside any section" } },
	{ "key before any section, after a BOM", TEXT("\xef\xbb\xbfrate = 1mbit\n"), 1,
	  { "'rate'", "outside any section" } },
	/* ... or under a header that did not parse. */
	{ "key under a header without ]",
	  TEXT("[sluice]\ninterface = lo\n[policy a\nrate = 1mbit\nprefix = 10.0.0.0/8\n"), 3,
	  { "syntax error: '[policy a' has no ']'" } },
	{ "key under a first header without ]", TEXT("[policy a\nrate = 1mbit\n"), 1,
	  { "'[policy a' has no ']'", "!rate" } },
	{ "key under a header whose ] is in a comment", TEXT("[policy a ;]\nrate = 1mbit\n"),
	  1, { "'[policy a ;]'" } },
	{ "key under [class nope]", TEXT("[class nope]\nshare = 10%\ndscp = 46\n"), 1,
	  { "[class nope]", "unknown class" } },
	{ "key under [unknown]", TEXT("[sluice]\ninterface = lo\n[unknown]\nrate = 1mbit\n"), 3,
	  { "unknown section [unknown]" } },
	{ "key under []", TEXT("[]\nrate = 1mbit\n"), 1, { "unknown section []" } },
	{ "key under a header cut short by inih",
	  TEXT("[policy a-name-that-is-longer-than-inih-keeps-whole]\nprefix = 10.0.0.0/8\n"
	       "rate = 1mbit\n"), 1, { "too long", "policy a-name" } },
	/* The first error is the one reported, whatever follows it. */
	{ "a second error after a first",
	  TEXT("[policy web]\nprefix = 10.0.0.0/8\nrate = 50mbt\nrate = fifty\n[policy x\n"
	       "mode = never\n"),
	  3, { "invalid rate '50mbt'", "(key 'rate' in [policy web])", "!fifty" } },
	{ "an error of ours after a syntax error", TEXT("[sluice]\ninterval 100ms\nrate = 1\n"),
	  2, { "syntax error: 'interval 100ms' has no '='", "!rate" } },
	{ "a key on the line of its header", TEXT("[policy a] rate = 1mbit\nprefix = 10.0.0.0/8\n"),
	  1, { "syntax error", "'rate = 1mbit' after ']'" } },
	{ "a value with no key", TEXT("[sluice]\n= lo\n"), 2, { "syntax error: '= lo' has no key" } },
	{ "a value continued on an indented line", TEXT("[sluice]\ninterface = lo\n    eth9\n"), 3,
	  { "syntax error: 'eth9' has no '='" } },
	{ "a syntax error after an error of ours", TEXT("[sluice]\nrate = 1\ninterval 100ms\n"),
	  2, { "unknown key 'rate' in [sluice]", "!syntax" } },
	/* Lines inih cannot take as they are. */
	{ "a NUL byte in a value",
	  TEXT("[policy a]\nprefix = 10.0.0.0/8\nrate = 1m\0bit\nmode = never\n"), 3,
	  { "NUL", "'rate'" } },
	{ "a NUL byte on a line of its own", TEXT("[sluice]\n\0\n"), 2, { "NUL" } },
	{ "CRLF line ends",
	  TEXT("[sluice]\r\ninterface = lo\r\n\r\n[policy web]\r\nprefix = 10.0.0.0/8\r\n"
	       "rate = 50mbt\r\n"),
	  6, { "invalid rate '50mbt'", "(key 'rate' in [policy web])" } },
	{ "CRLF line ends, key before any section", TEXT("rate = 1mbit\r\n[sluice]\r\n"), 1,
	  { "'rate'", "outside any section" } },
	/* Errors of a section are at its header. */
	{ "a policy without prefix, another after it",
	  TEXT("[policy a]\nrate = 1mbit\n\n[policy b]\nprefix = 10.0.0.0/8\nrate = 1mbit\n"), 1,
	  { "[policy a] has no prefix" } },
	{ "the last policy without rate",
	  TEXT("[sluice]\ninterface = lo\n[policy a]\nprefix = 10.0.0.0/8\n"), 3,
	  { "[policy a] has no rate" } },
	{ "a policy named twice",
	  TEXT("[policy a]\nprefix = 10.0.0.0/8\nrate = 1mbit\n[policy a]\nprefix = 10.1.0.0/16\n"
	       "rate = 2mbit\n"),
	  4, { "[policy a]", "line 1" } },
	{ "an empty policy", TEXT("[sluice]\ninterface = lo\n[policy spare]\n"), 3,
	  { "[policy spare] has no keys" } },
	{ "an empty class before a valid one", TEXT("[class critical]\n\n[class default]\nshare = 20\n"),
	  1, { "[class critical] has no keys" } },
	{ "an incomplete policy before an empty one",
	  TEXT("[policy a]\nrate = 1mbit\n[policy spare]\n[sluice]\ninterface = lo\n"), 1,
	  { "[policy a] has no prefix" } },
	{ "class shares over 100%",
	  TEXT("[class critical]\nshare = 60\n[class default]\nshare = 50\n"), 4,
	  { "140%", "'share'" } },
	/* Values. */
	{ "an empty value", TEXT("[policy a]\nprefix = 10.0.0.0/8\nrate =\n"), 3,
	  { "invalid rate ''", "key 'rate'" } },
	{ "unknown key in [sluice]", TEXT("[sluice]\ncolour = blue\n"), 2,
	  { "unknown key 'colour' in [sluice]" } },
	{ "a [sluice] key in a policy", TEXT("[policy a]\ninterface = lo\n"), 2,
	  { "unknown key 'interface' in [policy a]" } },
	{ "tc_handle 0", TEXT("[sluice]\ntc_handle = 0\n"), 2,
	  { "invalid tc_handle '0'", "key 'tc_handle' in [sluice]" } },
	{ "tc_handle past 32 bits", TEXT("[sluice]\ntc_handle = 0x100000000\n"), 2,
	  { "'0x100000000'", "key 'tc_handle'" } },
	{ "tc_handle as a word", TEXT("[sluice]\n\ntc_handle = sluice\n"), 3,
	  { "'sluice'", "key 'tc_handle'" } },
	{ "tc_handle with a sign", TEXT("[sluice]\ntc_handle = +5\n"), 2,
	  { "'+5'", "key 'tc_handle'" } },
	{ "tc_handle as a bare 0x", TEXT("[sluice]\ntc_handle = 0x\n"), 2,
	  { "'0x'", "key 'tc_handle'" } },
	{ "tc_priority 0", TEXT("[sluice]\ntc_priority = 0\n"), 2,
	  { "invalid tc_priority '0'", "key 'tc_priority' in [sluice]" } },
	{ "tc_priority past 16 bits", TEXT("[sluice]\ntc_priority = 0x10000\n"), 2,
	  { "'0x10000'", "key 'tc_priority'" } },
	{ "tc_priority negative", TEXT("[sluice]\ntc_priority = -1\n"), 2,
	  { "'-1'", "key 'tc_priority'" } },
	{ "tc_priority in octal", TEXT("[sluice]\ntc_priority = 0o17\n"), 2,
	  { "'0o17'", "key 'tc_priority'" } },
};

static void test_broken_files_are_refused_at_their_first_error(void **state)
{
	char path[PATH_MAX + 64], name[32];
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct outcome o;

		snprintf(name, sizeof(name), "bad-%zu.conf", i);
		write_conf(name, t->text, t->len, path, sizeof(path));
		o = load_in_child(path);
		bad += check_refused(t->name, path, &o, t->line, t->words, ARRAY_SIZE(t->words));
	}
	assert_int_equal(bad, 0);
}

/* A line longer than inih's buffer is refused at its own line, naming its
 * key; a long comment is only a comment. */
static void test_a_line_of_10000_characters(void **state)
{
	static const char *const words[] = { "too long", "'rate'" };
	static const char head[] = "[sluice]\ninterface = lo\n[policy a]\nprefix = 10.0.0.0/8\n";
	char path[PATH_MAX + 64], *text = malloc(sizeof(head) + 10100);
	struct outcome o;
	int bad = 0;
	size_t n;

	assert_non_null(text);
	n = (size_t)sprintf(text, "%srate = ", head);
	memset(text + n, '9', 10000);
	n += 10000;
	n += (size_t)sprintf(text + n, "\nrate = 1mbit\n");
	write_conf("long.conf", text, n, path, sizeof(path));
	o = load_in_child(path);
	bad += check_refused("a value of 10000 characters", path, &o, 5, words, 2);

	n = (size_t)sprintf(text, "%s# ", head);
	memset(text + n, 'x', 10000);
	n += 10000;
	n += (size_t)sprintf(text + n, "\nrate = 1mbit\n");
	write_conf("long-comment.conf", text, n, path, sizeof(path));
	o = load_in_child(path);
	CHECK(bad, !o.sig && o.rc == 0, "a comment of 10000 characters: rc %d, signal %d: %s",
	      o.rc, o.sig, o.err);
	free(text);
	assert_int_equal(bad, 0);
}

static void test_a_directory_and_a_missing_file(void **state)
{
	char path[PATH_MAX + 64], want[PATH_MAX + 80];
	struct outcome o;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/conf.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	o = load_in_child(path);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(EISDIR));
	CHECK(bad, !o.sig && o.rc == -EISDIR && !strcmp(o.err, want),
	      "a directory: rc %d, signal %d, '%s', want '%s'", o.rc, o.sig, o.err, want);

	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	o = load_in_child(path);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	CHECK(bad, !o.sig && o.rc == -ENOENT && !strcmp(o.err, want),
	      "a missing file: rc %d, signal %d, '%s', want '%s'", o.rc, o.sig, o.err, want);
	assert_int_equal(bad, 0);
}

/* Nothing but comments and blank lines (or nothing) is a valid file that
 * sets nothing: the defaults. */
static void test_an_empty_file_and_only_comments_give_the_defaults(void **state)
{
	static const char *const texts[] = {
		"",
		"\n\n",
		"# sluice.conf\n; nothing here yet\n\n   # indented\n",
		"# no line end at the end",
	};
	static struct sluiced_config defaults;
	char path[PATH_MAX + 64], err[512];
	int bad = 0;
	size_t i;

	config_defaults(&defaults);
	assert_int_equal(defaults.tc_handle, SLUICE_TC_HANDLE);
	assert_int_equal(defaults.tc_priority, SLUICE_TC_PRIO);
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		int rc;

		write_conf("empty.conf", texts[i], strlen(texts[i]), path, sizeof(path));
		config_defaults(&cfg);
		rc = config_load(path, &cfg, err, sizeof(err));
		CHECK(bad, rc == 0, "'%s': refused: %s", texts[i], err);
		CHECK(bad, !memcmp(&cfg, &defaults, sizeof(cfg)), "'%s': not the defaults",
		      texts[i]);
	}
	assert_int_equal(bad, 0);
}

/* A valid file, with CGROUP where the class's cgroup goes. */
static const char valid_conf[] =
	"# sluice.conf for the parser's tests\n"
	"[sluice]\n"
	"interface = lo\n"
	"interface = eth9\n"
	"cgroup = /sys/fs/cgroup/sluice-test\n"
	"pin_dir = /sys/fs/bpf/sluice-test\n"
	"interval = 250ms\n"
	"dest_table_size = 4096\n"
	"log = syslog\n"
	"tc_handle = 0x52\n"
	"tc_priority = 20992\n"
	"\n"
	"[policy web]\n"
	"prefix = 10.20.0.0/16\n"
	"rate = 200mbit\n"
	"burst = 256kb\n"
	"ecn = 64kb\n"
	"mode = monitor\n"
	"\n"
	"[policy search] ; adaptive\n"
	"prefix = 2001:db8:40::/48\n"
	"min = 20mbit\n"
	"max = 1gbit\n"
	"fail = open ; an inline comment\n"
	"\n"
	"[class critical] # EF\n"
	"share = 40%\n"
	"dscp = 46\n"
	"headroom = 20%\n"
	"\n"
	"[class scavenger]\n"
	"share = 5\n"
	"mark = 0x7\n"
	"cgroup = CGROUP\n";

/* valid_conf with CGROUP as dir, each line after indent and ended by eol,
 * the whole after prefix. */
static size_t valid_text(char *buf, size_t len, const char *prefix, const char *indent,
			 const char *eol)
{
	const char *s = valid_conf, *nl;
	size_t n = (size_t)snprintf(buf, len, "%s", prefix);

	while ((nl = strchr(s, '\n'))) {
		const char *cg = strstr(s, "CGROUP");

		if (cg && cg < nl)
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s%s%s", indent, (int)(cg - s),
					      s, dir, eol);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s%s", indent, (int)(nl - s), s,
					      eol);
		s = nl + 1;
	}
	assert_true(n < len);
	return n;
}

static void test_a_valid_file_gives_its_values(void **state)
{
	const struct conf_policy *web = &cfg.policies[0], *search = &cfg.policies[1];
	char path[PATH_MAX + 64], text[4096 + PATH_MAX], err[512], pfx[64];
	struct stat st;

	write_conf("valid.conf", text, valid_text(text, sizeof(text), "", "", "\n"), path,
		   sizeof(path));
	config_defaults(&cfg);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("refused: %s", err);

	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[0], "lo");
	assert_string_equal(cfg.ifaces[1], "eth9");
	assert_string_equal(cfg.cgroup, "/sys/fs/cgroup/sluice-test");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/sluice-test");
	assert_int_equal(cfg.interval_ns, 250000000ULL);
	assert_int_equal(cfg.dest_table_size, 4096);
	assert_true(cfg.use_syslog);
	assert_int_equal(cfg.tc_handle, 0x52);
	assert_int_equal(cfg.tc_priority, 0x5200);

	assert_int_equal(cfg.n_policies, 2);
	assert_string_equal(web->name, "web");
	assert_string_equal(format_prefix(pfx, sizeof(pfx), &web->key), "10.20.0.0/16");
	assert_int_equal(web->pol.rate_Bps, MBIT(200));
	assert_int_equal(web->pol.burst_bytes, 256 * 1024);
	assert_int_equal(web->pol.mark_thresh, 64 * 1024);
	assert_int_equal(web->pol.mode, SLUICE_MODE_MONITOR);
	assert_int_equal(web->pol.controller, SLUICE_CTRL_STATIC);
	assert_string_equal(search->name, "search");
	assert_string_equal(format_prefix(pfx, sizeof(pfx), &search->key), "2001:db8:40::/48");
	assert_int_equal(search->pol.min_Bps, MBIT(20));
	assert_int_equal(search->pol.max_Bps, MBIT(1000));
	assert_int_equal(search->pol.rate_Bps, MBIT(1000));
	assert_int_equal(search->pol.controller, SLUICE_CTRL_GRADIENT);
	assert_int_equal(search->pol.fail_mode, SLUICE_FAIL_OPEN);

	assert_true(cfg.classes);
	assert_int_equal(cfg.class_share_pct[SLUICE_CLASS_CRITICAL], 40);
	assert_int_equal(cfg.class_share_pct[SLUICE_CLASS_DEFAULT], 30);
	assert_int_equal(cfg.class_share_pct[SLUICE_CLASS_SHEDDABLE], 20);
	assert_int_equal(cfg.class_share_pct[SLUICE_CLASS_SCAVENGER], 5);
	assert_int_equal(cfg.critical_headroom_pct, 20);
	assert_int_equal(cfg.n_class_rules, 3);
	assert_int_equal(cfg.class_rules[0].kind, SLUICE_CLASSIFY_DSCP);
	assert_int_equal(cfg.class_rules[0].value, 46);
	assert_int_equal(cfg.class_rules[0].cls, SLUICE_CLASS_CRITICAL);
	assert_int_equal(cfg.class_rules[1].kind, SLUICE_CLASSIFY_MARK);
	assert_int_equal(cfg.class_rules[1].value, 7);
	assert_int_equal(cfg.class_rules[1].cls, SLUICE_CLASS_SCAVENGER);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(cfg.class_rules[2].kind, SLUICE_CLASSIFY_CGROUP);
	assert_int_equal(cfg.class_rules[2].value, st.st_ino);
}

/* The same file with CRLF line ends, a byte order mark, space around its
 * lines, or without its last line end reads the same. */
static void test_line_ends_and_a_bom_read_the_same(void **state)
{
	static const struct { const char *name, *prefix, *indent, *eol; } forms[] = {
		{ "CRLF line ends", "", "", "\r\n" },
		{ "a UTF-8 byte order mark", "\xef\xbb\xbf", "", "\n" },
		{ "trailing space", "", "", " \t\n" },
		{ "indented lines", "", "  \t", "\n" },
	};
	static struct sluiced_config want;
	char path[PATH_MAX + 64], text[8192 + PATH_MAX], err[512];
	int bad = 0;
	size_t i, n;

	write_conf("lf.conf", text, valid_text(text, sizeof(text), "", "", "\n"), path, sizeof(path));
	config_defaults(&want);
	if (config_load(path, &want, err, sizeof(err)))
		fail_msg("refused: %s", err);
	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		write_conf("form.conf", text,
			   valid_text(text, sizeof(text), forms[i].prefix, forms[i].indent,
				      forms[i].eol), path,
			   sizeof(path));
		config_defaults(&cfg);
		CHECK(bad, config_load(path, &cfg, err, sizeof(err)) == 0, "%s: refused: %s",
		      forms[i].name, err);
		CHECK(bad, !memcmp(&cfg, &want, sizeof(cfg)), "%s: other values", forms[i].name);
	}
	/* No line end after the last line. */
	n = valid_text(text, sizeof(text), "", "", "\n");
	write_conf("no-eol.conf", text, n - 1, path, sizeof(path));
	config_defaults(&cfg);
	CHECK(bad, config_load(path, &cfg, err, sizeof(err)) == 0, "no last line end: %s", err);
	CHECK(bad, !memcmp(&cfg, &want, sizeof(cfg)), "no last line end: other values");
	assert_int_equal(bad, 0);
}

static void test_tc_place_values(void **state)
{
	static const struct { const char *key, *val; __u32 want; } cases[] = {
		{ "tc_handle", "1", 1 },
		{ "tc_handle", "0xffffffff", 0xffffffffU },
		{ "tc_handle", "4294967295", 0xffffffffU },
		{ "tc_handle", "0X51", 0x51 },
		{ "tc_priority", "1", 1 },
		{ "tc_priority", "65535", 0xffff },
		{ "tc_priority", "0xffff", 0xffff },
		{ "tc_priority", "010", 10 }, /* decimal, not octal */
	};
	char path[PATH_MAX + 64], text[128], err[512];
	int bad = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got;

		snprintf(text, sizeof(text), "[sluice]\n%s = %s\n", cases[i].key, cases[i].val);
		write_conf("tc.conf", text, strlen(text), path, sizeof(path));
		config_defaults(&cfg);
		if (config_load(path, &cfg, err, sizeof(err))) {
			CHECK(bad, false, "%s = %s refused: %s", cases[i].key, cases[i].val, err);
			continue;
		}
		got = strcmp(cases[i].key, "tc_handle") ? cfg.tc_priority : cfg.tc_handle;
		CHECK(bad, got == cases[i].want, "%s = %s gives 0x%x, want 0x%x", cases[i].key,
		      cases[i].val, got, cases[i].want);
		CHECK(bad, !strcmp(cases[i].key, "tc_handle") || cfg.tc_handle == SLUICE_TC_HANDLE,
		      "%s = %s moved tc_handle", cases[i].key, cases[i].val);
		CHECK(bad, !strcmp(cases[i].key, "tc_priority") || cfg.tc_priority == SLUICE_TC_PRIO,
		      "%s = %s moved tc_priority", cases[i].key, cases[i].val);
	}
	assert_int_equal(bad, 0);
}

/* --- mutations of a valid file ---------------------------------------------- */

#define MUTATIONS 500
#define MUTANT_MAX 65536

static __u64 rng_state;

static __u64 rnd(void) /* splitmix64 */
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

struct mutant {
	char d[MUTANT_MAX];
	size_t n;
	char ops[128]; /* what was done, for a failure's message */
};

static void note_op(struct mutant *m, const char *op)
{
	size_t n = strlen(m->ops);

	snprintf(m->ops + n, sizeof(m->ops) - n, "%s%s", n ? "," : "", op);
}

/* Replace del bytes at at with n_ins bytes of ins. */
static void edit(struct mutant *m, size_t at, size_t del, const char *ins, size_t n_ins)
{
	if (m->n - del + n_ins > sizeof(m->d))
		return;
	memmove(m->d + at + n_ins, m->d + at + del, m->n - at - del);
	if (n_ins)
		memcpy(m->d + at, ins, n_ins);
	m->n = m->n - del + n_ins;
}

/* The start of line i (0-based), or m->n past the last one. */
static size_t line_start(const struct mutant *m, size_t i)
{
	size_t at = 0;

	while (i-- && at < m->n) {
		const char *nl = memchr(m->d + at, '\n', m->n - at);

		at = nl ? (size_t)(nl - m->d) + 1 : m->n;
	}
	return at;
}

static size_t line_count(const struct mutant *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		n += m->d[i] == '\n';
	return n + (m->n && m->d[m->n - 1] != '\n');
}

/* A random line: its start and its length, line end included. */
static void pick_line(const struct mutant *m, size_t *start, size_t *len)
{
	size_t i = below(line_count(m));

	*start = line_start(m, i);
	*len = line_start(m, i + 1) - *start;
}

static const char *const known_keys[] = {
	"interface", "cgroup", "pin_dir", "interval", "dest_table_size", "log", "tc_handle",
	"tc_priority", "prefix", "rate", "burst", "ecn", "mode", "min", "max", "controller",
	"fail", "share", "headroom", "dscp", "mark", "colour",
};
static const char *const some_values[] = {
	"lo", "1mbit", "0", "-1", "0x51", "0xffff", "65536", "none", "/sys/fs/cgroup",
	"10.0.0.0/8", "2001:db8::/32", "enforce", "aimd", "open", "46", "50%", "syslog", "",
	"100ms", "1e9", "[policy x]", "=", "a ; b",
};
static const char *const some_lines[] = {
	"[sluice]", "[policy z]", "[class critical]", "[class nope]", "[policy", "[]", "[unknown]",
	"  indented = 1", "no equals sign", ";", "#",
};
static const char some_bytes[] = "[]=:;# \t\r\n\0\xff\x01" "azAZ09/.%";

static void mutate_once(struct mutant *m)
{
	char line[256], byte;
	size_t at, len, at2, len2;
	const char *p;

	switch (below(11)) {
	case 0:
		if (!m->n)
			break;
		m->d[below(m->n)] ^= (char)(1u << below(8));
		note_op(m, "flip");
		break;
	case 1:
		byte = below(4) ? some_bytes[below(sizeof(some_bytes) - 1)] : (char)rnd();
		edit(m, below(m->n + 1), 0, &byte, 1);
		note_op(m, "insert");
		break;
	case 2:
		if (m->n)
			edit(m, below(m->n), 1, NULL, 0);
		note_op(m, "delete");
		break;
	case 3:
		pick_line(m, &at, &len);
		edit(m, at, len, NULL, 0);
		note_op(m, "delete-line");
		break;
	case 4:
		pick_line(m, &at, &len);
		if (len < sizeof(line)) {
			memcpy(line, m->d + at, len);
			edit(m, at, 0, line, len);
		}
		note_op(m, "dup-line");
		break;
	case 5: /* swap two lines: the later one first, then the earlier one */
		pick_line(m, &at, &len);
		pick_line(m, &at2, &len2);
		if (at2 < at) {
			size_t t = at; at = at2; at2 = t;
			t = len; len = len2; len2 = t;
		}
		if (at != at2 && len < sizeof(line) && len2 < sizeof(line)) {
			char second[256];

			memcpy(line, m->d + at, len);
			memcpy(second, m->d + at2, len2);
			edit(m, at2, len2, line, len);
			edit(m, at, len, second, len2);
		}
		note_op(m, "swap-lines");
		break;
	case 6:
		m->n = below(m->n + 1);
		note_op(m, "truncate");
		break;
	case 7:
		len = (size_t)snprintf(line, sizeof(line), "%s = %s\n",
				       known_keys[below(ARRAY_SIZE(known_keys))],
				       some_values[below(ARRAY_SIZE(some_values))]);
		edit(m, line_start(m, below(line_count(m) + 1)), 0, line, len);
		note_op(m, "insert-key");
		break;
	case 8:
		len = (size_t)snprintf(line, sizeof(line), "%s\n",
				       some_lines[below(ARRAY_SIZE(some_lines))]);
		edit(m, line_start(m, below(line_count(m) + 1)), 0, line, len);
		note_op(m, "insert-line");
		break;
	case 9:
	case 10: { /* remove one ']' or '=' */
		char c = below(2) ? ']' : '=';
		size_t i, seen = 0, nth;

		for (i = 0; i < m->n; i++)
			seen += m->d[i] == c;
		nth = below(seen);
		for (i = 0, p = NULL; i < m->n && !p; i++)
			if (m->d[i] == c && !nth--)
				p = m->d + i;
		if (p)
			edit(m, (size_t)(p - m->d), 1, NULL, 0);
		note_op(m, c == ']' ? "remove-]" : "remove-=");
		break;
	}
	}
}

/*
 * Every mutation of a valid file either reads or is refused with one line
 * that starts with the file's name (and, when it names a line, a line the
 * file has); none crashes the parser. Seeded: the same mutations each run.
 */
static void test_mutations_never_crash_the_parser(void **state)
{
	static struct mutant base, m;
	char path[PATH_MAX + 64], want[PATH_MAX + 72];
	int bad = 0, crashed = 0, refused = 0, i, k, line;

	base.n = valid_text(base.d, sizeof(base.d), "", "", "\n");
	rng_state = 0x51c3d5eedULL;
	snprintf(path, sizeof(path), "%s/mutant.conf", dir);
	snprintf(want, sizeof(want), "%s:", path);
	for (i = 0; i < MUTATIONS; i++) {
		struct outcome o;

		m = base;
		m.ops[0] = '\0';
		for (k = 1 + (int)below(3); k > 0; k--)
			mutate_once(&m);
		write_conf("mutant.conf", m.d, m.n, path, sizeof(path));
		o = load_in_child(path);
		if (o.sig) {
			crashed++;
			CHECK(bad, false, "mutation %d (%s) crashed the parser (signal %d)", i, m.ops,
			      o.sig);
			continue;
		}
		if (!o.rc)
			continue;
		refused++;
		line = error_line(path, o.err);
		CHECK(bad, o.rc < 0, "mutation %d (%s): returned %d", i, m.ops, o.rc);
		CHECK(bad, !strncmp(o.err, want, strlen(want)) && o.err[strlen(want)],
		      "mutation %d (%s): the error does not start with the file: '%s'", i, m.ops,
		      o.err);
		CHECK(bad, one_printable_line(o.err), "mutation %d (%s): not one line: '%s'", i,
		      m.ops, o.err);
		CHECK(bad, line <= (int)line_count(&m),
		      "mutation %d (%s): line %d of a file of %zu lines: '%s'", i, m.ops, line,
		      line_count(&m), o.err);
	}
	tap_note("%d mutations: %d refused, %d read, %d crashed", MUTATIONS, refused,
		 MUTATIONS - refused - crashed, crashed);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_valid_file_gives_its_values),
		cmocka_unit_test(test_line_ends_and_a_bom_read_the_same),
		cmocka_unit_test(test_an_empty_file_and_only_comments_give_the_defaults),
		cmocka_unit_test(test_tc_place_values),
		cmocka_unit_test(test_broken_files_are_refused_at_their_first_error),
		cmocka_unit_test(test_a_line_of_10000_characters),
		cmocka_unit_test(test_a_directory_and_a_missing_file),
		cmocka_unit_test(test_mutations_never_crash_the_parser),
	};

	return cmocka_run_group_tests(tests, dir_make, dir_remove);
}
