/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Table-driven checks for cmocka tests: every failing row is reported as a
 * TAP comment, and the test then fails once with the count, so one run
 * shows all the rows that are wrong rather than only the first.
 *
 *	int bad = 0;
 *	CHECK(bad, got == want, "f(%d) = %d, want %d", in, got, want);
 *	assert_int_equal(bad, 0);
 */
#ifndef SLUICE_TEST_CHECK_H
#define SLUICE_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static inline void __attribute__((format(printf, 1, 2))) tap_note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

#define CHECK(bad, cond, ...)                   \
	do {                                    \
		if (!(cond)) {                  \
			tap_note(__VA_ARGS__);  \
			(bad)++;                \
		}                               \
	} while (0)

#endif
