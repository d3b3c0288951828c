// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target: a watch stream cut into random chunks goes through
 * linebuf_feed and watch_line_parse, as kapi.c feeds them from libcurl.
 *
 * Input: byte 0 picks the line limit (16 B .. 2 KiB, so overflow is
 * reachable), bytes 1..8 seed the chunking, the whole input is the
 * stream. Each chunk sits in its own exact-size allocation, so reading
 * past a line shows up in ASan. Oracle: the same stream fed in one piece
 * must give the same lines and the same result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/agent.h"

struct tally {
	uint64_t hash;
	size_t lines, events;
};

static int on_line(void *data, const char *line, size_t len)
{
	struct tally *t = data;
	struct watch_line wl;
	size_t i;

	t->lines++;
	for (i = 0; i < len; i++)
		t->hash = (t->hash ^ (uint8_t)line[i]) * 0x100000001b3ull;
	t->hash = (t->hash ^ 0x1ff) * 0x100000001b3ull;

	if (watch_line_parse(line, len, &wl))
		return 0;	/* kapi.c restarts; keep going to cover more */
	t->events++;
	/* what kapi.c reads from a parsed event must be valid */
	if (wl.resource_version)
		t->hash ^= strlen(wl.resource_version);
	if (wl.reason)
		t->hash ^= strlen(wl.reason);
	if (wl.type == WATCH_BOOKMARK && !wl.resource_version)
		abort();
	if (!wl.object || !wl.root)
		abort();
	watch_line_free(&wl);
	return 0;
}

static int feed_chunked(const uint8_t *data, size_t size, size_t max,
			uint64_t seed, struct tally *t)
{
	struct linebuf lb;
	size_t off = 0, n;
	char *chunk;
	int ret = 0;

	linebuf_init(&lb, max);
	while (off < size && !ret) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		/* mostly small chunks, sometimes large ones */
		n = seed % 8 ? seed % 17 + 1 : seed % 4096 + 1;
		if (n > size - off)
			n = size - off;
		chunk = malloc(n);
		if (!chunk)
			abort();
		memcpy(chunk, data + off, n);
		ret = linebuf_feed(&lb, chunk, n, on_line, t);
		free(chunk);
		off += n;
	}
	linebuf_free(&lb);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally chunked = { 0 }, whole = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct linebuf lb;
	size_t max, i;
	char *copy;
	int r1, r2;

	if (!size)
		return 0;
	max = (size_t)16 << (data[0] % 8);
	for (i = 1; i < size && i < 9; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ull;

	r1 = feed_chunked(data, size, max, seed | 1, &chunked);

	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	linebuf_init(&lb, max);
	r2 = linebuf_feed(&lb, copy, size, on_line, &whole);
	linebuf_free(&lb);
	free(copy);

	if (r1 != r2 || chunked.lines != whole.lines ||
	    chunked.events != whole.events || chunked.hash != whole.hash)
		abort();
	return 0;
}
