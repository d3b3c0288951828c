// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * String-keyed hash map with separate chaining. Each entry is one
 * allocation holding its key; the bucket array doubles when the map holds
 * more entries than buckets, so lookups stay O(1) at 10,000s of keys.
 *
 * The hash is FNV-1a with a per-process seed: keys come from the API
 * server (namespace and object names), and a seed keeps collisions from
 * being chosen in advance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

struct store_entry {
	struct store_entry *next;
	void *obj;
	uint32_t hash;
	bool stale;
	char key[];
};

struct store {
	struct store_entry **buckets;
	size_t n_buckets;	/* power of two */
	size_t count;
	store_free_fn free_fn;
};

#define STORE_MIN_BUCKETS 64

static uint32_t store_seed;

static uint32_t hash_key(const char *key)
{
	uint32_t h = 2166136261u ^ store_seed;

	while (*key) {
		h ^= (uint8_t)*key++;
		h *= 16777619u;
	}
	return h;
}

struct store *store_new(store_free_fn free_fn)
{
	struct store *s;

	if (!store_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		store_seed = ((uint32_t)ts.tv_nsec ^
			      ((uint32_t)getpid() << 16)) | 1;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->buckets = calloc(STORE_MIN_BUCKETS, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->n_buckets = STORE_MIN_BUCKETS;
	s->free_fn = free_fn;
	return s;
}

static void free_entry(const struct store *s, struct store_entry *e)
{
	if (s->free_fn && e->obj)
		s->free_fn(e->obj);
	free(e);
}

void store_free(struct store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_buckets; i++) {
		struct store_entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free_entry(s, e);
		}
	}
	free(s->buckets);
	free(s);
}

static struct store_entry **find(const struct store *s, const char *key,
				 uint32_t h)
{
	struct store_entry **pp = &s->buckets[h & (s->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->key, key))
			return pp;
	return pp;
}

void *store_get(const struct store *s, const char *key)
{
	struct store_entry *e = *find(s, key, hash_key(key));

	return e ? e->obj : NULL;
}

/* Doubling failed: the map keeps working with longer chains. */
static void grow(struct store *s)
{
	size_t n = s->n_buckets * 2, i;
	struct store_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < s->n_buckets; i++) {
		struct store_entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n;
}

/* On -ENOMEM obj is freed as well: the store takes it either way. */
int store_put(struct store *s, const char *key, void *obj)
{
	uint32_t h = hash_key(key);
	struct store_entry **pp = find(s, key, h), *e = *pp;
	size_t klen;

	if (e) {
		if (e->obj != obj && s->free_fn && e->obj)
			s->free_fn(e->obj);
		e->obj = obj;
		e->stale = false;
		return 0;
	}
	klen = strlen(key);
	e = malloc(sizeof(*e) + klen + 1);
	if (!e) {
		if (s->free_fn && obj)
			s->free_fn(obj);
		return -ENOMEM;
	}
	memcpy(e->key, key, klen + 1);
	e->obj = obj;
	e->hash = h;
	e->stale = false;
	e->next = NULL;
	*pp = e;
	s->count++;
	if (s->count > s->n_buckets)
		grow(s);
	return 0;
}

bool store_del(struct store *s, const char *key)
{
	struct store_entry **pp = find(s, key, hash_key(key)), *e = *pp;

	if (!e)
		return false;
	*pp = e->next;
	s->count--;
	free_entry(s, e);
	return true;
}

size_t store_count(const struct store *s)
{
	return s->count;
}

/* cb must not add or delete entries (it may replace an entry's object
 * through store_put of its own key). */
int store_each(const struct store *s,
	       int (*cb)(const char *key, void *obj, void *data), void *data)
{
	size_t i;
	int ret;

	for (i = 0; i < s->n_buckets; i++) {
		struct store_entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			ret = cb(e->key, e->obj, data);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void store_mark_stale(struct store *s)
{
	size_t i;
	struct store_entry *e;

	for (i = 0; i < s->n_buckets; i++)
		for (e = s->buckets[i]; e; e = e->next)
			e->stale = true;
}

/* gone must not modify the store. */
void store_sweep(struct store *s, void (*gone)(const char *key, void *obj,
					      void *data), void *data)
{
	size_t i;

	for (i = 0; i < s->n_buckets; i++) {
		struct store_entry **pp = &s->buckets[i], *e;

		while ((e = *pp)) {
			if (!e->stale) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			s->count--;
			if (gone)
				gone(e->key, e->obj, data);
			free_entry(s, e);
		}
	}
}
