// SPDX-License-Identifier: GPL-2.0 OR MIT
/* kubelb-agent log lines: logfmt and JSON. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "../agent/agent.h"
#include "../agent/agent_int.h"
#include "tap.h"

static char *buf;
static size_t len;
static FILE *out;

static void capture(enum log_format fmt, int verbosity)
{
	if (out)
		fclose(out);
	free(buf);
	buf = NULL;
	len = 0;
	out = open_memstream(&buf, &len);
	log_init(fmt, verbosity, out);
}

/* What was logged since capture(); the stream stays open for more. */
static const char *captured(void)
{
	fflush(out);
	return buf ? buf : "";
}

static void done(void)
{
	log_init(LOG_LOGFMT, 0, NULL);
	fclose(out);
	free(buf);
	buf = NULL;
	out = NULL;
}

/* For test names: the text up to its first newline. */
static const char *oneline(const char *s)
{
	static char line[512];

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(s ? s : "", "\n"),
		 s ? s : "(null)");
	return line;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* "time=2026-11-26T06:00:00.123Z " */
static bool rfc3339_ms(const char *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; pat[i]; i++) {
		if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
			return false;
	}
	return true;
}

static void test_time(void)
{
	/* 2026-11-26T06:00:00.123456789Z */
	struct timespec ts = { 1795672800, 123456789 };
	char b[40];

	log_format_time(b, sizeof(b), &ts, 6);
	ok(!strcmp(b, "2026-11-26T06:00:00.123456Z"),
	   "time: microseconds, as Lease times are written: %s", b);
	log_format_time(b, sizeof(b), &ts, 3);
	ok(!strcmp(b, "2026-11-26T06:00:00.123Z"), "time: milliseconds: %s", b);
	log_format_time(b, sizeof(b), &ts, 0);
	ok(!strcmp(b, "2026-11-26T06:00:00Z"), "time: whole seconds: %s", b);
	ts.tv_nsec = 5000;
	log_format_time(b, sizeof(b), &ts, 6);
	ok(!strcmp(b, "2026-11-26T06:00:00.000005Z"),
	   "time: leading zeros of the fraction kept: %s", b);
}

static void test_logfmt(void)
{
	const char *s, *p;

	capture(LOG_LOGFMT, 0);
	alog(LOG_INFO, "vip held", "vip", "10.0.0.1", "mode", "local", NULL);
	s = captured();
	ok(!strncmp(s, "time=", 5) && rfc3339_ms(s + 5) && s[29] == ' ',
	   "logfmt: starts with an RFC 3339 millisecond UTC time: %.*s",
	   (int)strcspn(s, "\n"), s);
	p = strchr(s, ' ');
	ok(p && !strcmp(p, " level=info msg=\"vip held\" vip=10.0.0.1 "
			"mode=local\n"),
	   "logfmt: level, quoted msg, then the pairs in order: %s", oneline(p));

	capture(LOG_LOGFMT, 0);
	alog(LOG_WARN, "x", "a", "two words", "b", "k=v", "c", "say \"hi\"",
	     "d", "", "e", "back\\slash", "f", "line1\nline2\ttab", NULL);
	s = captured();
	p = strstr(s, " level=");
	ok(p && !strcmp(p, " level=warn msg=\"x\" a=\"two words\" b=\"k=v\" "
			"c=\"say \\\"hi\\\"\" d= e=back\\slash "
			"f=\"line1\\nline2\\ttab\"\n"),
	   "logfmt: spaces, '=', quotes and control characters quoted and "
	   "escaped, plain values bare: %s", oneline(p));
	ok(count_char(s, '\n') == 1, "logfmt: a newline in a value does not "
	   "split the line");

	capture(LOG_LOGFMT, 0);
	alog(LOG_ERROR, "m", "bad key", "v", "null", NULL, NULL);
	s = captured();
	ok(strstr(s, " bad_key=v null=\n") != NULL,
	   "logfmt: a key with a space cannot break the line, a NULL value "
	   "is empty: %s", oneline(s));
	done();
}

static void test_levels(void)
{
	const char *s;

	capture(LOG_LOGFMT, 0);
	ok(!log_enabled(LOG_DEBUG) && log_enabled(LOG_INFO) &&
	   log_enabled(LOG_ERROR), "levels: debug off without -v");
	alog(LOG_DEBUG, "hidden", NULL);
	alog(LOG_ERROR, "shown", NULL);
	s = captured();
	ok(!strstr(s, "hidden") && strstr(s, "level=error msg=\"shown\""),
	   "levels: debug line dropped, error line written: %s", oneline(s));

	capture(LOG_LOGFMT, 1);
	ok(log_enabled(LOG_DEBUG), "levels: -v enables debug");
	alog(LOG_DEBUG, "now shown", NULL);
	ok(strstr(captured(), "level=debug msg=\"now shown\"") != NULL,
	   "levels: debug line written with -v");
	done();
}

static void test_json(void)
{
	const char *s;
	cJSON *j;
	const cJSON *t;

	capture(LOG_JSON, 0);
	alog(LOG_INFO, "vip \"held\"", "vip", "10.0.0.1", "why",
	     "line1\nline2 \\ \x01", "none", NULL, NULL);
	s = captured();
	ok(count_char(s, '\n') == 1 && s[strlen(s) - 1] == '\n',
	   "json: one line per call");
	j = cJSON_Parse(s);
	ok(j != NULL, "json: the line is valid JSON: %s", oneline(s));
	t = cJSON_GetObjectItem(j, "time");
	ok(cJSON_IsString(t) && rfc3339_ms(t->valuestring) &&
	   strlen(t->valuestring) == 24, "json: time RFC 3339 with ms");
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")),
		   "info") &&
	   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")),
		   "vip \"held\"") &&
	   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "vip")),
		   "10.0.0.1"), "json: level, msg and pairs as members");
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "why")),
		   "line1\nline2 \\ \x01"),
	   "json: control characters, quotes and backslashes round-trip");
	ok(cJSON_IsNull(cJSON_GetObjectItem(j, "none")),
	   "json: a NULL value is null");
	cJSON_Delete(j);
	done();
}

void test_log(void)
{
	test_time();
	test_logfmt();
	test_levels();
	test_json();
}
