// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Everything sluicectl prints. A command builds its whole JSON document
 * before printing it, so a failure half-way prints the error alone and
 * never a truncated document. In JSON mode errors are documents too,
 * {"error": "..."} on stdout, as bpftool does; in text mode they are one
 * line on stderr, through the shared logger.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/classes.h"
#include "lib/reason.h"
#include "sluicectl/sluicectl.h"

__printf(1, 0)
static void p_verr(const char *fmt, va_list ap)
{
	char msg[512];
	cJSON *doc;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!json_output) {
		log_msg(LOG_LVL_ERR, "%s", msg);
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "error", msg);
	json_print(doc);
}

int p_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int p_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr(fmt, ap);
	va_end(ap);
	/* -EINVAL means a bad command line: a library's -EINVAL at run
	 * time must still exit 1. */
	return err == -EINVAL || err >= 0 ? -EIO : err;
}

/* cJSON reports allocation failures by dropping keys silently; a CLI
 * would rather stop than print a document with fields missing. */
static void *json_malloc(size_t sz)
{
	void *p = malloc(sz);

	if (!p)
		fatalx("out of memory");
	return p;
}

void json_install_hooks(void)
{
	cJSON_Hooks hooks = { .malloc_fn = json_malloc, .free_fn = free };

	cJSON_InitHooks(&hooks);
}

/* Print and free a document. */
int json_print(cJSON *doc)
{
	char *s = pretty_output ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

/* Print and free a document on one line, whatever -p says: a stream of
 * documents is read line by line. */
int json_print_line(cJSON *doc)
{
	char *s = cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

/* Commands with nothing to report still print a valid document. */
int json_print_null(void)
{
	return json_print(cJSON_CreateNull());
}

/* cJSON numbers are doubles, exact only to 2^53: counters go in as text. */
void json_add_u64(cJSON *obj, const char *key, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	cJSON_AddRawToObject(obj, key, buf);
}

char *fmt_usec(char *buf, size_t len, unsigned long long us)
{
	if (us < 1000)
		snprintf(buf, len, "%lluus", us);
	else if (us < 1000000)
		snprintf(buf, len, "%.2fms", us / 1e3);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

char *fmt_nsec(char *buf, size_t len, unsigned long long ns)
{
	return fmt_usec(buf, len, ns / 1000);
}

char *fmt_pressure(char *buf, size_t len, unsigned int milli)
{
	snprintf(buf, len, "%.2f", milli / 1000.0);
	return buf;
}

const char *allow_name(int allow)
{
	switch (allow) {
	case SLUICE_ALLOW_FULL:
		return "full";
	case SLUICE_ALLOW_FLOOR:
		return "floor";
	case SLUICE_ALLOW_NONE:
		return "none";
	default:
		return "unknown";
	}
}

/* "sheddable and scavenger" from a bit per class, in class order. */
static void join_classes(char *buf, size_t len, unsigned int mask)
{
	unsigned int i, n = __builtin_popcount(mask), k = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (i = 0; i < SLUICE_CLASSES && off < len; i++) {
		if (!(mask & (1u << i)))
			continue;
		k++;
		off += snprintf(buf + off, len - off, "%s%s",
				k == 1 ? "" : k == n ? " and " : ", ", class_name(i));
	}
}

/*
 * What a ladder step does, read from sluice_class_allow() itself so that
 * it says what the datapath does: the classes it stops, then those it
 * holds to their guarantee. A step past the top reads as the top does.
 */
char *fmt_ladder(char *buf, size_t len, __u8 step)
{
	unsigned int none = 0, floor = 0, i;
	char stopped[64], held[64];

	for (i = 0; i < SLUICE_CLASSES; i++) {
		int a = sluice_class_allow(step, (__u8)i);

		if (a == SLUICE_ALLOW_NONE)
			none |= 1u << i;
		else if (a == SLUICE_ALLOW_FLOOR)
			floor |= 1u << i;
	}
	join_classes(stopped, sizeof(stopped), none);
	join_classes(held, sizeof(held), floor);
	if (!none && !floor)
		snprintf(buf, len, "every class has its guarantee and borrows");
	else if (!floor)
		snprintf(buf, len, "%s stopped", stopped);
	else if (!none)
		snprintf(buf, len, "%s held to %s guarantee", held,
			 __builtin_popcount(floor) > 1 ? "their" : "its");
	else
		snprintf(buf, len, "%s stopped, %s held to %s guarantee", stopped, held,
			 __builtin_popcount(floor) > 1 ? "their" : "its");
	return buf;
}

/* Pressure is a fraction 0..1 in JSON, the maps keep thousandths. */
void json_add_pressure(cJSON *obj, unsigned int milli)
{
	cJSON_AddNumberToObject(obj, "pressure", milli / 1000.0);
}

/* A text table: cells are copied, columns padded to their widest cell. */
struct table {
	int ncols;
	size_t nrows;
	char **cells; /* row-major, the header is row 0 */
	size_t *width;
};

struct table *table_new(int ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->width = calloc(ncols, sizeof(*t->width));
	if (!t->width || table_add(t, headers)) {
		table_free(t);
		return NULL;
	}
	return t;
}

int table_add(struct table *t, const char *const *cells)
{
	char **grown;
	int i;

	grown = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->cells = grown;
	grown += t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		grown[i] = strdup(cells[i]);
		if (!grown[i]) {
			while (i--)
				free(grown[i]);
			return -ENOMEM;
		}
		if (strlen(cells[i]) > t->width[i])
			t->width[i] = strlen(cells[i]);
	}
	t->nrows++;
	return 0;
}

/* An empty table prints nothing, not even its header. */
void table_print(const struct table *t)
{
	size_t r;
	int c;

	if (t->nrows < 2)
		return;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols - 1; c++)
			printf("%-*s  ", (int)t->width[c], t->cells[r * t->ncols + c]);
		printf("%s\n", t->cells[r * t->ncols + c]);
	}
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
