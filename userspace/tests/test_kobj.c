// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Kubernetes objects -> compact structs, including malformed shapes. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "agent.h"
#include "tap.h"

static bool ip_is(const struct ingress_ip *ip, const char *text)
{
	union kubelb_addr a;
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	memset(&a, 0, sizeof(a));
	inet_pton(fam, text, &a);
	return ip->family == fam &&
	       !memcmp(&ip->addr, &a, fam == AF_INET ? 4 : 16);
}

static struct k8s_service *svc(const char *json, char *err, size_t len)
{
	cJSON *j = cJSON_Parse(json);
	struct k8s_service *s;

	err[0] = '\0';
	if (!j) {
		snprintf(err, len, "test JSON does not parse");
		return NULL;
	}
	s = kobj_service(j, err, len);
	cJSON_Delete(j);
	return s;
}

static void test_service(void)
{
	struct k8s_service *s;
	char err[256];

	s = svc("{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"shop\","
		"\"name\":\"web\",\"annotations\":{\"kubelb.io/aggregation\":"
		"\"/24,/64\",\"kubelb.io/announcing-IPv4\":\"n1,eth0\"}},"
		"\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":"
		"\"kubelb\",\"externalTrafficPolicy\":\"Local\"},"
		"\"status\":{\"loadBalancer\":{\"ingress\":["
		"{\"ip\":\"192.0.2.10\"},{\"ip\":\"2001:db8::10\",\"ipMode\":"
		"\"VIP\"},{\"ip\":\"192.0.2.11\",\"ipMode\":\"Proxy\"},"
		"{\"hostname\":\"lb.example\"},{\"ip\":\"not-an-ip\"}]}}}",
		err, sizeof(err));
	ok(s != NULL, "service: full object parses (%s)", err);
	if (s) {
		ok(!strcmp(s->key, "shop/web"), "service: key %s", s->key);
		ok(s->load_balancer && s->etp_local &&
		   s->lb_class && !strcmp(s->lb_class, "kubelb"),
		   "service: type, policy and class");
		ok(s->aggr_v4 == 24 && s->aggr_v6 == 64 && !s->aggr_error,
		   "service: aggregation /24,/64 -> %d, %d",
		   s->aggr_v4, s->aggr_v6);
		ok(s->announcing_v4 && !strcmp(s->announcing_v4, "n1,eth0") &&
		   !s->announcing_v6, "service: announcing annotations");
		ok(s->n_ingress == 2 && ip_is(&s->ingress[0], "192.0.2.10") &&
		   ip_is(&s->ingress[1], "2001:db8::10"),
		   "service: ingress keeps v4 and v6 IPs, skips Proxy, "
		   "hostname-only and unparsable entries (%zu)", s->n_ingress);
	}
	kobj_service_free(s);

	/* list items carry no kind; defaults for everything optional */
	s = svc("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"}}",
		err, sizeof(err));
	ok(s && !s->load_balancer && !s->etp_local && !s->lb_class &&
	   s->aggr_v4 == -1 && s->aggr_v6 == -1 && !s->n_ingress,
	   "service: bare metadata gives defaults (%s)", err);
	kobj_service_free(s);

	s = svc("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		"\"annotations\":{\"kubelb.io/aggregation\":\"/24\"}},"
		"\"spec\":{\"type\":\"LoadBalancer\","
		"\"externalTrafficPolicy\":\"Cluster\"},\"status\":null}",
		err, sizeof(err));
	ok(s && s->aggr_v4 == 24 && s->aggr_v6 == -1 && !s->etp_local,
	   "service: \"/24\" is IPv4 only; null status is no status");
	kobj_service_free(s);

	static const struct {
		const char *value, *why;
		int v4, v6;
	} aggr[] = {
		{ ",/64", NULL, -1, 64 },
		{ " /20 , /56 ", NULL, 20, 56 },
		{ "/33", "too long", -1, -1 },
		{ "/24,/129", "too long", -1, -1 },
		{ "24", "expected /LEN", -1, -1 },
		{ "/0", "default route", -1, -1 },
		{ "/24,/64,/64", "more than two", -1, -1 },
		{ "/2x", "expected /LEN", -1, -1 },
		{ "/", "expected /LEN", -1, -1 },
		{ "", NULL, -1, -1 },
	};
	for (size_t i = 0; i < sizeof(aggr) / sizeof(aggr[0]); i++) {
		char json[512];

		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
			 "\"annotations\":{\"kubelb.io/aggregation\":\"%s\"}}}",
			 aggr[i].value);
		s = svc(json, err, sizeof(err));
		ok(s && s->aggr_v4 == aggr[i].v4 && s->aggr_v6 == aggr[i].v6 &&
		   (aggr[i].why ? s->aggr_error &&
				  strstr(s->aggr_error, aggr[i].why)
				: !s->aggr_error),
		   "service: aggregation \"%s\" -> %d, %d, reason \"%s\"",
		   aggr[i].value, s ? s->aggr_v4 : -9, s ? s->aggr_v6 : -9,
		   s && s->aggr_error ? s->aggr_error : "");
		kobj_service_free(s);
	}

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "[]", "not a JSON object" },
		{ "\"x\"", "not a JSON object" },
		{ "{}", "metadata.name missing" },
		{ "{\"metadata\":[]}", "metadata: expected an object" },
		{ "{\"metadata\":{\"name\":7}}",
		  "metadata.name: expected a string" },
		{ "{\"metadata\":{\"name\":\"x\"}}",
		  "metadata.namespace missing" },
		{ "{\"kind\":\"Node\",\"metadata\":{\"namespace\":\"a\","
		  "\"name\":\"b\"}}", "kind is Node, expected Service" },
		{ "{\"kind\":5,\"metadata\":{}}", "kind: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":\"LoadBalancer\"}", "spec: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"type\":true}}", "spec.type: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"externalTrafficPolicy\":[]}}",
		  "spec.externalTrafficPolicy: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"annotations\":{\"kubelb.io/aggregation\":24}}}",
		  "metadata.annotations[\"kubelb.io/aggregation\"]: "
		  "expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"annotations\":\"x\"}}",
		  "metadata.annotations: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"status\":{\"loadBalancer\":{\"ingress\":{}}}}",
		  "status.loadBalancer.ingress: expected an array" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"status\":{\"loadBalancer\":{\"ingress\":[\"1.2.3.4\"]}}}",
		  "status.loadBalancer.ingress[0]: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
		  "\"1.2.3.4\"},{\"ip\":[1]}]}}}",
		  "status.loadBalancer.ingress[1].ip: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
		  "\"1.2.3.4\",\"ipMode\":1}]}}}",
		  "status.loadBalancer.ingress[0].ipMode: expected a string" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = svc(bad[i].json, err, sizeof(err));
		ok(!s && strstr(err, bad[i].err),
		   "service: malformed %s -> \"%s\"", bad[i].json, err);
		kobj_service_free(s);
	}
	ok(kobj_service(NULL, err, sizeof(err)) == NULL,
	   "service: NULL object -> error \"%s\"", err);
}

static void test_key_subnet(void)
{
	cJSON *j;
	char *k;
	struct subnet sn;
	union kubelb_addr a;

	j = cJSON_Parse("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"n\"}}");
	k = kobj_key(j);
	ok(k && !strcmp(k, "ns/n"), "key: namespace/name: %s", k);
	free(k);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"metadata\":{\"name\":\"node1\"}}");
	k = kobj_key(j);
	ok(k && !strcmp(k, "node1"), "key: cluster-scoped is the name: %s", k);
	free(k);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"metadata\":{\"name\":3}}");
	ok(!kobj_key(j) && !kobj_key(NULL), "key: none without a name");
	cJSON_Delete(j);

	ok(!subnet_parse("10.1.2.3/16", &sn) && sn.family == AF_INET &&
	   sn.plen == 16 && sn.addr.b[0] == 10 && sn.addr.b[1] == 1 &&
	   !sn.addr.b[2] && !sn.addr.b[3], "subnet: v4 parsed and masked");
	inet_pton(AF_INET, "10.1.255.1", &a);
	ok(subnet_contains(&sn, AF_INET, &a), "subnet: contains 10.1.255.1");
	inet_pton(AF_INET, "10.2.0.1", &a);
	ok(!subnet_contains(&sn, AF_INET, &a), "subnet: not 10.2.0.1");
	ok(!subnet_contains(&sn, AF_INET6, &a), "subnet: not another family");
	ok(!subnet_parse("2001:db8:1::5/61", &sn) && sn.family == AF_INET6 &&
	   sn.plen == 61 && sn.addr.b[7] == 0, "subnet: v6 /61 masked");
	inet_pton(AF_INET6, "2001:db8:1:7::1", &a);
	ok(subnet_contains(&sn, AF_INET6, &a), "subnet: /61 contains :7::");
	inet_pton(AF_INET6, "2001:db8:1:8::1", &a);
	ok(!subnet_contains(&sn, AF_INET6, &a), "subnet: /61 not :8::");
	ok(!subnet_parse("0.0.0.0/0", &sn) && sn.plen == 0 &&
	   !subnet_contains(&sn, AF_INET6, &a),
	   "subnet: /0 parses (and holds no IPv6)");
	inet_pton(AF_INET, "203.0.113.9", &a);
	ok(subnet_contains(&sn, AF_INET, &a), "subnet: /0 holds any IPv4");
	static const char *const bad[] = {
		"10.0.0.0", "10.0.0.0/33", "/24", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/2a", "x/8", "2001:db8::/129", "10.0.0.0/ 8",
		"10.0.0.0/99999999999999999999",
		"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:1111/64",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(subnet_parse(bad[i], &sn) < 0, "subnet: \"%s\" rejected",
		   bad[i]);
	ok(subnet_parse(NULL, &sn) < 0, "subnet: NULL rejected");
}

static void *parse_with(void *(*fn)(const cJSON *, char *, size_t),
			const char *json, char *err, size_t len)
{
	cJSON *j = cJSON_Parse(json);
	void *r;

	err[0] = '\0';
	r = j ? fn(j, err, len) : NULL;
	cJSON_Delete(j);
	return r;
}

static void *slice_fn(const cJSON *j, char *e, size_t l)
{
	return kobj_slice(j, e, l);
}

static void *node_fn(const cJSON *j, char *e, size_t l)
{
	return kobj_node(j, e, l);
}

static void *lease_fn(const cJSON *j, char *e, size_t l)
{
	return kobj_lease(j, e, l);
}

static void test_slice(void)
{
	struct k8s_slice *s;
	char err[256];

	s = parse_with(slice_fn,
		"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"shop\","
		"\"name\":\"web-abc\",\"labels\":{\"kubernetes.io/service-name\":"
		"\"web\"}},\"endpoints\":["
		"{\"nodeName\":\"n1\"},"
		"{\"nodeName\":\"n2\",\"conditions\":{\"ready\":false}},"
		"{\"nodeName\":\"n3\",\"conditions\":{\"ready\":false,"
		"\"serving\":true,\"terminating\":true}},"
		"{\"nodeName\":\"n4\",\"conditions\":{\"ready\":false,"
		"\"serving\":false}},"
		"{\"nodeName\":\"n1\",\"conditions\":{\"ready\":true}},"
		"{\"addresses\":[\"10.0.0.1\"]}]}", err, sizeof(err));
	ok(s != NULL, "slice: parses (%s)", err);
	if (s) {
		ok(!strcmp(s->key, "shop/web-abc") && s->service &&
		   !strcmp(s->service, "shop/web"), "slice: key and service");
		/* n2: ready false, serving absent = true */
		ok(s->n_nodes == 3 && !strcmp(s->nodes[0], "n1") &&
		   !strcmp(s->nodes[1], "n2") && !strcmp(s->nodes[2], "n3"),
		   "slice: nodes of ready or serving endpoints, once each, "
		   "none without nodeName (%zu)", s->n_nodes);
	}
	kobj_slice_free(s);

	s = parse_with(slice_fn, "{\"metadata\":{\"namespace\":\"a\","
		       "\"name\":\"b\"},\"endpoints\":null}", err, sizeof(err));
	ok(s && !s->service && !s->n_nodes,
	   "slice: no service label, no endpoints");
	kobj_slice_free(s);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"metadata\":{\"name\":\"b\"}}", "namespace missing" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"labels\":[]}}", "metadata.labels: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"labels\":{\"kubernetes.io/service-name\":1}}}",
		  "expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"endpoints\":{}}", "endpoints: expected an array" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"endpoints\":[3]}", "endpoints[0]: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"endpoints\":[{\"nodeName\":{}}]}",
		  "endpoints[0].nodeName: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"endpoints\":[{\"conditions\":[]}]}",
		  "endpoints[0].conditions: expected an object" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"endpoints\":[{\"conditions\":{\"ready\":\"true\"}}]}",
		  "endpoints[0].conditions.ready: expected true or false" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"a\","
		  "\"name\":\"b\"}}", "expected EndpointSlice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = parse_with(slice_fn, bad[i].json, err, sizeof(err));
		ok(!s && strstr(err, bad[i].err),
		   "slice: malformed %s -> \"%s\"", bad[i].json, err);
		kobj_slice_free(s);
	}
}

static void test_node(void)
{
	struct k8s_node *n;
	char err[256];

	n = parse_with(node_fn,
		"{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"labels\":"
		"{\"node.kubernetes.io/exclude-from-external-load-balancers\":"
		"\"\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\","
		"\"status\":\"True\"},{\"type\":\"NetworkUnavailable\","
		"\"status\":\"True\"},{\"type\":\"MemoryPressure\","
		"\"status\":\"False\"}]}}", err, sizeof(err));
	ok(n && !strcmp(n->name, "n1") && n->ready &&
	   n->network_unavailable && n->excluded,
	   "node: Ready, NetworkUnavailable, excluded label (%s)", err);
	kobj_node_free(n);

	n = parse_with(node_fn,
		"{\"metadata\":{\"name\":\"n2\"},\"status\":{\"conditions\":["
		"{\"type\":\"Ready\",\"status\":\"Unknown\"},"
		"{\"type\":\"NetworkUnavailable\",\"status\":\"False\"},"
		"{\"status\":\"True\"}]}}", err, sizeof(err));
	ok(n && !n->ready && !n->network_unavailable && !n->excluded,
	   "node: Ready Unknown is not ready");
	kobj_node_free(n);

	n = parse_with(node_fn, "{\"metadata\":{\"name\":\"n3\"}}",
		       err, sizeof(err));
	ok(n && !n->ready, "node: no conditions is not ready");
	kobj_node_free(n);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"metadata\":{}}", "metadata.name missing" },
		{ "{\"metadata\":{\"name\":\"\"}}", "metadata.name missing" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":"
		  "{}}}", "status.conditions: expected an array" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":"
		  "[null]}}", "status.conditions[0]: expected an object" },
		{ "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":"
		  "[{\"type\":\"Ready\",\"status\":true}]}}",
		  "status.conditions[0].status: expected a string" },
		{ "{\"metadata\":{\"name\":\"n\",\"labels\":7}}",
		  "metadata.labels: expected an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = parse_with(node_fn, bad[i].json, err, sizeof(err));
		ok(!n && strstr(err, bad[i].err),
		   "node: malformed %s -> \"%s\"", bad[i].json, err);
		kobj_node_free(n);
	}
}

static void test_lease(void)
{
	struct k8s_lease *l;
	char err[256];

	l = parse_with(lease_fn,
		"{\"kind\":\"Lease\",\"metadata\":{\"namespace\":\"kubelb-system\","
		"\"name\":\"kubelb-node-n1\",\"resourceVersion\":\"42\","
		"\"annotations\":{\"kubelb.io/subnets\":"
		"\"10.0.0.0/24, fd00::/64,bogus,192.168.1.7/16\"}},"
		"\"spec\":{\"holderIdentity\":\"n1\",\"leaseDurationSeconds\":4,"
		"\"renewTime\":\"2025-01-01T00:00:00.123456Z\"}}",
		err, sizeof(err));
	ok(l != NULL, "lease: parses (%s)", err);
	if (l) {
		ok(!strcmp(l->key, "kubelb-system/kubelb-node-n1") &&
		   !strcmp(l->name, "kubelb-node-n1") &&
		   !strcmp(l->holder, "n1") && l->duration_s == 4 &&
		   !strcmp(l->renew_time, "2025-01-01T00:00:00.123456Z") &&
		   !strcmp(l->resource_version, "42"),
		   "lease: key, holder, duration, renewTime, RV");
		ok(l->n_subnets == 3 && l->subnets[0].plen == 24 &&
		   l->subnets[1].family == AF_INET6 &&
		   l->subnets[2].plen == 16 && l->subnets[2].addr.b[2] == 0,
		   "lease: subnets parsed, bad entry skipped (%zu)",
		   l->n_subnets);
	}
	kobj_lease_free(l);

	l = parse_with(lease_fn, "{\"metadata\":{\"namespace\":\"a\","
		       "\"name\":\"b\"},\"spec\":{\"holderIdentity\":null}}",
		       err, sizeof(err));
	ok(l && !l->holder && !l->duration_s && !l->renew_time &&
	   !l->n_subnets, "lease: released lease (null holder)");
	kobj_lease_free(l);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"leaseDurationSeconds\":\"4\"}}",
		  "spec.leaseDurationSeconds: expected a number" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"leaseDurationSeconds\":-1}}", "not a duration" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"leaseDurationSeconds\":1.5}}", "not a duration" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"leaseDurationSeconds\":1e300}}",
		  "not a duration" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		  "\"spec\":{\"holderIdentity\":1}}",
		  "spec.holderIdentity: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"resourceVersion\":5}}",
		  "metadata.resourceVersion: expected a string" },
		{ "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		  "\"annotations\":{\"kubelb.io/subnets\":[]}}}",
		  "expected a string" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = parse_with(lease_fn, bad[i].json, err, sizeof(err));
		ok(!l && strstr(err, bad[i].err),
		   "lease: malformed %s -> \"%s\"", bad[i].json, err);
		kobj_lease_free(l);
	}
}

/* Every object shape the parsers meet with a field of each wrong type. */
static void test_fuzzish(void)
{
	static const char *const values[] = {
		"null", "1", "\"s\"", "[]", "{}", "true", "[1,{}]",
		"{\"a\":[]}",
	};
	static const char *const templates[] = {
		"{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		"\"spec\":%s,\"status\":%s}",
		"{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		"\"labels\":%s,\"annotations\":%s}}",
		"{\"metadata\":%s,\"status\":{\"loadBalancer\":%s}}",
		"{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		"\"endpoints\":[{\"nodeName\":%s,\"conditions\":%s}]}",
		"{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		"\"status\":{\"conditions\":[{\"type\":%s,\"status\":%s}],"
		"\"loadBalancer\":{\"ingress\":[{\"ip\":%s}]}}}",
	};
	size_t t, a, b, runs = 0;
	char json[512], err[256];

	for (t = 0; t < sizeof(templates) / sizeof(templates[0]); t++)
		for (a = 0; a < sizeof(values) / sizeof(values[0]); a++)
			for (b = 0; b < sizeof(values) / sizeof(values[0]); b++) {
				cJSON *j;

				snprintf(json, sizeof(json), templates[t],
					 values[a], values[b], values[b]);
				j = cJSON_Parse(json);
				if (!j)
					continue;
				kobj_service_free(kobj_service(j, err, 256));
				kobj_slice_free(kobj_slice(j, err, 256));
				kobj_node_free(kobj_node(j, err, 256));
				kobj_lease_free(kobj_lease(j, err, 256));
				free(kobj_key(j));
				cJSON_Delete(j);
				runs++;
			}
	ok(runs == 320, "kobj: %zu malformed shapes, no crash or leak", runs);
}

void test_kobj(void)
{
	test_service();
	test_key_subnet();
	test_slice();
	test_node();
	test_lease();
	test_fuzzish();
}
