/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One logger for sluiced and sluicectl. Formats are checked by the
 * compiler. log_warn() appends strerror(errno), log_warnx() does not;
 * fatal() logs and exits.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#define __printf(a, b) __attribute__((format(printf, a, b)))

/* ident prefixes stderr lines; use_syslog sends everything to syslog. */
void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Route libbpf's own messages here, one level lower than their own;
 * libbpf's debug messages only when with_debug. */
void log_route_libbpf(bool with_debug);

void log_msg(enum log_level level, const char *fmt, ...) __printf(2, 3);
void log_warn(const char *fmt, ...) __printf(1, 2);
void log_warnx(const char *fmt, ...) __printf(1, 2);
void log_info(const char *fmt, ...) __printf(1, 2);
void log_debug(const char *fmt, ...) __printf(1, 2);
void fatal(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));

#endif
