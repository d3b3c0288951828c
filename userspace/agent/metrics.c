// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /healthz, /readyz and /metrics over libmicrohttpd, driven by the
 * agent's event loop: MHD runs without a thread of its own, in epoll
 * mode, and its epoll descriptor is one more fd for main's poll().
 * Everything is read from the agent's view at request time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "agent.h"
#include "agent_int.h"

/* A scrape every few seconds needs few connections; keep it bounded. */
#define METRICS_CONN_LIMIT	32
#define METRICS_CONN_TIMEOUT_S	10

struct metrics {
	struct MHD_Daemon *d;
	const struct agent_view *view;
	int epoll_fd;
	unsigned int port;
};

/* ---------------------------------------------------------- rendering */

static void header(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_reconcile(FILE *f, const struct reconcile_stats *s)
{
	const char *h = "kubelb_agent_reconcile_duration_seconds";
	uint64_t cum = 0;
	size_t i;

	header(f, "kubelb_agent_reconcile_ops_total", "counter",
	       "Kernel VIP operations, by kind; error counts failed ones.");
	fprintf(f, "kubelb_agent_reconcile_ops_total{op=\"add\"} %llu\n"
		"kubelb_agent_reconcile_ops_total{op=\"replace\"} %llu\n"
		"kubelb_agent_reconcile_ops_total{op=\"del\"} %llu\n"
		"kubelb_agent_reconcile_ops_total{op=\"error\"} %llu\n",
		(unsigned long long)s->adds,
		(unsigned long long)s->replaces,
		(unsigned long long)s->dels,
		(unsigned long long)s->errors);
	header(f, h, "histogram",
	       "Time to apply a batch of decisions to the kernel.");
	for (i = 0; i < RECONCILE_BUCKETS; i++) {
		cum += s->seconds_bucket[i];
		if (i < RECONCILE_BUCKETS - 1)
			fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", h,
				reconcile_bucket_le[i],
				(unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", h,
				(unsigned long long)cum);
	}
	fprintf(f, "%s_sum %.9g\n%s_count %llu\n", h, s->seconds_sum, h,
		(unsigned long long)cum);
}

static void render_kapi(FILE *f, const struct kapi_stats *s)
{
	size_t c;

	header(f, "kubelb_agent_watch_restarts_total", "counter",
	       "Watches started again after they ended.");
	fprintf(f, "kubelb_agent_watch_restarts_total %llu\n",
		(unsigned long long)s->watch_restarts);
	header(f, "kubelb_agent_relists_total", "counter",
	       "Lists after the first, by any watch.");
	fprintf(f, "kubelb_agent_relists_total %llu\n",
		(unsigned long long)s->relists);
	header(f, "kubelb_agent_api_errors_total", "counter",
	       "Failed kube-api requests, by HTTP status code (transport: "
	       "no response).");
	fprintf(f, "kubelb_agent_api_errors_total{code=\"transport\"} %llu\n",
		(unsigned long long)s->api_errors[0]);
	for (c = 100; c < 600; c++)
		if (s->api_errors_by_code[c])
			fprintf(f, "kubelb_agent_api_errors_total"
				"{code=\"%zu\"} %llu\n", c,
				(unsigned long long)s->api_errors_by_code[c]);
}

char *metrics_render(const struct metrics_input *in, size_t *len)
{
	char *out = NULL;
	FILE *f;

	*len = 0;
	f = open_memstream(&out, len);
	if (!f)
		return NULL;
	if (in->model) {
		header(f, "kubelb_agent_vips", "gauge",
		       "VIPs this node holds, by mode.");
		fprintf(f, "kubelb_agent_vips{mode=\"local\"} %zu\n"
			"kubelb_agent_vips{mode=\"virtual\"} %zu\n",
			in->model->held_local, in->model->held_virtual);
		header(f, "kubelb_agent_elections_total", "counter",
		       "Local VIP elections this node won or lost.");
		fprintf(f, "kubelb_agent_elections_total{result=\"won\"} %llu\n"
			"kubelb_agent_elections_total{result=\"lost\"} %llu\n",
			(unsigned long long)in->model->elections_won,
			(unsigned long long)in->model->elections_lost);
	}
	if (in->kapi)
		render_kapi(f, in->kapi);
	if (in->rec)
		render_reconcile(f, in->rec);
	if (in->have_announced) {
		header(f, "kubelb_agent_announcements_total", "counter",
		       "Gratuitous ARPs and unsolicited Neighbor "
		       "Advertisements the kernel sent for our VIPs.");
		fprintf(f, "kubelb_agent_announcements_total %llu\n",
			(unsigned long long)in->announced);
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

static int sum_announced(const struct kubelb_vip *v, void *data)
{
	uint64_t *sum = data;

	if (v->owner == AGENT_OWNER)
		*sum += v->stats[KUBELB_STATS_ANNOUNCED];
	return 0;
}

static char *render_view(const struct agent_view *v, size_t *len)
{
	struct metrics_input in = { 0 };
	struct kubelb_filter f = { .has_owner = true, .owner = AGENT_OWNER };
	struct kubelb_err err;

	if (v->model)
		in.model = model_stats(v->model);
	if (v->kapi)
		in.kapi = kapi_stats(v->kapi);
	if (v->rec)
		in.rec = reconciler_stats(v->rec);
	/* a failed dump leaves the counter out rather than reset it */
	if (v->kernel &&
	    kubelb_vip_dump(v->kernel, &f, sum_announced, &in.announced,
			    &err) == 0)
		in.have_announced = true;
	return metrics_render(&in, len);
}

/* ------------------------------------------------------------- server */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c,
				  unsigned int code, const char *text)
{
	char *s = strdup(text);

	if (!s)
		return MHD_NO;
	return reply(c, code, "text/plain; charset=utf-8", s, strlen(s));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct metrics *mx = cls;
	const struct agent_view *v = mx->view;
	char *body;
	size_t len;

	(void)version;
	(void)upload;
	/* no request body is expected; ignore any */
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed\n");
	if (!strcmp(url, "/healthz"))
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/readyz")) {
		if (v && !v->synced)
			return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "not ready: waiting for the initial "
					  "list of every watch\n");
		if (v && !v->kernel_ok)
			return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "not ready: the last kernel "
					  "operation failed\n");
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	}
	if (!strcmp(url, "/metrics")) {
		body = v ? render_view(v, &len) : strdup("");
		if (!v && body)
			len = 0;
		if (!body)
			return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "out of memory\n");
		return reply(c, MHD_HTTP_OK,
			     "text/plain; version=0.0.4; charset=utf-8",
			     body, len);
	}
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* "ADDR:PORT", "[V6]:PORT", ":PORT" (every address) */
static int parse_listen(const char *s, char *host, size_t hostlen,
			char *port, size_t portlen)
{
	const char *colon, *h = s;
	size_t n;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		n = end - h;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return -EINVAL;
		n = colon - s;
	}
	if (n >= hostlen || !colon[1] || strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atol(colon + 1) > 65535)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	alog(LOG_DEBUG, "metrics server", "detail", msg, NULL);
}

static struct MHD_Daemon *listen_on(struct metrics *mx, const char *host,
				    const char *port, bool dual,
				    char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_family = dual ? AF_INET6 : AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	struct addrinfo *ai;
	int ret;

	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(ret));
		return NULL;
	}
	if (dual)
		flags |= MHD_USE_DUAL_STACK;
	else if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, mx,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)METRICS_CONN_LIMIT,
			     MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)METRICS_CONN_TIMEOUT_S,
			     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d)
		snprintf(err, errlen, "cannot listen on %s port %s (in use, "
			 "or not an address of this host?)", host, port);
	return d;
}

struct metrics *metrics_start(const char *addr, const struct agent_view *view,
			      char *err, size_t errlen)
{
	struct metrics *mx;
	const union MHD_DaemonInfo *info;
	char host[256], port[8];

	if (parse_listen(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "%s: expected ADDR:PORT or [V6]:PORT",
			 addr);
		return NULL;
	}
	mx = calloc(1, sizeof(*mx));
	if (!mx) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mx->view = view;
	if (*host) {
		mx->d = listen_on(mx, host, port, false, err, errlen);
	} else {
		/* ":PORT": every address, IPv6 and IPv4, or IPv4 alone on a
		 * host without IPv6 */
		mx->d = listen_on(mx, "::", port, true, err, errlen);
		if (!mx->d)
			mx->d = listen_on(mx, "0.0.0.0", port, false, err,
					  errlen);
	}
	if (!mx->d) {
		free(mx);
		return NULL;
	}
	info = MHD_get_daemon_info(mx->d, MHD_DAEMON_INFO_EPOLL_FD);
	mx->epoll_fd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(mx->d, MHD_DAEMON_INFO_BIND_PORT);
	mx->port = info ? info->port : 0;
	if (mx->epoll_fd < 0) {
		snprintf(err, errlen, "libmicrohttpd has no epoll descriptor");
		MHD_stop_daemon(mx->d);
		free(mx);
		return NULL;
	}
	alog(LOG_INFO, "serving /healthz, /readyz and /metrics", "addr",
	     addr, NULL);
	return mx;
}

int metrics_fd(const struct metrics *mx)
{
	return mx->epoll_fd;
}

unsigned int metrics_port(const struct metrics *mx)
{
	return mx->port;
}

void metrics_run(struct metrics *mx)
{
	MHD_run(mx->d);
}

void metrics_stop(struct metrics *mx)
{
	if (!mx)
		return;
	MHD_stop_daemon(mx->d);
	free(mx);
}
