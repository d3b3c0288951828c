// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The cluster as this agent sees it, and what this node should hold for
 * each load-balancer IP.
 *
 * What an IP's decision depends on
 * --------------------------------
 * An IP is one VIP however many Services list it in
 * status.loadBalancer.ingress (allow-shared-ip). Only handled Services
 * count: type LoadBalancer and spec.loadBalancerClass equal to --lb-class
 * (both unset by default). The decision names the first of them in key
 * order.
 *
 * Eligibility of a node N for the IP is the union over the Services S
 * sharing it of "N is eligible for S":
 *
 *   base(N)  and  (S is ETP Cluster  or  N hosts a ready/serving endpoint
 *                  of S)
 *
 * so: if ANY sharing Service is ETP Cluster, every node that passes base()
 * is eligible; if all of them are ETP Local, exactly the nodes hosting an
 * endpoint of at least one of them are. base(N) is: in the Node list,
 * Ready, not NetworkUnavailable, not labelled LABEL_EXCLUDE_LB, and alive.
 *
 *  - On-link IP (inside one of this node's interface subnets, longest
 *    prefix first; subnets on cfg.dev_ifindex, the kubelb device, never
 *    count): mode local on that interface, /32 or /128, held by
 *    the eligible node first in sha256(node "#" ip) order among those on
 *    the same subnet (a peer's subnets come from its Lease annotation).
 *  - Routed IP: mode virtual, held whenever this node is eligible. The
 *    prefix is the aggregation length when a sharing Service is ETP
 *    Cluster (the first --aggregate rule containing the IP, else the
 *    first Service in key order that is ETP Cluster and carries a valid
 *    ANN_AGGREGATION for the family, else /32 or /128); when all of them
 *    are ETP Local it is always /32 or /128, since an aggregate route
 *    would draw traffic for the IP to nodes without an endpoint.
 *
 * Liveness (kube-api mode) follows client-go: a node is alive while its
 * Lease LEASE_PREFIX<node> has a holder, a duration, and changed
 * (renewTime, holder, duration or resourceVersion) less than the duration
 * ago by OUR clock. "When it changed" is the now of the model_update()
 * that first processes the event, so the model has no clock of its own.
 * While model_set_contact() says we cannot reach the API, expiry is frozen
 * at the instant contact was lost (a lease seen to change during the
 * outage is alive); when contact returns every node that was alive at the
 * freeze restarts its clock then, so nobody is declared dead on stale
 * information, and nodes already dead stay dead. This node is alive
 * whenever we are in contact, otherwise by its own lease like anyone.
 * The model starts in contact.
 *
 * Static mode (cfg.no_leases) has no Leases: every node in the Node list
 * is alive and on every subnet of ours, and when there are no Nodes at all
 * (no Node list, or an empty one: a real cluster always has one) this
 * node alone is eligible, Ready.
 *
 * Incremental work
 * ----------------
 * IPs live in a hash table on family+address, each with the handled
 * Services that reference it, and a dirty flag. An event only marks dirty
 * what it can affect:
 *  - a Service event: its old and new IPs, and nothing when nothing the
 *    decision reads changed (the reporter's own annotation writes);
 *  - an EndpointSlice event: the IPs of its Service, if that is ETP Local;
 *  - a Node or Lease event: nothing, unless the node's base() or subnets
 *    actually changed (a renewal costs O(1)). Then, for this node, every
 *    IP; for a peer P, the on-link IPs where P was the node found ranking
 *    before us, and those we hold where P now ranks before us (one hash
 *    each; when many peers changed at once, every on-link IP we hold);
 *  - our subnets changing, or contact changing our own liveness: every IP.
 * model_update() recomputes the dirty IPs and reports the decisions that
 * changed (hold, mode, link, prefix or Service while held).
 *
 * The election computes our own hash once per IP and walks the eligible
 * candidates (all base() nodes, or for all-Local IPs the endpoint nodes)
 * until one ranks before us: we then know we lose, and remember that node
 * as the IP's blocker. As long as the blocker stays eligible nothing that
 * happens to other nodes can make us win, which is what lets a peer's
 * change touch only a few IPs: each node lists the IPs it blocks, and the
 * model lists the on-link IPs we hold, so a peer's change costs those
 * lists, not a walk of the table. Each IP starts the walk at its own place
 * in the candidate array, so that no single node blocks most IPs. With N
 * candidates this takes about ln(N) hashes per IP we lose and N per IP we
 * win.
 *
 * decision.winner: our node name when we hold a local IP. When a change
 * reports that we stopped holding one, the real winner is computed (one
 * pass over the candidates, N hashes; we hold about 1/N of the on-link
 * IPs, so this stays near one hash per IP even when all are released at
 * once) so the log line names it; "" when no node is eligible or the IP
 * is routed. The winner of an IP we neither held nor hold is never
 * computed: such IPs are not reported.
 *
 * Stats: elections_won / elections_lost count the times this node started
 * / stopped holding an on-link IP; held_local / held_virtual are the IPs
 * held now.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"

struct node_ent;
struct svc_ent;

struct slice_ent {
	struct svc_ent *svc;		/* NULL: no service-name label */
	struct slice_ent *prev, *next;	/* in svc->slices */
	bool on_self;			/* an endpoint is on this node */
	uint32_t n_nodes;
	struct node_ent *nodes[];
};

struct svc_ent {
	struct k8s_service *svc;	/* in m->services; NULL if none */
	struct slice_ent *slices;
	uint32_t n_slices;
	uint32_t self_slices;		/* slices with an endpoint here */
	uint32_t vip_refs;		/* IPs listing this Service */
	bool in_gc;
	struct svc_ent *gc_next;
	char key[];
};

struct node_ent {
	struct node_ent *all_prev, *all_next;
	struct node_ent *refresh_next, *changed_next, *gc_next;
	const struct k8s_node *node;	/* in m->nodes; NULL if absent */
	const struct k8s_lease *lease;	/* in m->leases; NULL if absent */
	uint64_t observed;		/* our clock when the lease changed */
	size_t elig_idx;		/* in m->elig while base_ok */
	uint32_t slice_refs;
	bool base_ok;
	bool in_refresh, changed, lease_pending, in_gc;
	const char *why_not;		/* why !base_ok */
	struct vip *blocked;		/* IPs it is the blocker of */
	char name[];
};

struct vip {
	struct vip *hnext, *dnext;
	union kubelb_addr addr;
	uint16_t family;
	bool dirty, have_hash;
	/* the decision last reported */
	bool hold, onlink;
	uint8_t mode, prefixlen;
	uint32_t link;
	char ifname[IF_NAMESIZE];
	struct svc_ent *pub_svc;	/* while held */
	const char *why;
	struct node_ent *blocker;	/* ranks before us (lost election) */
	struct vip *blk_next, **blk_pprev;	/* in blocker->blocked */
	struct vip *hl_next, **hl_pprev;	/* in m->held_local */
	uint32_t n_svcs, cap_svcs;
	struct svc_ent **svcs;
	struct svc_ent *one_svc;	/* svcs storage while cap_svcs == 1 */
	uint8_t hash[32];		/* sha256(our node "#" ip) */
};

struct model {
	struct model_cfg cfg;
	char *node_name, *lb_class;
	struct aggr_rule *aggr;

	struct store *services;		/* key -> handled k8s_service */
	struct store *slices;		/* key -> slice_ent */
	struct store *nodes;		/* name -> k8s_node */
	struct store *leases;		/* key -> k8s_lease (ours only) */
	struct store *svc_idx;		/* Service key -> svc_ent */
	struct store *node_idx;		/* name -> node_ent */

	struct node_ent *self;
	struct node_ent *all_nodes;
	struct node_ent **elig;		/* nodes with base_ok */
	size_t n_elig, cap_elig;
	struct node_ent *refresh, *changed, *node_gc;
	struct svc_ent *svc_gc;
	size_t n_node_objs;
	bool static_had_nodes;

	struct vip **vtab;
	size_t vtab_size, n_vips;
	struct vip *dirty;
	bool all_dirty;
	struct vip *held_local;		/* on-link IPs we hold */

	struct local_subnet *local;
	size_t n_local;

	bool in_contact;
	uint64_t frozen_at;
	uint64_t expiry_min;	/* no liveness change before (may be early) */

	struct model_stats stats;
};

static const char WHY_NO_SERVICE[] = "no handled Service uses the IP";
static const char WHY_NO_ENDPOINT[] =
	"externalTrafficPolicy Local and no ready or serving endpoint here";
static const char WHY_ELECTED[] = "elected: first eligible node by hash";
static const char WHY_LOST[] = "another eligible node ranks first";
static const char WHY_ROUTED[] = "routed, this node is eligible";
static const char WHY_ROUTED_LOCAL[] =
	"routed, externalTrafficPolicy Local with an endpoint here";
static const char WHY_ROUTED_RULE[] =
	"routed, aggregated by an --aggregate rule";
static const char WHY_ROUTED_ANN[] =
	"routed, aggregated by the " ANN_AGGREGATION " annotation";
static const char WHY_ROUTED_BADANN[] =
	"routed, invalid " ANN_AGGREGATION " annotation ignored";
static const char WHY_NOT_LISTED[] = "this node is not in the Node list";
static const char WHY_NOT_READY[] = "this node is not Ready";
static const char WHY_NET_UNAVAIL[] = "this node is NetworkUnavailable";
static const char WHY_EXCLUDED[] =
	"this node is labelled " LABEL_EXCLUDE_LB;
static const char WHY_NO_LEASE[] = "this node has no Lease";
static const char WHY_RELEASED[] = "this node's Lease is released";
static const char WHY_EXPIRED[] = "this node's Lease expired";

static unsigned int addr_bits(uint16_t family)
{
	return family == AF_INET ? 32 : 128;
}

static void warn_object(const char *kind, const cJSON *obj, const char *err)
{
	char *key = kobj_key(obj);

	alog(LOG_WARN, "ignoring unusable object", "kind", kind,
	     "object", key ? key : "?", "error", err, NULL);
	free(key);
}

/* ----------------------------------------------------------- node_ent */

static void node_free(void *p)
{
	free(p);
}

static struct node_ent *node_get(struct model *m, const char *name,
				 bool create)
{
	struct node_ent *ne = store_get(m->node_idx, name);
	size_t len;

	if (ne || !create)
		return ne;
	len = strlen(name);
	ne = calloc(1, sizeof(*ne) + len + 1);
	if (!ne)
		return NULL;
	memcpy(ne->name, name, len + 1);
	ne->why_not = WHY_NOT_LISTED;
	if (store_put(m->node_idx, ne->name, ne))
		return NULL;	/* freed by store_put */
	ne->all_next = m->all_nodes;
	if (m->all_nodes)
		m->all_nodes->all_prev = ne;
	m->all_nodes = ne;
	return ne;
}

/* Its state must be re-evaluated at the next model_update(). */
static void node_touch(struct model *m, struct node_ent *ne)
{
	if (ne->in_refresh)
		return;
	ne->in_refresh = true;
	ne->refresh_next = m->refresh;
	m->refresh = ne;
}

static void node_maybe_gc(struct model *m, struct node_ent *ne)
{
	if (ne->in_gc || ne == m->self)
		return;
	ne->in_gc = true;
	ne->gc_next = m->node_gc;
	m->node_gc = ne;
}

/* base() or subnets of ne changed: mark what it can affect. */
static void node_changed(struct model *m, struct node_ent *ne)
{
	if (ne == m->self) {
		m->all_dirty = true;
		return;
	}
	if (ne->changed)
		return;
	ne->changed = true;
	ne->changed_next = m->changed;
	m->changed = ne;
}

static int elig_add(struct model *m, struct node_ent *ne)
{
	if (m->n_elig == m->cap_elig) {
		size_t cap = m->cap_elig ? m->cap_elig * 2 : 64;
		struct node_ent **p = realloc(m->elig, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->elig = p;
		m->cap_elig = cap;
	}
	ne->elig_idx = m->n_elig;
	m->elig[m->n_elig++] = ne;
	return 0;
}

static void elig_del(struct model *m, struct node_ent *ne)
{
	struct node_ent *last = m->elig[--m->n_elig];

	m->elig[ne->elig_idx] = last;
	last->elig_idx = ne->elig_idx;
}

static uint64_t lease_ms(const struct k8s_lease *l)
{
	return (uint64_t)l->duration_s * 1000;
}

static bool lease_usable(const struct k8s_lease *l)
{
	return l && l->holder && *l->holder && l->duration_s > 0;
}

/* NULL when alive, else why not. */
static const char *node_dead(const struct model *m,
			     const struct node_ent *ne, uint64_t now)
{
	uint64_t eff = now;

	/*
	 * We never judge ourselves dead: while in contact our Lease is
	 * being renewed, and out of contact every clock is paused. (A node
	 * cut off from the API but not from its clients keeps serving;
	 * stepping down would turn every API outage into an outage.)
	 */
	if (ne == m->self)
		return NULL;
	if (!ne->lease)
		return WHY_NO_LEASE;
	if (!lease_usable(ne->lease))
		return WHY_RELEASED;
	if (!m->in_contact && m->frozen_at < eff)
		eff = m->frozen_at;
	return ne->observed + lease_ms(ne->lease) > eff ? NULL : WHY_EXPIRED;
}

/* NULL when base() holds, else why not. */
static const char *node_base(const struct model *m,
			     const struct node_ent *ne, uint64_t now)
{
	if (m->cfg.no_leases && !m->n_node_objs)
		return ne == m->self ? NULL : WHY_NOT_LISTED;
	if (!ne->node)
		return WHY_NOT_LISTED;
	if (!ne->node->ready)
		return WHY_NOT_READY;
	if (ne->node->network_unavailable)
		return WHY_NET_UNAVAIL;
	if (ne->node->excluded)
		return WHY_EXCLUDED;
	if (m->cfg.no_leases)
		return NULL;
	return node_dead(m, ne, now);
}

static void node_refresh(struct model *m, struct node_ent *ne, uint64_t now)
{
	const char *why;
	bool ok;

	if (ne->lease_pending) {
		ne->lease_pending = false;
		ne->observed = now;
		if (lease_usable(ne->lease) && ne != m->self &&
		    now + lease_ms(ne->lease) < m->expiry_min)
			m->expiry_min = now + lease_ms(ne->lease);
	}
	why = node_base(m, ne, now);
	ok = !why;
	ne->why_not = why;
	if (ok == ne->base_ok)
		return;
	if (ok && elig_add(m, ne)) {
		alog(LOG_ERROR, "out of memory", "node", ne->name, NULL);
		return;
	}
	if (!ok)
		elig_del(m, ne);
	ne->base_ok = ok;
	node_changed(m, ne);
}

/* ne is on the subnet of an on-link IP. */
static bool node_on_subnet(const struct model *m, const struct node_ent *ne,
			   const struct vip *v)
{
	size_t i;

	if (ne == m->self || m->cfg.no_leases)
		return true;
	if (!ne->lease)
		return false;
	for (i = 0; i < ne->lease->n_subnets; i++)
		if (subnet_contains(&ne->lease->subnets[i], v->family,
				    &v->addr))
			return true;
	return false;
}

/* ------------------------------------------------------------ svc_ent */

static struct svc_ent *svc_get(struct model *m, const char *key,
			       bool create)
{
	struct svc_ent *se = store_get(m->svc_idx, key);
	size_t len;

	if (se || !create)
		return se;
	len = strlen(key);
	se = calloc(1, sizeof(*se) + len + 1);
	if (!se)
		return NULL;
	memcpy(se->key, key, len + 1);
	if (store_put(m->svc_idx, se->key, se))
		return NULL;
	return se;
}

static void svc_maybe_gc(struct model *m, struct svc_ent *se)
{
	if (se->in_gc || se->svc || se->n_slices || se->vip_refs)
		return;
	se->in_gc = true;
	se->gc_next = m->svc_gc;
	m->svc_gc = se;
}

/* ---------------------------------------------------------------- vip */

static uint32_t vip_hash(uint16_t family, const union kubelb_addr *a)
{
	uint32_t h = 2166136261u ^ family;
	unsigned int i, n = family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++) {
		h ^= a->b[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

static bool addr_eq(uint16_t family, const union kubelb_addr *a,
		    const union kubelb_addr *b)
{
	return !memcmp(a->b, b->b, family == AF_INET ? 4 : 16);
}

static struct vip **vip_slot(const struct model *m, uint16_t family,
			     const union kubelb_addr *addr)
{
	struct vip **pp =
		&m->vtab[vip_hash(family, addr) & (m->vtab_size - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->family == family &&
		    addr_eq(family, &(*pp)->addr, addr))
			return pp;
	return pp;
}

static void vtab_grow(struct model *m)
{
	size_t n = m->vtab_size * 2, i;
	struct vip **t = calloc(n, sizeof(*t));

	if (!t)
		return;
	for (i = 0; i < m->vtab_size; i++) {
		struct vip *v = m->vtab[i], *next;

		for (; v; v = next) {
			size_t b = vip_hash(v->family, &v->addr) & (n - 1);

			next = v->hnext;
			v->hnext = t[b];
			t[b] = v;
		}
	}
	free(m->vtab);
	m->vtab = t;
	m->vtab_size = n;
}

static void vip_mark(struct model *m, struct vip *v)
{
	if (v->dirty)
		return;
	v->dirty = true;
	v->dnext = m->dirty;
	m->dirty = v;
}

/* Intrusive lists of IPs: v's entry is (*next, **pprev). */
#define VLIST_DEL(v, next, pprev) do {				\
	if ((v)->pprev) {					\
		*(v)->pprev = (v)->next;			\
		if ((v)->next)					\
			(v)->next->pprev = (v)->pprev;		\
		(v)->next = NULL;				\
		(v)->pprev = NULL;				\
	}							\
} while (0)
#define VLIST_ADD(head, v, next, pprev) do {			\
	(v)->next = (head);					\
	if (head)						\
		(head)->pprev = &(v)->next;			\
	(head) = (v);						\
	(v)->pprev = &(head);					\
} while (0)

static void vip_set_blocker(struct vip *v, struct node_ent *ne)
{
	if (v->blocker == ne)
		return;
	VLIST_DEL(v, blk_next, blk_pprev);
	v->blocker = ne;
	if (ne)
		VLIST_ADD(ne->blocked, v, blk_next, blk_pprev);
}

static void vip_set_held_local(struct model *m, struct vip *v, bool on)
{
	if (on == (v->hl_pprev != NULL))
		return;
	if (on)
		VLIST_ADD(m->held_local, v, hl_next, hl_pprev);
	else
		VLIST_DEL(v, hl_next, hl_pprev);
}

static struct vip *vip_get(struct model *m, uint16_t family,
			   const union kubelb_addr *addr, bool create)
{
	struct vip **pp = vip_slot(m, family, addr), *v = *pp;

	if (v || !create)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->family = family;
	memcpy(&v->addr, addr, sizeof(*addr));
	v->why = WHY_NO_SERVICE;
	*pp = v;
	m->n_vips++;
	if (m->n_vips > m->vtab_size)
		vtab_grow(m);
	return v;
}

static void vip_free(struct vip *v)
{
	if (v->svcs != &v->one_svc)
		free(v->svcs);
	free(v);
}

static void vip_remove(struct model *m, struct vip *v)
{
	struct vip **pp = vip_slot(m, v->family, &v->addr);

	if (*pp == v) {
		*pp = v->hnext;
		m->n_vips--;
	}
	vip_set_blocker(v, NULL);
	vip_set_held_local(m, v, false);
	vip_free(v);
}

static void vip_ref(struct model *m, struct svc_ent *se,
		    const struct ingress_ip *ip)
{
	struct vip *v = vip_get(m, ip->family, &ip->addr, true);
	uint32_t i;

	if (!v) {
		alog(LOG_ERROR, "out of memory", "service", se->key, NULL);
		return;
	}
	vip_mark(m, v);
	for (i = 0; i < v->n_svcs; i++)
		if (v->svcs[i] == se)
			return;	/* listed twice by the Service */
	if (v->n_svcs == v->cap_svcs) {
		struct svc_ent **p;
		uint32_t cap = v->cap_svcs ? v->cap_svcs * 2 : 1;

		if (cap == 1) {
			p = &v->one_svc;
		} else {
			p = malloc(cap * sizeof(*p));
			if (!p) {
				alog(LOG_ERROR, "out of memory", "service",
				     se->key, NULL);
				return;
			}
			memcpy(p, v->svcs, v->n_svcs * sizeof(*p));
			if (v->svcs != &v->one_svc)
				free(v->svcs);
		}
		v->svcs = p;
		v->cap_svcs = cap;
	}
	v->svcs[v->n_svcs++] = se;
	se->vip_refs++;
}

static void vip_unref(struct model *m, struct svc_ent *se,
		      const struct ingress_ip *ip)
{
	struct vip *v = vip_get(m, ip->family, &ip->addr, false);
	uint32_t i;

	if (!v)
		return;
	for (i = 0; i < v->n_svcs; i++) {
		if (v->svcs[i] != se)
			continue;
		v->svcs[i] = v->svcs[--v->n_svcs];
		se->vip_refs--;
		vip_mark(m, v);
		svc_maybe_gc(m, se);
		return;
	}
}

static void svc_mark_ips(struct model *m, const struct svc_ent *se)
{
	size_t i;

	if (!se->svc)
		return;
	for (i = 0; i < se->svc->n_ingress; i++) {
		struct vip *v = vip_get(m, se->svc->ingress[i].family,
					&se->svc->ingress[i].addr, false);

		if (v)
			vip_mark(m, v);
	}
}

/* ------------------------------------------------------------ Services */

static bool handled(const struct model *m, const struct k8s_service *s)
{
	if (!s->load_balancer)
		return false;
	if (!m->lb_class)
		return !s->lb_class;
	return s->lb_class && !strcmp(s->lb_class, m->lb_class);
}

static bool ingress_same(const struct k8s_service *a,
			 const struct k8s_service *b)
{
	size_t i;

	if (a->n_ingress != b->n_ingress)
		return false;
	for (i = 0; i < a->n_ingress; i++)
		if (a->ingress[i].family != b->ingress[i].family ||
		    !addr_eq(a->ingress[i].family, &a->ingress[i].addr,
			     &b->ingress[i].addr))
			return false;
	return true;
}

/* Does anything a decision reads differ? */
static bool service_same(const struct k8s_service *a,
			 const struct k8s_service *b)
{
	return a->etp_local == b->etp_local && a->aggr_v4 == b->aggr_v4 &&
	       a->aggr_v6 == b->aggr_v6 && a->aggr_error == b->aggr_error &&
	       ingress_same(a, b);
}

static void service_detach(struct model *m, struct svc_ent *se)
{
	size_t i;

	if (!se->svc)
		return;
	for (i = 0; i < se->svc->n_ingress; i++)
		vip_unref(m, se, &se->svc->ingress[i]);
	se->svc = NULL;
	svc_maybe_gc(m, se);
}

static void service_gone(const char *key, void *obj, void *data)
{
	struct model *m = data;
	struct svc_ent *se = svc_get(m, key, false);

	(void)obj;
	if (se)
		service_detach(m, se);
}

static void service_put(struct model *m, struct k8s_service *s)
{
	struct k8s_service *old = store_get(m->services, s->key);
	struct svc_ent *se;
	size_t i;

	if (s->aggr_error && (!old || old->aggr_error != s->aggr_error))
		alog(LOG_WARN, "annotation ignored", "service", s->key,
		     "annotation", ANN_AGGREGATION, "reason", s->aggr_error,
		     NULL);
	se = svc_get(m, s->key, true);
	if (!se) {
		alog(LOG_ERROR, "out of memory", "service", s->key, NULL);
		kobj_service_free(s);
		return;
	}
	if (old && service_same(old, s)) {
		se->svc = s;
		/* replacing allocates nothing: cannot fail */
		store_put(m->services, s->key, s);
		return;
	}
	if (!old && store_put(m->services, s->key, s)) {
		alog(LOG_ERROR, "out of memory", "service", se->key, NULL);
		svc_maybe_gc(m, se);
		return;
	}
	service_detach(m, se);
	se->svc = s;
	for (i = 0; i < s->n_ingress; i++)
		vip_ref(m, se, &s->ingress[i]);
	if (old)
		store_put(m->services, s->key, s);
}

static void service_del(struct model *m, const char *key)
{
	struct svc_ent *se = svc_get(m, key, false);

	if (!store_get(m->services, key))
		return;
	if (se)
		service_detach(m, se);
	store_del(m->services, key);
}

void model_on_service(void *mv, enum kapi_event ev, const cJSON *obj)
{
	struct model *m = mv;
	struct k8s_service *s;
	char err[256];
	char *key;

	switch (ev) {
	case KAPI_LIST_BEGIN:
		store_mark_stale(m->services);
		return;
	case KAPI_LIST_END:
		store_sweep(m->services, service_gone, m);
		return;
	case KAPI_ADDED:
	case KAPI_MODIFIED:
		s = kobj_service(obj, err, sizeof(err));
		if (!s) {
			void *old;

			warn_object("Service", obj, err);
			/* keep what we had; a relist must not drop it */
			key = kobj_key(obj);
			old = key ? store_get(m->services, key) : NULL;
			if (old)
				store_put(m->services, key, old);
			free(key);
			return;
		}
		if (handled(m, s)) {
			service_put(m, s);
		} else {
			service_del(m, s->key);
			kobj_service_free(s);
		}
		return;
	case KAPI_DELETED:
		key = kobj_key(obj);
		if (key)
			service_del(m, key);
		free(key);
		return;
	}
}

/* ------------------------------------------------------ EndpointSlices */

/* Drop sl's references (it is about to be freed or replaced). */
static void slice_unlink(struct model *m, struct slice_ent *sl)
{
	struct svc_ent *se = sl->svc;
	uint32_t i;

	for (i = 0; i < sl->n_nodes; i++) {
		struct node_ent *ne = sl->nodes[i];

		if (!--ne->slice_refs)
			node_maybe_gc(m, ne);
	}
	if (!se)
		return;
	if (sl->prev)
		sl->prev->next = sl->next;
	else
		se->slices = sl->next;
	if (sl->next)
		sl->next->prev = sl->prev;
	se->n_slices--;
	if (sl->on_self)
		se->self_slices--;
	if (se->svc && se->svc->etp_local)
		svc_mark_ips(m, se);
	svc_maybe_gc(m, se);
}

/* A slice_ent for ks, linked into the model; NULL on ENOMEM. */
static struct slice_ent *slice_link(struct model *m,
				    const struct k8s_slice *ks)
{
	struct slice_ent *sl;
	struct svc_ent *se = NULL;
	size_t i;

	sl = calloc(1, sizeof(*sl) + ks->n_nodes * sizeof(sl->nodes[0]));
	if (!sl)
		return NULL;
	if (ks->service) {
		se = svc_get(m, ks->service, true);
		if (!se)
			goto nomem;
	}
	for (i = 0; i < ks->n_nodes; i++) {
		struct node_ent *ne = node_get(m, ks->nodes[i], true);

		if (!ne)
			goto nomem;
		ne->slice_refs++;
		sl->nodes[sl->n_nodes++] = ne;
		if (ne == m->self)
			sl->on_self = true;
	}
	sl->svc = se;
	if (!se)
		return sl;
	sl->next = se->slices;
	if (se->slices)
		se->slices->prev = sl;
	se->slices = sl;
	se->n_slices++;
	if (sl->on_self)
		se->self_slices++;
	if (se->svc && se->svc->etp_local)
		svc_mark_ips(m, se);
	return sl;
nomem:
	sl->svc = NULL;
	slice_unlink(m, sl);
	free(sl);
	if (se)
		svc_maybe_gc(m, se);
	return NULL;
}

static bool slice_same(const struct slice_ent *sl, const struct k8s_slice *ks)
{
	size_t i;

	if (!sl->svc != !ks->service ||
	    (ks->service && strcmp(sl->svc->key, ks->service)) ||
	    sl->n_nodes != ks->n_nodes)
		return false;
	for (i = 0; i < ks->n_nodes; i++)
		if (strcmp(sl->nodes[i]->name, ks->nodes[i]))
			return false;
	return true;
}

static void slice_gone(const char *key, void *obj, void *data)
{
	(void)key;
	slice_unlink(data, obj);
	free(obj);
}

static int slice_free_each(const char *key, void *obj, void *data)
{
	(void)key;
	(void)data;
	free(obj);
	return 0;
}

void model_on_slice(void *mv, enum kapi_event ev, const cJSON *obj)
{
	struct model *m = mv;
	struct slice_ent *old, *sl;
	struct k8s_slice *ks;
	char err[256];
	char *key;

	switch (ev) {
	case KAPI_LIST_BEGIN:
		store_mark_stale(m->slices);
		return;
	case KAPI_LIST_END:
		store_sweep(m->slices, slice_gone, m);
		return;
	case KAPI_ADDED:
	case KAPI_MODIFIED:
		ks = kobj_slice(obj, err, sizeof(err));
		if (!ks) {
			warn_object("EndpointSlice", obj, err);
			key = kobj_key(obj);
			old = key ? store_get(m->slices, key) : NULL;
			if (old)
				store_put(m->slices, key, old);
			free(key);
			return;
		}
		old = store_get(m->slices, ks->key);
		if (old && slice_same(old, ks)) {
			store_put(m->slices, ks->key, old);	/* unstale */
			kobj_slice_free(ks);
			return;
		}
		sl = slice_link(m, ks);
		if (!sl) {
			alog(LOG_ERROR, "out of memory", "endpointslice",
			     ks->key, NULL);
			kobj_slice_free(ks);
			return;
		}
		if (store_put(m->slices, ks->key, sl)) {
			alog(LOG_ERROR, "out of memory", "endpointslice",
			     ks->key, NULL);
			slice_unlink(m, sl);
			free(sl);
		} else if (old) {
			slice_unlink(m, old);
			free(old);
		}
		kobj_slice_free(ks);
		return;
	case KAPI_DELETED:
		key = kobj_key(obj);
		old = key ? store_get(m->slices, key) : NULL;
		if (old) {
			slice_unlink(m, old);
			store_del(m->slices, key);
			free(old);
		}
		free(key);
		return;
	}
}

/* --------------------------------------------------------------- Nodes */

static void node_obj_detach(struct model *m, const char *name)
{
	struct node_ent *ne = node_get(m, name, false);

	m->n_node_objs--;
	if (!ne)
		return;
	ne->node = NULL;
	node_touch(m, ne);
	node_maybe_gc(m, ne);
}

static void node_gone(const char *key, void *obj, void *data)
{
	(void)obj;
	node_obj_detach(data, key);
}

static void node_obj_free(void *p)
{
	kobj_node_free(p);
}

void model_on_node(void *mv, enum kapi_event ev, const cJSON *obj)
{
	struct model *m = mv;
	struct k8s_node *n, *old;
	struct node_ent *ne;
	char err[256];
	char *key;

	switch (ev) {
	case KAPI_LIST_BEGIN:
		store_mark_stale(m->nodes);
		return;
	case KAPI_LIST_END:
		store_sweep(m->nodes, node_gone, m);
		return;
	case KAPI_ADDED:
	case KAPI_MODIFIED:
		n = kobj_node(obj, err, sizeof(err));
		if (!n) {
			warn_object("Node", obj, err);
			key = kobj_key(obj);
			old = key ? store_get(m->nodes, key) : NULL;
			if (old)
				store_put(m->nodes, key, old);
			free(key);
			return;
		}
		ne = node_get(m, n->name, true);
		old = store_get(m->nodes, n->name);
		if (!ne || (!old && store_put(m->nodes, n->name, n))) {
			alog(LOG_ERROR, "out of memory", "node", n->name,
			     NULL);
			if (!ne)
				kobj_node_free(n);
			return;
		}
		if (!old)
			m->n_node_objs++;
		if (!old || old->ready != n->ready ||
		    old->network_unavailable != n->network_unavailable ||
		    old->excluded != n->excluded)
			node_touch(m, ne);
		ne->node = n;
		if (old)
			store_put(m->nodes, n->name, n);
		return;
	case KAPI_DELETED:
		key = kobj_key(obj);
		if (key && store_get(m->nodes, key)) {
			node_obj_detach(m, key);
			store_del(m->nodes, key);
		}
		free(key);
		return;
	}
}

/* -------------------------------------------------------------- Leases */

static const char *lease_node(const char *lease_name)
{
	size_t n = strlen(LEASE_PREFIX);

	if (strncmp(lease_name, LEASE_PREFIX, n) || !lease_name[n])
		return NULL;
	return lease_name + n;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool subnets_same(const struct k8s_lease *a, const struct k8s_lease *b)
{
	size_t i;

	if (a->n_subnets != b->n_subnets)
		return false;
	for (i = 0; i < a->n_subnets; i++)
		if (a->subnets[i].family != b->subnets[i].family ||
		    a->subnets[i].plen != b->subnets[i].plen ||
		    !addr_eq(a->subnets[i].family, &a->subnets[i].addr,
			     &b->subnets[i].addr))
			return false;
	return true;
}

static void lease_detach(struct model *m, const struct k8s_lease *l)
{
	struct node_ent *ne = node_get(m, lease_node(l->name), false);

	if (!ne)
		return;
	ne->lease = NULL;
	ne->lease_pending = false;
	node_touch(m, ne);
	if (ne != m->self)
		node_changed(m, ne);	/* its subnets are gone too */
	node_maybe_gc(m, ne);
}

static void lease_gone(const char *key, void *obj, void *data)
{
	(void)key;
	lease_detach(data, obj);
}

static void lease_obj_free(void *p)
{
	kobj_lease_free(p);
}

void model_on_lease(void *mv, enum kapi_event ev, const cJSON *obj)
{
	struct model *m = mv;
	struct k8s_lease *l, *old;
	struct node_ent *ne;
	const char *node;
	char err[256];
	char *key;

	if (m->cfg.no_leases)
		return;
	switch (ev) {
	case KAPI_LIST_BEGIN:
		store_mark_stale(m->leases);
		return;
	case KAPI_LIST_END:
		store_sweep(m->leases, lease_gone, m);
		return;
	case KAPI_ADDED:
	case KAPI_MODIFIED:
		l = kobj_lease(obj, err, sizeof(err));
		if (!l) {
			warn_object("Lease", obj, err);
			key = kobj_key(obj);
			old = key ? store_get(m->leases, key) : NULL;
			if (old)
				store_put(m->leases, key, old);
			free(key);
			return;
		}
		node = lease_node(l->name);
		if (!node) {	/* another component's Lease */
			kobj_lease_free(l);
			return;
		}
		ne = node_get(m, node, true);
		old = store_get(m->leases, l->key);
		if (!ne || (!old && store_put(m->leases, l->key, l))) {
			alog(LOG_ERROR, "out of memory", "lease", l->key,
			     NULL);
			if (!ne)
				kobj_lease_free(l);
			return;
		}
		if (!old || !str_eq(old->renew_time, l->renew_time) ||
		    !str_eq(old->holder, l->holder) ||
		    !str_eq(old->resource_version, l->resource_version) ||
		    old->duration_s != l->duration_s) {
			ne->lease_pending = true;
			node_touch(m, ne);
		}
		/* our own subnets come from model_set_local_subnets() */
		if (ne != m->self && (!old || !subnets_same(old, l)))
			node_changed(m, ne);
		ne->lease = l;
		if (old)
			store_put(m->leases, l->key, l);
		return;
	case KAPI_DELETED:
		key = kobj_key(obj);
		old = key ? store_get(m->leases, key) : NULL;
		if (old) {
			lease_detach(m, old);
			store_del(m->leases, key);
		}
		free(key);
		return;
	}
}

/* ---------------------------------------------------- model lifecycle */

static void svc_free(void *p)
{
	free(p);
}

static void service_obj_free(void *p)
{
	kobj_service_free(p);
}

struct model *model_new(const struct model_cfg *cfg)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m || !cfg->node || !*cfg->node)
		goto fail;
	m->cfg = *cfg;
	m->node_name = strdup(cfg->node);
	m->lb_class = cfg->lb_class ? strdup(cfg->lb_class) : NULL;
	if (!m->node_name || (cfg->lb_class && !m->lb_class))
		goto fail;
	m->cfg.node = m->node_name;
	m->cfg.lb_class = m->lb_class;
	if (cfg->n_aggr) {
		m->aggr = calloc(cfg->n_aggr, sizeof(*m->aggr));
		if (!m->aggr)
			goto fail;
		memcpy(m->aggr, cfg->aggr, cfg->n_aggr * sizeof(*m->aggr));
	}
	m->cfg.aggr = m->aggr;
	m->services = store_new(service_obj_free);
	/* slice_ents are freed here, after unlinking, not by the store */
	m->slices = store_new(NULL);
	m->nodes = store_new(node_obj_free);
	m->leases = store_new(lease_obj_free);
	m->svc_idx = store_new(svc_free);
	m->node_idx = store_new(node_free);
	m->vtab_size = 1024;
	m->vtab = calloc(m->vtab_size, sizeof(*m->vtab));
	if (!m->services || !m->slices || !m->nodes || !m->leases ||
	    !m->svc_idx || !m->node_idx || !m->vtab)
		goto fail;
	m->in_contact = true;
	m->expiry_min = UINT64_MAX;
	m->self = node_get(m, m->node_name, true);
	if (!m->self)
		goto fail;
	node_touch(m, m->self);
	return m;
fail:
	model_free(m);
	return NULL;
}

void model_free(struct model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; m->vtab && i < m->vtab_size; i++) {
		struct vip *v = m->vtab[i], *next;

		for (; v; v = next) {
			next = v->hnext;
			vip_free(v);
		}
	}
	free(m->vtab);
	/* objects first: the index entries they point to go last */
	store_free(m->services);
	if (m->slices)
		store_each(m->slices, slice_free_each, NULL);
	store_free(m->slices);
	store_free(m->nodes);
	store_free(m->leases);
	store_free(m->svc_idx);
	store_free(m->node_idx);
	free(m->elig);
	free(m->local);
	free(m->aggr);
	free(m->node_name);
	free(m->lb_class);
	free(m);
}

static bool local_same(const struct local_subnet *a,
		       const struct local_subnet *b)
{
	return a->net.family == b->net.family && a->net.plen == b->net.plen &&
	       addr_eq(a->net.family, &a->net.addr, &b->net.addr) &&
	       a->ifindex == b->ifindex &&
	       !strncmp(a->ifname, b->ifname, IF_NAMESIZE);
}

void model_set_local_subnets(struct model *m, const struct local_subnet *s,
			     size_t n)
{
	struct local_subnet *copy = NULL;
	size_t i;

	if (n == m->n_local) {
		for (i = 0; i < n && local_same(&s[i], &m->local[i]); i++)
			;
		if (i == n)
			return;
	}
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy) {
			alog(LOG_ERROR, "out of memory", "what",
			     "local subnets", NULL);
			return;
		}
		memcpy(copy, s, n * sizeof(*copy));
		for (i = 0; i < n; i++)
			copy[i].ifname[IF_NAMESIZE - 1] = '\0';
	}
	free(m->local);
	m->local = copy;
	m->n_local = n;
	m->all_dirty = true;
}

void model_set_contact(struct model *m, bool in_contact, uint64_t now)
{
	struct node_ent *ne;

	if (in_contact == m->in_contact)
		return;
	if (!in_contact) {
		m->in_contact = false;
		m->frozen_at = now;
	} else {
		/*
		 * Expiry was paused: every lease clock resumes where it
		 * stopped, so a short loss of contact only delays expiry by
		 * its length and a node dead before the freeze stays dead.
		 */
		for (ne = m->all_nodes; ne; ne = ne->all_next)
			if (ne->lease && !ne->lease_pending)
				ne->observed += now - m->frozen_at;
		m->in_contact = true;
		m->expiry_min = 0;	/* rescan at the next update */
	}
	node_touch(m, m->self);
}

uint64_t model_next_expiry(const struct model *m, uint64_t now)
{
	if (m->cfg.no_leases || !m->in_contact ||
	    m->expiry_min == UINT64_MAX)
		return UINT64_MAX;
	return m->expiry_min > now ? m->expiry_min : now;
}

/* ------------------------------------------------------------ deciding */

struct verdict {
	bool hold, onlink;
	uint8_t mode, prefixlen;
	uint32_t link;
	const char *ifname;
	struct svc_ent *svc;		/* first in key order */
	struct node_ent *blocker;
	const char *why;
	bool any_cluster, self_ep;
};

static const struct local_subnet *local_for(const struct model *m,
					    const struct vip *v)
{
	const struct local_subnet *best = NULL;
	size_t i;

	for (i = 0; i < m->n_local; i++) {
		/* our own VIPs' device never makes an IP on-link */
		if (m->cfg.dev_ifindex &&
		    m->local[i].ifindex == m->cfg.dev_ifindex)
			continue;
		if (subnet_contains(&m->local[i].net, v->family, &v->addr) &&
		    (!best || m->local[i].net.plen > best->net.plen))
			best = &m->local[i];
	}
	return best;
}

static void ip_text(const struct vip *v, char *buf, size_t len)
{
	if (!inet_ntop(v->family, &v->addr, buf, (socklen_t)len))
		buf[0] = '\0';
}

/* Calls fn for every candidate of an on-link IP other than this node;
 * stops when fn returns true, and returns that node. */
static struct node_ent *each_candidate(const struct model *m,
				       const struct vip *v, bool any_cluster,
				       bool (*fn)(struct node_ent *ne,
						  void *data),
				       void *data)
{
	uint32_t i, j;
	size_t e;

	if (any_cluster) {
		/*
		 * Start at a place of the IP's own: walking every IP from the
		 * same node would make that node the blocker of half of them,
		 * and its failure a recomputation of half the table.
		 */
		size_t start = m->n_elig ?
			((size_t)v->hash[0] << 8 | v->hash[1]) % m->n_elig : 0;

		for (e = 0; e < m->n_elig; e++) {
			struct node_ent *ne = m->elig[(start + e) % m->n_elig];

			if (ne != m->self && node_on_subnet(m, ne, v) &&
			    fn(ne, data))
				return ne;
		}
		return NULL;
	}
	for (i = 0; i < v->n_svcs; i++) {
		const struct slice_ent *sl;

		for (sl = v->svcs[i]->slices; sl; sl = sl->next) {
			for (j = 0; j < sl->n_nodes; j++) {
				struct node_ent *ne = sl->nodes[j];

				if (ne == m->self || !ne->base_ok ||
				    !node_on_subnet(m, ne, v))
					continue;
				if (fn(ne, data))
					return ne;
			}
		}
	}
	return NULL;
}

struct rank {
	const char *ip;
	const uint8_t *ours;		/* hash to beat */
	uint8_t best[32];
	struct node_ent *winner;
};

static bool ranks_before(struct node_ent *ne, void *data)
{
	struct rank *r = data;
	uint8_t h[32];

	election_hash_str(ne->name, r->ip, h);
	return memcmp(h, r->ours, 32) < 0;
}

static bool track_best(struct node_ent *ne, void *data)
{
	struct rank *r = data;
	uint8_t h[32];

	election_hash_str(ne->name, r->ip, h);
	if (!r->winner || memcmp(h, r->best, 32) < 0) {
		memcpy(r->best, h, 32);
		r->winner = ne;
	}
	return false;
}

/* The first eligible node by hash; NULL if none. */
static struct node_ent *exact_winner(const struct model *m,
				     const struct vip *v,
				     const struct verdict *vd)
{
	char ip[INET6_ADDRSTRLEN];
	struct rank r = { .ip = ip };

	ip_text(v, ip, sizeof(ip));
	if (m->self->base_ok && (vd->any_cluster || vd->self_ep)) {
		memcpy(r.best, v->hash, 32);
		r.winner = m->self;
	}
	each_candidate(m, v, vd->any_cluster, track_best, &r);
	return r.winner;
}

static uint8_t aggregation(const struct model *m, const struct vip *v,
			   const char **why)
{
	const struct k8s_service *ann = NULL, *bad = NULL;
	unsigned int full = addr_bits(v->family);
	size_t i;

	for (i = 0; i < m->cfg.n_aggr; i++) {
		const struct aggr_rule *r = &m->aggr[i];

		if (subnet_contains(&r->cidr, v->family, &v->addr)) {
			*why = WHY_ROUTED_RULE;
			return r->plen <= full ? r->plen : (uint8_t)full;
		}
	}
	for (i = 0; i < v->n_svcs; i++) {
		const struct k8s_service *s = v->svcs[i]->svc;
		int len = v->family == AF_INET ? s->aggr_v4 : s->aggr_v6;

		if (s->etp_local)
			continue;
		if (s->aggr_error && (!bad || strcmp(s->key, bad->key) < 0))
			bad = s;
		if (len >= 0 && (unsigned int)len <= full &&
		    (!ann || strcmp(s->key, ann->key) < 0))
			ann = s;
	}
	if (ann) {
		*why = WHY_ROUTED_ANN;
		return (uint8_t)(v->family == AF_INET ? ann->aggr_v4
						      : ann->aggr_v6);
	}
	*why = bad ? WHY_ROUTED_BADANN : WHY_ROUTED;
	return (uint8_t)full;
}

static void decide(const struct model *m, struct vip *v, struct verdict *vd)
{
	const struct local_subnet *ls;
	uint32_t i;

	memset(vd, 0, sizeof(*vd));
	vd->ifname = "";
	if (!v->n_svcs) {
		vd->why = WHY_NO_SERVICE;
		return;
	}
	for (i = 0; i < v->n_svcs; i++) {
		struct svc_ent *se = v->svcs[i];

		if (!vd->svc || strcmp(se->key, vd->svc->key) < 0)
			vd->svc = se;
		if (!se->svc->etp_local)
			vd->any_cluster = true;
		else if (se->self_slices)
			vd->self_ep = true;
	}
	ls = local_for(m, v);
	vd->onlink = ls != NULL;
	vd->mode = ls ? KUBELB_MODE_LOCAL : KUBELB_MODE_VIRTUAL;
	vd->prefixlen = (uint8_t)addr_bits(v->family);
	if (ls) {
		vd->link = ls->ifindex;
		vd->ifname = ls->ifname;
	}
	if (!m->self->base_ok) {
		vd->why = m->self->why_not;
		return;
	}
	if (!vd->any_cluster && !vd->self_ep) {
		vd->why = WHY_NO_ENDPOINT;
		return;
	}
	if (!ls) {
		vd->hold = true;
		if (vd->any_cluster)
			vd->prefixlen = aggregation(m, v, &vd->why);
		else
			vd->why = WHY_ROUTED_LOCAL;
		return;
	}
	{
		char ip[INET6_ADDRSTRLEN];
		struct rank r = { .ip = ip, .ours = v->hash };

		ip_text(v, ip, sizeof(ip));
		if (!v->have_hash) {
			election_hash_str(m->node_name, ip, v->hash);
			v->have_hash = true;
		}
		vd->blocker = each_candidate(m, v, vd->any_cluster,
					     ranks_before, &r);
	}
	vd->hold = !vd->blocker;
	vd->why = vd->hold ? WHY_ELECTED : WHY_LOST;
}

static void fill_decision(const struct model *m, const struct vip *v,
			  struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->family = v->family;
	d->addr = v->addr;
	d->hold = v->hold;
	d->mode = v->mode;
	d->link = v->link;
	memcpy(d->ifname, v->ifname, sizeof(d->ifname));
	d->prefixlen = v->prefixlen;
	if (v->pub_svc)
		snprintf(d->service, sizeof(d->service), "%s",
			 v->pub_svc->key);
	d->why = v->why;
	if (v->hold && v->mode == KUBELB_MODE_LOCAL)
		snprintf(d->winner, sizeof(d->winner), "%s", m->node_name);
}

static bool held_local(bool hold, uint8_t mode)
{
	return hold && mode == KUBELB_MODE_LOCAL;
}

/* Recompute v; report it if it changed. Returns true if reported. */
static bool vip_update(struct model *m, struct vip *v,
		       void (*cb)(void *data, const struct decision *d),
		       void *data)
{
	struct verdict vd;
	struct decision d;
	bool changed, was_local = held_local(v->hold, v->mode);

	decide(m, v, &vd);
	changed = v->hold != vd.hold ||
		  (vd.hold && (v->mode != vd.mode || v->link != vd.link ||
			       v->prefixlen != vd.prefixlen ||
			       v->pub_svc != vd.svc ||
			       strncmp(v->ifname, vd.ifname, IF_NAMESIZE)));
	vip_set_blocker(v, vd.blocker);
	v->onlink = vd.onlink;
	v->why = vd.why;
	if (!changed)
		return false;

	if (v->hold) {
		if (v->mode == KUBELB_MODE_LOCAL)
			m->stats.held_local--;
		else
			m->stats.held_virtual--;
	}
	if (vd.hold) {
		if (vd.mode == KUBELB_MODE_LOCAL)
			m->stats.held_local++;
		else
			m->stats.held_virtual++;
	}
	if (!was_local && held_local(vd.hold, vd.mode))
		m->stats.elections_won++;
	else if (was_local && !held_local(vd.hold, vd.mode))
		m->stats.elections_lost++;

	v->hold = vd.hold;
	v->mode = vd.mode;
	v->link = vd.link;
	v->prefixlen = vd.prefixlen;
	v->pub_svc = vd.hold ? vd.svc : NULL;
	snprintf(v->ifname, sizeof(v->ifname), "%s", vd.ifname);
	vip_set_held_local(m, v, held_local(v->hold, v->mode));

	fill_decision(m, v, &d);
	if (!d.service[0] && vd.svc)
		snprintf(d.service, sizeof(d.service), "%s", vd.svc->key);
	if (!vd.hold && vd.onlink && vd.svc) {
		struct node_ent *w = exact_winner(m, v, &vd);

		if (w)
			snprintf(d.winner, sizeof(d.winner), "%s", w->name);
	}
	if (cb)
		cb(data, &d);
	return true;
}

static void process_nodes(struct model *m, uint64_t now)
{
	struct node_ent *ne;
	bool have = m->n_node_objs > 0;

	/* static mode: the first Node, or the last one going, switches
	 * between "this node alone" and "the Node list" */
	if (m->cfg.no_leases && have != m->static_had_nodes) {
		m->static_had_nodes = have;
		for (ne = m->all_nodes; ne; ne = ne->all_next)
			node_touch(m, ne);
	}
	while ((ne = m->refresh)) {
		m->refresh = ne->refresh_next;
		ne->in_refresh = false;
		node_refresh(m, ne, now);
	}
	if (m->cfg.no_leases || !m->in_contact || now < m->expiry_min)
		return;
	m->expiry_min = UINT64_MAX;
	for (ne = m->all_nodes; ne; ne = ne->all_next) {
		uint64_t exp;

		if (!ne->lease)
			continue;
		node_refresh(m, ne, now);
		if (ne == m->self || !lease_usable(ne->lease))
			continue;
		exp = ne->observed + lease_ms(ne->lease);
		if (exp > now && exp < m->expiry_min)
			m->expiry_min = exp;
	}
}

/*
 * Could peer ne, just changed, now rank before us on v, an on-link IP we
 * hold? Conservative: endpoints are not looked at.
 */
static bool peer_may_win(const struct model *m, const struct vip *v,
			 const struct node_ent *ne)
{
	char ip[INET6_ADDRSTRLEN];
	uint8_t h[32];

	if (!ne->base_ok || !node_on_subnet(m, ne, v))
		return false;
	ip_text(v, ip, sizeof(ip));
	election_hash_str(ne->name, ip, h);
	return memcmp(h, v->hash, 32) < 0;
}

/* Beyond this many changed peers, re-elect every held IP outright. */
#define PEERS_CHECKED_ONE_BY_ONE 16

static void mark_affected(struct model *m)
{
	struct node_ent *ne;
	struct vip *v;
	size_t i, n_changed = 0;

	if (m->all_dirty) {
		for (i = 0; i < m->vtab_size; i++)
			for (v = m->vtab[i]; v; v = v->hnext)
				vip_mark(m, v);
	} else if (m->changed) {
		for (ne = m->changed; ne; ne = ne->changed_next) {
			n_changed++;
			for (v = ne->blocked; v; v = v->blk_next)
				vip_mark(m, v);
		}
		for (v = m->held_local; v; v = v->hl_next) {
			if (n_changed > PEERS_CHECKED_ONE_BY_ONE) {
				vip_mark(m, v);
				continue;
			}
			for (ne = m->changed; ne; ne = ne->changed_next)
				if (peer_may_win(m, v, ne)) {
					vip_mark(m, v);
					break;
				}
		}
	}
	m->all_dirty = false;
	while ((ne = m->changed)) {
		m->changed = ne->changed_next;
		ne->changed = false;
	}
}

static void collect_garbage(struct model *m)
{
	struct node_ent *ne;
	struct svc_ent *se;

	while ((ne = m->node_gc)) {
		m->node_gc = ne->gc_next;
		ne->in_gc = false;
		if (ne->slice_refs || ne->node || ne->lease || ne == m->self ||
		    ne->in_refresh)
			continue;
		if (ne->base_ok)
			elig_del(m, ne);
		/* cannot happen: it was not eligible */
		while (ne->blocked)
			vip_set_blocker(ne->blocked, NULL);
		if (ne->all_prev)
			ne->all_prev->all_next = ne->all_next;
		else
			m->all_nodes = ne->all_next;
		if (ne->all_next)
			ne->all_next->all_prev = ne->all_prev;
		store_del(m->node_idx, ne->name);
	}
	while ((se = m->svc_gc)) {
		m->svc_gc = se->gc_next;
		se->in_gc = false;
		if (se->svc || se->n_slices || se->vip_refs)
			continue;
		store_del(m->svc_idx, se->key);
	}
}

size_t model_update(struct model *m, uint64_t now,
		    void (*cb)(void *data, const struct decision *d),
		    void *data)
{
	size_t n = 0;
	struct vip *v;

	process_nodes(m, now);
	mark_affected(m);
	while ((v = m->dirty)) {
		m->dirty = v->dnext;
		v->dirty = false;
		if (vip_update(m, v, cb, data))
			n++;
		if (!v->n_svcs)
			vip_remove(m, v);
	}
	collect_garbage(m);
	return n;
}

int model_each_held(const struct model *m,
		    int (*cb)(void *data, const struct decision *d),
		    void *data)
{
	struct decision d;
	size_t i;
	int ret;

	for (i = 0; i < m->vtab_size; i++) {
		const struct vip *v;

		for (v = m->vtab[i]; v; v = v->hnext) {
			if (!v->hold)
				continue;
			fill_decision(m, v, &d);
			ret = cb(data, &d);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int model_each_service_of(const struct model *m, uint16_t family,
			  const union kubelb_addr *addr,
			  int (*cb)(void *data, const struct k8s_service *s),
			  void *data)
{
	const struct vip *v;
	uint32_t i;
	int ret;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	v = *vip_slot(m, family, addr);
	if (!v)
		return 0;
	for (i = 0; i < v->n_svcs; i++) {
		if (!v->svcs[i]->svc)
			continue;
		ret = cb(data, v->svcs[i]->svc);
		if (ret)
			return ret;
	}
	return 0;
}

const struct model_stats *model_stats(const struct model *m)
{
	return &m->stats;
}
