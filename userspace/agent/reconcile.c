// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Kernel table <- decisions.
 *
 * The reconciler keeps, per address, what the kernel holds for us (read
 * once by reconciler_load, then updated from what our own requests did)
 * and what the model last wanted. A flush turns the difference into
 * kubelb requests and sends them in one kubelb_apply() call, which
 * batches them per sendmsg(). Equal VIPs produce no request at all: that
 * is what lets a restarted agent leave the VIPs that should stay alone.
 *
 * Only VIPs carrying AGENT_OWNER are ever in the table, so only they are
 * ever replaced or deleted. Adding an address an operator already holds
 * fails with EEXIST; that is logged once and retried with backoff, never
 * in a hot loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"
#include "agent_int.h"

#define REC_RETRY_MIN_MS	1000
#define REC_RETRY_MAX_MS	60000

const double reconcile_bucket_le[RECONCILE_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
};

struct rentry {
	struct rentry *hnext;
	uint16_t family;
	union kubelb_addr addr;	/* zero beyond the family's length */

	bool has_cur;		/* the kernel holds it for us */
	struct rec_vip cur;

	bool has_want;		/* a decision was queued since the load */
	bool want_known;	/* want_hold and want are set */
	bool want_hold;
	struct rec_vip want;
	char ifname[IF_NAMESIZE];	/* of want.link, for the log */

	bool queued;
	uint64_t retry_at;
	uint64_t retry_ms;
	int last_err;		/* last failure's errno, logged once */
};

struct reconciler {
	struct kubelb *h;
	uint32_t dev_ifindex;
	struct rentry **buckets;
	size_t nbuckets, count;
	struct rentry **queue;	/* entries with queued set */
	size_t nqueue, capqueue;
	bool full;		/* next flush withdraws what was not wanted */
	struct reconcile_stats stats;
};

/* -------------------------------------------------------- pure parts */

void reconcile_vip_of(const struct decision *d, uint32_t dev_ifindex,
		      struct rec_vip *out)
{
	memset(out, 0, sizeof(*out));
	out->ifindex = dev_ifindex;
	out->mode = d->mode;
	out->link = d->mode == KUBELB_MODE_LOCAL ? d->link : 0;
	out->prefixlen = d->prefixlen;
	snprintf(out->service, sizeof(out->service), "%s", d->service);
}

static void rec_vip_from_kernel(const struct kubelb_vip *v,
				struct rec_vip *out)
{
	memset(out, 0, sizeof(*out));
	out->ifindex = v->ifindex;
	out->mode = v->mode;
	out->link = v->mode == KUBELB_MODE_LOCAL ? v->link : 0;
	out->prefixlen = v->prefixlen;
	snprintf(out->service, sizeof(out->service), "%s", v->service);
}

enum rec_op reconcile_op(const struct rec_vip *cur,
			 const struct rec_vip *want)
{
	if (!want)
		return cur ? REC_DEL : REC_NONE;
	if (!cur)
		return REC_ADD;
	if (cur->ifindex != want->ifindex)
		return REC_MOVE;
	if (cur->mode != want->mode ||
	    (want->mode == KUBELB_MODE_LOCAL && cur->link != want->link) ||
	    cur->prefixlen != want->prefixlen ||
	    strcmp(cur->service, want->service))
		return REC_REPLACE;
	return REC_NONE;
}

/* ------------------------------------------------------------- table */

static size_t addr_hash(uint16_t family, const union kubelb_addr *a)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i, n = kubelb_addr_len(family);

	h = (h ^ family) * 1099511628211ULL;
	for (i = 0; i < n; i++)
		h = (h ^ a->b[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static void norm_addr(uint16_t family, const union kubelb_addr *in,
		      union kubelb_addr *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->b, in->b, kubelb_addr_len(family));
}

static struct rentry *lookup(const struct reconciler *r, uint16_t family,
			     const union kubelb_addr *addr)
{
	union kubelb_addr a;
	struct rentry *e;

	norm_addr(family, addr, &a);
	e = r->buckets[addr_hash(family, &a) & (r->nbuckets - 1)];
	for (; e; e = e->hnext)
		if (e->family == family && !memcmp(e->addr.b, a.b, 16))
			return e;
	return NULL;
}

static int grow(struct reconciler *r)
{
	size_t n = r->nbuckets * 2, i;
	struct rentry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < r->nbuckets; i++) {
		struct rentry *e = r->buckets[i], *next;

		for (; e; e = next) {
			size_t j = addr_hash(e->family, &e->addr) & (n - 1);

			next = e->hnext;
			e->hnext = b[j];
			b[j] = e;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
	return 0;
}

static struct rentry *lookup_or_add(struct reconciler *r, uint16_t family,
				    const union kubelb_addr *addr)
{
	struct rentry *e = lookup(r, family, addr);
	size_t i;

	if (e)
		return e;
	if (r->count >= r->nbuckets && grow(r))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->family = family;
	norm_addr(family, addr, &e->addr);
	e->retry_ms = REC_RETRY_MIN_MS;
	i = addr_hash(family, &e->addr) & (r->nbuckets - 1);
	e->hnext = r->buckets[i];
	r->buckets[i] = e;
	r->count++;
	return e;
}

static void remove_entry(struct reconciler *r, struct rentry *e)
{
	struct rentry **p = &r->buckets[addr_hash(e->family, &e->addr) &
					(r->nbuckets - 1)];

	for (; *p; p = &(*p)->hnext) {
		if (*p == e) {
			*p = e->hnext;
			r->count--;
			free(e);
			return;
		}
	}
}

static enum rec_op entry_op(const struct rentry *e)
{
	if (!e->has_want)
		return REC_NONE;	/* no decision since the load */
	return reconcile_op(e->has_cur ? &e->cur : NULL,
			    e->want_hold ? &e->want : NULL);
}

static int enqueue(struct reconciler *r, struct rentry *e)
{
	if (e->queued)
		return 0;
	if (r->nqueue == r->capqueue) {
		size_t n = r->capqueue ? r->capqueue * 2 : 64;
		struct rentry **q = reallocarray(r->queue, n, sizeof(*q));

		if (!q)
			return -ENOMEM;
		r->queue = q;
		r->capqueue = n;
	}
	r->queue[r->nqueue++] = e;
	e->queued = true;
	return 0;
}

/* ------------------------------------------------------------ public */

struct reconciler *reconciler_new(struct kubelb *h, uint32_t dev_ifindex,
				  struct kubelb_err *err)
{
	struct reconciler *r = calloc(1, sizeof(*r));

	if (r) {
		r->nbuckets = 256;
		r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	}
	if (!r || !r->buckets) {
		free(r);
		kubelb_err_set(err, ENOMEM, NULL);
		return NULL;
	}
	r->h = h;
	r->dev_ifindex = dev_ifindex;
	return r;
}

void reconciler_free(struct reconciler *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nbuckets; i++) {
		struct rentry *e = r->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	free(r->buckets);
	free(r->queue);
	free(r);
}

const struct reconcile_stats *reconciler_stats(const struct reconciler *r)
{
	return &r->stats;
}

static void addr_text(const struct rentry *e, char *buf, size_t len)
{
	if (!inet_ntop(e->family, e->addr.b, buf, len))
		snprintf(buf, len, "?");
}

struct load_ctx {
	struct reconciler *r;
	size_t n;
	int err;
};

static int load_one(const struct kubelb_vip *v, void *data)
{
	struct load_ctx *c = data;
	struct rentry *e;

	/* the filter did this already; an older kernel might not have */
	if (v->owner != AGENT_OWNER || !kubelb_addr_len(v->family))
		return 0;
	e = lookup_or_add(c->r, v->family, &v->addr);
	if (!e) {
		c->err = -ENOMEM;
		return -ENOMEM;
	}
	e->has_cur = true;
	rec_vip_from_kernel(v, &e->cur);
	c->n++;
	return 0;
}

int reconciler_load(struct reconciler *r, struct kubelb_err *err)
{
	struct kubelb_filter f = { .has_owner = true, .owner = AGENT_OWNER };
	struct load_ctx c = { r, 0, 0 };
	char n[32];
	size_t i;
	int ret;

	/* forget what we thought; the kernel is the truth now */
	for (i = 0; i < r->nbuckets; i++) {
		struct rentry *e;

		for (e = r->buckets[i]; e; e = e->hnext) {
			e->has_cur = false;
			e->has_want = false;
		}
	}
	ret = kubelb_vip_dump(r->h, &f, load_one, &c, err);
	if (c.err) {
		kubelb_err_set(err, ENOMEM, NULL);
		return c.err;
	}
	if (ret < 0)
		return ret;
	snprintf(n, sizeof(n), "%zu", c.n);
	alog(LOG_INFO, "kernel VIPs of ours loaded", "vips", n, NULL);
	return 0;
}

void reconciler_want(struct reconciler *r, const struct decision *d)
{
	struct rentry *e;
	struct rec_vip v;

	if (!kubelb_addr_len(d->family))
		return;
	e = lookup_or_add(r, d->family, &d->addr);
	if (!e || enqueue(r, e)) {
		alog(LOG_ERROR, "cannot queue a VIP change: out of memory",
		     NULL);
		return;
	}
	if (d->hold)
		reconcile_vip_of(d, r->dev_ifindex, &v);
	/* a different decision deserves an attempt now, not after backoff;
	 * the same one again (a resync) keeps its backoff */
	if (!e->want_known || e->want_hold != d->hold ||
	    (d->hold && reconcile_op(&e->want, &v) != REC_NONE)) {
		e->retry_at = 0;
		e->retry_ms = REC_RETRY_MIN_MS;
		e->last_err = 0;
	}
	e->has_want = true;
	e->want_known = true;
	e->want_hold = d->hold;
	if (d->hold) {
		e->want = v;
		snprintf(e->ifname, sizeof(e->ifname), "%s", d->ifname);
	}
}

void reconciler_mark_full(struct reconciler *r)
{
	r->full = true;
}

uint64_t reconciler_next_retry(const struct reconciler *r)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	for (i = 0; i < r->nqueue; i++)
		if (r->queue[i]->retry_at && r->queue[i]->retry_at < next)
			next = r->queue[i]->retry_at;
	return next;
}

/* One kernel request, and what it is for. */
struct rec_req {
	struct rentry *e;
	enum rec_op op;		/* of the entry */
	bool move_del;		/* first half of a REC_MOVE */
	bool skip;		/* 2nd half of a move whose delete failed */
};

static void fill_req(struct kubelb_req *q, const struct rentry *e,
		     enum kubelb_op_kind kind, const struct rec_vip *v)
{
	struct kubelb_vip *x = &q->vip;

	memset(q, 0, sizeof(*q));
	q->op = kind;
	x->family = e->family;
	x->addr = e->addr;
	x->ifindex = v->ifindex;
	x->present = KUBELB_HAS(KUBELB_A_IFINDEX) |
		     KUBELB_HAS(KUBELB_A_FAMILY) |
		     KUBELB_HAS(KUBELB_A_ADDR);
	if (kind == KUBELB_OP_DEL)
		return;
	x->prefixlen = v->prefixlen;
	x->mode = v->mode;
	x->owner = AGENT_OWNER;
	x->present |= KUBELB_HAS(KUBELB_A_PREFIXLEN) |
		      KUBELB_HAS(KUBELB_A_MODE) | KUBELB_HAS(KUBELB_A_OWNER);
	if (v->mode == KUBELB_MODE_LOCAL) {
		x->link = v->link;
		x->present |= KUBELB_HAS(KUBELB_A_LINK);
	}
	if (v->service[0]) {
		snprintf(x->service, sizeof(x->service), "%s", v->service);
		x->present |= KUBELB_HAS(KUBELB_A_SERVICE);
	}
}

static const char *op_name(enum kubelb_op_kind k)
{
	return k == KUBELB_OP_ADD ? "add" :
	       k == KUBELB_OP_REPLACE ? "replace" : "delete";
}

static void log_done(const struct rentry *e, enum kubelb_op_kind kind)
{
	char a[INET6_ADDRSTRLEN], plen[8], link[16];

	if (!log_enabled(LOG_DEBUG))
		return;
	addr_text(e, a, sizeof(a));
	if (kind == KUBELB_OP_DEL) {
		alog(LOG_DEBUG, "kernel: VIP deleted", "vip", a, NULL);
		return;
	}
	snprintf(plen, sizeof(plen), "%u", e->want.prefixlen);
	snprintf(link, sizeof(link), "%u", e->want.link);
	alog(LOG_DEBUG, kind == KUBELB_OP_ADD ? "kernel: VIP added" :
	     "kernel: VIP replaced", "vip", a,
	     "mode", kubelb_mode_name(e->want.mode),
	     "link", e->want.mode == KUBELB_MODE_LOCAL ? e->ifname : NULL,
	     "ifindex", e->want.mode == KUBELB_MODE_LOCAL ? link : NULL,
	     "prefixlen", plen, "service", e->want.service, NULL);
}

/* EEXIST on add: whose is it? Say so once, clearly. */
static void explain_eexist(struct reconciler *r, struct rentry *e)
{
	struct kubelb_vip v;
	struct kubelb_err err;
	char a[INET6_ADDRSTRLEN], owner[16], dev[IF_NAMESIZE] = "?";

	addr_text(e, a, sizeof(a));
	if (kubelb_vip_get(r->h, e->family, &e->addr, &v, &err)) {
		alog(LOG_ERROR, "kernel: cannot add VIP: the address is "
		     "already held", "vip", a, NULL);
		return;
	}
	if (v.owner == AGENT_OWNER) {
		/* ours after all (an earlier run's, added after our load):
		 * adopt it; the next flush replaces it if it differs */
		e->has_cur = true;
		rec_vip_from_kernel(&v, &e->cur);
		e->retry_at = 0;
		return;
	}
	snprintf(owner, sizeof(owner), "%u", v.owner);
	if_indextoname(v.ifindex, dev);
	alog(LOG_ERROR, "kernel: cannot add VIP: the address is held by "
	     "another owner (an operator's VIP?); leaving it alone and "
	     "retrying with backoff", "vip", a, "owner", owner, "dev", dev,
	     NULL);
}

static void failed(struct reconciler *r, struct rentry *e,
		   enum kubelb_op_kind kind, const struct kubelb_req *q,
		   uint64_t now)
{
	char a[INET6_ADDRSTRLEN];
	bool again = e->last_err == q->err.code;

	r->stats.errors++;
	e->last_err = q->err.code;
	e->retry_at = now + e->retry_ms;
	e->retry_ms *= 2;
	if (e->retry_ms > REC_RETRY_MAX_MS)
		e->retry_ms = REC_RETRY_MAX_MS;
	if (kind == KUBELB_OP_ADD && q->err.code == EEXIST && r->h) {
		if (!again)
			explain_eexist(r, e);
		return;
	}
	addr_text(e, a, sizeof(a));
	alog(again ? LOG_DEBUG : LOG_ERROR, "kernel: VIP change failed",
	     "vip", a, "op", op_name(kind), "error",
	     kubelb_err_str(&q->err),
	     "rolled_back", q->rolled_back ? "true" : NULL, NULL);
}

static void succeeded(struct reconciler *r, struct rentry *e,
		      const struct kubelb_req *q, bool move_del)
{
	e->last_err = 0;
	e->retry_at = 0;
	e->retry_ms = REC_RETRY_MIN_MS;
	switch (q->op) {
	case KUBELB_OP_ADD:
		r->stats.adds++;
		e->has_cur = true;
		e->cur = e->want;
		break;
	case KUBELB_OP_REPLACE:
		r->stats.replaces++;
		e->has_cur = true;
		e->cur = e->want;
		break;
	case KUBELB_OP_DEL:
		r->stats.dels++;
		e->has_cur = false;
		break;
	}
	if (!move_del)
		log_done(e, q->op);
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void account_run(struct reconciler *r, const struct timespec *t0)
{
	double s = elapsed_s(t0);
	size_t i;

	r->stats.runs++;
	r->stats.seconds_sum += s;
	for (i = 0; i < RECONCILE_BUCKETS - 1; i++)
		if (s <= reconcile_bucket_le[i])
			break;
	r->stats.seconds_bucket[i]++;
}

/*
 * Run reqs through kubelb_apply() until each was executed once: libkubelb
 * stops after a batch with a failure, and a failure must not hold the
 * others back. Returns the first -errno of talking to the kernel, else 0.
 */
static int apply_all(struct kubelb *h, struct kubelb_req *q, size_t n)
{
	size_t off = 0, i;
	int ret;

	while (off < n) {
		ret = kubelb_apply(h, q + off, n - off);
		if (ret < 0)
			return ret;
		for (i = off; i < n && q[i].executed; i++)
			;
		if (i == off)
			return -EIO;	/* no progress: cannot happen */
		off = i;
	}
	return 0;
}

/* Settle entry state after its requests; returns true if it failed. */
static bool settle(struct reconciler *r, struct rec_req *rr,
		   struct kubelb_req *q, size_t i, size_t n, uint64_t now)
{
	struct rentry *e = rr[i].e;

	if (rr[i].skip)
		return false;	/* the failed delete was counted */
	if (!q[i].executed) {
		/* the kernel was unreachable: try again next flush */
		r->stats.errors++;
		e->last_err = q[i].err.code;
		return true;
	}
	if (q[i].err.code == ENOENT && q[i].op == KUBELB_OP_DEL) {
		/* gone already (deleted by hand): that is what we wanted */
		memset(&q[i].err, 0, sizeof(q[i].err));
	}
	if (q[i].err.code) {
		failed(r, e, q[i].op, &q[i], now);
		/* the add after it found the address still held */
		if (rr[i].move_del && i + 1 < n && rr[i + 1].e == e)
			rr[i + 1].skip = true;
		return true;
	}
	succeeded(r, e, &q[i], rr[i].move_del);
	return false;
}

int reconciler_flush(struct reconciler *r)
{
	struct kubelb_req *q = NULL;
	struct rec_req *rr = NULL;
	struct timespec t0;
	size_t i, n = 0, keep = 0;
	uint64_t now = now_ms();
	int ret = 0, failures = 0;

	if (r->full) {
		/* start of day: what nobody wanted since the load goes */
		r->full = false;
		for (i = 0; i < r->nbuckets; i++) {
			struct rentry *e;

			for (e = r->buckets[i]; e; e = e->hnext) {
				if (!e->has_cur || e->has_want)
					continue;
				e->has_want = true;
				e->want_known = true;
				e->want_hold = false;
				if (enqueue(r, e))
					return -ENOMEM;
			}
		}
	}
	if (!r->nqueue)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* at most two requests per entry (a move) */
	q = calloc(r->nqueue * 2, sizeof(*q));
	rr = calloc(r->nqueue * 2, sizeof(*rr));
	if (!q || !rr) {
		free(q);
		free(rr);
		return -ENOMEM;
	}
	for (i = 0; i < r->nqueue; i++) {
		struct rentry *e = r->queue[i];
		enum rec_op op;

		if (e->retry_at > now)
			continue;
		op = entry_op(e);
		switch (op) {
		case REC_NONE:
			break;
		case REC_ADD:
			fill_req(&q[n], e, KUBELB_OP_ADD, &e->want);
			rr[n++] = (struct rec_req){ e, op, false, false };
			break;
		case REC_REPLACE:
			fill_req(&q[n], e, KUBELB_OP_REPLACE, &e->want);
			rr[n++] = (struct rec_req){ e, op, false, false };
			break;
		case REC_DEL:
			fill_req(&q[n], e, KUBELB_OP_DEL, &e->cur);
			rr[n++] = (struct rec_req){ e, op, false, false };
			break;
		case REC_MOVE:
			fill_req(&q[n], e, KUBELB_OP_DEL, &e->cur);
			rr[n++] = (struct rec_req){ e, op, true, false };
			fill_req(&q[n], e, KUBELB_OP_ADD, &e->want);
			rr[n++] = (struct rec_req){ e, op, false, false };
			break;
		}
	}
	if (n)
		ret = apply_all(r->h, q, n);
	for (i = 0; i < n; i++)
		if (settle(r, rr, q, i, n, now))
			failures++;

	/* keep what is still different (failed, or waiting for backoff) */
	for (i = 0; i < r->nqueue; i++) {
		struct rentry *e = r->queue[i];

		if (entry_op(e) != REC_NONE) {
			r->queue[keep++] = e;
			continue;
		}
		e->queued = false;
		e->retry_at = 0;
		if (!e->has_cur && !(e->has_want && e->want_hold))
			remove_entry(r, e);	/* nothing to remember */
	}
	r->nqueue = keep;
	free(q);
	free(rr);
	if (n)
		account_run(r, &t0);
	return ret < 0 ? ret : failures;
}

int reconciler_withdraw_all(struct reconciler *r)
{
	struct kubelb_req *q;
	struct rec_req *rr;
	size_t i, n = 0;
	struct timespec t0;
	uint64_t now = now_ms();
	int ret = 0, failures = 0;

	if (!r->count)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q = calloc(r->count, sizeof(*q));
	rr = calloc(r->count, sizeof(*rr));
	if (!q || !rr) {
		free(q);
		free(rr);
		return -ENOMEM;
	}
	for (i = 0; i < r->nbuckets; i++) {
		struct rentry *e;

		for (e = r->buckets[i]; e; e = e->hnext) {
			/* nothing is wanted any more */
			e->has_want = true;
			e->want_known = true;
			e->want_hold = false;
			e->retry_at = 0;
			if (!e->has_cur)
				continue;
			fill_req(&q[n], e, KUBELB_OP_DEL, &e->cur);
			rr[n++] = (struct rec_req){ e, REC_DEL, false, false };
		}
	}
	if (n)
		ret = apply_all(r->h, q, n);
	for (i = 0; i < n; i++) {
		if (!settle(r, rr, q, i, n, now))
			continue;
		failures++;
		/* a later flush tries again */
		if (enqueue(r, rr[i].e))
			ret = ret < 0 ? ret : -ENOMEM;
	}
	free(q);
	free(rr);
	if (n) {
		account_run(r, &t0);
		alog(LOG_INFO, "withdrew our VIPs from the kernel", NULL);
	}
	return ret < 0 ? ret : failures;
}
