// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Our Lease kubelb-node-<node>: proof to the peers that we are alive, and
 * where we publish our subnets.
 *
 * One request at a time. The server's copy of the Lease is kept, so an
 * update carries everything it had (labels, owner references) and its
 * resourceVersion; a 409 means someone else wrote it, so we read it again
 * and write at once. A request that failed for any other reason is
 * retried sooner than the next renewal would be, with backoff, so a
 * short API blip costs no more than a few hundred milliseconds of
 * contact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "agent_int.h"

#define LEASE_API		"/apis/coordination.k8s.io/v1"
/* first retry after a failed renewal; doubles up to the renew period */
#define LEASE_RETRY_MIN_MS	200
/* immediate follow-ups (409 -> GET -> PUT ...) before backing off */
#define LEASE_CHAIN_MAX		4

enum lease_op {
	LEASE_GET,
	LEASE_CREATE,
	LEASE_UPDATE,
	LEASE_DELETE,
};

static const char *const op_names[] = {
	[LEASE_GET] = "get",
	[LEASE_CREATE] = "create",
	[LEASE_UPDATE] = "update",
	[LEASE_DELETE] = "delete",
};

/* A request in flight; outlives the manager if lease_free() comes first. */
struct lease_req {
	struct lease_mgr *l;
	enum lease_op op;
	uint64_t sent;
	char *subnets;		/* what an update or create carried */
};

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

struct lease_mgr {
	struct agent_io io;
	char *node, *namespace, *name;
	char *collection;	/* .../namespaces/NS/leases */
	char *item;		/* .../leases/NAME */
	uint64_t period_ms, duration_ms;
	int duration_s;

	char *subnets;		/* to publish */
	char *published;	/* carried by the last successful write */
	cJSON *obj;		/* the server's copy, NULL: unknown */

	struct lease_req *inflight;
	uint64_t next_at;
	uint64_t retry_ms;
	int chain;		/* immediate follow-ups in a row */

	bool ever_ok;
	uint64_t last_ok;	/* when the last successful write was sent */
	/*
	 * Our writes come back through our own Lease watch. The newest
	 * write seen there (when it was sent) is what "in contact" means:
	 * we can both write and watch, so the peers' renewals reach us.
	 */
	struct {
		char rv[32];
		uint64_t sent;
	} written_rv[4];
	unsigned int written_next;
	char seen_rv[32];	/* newest resourceVersion of ours watched */
	uint64_t echoed;	/* sent time of the newest write seen */
	bool contact;		/* as last logged */
	bool failing;		/* a failure streak was logged */
	char last_error[160];

	bool releasing, released;
	void (*done)(void *data);
	void *done_data;
};

static uint64_t lease_now(const struct lease_mgr *l)
{
	return l->io.now(l->io.ctx);
}

/* ---------------------------------------------------------- pure parts */

static int subnet_cmp(const void *a, const void *b)
{
	const struct subnet *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr.b, y->addr.b, kubelb_addr_len(x->family));
	if (c)
		return c;
	return (int)x->plen - (int)y->plen;
}

char *lease_subnets_string(const struct local_subnet *s, size_t n)
{
	struct subnet *v = NULL;
	char addr[INET6_ADDRSTRLEN];
	char *out = NULL;
	size_t i, len = 0, m = 0;
	FILE *f;

	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return NULL;
	}
	for (i = 0; i < n; i++)
		if (kubelb_addr_len(s[i].net.family))
			v[m++] = s[i].net;
	if (m)
		qsort(v, m, sizeof(*v), subnet_cmp);
	f = open_memstream(&out, &len);
	if (!f) {
		free(v);
		return NULL;
	}
	for (i = 0; i < m; i++) {
		if (i && !subnet_cmp(&v[i - 1], &v[i]))
			continue;
		if (!inet_ntop(v[i].family, v[i].addr.b, addr, sizeof(addr)))
			continue;
		fprintf(f, "%s%s/%u", ftell(f) ? "," : "", addr, v[i].plen);
	}
	free(v);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

/* Replace (or add) o[name] with item, which put() takes either way. */
static bool put(cJSON *o, const char *name, cJSON *item)
{
	bool ok;

	if (!item)
		return false;
	if (cJSON_GetObjectItemCaseSensitive(o, name))
		ok = cJSON_ReplaceItemInObjectCaseSensitive(o, name, item);
	else
		ok = cJSON_AddItemToObject(o, name, item);
	if (!ok)
		cJSON_Delete(item);
	return ok;
}

static bool put_str(cJSON *o, const char *name, const char *v)
{
	return put(o, name, cJSON_CreateString(v));
}

static bool put_num(cJSON *o, const char *name, double v)
{
	return put(o, name, cJSON_CreateNumber(v));
}

/* o[name] as an object, created (or replacing a non-object) if needed. */
static cJSON *object_member(cJSON *o, const char *name)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsObject(m))
		return m;
	m = cJSON_CreateObject();
	return put(o, name, m) ? m : NULL;
}

static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

cJSON *lease_body(const cJSON *old, const char *namespace,
		  const char *name, const char *node, int duration_s,
		  const char *subnets, const char *now_text)
{
	cJSON *o, *meta, *ann, *spec, *m;
	const char *holder = NULL, *acquired = NULL;
	double transitions = 0;

	o = cJSON_IsObject(old) ? cJSON_Duplicate(old, true) :
				  cJSON_CreateObject();
	if (!o)
		return NULL;
	meta = object_member(o, "metadata");
	spec = object_member(o, "spec");
	ann = meta ? object_member(meta, "annotations") : NULL;
	if (!spec || !ann)
		goto fail;
	holder = str_member(spec, "holderIdentity");
	acquired = str_member(spec, "acquireTime");
	m = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
	if (cJSON_IsNumber(m) && m->valuedouble >= 0)
		transitions = m->valuedouble;
	if (!old) {
		acquired = NULL;
		transitions = 0;
	} else if (!holder || strcmp(holder, node)) {
		/* the lease changes hands (from nobody, after a release) */
		acquired = NULL;
		if (holder && *holder)
			transitions += 1;
	}

	/*
	 * holder and acquired point into o: put_str() copies its argument
	 * before it frees the item it replaces, and holder is not used after
	 * holderIdentity is replaced.
	 */
	if (!put_str(o, "apiVersion", "coordination.k8s.io/v1") ||
	    !put_str(o, "kind", "Lease") ||
	    !put_str(meta, "name", name) ||
	    !put_str(meta, "namespace", namespace) ||
	    !put_str(ann, ANN_LEASE_SUBNETS, subnets ? subnets : "") ||
	    !put_str(spec, "acquireTime", acquired ? acquired : now_text) ||
	    !put_str(spec, "holderIdentity", node) ||
	    !put_num(spec, "leaseDurationSeconds", duration_s) ||
	    !put_str(spec, "renewTime", now_text) ||
	    !put_num(spec, "leaseTransitions", transitions))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* ---------------------------------------------------------- the manager */

static void wall_time_text(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	log_format_time(buf, len, &ts, 6);
}

struct lease_mgr *lease_new(struct kapi *k, const struct lease_cfg *cfg)
{
	struct lease_mgr *l = calloc(1, sizeof(*l));
	int d = cfg->duration_s > 0 ? cfg->duration_s : 1;

	if (!l)
		return NULL;
	agent_io_kapi(&l->io, k);
	l->duration_s = d;
	l->duration_ms = (uint64_t)d * 1000;
	l->period_ms = l->duration_ms / 3;
	l->retry_ms = LEASE_RETRY_MIN_MS;
	l->node = strdup(cfg->node);
	l->namespace = strdup(cfg->namespace);
	if (!l->node || !l->namespace ||
	    asprintf(&l->name, LEASE_PREFIX "%s", cfg->node) < 0) {
		l->name = NULL;
		goto fail;
	}
	if (asprintf(&l->collection, LEASE_API "/namespaces/%s/leases",
		     cfg->namespace) < 0) {
		l->collection = NULL;
		goto fail;
	}
	if (asprintf(&l->item, "%s/%s", l->collection, l->name) < 0) {
		l->item = NULL;
		goto fail;
	}
	l->subnets = strdup("");
	if (!l->subnets)
		goto fail;
	return l;
fail:
	lease_free(l);
	return NULL;
}

void lease_set_io(struct lease_mgr *l, const struct agent_io *io)
{
	l->io = *io;
}

void lease_free(struct lease_mgr *l)
{
	if (!l)
		return;
	/* the request completes later; its callback sees it is orphaned */
	if (l->inflight)
		l->inflight->l = NULL;
	cJSON_Delete(l->obj);
	free(l->node);
	free(l->namespace);
	free(l->name);
	free(l->collection);
	free(l->item);
	free(l->subnets);
	free(l->published);
	free(l);
}

/*
 * Half the duration: when the API goes away, we must freeze the peers'
 * liveness before any of their leases can expire by our clock. Their last
 * renewal we saw is at most a renewal period (a third) old, so they expire
 * no earlier than two thirds of a duration into the outage.
 */
bool lease_in_contact(const struct lease_mgr *l, uint64_t now)
{
	return l->echoed && now < l->echoed + l->duration_ms / 2;
}

static void note_contact(struct lease_mgr *l, uint64_t now);

static void echo(struct lease_mgr *l, uint64_t sent)
{
	if (sent > l->echoed)
		l->echoed = sent;
}

void lease_seen(struct lease_mgr *l, const char *rv)
{
	unsigned int i;

	if (!rv || strlen(rv) >= sizeof(l->seen_rv))
		return;
	snprintf(l->seen_rv, sizeof(l->seen_rv), "%s", rv);
	for (i = 0; i < ARRAY_SIZE(l->written_rv); i++)
		if (!strcmp(l->written_rv[i].rv, rv))
			echo(l, l->written_rv[i].sent);
	note_contact(l, lease_now(l));
}

static void note_contact(struct lease_mgr *l, uint64_t now)
{
	bool c = lease_in_contact(l, now);
	char ms[32];

	if (c == l->contact)
		return;
	l->contact = c;
	if (c) {
		alog(LOG_INFO, "in contact with the API server: lease renewed",
		     "lease", l->name, "namespace", l->namespace, NULL);
		return;
	}
	snprintf(ms, sizeof(ms), "%llu",
		 (unsigned long long)(now - l->echoed));
	alog(LOG_WARN, "lost contact with the API server: lease not renewed "
	     "and seen back within half its duration; peers' liveness is paused",
	     "lease", l->name, "since_ms", ms,
	     "error", l->last_error[0] ? l->last_error : NULL, NULL);
}

static void lease_cb(void *data, long status, const cJSON *body,
		     const char *errbuf);

static void start(struct lease_mgr *l, enum lease_op op, uint64_t now);

static void finish_release(struct lease_mgr *l)
{
	void (*done)(void *data) = l->done;
	void *data = l->done_data;

	l->released = true;
	l->releasing = false;
	l->done = NULL;
	if (done)
		done(data);	/* may free l: nothing after this */
}

static void request_failed(struct lease_mgr *l, enum lease_op op,
			   uint64_t now, const char *why)
{
	snprintf(l->last_error, sizeof(l->last_error), "%s: %s",
		 op_names[op], why);
	if (!l->failing) {
		alog(LOG_WARN, "lease renewal failed; retrying", "lease",
		     l->name, "error", l->last_error, NULL);
		l->failing = true;
	} else {
		alog(LOG_DEBUG, "lease renewal failed again", "lease",
		     l->name, "error", l->last_error, NULL);
	}
	l->chain = 0;
	l->next_at = now + l->retry_ms;
	l->retry_ms *= 2;
	if (l->retry_ms > l->period_ms)
		l->retry_ms = l->period_ms;
	if (l->retry_ms < LEASE_RETRY_MIN_MS)
		l->retry_ms = LEASE_RETRY_MIN_MS;
}

static void start(struct lease_mgr *l, enum lease_op op, uint64_t now)
{
	char when[40];
	struct lease_req *q;
	const char *method, *path = l->item;
	char *body = NULL;
	int ret;

	q = calloc(1, sizeof(*q));
	if (!q)
		goto nomem;
	q->l = l;
	q->op = op;
	q->sent = now;
	switch (op) {
	case LEASE_GET:
		method = "GET";
		break;
	case LEASE_DELETE:
		method = "DELETE";
		break;
	case LEASE_CREATE:
	case LEASE_UPDATE: {
		cJSON *o;

		wall_time_text(when, sizeof(when));
		o = lease_body(op == LEASE_UPDATE ? l->obj : NULL,
			       l->namespace, l->name, l->node, l->duration_s,
			       l->subnets, when);
		body = o ? cJSON_PrintUnformatted(o) : NULL;
		cJSON_Delete(o);
		q->subnets = strdup(l->subnets);
		if (!body || !q->subnets)
			goto nomem;
		method = op == LEASE_CREATE ? "POST" : "PUT";
		if (op == LEASE_CREATE)
			path = l->collection;
		break;
	}
	default:
		free(q);
		return;
	}
	l->inflight = q;
	ret = l->io.request(l->io.ctx, method, path,
			    body ? "application/json" : NULL, body, lease_cb,
			    q);
	free(body);
	if (ret) {
		l->inflight = NULL;
		free(q->subnets);
		free(q);
		if (op == LEASE_DELETE) {
			alog(LOG_WARN, "cannot delete our lease", "lease",
			     l->name, "error", strerror(ret < 0 ? -ret : ret),
			     NULL);
			finish_release(l);
			return;
		}
		request_failed(l, op, now, strerror(ret < 0 ? -ret : ret));
	}
	return;
nomem:
	if (q)
		free(q->subnets);
	free(q);
	free(body);
	if (op == LEASE_DELETE)
		finish_release(l);
	else
		request_failed(l, op, now, "out of memory");
}

/* Something to do at once after a reply: bounded, so that two writers
 * fighting over the lease cannot spin us. */
static void follow_up(struct lease_mgr *l, enum lease_op op, uint64_t now)
{
	if (++l->chain > LEASE_CHAIN_MAX) {
		request_failed(l, op, now, "conflicting writes kept coming");
		return;
	}
	start(l, op, now);
}

static void status_text(char *buf, size_t len, long status,
			const cJSON *body, const char *errbuf)
{
	const char *msg = cJSON_IsObject(body) ? str_member(body, "message") :
						 NULL;

	if (!status)
		snprintf(buf, len, "%s", errbuf && *errbuf ? errbuf :
			 "request failed");
	else if (msg)
		snprintf(buf, len, "HTTP %ld: %s", status, msg);
	else
		snprintf(buf, len, "HTTP %ld", status);
}

static bool keep_object(struct lease_mgr *l, const cJSON *body)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(body, "metadata");
	cJSON *dup;

	/* without a resourceVersion the next update cannot be conditional */
	if (!str_member(meta, "resourceVersion"))
		return false;
	dup = cJSON_Duplicate(body, true);
	if (!dup)
		return false;
	cJSON_Delete(l->obj);
	l->obj = dup;
	return true;
}

static void written(struct lease_mgr *l, struct lease_req *q,
		    const cJSON *body, uint64_t now)
{
	bool was_failing = l->failing;
	const char *rv;

	if (!keep_object(l, body)) {
		/* written, but we cannot update it without reading it */
		cJSON_Delete(l->obj);
		l->obj = NULL;
	}
	l->ever_ok = true;
	l->last_ok = q->sent;
	rv = str_member(cJSON_GetObjectItemCaseSensitive(body, "metadata"),
			"resourceVersion");
	if (rv && strlen(rv) < sizeof(l->seen_rv)) {
		/* the watch may have brought it back already */
		if (!strcmp(rv, l->seen_rv))
			echo(l, q->sent);
		snprintf(l->written_rv[l->written_next].rv,
			 sizeof(l->written_rv[0].rv), "%s", rv);
		l->written_rv[l->written_next].sent = q->sent;
		l->written_next = (l->written_next + 1) %
				  ARRAY_SIZE(l->written_rv);
	}
	l->chain = 0;
	l->failing = false;
	l->retry_ms = LEASE_RETRY_MIN_MS;
	if (!l->published || strcmp(l->published, q->subnets)) {
		alog(LOG_INFO, "lease published our subnets", "lease",
		     l->name, "subnets", q->subnets, NULL);
		free(l->published);
		l->published = q->subnets;
		q->subnets = NULL;
	}
	if (was_failing && l->contact)
		alog(LOG_INFO, "lease renewed again", "lease", l->name, NULL);
	l->last_error[0] = '\0';
	l->next_at = q->sent + l->period_ms;
	/* subnets changed while this was in flight: write them now */
	if (strcmp(l->subnets, l->published))
		l->next_at = now;
	note_contact(l, now);
}

static void lease_cb(void *data, long status, const cJSON *body,
		     const char *errbuf)
{
	struct lease_req *q = data;
	struct lease_mgr *l = q->l;
	char why[200];
	uint64_t now;

	if (!l)
		goto out;
	l->inflight = NULL;
	now = lease_now(l);
	status_text(why, sizeof(why), status, body, errbuf);

	if (q->op == LEASE_DELETE) {
		if (status >= 200 && status < 300)
			alog(LOG_INFO, "lease released", "lease", l->name,
			     NULL);
		else if (status == 404)
			alog(LOG_INFO, "lease already gone", "lease", l->name,
			     NULL);
		else
			alog(LOG_WARN, "cannot delete our lease; peers take "
			     "over when it expires", "lease", l->name,
			     "error", why, NULL);
		finish_release(l);
		goto out;
	}
	if (l->releasing) {
		/* the renewal ended; now delete */
		start(l, LEASE_DELETE, now);
		goto out;
	}

	switch (q->op) {
	case LEASE_GET:
		if (status == 200 && keep_object(l, body)) {
			follow_up(l, LEASE_UPDATE, now);
		} else if (status == 404) {
			cJSON_Delete(l->obj);
			l->obj = NULL;
			follow_up(l, LEASE_CREATE, now);
		} else {
			request_failed(l, q->op, now, status == 200 ?
				       "lease without resourceVersion" : why);
		}
		break;
	case LEASE_CREATE:
		if (status == 200 || status == 201) {
			alog(LOG_INFO, "lease created", "lease", l->name,
			     "namespace", l->namespace, NULL);
			written(l, q, body, now);
		} else if (status == 409) {
			/* AlreadyExists: someone (our previous run) made it */
			follow_up(l, LEASE_GET, now);
		} else {
			request_failed(l, q->op, now, why);
		}
		break;
	case LEASE_UPDATE:
		if (status == 200 || status == 201) {
			written(l, q, body, now);
		} else if (status == 409) {
			alog(LOG_DEBUG, "lease update conflict; reading it "
			     "again", "lease", l->name, NULL);
			cJSON_Delete(l->obj);
			l->obj = NULL;
			follow_up(l, LEASE_GET, now);
		} else if (status == 404) {
			cJSON_Delete(l->obj);
			l->obj = NULL;
			follow_up(l, LEASE_CREATE, now);
		} else {
			request_failed(l, q->op, now, why);
		}
		break;
	default:
		break;
	}
	if (l->inflight == NULL && !l->released)
		note_contact(l, now);
out:
	free(q->subnets);
	free(q);
}

void lease_set_subnets(struct lease_mgr *l, const struct local_subnet *s,
		       size_t n)
{
	char *v = lease_subnets_string(s, n);

	if (!v) {
		alog(LOG_ERROR, "cannot publish subnets: out of memory", NULL);
		return;
	}
	if (!strcmp(v, l->subnets)) {
		free(v);
		return;
	}
	free(l->subnets);
	l->subnets = v;
	if (l->releasing || l->released)
		return;
	l->next_at = 0;
	if (!l->inflight)
		start(l, l->obj ? LEASE_UPDATE : LEASE_GET, lease_now(l));
}

uint64_t lease_tick(struct lease_mgr *l, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (l->releasing || l->released)
		return UINT64_MAX;
	if (!l->inflight && now >= l->next_at)
		start(l, l->obj ? LEASE_UPDATE : LEASE_GET, now);
	note_contact(l, now);
	if (!l->inflight && !l->released)
		next = l->next_at > now ? l->next_at : now;
	if (l->contact && l->last_ok + l->duration_ms < next)
		next = l->last_ok + l->duration_ms;
	return next;
}

void lease_release(struct lease_mgr *l, void (*done)(void *data),
		   void *data)
{
	if (l->released) {
		if (done)
			done(data);
		return;
	}
	l->done = done;
	l->done_data = data;
	if (l->releasing)
		return;
	l->releasing = true;
	/*
	 * Peers take over when they see the Lease go, so do not wait for a
	 * renewal in flight: an update carries the resourceVersion and
	 * cannot bring a deleted Lease back, nor can a read. Only a create
	 * could, so that one is waited for (lease_cb then deletes).
	 */
	if (l->inflight && l->inflight->op != LEASE_CREATE) {
		l->inflight->l = NULL;	/* its answer no longer matters */
		l->inflight = NULL;
	}
	if (!l->inflight)
		start(l, LEASE_DELETE, lease_now(l));
}
