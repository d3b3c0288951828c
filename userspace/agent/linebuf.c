// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Newline-delimited stream splitter for watch streams.
 *
 * Every byte is looked at once: memchr runs over each incoming chunk
 * exactly once. Complete lines inside a chunk are handed to the callback
 * straight from the caller's memory; only the unterminated tail of a
 * chunk is copied, so the buffer never holds a '\n' and never needs
 * rescanning. Its size is bounded by max.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

void linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

/* Append n bytes of a line still incomplete; the line must stay <= max. */
static int linebuf_append(struct linebuf *lb, const char *p, size_t n)
{
	size_t need, cap;
	char *buf;

	if (n > lb->max - lb->len)
		return -E2BIG;
	need = lb->len + n;
	if (need > lb->cap) {
		cap = lb->cap ? lb->cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > lb->max)
			cap = lb->max;
		buf = realloc(lb->buf, cap);
		if (!buf)
			return -ENOMEM;
		lb->buf = buf;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, p, n);
	lb->len = need;
	return 0;
}

int linebuf_feed(struct linebuf *lb, const char *p, size_t n,
		 linebuf_cb cb, void *data)
{
	const char *nl;
	size_t part, len;
	int ret;

	while (n) {
		nl = memchr(p, '\n', n);
		if (!nl)
			return linebuf_append(lb, p, n);
		part = (size_t)(nl - p);
		if (lb->len) {
			/* the chunk completes the buffered line */
			ret = linebuf_append(lb, p, part);
			if (ret)
				return ret;
			len = lb->len;
			lb->len = 0;
			ret = cb(data, lb->buf, len);
		} else {
			if (part > lb->max)
				return -E2BIG;
			ret = cb(data, p, part);
		}
		if (ret)
			return ret;
		p = nl + 1;
		n -= part + 1;
	}
	return 0;
}

void linebuf_reset(struct linebuf *lb)
{
	lb->len = 0;
}

void linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	linebuf_init(lb, lb->max);
}
