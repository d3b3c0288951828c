// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Kubernetes objects (cJSON) -> the compact structs the model keeps.
 *
 * The model never holds on to a cJSON tree: a Service is a few hundred
 * bytes here against tens of kilobytes as parsed JSON.
 *
 * Shapes: an absent or null field takes its default; a field present with
 * the wrong JSON type makes the whole object unusable, with the field's
 * path in err ("spec.type: expected a string"), because guessing what a
 * malformed object meant could make the node announce the wrong thing.
 * Per-entry problems that the API documents as possible are skipped
 * instead: an ingress entry with only a hostname, an endpoint without a
 * nodeName.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"

/* Largest endpoints[] we look at; the API caps a slice at 1000. */
#define SLICE_ENDPOINTS_MAX	1000
/* Largest number of subnets we take from a peer's Lease. */
#define LEASE_SUBNETS_MAX	64

/*
 * Typed lookups of parent.name. *out is NULL when the field is absent or
 * null; a present field of another type is an error naming it, after
 * path, the parent's own path ("" at the top).
 */
static const char *type_name(int type)
{
	switch (type) {
	case cJSON_Object:
		return "an object";
	case cJSON_Array:
		return "an array";
	case cJSON_String:
		return "a string";
	case cJSON_Number:
		return "a number";
	case cJSON_True | cJSON_False:
		return "true or false";
	}
	return "another type";
}

static int get_typed(const cJSON *parent, const char *name, int type,
		     const char *path, const cJSON **out,
		     char *err, size_t errlen)
{
	const cJSON *v;

	*out = NULL;
	if (!parent)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(parent, name);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!(v->type & type)) {
		agent_err(err, errlen, "%s%s%s: expected %s", path,
		       *path ? "." : "", name, type_name(type));
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int get_obj(const cJSON *p, const char *name, const char *path,
		   const cJSON **out, char *err, size_t errlen)
{
	return get_typed(p, name, cJSON_Object, path, out, err, errlen);
}

static int get_arr(const cJSON *p, const char *name, const char *path,
		   const cJSON **out, char *err, size_t errlen)
{
	return get_typed(p, name, cJSON_Array, path, out, err, errlen);
}

static int get_str(const cJSON *p, const char *name, const char *path,
		   const char **out, char *err, size_t errlen)
{
	const cJSON *v;
	int ret;

	ret = get_typed(p, name, cJSON_String, path, &v, err, errlen);
	*out = v ? v->valuestring : NULL;
	return ret;
}

static int get_bool(const cJSON *p, const char *name, const char *path,
		    bool dflt, bool *out, char *err, size_t errlen)
{
	const cJSON *v;
	int ret;

	ret = get_typed(p, name, cJSON_True | cJSON_False, path, &v,
			err, errlen);
	*out = v ? cJSON_IsTrue(v) : dflt;
	return ret;
}

/* An annotation or label value: must be a string when present. */
static int get_meta_str(const cJSON *map, const char *mapname,
			const char *key, const char **out,
			char *err, size_t errlen)
{
	const cJSON *v;

	*out = NULL;
	if (!map)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(map, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		agent_err(err, errlen, "metadata.%s[\"%s\"]: expected a string",
		       mapname, key);
		return -EINVAL;
	}
	*out = v->valuestring;
	return 0;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/*
 * metadata of obj: name required, namespace required when namespaced.
 * kind, when present, must be kind (list items carry none).
 */
static int get_meta(const cJSON *obj, const char *kind, bool namespaced,
		    const cJSON **meta, const char **ns, const char **name,
		    char *err, size_t errlen)
{
	const char *k;

	if (!cJSON_IsObject(obj)) {
		agent_err(err, errlen, "%s: not a JSON object", kind);
		return -EINVAL;
	}
	if (get_str(obj, "kind", "", &k, err, errlen))
		return -EINVAL;
	if (k && strcmp(k, kind)) {
		agent_err(err, errlen, "kind is %s, expected %s", k, kind);
		return -EINVAL;
	}
	if (get_obj(obj, "metadata", "", meta, err, errlen) ||
	    get_str(*meta, "name", "metadata", name, err, errlen) ||
	    get_str(*meta, "namespace", "metadata", ns,
		    err, errlen))
		return -EINVAL;
	if (!nonempty(*name)) {
		agent_err(err, errlen, "%s: metadata.name missing", kind);
		return -EINVAL;
	}
	if (namespaced && !nonempty(*ns)) {
		agent_err(err, errlen, "%s %s: metadata.namespace missing",
		       kind, *name);
		return -EINVAL;
	}
	return 0;
}

static char *join_key(const char *ns, const char *name)
{
	size_t a = strlen(ns), b = strlen(name);
	char *k = malloc(a + b + 2);

	if (!k)
		return NULL;
	memcpy(k, ns, a);
	k[a] = '/';
	memcpy(k + a + 1, name, b + 1);
	return k;
}

char *kobj_key(const cJSON *obj)
{
	const cJSON *meta, *name, *ns;

	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
	if (!cJSON_IsString(name) || !*name->valuestring)
		return NULL;
	/* cluster-scoped objects (Nodes) are keyed by name alone */
	if (!cJSON_IsString(ns) || !*ns->valuestring)
		return strdup(name->valuestring);
	return join_key(ns->valuestring, name->valuestring);
}

/* IPv4 or IPv6 text -> family and address; false if neither. */
static bool parse_ip(const char *s, uint16_t *family, union kubelb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a->v6) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static void mask_addr(uint16_t family, union kubelb_addr *a, unsigned plen)
{
	unsigned int bytes = family == AF_INET ? 4 : 16;
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		a->b[i] &= (uint8_t)(0xff00u >> plen);
		plen = 0;
	}
}

int subnet_parse(const char *s, struct subnet *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	char *end;
	unsigned long plen;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || slash == s)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (!parse_ip(buf, &out->family, &out->addr))
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end ||
	    plen > (out->family == AF_INET ? 32u : 128u)) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->plen = (uint8_t)plen;
	mask_addr(out->family, &out->addr, out->plen);
	return 0;
}

bool subnet_contains(const struct subnet *s, uint16_t family,
		     const union kubelb_addr *addr)
{
	unsigned int full, rest;

	if (s->family != family)
		return false;
	full = s->plen / 8;
	rest = s->plen % 8;
	if (memcmp(s->addr.b, addr->b, full))
		return false;
	return !rest || !((s->addr.b[full] ^ addr->b[full]) &
			  (uint8_t)(0xff00u >> rest));
}

/* ------------------------------------------------------------- Service */

void kobj_service_free(struct k8s_service *s)
{
	if (!s)
		return;
	free(s->key);
	free(s->lb_class);
	free(s->announcing_v4);
	free(s->announcing_v6);
	free(s->ingress);
	free(s);
}

static bool dup_opt(const char *src, char **dst)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

/* One "/N" of the aggregation annotation; "" means not set. */
static const char *parse_aggr_item(const char *p, size_t n, unsigned max,
				   int *out)
{
	unsigned int v = 0;
	size_t i;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*out = -1;
	if (!n)
		return NULL;
	if (p[0] != '/' || n < 2 || n > 4)
		return "expected /LEN";
	for (i = 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return "expected /LEN";
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	if (v == 0)
		return "/0 would advertise a default route";
	if (v > max)
		return "prefix length too long for the family";
	*out = (int)v;
	return NULL;
}

/*
 * ANN_AGGREGATION: "/24" (IPv4) or "/24,/64" (IPv4, then IPv6); an empty
 * item leaves that family unset (",/64"). Returns NULL or why the value
 * is ignored, in which case both are -1.
 */
static const char *parse_aggregation(const char *v, int *v4, int *v6)
{
	const char *comma, *why;

	*v4 = *v6 = -1;
	if (!v)
		return NULL;
	comma = strchr(v, ',');
	if (comma && strchr(comma + 1, ','))
		why = "more than two prefix lengths";
	else if (!comma)
		why = parse_aggr_item(v, strlen(v), 32, v4);
	else if (!(why = parse_aggr_item(v, (size_t)(comma - v), 32, v4)))
		why = parse_aggr_item(comma + 1, strlen(comma + 1), 128, v6);
	if (why)
		*v4 = *v6 = -1;
	return why;
}

static int service_ingress(struct k8s_service *s, const cJSON *obj,
			   char *err, size_t errlen)
{
	const cJSON *status, *lb, *ingress, *e;
	size_t n = 0, i = 0;

	if (get_obj(obj, "status", "", &status, err, errlen) ||
	    get_obj(status, "loadBalancer", "status", &lb,
		    err, errlen) ||
	    get_arr(lb, "ingress", "status.loadBalancer", &ingress,
		    err, errlen))
		return -EINVAL;
	cJSON_ArrayForEach(e, ingress)
		n++;
	if (!n)
		return 0;
	s->ingress = calloc(n, sizeof(*s->ingress));
	if (!s->ingress) {
		agent_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, ingress) {
		const char *ip, *mode;
		char path[64];

		i++;
		snprintf(path, sizeof(path),
			 "status.loadBalancer.ingress[%zu]", i - 1);
		if (!cJSON_IsObject(e)) {
			agent_err(err, errlen, "%s: expected an object", path);
			return -EINVAL;
		}
		/* hostname-only entries are legitimate: skipped */
		if (get_str(e, "ip", path, &ip, err, errlen) ||
		    get_str(e, "ipMode", path, &mode, err, errlen))
			return -EINVAL;
		if (!ip || (mode && !strcmp(mode, "Proxy")))
			continue;
		if (!parse_ip(ip, &s->ingress[s->n_ingress].family,
			      &s->ingress[s->n_ingress].addr))
			continue;
		s->n_ingress++;
	}
	return 0;
}

struct k8s_service *kobj_service(const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *meta, *spec, *ann;
	const char *ns, *name, *type, *cls, *etp, *aggr, *a4, *a6;
	struct k8s_service *s;

	if (get_meta(obj, "Service", true, &meta, &ns, &name, err, errlen) ||
	    get_obj(meta, "annotations", "metadata", &ann,
		    err, errlen) ||
	    get_obj(obj, "spec", "", &spec, err, errlen) ||
	    get_str(spec, "type", "spec", &type, err, errlen) ||
	    get_str(spec, "loadBalancerClass", "spec", &cls,
		    err, errlen) ||
	    get_str(spec, "externalTrafficPolicy", "spec", &etp, err, errlen) ||
	    get_meta_str(ann, "annotations", ANN_AGGREGATION, &aggr,
			 err, errlen) ||
	    get_meta_str(ann, "annotations", ANN_ANNOUNCING_V4, &a4,
			 err, errlen) ||
	    get_meta_str(ann, "annotations", ANN_ANNOUNCING_V6, &a6,
			 err, errlen))
		return NULL;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->load_balancer = type && !strcmp(type, "LoadBalancer");
	s->etp_local = etp && !strcmp(etp, "Local");
	s->aggr_error = parse_aggregation(aggr, &s->aggr_v4, &s->aggr_v6);
	s->key = join_key(ns, name);
	if (!s->key || !dup_opt(cls, &s->lb_class) ||
	    !dup_opt(a4, &s->announcing_v4) ||
	    !dup_opt(a6, &s->announcing_v6))
		goto nomem;
	if (service_ingress(s, obj, err, errlen)) {
		kobj_service_free(s);
		return NULL;
	}
	return s;
nomem:
	kobj_service_free(s);
	agent_err(err, errlen, "out of memory");
	return NULL;
}

/* ------------------------------------------------------- EndpointSlice */

void kobj_slice_free(struct k8s_slice *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_nodes; i++)
		free(s->nodes[i]);
	free(s->nodes);
	free(s->key);
	free(s->service);
	free(s);
}

static bool slice_has_node(const struct k8s_slice *s, const char *node)
{
	size_t i;

	for (i = 0; i < s->n_nodes; i++)
		if (!strcmp(s->nodes[i], node))
			return true;
	return false;
}

/* nodeName of every endpoint that is ready or serving, once each. */
static int slice_nodes(struct k8s_slice *s, const cJSON *obj,
		       char *err, size_t errlen)
{
	const cJSON *eps, *e;
	size_t n = 0, i = 0;

	if (get_arr(obj, "endpoints", "", &eps, err, errlen))
		return -EINVAL;
	cJSON_ArrayForEach(e, eps)
		n++;
	if (n > SLICE_ENDPOINTS_MAX) {
		agent_err(err, errlen, "endpoints: %zu entries, at most %d",
		       n, SLICE_ENDPOINTS_MAX);
		return -EINVAL;
	}
	if (!n)
		return 0;
	s->nodes = calloc(n, sizeof(*s->nodes));
	if (!s->nodes) {
		agent_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, eps) {
		const cJSON *cond;
		const char *node;
		bool ready, serving;
		char path[64], cpath[80];

		snprintf(path, sizeof(path), "endpoints[%zu]", i++);
		snprintf(cpath, sizeof(cpath), "%s.conditions", path);
		if (!cJSON_IsObject(e)) {
			agent_err(err, errlen, "%s: expected an object", path);
			return -EINVAL;
		}
		if (get_str(e, "nodeName", path, &node, err, errlen) ||
		    get_obj(e, "conditions", path, &cond, err, errlen) ||
		    get_bool(cond, "ready", cpath, true, &ready, err, errlen) ||
		    get_bool(cond, "serving", cpath, true, &serving,
			     err, errlen))
			return -EINVAL;
		if (!nonempty(node) || !(ready || serving) ||
		    slice_has_node(s, node))
			continue;
		s->nodes[s->n_nodes] = strdup(node);
		if (!s->nodes[s->n_nodes]) {
			agent_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		s->n_nodes++;
	}
	return 0;
}

/*
 * service is NULL when the slice carries no LABEL_SERVICE_NAME: it then
 * belongs to no Service (the model still tracks it, so that a later
 * label change is seen as a move).
 */
struct k8s_slice *kobj_slice(const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *meta, *labels;
	const char *ns, *name, *svc;
	struct k8s_slice *s;

	if (get_meta(obj, "EndpointSlice", true, &meta, &ns, &name,
		     err, errlen) ||
	    get_obj(meta, "labels", "metadata", &labels, err, errlen) ||
	    get_meta_str(labels, "labels", LABEL_SERVICE_NAME, &svc,
			 err, errlen))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->key = join_key(ns, name);
	if (!s->key)
		goto nomem;
	if (nonempty(svc)) {
		s->service = join_key(ns, svc);
		if (!s->service)
			goto nomem;
	}
	if (slice_nodes(s, obj, err, errlen)) {
		kobj_slice_free(s);
		return NULL;
	}
	return s;
nomem:
	kobj_slice_free(s);
	agent_err(err, errlen, "out of memory");
	return NULL;
}

/* ---------------------------------------------------------------- Node */

void kobj_node_free(struct k8s_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n);
}

struct k8s_node *kobj_node(const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *meta, *labels, *status, *conds, *c, *excl;
	const char *ns, *name;
	struct k8s_node *n;
	bool ready = false, nu = false;
	size_t i = 0;

	if (get_meta(obj, "Node", false, &meta, &ns, &name, err, errlen) ||
	    get_obj(meta, "labels", "metadata", &labels, err, errlen) ||
	    get_obj(obj, "status", "", &status, err, errlen) ||
	    get_arr(status, "conditions", "status", &conds,
		    err, errlen))
		return NULL;
	cJSON_ArrayForEach(c, conds) {
		const char *type, *st;
		char path[64];

		snprintf(path, sizeof(path), "status.conditions[%zu]", i++);
		if (!cJSON_IsObject(c)) {
			agent_err(err, errlen, "%s: expected an object", path);
			return NULL;
		}
		if (get_str(c, "type", path, &type, err, errlen) ||
		    get_str(c, "status", path, &st, err, errlen))
			return NULL;
		if (!type || !st)
			continue;
		if (!strcmp(type, "Ready"))
			ready = !strcmp(st, "True");
		else if (!strcmp(type, "NetworkUnavailable"))
			nu = !strcmp(st, "True");
	}
	/* present with any value, even "", excludes the node */
	excl = labels ? cJSON_GetObjectItemCaseSensitive(labels,
							 LABEL_EXCLUDE_LB)
		      : NULL;

	n = calloc(1, sizeof(*n));
	if (n)
		n->name = strdup(name);
	if (!n || !n->name) {
		kobj_node_free(n);
		agent_err(err, errlen, "out of memory");
		return NULL;
	}
	n->ready = ready;
	n->network_unavailable = nu;
	n->excluded = excl != NULL;
	return n;
}

/* --------------------------------------------------------------- Lease */

void kobj_lease_free(struct k8s_lease *l)
{
	if (!l)
		return;
	free(l->key);
	free(l->name);
	free(l->holder);
	free(l->renew_time);
	free(l->resource_version);
	free(l->subnets);
	free(l);
}

/*
 * ANN_LEASE_SUBNETS: comma separated CIDRs. An entry that does not parse
 * is skipped: the peer is then simply not on that subnet.
 */
static int lease_subnets(struct k8s_lease *l, const char *v)
{
	const char *p = v;
	size_t n = 1;

	if (!nonempty(v))
		return 0;
	for (p = v; *p; p++)
		n += *p == ',';
	if (n > LEASE_SUBNETS_MAX)
		n = LEASE_SUBNETS_MAX;
	l->subnets = calloc(n, sizeof(*l->subnets));
	if (!l->subnets)
		return -ENOMEM;
	for (p = v; *p && l->n_subnets < n;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char buf[INET6_ADDRSTRLEN + 8];
		size_t a = 0, b = len;

		while (a < b && (p[a] == ' ' || p[a] == '\t'))
			a++;
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
			b--;
		if (b - a < sizeof(buf)) {
			memcpy(buf, p + a, b - a);
			buf[b - a] = '\0';
			if (!subnet_parse(buf, &l->subnets[l->n_subnets]))
				l->n_subnets++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

struct k8s_lease *kobj_lease(const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *meta, *ann, *spec, *dur;
	const char *ns, *name, *rv, *holder, *renew, *subnets;
	struct k8s_lease *l;

	if (get_meta(obj, "Lease", true, &meta, &ns, &name, err, errlen) ||
	    get_str(meta, "resourceVersion", "metadata", &rv,
		    err, errlen) ||
	    get_obj(meta, "annotations", "metadata", &ann,
		    err, errlen) ||
	    get_meta_str(ann, "annotations", ANN_LEASE_SUBNETS, &subnets,
			 err, errlen) ||
	    get_obj(obj, "spec", "", &spec, err, errlen) ||
	    get_str(spec, "holderIdentity", "spec", &holder,
		    err, errlen) ||
	    get_str(spec, "renewTime", "spec", &renew,
		    err, errlen) ||
	    get_typed(spec, "leaseDurationSeconds",
		      cJSON_Number, "spec", &dur,
		      err, errlen))
		return NULL;
	if (dur && (dur->valuedouble < 0 || dur->valuedouble > 86400 * 365 ||
		    dur->valuedouble != (double)(int)dur->valuedouble)) {
		agent_err(err, errlen,
		       "spec.leaseDurationSeconds: %g is not a duration",
		       dur->valuedouble);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		goto nomem;
	l->duration_s = dur ? (int)dur->valuedouble : 0;
	l->key = join_key(ns, name);
	l->name = strdup(name);
	if (!l->key || !l->name || !dup_opt(holder, &l->holder) ||
	    !dup_opt(renew, &l->renew_time) ||
	    !dup_opt(rv, &l->resource_version) ||
	    lease_subnets(l, subnets))
		goto nomem;
	return l;
nomem:
	kobj_lease_free(l);
	agent_err(err, errlen, "out of memory");
	return NULL;
}
