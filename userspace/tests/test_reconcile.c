// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelb-agent, kernel side: the reconciler's diff, /metrics rendering and
 * the HTTP endpoints, and the interface subnets of this namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "../agent/agent.h"
#include "../agent/agent_int.h"
#include "tap.h"

/* --------------------------------------------------------- reconcile */

static struct rec_vip vip(uint32_t dev, uint8_t mode, uint32_t link,
			  uint8_t plen, const char *svc)
{
	struct rec_vip v;

	memset(&v, 0, sizeof(v));
	v.ifindex = dev;
	v.mode = mode;
	v.link = link;
	v.prefixlen = plen;
	snprintf(v.service, sizeof(v.service), "%s", svc);
	return v;
}

static void test_op(void)
{
	struct rec_vip cur = vip(5, KUBELB_MODE_LOCAL, 2, 32, "default/web");
	struct rec_vip want = cur;

	ok(reconcile_op(NULL, &want) == REC_ADD,
	   "reconcile: held and absent -> add");
	ok(reconcile_op(&cur, &want) == REC_NONE,
	   "reconcile: held and equal -> no op (a restart keeps the VIP)");
	ok(reconcile_op(&cur, NULL) == REC_DEL,
	   "reconcile: not held and present -> delete");
	ok(reconcile_op(NULL, NULL) == REC_NONE,
	   "reconcile: not held and absent -> no op");
	want.link = 3;
	ok(reconcile_op(&cur, &want) == REC_REPLACE,
	   "reconcile: local VIP on another link -> replace");
	want = vip(5, KUBELB_MODE_VIRTUAL, 0, 32, "default/web");
	ok(reconcile_op(&cur, &want) == REC_REPLACE,
	   "reconcile: local -> virtual -> replace");
	want = cur;
	want.prefixlen = 24;
	ok(reconcile_op(&cur, &want) == REC_REPLACE,
	   "reconcile: other aggregation prefix -> replace");
	want = cur;
	snprintf(want.service, sizeof(want.service), "default/other");
	ok(reconcile_op(&cur, &want) == REC_REPLACE,
	   "reconcile: other Service name -> replace");
	want = cur;
	want.ifindex = 6;
	ok(reconcile_op(&cur, &want) == REC_MOVE,
	   "reconcile: on another kubelb device -> delete there, add here");
}

static void test_vip_of(void)
{
	struct decision d;
	struct rec_vip v;

	memset(&d, 0, sizeof(d));
	d.family = AF_INET;
	inet_pton(AF_INET, "10.9.0.100", &d.addr);
	d.hold = true;
	d.mode = KUBELB_MODE_VIRTUAL;
	d.link = 7;		/* must not matter for a virtual VIP */
	d.prefixlen = 24;
	snprintf(d.service, sizeof(d.service), "ns/svc");
	reconcile_vip_of(&d, 11, &v);
	ok(v.ifindex == 11 && v.mode == KUBELB_MODE_VIRTUAL && v.link == 0 &&
	   v.prefixlen == 24 && !strcmp(v.service, "ns/svc"),
	   "reconcile: virtual VIP on the kubelb device, no link");
	d.mode = KUBELB_MODE_LOCAL;
	reconcile_vip_of(&d, 11, &v);
	ok(v.ifindex == 11 && v.mode == KUBELB_MODE_LOCAL && v.link == 7,
	   "reconcile: local VIP on the kubelb device with its link");
}

/* Without a kernel: queueing must not crash or leak. */
static void test_reconciler_nokernel(void)
{
	struct kubelb_err err = { 0 };
	struct reconciler *r = reconciler_new(NULL, 1, &err);
	const struct reconcile_stats *st;

	ok(r != NULL, "reconciler: created");
	if (!r)
		return;
	st = reconciler_stats(r);
	ok(st->runs == 0 && st->adds == 0 && reconciler_flush(r) == 0 &&
	   st->runs == 0, "reconciler: flushing nothing does nothing");
	ok(reconciler_next_retry(r) == UINT64_MAX,
	   "reconciler: no retry pending");
	reconciler_free(r);
}

/* ----------------------------------------------------------- metrics */

static void test_render(void)
{
	struct model_stats ms = { 3, 4, 2, 5 };
	static struct kapi_stats ks;
	struct reconcile_stats rs = { 0 };
	struct metrics_input in = { 0 };
	char *s;
	size_t len;

	s = metrics_render(&in, &len);
	ok(s && len == 0, "metrics: nothing known, nothing rendered");
	free(s);

	rs.adds = 10;
	rs.errors = 1;
	rs.runs = 3;
	rs.seconds_sum = 0.0125;
	rs.seconds_bucket[0] = 1;	/* <= 0.0005 */
	rs.seconds_bucket[4] = 1;	/* <= 0.01 */
	rs.seconds_bucket[RECONCILE_BUCKETS - 1] = 1;	/* > 1 s */
	ks.watch_restarts = 7;
	ks.relists = 2;
	ks.api_errors[0] = 4;
	ks.api_errors[5] = 2;
	ks.api_errors_by_code[503] = 2;
	in.model = &ms;
	in.kapi = &ks;
	in.rec = &rs;
	in.have_announced = true;
	in.announced = 42;
	s = metrics_render(&in, &len);
	ok(s && len == strlen(s), "metrics: rendered");
	if (!s)
		return;
	ok(strstr(s, "# TYPE kubelb_agent_vips gauge\n") &&
	   strstr(s, "\nkubelb_agent_vips{mode=\"local\"} 2\n") &&
	   strstr(s, "\nkubelb_agent_vips{mode=\"virtual\"} 5\n"),
	   "metrics: VIPs by mode");
	ok(strstr(s, "# HELP kubelb_agent_elections_total ") &&
	   strstr(s, "\nkubelb_agent_elections_total{result=\"won\"} 3\n") &&
	   strstr(s, "\nkubelb_agent_elections_total{result=\"lost\"} 4\n"),
	   "metrics: elections won and lost");
	ok(strstr(s, "\nkubelb_agent_watch_restarts_total 7\n") &&
	   strstr(s, "\nkubelb_agent_relists_total 2\n"),
	   "metrics: watch restarts and relists");
	ok(strstr(s, "kubelb_agent_api_errors_total{code=\"transport\"} 4\n") &&
	   strstr(s, "kubelb_agent_api_errors_total{code=\"503\"} 2\n") &&
	   !strstr(s, "code=\"500\""),
	   "metrics: API errors by code, transport for no response");
	ok(strstr(s, "# TYPE kubelb_agent_reconcile_duration_seconds "
		  "histogram\n") &&
	   strstr(s, "_bucket{le=\"0.0005\"} 1\n") &&
	   strstr(s, "_bucket{le=\"0.005\"} 1\n") &&
	   strstr(s, "_bucket{le=\"0.01\"} 2\n") &&
	   strstr(s, "_bucket{le=\"1\"} 2\n") &&
	   strstr(s, "_bucket{le=\"+Inf\"} 3\n") &&
	   strstr(s, "kubelb_agent_reconcile_duration_seconds_sum 0.0125\n") &&
	   strstr(s, "kubelb_agent_reconcile_duration_seconds_count 3\n"),
	   "metrics: duration histogram with cumulative buckets");
	ok(strstr(s, "kubelb_agent_reconcile_ops_total{op=\"add\"} 10\n") &&
	   strstr(s, "kubelb_agent_reconcile_ops_total{op=\"error\"} 1\n"),
	   "metrics: reconcile ops by kind");
	ok(strstr(s, "# TYPE kubelb_agent_announcements_total counter\n"
		  "kubelb_agent_announcements_total 42\n") != NULL,
	   "metrics: announcements");
	ok(s[len - 1] == '\n', "metrics: ends with a newline");
	free(s);
}

/* One HTTP/1.0 GET against the server, driving it ourselves. */
static int http_get(struct metrics *mx, const char *path, char *resp,
		    size_t resplen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char req[256];
	size_t got = 0;
	int fd, i;

	sa.sin_port = htons(metrics_port(mx));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	for (i = 0; i < 200; i++) {
		struct pollfd p[2] = {
			{ .fd = metrics_fd(mx), .events = POLLIN },
			{ .fd = fd, .events = POLLIN | POLLOUT },
		};
		ssize_t n;

		poll(p, 2, 10);
		metrics_run(mx);
		if (req[0] && (p[1].revents & POLLOUT)) {
			if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0)
				req[0] = '\0';
			continue;
		}
		n = recv(fd, resp + got, resplen - 1 - got, 0);
		if (n > 0) {
			got += n;
			continue;
		}
		if (n == 0)
			break;
	}
	close(fd);
	resp[got] = '\0';
	return got ? 0 : -1;
}

static void test_http(void)
{
	struct agent_view view = { 0 };
	struct metrics *mx;
	char err[256], resp[16384];

	mx = metrics_start("127.0.0.1", &view, err, sizeof(err));
	ok(!mx && err[0], "http: address without a port refused: %s", err);
	mx = metrics_start("[::1:9100", &view, err, sizeof(err));
	ok(!mx, "http: unbalanced bracket refused: %s", err);
	mx = metrics_start("127.0.0.1:0", &view, err, sizeof(err));
	ok(mx && metrics_fd(mx) >= 0 && metrics_port(mx) > 0,
	   "http: listening, with an epoll fd for our loop");
	if (!mx)
		return;
	ok(!http_get(mx, "/healthz", resp, sizeof(resp)) &&
	   !strncmp(resp, "HTTP/1.", 7) && strstr(resp, " 200 ") &&
	   strstr(resp, "\r\n\r\nok\n"), "http: /healthz 200 ok");
	ok(!http_get(mx, "/readyz", resp, sizeof(resp)) &&
	   strstr(resp, " 503 ") && strstr(resp, "watch"),
	   "http: /readyz 503 while not synced, with the reason");
	view.synced = true;
	ok(!http_get(mx, "/readyz", resp, sizeof(resp)) &&
	   strstr(resp, " 503 ") && strstr(resp, "kernel"),
	   "http: /readyz 503 while the kernel is not reachable");
	view.kernel_ok = true;
	ok(!http_get(mx, "/readyz", resp, sizeof(resp)) &&
	   strstr(resp, " 200 "), "http: /readyz 200 when synced and the "
	   "kernel works");
	ok(!http_get(mx, "/metrics", resp, sizeof(resp)) &&
	   strstr(resp, " 200 ") &&
	   strstr(resp, "text/plain; version=0.0.4"),
	   "http: /metrics in the Prometheus text format");
	ok(!http_get(mx, "/nope", resp, sizeof(resp)) &&
	   strstr(resp, " 404 "), "http: unknown path 404");
	metrics_stop(mx);
}

/* ----------------------------------------------------------- subnets */

static void test_subnets(void)
{
	struct local_subnet *s = NULL;
	size_t n = 0, i;
	char err[256] = "";
	bool masked = true, named = true, excluded = true;
	int fd, ret;

	ret = subnets_read(&s, &n, err, sizeof(err));
	ok(ret == 0, "subnets: read this namespace's addresses (%zu subnets) "
	   "%s", n, err);
	for (i = 0; i < n; i++) {
		union kubelb_addr m;

		kubelb_addr_mask(s[i].net.family, &s[i].net.addr,
				 s[i].net.plen, &m);
		if (memcmp(&m, &s[i].net.addr, sizeof(m)))
			masked = false;
		if (!s[i].ifname[0] || !s[i].ifindex)
			named = false;
		if ((s[i].net.family == AF_INET && s[i].net.addr.b[0] == 127) ||
		    (s[i].net.family == AF_INET6 && s[i].net.addr.b[0] == 0xfe &&
		     (s[i].net.addr.b[1] & 0xc0) == 0x80) ||
		    s[i].net.plen == kubelb_max_plen(s[i].net.family))
			excluded = false;
	}
	ok(masked, "subnets: each is the address masked by its prefix");
	ok(named, "subnets: each names its interface");
	ok(excluded, "subnets: no loopback, link-local or host prefixes");
	free(s);

	fd = subnets_monitor_open();
	ok(fd >= 0, "subnets: monitor socket opened");
	if (fd >= 0) {
		ok(fcntl(fd, F_GETFL) & O_NONBLOCK,
		   "subnets: monitor socket is nonblocking, so drain cannot "
		   "hang the loop");
		subnets_monitor_drain(fd);
		close(fd);
	}
}

void test_reconcile(void)
{
	FILE *null = fopen("/dev/null", "w");

	log_init(LOG_LOGFMT, 0, null);
	test_op();
	test_vip_of();
	test_reconciler_nokernel();
	test_render();
	test_http();
	test_subnets();
	log_init(LOG_LOGFMT, 0, NULL);
	if (null)
		fclose(null);
}
