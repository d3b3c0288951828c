/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * kubelb-agent: keeps this node's kubelb VIP table equal to what the
 * cluster says the node should hold.
 *
 * Pieces (one file each), all driven from one event loop in main.c:
 *  log.c        logfmt/JSON log lines
 *  linebuf.c    splits a byte stream into lines without rescanning
 *  watchline.c  one watch-stream line -> event type, object, RV
 *  kubeconfig.c kubeconfig (libyaml) and in-cluster configuration
 *  kapi.c       kube-api client on libcurl multi: list+watch, requests
 *  kobj.c       Kubernetes objects (cJSON) -> compact structs
 *  store.c      string-keyed hash map
 *  model.c      the cluster as the agent sees it, and the per-VIP
 *               decisions, recomputed only for what an event touched
 *  election.c   sha256(node "#" ip) order
 *  staticsrc.c  --services FILE source
 *  subnets.c    this node's interface subnets (rtnetlink)
 *  reconcile.c  kernel table <- decisions, through libkubelb
 *  lease.c      our Lease and the peers' liveness
 *  report.c     announcing-IPvN annotations and Events
 *  metrics.c    /healthz, /readyz, /metrics (libmicrohttpd)
 */
#ifndef KUBELB_AGENT_H
#define KUBELB_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>
#include <cjson/cJSON.h>

#include "libkubelb.h"

/* KUBELB_A_OWNER of every VIP the agent manages ("kbla"). */
#define AGENT_OWNER		0x6b626c61u

#define ANN_ANNOUNCING_V4	"kubelb.io/announcing-IPv4"
#define ANN_ANNOUNCING_V6	"kubelb.io/announcing-IPv6"
#define ANN_AGGREGATION		"kubelb.io/aggregation"
#define ANN_LEASE_SUBNETS	"kubelb.io/subnets"
#define LABEL_EXCLUDE_LB	"node.kubernetes.io/exclude-from-external-load-balancers"
#define LABEL_SERVICE_NAME	"kubernetes.io/service-name"
#define LEASE_PREFIX		"kubelb-node-"

/* ---------------------------------------------------------------- util.c */
/* Monotonic clock, milliseconds. */
uint64_t now_ms(void);
/* Formats a one-line reason into err (when err and errlen); returns -1. */
int agent_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- log.c */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_LOGFMT, LOG_JSON };

/* verbosity: 0 = info and above, 1 (-v) = debug */
void log_init(enum log_format fmt, int verbosity, FILE *out);
bool log_enabled(enum log_level level);
/*
 * One line: time, level, msg, then key/value string pairs ended by NULL.
 *   alog(LOG_INFO, "vip held", "vip", "10.0.0.1", "mode", "local", NULL);
 * logfmt quotes values with spaces, '=' or '"'; JSON escapes properly.
 */
void alog(enum log_level level, const char *msg, ...)
	__attribute__((sentinel));

/* ------------------------------------------------------------ linebuf.c */
/*
 * Newline-delimited stream splitter. Bytes are appended as they arrive;
 * each complete line is handed to cb once, and scanning resumes where it
 * stopped, so the cost is proportional to the bytes received. A line
 * longer than max is an error: the stream must be restarted.
 */
struct linebuf {
	char *buf;		/* the unterminated tail; never holds '\n' */
	size_t len, cap, max;
};
/* line: without its '\n', not NUL-terminated, valid during the call. */
typedef int (*linebuf_cb)(void *data, const char *line, size_t len);
void linebuf_init(struct linebuf *lb, size_t max);
/* Returns 0, the first non-zero cb return, or -E2BIG on overflow (or
 * -ENOMEM); after a non-zero return, linebuf_reset before feeding again. */
int linebuf_feed(struct linebuf *lb, const char *p, size_t n,
		 linebuf_cb cb, void *data);
void linebuf_reset(struct linebuf *lb);
void linebuf_free(struct linebuf *lb);

/* ---------------------------------------------------------- watchline.c */
enum watch_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR,
};

/* One line of a watch stream: {"type":"...","object":{...}} */
struct watch_line {
	enum watch_type type;
	cJSON *root;			/* owned; free with watch_line_free */
	const cJSON *object;
	const char *resource_version;	/* object.metadata.resourceVersion;
					 * NULL if absent (never for BOOKMARK) */
	int code;			/* ERROR: object.code, else 0 */
	const char *reason;		/* ERROR: object.reason, may be NULL */
};

/* Returns 0, or -EINVAL for anything that is not a well-formed event
 * (not JSON, unknown type, object missing, BOOKMARK without RV). */
int watch_line_parse(const char *line, size_t len, struct watch_line *out);
void watch_line_free(struct watch_line *wl);

/* --------------------------------------------------------- kubeconfig.c */
struct blob {
	char *p;
	size_t len;
};

struct kapi_config {
	char *server;		/* "https://host:port" (IPv6 host bracketed) */
	struct blob ca;		/* PEM, from certificate-authority(-data) */
	struct blob cert;	/* PEM client certificate */
	struct blob key;	/* PEM client key */
	char *token;		/* static bearer token */
	char *token_file;	/* re-read every minute and after a 401 */
	bool insecure;		/* insecure-skip-tls-verify */
	char *tls_server_name;
	char *namespace;	/* context namespace or the SA namespace file */
};

/* path NULL: $KUBECONFIG (first entry). err gets a one-line reason. */
int kubeconfig_load(const char *path, struct kapi_config *cfg,
		    char *err, size_t errlen);
/* KUBERNETES_SERVICE_HOST/_PORT and /var/run/secrets/... (root may be
 * overridden for tests with $KUBELB_SA_DIR). */
int incluster_load(struct kapi_config *cfg, char *err, size_t errlen);
void kapi_config_free(struct kapi_config *cfg);

/* --------------------------------------------------------------- kapi.c */
struct kapi;
struct kapi_watch;

enum kapi_event {
	KAPI_LIST_BEGIN,	/* a (re)list starts: objects not re-added
				 * before KAPI_LIST_END are gone */
	KAPI_ADDED,
	KAPI_MODIFIED,
	KAPI_DELETED,
	KAPI_LIST_END,		/* the list is complete: the watch is synced */
};

/* obj: the object (list item or watch event object); NULL for BEGIN/END */
typedef void (*kapi_watch_cb)(void *data, enum kapi_event ev,
			      const cJSON *obj);
/* status: HTTP status, or 0 when the request failed before one (errbuf
 * then holds curl's reason). body: parsed JSON response or NULL. */
typedef void (*kapi_req_cb)(void *data, long status, const cJSON *body,
			    const char *errbuf);

struct kapi_stats {
	uint64_t watch_restarts;	/* watches started again after an end */
	uint64_t relists;		/* lists after the first */
	uint64_t api_errors[6];		/* by class: 0 = transport, 1xx..5xx */
	uint64_t api_errors_by_code[600];
};

struct kapi *kapi_new(const struct kapi_config *cfg, char *err, size_t errlen);
void kapi_free(struct kapi *k);
/* path: collection path, e.g. "/api/v1/services" (all namespaces) or
 * "/apis/coordination.k8s.io/v1/namespaces/NS/leases". */
struct kapi_watch *kapi_watch_add(struct kapi *k, const char *path,
				  kapi_watch_cb cb, void *data);
bool kapi_watch_synced(const struct kapi_watch *w);
bool kapi_all_synced(const struct kapi *k);
/* body may be NULL; content_type e.g. "application/merge-patch+json". */
int kapi_request(struct kapi *k, const char *method, const char *path,
		 const char *content_type, const char *body,
		 kapi_req_cb cb, void *data);
/*
 * Wait for transfers, extra fds or timeout_ms (capped by the client's own
 * timers), run transfers and callbacks. extra[i].revents tells which
 * extra fds are ready. Returns 0 or -errno.
 */
struct curl_waitfd;
int kapi_poll(struct kapi *k, struct curl_waitfd *extra, unsigned int n,
	      int timeout_ms);
const struct kapi_stats *kapi_stats(const struct kapi *k);

/*
 * A watch's retry backoff: 0.8 s doubling to 30 s, +-25% jitter, back to
 * 0.8 s once 2 minutes passed without an error. Pure, so that tests drive
 * it with their own clock and random numbers.
 */
struct kapi_backoff {
	uint64_t base_ms;	/* of the next delay; 0 before any error */
	uint64_t last_error_ms;
};

/* The delay (ms) before retrying after an error at now (ms). */
uint64_t kapi_backoff_next(struct kapi_backoff *b, uint64_t now,
			   uint64_t random_number);
/* timeoutSeconds of a new watch, 300..599: watches started together end
 * apart. */
unsigned int kapi_watch_timeout_s(uint64_t random_number);

/* --------------------------------------------------------------- kobj.c */
struct ingress_ip {
	uint16_t family;
	union kubelb_addr addr;
};

struct k8s_service {
	char *key;		/* "namespace/name" */
	bool load_balancer;	/* spec.type == LoadBalancer */
	char *lb_class;		/* spec.loadBalancerClass, NULL if unset */
	bool etp_local;		/* spec.externalTrafficPolicy == Local */
	int aggr_v4, aggr_v6;	/* kubelb.io/aggregation "/24" or "/24,/64";
				 * -1 when absent or invalid */
	const char *aggr_error;	/* static: why the annotation is ignored,
				 * NULL when absent or valid */
	char *announcing_v4;	/* current annotations, NULL if absent */
	char *announcing_v6;
	size_t n_ingress;	/* status.loadBalancer.ingress[].ip, minus
				 * ipMode: Proxy and unparsable entries */
	struct ingress_ip *ingress;
};

struct k8s_slice {
	char *key;		/* "namespace/name" of the EndpointSlice */
	char *service;		/* "namespace/<kubernetes.io/service-name>" */
	size_t n_nodes;		/* nodeName of endpoints ready or serving */
	char **nodes;
};

struct k8s_node {
	char *name;
	bool ready;		/* condition Ready == True */
	bool network_unavailable;	/* NetworkUnavailable == True */
	bool excluded;		/* LABEL_EXCLUDE_LB present */
};

struct subnet {
	uint16_t family;
	union kubelb_addr addr;	/* masked */
	uint8_t plen;
};

struct k8s_lease {
	char *key;		/* "namespace/name" */
	char *name;
	char *holder;		/* spec.holderIdentity */
	int duration_s;		/* spec.leaseDurationSeconds */
	char *renew_time;	/* spec.renewTime as sent */
	char *resource_version;
	size_t n_subnets;	/* ANN_LEASE_SUBNETS, comma separated CIDRs */
	struct subnet *subnets;
};

/* Each returns NULL (and sets err) if obj is not a usable object. */
struct k8s_service *kobj_service(const cJSON *obj, char *err, size_t errlen);
struct k8s_slice *kobj_slice(const cJSON *obj, char *err, size_t errlen);
struct k8s_node *kobj_node(const cJSON *obj, char *err, size_t errlen);
struct k8s_lease *kobj_lease(const cJSON *obj, char *err, size_t errlen);
void kobj_service_free(struct k8s_service *s);
void kobj_slice_free(struct k8s_slice *s);
void kobj_node_free(struct k8s_node *n);
void kobj_lease_free(struct k8s_lease *l);
/* "namespace/name" of obj's metadata, malloc'd; NULL if absent. */
char *kobj_key(const cJSON *obj);
int subnet_parse(const char *s, struct subnet *out);	/* "10.0.0.0/24" */
bool subnet_contains(const struct subnet *s, uint16_t family,
		     const union kubelb_addr *addr);

/* -------------------------------------------------------------- store.c */
struct store;
typedef void (*store_free_fn)(void *obj);
struct store *store_new(store_free_fn free_fn);
void store_free(struct store *s);
void *store_get(const struct store *s, const char *key);
/* Takes obj; frees any previous object of key. Returns 0 or -ENOMEM. */
int store_put(struct store *s, const char *key, void *obj);
/* Frees the object; false if key was absent. */
bool store_del(struct store *s, const char *key);
size_t store_count(const struct store *s);
/* cb returning non-zero stops the walk and is returned. */
int store_each(const struct store *s,
	       int (*cb)(const char *key, void *obj, void *data), void *data);
/* Relist support: mark every entry stale; store_put unmarks; sweep frees
 * the entries still stale and calls gone(key) for each before freeing. */
void store_mark_stale(struct store *s);
void store_sweep(struct store *s, void (*gone)(const char *key, void *obj,
					      void *data), void *data);

/* ----------------------------------------------------------- election.c */
/* 32-byte sha256(node "#" ip-text) */
void election_hash(const char *node, uint16_t family,
		   const union kubelb_addr *addr, uint8_t out[32]);
/* The same with the IP already in its inet_ntop() text form. */
void election_hash_str(const char *node, const char *ip, uint8_t out[32]);

/* --------------------------------------------------------------- model.c */
struct aggr_rule {		/* --aggregate CIDR=/LEN */
	struct subnet cidr;
	uint8_t plen;
};

struct model_cfg {
	const char *node;	/* this node */
	const char *lb_class;	/* NULL: only Services without a class */
	const struct aggr_rule *aggr;
	size_t n_aggr;
	uint32_t dev_ifindex;	/* kubelb device for routed VIPs */
	/*
	 * Static-file mode: no Leases exist; every listed Node is alive and
	 * on every subnet of ours, and with no Node list at all this node
	 * alone is eligible.
	 */
	bool no_leases;
};

/* An interface subnet of this node (kubelb devices excluded). */
struct local_subnet {
	struct subnet net;
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
};

/* What this node should hold for one IP. */
struct decision {
	uint16_t family;
	union kubelb_addr addr;
	bool hold;
	uint8_t mode;		/* KUBELB_MODE_* */
	uint32_t link;		/* local: interface ifindex */
	char ifname[IF_NAMESIZE];
	uint8_t prefixlen;
	char service[KUBELB_SERVICE_MAX];	/* first Service, for the VIP */
	const char *why;	/* static string for the log line */
	char winner[256];	/* local VIPs: the elected node, "" if none */
};

struct model;
struct model *model_new(const struct model_cfg *cfg);
void model_free(struct model *m);

/* Watch callbacks feed these (kapi_watch_cb signature, data = model). */
void model_on_service(void *m, enum kapi_event ev, const cJSON *obj);
void model_on_slice(void *m, enum kapi_event ev, const cJSON *obj);
void model_on_node(void *m, enum kapi_event ev, const cJSON *obj);
void model_on_lease(void *m, enum kapi_event ev, const cJSON *obj);
/* This node's subnets changed (subnets.c). Takes a copy. */
void model_set_local_subnets(struct model *m, const struct local_subnet *s,
			     size_t n);
/* Peers' lease expiry by our clock: the earliest future instant (ms,
 * now_ms() scale) at which a peer's liveness changes, or UINT64_MAX. */
uint64_t model_next_expiry(const struct model *m, uint64_t now);
/*
 * Recompute the decisions of every IP an event touched (and all of them
 * when a node's eligibility changed). cb gets each decision that changed
 * since the last call, including ones that became hold = false. Returns
 * the number of changed decisions.
 */
size_t model_update(struct model *m, uint64_t now,
		    void (*cb)(void *data, const struct decision *d),
		    void *data);
/* Every current decision with hold = true (used at start to diff
 * against the kernel). */
int model_each_held(const struct model *m,
		    int (*cb)(void *data, const struct decision *d),
		    void *data);
/* The Services that reference an IP (for reporting). */
int model_each_service_of(const struct model *m, uint16_t family,
			  const union kubelb_addr *addr,
			  int (*cb)(void *data, const struct k8s_service *s),
			  void *data);
struct model_stats {
	uint64_t elections_won, elections_lost;
	size_t held_local, held_virtual;
};
const struct model_stats *model_stats(const struct model *m);

/* ----------------------------------------------------------- staticsrc.c */
/*
 * Load FILE (kubectl get svc[,nodes,endpointslices] -A -o json: a List or
 * ServiceList, or several JSON documents one after another) and feed the
 * model through model_on_* with LIST_BEGIN/.../LIST_END for each kind.
 */
int staticsrc_load(const char *path, struct model *m, char *err,
		   size_t errlen);

/* ------------------------------------------------------------- subnets.c */
/* Interface subnets of this namespace, kubelb devices excluded. *out is
 * malloc'd. */
int subnets_read(struct local_subnet **out, size_t *n, char *err,
		 size_t errlen);
/* A socket that becomes readable when addresses or links change. */
int subnets_monitor_open(void);
void subnets_monitor_drain(int fd);

/* ----------------------------------------------------------- reconcile.c */
struct reconciler;
#define RECONCILE_BUCKETS 12	/* le 0.0005 .. 1 s, then +Inf */
extern const double reconcile_bucket_le[RECONCILE_BUCKETS - 1];
struct reconcile_stats {
	uint64_t adds, replaces, dels, errors;
	uint64_t runs;
	double seconds_sum;
	uint64_t seconds_bucket[RECONCILE_BUCKETS];	/* not cumulative */
};
struct reconciler *reconciler_new(struct kubelb *h, uint32_t dev_ifindex,
				  struct kubelb_err *err);
void reconciler_free(struct reconciler *r);
/* Read the kernel's VIPs of AGENT_OWNER (all devices). */
int reconciler_load(struct reconciler *r, struct kubelb_err *err);
/* Queue one decision (hold or not). */
void reconciler_want(struct reconciler *r, const struct decision *d);
/* Start of day: everything not queued since reconciler_load is withdrawn
 * by the next reconciler_flush. */
void reconciler_mark_full(struct reconciler *r);
/* Apply what is queued: add/replace/del only where the kernel differs.
 * Failed ops stay queued, retried with backoff. Returns failures, or
 * -errno when the kernel could not be reached at all. */
int reconciler_flush(struct reconciler *r);
/* When a failed op is next due (ms, now_ms() scale): call
 * reconciler_flush() then. UINT64_MAX if none is waiting. */
uint64_t reconciler_next_retry(const struct reconciler *r);
/* Withdraw every VIP of ours (graceful stop). */
int reconciler_withdraw_all(struct reconciler *r);
const struct reconcile_stats *reconciler_stats(const struct reconciler *r);

/* --------------------------------------------------------------- lease.c */
struct lease_mgr;
struct lease_cfg {
	const char *node;
	const char *namespace;
	int duration_s;		/* renewed every duration_s / 3 */
};
struct lease_mgr *lease_new(struct kapi *k, const struct lease_cfg *cfg);
void lease_free(struct lease_mgr *l);
/* Published in ANN_LEASE_SUBNETS; a change is written at once. */
void lease_set_subnets(struct lease_mgr *l, const struct local_subnet *s,
		       size_t n);
/* Starts a renewal when due; returns the next instant (ms) it needs a
 * call. Create when absent, update with the resourceVersion, re-get on
 * 409. */
uint64_t lease_tick(struct lease_mgr *l, uint64_t now);
/* Our Lease watch saw resourceVersion rv of our Lease (ADDED/MODIFIED). */
void lease_seen(struct lease_mgr *l, const char *rv);
/* A renewal sent less than half of duration_s ago came back through our
 * Lease watch: we can write and we watch (see lease.c for why half). */
bool lease_in_contact(const struct lease_mgr *l, uint64_t now);
/* DELETE our Lease; done(data) runs when the request ended (either way). */
void lease_release(struct lease_mgr *l, void (*done)(void *data),
		   void *data);

/*
 * Liveness is judged only while we are in contact with the API: when we
 * cannot renew our own Lease, nobody's expiry is evidence of anything,
 * so the model pauses expiry, and every lease clock resumes where it
 * stopped when contact returns.
 */
void model_set_contact(struct model *m, bool in_contact, uint64_t now);

/* -------------------------------------------------------------- report.c */
struct reporter;
/* enabled false (--report=false): nothing is written. */
struct reporter *reporter_new(struct kapi *k, const char *node, bool enabled);
void reporter_free(struct reporter *r);
/* After a decision changed: when we hold a local VIP, every Service using
 * it should carry ANN_ANNOUNCING_V4/6 = "node,ifname" (merge-patch) and an
 * Event "kubelb announcing ..." is posted when it changed. Written only
 * when different from what the Service shows, rate-limited. */
void reporter_decision(struct reporter *r, const struct model *m,
		       const struct decision *d);
/* Sends what the rate limit allows; returns the next instant (ms) it
 * needs a call, or UINT64_MAX. */
uint64_t reporter_tick(struct reporter *r, uint64_t now);

/* ------------------------------------------------------------- metrics.c */
struct agent_view {
	const struct model *model;
	const struct kapi *kapi;	/* NULL in static-file mode */
	const struct reconciler *rec;
	struct kubelb *kernel;		/* for announcement counters */
	bool kernel_ok;			/* last kernel operation worked */
	bool synced;			/* every source listed */
};
struct metrics;
/* addr: "ADDR:PORT" or "[V6]:PORT"; serves /healthz, /readyz, /metrics
 * from view (read at request time). No thread: poll metrics_fd() and
 * call metrics_run() when it is readable. */
struct metrics *metrics_start(const char *addr, const struct agent_view *view,
			      char *err, size_t errlen);
int metrics_fd(const struct metrics *mx);
void metrics_run(struct metrics *mx);
void metrics_stop(struct metrics *mx);

/* ----------------------------------------------------------- options.c */
#define AGENT_MAX_AGGR	64

struct agent_opts {
	const char *kubeconfig;		/* --kubeconfig, else $KUBECONFIG */
	const char *services;		/* --services: static-file mode */
	const char *node;		/* --node, $NODE_NAME, hostname */
	const char *namespace;		/* --namespace, SA file, kubelb-system */
	const char *dev;		/* --dev, kube-lb0 */
	int lease_duration_s;		/* --lease-duration, 4 */
	int resync_interval_s;		/* --resync-interval, 60 */
	const char *lb_class;		/* --lb-class */
	struct aggr_rule aggr[AGENT_MAX_AGGR];	/* --aggregate CIDR=/LEN */
	size_t n_aggr;
	bool keep_on_exit;		/* --keep-on-exit */
	bool report;			/* --report[=true|false], true */
	const char *metrics_addr;	/* --metrics-addr ADDR:PORT */
	enum log_format log_format;	/* --log-format logfmt|json */
	int verbosity;			/* -v */
	bool help, version;
	char node_buf[256];
	char namespace_buf[256];
};

/*
 * argv -> opts, defaults filled in (environment and files read through
 * getenv and the service-account directory, $KUBELB_SA_DIR in tests).
 * Returns 0, or -1 with a one-line reason naming the argument in err.
 */
int agent_opts_parse(int argc, char **argv, struct agent_opts *o,
		     char *err, size_t errlen);
void agent_usage(FILE *f);
/* The service-account directory (/var/run/secrets/kubernetes.io/
 * serviceaccount unless $KUBELB_SA_DIR). */
const char *agent_sa_dir(void);

#endif /* KUBELB_AGENT_H */
