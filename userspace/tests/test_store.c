// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The string-keyed map behind the model, and its relist sweep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "tap.h"

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static int *num(int v)
{
	int *p = malloc(sizeof(*p));

	if (p)
		*p = v;
	return p;
}

struct walk {
	long sum;
	size_t n;
	int stop_at;
};

static int walk_cb(const char *key, void *obj, void *data)
{
	struct walk *w = data;
	int v = *(int *)obj;
	char expect[32];

	snprintf(expect, sizeof(expect), "ns/obj-%d", v);
	if (strcmp(key, expect))
		return -1;
	w->sum += v;
	w->n++;
	return w->stop_at && (int)w->n == w->stop_at ? 7 : 0;
}

struct gone {
	size_t n;
	bool keys_ok;
};

static void gone_cb(const char *key, void *obj, void *data)
{
	struct gone *g = data;
	int v = *(int *)obj;
	char expect[32];

	snprintf(expect, sizeof(expect), "ns/obj-%d", v);
	g->keys_ok &= !strcmp(key, expect) && v % 3 == 0;
	g->n++;
}

void test_store(void)
{
	enum { N = 5000 };
	struct store *s = store_new(count_free);
	char key[32];
	struct walk w = { 0 };
	struct gone g = { .keys_ok = true };
	bool all;
	int i;

	ok(s && store_count(s) == 0 && !store_get(s, "x"), "store: empty");
	all = true;
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "ns/obj-%d", i);
		all &= !store_put(s, key, num(i));
	}
	ok(all && store_count(s) == N, "store: %d puts, count %zu", N,
	   store_count(s));
	all = true;
	for (i = 0; i < N; i++) {
		int *v;

		snprintf(key, sizeof(key), "ns/obj-%d", i);
		v = store_get(s, key);
		all &= v && *v == i;
	}
	ok(all, "store: every key found with its object after growing");
	ok(!store_get(s, "ns/obj-5000") && !store_get(s, ""),
	   "store: absent keys are absent");

	freed = 0;
	ok(!store_put(s, "ns/obj-7", num(7)) && freed == 1 &&
	   store_count(s) == N, "store: replace frees the old object");
	ok(store_del(s, "ns/obj-8") && freed == 2 && !store_get(s, "ns/obj-8")
	   && store_count(s) == N - 1, "store: del frees and forgets");
	ok(!store_del(s, "ns/obj-8") && freed == 2,
	   "store: del of an absent key is false");
	ok(!store_put(s, "ns/obj-8", num(8)) && store_count(s) == N,
	   "store: put after del");

	ok(store_each(s, walk_cb, &w) == 0 && w.n == N &&
	   w.sum == (long)N * (N - 1) / 2,
	   "store: each visits every entry once with its key");
	w = (struct walk){ .stop_at = 10 };
	ok(store_each(s, walk_cb, &w) == 7 && w.n == 10,
	   "store: each stops at the first non-zero return");

	/* relist: a third of the objects are not listed again */
	store_mark_stale(s);
	all = true;
	for (i = 0; i < N; i++) {
		if (i % 3 == 0)
			continue;
		snprintf(key, sizeof(key), "ns/obj-%d", i);
		/* half re-put the same object (unchanged), half a new one */
		if (i % 2)
			all &= !store_put(s, key, store_get(s, key));
		else
			all &= !store_put(s, key, num(i));
	}
	freed = 0;
	store_sweep(s, gone_cb, &g);
	ok(all && g.keys_ok && g.n == (N + 2) / 3 &&
	   freed == (int)g.n && store_count(s) == N - g.n,
	   "store: sweep drops exactly the %zu entries not re-put, "
	   "calling gone for each", g.n);
	ok(!store_get(s, "ns/obj-0") && store_get(s, "ns/obj-1") &&
	   *(int *)store_get(s, "ns/obj-2") == 2,
	   "store: re-put entries survive the sweep");
	g = (struct gone){ .keys_ok = true };
	store_sweep(s, gone_cb, &g);
	ok(g.n == 0 && store_count(s) == N - (N + 2) / 3,
	   "store: a second sweep without mark removes nothing");

	/* a deleted key re-added during a relist is fresh, not stale */
	store_mark_stale(s);
	store_del(s, "ns/obj-1");
	store_put(s, "ns/obj-1", num(1));
	store_sweep(s, NULL, NULL);
	ok(store_count(s) == 1 && store_get(s, "ns/obj-1"),
	   "store: sweep with no callback; only the re-added key stays");

	freed = 0;
	store_free(s);
	ok(freed == 1, "store: free releases the remaining objects");
	store_free(NULL);

	s = store_new(NULL);
	ok(s && !store_put(s, "k", "static") &&
	   !strcmp(store_get(s, "k"), "static") && store_del(s, "k"),
	   "store: without a free function objects are not freed");
	store_free(s);
}
