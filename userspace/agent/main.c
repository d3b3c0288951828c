// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelb-agent: one process, one event loop.
 *
 * Sources (kube-api watches, or a static file) feed the model; the model
 * hands over the decisions that changed; the reconciler makes the kernel
 * table match, touching only VIPs of AGENT_OWNER. Nothing is applied
 * before every source has listed and (with kube-api) a write of our own
 * Lease has come back through our watch, so a restart never withdraws
 * what should stay.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <curl/curl.h>

#include "agent.h"

/* Failed kernel operations are retried after this long. */
#define RETRY_MS		1000
/*
 * The holder of a local VIP re-asserts its announcing annotations this
 * often: a peer that briefly thought it had won may have overwritten them
 * (the reporter writes only what differs, so this costs nothing when all
 * is well).
 */
#define REPORT_REASSERT_MS	10000
/* How long a graceful stop waits for peers to take over. */
#define HANDOVER_TIMEOUT_MS	3000
/* With --report=false nobody tells us a peer took over: wait this long. */
#define HANDOVER_BLIND_MS	500

enum extra_fd {
	FD_SIGNAL,
	FD_SUBNETS,
	FD_INOTIFY,
	FD_METRICS,
	FD_MAX,
};

struct agent {
	struct agent_opts o;
	struct kubelb *kernel;
	uint32_t dev_ifindex;
	struct reconciler *rec;
	struct model *model;
	struct kapi *kapi;		/* NULL in static-file mode */
	struct kapi_config kcfg;
	struct lease_mgr *lease;
	struct reporter *reporter;
	struct metrics *metrics;
	struct agent_view view;
	struct curl_waitfd fds[FD_MAX];
	const char *services_base;	/* file name part of --services */

	bool applied_once;		/* start-of-day diff done */
	bool reload_static;
	bool stopping;
	bool released;			/* our Lease's DELETE finished */
	uint64_t stop_deadline;
	uint64_t handover_since;	/* when we started waiting */
	uint64_t retry_at;		/* failed kernel ops: next flush */
	uint64_t resync_at;		/* next full comparison with the kernel */
	uint64_t reassert_at;		/* next re-assertion of annotations */
	bool quit;

	/* Latency from a watch event's arrival to the kernel change: the
	 * first event since the last flush, in microseconds. */
	uint64_t first_event_us;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The watches feed the model through these, which note the arrival. */
#define WATCH_FEED(kind)						\
static void feed_##kind(void *data, enum kapi_event ev, const cJSON *obj) \
{									\
	struct agent *a = data;						\
									\
	if (!a->first_event_us)						\
		a->first_event_us = now_us();				\
	model_on_##kind(a->model, ev, obj);				\
}
WATCH_FEED(service)
WATCH_FEED(slice)
WATCH_FEED(node)

static void feed_lease(void *data, enum kapi_event ev, const cJSON *obj)
{
	struct agent *a = data;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta,
							   "resourceVersion");

	if (!a->first_event_us)
		a->first_event_us = now_us();
	if ((ev == KAPI_ADDED || ev == KAPI_MODIFIED) &&
	    cJSON_IsString(name) && cJSON_IsString(rv) &&
	    !strncmp(name->valuestring, LEASE_PREFIX, strlen(LEASE_PREFIX)) &&
	    !strcmp(name->valuestring + strlen(LEASE_PREFIX), a->o.node))
		lease_seen(a->lease, rv->valuestring);
	model_on_lease(a->model, ev, obj);
}

static void on_decision(void *data, const struct decision *d)
{
	struct agent *a = data;
	char ip[INET6_ADDRSTRLEN], plen[8];

	inet_ntop(d->family, &d->addr, ip, sizeof(ip));
	snprintf(plen, sizeof(plen), "%u", d->prefixlen);
	if (d->hold)
		alog(LOG_INFO, "hold", "vip", ip, "mode",
		     kubelb_mode_name(d->mode),
		     "link", d->mode == KUBELB_MODE_LOCAL ? d->ifname : a->o.dev,
		     "prefixlen", plen, "service", d->service,
		     "node", a->o.node, "why", d->why, NULL);
	else
		alog(LOG_INFO, "release", "vip", ip, "node", a->o.node,
		     "winner", d->winner[0] ? d->winner : "none",
		     "why", d->why, NULL);
	reconciler_want(a->rec, d);
	if (a->reporter)
		reporter_decision(a->reporter, a->model, d);
}

static int want_held(void *data, const struct decision *d)
{
	struct agent *a = data;

	reconciler_want(a->rec, d);
	return 0;
}

static int reassert_report(void *data, const struct decision *d)
{
	struct agent *a = data;

	if (d->mode == KUBELB_MODE_LOCAL)
		reporter_decision(a->reporter, a->model, d);
	return 0;
}

/*
 * After a start, announce every local VIP we hold, also those the kernel
 * kept from before: while this agent was away (a crash, an upgrade) a peer
 * may have taken them over, and the clients' neighbour caches still point
 * there. An announcement from the rightful holder is always harmless.
 */
static int announce_local(void *data, const struct decision *d)
{
	struct agent *a = data;
	struct kubelb_err kerr = { 0 };
	char ip[INET6_ADDRSTRLEN];

	if (d->mode != KUBELB_MODE_LOCAL)
		return 0;
	if (kubelb_vip_announce(a->kernel, d->family, &d->addr,
				a->dev_ifindex, NULL, &kerr)) {
		inet_ntop(d->family, &d->addr, ip, sizeof(ip));
		alog(LOG_WARN, "cannot announce", "vip", ip, "error",
		     kubelb_err_str(&kerr), NULL);
	}
	return 0;
}

static void flush_kernel(struct agent *a, uint64_t now)
{
	int failed = reconciler_flush(a->rec);

	a->view.kernel_ok = failed >= 0;
	/* unreachable kernel: try again soon; failed ops: their backoff */
	a->retry_at = failed < 0 ? now + RETRY_MS :
		      failed ? reconciler_next_retry(a->rec) : 0;
	if (a->retry_at == UINT64_MAX)
		a->retry_at = 0;
	if (a->first_event_us) {
		char us[24];

		snprintf(us, sizeof(us), "%llu", (unsigned long long)
			 (now_us() - a->first_event_us));
		alog(LOG_INFO, "applied", "since_event_us", us, NULL);
	}
}

/*
 * The kernel table is re-read every --resync-interval and anything of
 * ours that an operator or another program changed is put back.
 */
static uint64_t resync_ms(const struct agent *a)
{
	return (uint64_t)a->o.resync_interval_s * 1000;
}

/* Compare everything the model holds with the kernel table again. */
static void resync(struct agent *a, uint64_t now, bool reload)
{
	struct kubelb_err kerr = { 0 };

	a->resync_at = now + resync_ms(a);
	if (reload && reconciler_load(a->rec, &kerr)) {
		alog(LOG_WARN, "cannot read the kernel's VIPs", "error",
		     kubelb_err_str(&kerr), NULL);
		a->view.kernel_ok = false;
		return;
	}
	reconciler_mark_full(a->rec);
	model_each_held(a->model, want_held, a);
	flush_kernel(a, now);
}

/* The kubelb device may have been re-created (module reload): start over
 * from the kernel's table, re-queueing everything the model holds. */
static int check_device(struct agent *a)
{
	struct kubelb_err kerr = { 0 };
	uint32_t ifindex = if_nametoindex(a->o.dev);

	if (ifindex == a->dev_ifindex)
		return 0;
	if (!ifindex) {
		if (a->view.kernel_ok)
			alog(LOG_ERROR, "kubelb device is gone", "dev",
			     a->o.dev, NULL);
		a->view.kernel_ok = false;
		a->dev_ifindex = 0;
		return -ENODEV;
	}
	alog(LOG_WARN, "kubelb device re-created: resyncing", "dev",
	     a->o.dev, NULL);
	a->dev_ifindex = ifindex;
	reconciler_free(a->rec);
	a->rec = reconciler_new(a->kernel, ifindex, &kerr);
	if (!a->rec || reconciler_load(a->rec, &kerr)) {
		alog(LOG_ERROR, "cannot read the kernel's VIPs", "error",
		     kubelb_err_str(&kerr), NULL);
		exit(1);
	}
	a->view.rec = a->rec;
	if (a->applied_once)
		resync(a, now_ms(), false);
	return 0;
}

static void refresh_subnets(struct agent *a)
{
	struct local_subnet *s = NULL;
	size_t n = 0;
	char err[256];

	if (subnets_read(&s, &n, err, sizeof(err))) {
		alog(LOG_ERROR, "cannot read interface addresses", "error", err,
		     NULL);
		return;
	}
	model_set_local_subnets(a->model, s, n);
	if (a->lease)
		lease_set_subnets(a->lease, s, n);
	free(s);
}

static int load_static(struct agent *a)
{
	char err[512];

	if (staticsrc_load(a->o.services, a->model, err, sizeof(err))) {
		alog(LOG_ERROR, "cannot load the services file; keeping the previous state",
		     "file", a->o.services, "error", err, NULL);
		return -1;
	}
	alog(LOG_INFO, "services file loaded", "file", a->o.services, NULL);
	return 0;
}

static void on_released(void *data)
{
	struct agent *a = data;

	a->released = true;
	a->handover_since = now_ms();
	alog(LOG_INFO, "lease released: peers take over", NULL);
}

static void begin_stop(struct agent *a, const char *why)
{
	uint64_t now = now_ms();

	if (a->stopping) {
		alog(LOG_WARN, "second signal: stopping now", NULL);
		a->quit = true;
		return;
	}
	a->stopping = true;
	a->stop_deadline = now + HANDOVER_TIMEOUT_MS;
	alog(LOG_INFO, "stopping", "signal", why,
	     "keep_on_exit", a->o.keep_on_exit ? "true" : "false", NULL);
	if (a->o.keep_on_exit || !a->applied_once) {
		a->quit = true;
		return;
	}
	if (a->lease)
		lease_release(a->lease, on_released, a);
	else
		a->released = true, a->handover_since = now;
}

struct handover {
	struct agent *a;
	uint16_t family;
	bool taken;
};

/* "node,ifname" names a node other than us */
static bool names_other_node(const char *annotation, const char *node)
{
	size_t n = strlen(node);

	return annotation && !(strncmp(annotation, node, n) == 0 &&
			       annotation[n] == ',');
}

static int service_announced_elsewhere(void *data, const struct k8s_service *s)
{
	struct handover *h = data;
	const char *ann = h->family == AF_INET ? s->announcing_v4 :
						 s->announcing_v6;

	if (names_other_node(ann, h->a->o.node))
		h->taken = true;
	return h->taken;
}

/* Non-zero (stops the walk) at the first local VIP no peer announces. */
static int local_vip_still_ours(void *data, const struct decision *d)
{
	struct handover *h = data;

	if (d->mode != KUBELB_MODE_LOCAL)
		return 0;
	h->family = d->family;
	h->taken = false;
	model_each_service_of(h->a->model, d->family, &d->addr,
			      service_announced_elsewhere, h);
	return !h->taken;
}

/* During a graceful stop: have the peers taken over our local VIPs? */
static bool handover_done(struct agent *a, uint64_t now)
{
	struct handover h = { .a = a };

	if (!a->released)
		return false;
	if (!a->reporter || !a->o.report)
		return now >= a->handover_since + HANDOVER_BLIND_MS;
	return model_each_held(a->model, local_vip_still_ours, &h) == 0;
}

static void handle_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->fds[FD_SIGNAL].fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
			begin_stop(a, "TERM");
			break;
		case SIGINT:
			begin_stop(a, "INT");
			break;
		case SIGHUP:
			if (a->o.services)
				a->reload_static = true;
			break;
		}
	}
}

static void handle_inotify(struct agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(a->fds[FD_INOTIFY].fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len && !strcmp(ev->name, a->services_base))
				a->reload_static = true;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int setup_fds(struct agent *a)
{
	sigset_t mask;
	int i;

	for (i = 0; i < FD_MAX; i++) {
		a->fds[i].fd = -1;
		a->fds[i].events = CURL_WAIT_POLLIN;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->fds[FD_SIGNAL].fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a->fds[FD_SUBNETS].fd = subnets_monitor_open();
	if (a->fds[FD_SIGNAL].fd < 0 || a->fds[FD_SUBNETS].fd < 0) {
		alog(LOG_ERROR, "cannot open signal or rtnetlink sockets",
		     "error", strerror(errno), NULL);
		return -1;
	}
	if (a->o.services) {
		/* Watch the directory: editors and ConfigMaps replace files. */
		char dir[4096];
		const char *slash = strrchr(a->o.services, '/');

		if (slash) {
			snprintf(dir, sizeof(dir), "%.*s",
				 (int)(slash - a->o.services), a->o.services);
			if (!dir[0])
				strcpy(dir, "/");
			a->services_base = slash + 1;
		} else {
			strcpy(dir, ".");
			a->services_base = a->o.services;
		}
		a->fds[FD_INOTIFY].fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (a->fds[FD_INOTIFY].fd < 0 ||
		    inotify_add_watch(a->fds[FD_INOTIFY].fd, dir,
				      IN_CLOSE_WRITE | IN_MOVED_TO |
				      IN_CREATE) < 0)
			alog(LOG_WARN, "cannot watch the services file; SIGHUP still reloads it",
			     "dir", dir, "error", strerror(errno), NULL);
	}
	if (a->metrics)
		a->fds[FD_METRICS].fd = metrics_fd(a->metrics);
	return 0;
}

static int setup_kube(struct agent *a)
{
	static char coll[4][512];
	struct lease_cfg lc = {
		.node = a->o.node,
		.namespace = a->o.namespace,
		.duration_s = a->o.lease_duration_s,
	};
	char err[512];
	const char *kc = a->o.kubeconfig;
	int ret;

	if (!kc && getenv("KUBECONFIG") && *getenv("KUBECONFIG"))
		ret = kubeconfig_load(NULL, &a->kcfg, err, sizeof(err));
	else if (kc)
		ret = kubeconfig_load(kc, &a->kcfg, err, sizeof(err));
	else
		ret = incluster_load(&a->kcfg, err, sizeof(err));
	if (ret) {
		alog(LOG_ERROR, "no kube-api configuration", "error", err, NULL);
		return -1;
	}
	a->kapi = kapi_new(&a->kcfg, err, sizeof(err));
	if (!a->kapi) {
		alog(LOG_ERROR, "cannot start the kube-api client", "error", err,
		     NULL);
		return -1;
	}
	snprintf(coll[0], sizeof(coll[0]), "/api/v1/services");
	snprintf(coll[1], sizeof(coll[1]),
		 "/apis/discovery.k8s.io/v1/endpointslices");
	snprintf(coll[2], sizeof(coll[2]), "/api/v1/nodes");
	snprintf(coll[3], sizeof(coll[3]),
		 "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
		 a->o.namespace);
	if (!kapi_watch_add(a->kapi, coll[0], feed_service, a) ||
	    !kapi_watch_add(a->kapi, coll[1], feed_slice, a) ||
	    !kapi_watch_add(a->kapi, coll[2], feed_node, a) ||
	    !kapi_watch_add(a->kapi, coll[3], feed_lease, a)) {
		alog(LOG_ERROR, "cannot start the watches", NULL);
		return -1;
	}
	a->lease = lease_new(a->kapi, &lc);
	a->reporter = reporter_new(a->kapi, a->o.node, a->o.report);
	if (!a->lease || !a->reporter) {
		alog(LOG_ERROR, "out of memory", NULL);
		return -1;
	}
	return 0;
}

static int setup(struct agent *a)
{
	struct kubelb_err kerr = { 0 };
	struct model_cfg mc = {
		.node = a->o.node,
		.lb_class = a->o.lb_class,
		.aggr = a->o.aggr,
		.n_aggr = a->o.n_aggr,
		.no_leases = a->o.services != NULL,
	};
	char err[512];

	if (kubelb_open(&a->kernel, &kerr)) {
		alog(LOG_ERROR, "cannot talk to the kubelb module: is it loaded? (modprobe kubelb)",
		     "error", kubelb_err_str(&kerr), NULL);
		return -1;
	}
	a->dev_ifindex = if_nametoindex(a->o.dev);
	if (!a->dev_ifindex) {
		alog(LOG_ERROR, "kubelb device not found (modprobe kubelb ifname=..., or ip link add NAME type kubelb)",
		     "dev", a->o.dev, NULL);
		return -1;
	}
	a->rec = reconciler_new(a->kernel, a->dev_ifindex, &kerr);
	if (!a->rec || reconciler_load(a->rec, &kerr)) {
		alog(LOG_ERROR, "cannot read the kernel's VIPs", "error",
		     kubelb_err_str(&kerr), NULL);
		return -1;
	}
	mc.dev_ifindex = a->dev_ifindex;
	a->model = model_new(&mc);
	if (!a->model) {
		alog(LOG_ERROR, "out of memory", NULL);
		return -1;
	}
	if (a->o.services) {
		if (load_static(a))
			return -1;
	} else if (setup_kube(a)) {
		return -1;
	}
	refresh_subnets(a);

	a->view.model = a->model;
	a->view.kapi = a->kapi;
	a->view.rec = a->rec;
	a->view.kernel = a->kernel;
	a->view.kernel_ok = true;
	if (a->o.metrics_addr) {
		a->metrics = metrics_start(a->o.metrics_addr, &a->view, err,
					   sizeof(err));
		if (!a->metrics) {
			alog(LOG_ERROR, "cannot serve metrics", "addr",
			     a->o.metrics_addr, "error", err, NULL);
			return -1;
		}
	}
	return setup_fds(a);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One turn of the loop after waiting: feed the model, apply. */
static void step(struct agent *a, uint64_t now)
{
	bool in_contact = !a->lease || lease_in_contact(a->lease, now);

	if (a->reload_static) {
		a->reload_static = false;
		load_static(a);
	}
	if (a->lease)
		model_set_contact(a->model, in_contact, now);
	a->view.synced = !a->kapi || kapi_all_synced(a->kapi);

	if (a->stopping) {
		if (a->quit)
			return;
		if (handover_done(a, now) || now >= a->stop_deadline) {
			if (now >= a->stop_deadline)
				alog(LOG_WARN, "peers did not confirm the takeover in time; withdrawing anyway",
				     NULL);
			reconciler_withdraw_all(a->rec);
			a->quit = true;
		}
		return;
	}
	/* The start of day also waits for our own Lease: peers must see us
	 * before we claim anything. Later, losing contact only pauses the
	 * peers' liveness (in the model); Service changes still apply. */
	if (!a->view.synced || !a->dev_ifindex ||
	    (!a->applied_once && !in_contact))
		return;
	if (!a->applied_once) {
		const struct model_stats *ms;
		char local[24], virt[24];

		/* Start of day: whatever of ours is not wanted now goes,
		 * and equal VIPs are left alone. */
		alog(LOG_INFO, "synced: applying the cluster's state", NULL);
		reconciler_mark_full(a->rec);
		model_update(a->model, now, on_decision, a);
		flush_kernel(a, now);
		model_each_held(a->model, announce_local, a);
		a->applied_once = true;
		a->resync_at = now + resync_ms(a);
		ms = model_stats(a->model);
		snprintf(local, sizeof(local), "%zu", ms->held_local);
		snprintf(virt, sizeof(virt), "%zu", ms->held_virtual);
		alog(LOG_INFO, "initial state applied", "local", local,
		     "virtual", virt, NULL);
	} else if (model_update(a->model, now, on_decision, a) ||
		   (a->retry_at && now >= a->retry_at)) {
		flush_kernel(a, now);
	}
	if (now >= a->resync_at)
		resync(a, now, true);
	if (a->reporter && now >= a->reassert_at) {
		a->reassert_at = now + REPORT_REASSERT_MS;
		model_each_held(a->model, reassert_report, a);
	}
	a->first_event_us = 0;
}

static void run(struct agent *a)
{
	while (!a->quit) {
		uint64_t now = now_ms(), next = now + 1000;
		struct pollfd pfd[FD_MAX];
		int i, n = 0, timeout;

		/* only step() after the start of day consumes expiries */
		if (a->applied_once && !a->stopping)
			next = min_u64(next, model_next_expiry(a->model, now));
		if (a->lease)
			next = min_u64(next, lease_tick(a->lease, now));
		if (a->reporter)
			next = min_u64(next, reporter_tick(a->reporter, now));
		if (a->retry_at)
			next = min_u64(next, a->retry_at);
		if (a->applied_once)
			next = min_u64(next, a->resync_at);
		if (a->applied_once && a->reporter)
			next = min_u64(next, a->reassert_at);
		if (a->stopping)
			next = min_u64(next, now + 50);
		timeout = next > now ? (int)min_u64(next - now, 1000) : 0;

		if (a->kapi) {
			if (kapi_poll(a->kapi, a->fds, FD_MAX, timeout) < 0)
				alog(LOG_WARN, "kube-api client poll failed", NULL);
		} else {
			for (i = 0; i < FD_MAX; i++) {
				pfd[i].fd = a->fds[i].fd;
				pfd[i].events = POLLIN;
				pfd[i].revents = 0;
			}
			n = poll(pfd, FD_MAX, timeout);
			for (i = 0; i < FD_MAX; i++)
				a->fds[i].revents = n > 0 && (pfd[i].revents & POLLIN) ?
						    CURL_WAIT_POLLIN : 0;
		}
		if (a->fds[FD_SIGNAL].revents)
			handle_signal(a);
		if (a->fds[FD_SUBNETS].revents) {
			subnets_monitor_drain(a->fds[FD_SUBNETS].fd);
			check_device(a);
			refresh_subnets(a);
		}
		if (a->fds[FD_INOTIFY].fd >= 0 && a->fds[FD_INOTIFY].revents)
			handle_inotify(a);
		if (a->metrics && a->fds[FD_METRICS].revents)
			metrics_run(a->metrics);
		for (i = 0; i < FD_MAX; i++)
			a->fds[i].revents = 0;
		step(a, now_ms());
	}
}

static void teardown(struct agent *a)
{
	int i;

	if (a->metrics)
		metrics_stop(a->metrics);
	reporter_free(a->reporter);
	lease_free(a->lease);
	kapi_free(a->kapi);
	kapi_config_free(&a->kcfg);
	model_free(a->model);
	reconciler_free(a->rec);
	if (a->kernel)
		kubelb_close(a->kernel);
	for (i = 0; i < FD_MAX; i++)
		if (a->fds[i].fd >= 0)
			close(a->fds[i].fd);
}

int main(int argc, char **argv)
{
	static struct agent a;
	char err[512];
	int ret;

	if (agent_opts_parse(argc, argv, &a.o, err, sizeof(err))) {
		fprintf(stderr, "kubelb-agent: %s\n", err);
		return 2;
	}
	if (a.o.help) {
		agent_usage(stdout);
		return 0;
	}
	if (a.o.version) {
		printf("kubelb-agent %s\n", KUBELB_VERSION);
		return 0;
	}
	log_init(a.o.log_format, a.o.verbosity, stderr);
	for (ret = 0; ret < FD_MAX; ret++)
		a.fds[ret].fd = -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		alog(LOG_ERROR, "libcurl initialisation failed", NULL);
		return 1;
	}
	alog(LOG_INFO, "starting", "node", a.o.node, "namespace",
	     a.o.namespace, "dev", a.o.dev,
	     "source", a.o.services ? a.o.services : "kube-api", NULL);
	ret = setup(&a) ? 1 : 0;
	if (!ret)
		run(&a);
	teardown(&a);
	curl_global_cleanup();
	alog(LOG_INFO, "stopped", NULL);
	return ret;
}
