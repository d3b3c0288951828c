// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The per-VIP decisions: election order, eligibility, liveness by our
 * clock, aggregation, shared IPs, relists, incremental updates; and a
 * micro-benchmark of the initial sync at 10,000 Services.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "agent.h"
#include "tap.h"

#define SELF "self"
#define NS "kubelb-system"

/* ------------------------------------------------------------ helpers */

static void feed(struct model *m,
		 void (*fn)(void *, enum kapi_event, const cJSON *),
		 enum kapi_event ev, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void feed(struct model *m,
		 void (*fn)(void *, enum kapi_event, const cJSON *),
		 enum kapi_event ev, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	cJSON *j;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	j = cJSON_Parse(buf);
	if (!j) {
		tap_diag("test JSON does not parse: %s", buf);
		return;
	}
	fn(m, ev, j);
	cJSON_Delete(j);
}

struct svc_opt {
	const char *etp, *cls, *type, *aggr, *announcing;
};

/* ips: comma separated; "P:" before an IP gives it ipMode Proxy. */
static void svc_ev(struct model *m, enum kapi_event ev, const char *key,
		   const char *ips, const struct svc_opt *o)
{
	static const struct svc_opt none;
	char ing[2048] = "", ns[64], name[64], ann[256] = "", spec[256];
	const char *p = ips;
	size_t len = 0;

	if (!o)
		o = &none;
	sscanf(key, "%63[^/]/%63s", ns, name);
	while (p && *p) {
		const char *end = strchr(p, ',');
		int n = end ? (int)(end - p) : (int)strlen(p);
		bool proxy = !strncmp(p, "P:", 2);

		if (proxy) {
			p += 2;
			n -= 2;
		}
		len += snprintf(ing + len, sizeof(ing) - len,
				"%s{\"ip\":\"%.*s\"%s}", len ? "," : "", n, p,
				proxy ? ",\"ipMode\":\"Proxy\"" : "");
		p = end ? end + 1 : NULL;
	}
	if (o->aggr || o->announcing)
		snprintf(ann, sizeof(ann), ",\"annotations\":{%s%s%s%s%s}",
			 o->aggr ? "\"kubelb.io/aggregation\":\"" : "",
			 o->aggr ? o->aggr : "", o->aggr ? "\"" : "",
			 o->aggr && o->announcing ? "," : "",
			 o->announcing ? "\"kubelb.io/announcing-IPv4\":"
					 "\"x,eth0\"" : "");
	snprintf(spec, sizeof(spec),
		 "{\"type\":\"%s\",\"externalTrafficPolicy\":\"%s\"%s%s%s}",
		 o->type ? o->type : "LoadBalancer",
		 o->etp ? o->etp : "Cluster",
		 o->cls ? ",\"loadBalancerClass\":\"" : "",
		 o->cls ? o->cls : "", o->cls ? "\"" : "");
	feed(m, model_on_service, ev,
	     "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"%s\","
	     "\"name\":\"%s\"%s},\"spec\":%s,\"status\":{\"loadBalancer\":"
	     "{\"ingress\":[%s]}}}", ns, name, ann, spec, ing);
}

static void svc(struct model *m, const char *key, const char *ips,
		const struct svc_opt *o)
{
	svc_ev(m, KAPI_ADDED, key, ips, o);
}

/* nodes: comma separated nodeNames of ready endpoints */
static void slice_ev(struct model *m, enum kapi_event ev, const char *key,
		     const char *service, const char *nodes)
{
	char eps[2048] = "", ns[64], name[64];
	const char *p = nodes;
	size_t len = 0;

	sscanf(key, "%63[^/]/%63s", ns, name);
	while (p && *p) {
		const char *end = strchr(p, ',');
		int n = end ? (int)(end - p) : (int)strlen(p);

		len += snprintf(eps + len, sizeof(eps) - len,
				"%s{\"addresses\":[\"10.244.0.1\"],"
				"\"nodeName\":\"%.*s\",\"conditions\":"
				"{\"ready\":true}}", len ? "," : "", n, p);
		p = end ? end + 1 : NULL;
	}
	feed(m, model_on_slice, ev,
	     "{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"%s\","
	     "\"name\":\"%s\",\"labels\":{\"kubernetes.io/service-name\":"
	     "\"%s\"}},\"endpoints\":[%s]}", ns, name, service, eps);
}

enum { NODE_NOT_READY = 1, NODE_NET_UNAVAIL = 2, NODE_EXCLUDED = 4 };

static void node_ev(struct model *m, enum kapi_event ev, const char *name,
		    int flags)
{
	feed(m, model_on_node, ev,
	     "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},"
	     "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
	     "\"%s\"},{\"type\":\"NetworkUnavailable\",\"status\":\"%s\"}]}}",
	     name,
	     flags & NODE_EXCLUDED ?
	     "\"node.kubernetes.io/exclude-from-external-load-balancers\":\"\""
	     : "\"kubernetes.io/hostname\":\"x\"",
	     flags & NODE_NOT_READY ? "False" : "True",
	     flags & NODE_NET_UNAVAIL ? "True" : "False");
}

static void lease_ev(struct model *m, enum kapi_event ev, const char *node,
		     int renew, const char *subnets)
{
	feed(m, model_on_lease, ev,
	     "{\"kind\":\"Lease\",\"metadata\":{\"namespace\":\"" NS "\","
	     "\"name\":\"kubelb-node-%s\",\"resourceVersion\":\"%d\","
	     "\"annotations\":{\"kubelb.io/subnets\":\"%s\"}},"
	     "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":4,"
	     "\"renewTime\":\"2025-01-01T00:00:%02d.000000Z\"}}",
	     node, renew, subnets, node, renew % 60);
}

#define SUBNETS "10.0.0.0/24,2001:db8::/64"

struct rec {
	size_t n;
	struct decision d[32];
};

static void rec_cb(void *data, const struct decision *d)
{
	struct rec *r = data;

	if (r->n < 32)
		r->d[r->n] = *d;
	r->n++;
}

static size_t upd(struct model *m, uint64_t now, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	return model_update(m, now, rec_cb, r);
}

static void parse_ip(const char *ip, uint16_t *fam, union kubelb_addr *a)
{
	memset(a, 0, sizeof(*a));
	*fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(*fam, ip, a);
}

static const struct decision *rec_get(const struct rec *r, const char *ip)
{
	union kubelb_addr a;
	uint16_t fam;
	size_t i;

	parse_ip(ip, &fam, &a);
	for (i = 0; i < r->n && i < 32; i++)
		if (r->d[i].family == fam &&
		    !memcmp(&r->d[i].addr, &a, fam == AF_INET ? 4 : 16))
			return &r->d[i];
	return NULL;
}

struct held_q {
	uint16_t fam;
	union kubelb_addr a;
	struct decision d;
	bool found;
	size_t n;
};

static int held_cb(void *data, const struct decision *d)
{
	struct held_q *q = data;

	q->n++;
	if (d->family == q->fam &&
	    !memcmp(&d->addr, &q->a, q->fam == AF_INET ? 4 : 16)) {
		q->d = *d;
		q->found = true;
	}
	return 0;
}

/* Is ip held now? (through model_each_held) */
static bool held(const struct model *m, const char *ip, struct decision *d)
{
	struct held_q q = { 0 };

	parse_ip(ip, &q.fam, &q.a);
	model_each_held(m, held_cb, &q);
	if (d)
		*d = q.d;
	return q.found;
}

static size_t n_held(const struct model *m)
{
	struct held_q q = { 0 };

	model_each_held(m, held_cb, &q);
	return q.n;
}

/* Rank of node among nodes for ip, by sha256(node "#" ip). */
static int rank(const char *ip, const char *node, const char *const *nodes,
		size_t n)
{
	union kubelb_addr a;
	uint16_t fam;
	uint8_t h[32], o[32];
	int r = 0;
	size_t i;

	parse_ip(ip, &fam, &a);
	election_hash(node, fam, &a, h);
	for (i = 0; i < n; i++) {
		if (!strcmp(nodes[i], node))
			continue;
		election_hash(nodes[i], fam, &a, o);
		r += memcmp(o, h, 32) < 0;
	}
	return r;
}

static const char *const all3[] = { SELF, "peer-a", "peer-b" };

/* First prefix+N (N in 1..250) where the nodes rank in the order given
 * by want (want[i] = rank of all3[i]; -1 = any). */
static void find_ip(const char *prefix, const int want[3], char *out,
		    size_t len)
{
	int x, i;

	for (x = 1; x < 250; x++) {
		snprintf(out, len, "%s%d", prefix, x);
		for (i = 0; i < 3; i++)
			if (want[i] >= 0 && rank(out, all3[i], all3, 3) != want[i])
				break;
		if (i == 3)
			return;
	}
	snprintf(out, len, "no-such-ip");
}

static const struct local_subnet locals[] = {
	{ .net = { .family = AF_INET, .addr.b = { 10, 0, 0, 0 }, .plen = 24 },
	  .ifindex = 2, .ifname = "eth0" },
	{ .net = { .family = AF_INET6,
		   .addr.b = { 0x20, 0x01, 0x0d, 0xb8 }, .plen = 64 },
	  .ifindex = 2, .ifname = "eth0" },
	{ .net = { .family = AF_INET, .addr.b = { 192, 168, 0, 0 },
		   .plen = 16 },
	  .ifindex = 3, .ifname = "eth1" },
	/* a longer prefix inside eth1's: more specific wins */
	{ .net = { .family = AF_INET, .addr.b = { 192, 168, 7, 0 },
		   .plen = 24 },
	  .ifindex = 4, .ifname = "eth2" },
};

#define T0 1000000ull

static struct model *cluster(const struct model_cfg *cfg)
{
	struct model_cfg dflt = { .node = SELF, .dev_ifindex = 9 };
	struct model *m = model_new(cfg ? cfg : &dflt);
	size_t i;

	model_set_local_subnets(m, locals, sizeof(locals) / sizeof(locals[0]));
	for (i = 0; i < 3; i++) {
		node_ev(m, KAPI_ADDED, all3[i], 0);
		lease_ev(m, KAPI_ADDED, all3[i], 1, SUBNETS);
	}
	return m;
}

/* ------------------------------------------------------------- tests */

static void test_hash(void)
{
	static const struct {
		const char *node, *ip, *hex;
	} v[] = {
		{ "node1", "10.0.0.1", "414b4c5392caa413d81d44f63a055c8b"
				       "42cd8cfd6c339c8525f16eebc27e271b" },
		{ "node2", "10.0.0.1", "3d44f3ccacb3ffc6921d11e88894a2c5"
				       "2733c566d6757bfe6d736ded76bb3d21" },
		{ "node1", "2001:db8::1", "7ff27e9e2526b12bfa6a6c09471ab4fd"
					  "3d4bad234c18426aad908739ce249756" },
	};
	size_t i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		union kubelb_addr a;
		uint16_t fam;
		uint8_t h[32];
		char hex[65];

		parse_ip(v[i].ip, &fam, &a);
		election_hash(v[i].node, fam, &a, h);
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", h[j]);
		ok(!strcmp(hex, v[i].hex),
		   "election: sha256(\"%s#%s\") = %.16s...", v[i].node,
		   v[i].ip, hex);
	}
	{
		union kubelb_addr a;
		uint16_t fam;
		uint8_t h1[32], h2[32];

		/* the text form is canonical, not what the Service wrote */
		parse_ip("2001:0db8:0000::0001", &fam, &a);
		election_hash("node1", fam, &a, h1);
		election_hash_str("node1", "2001:db8::1", h2);
		ok(!memcmp(h1, h2, 32), "election: IPv6 hashed in its "
		   "canonical form (2001:db8::1)");
	}
}

static void test_onlink_cluster(void)
{
	struct model *m = cluster(NULL);
	char first[32], second[32], third[32], v6[64];
	const int w_first[3] = { 0, -1, -1 }, w_second[3] = { 1, 0, 2 },
		  w_third[3] = { 2, 0, 1 }, w_v6[3] = { 0, -1, -1 };
	struct decision d = { 0 };
	struct rec r;
	size_t n;

	find_ip("10.0.0.", w_first, first, sizeof(first));
	find_ip("10.0.0.", w_second, second, sizeof(second));
	find_ip("10.0.0.", w_third, third, sizeof(third));
	find_ip("2001:db8::", w_v6, v6, sizeof(v6));
	tap_diag("IPs: self first %s, self second after peer-a %s, "
		 "self last %s, v6 first %s", first, second, third, v6);
	svc(m, "shop/web", first, NULL);
	svc(m, "shop/api", second, NULL);
	svc(m, "shop/db", third, NULL);
	svc(m, "shop/v6", v6, NULL);
	n = upd(m, T0, &r);
	ok(n == 2 && rec_get(&r, first) && rec_get(&r, v6),
	   "onlink: the first update reports only the IPs we win (%zu)", n);
	ok(held(m, first, &d) && d.mode == KUBELB_MODE_LOCAL &&
	   d.link == 2 && !strcmp(d.ifname, "eth0") && d.prefixlen == 32 &&
	   !strcmp(d.service, "shop/web") && !strcmp(d.winner, SELF),
	   "onlink: won IP is local on eth0, /32, service, winner self "
	   "(%s, %d, %s, %s)", d.ifname, d.prefixlen, d.service, d.winner);
	ok(held(m, v6, &d) && d.family == AF_INET6 && d.prefixlen == 128 &&
	   d.mode == KUBELB_MODE_LOCAL && d.link == 2,
	   "onlink: IPv6 VIP local on eth0 /128");
	ok(!held(m, second, NULL) && !held(m, third, NULL) && n_held(m) == 2,
	   "onlink: IPs another node ranks first on are not held");
	ok(upd(m, T0 + 1, &r) == 0, "onlink: nothing changed, no callback");

	/* peer-a, first for 'second', stops being eligible in each way */
	static const struct {
		int flags;
		const char *what;
	} ways[] = {
		{ NODE_NOT_READY, "not Ready" },
		{ NODE_NET_UNAVAIL, "NetworkUnavailable" },
		{ NODE_EXCLUDED, "exclude-from-external-load-balancers" },
	};
	for (size_t i = 0; i < 3; i++) {
		const struct decision *got;

		node_ev(m, KAPI_MODIFIED, "peer-a", ways[i].flags);
		n = upd(m, T0 + 2, &r);
		got = rec_get(&r, second);
		ok(n == 1 && got && got->hold && !strcmp(got->winner, SELF),
		   "onlink: peer-a %s -> we take %s over (%zu changes)",
		   ways[i].what, second, n);
		ok(!held(m, third, NULL),
		   "onlink: ... but not %s, where peer-b still ranks before us",
		   third);
		node_ev(m, KAPI_MODIFIED, "peer-a", 0);
		n = upd(m, T0 + 3, &r);
		got = rec_get(&r, second);
		ok(n == 1 && got && !got->hold &&
		   !strcmp(got->winner, "peer-a") &&
		   !strcmp(got->service, "shop/api"),
		   "onlink: peer-a eligible again -> we release, winner "
		   "peer-a (%s)", got ? got->winner : "?");
	}

	/* a Node that is not in the Node list is not eligible */
	node_ev(m, KAPI_DELETED, "peer-a", 0);
	n = upd(m, T0 + 4, &r);
	ok(n == 1 && held(m, second, NULL),
	   "onlink: peer-a deleted from the Node list (lease still fresh) "
	   "-> we hold %s", second);
	node_ev(m, KAPI_ADDED, "peer-a", 0);
	upd(m, T0 + 5, &r);
	ok(!held(m, second, NULL), "onlink: peer-a back");

	/* other subnet: peer-a's lease does not list 10.0.0.0/24 */
	lease_ev(m, KAPI_MODIFIED, "peer-a", 2, "10.9.0.0/24,2001:db8::/64");
	n = upd(m, T0 + 6, &r);
	ok(n == 1 && held(m, second, NULL),
	   "onlink: peer-a on another subnet -> not a candidate, we hold");
	lease_ev(m, KAPI_MODIFIED, "peer-a", 3, "10.0.0.0/16");
	n = upd(m, T0 + 7, &r);
	ok(n == 1 && !held(m, second, NULL),
	   "onlink: peer-a's /16 covers the IP again -> it wins");

	/* this node not eligible: everything released, with the reason */
	node_ev(m, KAPI_MODIFIED, SELF, NODE_NOT_READY);
	n = upd(m, T0 + 8, &r);
	ok(n == 2 && rec_get(&r, first) && !rec_get(&r, first)->hold &&
	   strstr(rec_get(&r, first)->why, "not Ready") &&
	   n_held(m) == 0,
	   "onlink: this node not Ready -> both held IPs released (%s)",
	   rec_get(&r, first) ? rec_get(&r, first)->why : "?");
	ok(rec_get(&r, first) && rec_get(&r, first)->winner[0] &&
	   strcmp(rec_get(&r, first)->winner, SELF),
	   "onlink: the release names the new winner (%s)",
	   rec_get(&r, first) ? rec_get(&r, first)->winner : "?");
	node_ev(m, KAPI_MODIFIED, SELF, 0);
	ok(upd(m, T0 + 9, &r) == 2, "onlink: Ready again -> both back");

	/* the more specific local subnet gives the interface */
	svc(m, "shop/eth2", "192.168.7.9,192.168.8.9", NULL);
	upd(m, T0 + 10, &r);
	node_ev(m, KAPI_MODIFIED, "peer-a", NODE_NOT_READY);
	node_ev(m, KAPI_MODIFIED, "peer-b", NODE_NOT_READY);
	upd(m, T0 + 11, &r);
	ok(held(m, "192.168.7.9", &d) && d.link == 4 &&
	   !strcmp(d.ifname, "eth2") && held(m, "192.168.8.9", &d) &&
	   d.link == 3, "onlink: longest local prefix picks the link "
	   "(eth2 for 192.168.7.9, eth1 for 192.168.8.9)");
	{
		const struct model_stats *st = model_stats(m);

		ok(st->held_local == n_held(m) && st->held_virtual == 0 &&
		   st->elections_won >= 8 && st->elections_lost >= 5,
		   "onlink: stats: %zu local held, won %llu, lost %llu",
		   st->held_local, (unsigned long long)st->elections_won,
		   (unsigned long long)st->elections_lost);
	}
	model_free(m);
}

static void test_liveness(void)
{
	struct model *m = cluster(NULL);
	char second[32];
	const int w_second[3] = { 1, 0, 2 };
	uint64_t exp;
	struct rec r;
	size_t n;

	find_ip("10.0.0.", w_second, second, sizeof(second));
	svc(m, "shop/api", second, NULL);
	upd(m, T0, &r);
	ok(!held(m, second, NULL), "lease: all alive, peer-a wins %s", second);
	exp = model_next_expiry(m, T0);
	ok(exp == T0 + 4000, "lease: next expiry = seen + 4 s (%llu)",
	   (unsigned long long)(exp - T0));

	/* renewals of self and peer-b keep everyone alive; an event that
	 * changes nothing about peer-a's lease does not restart its clock */
	lease_ev(m, KAPI_MODIFIED, "peer-a", 1, SUBNETS);
	lease_ev(m, KAPI_MODIFIED, "peer-b", 2, SUBNETS);
	lease_ev(m, KAPI_MODIFIED, SELF, 2, SUBNETS);
	ok(upd(m, T0 + 3000, &r) == 0,
	   "lease: renewals that change nothing else -> no callback");
	ok(upd(m, T0 + 3999, &r) == 0 && !held(m, second, NULL),
	   "lease: 1 ms before expiry peer-a is alive");
	n = upd(m, T0 + 4000, &r);
	ok(n == 1 && held(m, second, NULL) && rec_get(&r, second) &&
	   rec_get(&r, second)->hold,
	   "lease: peer-a's lease expired by our clock -> we take over");
	ok(model_next_expiry(m, T0 + 4000) == T0 + 3000 + 4000,
	   "lease: next expiry is peer-b's, renewed at +3 s");

	lease_ev(m, KAPI_MODIFIED, "peer-a", 5, SUBNETS);
	n = upd(m, T0 + 5000, &r);
	ok(n == 1 && !held(m, second, NULL) &&
	   !strcmp(rec_get(&r, second)->winner, "peer-a"),
	   "lease: peer-a renews -> alive again, we release");

	/* lease deleted (graceful stop of peer-a): at once */
	lease_ev(m, KAPI_DELETED, "peer-a", 5, SUBNETS);
	n = upd(m, T0 + 5001, &r);
	ok(n == 1 && held(m, second, NULL),
	   "lease: peer-a's lease deleted -> we take over at once");
	lease_ev(m, KAPI_ADDED, "peer-a", 6, SUBNETS);
	upd(m, T0 + 5002, &r);
	ok(!held(m, second, NULL), "lease: peer-a back");

	/* released lease (holder cleared) is not alive */
	feed(m, model_on_lease, KAPI_MODIFIED,
	     "{\"metadata\":{\"namespace\":\"" NS "\",\"name\":"
	     "\"kubelb-node-peer-a\",\"resourceVersion\":\"77\"},"
	     "\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":4}}");
	ok(upd(m, T0 + 5003, &r) == 1 && held(m, second, NULL),
	   "lease: holder cleared -> not alive");
	lease_ev(m, KAPI_MODIFIED, "peer-a", 8, SUBNETS);
	upd(m, T0 + 5004, &r);

	/* contact lost: expiry frozen */
	model_set_contact(m, false, T0 + 6000);
	ok(model_next_expiry(m, T0 + 6000) == UINT64_MAX,
	   "contact: no expiry while out of contact");
	ok(upd(m, T0 + 60000, &r) == 0 && !held(m, second, NULL),
	   "contact: a minute without contact -> nobody declared dead");
	model_set_contact(m, true, T0 + 60000);
	n = upd(m, T0 + 60000, &r);
	/* peer-b had 1,000 ms left at the freeze, peer-a 3,004 ms */
	ok(n == 0 && model_next_expiry(m, T0 + 60000) == T0 + 61000,
	   "contact: back -> the lease clocks resume where they paused (next expiry T0+%lld, want T0+61000)",
	   (long long)(model_next_expiry(m, T0 + 60000) - T0));
	ok(upd(m, T0 + 63003, &r) == 0, "contact: alive until then");
	n = upd(m, T0 + 63004, &r);
	ok(n == 1 && held(m, second, NULL),
	   "contact: peer-a silent for its lease duration, minus the pause -> dead");

	/* a node dead before contact was lost stays dead when it returns */
	model_set_contact(m, false, T0 + 65000);
	model_set_contact(m, true, T0 + 66000);
	upd(m, T0 + 66000, &r);
	ok(held(m, second, NULL),
	   "contact: a node already dead stays dead after contact returns");

	/* our own node is never judged dead: in contact its Lease is being
	 * renewed; out of contact every clock is paused */
	lease_ev(m, KAPI_DELETED, SELF, 0, SUBNETS);
	ok(upd(m, T0 + 66001, &r) == 0 && held(m, second, NULL),
	   "self: no lease of our own, but in contact -> alive");
	model_set_contact(m, false, T0 + 67000);
	ok(upd(m, T0 + 67000, &r) == 0 && held(m, second, NULL),
	   "self: out of contact and no lease seen -> still alive");
	ok(upd(m, T0 + 200000, &r) == 0 && held(m, second, NULL),
	   "self: ... and stays alive however long the API is away");
	model_set_contact(m, true, T0 + 200000);
	lease_ev(m, KAPI_ADDED, SELF, 9, SUBNETS);
	ok(upd(m, T0 + 200001, &r) == 0 && held(m, second, NULL),
	   "self: contact back, our lease seen -> nothing changes");
	model_free(m);
}

static void test_etp_local(void)
{
	struct model *m = cluster(NULL);
	char ip[32], rip[32];
	const int w[3] = { 1, 0, 2 };	/* peer-a, self, peer-b */
	const struct svc_opt local = { .etp = "Local", .aggr = "/24" };
	struct decision d = { 0 };
	struct rec r;
	size_t n;

	find_ip("10.0.0.", w, ip, sizeof(ip));
	snprintf(rip, sizeof(rip), "198.51.100.7");
	svc(m, "shop/web", ip, &local);
	svc(m, "shop/routed", rip, &local);
	slice_ev(m, KAPI_ADDED, "shop/web-1", "web", "peer-b");
	upd(m, T0, &r);
	ok(n_held(m) == 0, "etp local: no endpoint here -> nothing held");

	/* endpoint here; peer-a ranks first but hosts none */
	slice_ev(m, KAPI_ADDED, "shop/web-2", "web", SELF);
	n = upd(m, T0 + 1, &r);
	ok(n == 1 && held(m, ip, NULL),
	   "etp local: endpoint nodes self and peer-b only -> we win %s "
	   "although peer-a ranks first", ip);
	slice_ev(m, KAPI_MODIFIED, "shop/web-1", "web", "peer-b,peer-a");
	n = upd(m, T0 + 2, &r);
	ok(n == 1 && !held(m, ip, NULL),
	   "etp local: peer-a gets an endpoint -> it wins");
	slice_ev(m, KAPI_DELETED, "shop/web-1", "web", "");
	upd(m, T0 + 3, &r);
	ok(held(m, ip, NULL), "etp local: peer-a's slice deleted -> ours");

	/* routed: held only with a local endpoint, always /32 */
	slice_ev(m, KAPI_ADDED, "shop/routed-1", "routed", "peer-a");
	ok(upd(m, T0 + 4, &r) == 0 && !held(m, rip, NULL),
	   "etp local routed: endpoint elsewhere -> not held");
	slice_ev(m, KAPI_ADDED, "shop/routed-2", "routed", SELF);
	n = upd(m, T0 + 5, &r);
	ok(n == 1 && held(m, rip, &d) && d.mode == KUBELB_MODE_VIRTUAL &&
	   d.prefixlen == 32 && d.link == 0,
	   "etp local routed: endpoint here -> virtual /32 despite the /24 "
	   "annotation (%d)", d.prefixlen);

	/* not ready endpoint (ready false, serving false) does not count */
	feed(m, model_on_slice, KAPI_MODIFIED,
	     "{\"metadata\":{\"namespace\":\"shop\",\"name\":\"routed-2\","
	     "\"labels\":{\"kubernetes.io/service-name\":\"routed\"}},"
	     "\"endpoints\":[{\"nodeName\":\"" SELF "\",\"conditions\":"
	     "{\"ready\":false,\"serving\":false,\"terminating\":true}}]}");
	n = upd(m, T0 + 6, &r);
	ok(n == 1 && !held(m, rip, NULL) && rec_get(&r, rip) &&
	   strstr(rec_get(&r, rip)->why, "endpoint"),
	   "etp local routed: endpoint neither ready nor serving -> "
	   "released (%s)", rec_get(&r, rip) ? rec_get(&r, rip)->why : "?");
	feed(m, model_on_slice, KAPI_MODIFIED,
	     "{\"metadata\":{\"namespace\":\"shop\",\"name\":\"routed-2\","
	     "\"labels\":{\"kubernetes.io/service-name\":\"routed\"}},"
	     "\"endpoints\":[{\"nodeName\":\"" SELF "\",\"conditions\":"
	     "{\"ready\":false,\"serving\":true,\"terminating\":true}}]}");
	ok(upd(m, T0 + 7, &r) == 1 && held(m, rip, NULL),
	   "etp local routed: terminating but serving counts");

	/* switching the policy to Cluster: slices no longer matter */
	svc_ev(m, KAPI_MODIFIED, "shop/routed", rip,
	       &(struct svc_opt){ .aggr = "/24" });
	n = upd(m, T0 + 8, &r);
	ok(n == 1 && held(m, rip, &d) && d.prefixlen == 24,
	   "etp cluster routed: aggregation /24 from the annotation");
	slice_ev(m, KAPI_DELETED, "shop/routed-2", "routed", "");
	ok(upd(m, T0 + 9, &r) == 0 && held(m, rip, NULL),
	   "etp cluster routed: endpoints gone, still held, no callback");
	model_free(m);
}

static void test_shared(void)
{
	struct model *m = cluster(NULL);
	char ip[32];
	const int w[3] = { 1, 0, 2 };	/* peer-a, self, peer-b */
	const struct svc_opt local = { .etp = "Local" };
	struct decision d = { 0 };
	struct rec r;
	size_t n;

	find_ip("10.0.0.", w, ip, sizeof(ip));
	/* two Local Services on one IP: endpoints of either count */
	svc(m, "b/two", ip, &local);
	svc(m, "a/one", ip, &local);
	slice_ev(m, KAPI_ADDED, "b/two-1", "two", SELF);
	slice_ev(m, KAPI_ADDED, "a/one-1", "one", "peer-b");
	n = upd(m, T0, &r);
	ok(n == 1 && held(m, ip, &d) && !strcmp(d.service, "a/one"),
	   "shared: Local+Local, endpoints self (two) and peer-b (one) -> "
	   "we win; the Service is the first key: %s", d.service);
	slice_ev(m, KAPI_ADDED, "a/one-2", "one", "peer-a");
	n = upd(m, T0 + 1, &r);
	ok(n == 1 && !held(m, ip, NULL),
	   "shared: peer-a hosts an endpoint of one of them -> it wins");
	slice_ev(m, KAPI_DELETED, "a/one-2", "one", "");
	upd(m, T0 + 2, &r);

	/* one of them Cluster: every eligible node */
	svc(m, "c/three", ip, NULL);
	n = upd(m, T0 + 3, &r);
	ok(n == 1 && !held(m, ip, NULL),
	   "shared: a Cluster Service joins -> all nodes eligible, peer-a "
	   "(no endpoint) wins");
	svc_ev(m, KAPI_DELETED, "c/three", ip, NULL);
	n = upd(m, T0 + 4, &r);
	ok(n == 1 && held(m, ip, &d) && !strcmp(d.service, "a/one"),
	   "shared: Cluster Service deleted -> back to the Local union");
	/* deleting the first Service renames the VIP */
	svc_ev(m, KAPI_DELETED, "a/one", ip, NULL);
	n = upd(m, T0 + 5, &r);
	ok(n == 1 && held(m, ip, &d) && !strcmp(d.service, "b/two") &&
	   rec_get(&r, ip) && !strcmp(rec_get(&r, ip)->service, "b/two"),
	   "shared: first Service deleted -> decision changes to b/two");
	/* a Service that lists the IP twice is counted once */
	svc_ev(m, KAPI_MODIFIED, "b/two", "10.0.0.250,10.0.0.250", &local);
	upd(m, T0 + 6, &r);
	svc_ev(m, KAPI_DELETED, "b/two", "", NULL);
	upd(m, T0 + 7, &r);
	ok(n_held(m) == 0, "shared: an IP listed twice goes with its "
	   "Service");
	model_free(m);
}

static int count_svc(void *data, const struct k8s_service *s)
{
	char *names = data;

	strcat(names, s->key);
	strcat(names, " ");
	return 0;
}

static void test_routed_aggr(void)
{
	struct aggr_rule rule = { .plen = 20 };
	struct model_cfg cfg = { .node = SELF, .dev_ifindex = 9,
				 .aggr = &rule, .n_aggr = 1 };
	struct model *m;
	struct decision d = { 0 };
	struct rec r;
	char names[256] = "";
	union kubelb_addr a;
	uint16_t fam;

	subnet_parse("198.51.96.0/20", &rule.cidr);
	m = cluster(&cfg);
	svc(m, "x/rule", "198.51.100.1", &(struct svc_opt){ .aggr = "/28" });
	svc(m, "x/ann", "203.0.113.5,2001:db8:ff::5",
	    &(struct svc_opt){ .aggr = "/24,/64" });
	svc(m, "x/dflt", "203.0.114.5,2001:db8:fe::5", NULL);
	svc(m, "x/bad", "203.0.115.5", &(struct svc_opt){ .aggr = "/99" });
	ok(upd(m, T0, &r) == 6, "routed: all six IPs held");
	ok(held(m, "198.51.100.1", &d) && d.prefixlen == 20 &&
	   d.mode == KUBELB_MODE_VIRTUAL && strstr(d.why, "--aggregate"),
	   "routed: --aggregate rule beats the annotation (/%d, %s)",
	   d.prefixlen, d.why ? d.why : "-");
	ok(held(m, "203.0.113.5", &d) && d.prefixlen == 24 &&
	   held(m, "2001:db8:ff::5", &d) && d.prefixlen == 64,
	   "routed: annotation /24,/64 per family");
	ok(held(m, "203.0.114.5", &d) && d.prefixlen == 32 &&
	   held(m, "2001:db8:fe::5", &d) && d.prefixlen == 128,
	   "routed: default /32 and /128");
	ok(held(m, "203.0.115.5", &d) && d.prefixlen == 32 &&
	   strstr(d.why, "invalid"),
	   "routed: invalid annotation ignored with a reason (%s)",
	   d.why ? d.why : "-");
	ok(model_stats(m)->held_virtual == 6 &&
	   model_stats(m)->held_local == 0, "routed: stats count virtual");

	/* shared routed IP: annotation of the first Cluster Service */
	svc(m, "a/local", "203.0.114.5", &(struct svc_opt){ .etp = "Local",
							  .aggr = "/16" });
	svc(m, "y/other", "203.0.114.5", &(struct svc_opt){ .aggr = "/26" });
	upd(m, T0 + 1, &r);
	ok(held(m, "203.0.114.5", &d) && d.prefixlen == 26 &&
	   !strcmp(d.service, "a/local"),
	   "routed shared: /26 of the Cluster Service, not the Local one's "
	   "/16; named after a/local (/%d)", d.prefixlen);
	parse_ip("203.0.114.5", &fam, &a);
	model_each_service_of(m, fam, &a, count_svc, names);
	ok(strstr(names, "a/local") && strstr(names, "y/other") &&
	   strstr(names, "x/dflt"),
	   "routed shared: each_service_of lists all three: %s", names);

	/* on-link becomes routed when our subnets change */
	svc(m, "x/lan", "10.0.0.77", NULL);
	node_ev(m, KAPI_MODIFIED, "peer-a", NODE_NOT_READY);
	node_ev(m, KAPI_MODIFIED, "peer-b", NODE_NOT_READY);
	upd(m, T0 + 2, &r);
	ok(held(m, "10.0.0.77", &d) && d.mode == KUBELB_MODE_LOCAL,
	   "subnets: 10.0.0.77 local on eth0");
	model_set_local_subnets(m, locals + 1, 1);
	ok(upd(m, T0 + 3, &r) == 1 && held(m, "10.0.0.77", &d) &&
	   d.mode == KUBELB_MODE_VIRTUAL && d.prefixlen == 32,
	   "subnets: eth0 lost its IPv4 subnet -> the VIP becomes virtual");
	model_set_local_subnets(m, locals + 1, 1);
	ok(upd(m, T0 + 4, &r) == 0, "subnets: same set again -> no work");
	model_free(m);
}

static void test_filters(void)
{
	struct model *m = cluster(NULL);
	struct model_cfg cls = { .node = SELF, .lb_class = "kubelb.io/lb" };
	struct rec r;

	svc(m, "f/plain", "198.51.100.10", NULL);
	svc(m, "f/classy", "198.51.100.11",
	    &(struct svc_opt){ .cls = "kubelb.io/lb" });
	svc(m, "f/nodeport", "198.51.100.12",
	    &(struct svc_opt){ .type = "NodePort" });
	svc(m, "f/proxy", "P:198.51.100.13,198.51.100.14", NULL);
	upd(m, T0, &r);
	ok(held(m, "198.51.100.10", NULL) && !held(m, "198.51.100.11", NULL),
	   "class: no --lb-class -> only Services without a class");
	ok(!held(m, "198.51.100.12", NULL), "type: NodePort ignored");
	ok(!held(m, "198.51.100.13", NULL) && held(m, "198.51.100.14", NULL),
	   "ipMode Proxy entry skipped, its sibling held");
	svc_ev(m, KAPI_MODIFIED, "f/plain", "198.51.100.10",
	       &(struct svc_opt){ .cls = "other" });
	ok(upd(m, T0 + 1, &r) == 1 && !held(m, "198.51.100.10", NULL),
	   "class: a Service that gains a class is released");
	model_free(m);

	m = cluster(&cls);
	svc(m, "f/plain", "198.51.100.10", NULL);
	svc(m, "f/classy", "198.51.100.11",
	    &(struct svc_opt){ .cls = "kubelb.io/lb" });
	svc(m, "f/other", "198.51.100.12",
	    &(struct svc_opt){ .cls = "kubelb.io/lbx" });
	upd(m, T0, &r);
	ok(!held(m, "198.51.100.10", NULL) && held(m, "198.51.100.11", NULL) &&
	   !held(m, "198.51.100.12", NULL),
	   "class: --lb-class X -> exactly class X");
	model_free(m);
}

static void test_relist_and_noop(void)
{
	struct model *m = cluster(NULL);
	const struct svc_opt local = { .etp = "Local" };
	struct rec r;
	size_t n;

	svc(m, "r/a", "198.51.100.1", NULL);
	svc(m, "r/b", "198.51.100.2", NULL);
	svc(m, "r/c", "198.51.100.3", &local);
	slice_ev(m, KAPI_ADDED, "r/c-1", "c", SELF);
	ok(upd(m, T0, &r) == 3, "relist: three held");

	/* the reporter's annotation write comes back as MODIFIED */
	svc_ev(m, KAPI_MODIFIED, "r/a", "198.51.100.1",
	       &(struct svc_opt){ .announcing = "x" });
	ok(upd(m, T0 + 1, &r) == 0,
	   "noop: annotation-only change -> no callback");
	slice_ev(m, KAPI_MODIFIED, "r/c-1", "c", SELF);
	node_ev(m, KAPI_MODIFIED, "peer-a", 0);
	lease_ev(m, KAPI_MODIFIED, "peer-b", 2, SUBNETS);
	ok(upd(m, T0 + 2, &r) == 0,
	   "noop: same slice, node and lease renewal -> no callback");

	/* relist: r/b and the slice vanished while the watch was down */
	model_on_service(m, KAPI_LIST_BEGIN, NULL);
	svc(m, "r/a", "198.51.100.1", NULL);
	svc(m, "r/c", "198.51.100.3", &local);
	model_on_service(m, KAPI_LIST_END, NULL);
	model_on_slice(m, KAPI_LIST_BEGIN, NULL);
	model_on_slice(m, KAPI_LIST_END, NULL);
	model_on_node(m, KAPI_LIST_BEGIN, NULL);
	node_ev(m, KAPI_ADDED, SELF, 0);
	node_ev(m, KAPI_ADDED, "peer-a", 0);
	model_on_node(m, KAPI_LIST_END, NULL);
	model_on_lease(m, KAPI_LIST_BEGIN, NULL);
	for (size_t i = 0; i < 3; i++)
		lease_ev(m, KAPI_ADDED, all3[i], 1, SUBNETS);
	model_on_lease(m, KAPI_LIST_END, NULL);
	n = upd(m, T0 + 3, &r);
	ok(n == 2 && rec_get(&r, "198.51.100.2") &&
	   !rec_get(&r, "198.51.100.2")->hold &&
	   rec_get(&r, "198.51.100.3") && !rec_get(&r, "198.51.100.3")->hold &&
	   held(m, "198.51.100.1", NULL),
	   "relist: the Service and the slice gone during the relist are "
	   "deletions (%zu changes)", n);

	/* a relist that changes nothing costs no callback */
	model_on_service(m, KAPI_LIST_BEGIN, NULL);
	svc(m, "r/a", "198.51.100.1", NULL);
	svc(m, "r/c", "198.51.100.3", &local);
	model_on_service(m, KAPI_LIST_END, NULL);
	ok(upd(m, T0 + 4, &r) == 0, "relist: identical relist -> nothing");

	/* malformed objects are ignored; the previous state stays */
	feed(m, model_on_service, KAPI_MODIFIED,
	     "{\"metadata\":{\"namespace\":\"r\",\"name\":\"a\"},"
	     "\"spec\":{\"type\":7}}");
	feed(m, model_on_service, KAPI_ADDED, "[1,2]");
	feed(m, model_on_slice, KAPI_ADDED, "{\"metadata\":5}");
	feed(m, model_on_node, KAPI_ADDED, "{}");
	feed(m, model_on_lease, KAPI_ADDED, "{\"spec\":[]}");
	feed(m, model_on_service, KAPI_DELETED, "{}");
	feed(m, model_on_lease, KAPI_ADDED,
	     "{\"metadata\":{\"namespace\":\"" NS "\",\"name\":\"other\"},"
	     "\"spec\":{\"holderIdentity\":\"x\"}}");
	ok(upd(m, T0 + 5, &r) == 0 && held(m, "198.51.100.1", NULL),
	   "malformed: events ignored, state kept");
	model_on_service(m, KAPI_LIST_BEGIN, NULL);
	feed(m, model_on_service, KAPI_ADDED,
	     "{\"metadata\":{\"namespace\":\"r\",\"name\":\"a\"},"
	     "\"spec\":{\"type\":7}}");
	svc(m, "r/c", "198.51.100.3", &local);
	model_on_service(m, KAPI_LIST_END, NULL);
	ok(upd(m, T0 + 6, &r) == 0 && held(m, "198.51.100.1", NULL),
	   "malformed: an unusable item in a relist does not delete");
	model_free(m);
}

static void test_static(void)
{
	struct model_cfg cfg = { .node = SELF, .no_leases = true };
	struct model *m = model_new(&cfg);
	char ip[32];
	const int w[3] = { 1, 0, 2 };
	struct rec r;

	find_ip("10.0.0.", w, ip, sizeof(ip));
	model_set_local_subnets(m, locals, 1);
	svc(m, "s/a", ip, NULL);
	svc(m, "s/b", "198.51.100.1", NULL);
	ok(upd(m, T0, &r) == 2 && held(m, ip, NULL),
	   "static: no Node list -> this node alone, holds everything");
	ok(model_next_expiry(m, T0) == UINT64_MAX,
	   "static: no expiry to wait for");
	node_ev(m, KAPI_ADDED, "peer-a", 0);
	node_ev(m, KAPI_ADDED, SELF, 0);
	ok(upd(m, T0 + 1, &r) == 1 && !held(m, ip, NULL) &&
	   held(m, "198.51.100.1", NULL),
	   "static: a Node list with peer-a (no lease, no subnets needed) -> "
	   "it wins the on-link IP");
	ok(upd(m, T0 + 100000, &r) == 0, "static: nobody ever expires");
	node_ev(m, KAPI_DELETED, SELF, 0);
	ok(upd(m, T0 + 2, &r) == 1 && n_held(m) == 0,
	   "static: a Node list without this node -> nothing held");
	node_ev(m, KAPI_DELETED, "peer-a", 0);
	ok(upd(m, T0 + 3, &r) == 2 && n_held(m) == 2,
	   "static: Node list empty again -> this node alone");
	model_free(m);
}

/* ------------------------------------------- incremental = from scratch */

/*
 * Random events against one model, updated incrementally; after each
 * step a fresh model fed the same objects at once must hold exactly the
 * same VIPs, and the callbacks must have told exactly that. Leases never
 * expire here (the clock moves 1 ms a step): liveness comes from Lease
 * deletes and adds, the same for both.
 */
#define R_NODES 6
#define R_SVCS 12
#define R_SLICES 14
#define R_IPS 10

static const char *const r_nodes[R_NODES] = {
	SELF, "peer-a", "peer-b", "peer-c", "peer-d", "peer-e",
};
static const char *const r_ips[R_IPS] = {
	"10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.7.4", "192.168.9.5",
	"198.51.100.6", "203.0.113.7", "2001:db8::8", "2001:db8::9",
	"2001:db8:ff::10",
};

struct r_state {
	char *svc[R_SVCS], *slice[R_SLICES], *node[R_NODES], *lease[R_NODES];
	size_t n_locals;
};

struct r_kernel {
	size_t n;
	char line[R_IPS][256];
};

static void r_line(const struct decision *d, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(d->family, &d->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s %s/%u link %u %s service %s", ip,
		 d->mode == KUBELB_MODE_LOCAL ? "local" : "virtual",
		 d->prefixlen, d->link, d->ifname, d->service);
}

static size_t r_find(const struct r_kernel *k, const char *line)
{
	size_t i, n = strcspn(line, " ");

	for (i = 0; i < k->n; i++)
		if (!strncmp(k->line[i], line, n) && k->line[i][n] == ' ')
			return i;
	return k->n;
}

/* The callbacks applied to a table, as reconcile.c would. */
static void r_apply(void *data, const struct decision *d)
{
	struct r_kernel *k = data;
	char line[256];
	size_t i;

	r_line(d, line, sizeof(line));
	i = r_find(k, line);
	if (d->hold) {
		if (i == k->n && k->n < R_IPS)
			k->n++;
		snprintf(k->line[i], sizeof(k->line[i]), "%s", line);
	} else if (i < k->n) {
		memmove(k->line[i], k->line[i + 1],
			(k->n - i - 1) * sizeof(k->line[0]));
		k->n--;
	}
}

static int r_held(void *data, const struct decision *d)
{
	struct r_kernel *k = data;

	if (k->n < R_IPS)
		r_line(d, k->line[k->n++], sizeof(k->line[0]));
	return 0;
}

static int r_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void r_sort(struct r_kernel *k)
{
	qsort(k->line, k->n, sizeof(k->line[0]), r_cmp);
}

static bool r_equal(const struct r_kernel *a, const struct r_kernel *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->line[i], b->line[i]))
			return false;
	return true;
}

static void r_set(char **slot, char *json)
{
	free(*slot);
	*slot = json;
}

static char *r_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *r_printf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static void r_feed(struct model *m,
		   void (*fn)(void *, enum kapi_event, const cJSON *),
		   enum kapi_event ev, const char *json)
{
	cJSON *j = cJSON_Parse(json);

	if (j)
		fn(m, ev, j);
	cJSON_Delete(j);
}

/* Replace, add or delete object slot of kind fn with json (NULL: del). */
static void r_event(struct model *m, char **slot,
		    void (*fn)(void *, enum kapi_event, const cJSON *),
		    char *json)
{
	if (json)
		r_feed(m, fn, *slot ? KAPI_MODIFIED : KAPI_ADDED, json);
	else if (*slot)
		r_feed(m, fn, KAPI_DELETED, *slot);
	r_set(slot, json);
}

static char *r_service(unsigned int *seed, size_t i)
{
	static const char *const aggr[] = { "", "/24", "/28,/64", "/99" };
	char ips[256] = "";
	size_t k, len = 0, n = (size_t)rand_r(seed) % 3;

	for (k = 0; k < n; k++)
		len += snprintf(ips + len, sizeof(ips) - len,
				"%s{\"ip\":\"%s\"%s}", k ? "," : "",
				r_ips[rand_r(seed) % R_IPS],
				rand_r(seed) % 8 ? "" : ",\"ipMode\":\"Proxy\"");
	return r_printf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"s%zu\","
			"\"annotations\":{\"kubelb.io/aggregation\":\"%s\"}},"
			"\"spec\":{\"type\":\"%s\",\"externalTrafficPolicy\":"
			"\"%s\"%s},\"status\":{\"loadBalancer\":{\"ingress\":"
			"[%s]}}}", i, aggr[rand_r(seed) % 4],
			rand_r(seed) % 6 ? "LoadBalancer" : "ClusterIP",
			rand_r(seed) % 2 ? "Local" : "Cluster",
			rand_r(seed) % 6 ? "" : ",\"loadBalancerClass\":\"x\"",
			ips);
}

static char *r_slice(unsigned int *seed, size_t i)
{
	char eps[512] = "";
	size_t k, len = 0;

	for (k = 0; k < R_NODES; k++)
		if (rand_r(seed) % 3 == 0)
			len += snprintf(eps + len, sizeof(eps) - len,
					"%s{\"nodeName\":\"%s\",\"conditions\":"
					"{\"ready\":%s}}", len ? "," : "",
					r_nodes[k],
					rand_r(seed) % 5 ? "true" : "false");
	return r_printf("{\"metadata\":{\"namespace\":\"ns\",\"name\":"
			"\"sl%zu\",\"labels\":{\"kubernetes.io/service-name\":"
			"\"s%d\"}},\"endpoints\":[%s]}", i,
			rand_r(seed) % R_SVCS, eps);
}

static char *r_node(unsigned int *seed, size_t i)
{
	int r = rand_r(seed) % 10;

	return r_printf("{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},"
			"\"status\":{\"conditions\":[{\"type\":\"Ready\","
			"\"status\":\"%s\"},{\"type\":\"NetworkUnavailable\","
			"\"status\":\"%s\"}]}}", r_nodes[i],
			r == 0 ? "\"node.kubernetes.io/exclude-from-external-"
				 "load-balancers\":\"true\"" : "",
			r == 1 ? "False" : "True", r == 2 ? "True" : "False");
}

static char *r_lease(unsigned int *seed, size_t i, int rv)
{
	static const char *const subnets[] = {
		SUBNETS, SUBNETS ",192.168.0.0/16", "192.168.0.0/16",
		"10.0.0.0/8,2001:db8::/32",
	};

	return r_printf("{\"metadata\":{\"namespace\":\"" NS "\",\"name\":"
			"\"kubelb-node-%s\",\"resourceVersion\":\"%d\","
			"\"annotations\":{\"kubelb.io/subnets\":\"%s\"}},"
			"\"spec\":{\"holderIdentity\":\"%s\","
			"\"leaseDurationSeconds\":3600}}", r_nodes[i], rv,
			subnets[rand_r(seed) % 4], r_nodes[i]);
}

static void r_fresh(const struct r_state *st, uint64_t now,
		    struct r_kernel *out)
{
	struct model_cfg cfg = { .node = SELF, .dev_ifindex = 9 };
	struct model *m = model_new(&cfg);
	size_t i;

	model_set_local_subnets(m, locals, st->n_locals);
	for (i = 0; i < R_SVCS; i++)
		if (st->svc[i])
			r_feed(m, model_on_service, KAPI_ADDED, st->svc[i]);
	for (i = 0; i < R_SLICES; i++)
		if (st->slice[i])
			r_feed(m, model_on_slice, KAPI_ADDED, st->slice[i]);
	for (i = 0; i < R_NODES; i++) {
		if (st->node[i])
			r_feed(m, model_on_node, KAPI_ADDED, st->node[i]);
		if (st->lease[i])
			r_feed(m, model_on_lease, KAPI_ADDED, st->lease[i]);
	}
	memset(out, 0, sizeof(*out));
	model_update(m, now, NULL, NULL);
	model_each_held(m, r_held, out);
	r_sort(out);
	model_free(m);
}

static void test_random(void)
{
	struct model_cfg cfg = { .node = SELF, .dev_ifindex = 9 };
	struct model *m = model_new(&cfg);
	struct r_state st = { .n_locals = 4 };
	struct r_kernel kernel = { 0 }, held, fresh;
	unsigned int seed = 12345;
	size_t step, bad = 0, max_held = 0, changes = 0;
	int rv = 1;
	FILE *quiet = fopen("/dev/null", "w");

	/* thousands of "annotation ignored" warnings otherwise */
	if (quiet)
		log_init(LOG_LOGFMT, 0, quiet);
	model_set_local_subnets(m, locals, st.n_locals);
	for (step = 0; step < 3000 && !bad; step++) {
		size_t i, burst = 1 + (size_t)rand_r(&seed) % 3;

		while (burst--) {
			int what = rand_r(&seed) % 20;
			bool del = rand_r(&seed) % 5 == 0;

			if (what < 6) {
				i = (size_t)rand_r(&seed) % R_SVCS;
				r_event(m, &st.svc[i], model_on_service,
					del ? NULL : r_service(&seed, i));
			} else if (what < 11) {
				i = (size_t)rand_r(&seed) % R_SLICES;
				r_event(m, &st.slice[i], model_on_slice,
					del ? NULL : r_slice(&seed, i));
			} else if (what < 15) {
				i = (size_t)rand_r(&seed) % R_NODES;
				r_event(m, &st.node[i], model_on_node,
					del && i ? NULL : r_node(&seed, i));
			} else if (what < 19) {
				i = (size_t)rand_r(&seed) % R_NODES;
				r_event(m, &st.lease[i], model_on_lease,
					del ? NULL : r_lease(&seed, i, rv++));
			} else {
				st.n_locals = (size_t)rand_r(&seed) % 5;
				model_set_local_subnets(m, locals,
							st.n_locals);
			}
		}
		changes += model_update(m, T0 + step, r_apply, &kernel);
		memset(&held, 0, sizeof(held));
		model_each_held(m, r_held, &held);
		r_sort(&held);
		r_sort(&kernel);
		r_fresh(&st, T0 + step, &fresh);
		if (held.n > max_held)
			max_held = held.n;
		if (!r_equal(&held, &fresh) || !r_equal(&held, &kernel)) {
			bad++;
			tap_diag("step %zu: incremental %zu, fresh %zu, "
				 "callbacks %zu", step, held.n, fresh.n,
				 kernel.n);
			for (i = 0; i < held.n; i++)
				tap_diag("  incremental: %s", held.line[i]);
			for (i = 0; i < fresh.n; i++)
				tap_diag("  fresh:       %s", fresh.line[i]);
			for (i = 0; i < kernel.n; i++)
				tap_diag("  callbacks:   %s", kernel.line[i]);
		}
	}
	ok(!bad && max_held >= 5,
	   "random: %zu steps of random events, incremental decisions and "
	   "their callbacks equal a from-scratch model (%zu changes, up to "
	   "%zu held)", step, changes, max_held);
	/* and a full relist of the same state changes nothing */
	model_on_service(m, KAPI_LIST_BEGIN, NULL);
	for (size_t i = 0; i < R_SVCS; i++)
		if (st.svc[i])
			r_feed(m, model_on_service, KAPI_ADDED, st.svc[i]);
	model_on_service(m, KAPI_LIST_END, NULL);
	ok(model_update(m, T0 + step, r_apply, &kernel) == 0,
	   "random: relisting the same Services changes nothing");
	for (size_t i = 0; i < R_NODES; i++) {
		free(st.node[i]);
		free(st.lease[i]);
	}
	for (size_t i = 0; i < R_SVCS; i++)
		free(st.svc[i]);
	for (size_t i = 0; i < R_SLICES; i++)
		free(st.slice[i]);
	model_free(m);
	if (quiet) {
		log_init(LOG_LOGFMT, 0, NULL);
		fclose(quiet);
	}
}

/* --------------------------------------------------------- benchmark */

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Texts of the objects to feed, generated before timing. */
struct texts {
	char **v;
	void (**fn)(void *, enum kapi_event, const cJSON *);
	size_t n;
};

static void text_add(struct texts *t,
		     void (*fn)(void *, enum kapi_event, const cJSON *),
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void text_add(struct texts *t,
		     void (*fn)(void *, enum kapi_event, const cJSON *),
		     const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	t->v[t->n] = p;
	t->fn[t->n++] = fn;
}

static void bench_feed(struct model *m,
		       void (*fn)(void *, enum kapi_event, const cJSON *),
		       const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (j)
		fn(m, KAPI_ADDED, j);
	cJSON_Delete(j);
}

static size_t bench_held;

static void bench_cb(void *data, const struct decision *d)
{
	(void)data;
	bench_held += d->hold;
}

static void test_bench(void)
{
	enum { SVCS = 10000, NODES = 1000 };
	struct model_cfg cfg = { .node = "node-0", .dev_ifindex = 9 };
	struct local_subnet ls = {
		.net = { .family = AF_INET, .addr.b = { 10, 0, 0, 0 },
			 .plen = 16 },
		.ifindex = 2, .ifname = "eth0" };
	struct model *m = model_new(&cfg);
	struct texts tx = { 0 };
	double parse, t, t_feed, t_upd, worst = 0;
	char buf[2048];
	struct rusage ru;
	size_t n, i, heap;

	tx.v = calloc(2 * (SVCS + NODES), sizeof(*tx.v));
	tx.fn = calloc(2 * (SVCS + NODES), sizeof(*tx.fn));
	if (!m || !tx.v || !tx.fn) {
		ok(0, "bench: out of memory");
		goto out;
	}
	model_set_local_subnets(m, &ls, 1);
	for (i = 0; i < NODES; i++) {
		text_add(&tx, model_on_node,
			 "{\"metadata\":{\"name\":\"node-%zu\",\"labels\":{"
			 "\"kubernetes.io/hostname\":\"node-%zu\"}},"
			 "\"status\":{\"conditions\":[{\"type\":\"Ready\","
			 "\"status\":\"True\"},{\"type\":\"NetworkUnavailable\","
			 "\"status\":\"False\"}]}}", i, i);
		text_add(&tx, model_on_lease,
			 "{\"metadata\":{\"namespace\":\"" NS "\",\"name\":"
			 "\"kubelb-node-node-%zu\",\"resourceVersion\":\"%zu\","
			 "\"annotations\":{\"kubelb.io/subnets\":"
			 "\"10.0.0.0/16,fd00::/64\"}},\"spec\":{"
			 "\"holderIdentity\":\"node-%zu\","
			 "\"leaseDurationSeconds\":4,\"renewTime\":"
			 "\"2025-01-01T00:00:00.000000Z\"}}", i, i, i);
	}
	/* half on-link, half routed; every other one ETP Local with three
	 * endpoint nodes */
	for (i = 0; i < SVCS; i++) {
		bool onlink = i % 2, local = (i / 2) % 2;

		text_add(&tx, model_on_service,
			 "{\"metadata\":{\"namespace\":\"ns-%zu\",\"name\":"
			 "\"svc-%zu\",\"annotations\":{\"kubelb.io/aggregation\":"
			 "\"/24\"}},\"spec\":{\"type\":\"LoadBalancer\","
			 "\"externalTrafficPolicy\":\"%s\",\"ports\":[{\"port\":"
			 "80,\"protocol\":\"TCP\"}]},\"status\":{\"loadBalancer\":"
			 "{\"ingress\":[{\"ip\":\"%s.%zu.%zu\",\"ipMode\":"
			 "\"VIP\"}]}}}", i % 100, i, local ? "Local" : "Cluster",
			 onlink ? "10.0" : "172.16", i / 250, i % 250 + 1);
		text_add(&tx, model_on_slice,
			 "{\"metadata\":{\"namespace\":\"ns-%zu\",\"name\":"
			 "\"svc-%zu-abcde\",\"labels\":{"
			 "\"kubernetes.io/service-name\":\"svc-%zu\"}},"
			 "\"endpoints\":["
			 "{\"addresses\":[\"10.244.1.1\"],\"nodeName\":\"node-%zu\","
			 "\"conditions\":{\"ready\":true}},"
			 "{\"addresses\":[\"10.244.1.2\"],\"nodeName\":\"node-%zu\","
			 "\"conditions\":{\"ready\":true}},"
			 "{\"addresses\":[\"10.244.1.3\"],\"nodeName\":\"node-%zu\","
			 "\"conditions\":{\"ready\":true}}]}",
			 i % 100, i, i, (i * 7) % NODES, (i * 13 + 1) % NODES,
			 (i * 31 + 2) % NODES);
	}
	t = cpu_secs();
	for (i = 0; i < tx.n; i++)
		cJSON_Delete(cJSON_Parse(tx.v[i]));
	parse = cpu_secs() - t;
	heap = mallinfo2().uordblks;
	t = cpu_secs();
	for (i = 0; i < tx.n; i++)
		bench_feed(m, tx.fn[i], tx.v[i]);
	t_feed = cpu_secs() - t;
	t = cpu_secs();
	bench_held = 0;
	n = model_update(m, T0, bench_cb, NULL);
	t_upd = cpu_secs() - t;
	heap = mallinfo2().uordblks - heap;
	getrusage(RUSAGE_SELF, &ru);
	tap_diag("bench: 10k Services + 10k slices + 1k Nodes/Leases: "
		 "JSON parse %.3f s, kobj+model %.3f s, first "
		 "model_update %.3f s (%zu decisions, %zu held); model heap "
		 "%.1f MB (0: sanitizer allocator), test maxrss %ld MB",
		 parse, t_feed - parse, t_upd, n, bench_held,
		 heap / 1048576.0, ru.ru_maxrss / 1024);
	ok(n == bench_held && n > SVCS / 4,
	   "bench: first update reports what we hold (%zu)", n);

	/* 1,000 lease renewals: O(1) each */
	t = secs();
	for (i = 0; i < NODES; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"metadata\":{\"namespace\":\"" NS "\",\"name\":"
			 "\"kubelb-node-node-%zu\",\"resourceVersion\":\"r%zu\","
			 "\"annotations\":{\"kubelb.io/subnets\":"
			 "\"10.0.0.0/16,fd00::/64\"}},\"spec\":{"
			 "\"holderIdentity\":\"node-%zu\","
			 "\"leaseDurationSeconds\":4,\"renewTime\":"
			 "\"2025-01-01T00:00:01.000000Z\"}}", i, i, i);
		bench_feed(m, model_on_lease, buf);
		n = model_update(m, T0 + 1000, bench_cb, NULL);
		if (n)
			break;
	}
	tap_diag("bench: 1000 lease renewals, each with model_update: "
		 "%.1f us per renewal", (secs() - t) * 1e6 / NODES);
	ok(n == 0, "bench: renewals change nothing");

	/* single Service events: p99-ish of event + update */
	for (i = 0; i < 200; i++) {
		double t1 = secs(), dt;

		snprintf(buf, sizeof(buf),
			 "{\"metadata\":{\"namespace\":\"ns-%zu\",\"name\":"
			 "\"svc-%zu\"},\"spec\":{\"type\":\"LoadBalancer\"},"
			 "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
			 "\"10.0.%zu.%zu\"}]}}}", i % 100, i * 37 % SVCS,
			 200 + i / 200, i % 200 + 1);
		bench_feed(m, model_on_service, buf);
		model_update(m, T0 + 2000, bench_cb, NULL);
		dt = secs() - t1;
		if (dt > worst)
			worst = dt;
	}
	tap_diag("bench: Service event + model_update: worst of 200 %.3f ms",
		 worst * 1e3);

	/* a peer goes NotReady: affects only the IPs it blocked or we hold */
	t = secs();
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"node-1\"},\"status\":{"
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
	bench_feed(m, model_on_node, buf);
	n = model_update(m, T0 + 3000, bench_cb, NULL);
	tap_diag("bench: a peer NotReady: %.3f ms, %zu changes",
		 (secs() - t) * 1e3, n);
	/* our own node NotReady: everything is recomputed */
	t = secs();
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"node-0\"},\"status\":{"
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
	bench_feed(m, model_on_node, buf);
	n = model_update(m, T0 + 4000, bench_cb, NULL);
	tap_diag("bench: this node NotReady: %.3f ms, %zu changes",
		 (secs() - t) * 1e3, n);
	ok(n_held(m) == 0 && model_stats(m)->held_local == 0 &&
	   model_stats(m)->held_virtual == 0,
	   "bench: this node NotReady releases everything");
out:
	t = cpu_secs();
	model_free(m);
	tap_diag("bench: model_free %.3f s", cpu_secs() - t);
	for (i = 0; i < tx.n; i++)
		free(tx.v[i]);
	free(tx.v);
	free(tx.fn);
}

void test_model(void)
{
	test_hash();
	test_onlink_cluster();
	test_liveness();
	test_etp_local();
	test_shared();
	test_routed_aggr();
	test_filters();
	test_relist_and_noop();
	test_static();
	test_random();
	test_bench();
}
