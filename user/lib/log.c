// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <bpf/libbpf.h>

#include "lib/log.h"

static const char *log_ident = "sluice";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;
static bool libbpf_debug;

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

__printf(3, 0)
static void log_vemit(enum log_level level, const char *err, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	/* Messages from libbpf end in a newline already. */
	if (n > 0 && (size_t)n < sizeof(msg) && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	if (log_syslog) {
		if (err)
			syslog(prio[level], "%s: %s", msg, err);
		else
			syslog(prio[level], "%s", msg);
		return;
	}
	if (err)
		fprintf(stderr, "%s: %s: %s\n", log_ident, msg, err);
	else
		fprintf(stderr, "%s: %s\n", log_ident, msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, NULL, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

__printf(2, 0)
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings become info, its info becomes debug; its debug
	 * stream (every relocation) only when asked for. */
	enum log_level ours = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (level == LIBBPF_DEBUG && !libbpf_debug)
		return 0;

	log_vemit(ours, NULL, fmt, ap);
	return 0;
}

void log_route_libbpf(bool with_debug)
{
	libbpf_debug = with_debug;
	libbpf_set_print(libbpf_print);
}
