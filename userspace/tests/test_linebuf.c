// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Watch stream splitting (linebuf.c) and event parsing (watchline.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/agent.h"
#include "tap.h"

/* Lines seen by the callback, joined as "[line]" for easy comparison. */
struct seen {
	char text[4096];
	size_t len;
	int calls;
	int stop_at;		/* return -ECANCELED on this call (1-based) */
};

static int collect(void *data, const char *line, size_t len)
{
	struct seen *s = data;

	s->calls++;
	if (s->len + len + 3 < sizeof(s->text)) {
		s->text[s->len++] = '[';
		memcpy(s->text + s->len, line, len);
		s->len += len;
		s->text[s->len++] = ']';
		s->text[s->len] = '\0';
	}
	return s->calls == s->stop_at ? -ECANCELED : 0;
}

static void reset_seen(struct seen *s)
{
	memset(s, 0, sizeof(*s));
}

/* Feed a copy of p[0..n) in its own allocation, so ASan sees overreads. */
static int feed(struct linebuf *lb, const char *p, size_t n, struct seen *s)
{
	char *copy = malloc(n ? n : 1);
	int ret;

	memcpy(copy, p, n);
	ret = linebuf_feed(lb, copy, n, collect, s);
	free(copy);
	return ret;
}

static void test_split_everywhere(void)
{
	static const char stream[] =
		"{\"type\":\"ADDED\"}\n\nsecond line\nxx\n"
		"a line that is longer than the initial buffer of the linebuf "
		"so that it has to grow more than once while bytes arrive in "
		"small pieces, which is what happens on a slow watch stream "
		"carrying a large object such as a Node with many images.....\n"
		"tail";
	static const char want[] =
		"[{\"type\":\"ADDED\"}][][second line][xx]"
		"[a line that is longer than the initial buffer of the linebuf "
		"so that it has to grow more than once while bytes arrive in "
		"small pieces, which is what happens on a slow watch stream "
		"carrying a large object such as a Node with many images.....]";
	size_t n = sizeof(stream) - 1, i, j;
	bool all_ok = true;
	struct linebuf lb;
	struct seen s;

	/* every split into two chunks, and every split into three */
	for (i = 0; i <= n; i++) {
		for (j = i; j <= n; j++) {
			linebuf_init(&lb, 1024);
			reset_seen(&s);
			if (feed(&lb, stream, i, &s) ||
			    feed(&lb, stream + i, j - i, &s) ||
			    feed(&lb, stream + j, n - j, &s) ||
			    strcmp(s.text, want) || lb.len != 4 ||
			    memcmp(lb.buf, "tail", 4)) {
				if (all_ok)
					tap_diag("split at %zu,%zu: got %s", i,
						 j, s.text);
				all_ok = false;
			}
			linebuf_free(&lb);
		}
	}
	ok(all_ok, "linebuf: same lines for every split of the stream into 1, 2 or 3 chunks");

	linebuf_init(&lb, 1024);
	reset_seen(&s);
	for (i = 0; i < n; i++)
		feed(&lb, stream + i, 1, &s);
	ok(!strcmp(s.text, want), "linebuf: same lines fed one byte at a time");
	ok(lb.len == 4, "linebuf: unterminated tail stays buffered, not delivered");
	feed(&lb, "\n", 1, &s);
	ok(s.calls == 6 && s.len > 6 &&
	   !strcmp(s.text + s.len - 6, "[tail]"),
	   "linebuf: tail delivered once its newline arrives");
	linebuf_reset(&lb);
	reset_seen(&s);
	feed(&lb, "par", 3, &s);
	linebuf_reset(&lb);
	feed(&lb, "new\n", 4, &s);
	ok(!strcmp(s.text, "[new]"), "linebuf: reset drops a partial line");
	linebuf_free(&lb);
}

static void test_overflow(void)
{
	struct linebuf lb;
	struct seen s;
	int ret;

	linebuf_init(&lb, 8);
	reset_seen(&s);
	ret = feed(&lb, "12345678\n", 9, &s);
	ok(ret == 0 && !strcmp(s.text, "[12345678]"),
	   "linebuf: a line of exactly max bytes is accepted");
	ret = feed(&lb, "123456789\n", 10, &s);
	ok(ret == -E2BIG, "linebuf: a line over max in one chunk is -E2BIG (got %d)",
	   ret);
	linebuf_reset(&lb);
	ret = feed(&lb, "1234", 4, &s);
	ret = ret ? ret : feed(&lb, "5678", 4, &s);
	ok(ret == 0, "linebuf: max bytes may wait for their newline");
	ret = feed(&lb, "9\n", 2, &s);
	ok(ret == -E2BIG, "linebuf: a line growing over max across chunks is -E2BIG");
	linebuf_reset(&lb);
	ret = feed(&lb, "123456789", 9, &s);
	ok(ret == -E2BIG, "linebuf: an unterminated tail over max is -E2BIG");
	ok(lb.cap <= 8, "linebuf: the buffer never grows past max (cap %zu)",
	   lb.cap);
	linebuf_reset(&lb);
	reset_seen(&s);
	ret = feed(&lb, "ok\n", 3, &s);
	ok(ret == 0 && !strcmp(s.text, "[ok]"),
	   "linebuf: usable again after reset");
	linebuf_free(&lb);
}

static void test_cb_stop(void)
{
	struct linebuf lb;
	struct seen s;
	int ret;

	linebuf_init(&lb, 64);
	reset_seen(&s);
	s.stop_at = 2;
	ret = feed(&lb, "a\nb\nc\n", 6, &s);
	ok(ret == -ECANCELED && !strcmp(s.text, "[a][b]"),
	   "linebuf: a callback error stops the split and is returned");
	linebuf_free(&lb);
}

/* ------------------------------------------------------------ watchline */

static int parse(const char *line, struct watch_line *wl)
{
	/* exact-size copy without NUL: the parser must respect len */
	size_t n = strlen(line);
	char *copy = malloc(n ? n : 1);
	int ret;

	memcpy(copy, line, n);
	ret = watch_line_parse(copy, n, wl);
	free(copy);
	return ret;
}

static void test_watchline_types(void)
{
	static const struct {
		const char *name;
		enum watch_type type;
	} types[] = {
		{ "ADDED", WATCH_ADDED },
		{ "MODIFIED", WATCH_MODIFIED },
		{ "DELETED", WATCH_DELETED },
	};
	struct watch_line wl;
	char line[256];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"type\":\"%s\",\"object\":{\"kind\":\"Service\","
			 "\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"4%zu\"}}}",
			 types[i].name, i);
		ret = parse(line, &wl);
		ok(ret == 0 && wl.type == types[i].type && wl.object &&
		   wl.resource_version &&
		   wl.resource_version[0] == '4' && wl.code == 0,
		   "watchline: %s with object and resourceVersion", types[i].name);
		if (!ret) {
			const cJSON *m = cJSON_GetObjectItem(wl.object,
							     "metadata");

			ok(!strcmp(cJSON_GetObjectItem(m, "name")->valuestring,
				   "a"), "watchline: %s object is the event's object",
			   types[i].name);
		}
		watch_line_free(&wl);
	}

	ret = parse("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", &wl);
	ok(ret == 0 && wl.resource_version == NULL,
	   "watchline: ADDED without resourceVersion parses, RV NULL");
	watch_line_free(&wl);

	ret = parse("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\","
		    "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"12345\"}}}\r",
		    &wl);
	ok(ret == 0 && wl.type == WATCH_BOOKMARK &&
	   !strcmp(wl.resource_version, "12345"),
	   "watchline: BOOKMARK carries the resourceVersion (CR tolerated)");
	watch_line_free(&wl);

	ret = parse("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}", &wl);
	ok(ret == -EINVAL, "watchline: BOOKMARK without resourceVersion is -EINVAL");
	ret = parse("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
		    "{\"resourceVersion\":\"\"}}}", &wl);
	ok(ret == -EINVAL, "watchline: BOOKMARK with empty resourceVersion is -EINVAL");

	ret = parse("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		    "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		    "\"message\":\"too old resource version: 1 (5)\","
		    "\"reason\":\"Expired\",\"code\":410}}", &wl);
	ok(ret == 0 && wl.type == WATCH_ERROR && wl.code == 410 &&
	   wl.reason && !strcmp(wl.reason, "Expired") && !wl.resource_version,
	   "watchline: ERROR 410 Expired: code and reason");
	watch_line_free(&wl);

	ret = parse("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		    "\"reason\":\"Gone\",\"code\":410}}", &wl);
	ok(ret == 0 && wl.code == 410 && !strcmp(wl.reason, "Gone"),
	   "watchline: ERROR 410 Gone");
	watch_line_free(&wl);

	ret = parse("{\"type\":\"ERROR\",\"object\":{\"message\":\"x\"}}", &wl);
	ok(ret == 0 && wl.type == WATCH_ERROR && wl.code == 0 && !wl.reason,
	   "watchline: ERROR without code or reason: code 0, reason NULL");
	watch_line_free(&wl);

	ret = parse("{\"object\":{\"code\":500,\"reason\":\"InternalError\"},"
		    "\"type\":\"ERROR\"}", &wl);
	ok(ret == 0 && wl.code == 500 && !strcmp(wl.reason, "InternalError"),
	   "watchline: member order does not matter");
	watch_line_free(&wl);
}

static void test_watchline_garbage(void)
{
	static const char *const bad[] = {
		"",
		" ",
		"not json",
		"{",
		"{\"type\":\"ADDED\",\"object\":{}",
		"[]",
		"\"ADDED\"",
		"{}",
		"{\"type\":\"ADDED\"}",
		"{\"type\":\"ADDED\",\"object\":null}",
		"{\"type\":\"ADDED\",\"object\":\"x\"}",
		"{\"type\":\"ADDED\",\"object\":[1]}",
		"{\"type\":\"added\",\"object\":{}}",
		"{\"type\":\"SYNC\",\"object\":{}}",
		"{\"type\":1,\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{}} x",
		"{\"type\":\"ADDED\",\"object\":{}}{\"type\":\"ADDED\",\"object\":{}}",
	};
	struct watch_line wl;
	bool all = true;
	size_t i;
	char *deep;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &wl) != -EINVAL || wl.root) {
			tap_diag("accepted: %s", bad[i]);
			all = false;
		}
	}
	ok(all, "watchline: %zu kinds of garbage are -EINVAL, nothing kept",
	   sizeof(bad) / sizeof(bad[0]));

	/* a NUL inside the line must not end parsing early */
	ok(watch_line_parse("{\"type\":\"ADDED\",\"object\":{}}\0junk", 33,
			    &wl) == -EINVAL,
	   "watchline: bytes after an embedded NUL are not ignored");

	/* deep nesting must not exhaust the stack */
	deep = malloc(200001);
	memset(deep, '[', 200000);
	deep[200000] = '\0';
	ok(parse(deep, &wl) == -EINVAL, "watchline: 200000 nested arrays are -EINVAL");
	free(deep);
}

/* Lines through linebuf into watchline, as kapi.c does. */
struct stream_seen {
	int events, errors;
	char last_rv[32];
};

static int on_line(void *data, const char *line, size_t len)
{
	struct stream_seen *s = data;
	struct watch_line wl;

	if (watch_line_parse(line, len, &wl)) {
		s->errors++;
		return -EINVAL;
	}
	s->events++;
	snprintf(s->last_rv, sizeof(s->last_rv), "%s", wl.resource_version);
	watch_line_free(&wl);
	return 0;
}

static void test_stream(void)
{
	static const char stream[] =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}\n"
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\n"
		"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
		"garbage\n"
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"10\"}}}\n";
	struct stream_seen s = { 0 };
	struct linebuf lb;
	size_t i;
	int ret = 0;

	linebuf_init(&lb, 1 << 20);
	for (i = 0; i < sizeof(stream) - 1 && !ret; i += 7)
		ret = linebuf_feed(&lb, stream + i,
				   sizeof(stream) - 1 - i < 7 ?
				   sizeof(stream) - 1 - i : 7, on_line, &s);
	ok(ret == -EINVAL && s.events == 3 && s.errors == 1 &&
	   !strcmp(s.last_rv, "9"),
	   "watch stream: events until the garbage line, which stops the stream");
	linebuf_free(&lb);
}

void test_linebuf(void)
{
	test_split_everywhere();
	test_overflow();
	test_cb_stop();
	test_watchline_types();
	test_watchline_garbage();
	test_stream();
}
