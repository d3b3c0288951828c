// SPDX-License-Identifier: GPL-2.0 OR MIT
/* --services FILE: kubectl's JSON shapes, re-reads, and broken files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "tap.h"

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

struct q {
	size_t n;
	char ips[512];
};

static int held_cb(void *data, const struct decision *d)
{
	struct q *q = data;
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(d->family, &d->addr, ip, sizeof(ip));
	q->n++;
	strcat(q->ips, ip);
	strcat(q->ips, " ");
	return 0;
}

/* Held IPs after an update, as text. */
static const char *held(struct model *m, size_t *changes)
{
	static struct q q;

	*changes = model_update(m, 1000, NULL, NULL);
	memset(&q, 0, sizeof(q));
	model_each_held(m, held_cb, &q);
	return q.ips;
}

/* spec: the fields after "type":"LoadBalancer", or another type */
#define SVC(ns, name, ip, spec) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{" \
	"\"namespace\":\"" ns "\",\"name\":\"" name "\"},\"spec\":{" \
	spec "},\"status\":{\"loadBalancer\":" \
	"{\"ingress\":[{\"ip\":\"" ip "\"}]}}}"
#define LB "\"type\":\"LoadBalancer\""
#define NODE(name) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" \
	name "\"},\"status\":{\"conditions\":[{\"type\":\"Ready\"," \
	"\"status\":\"True\"}]}}"

void test_staticsrc(void)
{
	struct model_cfg cfg = { .node = "self", .no_leases = true };
	struct model *m = model_new(&cfg);
	const char *p, *h;
	char err[256];
	size_t n;
	int ret;

	snprintf(dir, sizeof(dir), "/tmp/kubelb-staticsrc-XXXXXX");
	if (!mkdtemp(dir)) {
		ok(0, "staticsrc: mkdtemp: %s", strerror(errno));
		model_free(m);
		return;
	}

	/* kubectl get svc -A -o json */
	p = write_file("list.json",
		"{\"apiVersion\":\"v1\",\"items\":[\n"
		SVC("a", "one", "198.51.100.1", LB) ",\n"
		SVC("b", "two", "2001:db8::2", LB) ",\n"
		SVC("c", "cip", "198.51.100.3", "\"type\":\"ClusterIP\"") "\n"
		"],\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"}}\n");
	ret = staticsrc_load(p, m, err, sizeof(err));
	h = held(m, &n);
	ok(!ret && n == 2 && strstr(h, "198.51.100.1 ") &&
	   strstr(h, "2001:db8::2 "),
	   "staticsrc: kubectl List of Services, no Nodes -> this node holds "
	   "both LoadBalancer IPs (%s)", h);

	/* a typed ServiceList straight from the API: items without kind */
	p = write_file("typed.json",
		"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":"
		"{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":{"
		"\"namespace\":\"a\",\"name\":\"one\"},\"spec\":{\"type\":"
		"\"LoadBalancer\"},\"status\":{\"loadBalancer\":{\"ingress\":"
		"[{\"ip\":\"198.51.100.1\"}]}}}]}");
	ret = staticsrc_load(p, m, err, sizeof(err));
	h = held(m, &n);
	ok(!ret && n == 1 && !strcmp(h, "198.51.100.1 "),
	   "staticsrc: ServiceList without item kinds; a re-read drops "
	   "what the file no longer has (%s)", h);

	/* kubectl get svc,nodes,endpointslices -A -o json: mixed List;
	 * the Node list does not contain us */
	p = write_file("mixed.json",
		"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
		SVC("a", "one", "198.51.100.1", LB) ","
		SVC("a", "local", "198.51.100.9",
		    LB ",\"externalTrafficPolicy\":\"Local\"") ","
		NODE("other") ","
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
		"\"EndpointSlice\",\"metadata\":{\"namespace\":\"a\",\"name\":"
		"\"local-x\",\"labels\":{\"kubernetes.io/service-name\":"
		"\"local\"}},\"endpoints\":[{\"nodeName\":\"self\"}]},"
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
		"\"namespace\":\"a\",\"name\":\"cm\"}}]}");
	ret = staticsrc_load(p, m, err, sizeof(err));
	h = held(m, &n);
	ok(!ret && n == 1 && !*h,
	   "staticsrc: mixed List whose Node list lacks this node -> "
	   "nothing held; ConfigMap ignored (%s)", err);

	/* several documents: Services, then a NodeList with us */
	p = write_file("multi.json",
		SVC("a", "one", "198.51.100.1", LB) "\n"
		"{\"kind\":\"NodeList\",\"items\":[{\"metadata\":{\"name\":"
		"\"self\"},\"status\":{\"conditions\":[{\"type\":\"Ready\","
		"\"status\":\"True\"}]}}]}\n"
		"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
		SVC("a", "local", "198.51.100.9",
		    LB ",\"externalTrafficPolicy\":\"Local\"") "]}"
		"{\"kind\":\"EndpointSliceList\",\"items\":[{\"metadata\":{"
		"\"namespace\":\"a\",\"name\":\"local-x\",\"labels\":{"
		"\"kubernetes.io/service-name\":\"local\"}},\"endpoints\":["
		"{\"nodeName\":\"self\"}]}]}  \n\n");
	ret = staticsrc_load(p, m, err, sizeof(err));
	h = held(m, &n);
	ok(!ret && n == 2 && strstr(h, "198.51.100.1 ") &&
	   strstr(h, "198.51.100.9 "),
	   "staticsrc: concatenated documents (Service, NodeList, List, "
	   "EndpointSliceList) -> both held (%s %s)", h, err);

	/* broken files: error with the reason, model untouched */
	static const struct {
		const char *name, *text, *err;
	} bad[] = {
		{ "trunc.json", "{\"kind\":\"List\",\"items\":[" SVC("a", "one",
		  "198.51.100.1", LB), "not valid JSON at byte" },
		{ "garbage.json", "{\"kind\":\"List\",\"items\":[]}\nhello",
		  "not valid JSON at byte 27 (line 2)" },
		{ "empty.json", " \n", "empty" },
		{ "array.json", "[1,2]", "document 1 at byte 0 is not a JSON "
		  "object" },
		{ "noitems.json", "{\"kind\":\"ServiceList\"}",
		  "without an items array" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = write_file(bad[i].name, bad[i].text);
		err[0] = '\0';
		ret = staticsrc_load(p, m, err, sizeof(err));
		h = held(m, &n);
		ok(ret < 0 && strstr(err, bad[i].err) && n == 0 &&
		   strstr(h, "198.51.100.9 "),
		   "staticsrc: %s -> \"%s\", model untouched", bad[i].name,
		   err);
	}
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/missing.json", dir);
		ret = staticsrc_load(path, m, err, sizeof(err));
		ok(ret == -ENOENT && strstr(err, "missing.json: No such file"),
		   "staticsrc: missing file -> \"%s\"", err);
	}
	ret = staticsrc_load(dir, m, err, sizeof(err));
	ok(ret == -EISDIR && strstr(err, "Is a directory"),
	   "staticsrc: a directory -> \"%s\"", err);
	h = held(m, &n);
	ok(n == 0 && strstr(h, "198.51.100.9 "),
	   "staticsrc: after all the errors the last good state stands");

	/* back to a file without Nodes: this node alone again */
	p = write_file("list.json",
		"{\"kind\":\"List\",\"items\":["
		SVC("a", "one", "198.51.100.1", LB) "]}");
	ret = staticsrc_load(p, m, err, sizeof(err));
	h = held(m, &n);
	ok(!ret && n == 1 && !strcmp(h, "198.51.100.1 "),
	   "staticsrc: Nodes absent on re-read -> no Node list, this node "
	   "holds (%s)", h);

	model_free(m);
	{
		static const char *const names[] = {
			"list.json", "typed.json", "mixed.json", "multi.json",
			"trunc.json", "garbage.json", "empty.json",
			"array.json", "noitems.json",
		};
		char path[128];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
}
