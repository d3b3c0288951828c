// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelb.io/announcing-IPv4 / -IPv6 = "node,ifname" on the Services of
 * the local VIPs this node holds, and an Event when that changes.
 *
 * Writes wait in one queue ordered by when they are due, keyed by
 * Service and family: a newer decision for the same Service replaces the
 * value of the pending write instead of adding one (coalescing), and a
 * write whose target the Service already shows is dropped. A token
 * bucket bounds the rate, so a thousand nodes taking over ten thousand
 * VIPs at once do not flood the API server. Failed writes come back with
 * backoff.
 *
 * When a Service has several ingress IPs of one family, the annotation
 * names the holder of its first one only; otherwise the holders of the
 * others would overwrite each other forever.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "agent_int.h"

#define REPORT_RATE		10.0	/* writes per second */
#define REPORT_BURST		20.0
#define REPORT_RETRY_MIN_MS	1000
#define REPORT_RETRY_MAX_MS	(5 * 60 * 1000)
#define REPORT_EVENT_TRIES	3

enum rep_kind {
	REP_PATCH,
	REP_EVENT,
};

struct rep_item {
	struct rep_item *prev, *next;	/* the queue, by due time */
	bool queued;
	bool inflight;
	bool cancelled;		/* dropped while in flight */
	enum rep_kind kind;
	char *key;		/* "p4|ns/name", "e6|ns/name" */
	char *svc;		/* "ns/name" */
	uint16_t family;
	union kubelb_addr addr;
	char *value;		/* "node,ifname" */
	uint64_t due;
	uint64_t retry_ms;
	unsigned int tries;
	bool failure_logged;
};

/* A write in flight; outlives the reporter if reporter_free() is first. */
struct rep_ticket {
	struct rep_ticket *prev, *next;
	struct reporter *r;
	char *key;
	char *value;		/* what was sent */
};

struct reporter {
	struct agent_io io;
	char *node;
	bool enabled;
	const struct model *model;
	struct store *items;
	struct rep_item *head, *tail;
	struct rep_ticket *tickets;
	struct token_bucket tb;
	bool denied_logged;
};

/* ------------------------------------------------------ token bucket */

void tb_init(struct token_bucket *tb, double rate, double burst,
	     uint64_t now)
{
	tb->rate = rate;
	tb->burst = burst;
	tb->tokens = burst;
	tb->last_ms = now;
}

static void tb_refill(struct token_bucket *tb, uint64_t now)
{
	if (now <= tb->last_ms)
		return;
	tb->tokens += (double)(now - tb->last_ms) * tb->rate / 1000.0;
	if (tb->tokens > tb->burst)
		tb->tokens = tb->burst;
	tb->last_ms = now;
}

bool tb_take(struct token_bucket *tb, uint64_t now)
{
	tb_refill(tb, now);
	if (tb->tokens < 1.0)
		return false;
	tb->tokens -= 1.0;
	return true;
}

uint64_t tb_next(struct token_bucket *tb, uint64_t now)
{
	double ms;

	tb_refill(tb, now);
	if (tb->tokens >= 1.0)
		return now;
	ms = (1.0 - tb->tokens) * 1000.0 / tb->rate;
	return now + (uint64_t)ms + 1;
}

/* ------------------------------------------------------------ bodies */

char *report_patch_body(uint16_t family, const char *value)
{
	cJSON *o = cJSON_CreateObject(), *meta, *ann;
	char *s = NULL;

	meta = cJSON_AddObjectToObject(o, "metadata");
	ann = meta ? cJSON_AddObjectToObject(meta, "annotations") : NULL;
	if (ann && cJSON_AddStringToObject(ann, family == AF_INET6 ?
					   ANN_ANNOUNCING_V6 :
					   ANN_ANNOUNCING_V4, value))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

char *report_event_body(const char *namespace, const char *name,
			const char *node, const char *vip,
			const char *ifname, const struct timespec *now)
{
	cJSON *o = cJSON_CreateObject(), *meta, *inv, *src;
	char when[40], msg[512], *evname = NULL, *s = NULL;

	log_format_time(when, sizeof(when), now, 0);
	snprintf(msg, sizeof(msg), "%s announced by %s on %s", vip, node,
		 ifname);
	/* client-go's naming: unique per object and instant */
	if (asprintf(&evname, "%s.%llx", name,
		     (unsigned long long)now->tv_sec * 1000000000ULL +
		     (unsigned long long)now->tv_nsec) < 0) {
		evname = NULL;
		goto out;
	}
	if (!o ||
	    !cJSON_AddStringToObject(o, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(o, "kind", "Event") ||
	    !(meta = cJSON_AddObjectToObject(o, "metadata")) ||
	    !cJSON_AddStringToObject(meta, "name", evname) ||
	    !cJSON_AddStringToObject(meta, "namespace", namespace) ||
	    !(inv = cJSON_AddObjectToObject(o, "involvedObject")) ||
	    !cJSON_AddStringToObject(inv, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(inv, "kind", "Service") ||
	    !cJSON_AddStringToObject(inv, "namespace", namespace) ||
	    !cJSON_AddStringToObject(inv, "name", name) ||
	    !cJSON_AddStringToObject(o, "reason", "AnnouncingIP") ||
	    !cJSON_AddStringToObject(o, "message", msg) ||
	    !(src = cJSON_AddObjectToObject(o, "source")) ||
	    !cJSON_AddStringToObject(src, "component", "kubelb-agent") ||
	    !cJSON_AddStringToObject(src, "host", node) ||
	    !cJSON_AddStringToObject(o, "firstTimestamp", when) ||
	    !cJSON_AddStringToObject(o, "lastTimestamp", when) ||
	    !cJSON_AddNumberToObject(o, "count", 1) ||
	    !cJSON_AddStringToObject(o, "type", "Normal") ||
	    !cJSON_AddStringToObject(o, "reportingComponent", "kubelb-agent") ||
	    !cJSON_AddStringToObject(o, "reportingInstance", node))
		goto out;
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	free(evname);
	return s;
}

/* ------------------------------------------------------------- queue */

static void item_free(void *p)
{
	struct rep_item *it = p;

	free(it->key);
	free(it->svc);
	free(it->value);
	free(it);
}

static void unqueue(struct reporter *r, struct rep_item *it)
{
	if (!it->queued)
		return;
	if (it->prev)
		it->prev->next = it->next;
	else
		r->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		r->tail = it->prev;
	it->prev = it->next = NULL;
	it->queued = false;
}

/* Sorted by due; new items are usually due last, so search from the end. */
static void enqueue(struct reporter *r, struct rep_item *it, uint64_t due)
{
	struct rep_item *p;

	unqueue(r, it);
	it->due = due;
	for (p = r->tail; p && p->due > due; p = p->prev)
		;
	it->prev = p;
	it->next = p ? p->next : r->head;
	if (it->next)
		it->next->prev = it;
	else
		r->tail = it;
	if (p)
		p->next = it;
	else
		r->head = it;
	it->queued = true;
}

static void drop(struct reporter *r, struct rep_item *it)
{
	if (it->inflight) {
		/* the callback finishes it */
		it->cancelled = true;
		unqueue(r, it);
		return;
	}
	unqueue(r, it);
	store_del(r->items, it->key);
}

static char *item_key(enum rep_kind kind, uint16_t family, const char *svc)
{
	char *k;

	if (asprintf(&k, "%c%c|%s", kind == REP_PATCH ? 'p' : 'e',
		     family == AF_INET6 ? '6' : '4', svc) < 0)
		return NULL;
	return k;
}

static struct rep_item *item_get(struct reporter *r, enum rep_kind kind,
				 uint16_t family, const char *svc,
				 bool create)
{
	struct rep_item *it;
	char *key = item_key(kind, family, svc);

	if (!key)
		return NULL;
	it = store_get(r->items, key);
	if (it || !create) {
		free(key);
		return it;
	}
	it = calloc(1, sizeof(*it));
	if (!it) {
		free(key);
		return NULL;
	}
	it->key = key;
	it->kind = kind;
	it->family = family;
	it->retry_ms = REPORT_RETRY_MIN_MS;
	it->svc = strdup(svc);
	if (!it->svc) {
		item_free(it);
		return NULL;
	}
	/* on failure the store has freed it */
	if (store_put(r->items, it->key, it))
		return NULL;
	return it;
}

static bool set_str(char **p, const char *v)
{
	char *n;

	if (*p && !strcmp(*p, v))
		return true;
	n = strdup(v);
	if (!n)
		return false;
	free(*p);
	*p = n;
	return true;
}

/* ----------------------------------------------------------- reporter */

struct reporter *reporter_new(struct kapi *k, const char *node, bool enabled)
{
	struct reporter *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	agent_io_kapi(&r->io, k);
	r->enabled = enabled;
	r->node = strdup(node);
	r->items = store_new(item_free);
	if (!r->node || !r->items) {
		reporter_free(r);
		return NULL;
	}
	tb_init(&r->tb, REPORT_RATE, REPORT_BURST, r->io.now(r->io.ctx));
	if (!enabled)
		alog(LOG_INFO, "reporting disabled: no annotations or Events "
		     "are written", NULL);
	return r;
}

void reporter_set_io(struct reporter *r, const struct agent_io *io)
{
	r->io = *io;
	tb_init(&r->tb, REPORT_RATE, REPORT_BURST, io->now(io->ctx));
}

void reporter_free(struct reporter *r)
{
	struct rep_ticket *t;

	if (!r)
		return;
	for (t = r->tickets; t; t = t->next)
		t->r = NULL;
	store_free(r->items);
	free(r->node);
	free(r);
}

size_t reporter_pending(const struct reporter *r)
{
	return store_count(r->items);
}

static bool first_ingress_of_family(const struct k8s_service *s,
				    uint16_t family,
				    const union kubelb_addr *addr)
{
	size_t i;

	for (i = 0; i < s->n_ingress; i++)
		if (s->ingress[i].family == family)
			return !memcmp(s->ingress[i].addr.b, addr->b,
				       kubelb_addr_len(family));
	return false;
}

static const char *current_value(const struct k8s_service *s,
				 uint16_t family)
{
	return family == AF_INET6 ? s->announcing_v6 : s->announcing_v4;
}

void reporter_service(struct reporter *r, const struct k8s_service *s,
		      uint16_t family, const union kubelb_addr *addr,
		      const char *value)
{
	const char *cur = current_value(s, family);
	struct rep_item *it;

	if (!r->enabled || !kubelb_addr_len(family))
		return;
	it = item_get(r, REP_PATCH, family, s->key, false);
	if (!value || !first_ingress_of_family(s, family, addr)) {
		/* we no longer announce this IP for s: forget our write */
		if (it && !memcmp(it->addr.b, addr->b,
				  kubelb_addr_len(family)))
			drop(r, it);
		return;
	}
	if (cur && !strcmp(cur, value)) {
		if (it)
			drop(r, it);
		return;
	}
	if (!it)
		it = item_get(r, REP_PATCH, family, s->key, true);
	if (!it || !set_str(&it->value, value)) {
		alog(LOG_ERROR, "cannot queue annotation: out of memory",
		     "service", s->key, NULL);
		return;
	}
	memset(&it->addr, 0, sizeof(it->addr));
	memcpy(it->addr.b, addr->b, kubelb_addr_len(family));
	it->cancelled = false;
	it->retry_ms = REPORT_RETRY_MIN_MS;
	it->failure_logged = false;
	/* coalesced: a write already waiting keeps its place */
	if (!it->queued && !it->inflight)
		enqueue(r, it, r->io.now(r->io.ctx));
}

struct decision_ctx {
	struct reporter *r;
	const struct decision *d;
	const char *value;
};

static int decision_service(void *data, const struct k8s_service *s)
{
	struct decision_ctx *c = data;

	reporter_service(c->r, s, c->d->family, &c->d->addr, c->value);
	return 0;
}

void reporter_decision(struct reporter *r, const struct model *m,
		       const struct decision *d)
{
	struct decision_ctx c = { r, d, NULL };
	char value[512];

	if (!r->enabled)
		return;
	r->model = m;
	if (d->hold && d->mode == KUBELB_MODE_LOCAL && d->ifname[0]) {
		snprintf(value, sizeof(value), "%s,%s", r->node, d->ifname);
		c.value = value;
	}
	model_each_service_of(m, d->family, &d->addr, decision_service, &c);
}

/* ----------------------------------------------------------- sending */

struct lookup_ctx {
	const char *svc;
	const struct k8s_service *found;
};

static int lookup_service(void *data, const struct k8s_service *s)
{
	struct lookup_ctx *c = data;

	if (strcmp(s->key, c->svc))
		return 0;
	c->found = s;
	return 1;
}

/* Is the patch still needed? The Service may have changed meanwhile. */
static bool patch_wanted(struct reporter *r, struct rep_item *it)
{
	struct lookup_ctx c = { it->svc, NULL };
	const char *cur;

	if (!r->model)
		return true;
	model_each_service_of(r->model, it->family, &it->addr,
			      lookup_service, &c);
	if (!c.found ||
	    !first_ingress_of_family(c.found, it->family, &it->addr))
		return false;
	cur = current_value(c.found, it->family);
	return !cur || strcmp(cur, it->value);
}

static void report_cb(void *data, long status, const cJSON *body,
		      const char *errbuf);

static int send_item(struct reporter *r, struct rep_item *it)
{
	struct rep_ticket *t = NULL;
	char *path = NULL, *body = NULL, *ns = NULL;
	const char *name;
	char vip[INET6_ADDRSTRLEN] = "?", *comma;
	struct timespec ts;
	int ret = -ENOMEM;

	name = strchr(it->svc, '/');
	if (!name)
		return -EINVAL;
	ns = strndup(it->svc, name - it->svc);
	name++;
	t = calloc(1, sizeof(*t));
	if (!t || !ns)
		goto out;
	if (it->kind == REP_PATCH) {
		body = report_patch_body(it->family, it->value);
		if (asprintf(&path, "/api/v1/namespaces/%s/services/%s", ns,
			     name) < 0)
			path = NULL;
	} else {
		inet_ntop(it->family, it->addr.b, vip, sizeof(vip));
		comma = strchr(it->value, ',');
		clock_gettime(CLOCK_REALTIME, &ts);
		if (comma) {
			*comma = '\0';
			body = report_event_body(ns, name, it->value, vip,
						 comma + 1, &ts);
			*comma = ',';
		}
		if (asprintf(&path, "/api/v1/namespaces/%s/events", ns) < 0)
			path = NULL;
	}
	t->r = r;
	t->key = strdup(it->key);
	t->value = strdup(it->value);
	if (!path || !body || !t->key || !t->value)
		goto out;
	ret = r->io.request(r->io.ctx, it->kind == REP_PATCH ? "PATCH" : "POST",
			    path, it->kind == REP_PATCH ?
			    "application/merge-patch+json" : "application/json",
			    body, report_cb, t);
	if (!ret) {
		t->next = r->tickets;
		if (t->next)
			t->next->prev = t;
		r->tickets = t;
		t = NULL;
		it->inflight = true;
	}
out:
	if (t) {
		free(t->key);
		free(t->value);
		free(t);
	}
	free(path);
	free(body);
	free(ns);
	return ret;
}

static void retry_later(struct reporter *r, struct rep_item *it,
			uint64_t now, const char *why)
{
	it->tries++;
	if (it->kind == REP_EVENT && it->tries >= REPORT_EVENT_TRIES) {
		alog(LOG_WARN, "Event not posted; giving up", "service",
		     it->svc, "error", why, NULL);
		drop(r, it);
		return;
	}
	alog(it->failure_logged ? LOG_DEBUG : LOG_WARN,
	     it->kind == REP_PATCH ? "annotation not written; will retry" :
	     "Event not posted; will retry", "service", it->svc,
	     "error", why, NULL);
	it->failure_logged = true;
	enqueue(r, it, now + it->retry_ms);
	it->retry_ms *= 2;
	if (it->retry_ms > REPORT_RETRY_MAX_MS)
		it->retry_ms = REPORT_RETRY_MAX_MS;
}

static void queue_event(struct reporter *r, const struct rep_item *patch,
			const char *value, uint64_t now)
{
	struct rep_item *ev = item_get(r, REP_EVENT, patch->family,
				       patch->svc, true);

	if (!ev || !set_str(&ev->value, value)) {
		alog(LOG_ERROR, "cannot queue Event: out of memory",
		     "service", patch->svc, NULL);
		return;
	}
	ev->addr = patch->addr;
	ev->cancelled = false;
	ev->tries = 0;
	ev->retry_ms = REPORT_RETRY_MIN_MS;
	ev->failure_logged = false;
	if (!ev->queued && !ev->inflight)
		enqueue(r, ev, now);
}

static void report_cb(void *data, long status, const cJSON *body,
		      const char *errbuf)
{
	struct rep_ticket *t = data;
	struct reporter *r = t->r;
	struct rep_item *it;
	const cJSON *m;
	char why[256];
	uint64_t now;

	if (!r)
		goto out;
	if (t->prev)
		t->prev->next = t->next;
	else
		r->tickets = t->next;
	if (t->next)
		t->next->prev = t->prev;
	it = store_get(r->items, t->key);
	if (!it)
		goto out;
	it->inflight = false;
	now = r->io.now(r->io.ctx);

	if (status >= 200 && status < 300) {
		/*
		 * A write cancelled in flight (we lost the VIP meanwhile)
		 * still landed: no Event for it; the holder's periodic
		 * re-assertion puts its own value back.
		 */
		if (it->kind == REP_PATCH && !it->cancelled) {
			alog(LOG_INFO, "announcing annotation written",
			     "service", it->svc, "value", t->value, NULL);
			queue_event(r, it, t->value, now);
		}
		/* a newer value arrived while this one was in flight */
		if (!it->cancelled && strcmp(it->value, t->value))
			enqueue(r, it, now);
		else
			drop(r, it);
		goto out;
	}
	if (it->cancelled || (it->kind == REP_PATCH && status == 404)) {
		/* nothing left to write, or the Service is gone */
		drop(r, it);
		goto out;
	}
	m = cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body,
								"message") :
				   NULL;
	if (!status)
		snprintf(why, sizeof(why), "%s",
			 errbuf && *errbuf ? errbuf : "request failed");
	else
		snprintf(why, sizeof(why), "HTTP %ld%s%s", status,
			 cJSON_IsString(m) ? ": " : "",
			 cJSON_IsString(m) ? m->valuestring : "");
	if (status == 403 && !r->denied_logged) {
		alog(LOG_ERROR, "not allowed to write Services or Events: "
		     "grant patch on services and create on events, or run "
		     "with --report=false", "error", why, NULL);
		r->denied_logged = true;
	}
	retry_later(r, it, now, why);
out:
	free(t->key);
	free(t->value);
	free(t);
}

uint64_t reporter_tick(struct reporter *r, uint64_t now)
{
	struct rep_item *it;
	int ret;

	if (!r->enabled)
		return UINT64_MAX;
	while ((it = r->head) && it->due <= now) {
		if (it->kind == REP_PATCH && !patch_wanted(r, it)) {
			drop(r, it);
			continue;
		}
		if (!tb_take(&r->tb, now))
			return tb_next(&r->tb, now);
		unqueue(r, it);
		ret = send_item(r, it);
		if (ret == -EINVAL)	/* no "namespace/name": cannot be */
			drop(r, it);
		else if (ret)
			retry_later(r, it, now, strerror(-ret));
	}
	return r->head ? r->head->due : UINT64_MAX;
}
