// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Log lines: logfmt (the default) or one JSON object per line.
 *
 * Each line is built in memory and written with one fwrite() so that a
 * line is never split across write(2) calls on an unbuffered stderr.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "agent_int.h"

static struct {
	enum log_format fmt;
	int verbosity;
	FILE *out;		/* NULL: stderr */
} logger;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_init(enum log_format fmt, int verbosity, FILE *out)
{
	logger.fmt = fmt;
	logger.verbosity = verbosity;
	logger.out = out;
}

bool log_enabled(enum log_level level)
{
	return level <= (logger.verbosity > 0 ? LOG_DEBUG : LOG_INFO);
}

void log_format_time(char *buf, size_t len, const struct timespec *ts,
		     int digits)
{
	unsigned long frac = (unsigned long)ts->tv_nsec % 1000000000ul;
	struct tm tm;
	int i, n;

	if (digits < 0)
		digits = 0;
	if (digits > 9)
		digits = 9;
	gmtime_r(&ts->tv_sec, &tm);
	for (i = digits; i < 9; i++)
		frac /= 10;
	/* the modulos tell the compiler how wide each field can be */
	n = snprintf(buf, len, "%04u-%02u-%02uT%02u:%02u:%02u",
		     (unsigned int)(tm.tm_year + 1900) % 10000u,
		     (unsigned int)(tm.tm_mon + 1) % 100u,
		     (unsigned int)tm.tm_mday % 100u,
		     (unsigned int)tm.tm_hour % 100u,
		     (unsigned int)tm.tm_min % 100u,
		     (unsigned int)tm.tm_sec % 100u);
	if (n < 0 || (size_t)n >= len)
		return;
	if (digits)
		snprintf(buf + n, len - n, ".%0*luZ", digits, frac);
	else
		snprintf(buf + n, len - n, "Z");
}

/* go-logfmt's rule: quote when a byte is a space, control, '=' or '"'. */
static bool logfmt_needs_quotes(const char *v)
{
	const unsigned char *p;

	if (!*v)
		return false;
	for (p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f)
			return true;
	return false;
}

static void logfmt_quoted(FILE *f, const char *v)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < ' ' || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void logfmt_value(FILE *f, const char *v)
{
	if (logfmt_needs_quotes(v))
		logfmt_quoted(f, v);
	else
		fputs(v, f);
}

/* Keys come from our own code, but a key must never break the line. */
static void logfmt_key(FILE *f, const char *k)
{
	const unsigned char *p;

	if (!*k) {
		fputc('_', f);
		return;
	}
	for (p = (const unsigned char *)k; *p; p++)
		fputc(*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f ?
		      '_' : *p, f);
}

static char *format_logfmt(const char *when, enum log_level level,
			   const char *msg, va_list ap, size_t *len)
{
	char *line = NULL;
	const char *k, *v;
	FILE *f;

	f = open_memstream(&line, len);
	if (!f)
		return NULL;
	fprintf(f, "time=%s level=%s msg=", when, level_names[level]);
	logfmt_quoted(f, msg ? msg : "");
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		fputc(' ', f);
		logfmt_key(f, k);
		fputc('=', f);
		logfmt_value(f, v ? v : "");
	}
	fputc('\n', f);
	if (fclose(f)) {
		free(line);
		return NULL;
	}
	return line;
}

static char *format_json(const char *when, enum log_level level,
			 const char *msg, va_list ap, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	const char *k, *v;
	char *s, *line;

	if (!o ||
	    !cJSON_AddStringToObject(o, "time", when) ||
	    !cJSON_AddStringToObject(o, "level", level_names[level]) ||
	    !cJSON_AddStringToObject(o, "msg", msg ? msg : ""))
		goto fail;
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!(v ? cJSON_AddStringToObject(o, k, v) :
			  cJSON_AddNullToObject(o, k)))
			goto fail;
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return NULL;
	*len = strlen(s) + 1;
	line = malloc(*len + 1);
	if (line) {
		memcpy(line, s, *len - 1);
		line[*len - 1] = '\n';
		line[*len] = '\0';
	}
	cJSON_free(s);
	return line;
fail:
	cJSON_Delete(o);
	return NULL;
}

void alog(enum log_level level, const char *msg, ...)
{
	FILE *out = logger.out ? logger.out : stderr;
	struct timespec ts;
	char when[40];
	char *line;
	size_t len = 0;
	va_list ap;

	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	log_format_time(when, sizeof(when), &ts, 3);

	va_start(ap, msg);
	if (logger.fmt == LOG_JSON)
		line = format_json(when, level, msg, ap, &len);
	else
		line = format_logfmt(when, level, msg, ap, &len);
	va_end(ap);

	if (line) {
		fwrite(line, 1, len, out);
		free(line);
	} else {
		/* out of memory: still say something */
		fprintf(out, "time=%s level=%s msg=\"log line lost: out of "
			"memory\"\n", when, level_names[level]);
	}
	fflush(out);
}
