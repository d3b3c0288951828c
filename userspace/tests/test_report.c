// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelb-agent: Service annotations and Events (report.c) and our Lease
 * (lease.c), driven through a fake API transport and a fake clock.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "../agent/agent.h"
#include "../agent/agent_int.h"
#include "tap.h"

/* ------------------------------------------------------ fake transport */

#define MAX_REQS 64

struct fake_req {
	char method[16];
	char *path, *ctype, *body;
	kapi_req_cb cb;
	void *data;
	bool answered;
};

static struct fake_req reqs[MAX_REQS];
static size_t nreqs;
static uint64_t clock_ms;
static int fail_next;		/* request() returns this once */

static int fake_request(void *ctx, const char *method, const char *path,
			const char *content_type, const char *body,
			kapi_req_cb cb, void *data)
{
	struct fake_req *q;

	(void)ctx;
	if (fail_next) {
		int r = fail_next;

		fail_next = 0;
		return r;
	}
	if (nreqs == MAX_REQS)
		return -1;
	q = &reqs[nreqs++];
	snprintf(q->method, sizeof(q->method), "%s", method);
	q->path = strdup(path);
	q->ctype = content_type ? strdup(content_type) : NULL;
	q->body = body ? strdup(body) : NULL;
	q->cb = cb;
	q->data = data;
	q->answered = false;
	return 0;
}

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

static const struct agent_io fake_io = { fake_request, fake_now, NULL };

static void reset_reqs(void)
{
	size_t i;

	for (i = 0; i < nreqs; i++) {
		free(reqs[i].path);
		free(reqs[i].ctype);
		free(reqs[i].body);
	}
	memset(reqs, 0, sizeof(reqs));
	nreqs = 0;
}

/* Answer request i with status and a JSON body (may be NULL). */
static void answer(size_t i, long status, const char *json)
{
	cJSON *b = json ? cJSON_Parse(json) : NULL;

	reqs[i].answered = true;
	reqs[i].cb(reqs[i].data, status, b, status ? NULL : "connection refused");
	cJSON_Delete(b);
}

static size_t unanswered(void)
{
	size_t i, n = 0;

	for (i = 0; i < nreqs; i++)
		n += !reqs[i].answered;
	return n;
}

static const char *jstr(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *tok;
	const cJSON *c = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && c;
	     tok = strtok_r(NULL, ".", &save))
		c = cJSON_GetObjectItemCaseSensitive(c, tok);
	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *a, const char *b)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, a);

	c = cJSON_GetObjectItemCaseSensitive(c, b);
	return cJSON_IsNumber(c) ? c->valuedouble : -1;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* "2026-11-26T06:00:00.123456Z" */
static bool micro_time(const char *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (!t || strlen(t) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
			return false;
	return true;
}

/* ------------------------------------------------------------ report */

struct svc {
	struct k8s_service s;
	struct ingress_ip ip[2];
};

static void mk_svc(struct svc *v, const char *key, const char *ip1,
		   const char *ip2, const char *announcing)
{
	memset(v, 0, sizeof(*v));
	v->s.key = (char *)key;
	v->s.load_balancer = true;
	v->s.ingress = v->ip;
	v->ip[0].family = AF_INET;
	inet_pton(AF_INET, ip1, &v->ip[0].addr);
	v->s.n_ingress = 1;
	if (ip2) {
		v->ip[1].family = AF_INET;
		inet_pton(AF_INET, ip2, &v->ip[1].addr);
		v->s.n_ingress = 2;
	}
	v->s.announcing_v4 = (char *)announcing;
}

static void test_bodies(void)
{
	struct timespec ts = { 1795672800, 5 };
	char *s;
	cJSON *j;

	s = report_patch_body(AF_INET, "node1,eth0");
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && cJSON_GetArraySize(j) == 1 &&
	   streq(cJSON_GetStringValue(cJSON_GetObjectItem(
		 cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"),
				     "annotations"),
		 "kubelb.io/announcing-IPv4")), "node1,eth0"),
	   "patch body: only metadata.annotations[announcing-IPv4]: %s", s);
	cJSON_Delete(j);
	free(s);
	s = report_patch_body(AF_INET6, "node1,eth0");
	ok(s && strstr(s, "\"kubelb.io/announcing-IPv6\":\"node1,eth0\""),
	   "patch body: IPv6 annotation for an IPv6 VIP: %s", s);
	free(s);

	s = report_event_body("default", "web", "node1", "10.9.0.100", "eth0",
			      &ts);
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && streq(jstr(j, "kind"), "Event") &&
	   streq(jstr(j, "apiVersion"), "v1") &&
	   streq(jstr(j, "metadata.namespace"), "default") &&
	   streq(jstr(j, "involvedObject.kind"), "Service") &&
	   streq(jstr(j, "involvedObject.name"), "web") &&
	   streq(jstr(j, "involvedObject.namespace"), "default") &&
	   streq(jstr(j, "reason"), "AnnouncingIP") &&
	   streq(jstr(j, "message"), "10.9.0.100 announced by node1 on eth0") &&
	   streq(jstr(j, "source.component"), "kubelb-agent") &&
	   streq(jstr(j, "type"), "Normal") &&
	   streq(jstr(j, "firstTimestamp"), "2026-11-26T06:00:00Z") &&
	   streq(jstr(j, "lastTimestamp"), "2026-11-26T06:00:00Z") &&
	   cJSON_GetObjectItem(j, "count") &&
	   cJSON_GetObjectItem(j, "count")->valueint == 1,
	   "event body: a core/v1 Event about the Service: %s", s);
	ok(j && jstr(j, "metadata.name") &&
	   !strncmp(jstr(j, "metadata.name"), "web.", 4),
	   "event body: named <service>.<unique suffix>");
	cJSON_Delete(j);
	free(s);
}

static void test_token_bucket(void)
{
	struct token_bucket tb;
	int i, n = 0;

	tb_init(&tb, 10, 20, 1000);
	for (i = 0; i < 30; i++)
		n += tb_take(&tb, 1000);
	ok(n == 20, "token bucket: a burst of 20, then nothing (%d)", n);
	ok(tb_next(&tb, 1000) > 1000 && tb_next(&tb, 1000) <= 1101,
	   "token bucket: next token within 100 ms at 10/s");
	ok(!tb_take(&tb, 1050) && tb_take(&tb, 1100) && !tb_take(&tb, 1100),
	   "token bucket: one token per 100 ms");
	ok(tb_take(&tb, 100000) && tb.tokens <= 20,
	   "token bucket: refill is capped at the burst");
}

static struct reporter *new_reporter(bool enabled)
{
	struct reporter *r = reporter_new(NULL, "node1", enabled);

	reporter_set_io(r, &fake_io);
	return r;
}

static void test_reporter_basic(void)
{
	struct reporter *r;
	struct svc a;
	union kubelb_addr ip;
	cJSON *j;

	clock_ms = 1000;
	reset_reqs();
	r = new_reporter(true);
	mk_svc(&a, "default/web", "10.9.0.100", NULL, NULL);
	ip = a.ip[0].addr;

	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth1");
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	ok(reporter_pending(r) == 1,
	   "report: two decisions for one Service coalesce into one write");
	ok(reporter_tick(r, clock_ms) == UINT64_MAX && nreqs == 1,
	   "report: tick sends it at once");
	ok(nreqs == 1 && !strcmp(reqs[0].method, "PATCH") &&
	   streq(reqs[0].path, "/api/v1/namespaces/default/services/web") &&
	   streq(reqs[0].ctype, "application/merge-patch+json") &&
	   reqs[0].body && strstr(reqs[0].body, "\"node1,eth0\""),
	   "report: merge-patch of the Service with the newest value: %s %s",
	   reqs[0].path, reqs[0].body);

	/* the same decision again while in flight: no second request */
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	reporter_tick(r, clock_ms);
	ok(nreqs == 1, "report: no duplicate write while one is in flight");

	answer(0, 200, "{}");
	ok(reporter_tick(r, clock_ms) == UINT64_MAX && nreqs == 2 &&
	   !strcmp(reqs[1].method, "POST") &&
	   streq(reqs[1].path, "/api/v1/namespaces/default/events"),
	   "report: an Event is posted after the annotation changed");
	j = nreqs == 2 ? cJSON_Parse(reqs[1].body) : NULL;
	ok(j && streq(jstr(j, "message"),
		      "10.9.0.100 announced by node1 on eth0") &&
	   streq(jstr(j, "involvedObject.name"), "web"),
	   "report: the Event says which node announces which IP on what");
	cJSON_Delete(j);
	answer(1, 201, "{}");
	ok(reporter_pending(r) == 0, "report: nothing left after success");

	/* the Service now shows our value: nothing to write */
	mk_svc(&a, "default/web", "10.9.0.100", NULL, "node1,eth0");
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	reporter_tick(r, clock_ms);
	ok(nreqs == 2 && reporter_pending(r) == 0,
	   "report: no write when the Service already carries the value");

	/* a pending write whose target became true is dropped */
	mk_svc(&a, "default/web", "10.9.0.100", NULL, "node2,eth0");
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	ok(reporter_pending(r) == 1, "report: a different value is queued");
	mk_svc(&a, "default/web", "10.9.0.100", NULL, "node1,eth0");
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	reporter_tick(r, clock_ms);
	ok(nreqs == 2 && reporter_pending(r) == 0,
	   "report: pending write dropped once the Service shows it");

	/* we stop holding before the write went out: dropped */
	mk_svc(&a, "default/web", "10.9.0.100", NULL, NULL);
	reporter_service(r, &a.s, AF_INET, &ip, "node1,eth0");
	reporter_service(r, &a.s, AF_INET, &ip, NULL);
	reporter_tick(r, clock_ms);
	ok(nreqs == 2 && reporter_pending(r) == 0,
	   "report: losing the VIP cancels our pending write");

	/* the second IP of a Service does not decide its annotation */
	mk_svc(&a, "default/two", "10.9.0.1", "10.9.0.2", NULL);
	reporter_service(r, &a.s, AF_INET, &a.ip[1].addr, "node1,eth0");
	ok(reporter_pending(r) == 0,
	   "report: only the holder of a Service's first IPv4 writes");
	reporter_free(r);
	reset_reqs();
}

static void test_reporter_failures(void)
{
	struct reporter *r;
	struct svc a;
	uint64_t next;
	size_t i;

	clock_ms = 5000;
	reset_reqs();
	r = new_reporter(true);
	mk_svc(&a, "ns1/api", "10.9.0.7", NULL, NULL);
	reporter_service(r, &a.s, AF_INET, &a.ip[0].addr, "node1,eth0");
	reporter_tick(r, clock_ms);
	answer(0, 500, "{\"kind\":\"Status\",\"message\":\"etcd down\"}");
	next = reporter_tick(r, clock_ms);
	ok(nreqs == 1 && next >= clock_ms + 1000 && next != UINT64_MAX,
	   "report: a failed write waits (backoff %llu ms)",
	   (unsigned long long)(next - clock_ms));
	clock_ms = next;
	reporter_tick(r, clock_ms);
	ok(nreqs == 2 && !strcmp(reqs[1].method, "PATCH"),
	   "report: and is retried when due");
	answer(1, 0, NULL);
	next = reporter_tick(r, clock_ms);
	ok(next >= clock_ms + 2000, "report: backoff doubles (%llu ms)",
	   (unsigned long long)(next - clock_ms));
	clock_ms = next;
	reporter_tick(r, clock_ms);
	answer(2, 404, NULL);
	ok(reporter_pending(r) == 0 && reporter_tick(r, clock_ms) ==
	   UINT64_MAX, "report: a Service that is gone (404) is dropped");

	/* transport refuses the request outright */
	reporter_service(r, &a.s, AF_INET, &a.ip[0].addr, "node1,eth0");
	fail_next = -12;
	next = reporter_tick(r, clock_ms);
	ok(reporter_pending(r) == 1 && next > clock_ms && next != UINT64_MAX,
	   "report: a request that cannot start is retried later");

	/* freed with a write in flight: the late answer is harmless */
	clock_ms = next;
	reporter_tick(r, clock_ms);
	reporter_free(r);
	i = nreqs;
	answer(nreqs - 1, 200, "{}");
	ok(nreqs == i, "report: an answer after reporter_free is ignored "
	   "(no Event follows)");
	reset_reqs();
}

static void test_reporter_rate(void)
{
	struct reporter *r;
	struct svc a[30];
	char key[30][32];
	uint64_t next;
	int i;

	clock_ms = 10000;
	reset_reqs();
	r = new_reporter(true);
	for (i = 0; i < 30; i++) {
		char ip[32];

		snprintf(key[i], sizeof(key[i]), "default/s%d", i);
		snprintf(ip, sizeof(ip), "10.9.1.%d", i + 1);
		mk_svc(&a[i], key[i], ip, NULL, NULL);
		reporter_service(r, &a[i].s, AF_INET, &a[i].ip[0].addr,
				 "node1,eth0");
	}
	next = reporter_tick(r, clock_ms);
	ok(nreqs == 20, "rate: a burst of 20 writes (%zu)", nreqs);
	ok(next > clock_ms && next <= clock_ms + 101,
	   "rate: next write due when a token arrives (+%llu ms)",
	   (unsigned long long)(next - clock_ms));
	clock_ms += 100;
	reporter_tick(r, clock_ms);
	ok(nreqs == 21, "rate: then 10 per second (%zu)", nreqs);
	clock_ms += 1000;
	reporter_tick(r, clock_ms);
	ok(nreqs == 30 && unanswered() == 30, "rate: the rest follows");
	for (i = 0; i < 30; i++)
		answer(i, 200, "{}");
	/* the Events are rate-limited the same way: one token is left */
	next = reporter_tick(r, clock_ms);
	ok(nreqs == 31 && next > clock_ms && next != UINT64_MAX,
	   "rate: Events share the budget (%zu sent)", nreqs - 30);
	clock_ms += 1000;
	next = reporter_tick(r, clock_ms);
	ok(nreqs == 41 && next != UINT64_MAX,
	   "rate: 10 more Events a second later (%zu sent)", nreqs - 30);
	reporter_free(r);
	for (i = 0; i < (int)nreqs; i++)
		if (!reqs[i].answered)
			answer(i, 200, "{}");
	reset_reqs();
}

static void test_reporter_disabled(void)
{
	struct reporter *r;
	struct svc a;

	reset_reqs();
	r = new_reporter(false);
	mk_svc(&a, "default/web", "10.9.0.100", NULL, NULL);
	reporter_service(r, &a.s, AF_INET, &a.ip[0].addr, "node1,eth0");
	ok(reporter_tick(r, clock_ms) == UINT64_MAX && nreqs == 0 &&
	   reporter_pending(r) == 0,
	   "report: --report=false writes nothing");
	reporter_free(r);
}

/* ------------------------------------------------------------- lease */

static const char *lease_item =
	"/apis/coordination.k8s.io/v1/namespaces/kubelb-system/leases/"
	"kubelb-node-node1";

static void test_lease_pure(void)
{
	struct local_subnet s[4];
	cJSON *old, *o;
	char *str;

	memset(s, 0, sizeof(s));
	subnet_parse("fd00::/64", &s[0].net);
	subnet_parse("10.0.0.0/24", &s[1].net);
	subnet_parse("10.0.0.0/24", &s[2].net);
	subnet_parse("10.0.0.0/16", &s[3].net);
	str = lease_subnets_string(s, 4);
	ok(streq(str, "10.0.0.0/16,10.0.0.0/24,fd00::/64"),
	   "lease: subnets sorted, duplicates dropped: %s", str);
	free(str);
	str = lease_subnets_string(NULL, 0);
	ok(streq(str, ""), "lease: no subnets: empty annotation");
	free(str);

	old = cJSON_Parse("{\"metadata\":{\"name\":\"kubelb-node-node1\","
			  "\"resourceVersion\":\"7\",\"labels\":{\"a\":\"b\"}},"
			  "\"spec\":{\"holderIdentity\":\"node1\","
			  "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
			  "\"leaseTransitions\":2}}");
	o = lease_body(old, "ns", "kubelb-node-node1", "node1", 4, "10.0.0.0/24",
		       "2026-11-26T06:00:00.123456Z");
	ok(o && streq(jstr(o, "metadata.resourceVersion"), "7") &&
	   streq(jstr(o, "metadata.labels.a"), "b") &&
	   streq(jstr(o, "spec.acquireTime"), "2026-01-01T00:00:00.000000Z") &&
	   streq(jstr(o, "spec.renewTime"), "2026-11-26T06:00:00.123456Z") &&
	   jnum(o, "spec", "leaseTransitions") == 2 &&
	   jnum(o, "spec", "leaseDurationSeconds") == 4,
	   "lease: a renewal keeps the resourceVersion, labels, acquireTime "
	   "and transitions, and sets renewTime");
	cJSON_Delete(o);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(old, "spec"),
				  "holderIdentity", cJSON_CreateString("other"));
	o = lease_body(old, "ns", "kubelb-node-node1", "node1", 4, "",
		       "2026-11-26T06:00:00.123456Z");
	ok(o && streq(jstr(o, "spec.holderIdentity"), "node1") &&
	   streq(jstr(o, "spec.acquireTime"), "2026-11-26T06:00:00.123456Z") &&
	   jnum(o, "spec", "leaseTransitions") == 3,
	   "lease: taking it over from another holder counts a transition");
	cJSON_Delete(o);
	cJSON_Delete(old);
}

static void released(void *data)
{
	(*(int *)data)++;
}

static void test_lease_cycle(void)
{
	struct lease_cfg cfg = { "node1", "kubelb-system", 3 };
	struct local_subnet s[2];
	struct lease_mgr *l;
	uint64_t t0, next;
	cJSON *j;
	int done = 0;

	clock_ms = t0 = 100000;
	reset_reqs();
	l = lease_new(NULL, &cfg);
	lease_set_io(l, &fake_io);
	ok(!lease_in_contact(l, clock_ms), "lease: not in contact at start");
	lease_tick(l, clock_ms);
	ok(nreqs == 1 && !strcmp(reqs[0].method, "GET") &&
	   streq(reqs[0].path, lease_item),
	   "lease: first GET our Lease kubelb-node-<node>");
	lease_tick(l, clock_ms);
	ok(nreqs == 1, "lease: one request at a time");
	answer(0, 404, "{\"kind\":\"Status\",\"code\":404}");
	ok(nreqs == 2 && !strcmp(reqs[1].method, "POST") &&
	   streq(reqs[1].path, "/apis/coordination.k8s.io/v1/namespaces/"
		 "kubelb-system/leases"),
	   "lease: 404 -> create at once");
	j = nreqs == 2 ? cJSON_Parse(reqs[1].body) : NULL;
	ok(j && streq(jstr(j, "kind"), "Lease") &&
	   streq(jstr(j, "apiVersion"), "coordination.k8s.io/v1") &&
	   streq(jstr(j, "metadata.name"), "kubelb-node-node1") &&
	   streq(jstr(j, "metadata.namespace"), "kubelb-system") &&
	   streq(jstr(j, "spec.holderIdentity"), "node1") &&
	   jnum(j, "spec", "leaseDurationSeconds") == 3 &&
	   jnum(j, "spec", "leaseTransitions") == 0 &&
	   micro_time(jstr(j, "spec.renewTime")) &&
	   micro_time(jstr(j, "spec.acquireTime")) &&
	   !jstr(j, "metadata.resourceVersion"),
	   "lease: created with holder, duration, microsecond times: %s",
	   reqs[1].body);
	cJSON_Delete(j);
	clock_ms += 30;
	answer(1, 201, "{\"metadata\":{\"name\":\"kubelb-node-node1\","
	       "\"resourceVersion\":\"10\"},\"spec\":{\"holderIdentity\":"
	       "\"node1\",\"acquireTime\":\"2026-11-26T06:00:00.000001Z\"}}");
	ok(!lease_in_contact(l, clock_ms),
	   "lease: written, but not in contact before the watch brings it back");
	lease_seen(l, "9");
	ok(!lease_in_contact(l, clock_ms),
	   "lease: an older resourceVersion on the watch is not our write");
	lease_seen(l, "10");
	ok(lease_in_contact(l, clock_ms),
	   "lease: in contact once our write came back through the watch");
	ok(lease_in_contact(l, t0 + 1499) && !lease_in_contact(l, t0 + 1500),
	   "lease: contact ends half a duration after the write was sent");

	next = lease_tick(l, clock_ms);
	ok(next == t0 + 1000 && nreqs == 2,
	   "lease: next renewal a third of the duration after the last "
	   "(+%lld ms)", (long long)(next - t0));
	clock_ms = next;
	lease_tick(l, clock_ms);
	ok(nreqs == 3 && !strcmp(reqs[2].method, "PUT") &&
	   streq(reqs[2].path, lease_item),
	   "lease: renewal is an update of the Lease");
	j = nreqs == 3 ? cJSON_Parse(reqs[2].body) : NULL;
	ok(j && streq(jstr(j, "metadata.resourceVersion"), "10") &&
	   streq(jstr(j, "spec.acquireTime"), "2026-11-26T06:00:00.000001Z"),
	   "lease: the update carries the resourceVersion and keeps "
	   "acquireTime");
	cJSON_Delete(j);

	answer(2, 409, "{\"kind\":\"Status\",\"reason\":\"Conflict\"}");
	ok(nreqs == 4 && !strcmp(reqs[3].method, "GET"),
	   "lease: 409 -> read it again at once");
	answer(3, 200, "{\"metadata\":{\"name\":\"kubelb-node-node1\","
	       "\"resourceVersion\":\"12\"},\"spec\":{\"holderIdentity\":"
	       "\"node1\"}}");
	j = nreqs == 5 ? cJSON_Parse(reqs[4].body) : NULL;
	ok(j && !strcmp(reqs[4].method, "PUT") &&
	   streq(jstr(j, "metadata.resourceVersion"), "12"),
	   "lease: ... and update again with the new resourceVersion");
	cJSON_Delete(j);

	clock_ms += 10;
	answer(4, 503, NULL);
	next = lease_tick(l, clock_ms);
	ok(nreqs == 5 && next > clock_ms && next < clock_ms + 1000,
	   "lease: an error is retried sooner than the period (+%lld ms)",
	   (long long)(next - clock_ms));
	clock_ms = next;
	lease_tick(l, clock_ms);
	ok(nreqs == 6 && !strcmp(reqs[5].method, "PUT"),
	   "lease: the retry is an update");
	lease_seen(l, "13");	/* the watch may be faster than the reply */
	answer(5, 200, "{\"metadata\":{\"resourceVersion\":\"13\"}}");
	ok(lease_in_contact(l, clock_ms),
	   "lease: contact kept (the watch brought the write back before its reply)");

	/* subnets: a change is written at once */
	memset(s, 0, sizeof(s));
	subnet_parse("10.0.0.0/24", &s[0].net);
	subnet_parse("fd00::/64", &s[1].net);
	lease_set_subnets(l, s, 2);
	j = nreqs == 7 ? cJSON_Parse(reqs[6].body) : NULL;
	ok(j && !strcmp(reqs[6].method, "PUT") &&
	   streq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
		 cJSON_GetObjectItem(j, "metadata"), "annotations"),
		 "kubelb.io/subnets")), "10.0.0.0/24,fd00::/64"),
	   "lease: new subnets are written at once in kubelb.io/subnets");
	cJSON_Delete(j);
	lease_set_subnets(l, s, 2);
	ok(nreqs == 7, "lease: the same subnets again write nothing");

	/* release with a renewal in flight: an update carries the
	 * resourceVersion and cannot bring the Lease back, so no waiting */
	lease_release(l, released, &done);
	ok(nreqs == 8 && !strcmp(reqs[7].method, "DELETE") &&
	   streq(reqs[7].path, lease_item),
	   "lease: release deletes our Lease at once, not after the renewal in flight");
	answer(6, 200, "{\"metadata\":{\"resourceVersion\":\"14\"}}");
	ok(nreqs == 8 && !done,
	   "lease: the renewal's late answer starts nothing");
	ok(!done, "lease: done runs only when the DELETE ended");
	answer(7, 500, NULL);
	ok(done == 1, "lease: done runs after a failed DELETE too");
	ok(lease_tick(l, clock_ms + 5000) == UINT64_MAX && nreqs == 8,
	   "lease: no renewals after release");
	lease_free(l);
	reset_reqs();
}

static void test_lease_edges(void)
{
	struct lease_cfg cfg = { "node1", "kubelb-system", 4 };
	struct lease_mgr *l;
	int done = 0, i;

	clock_ms = 500000;
	reset_reqs();
	l = lease_new(NULL, &cfg);
	lease_set_io(l, &fake_io);
	lease_tick(l, clock_ms);
	answer(0, 404, NULL);
	answer(1, 409, "{\"reason\":\"AlreadyExists\"}");
	ok(nreqs == 3 && !strcmp(reqs[2].method, "GET"),
	   "lease: create conflict (AlreadyExists) -> GET");

	/* endless conflicts do not spin */
	for (i = 0; i < 20 && unanswered(); i++) {
		size_t k = nreqs - 1;

		if (!strcmp(reqs[k].method, "GET"))
			answer(k, 200, "{\"metadata\":{\"resourceVersion\":"
			       "\"1\"}}");
		else
			answer(k, 409, NULL);
	}
	ok(!unanswered() && nreqs < 12,
	   "lease: a conflict storm backs off instead of looping (%zu "
	   "requests)", nreqs);

	/* release while idle; the request cannot even start */
	fail_next = -111;
	lease_release(l, released, &done);
	ok(done == 1, "lease: release with no API reachable still finishes");
	lease_free(l);

	/* freed with a request in flight: the late answer is harmless */
	reset_reqs();
	l = lease_new(NULL, &cfg);
	lease_set_io(l, &fake_io);
	lease_tick(l, clock_ms);
	lease_free(l);
	answer(0, 200, "{\"metadata\":{\"resourceVersion\":\"1\"}}");
	ok(nreqs == 1, "lease: an answer after lease_free is ignored");
	reset_reqs();
}

void test_report(void)
{
	FILE *null = fopen("/dev/null", "w");

	/* the code under test logs; keep TAP output readable */
	log_init(LOG_LOGFMT, 1, null);
	test_bodies();
	test_token_bucket();
	test_reporter_basic();
	test_reporter_failures();
	test_reporter_rate();
	test_reporter_disabled();
	test_lease_pure();
	test_lease_cycle();
	test_lease_edges();
	log_init(LOG_LOGFMT, 0, NULL);
	if (null)
		fclose(null);
}
