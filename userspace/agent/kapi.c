// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Kubernetes API client on libcurl's multi interface: list+watch of
 * collections and one-off requests, all driven by kapi_poll() from the
 * agent's single event loop (no threads).
 *
 * Watches follow client-go's reflector:
 *  - LIST in pages (limit=500 + continue) so that memory stays bounded by
 *    one page however large the collection; each page's items go to the
 *    callback as KAPI_ADDED after one KAPI_LIST_BEGIN, then KAPI_LIST_END.
 *  - WATCH from the list's resourceVersion with bookmarks and a random
 *    timeoutSeconds in [300,600). Events are parsed while they stream in
 *    (write callback -> linebuf -> watchline -> callback); each event's
 *    cJSON tree is freed at once. When the server ends the watch, it is
 *    resumed from the last resourceVersion seen (bookmarks included).
 *  - 410 (an ERROR event or an HTTP status) means the resourceVersion is
 *    too old: list again. Failed requests, other statuses and garbage
 *    lines restart the watch after a backoff: 0.8 s doubling to 30 s,
 *    +-25% jitter, back to 0.8 s after 2 minutes without an error. A
 *    stream that was established is resumed at once when it ends or
 *    breaks, unless it ended within 1 s without an event (then it counts
 *    as an error, so a server that closes at once is not hammered).
 *
 * Noticing a dead or stalled server (within 30 s) while watches are quiet:
 *  - TCP keepalive after 10 s idle, probes every 5 s, 3 probes
 *    (TCP_KEEPCNT via the sockopt callback: curl 7.88 has no option),
 *    and TCP_USER_TIMEOUT 25 s for unacknowledged data: a dead host or
 *    path breaks the connection within ~25 s.
 *  - A process that is alive but stuck keeps TCP happy, so there is an
 *    application check too. A silent watch is not by itself a sign of
 *    trouble: kube-apiserver sends bookmarks only once a minute
 *    (defaultBookmarkFrequency in the cacher), so restarting watches
 *    after 20 s of silence would re-issue every watch of every agent
 *    three times a minute on a quiet cluster. Instead, once a watch has
 *    been silent for 20 s and nothing else has come from the server in
 *    those 20 s either (lease renewals normally have), one GET /version
 *    with an 8 s timeout asks whether the server answers; if it does not,
 *    the silent watches are restarted (~28 s). The probe's timeout also
 *    makes libcurl close that connection, even a multiplexed HTTP/2 one,
 *    so the restarted watches get a new connection. A watch silent for
 *    150 s (more than two bookmark periods) is restarted regardless.
 *  - LIST pages and requests abort below 1 byte/s for 30 s; requests
 *    also time out after 30 s in total.
 *
 * tls-server-name: libcurl 7.88 has no option to set the name used for
 * SNI and certificate verification apart from the URL's host. So the URL
 * is built with tls-server-name as its host, CURLOPT_CONNECT_TO sends
 * the connection to the real server address, and the Host header names
 * the real server as client-go does (in HTTP/2 curl turns it into
 * :authority). Verification, SNI and connection reuse then all follow
 * tls-server-name, with no DNS lookup of it.
 *
 * Authentication: a bearer token (static, or re-read from token_file
 * every minute and at once after a 401, after which the request or watch
 * is retried once), client certificate and key as in-memory PEM blobs,
 * CA as a blob (replacing the system CA store, as client-go does).
 *
 * Connections: the multi handle keeps them open and reuses them (HTTP/1.1
 * keep-alive, or one multiplexed HTTP/2 connection when the server
 * offers h2; CURLOPT_PIPEWAIT prefers multiplexing over a new
 * connection).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "agent.h"

#define PAGE_LIMIT		500
#define LINE_MAX_BYTES		(16u << 20)	/* one watch event */
#define BODY_MAX_BYTES		(256u << 20)	/* one LIST page */
#define REQ_BODY_MAX_BYTES	(16u << 20)	/* one request's response */
#define ERR_BODY_MAX_BYTES	(64u << 10)	/* a non-200 watch answer */
#define TOKEN_MAX_BYTES		(64u << 10)

#define BACKOFF_MIN_MS		800
#define BACKOFF_MAX_MS		30000
#define BACKOFF_RESET_MS	120000
#define WATCH_QUICK_END_MS	1000
#define WATCH_TIMEOUT_MIN_S	300
#define WATCH_TIMEOUT_SPAN_S	300
#define WATCH_SILENCE_MS	20000
#define WATCH_SILENCE_MAX_MS	150000
#define PROBE_PATH		"/version"
#define PROBE_TIMEOUT_MS	8000
#define TOKEN_REREAD_MS		60000
#define REQ_TIMEOUT_MS		30000
#define CONNECT_TIMEOUT_MS	10000
#define LOW_SPEED_TIME_S	30
#define KEEPIDLE_S		10
#define KEEPINTVL_S		5
#define KEEPCNT			3
#define USER_TIMEOUT_MS		25000

struct membuf {
	char *p;
	size_t len, cap, max;
};

enum xfer_kind { XFER_WATCH, XFER_REQ };

/* What is handed to curl: one transfer of a watch or a request. */
struct xfer {
	enum xfer_kind kind;
	void *owner;
	CURL *easy;			/* NULL when no transfer runs */
	struct curl_slist *headers;
	struct membuf body;
	uint64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
};

/* Why the write callback stopped a watch stream. */
enum watch_end {
	END_NONE,
	END_EXPIRED,		/* ERROR 410: list again */
	END_ERROR_EVENT,	/* other ERROR event */
	END_GARBAGE,		/* a line that is not a watch event */
	END_TOO_BIG,		/* a line or page over the limit */
	END_NOMEM,
};

struct kapi_watch {
	struct kapi *k;
	struct kapi_watch *next;
	char *path;
	kapi_watch_cb cb;
	void *data;

	struct xfer x;
	bool listing;		/* the running (or next) transfer is a LIST */
	bool list_begun;	/* LIST_BEGIN sent for the list in progress */
	bool synced;		/* a list has completed */
	bool listed_once;
	bool need_list;
	bool auth_retried;	/* after a 401, one retry with a fresh token */
	bool fresh_rv;		/* watching from a list's RV, no event yet */
	char *rv;		/* last resourceVersion seen */
	char *cont;		/* continue token of the list in progress */
	size_t list_items;

	struct linebuf lb;
	enum watch_end end;
	char end_detail[160];
	uint64_t events;	/* non-ERROR events of the current stream */
	uint64_t last_byte_ms;

	uint64_t start_at;	/* when no transfer runs: when to start */
	struct kapi_backoff backoff;
};

struct kapi_req {
	struct kapi *k;
	struct kapi_req *next;
	struct xfer x;
	char *method, *path, *content_type, *body;
	kapi_req_cb cb;		/* NULL for the liveness probe */
	void *data;
	bool retried;
	bool added;		/* handed to the multi handle */
};

struct kapi {
	CURLM *multi;
	struct kapi_config cfg;		/* own copy */
	char *base;			/* URL prefix the paths are appended to */
	char *host_header;		/* "Host: ..." with tls-server-name */
	struct curl_slist *connect_to;
	char *token;			/* current bearer token, or NULL */
	uint64_t token_read_ms;
	bool token_warned;
	struct kapi_watch *watches;
	struct kapi_req *reqs;		/* in flight or about to be added */
	struct kapi_req *probe;
	uint64_t last_server_ms;	/* last byte or answer from the server */
	uint64_t progress;		/* bytes or ends of transfers seen */
	uint64_t rng;
	struct kapi_stats stats;
};

static void watch_start(struct kapi_watch *w, uint64_t now);
static int req_start(struct kapi_req *r);

/* ------------------------------------------------------------- helpers */

static uint64_t rnd(struct kapi *k)
{
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return k->rng;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Milliseconds from then to now; 0 if then is later. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void set_err(char *err, size_t errlen, const char *msg,
		    const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "",
			 detail ? detail : "");
}

static int membuf_append(struct membuf *b, const char *p, size_t n)
{
	size_t cap;
	char *np;

	if (n > b->max - b->len)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void membuf_free(struct membuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Replace *dst with a copy of src (NULL clears). */
static int set_str(char **dst, const char *src)
{
	char *copy = NULL;

	if (*dst && src && !strcmp(*dst, src))
		return 0;
	if (src) {
		copy = strdup(src);
		if (!copy)
			return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

static void count_error(struct kapi *k, long status)
{
	bool http = status >= 100 && status < 600;

	k->stats.api_errors[http ? status / 100 : 0]++;
	k->stats.api_errors_by_code[http ? status : 0]++;
}

/* Status.message of an error body, for the log. */
static void status_message(const struct membuf *b, char *out, size_t len)
{
	cJSON *j = b->len ? cJSON_ParseWithLength(b->p, b->len) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");

	if (cJSON_IsString(m))
		snprintf(out, len, "%s", m->valuestring);
	else
		snprintf(out, len, "%.*s", b->len > 120 ? 120 : (int)b->len,
			 b->p ? b->p : "");
	cJSON_Delete(j);
}

/* Read the token file; keep the old token when that fails. */
static void token_reread(struct kapi *k, uint64_t now)
{
	char buf[256], *tok = NULL, *p;
	size_t len = 0, n;
	int error = 0;
	FILE *f;

	k->token_read_ms = now;
	f = fopen(k->cfg.token_file, "re");
	if (!f)
		error = errno;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n > TOKEN_MAX_BYTES) {
			error = EFBIG;
			break;
		}
		p = realloc(tok, len + n + 1);
		if (!p) {
			error = ENOMEM;
			break;
		}
		tok = p;
		memcpy(tok + len, buf, n);
		len += n;
	}
	if (f && ferror(f))
		error = EIO;
	if (f)
		fclose(f);
	if (error) {
		free(tok);
		tok = NULL;
	}
	if (!tok && !error)
		tok = strdup("");	/* an empty file */
	if (tok) {
		tok[len] = '\0';
		while (len && strchr(" \t\r\n", tok[len - 1]))
			tok[--len] = '\0';
		p = tok + strspn(tok, " \t\r\n");
		memmove(tok, p, strlen(p) + 1);
	}
	if (!tok || !*tok) {
		if (!k->token_warned)
			alog(LOG_WARN, "cannot re-read the token; keeping the last one",
			     "file", k->cfg.token_file,
			     "error", error ? strerror(error) : "empty", NULL);
		k->token_warned = true;
		free(tok);
		return;
	}
	k->token_warned = false;
	if (k->token && !strcmp(k->token, tok)) {
		free(tok);
		return;
	}
	if (k->token)
		alog(LOG_INFO, "bearer token changed", "file", k->cfg.token_file,
		     NULL);
	free(k->token);
	k->token = tok;
}

/* ------------------------------------------------------------ transfers */

static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = KEEPCNT, user_timeout = USER_TIMEOUT_MS;

	(void)clientp;
	if (purpose == CURLSOCKTYPE_IPCXN) {
		/* best effort: not fatal where unsupported */
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
			   sizeof(user_timeout));
	}
	return CURL_SOCKOPT_OK;
}

static struct curl_slist *header_add(struct curl_slist *list, const char *h,
				     bool *fail)
{
	struct curl_slist *n;

	if (*fail)
		return list;
	n = curl_slist_append(list, h);
	if (!n) {
		*fail = true;
		return list;
	}
	return n;
}

/*
 * A configured easy handle for url in x; write is the body callback.
 * Returns 0 or -ENOMEM; x->easy stays NULL on failure.
 */
static int xfer_setup(struct kapi *k, struct xfer *x, const char *url,
		      curl_write_callback write, void *wdata,
		      const char *content_type)
{
	struct curl_blob blob;
	bool fail = false;
	char *auth = NULL;
	CURL *e;

	x->errbuf[0] = '\0';
	x->body.len = 0;
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;

	x->headers = header_add(NULL, "Accept: application/json", &fail);
	if (content_type) {
		char ct[256];

		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		x->headers = header_add(x->headers, ct, &fail);
		/* no 100-continue round trip for small bodies */
		x->headers = header_add(x->headers, "Expect:", &fail);
	}
	if (k->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", k->token) < 0) {
			auth = NULL;
			fail = true;
		}
		x->headers = header_add(x->headers, auth, &fail);
		if (auth) {
			/* curl copied it; do not leave the token around */
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}
	}
	if (k->host_header)
		x->headers = header_add(x->headers, k->host_header, &fail);
	if (fail || curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) {
		curl_slist_free_all(x->headers);
		x->headers = NULL;
		curl_easy_cleanup(e);
		return -ENOMEM;
	}

	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, wdata);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kubelb-agent");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)KEEPIDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)KEEPINTVL_S);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	if (k->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, k->connect_to);

	if (k->cfg.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->cfg.ca.p) {
		/* the configured CA only, not the system store */
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
		blob = (struct curl_blob){ k->cfg.ca.p, k->cfg.ca.len,
					   CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (k->cfg.cert.p) {
		blob = (struct curl_blob){ k->cfg.cert.p, k->cfg.cert.len,
					   CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		blob = (struct curl_blob){ k->cfg.key.p, k->cfg.key.len,
					   CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	x->easy = e;
	return 0;
}

static int xfer_add(struct kapi *k, struct xfer *x)
{
	x->started_ms = now_ms();
	if (curl_multi_add_handle(k->multi, x->easy) != CURLM_OK)
		return -EIO;
	return 0;
}

/* Stop and forget the transfer (also when it is still running). */
static void xfer_end(struct kapi *k, struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(k->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

static const char *xfer_error(const struct xfer *x, CURLcode res)
{
	return x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
}

/* -------------------------------------------------------------- watches */

static void watch_log_failure(struct kapi_watch *w, const char *why,
			      uint64_t delay)
{
	char retry[32];

	snprintf(retry, sizeof(retry), "%.1fs", (double)delay / 1000);
	alog(LOG_WARN, w->listing ? "list failed" : "watch failed",
	     "path", w->path, "error", why, "retry_in", retry, NULL);
}

uint64_t kapi_backoff_next(struct kapi_backoff *b, uint64_t now,
			   uint64_t random_number)
{
	uint64_t delay;

	if (!b->base_ms || since(now, b->last_error_ms) >= BACKOFF_RESET_MS)
		b->base_ms = BACKOFF_MIN_MS;
	/* +-25% so that agents restarted together spread out */
	delay = b->base_ms * 3 / 4 + random_number % (b->base_ms / 2 + 1);
	b->base_ms = min_u64(b->base_ms * 2, BACKOFF_MAX_MS);
	b->last_error_ms = now;
	return delay;
}

unsigned int kapi_watch_timeout_s(uint64_t random_number)
{
	return WATCH_TIMEOUT_MIN_S +
	       (unsigned int)(random_number % WATCH_TIMEOUT_SPAN_S);
}

/* An error: try again after the backoff. */
static void watch_retry_later(struct kapi_watch *w, uint64_t now,
			      const char *why)
{
	uint64_t delay = kapi_backoff_next(&w->backoff, now, rnd(w->k));

	w->start_at = now + delay;
	watch_log_failure(w, why, delay);
}

static void watch_relist(struct kapi_watch *w)
{
	w->need_list = true;
	w->listing = true;
	free(w->cont);
	w->cont = NULL;
	w->list_begun = false;
}

static void watch_set_rv(struct kapi_watch *w, const char *rv)
{
	if (rv && set_str(&w->rv, rv))
		w->end = END_NOMEM;
}

/* The start of a bad line, printable, for the log. */
static void describe_garbage(char *out, size_t outlen, const char *line,
			     size_t len)
{
	static const char prefix[] = "not a watch event: ";
	size_t i, n = sizeof(prefix) - 1;

	memcpy(out, prefix, n);
	for (i = 0; i < len && i < 60 && n + 1 < outlen; i++, n++)
		out[n] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	out[n] = '\0';
}

static int watch_line(void *data, const char *line, size_t len)
{
	struct kapi_watch *w = data;
	struct watch_line wl;
	enum kapi_event ev;
	size_t i;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' ||
				line[i] == '\r'); i++)
		;
	if (i == len)
		return 0;	/* blank: not an event, not an error */

	if (watch_line_parse(line, len, &wl)) {
		w->end = END_GARBAGE;
		describe_garbage(w->end_detail, sizeof(w->end_detail), line,
				 len);
		return -EINVAL;
	}
	switch (wl.type) {
	case WATCH_BOOKMARK:
		w->events++;
		w->fresh_rv = false;
		watch_set_rv(w, wl.resource_version);
		break;
	case WATCH_ADDED:
	case WATCH_MODIFIED:
	case WATCH_DELETED:
		w->events++;
		w->fresh_rv = false;
		watch_set_rv(w, wl.resource_version);
		ev = wl.type == WATCH_ADDED ? KAPI_ADDED :
		     wl.type == WATCH_MODIFIED ? KAPI_MODIFIED : KAPI_DELETED;
		w->cb(w->data, ev, wl.object);
		break;
	case WATCH_ERROR:
		count_error(w->k, wl.code);
		w->end = wl.code == 410 ? END_EXPIRED : END_ERROR_EVENT;
		snprintf(w->end_detail, sizeof(w->end_detail),
			 "ERROR event %d %s", wl.code,
			 wl.reason ? wl.reason : "");
		break;
	}
	watch_line_free(&wl);
	return w->end == END_NONE ? 0 : -ECANCELED;
}

static size_t watch_write(char *p, size_t size, size_t n, void *data)
{
	struct kapi_watch *w = data;
	struct kapi *k = w->k;
	size_t len = size * n;
	long status = 0;
	int ret;

	w->last_byte_ms = now_ms();
	k->last_server_ms = w->last_byte_ms;
	k->progress++;
	curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* an error Status: keep the start of it for the log */
		if (w->x.body.len < w->x.body.max)
			membuf_append(&w->x.body, p,
				      min_u64(len, w->x.body.max -
					      w->x.body.len));
		return len;
	}
	if (w->listing) {
		ret = membuf_append(&w->x.body, p, len);
		if (ret) {
			w->end = ret == -E2BIG ? END_TOO_BIG : END_NOMEM;
			snprintf(w->end_detail, sizeof(w->end_detail),
				 "list page over %u MiB", BODY_MAX_BYTES >> 20);
			return CURL_WRITEFUNC_ERROR;
		}
		return len;
	}
	ret = linebuf_feed(&w->lb, p, len, watch_line, w);
	if (ret) {
		if (ret == -E2BIG) {
			w->end = END_TOO_BIG;
			snprintf(w->end_detail, sizeof(w->end_detail),
				 "watch event over %u MiB", LINE_MAX_BYTES >> 20);
		} else if (w->end == END_NONE) {
			w->end = END_NOMEM;
		}
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

/* A list page arrived in full: hand its items over. */
static void list_page_done(struct kapi_watch *w, uint64_t now)
{
	const cJSON *items, *item, *meta, *cont, *rv;
	cJSON *list;
	char n[24];

	list = cJSON_ParseWithLength(w->x.body.p ? w->x.body.p : "",
				     w->x.body.len);
	membuf_free(&w->x.body);
	items = cJSON_GetObjectItemCaseSensitive(list, "items");
	meta = cJSON_GetObjectItemCaseSensitive(list, "metadata");
	cont = cJSON_GetObjectItemCaseSensitive(meta, "continue");
	rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
	if (!cJSON_IsObject(list) || !(cJSON_IsArray(items) ||
				       cJSON_IsNull(items) || !items)) {
		cJSON_Delete(list);
		watch_relist(w);
		watch_retry_later(w, now, "list answer is not a List");
		return;
	}
	if (!(cJSON_IsString(cont) && *cont->valuestring) &&
	    !(cJSON_IsString(rv) && *rv->valuestring)) {
		cJSON_Delete(list);
		watch_relist(w);
		watch_retry_later(w, now, "list answer has no resourceVersion");
		return;
	}

	w->auth_retried = false;
	if (!w->list_begun) {
		w->list_begun = true;
		w->list_items = 0;
		w->cb(w->data, KAPI_LIST_BEGIN, NULL);
	}
	cJSON_ArrayForEach(item, items) {
		w->list_items++;
		w->cb(w->data, KAPI_ADDED, item);
	}

	if (cJSON_IsString(cont) && *cont->valuestring) {
		if (set_str(&w->cont, cont->valuestring)) {
			cJSON_Delete(list);
			watch_relist(w);
			watch_retry_later(w, now, "out of memory");
			return;
		}
		cJSON_Delete(list);
		watch_start(w, now);	/* the next page */
		return;
	}

	if (set_str(&w->rv, rv->valuestring)) {
		cJSON_Delete(list);
		watch_relist(w);
		watch_retry_later(w, now, "out of memory");
		return;
	}
	cJSON_Delete(list);
	free(w->cont);
	w->cont = NULL;
	w->list_begun = false;
	w->need_list = false;
	w->listing = false;
	w->synced = true;
	w->listed_once = true;
	w->fresh_rv = true;
	w->cb(w->data, KAPI_LIST_END, NULL);
	snprintf(n, sizeof(n), "%zu", w->list_items);
	alog(LOG_INFO, "listed", "path", w->path, "objects", n,
	     "resource_version", w->rv, NULL);
	watch_start(w, now);
}

/* 401: re-read the token and try once more at once. */
static bool watch_auth_retry(struct kapi_watch *w, long status, uint64_t now)
{
	if (status != 401 || !w->k->cfg.token_file || w->auth_retried)
		return false;
	w->auth_retried = true;
	token_reread(w->k, now);
	alog(LOG_INFO, "unauthorized; token re-read, retrying", "path",
	     w->path, NULL);
	w->start_at = now;
	return true;
}

/*
 * 410: the resourceVersion (or continue token) is too old, list again.
 * At once, unless the watch started from the list just made and failed
 * before any event: a server answering that way would make us list in a
 * loop, so that goes through the backoff.
 */
static void watch_expired(struct kapi_watch *w, uint64_t now, bool was_list,
			  const char *why)
{
	bool loop = was_list ? !w->cont : w->fresh_rv && !w->events;

	if (loop) {
		watch_retry_later(w, now, why);	/* logs the failed phase */
		watch_relist(w);
		return;
	}
	watch_relist(w);
	alog(LOG_INFO, "resource version expired; listing again", "path",
	     w->path, "reason", why, NULL);
	w->start_at = now;
}

/*
 * The stream of an established watch ended, cleanly (WHY is NULL) or
 * not. Like client-go's reflector, watch again at once from the last
 * resourceVersion: a connection broken after a working stream (an
 * apiserver restart, a proxy's idle timeout) says nothing bad about the
 * next one, and backing off would delay every change made meanwhile.
 * Only a watch that ends within 1 s without an event goes through the
 * backoff, so that a server closing at once is not hammered.
 */
static void watch_stream_ended(struct kapi_watch *w, uint64_t now,
			       const char *why)
{
	if (since(now, w->x.started_ms) < WATCH_QUICK_END_MS && !w->events) {
		watch_retry_later(w, now, why ? why :
				  "watch ended at once without events");
		return;
	}
	w->fresh_rv = false;
	if (why)
		alog(LOG_INFO, "watch broken; resuming", "path", w->path,
		     "error", why, "resource_version", w->rv, NULL);
	else
		alog(LOG_DEBUG, "watch ended; resuming", "path", w->path,
		     "resource_version", w->rv, NULL);
	w->start_at = now;
}

static void watch_done(struct kapi_watch *w, CURLcode res)
{
	struct kapi *k = w->k;
	uint64_t now = now_ms();
	bool was_list = w->listing;
	char why[256], msg[160];
	long status = 0;

	curl_easy_getinfo(w->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status)
		k->last_server_ms = now;
	xfer_end(k, &w->x);
	if (!was_list)
		k->stats.watch_restarts++;
	if (status == 200)
		w->auth_retried = false;

	if (was_list && w->end == END_NONE && res == CURLE_OK &&
	    status == 200) {
		list_page_done(w, now);		/* frees the body */
		return;
	}
	msg[0] = '\0';
	if (status != 200)
		status_message(&w->x.body, msg, sizeof(msg));
	membuf_free(&w->x.body);

	if (w->end == END_EXPIRED) {
		watch_expired(w, now, was_list, w->end_detail);
		return;
	}
	if (w->end != END_NONE) {
		/* ERROR events were counted by their code */
		if (w->end != END_ERROR_EVENT)
			count_error(k, 0);
		if (w->end == END_NOMEM)
			snprintf(w->end_detail, sizeof(w->end_detail),
				 "out of memory");
		if (was_list)
			watch_relist(w);
		watch_retry_later(w, now, w->end_detail);
		return;
	}
	if (res != CURLE_OK) {
		count_error(k, 0);
		if (!was_list && status == 200) {
			watch_stream_ended(w, now, xfer_error(&w->x, res));
			return;
		}
		if (was_list)
			watch_relist(w);
		watch_retry_later(w, now, xfer_error(&w->x, res));
		return;
	}
	if (status != 200) {
		count_error(k, status);
		if (watch_auth_retry(w, status, now))
			return;
		snprintf(why, sizeof(why), "HTTP %ld: %s", status, msg);
		if (status == 410) {
			watch_expired(w, now, was_list, why);
			return;
		}
		if (was_list)
			watch_relist(w);
		watch_retry_later(w, now, why);
		return;
	}

	watch_stream_ended(w, now, w->lb.len ?
			   "stream ended inside an event" : NULL);
}

static char *watch_url(struct kapi_watch *w, CURL *e)
{
	const char *sep = strchr(w->path, '?') ? "&" : "?";
	char *url = NULL, *esc;
	int ret;

	if (w->listing) {
		if (!w->cont) {
			ret = asprintf(&url, "%s%s%slimit=%d", w->k->base,
				       w->path, sep, PAGE_LIMIT);
		} else {
			esc = curl_easy_escape(e, w->cont, 0);
			if (!esc)
				return NULL;
			ret = asprintf(&url, "%s%s%slimit=%d&continue=%s",
				       w->k->base, w->path, sep, PAGE_LIMIT,
				       esc);
			curl_free(esc);
		}
	} else {
		esc = curl_easy_escape(e, w->rv, 0);
		if (!esc)
			return NULL;
		ret = asprintf(&url,
			       "%s%s%swatch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u",
			       w->k->base, w->path, sep, esc,
			       kapi_watch_timeout_s(rnd(w->k)));
		curl_free(esc);
	}
	return ret < 0 ? NULL : url;
}

static void watch_start(struct kapi_watch *w, uint64_t now)
{
	struct kapi *k = w->k;
	char *url;
	CURL *e;
	int ret;

	if (w->need_list || !w->rv)
		w->listing = true;
	if (w->listing && !w->cont) {
		w->list_begun = false;
		if (w->listed_once)
			k->stats.relists++;
	}
	w->end = END_NONE;
	w->end_detail[0] = '\0';
	w->events = 0;
	w->last_byte_ms = now;
	linebuf_reset(&w->lb);
	w->x.body.max = w->listing ? BODY_MAX_BYTES : ERR_BODY_MAX_BYTES;

	e = curl_easy_init();	/* only for escaping */
	url = e ? watch_url(w, e) : NULL;
	curl_easy_cleanup(e);
	ret = url ? xfer_setup(k, &w->x, url, watch_write, w,
			       NULL) : -ENOMEM;
	free(url);
	if (ret) {
		watch_retry_later(w, now, "out of memory");
		return;
	}
	if (w->listing) {
		curl_easy_setopt(w->x.easy, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(w->x.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(w->x.easy, CURLOPT_LOW_SPEED_TIME,
				 (long)LOW_SPEED_TIME_S);
	} else {
		/* backstop in case the server misses its own timeout */
		curl_easy_setopt(w->x.easy, CURLOPT_TIMEOUT_MS,
				 (long)(WATCH_TIMEOUT_MIN_S +
					WATCH_TIMEOUT_SPAN_S + 60) * 1000L);
	}
	if (xfer_add(k, &w->x)) {
		xfer_end(k, &w->x);
		watch_retry_later(w, now, "cannot add the transfer");
	}
}

/* ------------------------------------------------------------- requests */

static void req_free(struct kapi_req *r)
{
	xfer_end(r->k, &r->x);
	membuf_free(&r->x.body);
	free(r->method);
	free(r->path);
	free(r->content_type);
	free(r->body);
	free(r);
}

static void req_unlink(struct kapi_req *r)
{
	struct kapi_req **pp;

	for (pp = &r->k->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
}

static size_t req_write(char *p, size_t size, size_t n, void *data)
{
	struct kapi_req *r = data;

	r->k->last_server_ms = now_ms();
	if (membuf_append(&r->x.body, p, size * n))
		return CURL_WRITEFUNC_ERROR;
	return size * n;
}

static int req_start(struct kapi_req *r)
{
	struct kapi *k = r->k;
	char *url;
	CURL *e;
	int ret;

	if (asprintf(&url, "%s%s", k->base, r->path) < 0)
		return -ENOMEM;
	ret = xfer_setup(k, &r->x, url, req_write, r, r->content_type);
	free(url);
	if (ret)
		return ret;
	e = r->x.easy;
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(r->body));
	} else if (!strcmp(r->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 (long)(r->cb ? REQ_TIMEOUT_MS : PROBE_TIMEOUT_MS));
	/*
	 * Added to the multi handle by kapi_poll, never inside a curl
	 * callback (where libcurl refuses it).
	 */
	r->added = false;
	return 0;
}

static struct kapi_req *req_new(struct kapi *k, const char *method,
				const char *path, const char *content_type,
				const char *body, kapi_req_cb cb, void *data)
{
	struct kapi_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->k = k;
	r->x.kind = XFER_REQ;
	r->x.owner = r;
	r->x.body.max = REQ_BODY_MAX_BYTES;
	r->cb = cb;
	r->data = data;
	r->method = strdup(method);
	r->path = strdup(path);
	r->content_type = content_type ? strdup(content_type) : NULL;
	r->body = body ? strdup(body) : NULL;
	if (!r->method || !r->path || (content_type && !r->content_type) ||
	    (body && !r->body) || req_start(r)) {
		req_free(r);
		return NULL;
	}
	r->next = k->reqs;
	k->reqs = r;
	return r;
}

static void probe_done(struct kapi *k, long status, CURLcode res)
{
	struct kapi_watch *w;
	uint64_t now = now_ms();
	char why[200];

	if (res == CURLE_OK && status) {
		k->last_server_ms = now;
		return;
	}
	snprintf(why, sizeof(why), "server does not answer (%s)",
		 curl_easy_strerror(res));
	for (w = k->watches; w; w = w->next) {
		if (!w->x.easy || w->listing ||
		    since(now, w->last_byte_ms) < WATCH_SILENCE_MS)
			continue;
		xfer_end(k, &w->x);
		count_error(k, 0);
		k->stats.watch_restarts++;
		watch_retry_later(w, now, why);
	}
}

static void req_done(struct kapi_req *r, CURLcode res)
{
	struct kapi *k = r->k;
	uint64_t now = now_ms();
	long status = 0;
	cJSON *body = NULL;
	char errbuf[CURL_ERROR_SIZE];

	curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status)
		k->last_server_ms = now;
	snprintf(errbuf, sizeof(errbuf), "%s", xfer_error(&r->x, res));
	xfer_end(k, &r->x);
	req_unlink(r);

	if (!r->cb) {
		k->probe = NULL;
		probe_done(k, status, res);
		req_free(r);
		return;
	}
	if (res != CURLE_OK) {
		count_error(k, 0);
		r->cb(r->data, 0, NULL, errbuf);
		req_free(r);
		return;
	}
	if (status < 200 || status >= 300)
		count_error(k, status);
	if (status == 401 && k->cfg.token_file && !r->retried) {
		r->retried = true;
		token_reread(k, now);
		membuf_free(&r->x.body);
		if (!req_start(r)) {
			r->next = k->reqs;
			k->reqs = r;
			return;
		}
	}
	if (r->x.body.len)
		body = cJSON_ParseWithLength(r->x.body.p, r->x.body.len);
	r->cb(r->data, status, body, "");
	cJSON_Delete(body);
	req_free(r);
}

int kapi_request(struct kapi *k, const char *method, const char *path,
		 const char *content_type, const char *body,
		 kapi_req_cb cb, void *data)
{
	if (!method || !path || path[0] != '/' || !cb)
		return -EINVAL;
	return req_new(k, method, path, content_type, body, cb, data) ?
	       0 : -ENOMEM;
}

/* ---------------------------------------------------------------- loop */

/*
 * Add requests created since the last call (possibly inside callbacks).
 * Those that cannot be added fail through their callbacks afterwards;
 * what those callbacks request waits for the next call.
 */
static void reqs_add(struct kapi *k)
{
	struct kapi_req *r, **pp, *failed = NULL;

	for (pp = &k->reqs; (r = *pp);) {
		if (r->added || !xfer_add(k, &r->x)) {
			r->added = true;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = failed;
		failed = r;
	}
	while ((r = failed)) {
		failed = r->next;
		if (r->cb)
			r->cb(r->data, 0, NULL, "cannot add the transfer");
		else
			k->probe = NULL;
		req_free(r);
	}
}

/* Start what is due; returns when the next timer is due. */
static uint64_t run_timers(struct kapi *k, uint64_t now)
{
	uint64_t next = now + 60000, silent;
	struct kapi_watch *w;
	bool probe = false;

	if (k->cfg.token_file) {
		if (since(now, k->token_read_ms) >= TOKEN_REREAD_MS)
			token_reread(k, now);
		next = min_u64(next, k->token_read_ms + TOKEN_REREAD_MS);
	}
	for (w = k->watches; w; w = w->next) {
		if (!w->x.easy) {
			if (now >= w->start_at)
				watch_start(w, now);
			if (!w->x.easy)
				next = min_u64(next, w->start_at);
			continue;
		}
		if (w->listing)
			continue;	/* curl's low-speed limit covers it */
		silent = since(now, w->last_byte_ms);
		if (silent >= WATCH_SILENCE_MAX_MS) {
			xfer_end(k, &w->x);
			count_error(k, 0);
			k->stats.watch_restarts++;
			watch_retry_later(w, now, "no data for 150 s");
			next = min_u64(next, w->start_at);
		} else if (silent < WATCH_SILENCE_MS) {
			next = min_u64(next, w->last_byte_ms + WATCH_SILENCE_MS);
		} else if (since(now, k->last_server_ms) < WATCH_SILENCE_MS) {
			next = min_u64(next, k->last_server_ms + WATCH_SILENCE_MS);
			next = min_u64(next, w->last_byte_ms +
				       WATCH_SILENCE_MAX_MS);
		} else {
			/* probe_done wakes us; this is a fallback */
			probe = true;
			next = min_u64(next, now + 1000);
		}
	}
	if (probe && !k->probe) {
		k->probe = req_new(k, "GET", PROBE_PATH, NULL, NULL, NULL,
				   NULL);
		if (k->probe)
			alog(LOG_DEBUG, "watches silent; checking the server",
			     NULL);
	}
	return next;
}

static void process_done(struct kapi *k)
{
	struct xfer *x;
	CURLMsg *msg;
	CURLcode res;
	int left;

	while ((msg = curl_multi_info_read(k->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		k->progress++;
		res = msg->data.result;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&x);
		if (!x)
			continue;
		if (x->kind == XFER_WATCH)
			watch_done(x->owner, res);
		else
			req_done(x->owner, res);
	}
}

static int mcode_errno(CURLMcode mc)
{
	return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

int kapi_poll(struct kapi *k, struct curl_waitfd *extra, unsigned int n,
	      int timeout_ms)
{
	uint64_t now, next, progress = k->progress;
	CURLMcode mc;
	unsigned int i;
	int running, wait;

	for (i = 0; i < n; i++)
		extra[i].revents = 0;
	run_timers(k, now_ms());
	reqs_add(k);
	mc = curl_multi_perform(k->multi, &running);
	if (mc != CURLM_OK)
		return mcode_errno(mc);
	process_done(k);

	now = now_ms();
	next = run_timers(k, now);
	reqs_add(k);
	wait = timeout_ms < 0 ? 60000 : timeout_ms;
	/* Data that arrived while the caller was busy was just handed over
	 * by that perform: the caller must act on it before anything sleeps
	 * (the other fds are still looked at). */
	if (next <= now || k->progress != progress)
		wait = 0;
	else if (next - now < (uint64_t)wait)
		wait = (int)(next - now);
	mc = curl_multi_poll(k->multi, extra, n, wait, NULL);
	if (mc != CURLM_OK)
		return mcode_errno(mc);
	mc = curl_multi_perform(k->multi, &running);
	if (mc != CURLM_OK)
		return mcode_errno(mc);
	process_done(k);
	run_timers(k, now_ms());
	reqs_add(k);
	return 0;
}

/* ----------------------------------------------------------- lifecycle */

/* Openssl's view of a PEM blob, so that a bad file fails at start. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static bool pem_ok(const struct blob *b, bool key)
{
	BIO *bio = BIO_new_mem_buf(b->p, (int)b->len);
	EVP_PKEY *pkey;
	X509 *cert;
	bool ok;

	if (!bio || b->len > INT_MAX)
		return false;
	if (key) {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		ok = pkey != NULL;
		EVP_PKEY_free(pkey);
	} else {
		cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		ok = cert != NULL;
		X509_free(cert);
	}
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

static int blob_dup(struct blob *dst, const struct blob *src)
{
	dst->p = NULL;
	dst->len = 0;
	if (!src->p)
		return 0;
	dst->p = malloc(src->len + 1);
	if (!dst->p)
		return -ENOMEM;
	memcpy(dst->p, src->p, src->len);
	dst->p[src->len] = '\0';
	dst->len = src->len;
	return 0;
}

static int config_dup(struct kapi_config *dst, const struct kapi_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->insecure = src->insecure;
	if (set_str(&dst->server, src->server) ||
	    set_str(&dst->token, src->token) ||
	    set_str(&dst->token_file, src->token_file) ||
	    set_str(&dst->tls_server_name, src->tls_server_name) ||
	    set_str(&dst->namespace, src->namespace) ||
	    blob_dup(&dst->ca, &src->ca) || blob_dup(&dst->cert, &src->cert) ||
	    blob_dup(&dst->key, &src->key))
		return -ENOMEM;
	return 0;
}

/*
 * Base URL and, with tls-server-name, the CONNECT_TO entry and Host
 * header that send the connection to the real server.
 */
static int setup_target(struct kapi *k, char *err, size_t errlen)
{
	char *host = NULL, *port = NULL, *url = NULL, *name = NULL, *ct = NULL;
	CURLU *u = curl_url();
	struct curl_slist *l;
	CURLUcode uc;
	size_t len;
	int ret = -EINVAL;

	if (!u)
		return -ENOMEM;
	uc = curl_url_set(u, CURLUPART_URL, k->cfg.server, 0);
	if (uc) {
		set_err(err, errlen, "server URL", curl_url_strerror(uc));
		goto out;
	}
	if (!k->cfg.tls_server_name) {
		if (set_str(&k->base, k->cfg.server)) {
			ret = -ENOMEM;
			goto out;
		}
	} else {
		if (curl_url_get(u, CURLUPART_HOST, &host, 0) ||
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
			set_err(err, errlen, "server URL", "no host or port");
			goto out;
		}
		/* an IPv6 literal needs brackets in a URL host */
		if (asprintf(&name, strchr(k->cfg.tls_server_name, ':') &&
			     k->cfg.tls_server_name[0] != '[' ? "[%s]" : "%s",
			     k->cfg.tls_server_name) < 0) {
			name = NULL;
			ret = -ENOMEM;
			goto out;
		}
		uc = curl_url_set(u, CURLUPART_HOST, name, 0);
		if (!uc)
			uc = curl_url_get(u, CURLUPART_URL, &url, 0);
		if (uc) {
			set_err(err, errlen, "tls-server-name",
				curl_url_strerror(uc));
			goto out;
		}
		ret = -ENOMEM;
		if (set_str(&k->base, url) ||
		    asprintf(&ct, "%s:%s:%s:%s", name, port, host, port) < 0 ||
		    asprintf(&k->host_header, "Host: %s:%s", host, port) < 0) {
			k->host_header = NULL;
			goto out;
		}
		l = curl_slist_append(NULL, ct);
		if (!l)
			goto out;
		k->connect_to = l;
	}
	/* paths are appended to the base */
	len = strlen(k->base);
	while (len && k->base[len - 1] == '/')
		k->base[--len] = '\0';
	ret = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_free(url);
	free(name);
	free(ct);
	curl_url_cleanup(u);
	return ret;
}

struct kapi *kapi_new(const struct kapi_config *cfg, char *err, size_t errlen)
{
	const curl_version_info_data *ver;
	struct kapi *k;

	if (!cfg->server) {
		set_err(err, errlen, "no server", NULL);
		return NULL;
	}
	if (!cfg->cert.p != !cfg->key.p) {
		set_err(err, errlen, "a client certificate needs its key", NULL);
		return NULL;
	}
	if (cfg->ca.p && !pem_ok(&cfg->ca, false)) {
		set_err(err, errlen, "CA", "no PEM certificate in it");
		return NULL;
	}
	if (cfg->cert.p && !pem_ok(&cfg->cert, false)) {
		set_err(err, errlen, "client certificate",
			"no PEM certificate in it");
		return NULL;
	}
	if (cfg->key.p && !pem_ok(&cfg->key, true)) {
		set_err(err, errlen, "client key",
			"not a PEM private key (or encrypted)");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		set_err(err, errlen, "libcurl", "global init failed");
		return NULL;
	}
	ver = curl_version_info(CURLVERSION_NOW);
	/* CURLOPT_CAINFO_BLOB */
	if (ver->version_num < 0x074d00) {
		set_err(err, errlen, "libcurl 7.77 or later is needed",
			ver->version);
		curl_global_cleanup();
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		set_err(err, errlen, "out of memory", NULL);
		curl_global_cleanup();
		return NULL;
	}
	k->rng = now_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)k;
	k->rng |= 1;
	k->last_server_ms = now_ms();
	if (config_dup(&k->cfg, cfg) || set_str(&k->token, cfg->token)) {
		set_err(err, errlen, "out of memory", NULL);
		goto fail;
	}
	if (setup_target(k, err, errlen))
		goto fail;
	k->token_read_ms = now_ms();
	k->multi = curl_multi_init();
	if (!k->multi) {
		set_err(err, errlen, "libcurl", "cannot create a multi handle");
		goto fail;
	}
	return k;
fail:
	kapi_free(k);
	return NULL;
}

void kapi_free(struct kapi *k)
{
	struct kapi_watch *w;
	struct kapi_req *r;

	if (!k)
		return;
	/*
	 * Outstanding requests are dropped without their callbacks: their
	 * owners are being torn down too.
	 */
	while ((r = k->reqs)) {
		k->reqs = r->next;
		req_free(r);
	}
	while ((w = k->watches)) {
		k->watches = w->next;
		xfer_end(k, &w->x);
		membuf_free(&w->x.body);
		linebuf_free(&w->lb);
		free(w->path);
		free(w->rv);
		free(w->cont);
		free(w);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	curl_slist_free_all(k->connect_to);
	free(k->host_header);
	free(k->base);
	if (k->token)
		explicit_bzero(k->token, strlen(k->token));
	free(k->token);
	kapi_config_free(&k->cfg);
	free(k);
	curl_global_cleanup();
}

struct kapi_watch *kapi_watch_add(struct kapi *k, const char *path,
				  kapi_watch_cb cb, void *data)
{
	struct kapi_watch *w, **pp;

	if (!path || path[0] != '/' || !cb)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->path = strdup(path);
	if (!w->path) {
		free(w);
		return NULL;
	}
	w->k = k;
	w->cb = cb;
	w->data = data;
	w->x.kind = XFER_WATCH;
	w->x.owner = w;
	w->need_list = true;
	w->listing = true;
	w->start_at = 0;	/* the next kapi_poll starts it */
	linebuf_init(&w->lb, LINE_MAX_BYTES);
	/* keep the order of addition: lists run in that order */
	for (pp = &k->watches; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	return w;
}

bool kapi_watch_synced(const struct kapi_watch *w)
{
	return w->synced;
}

bool kapi_all_synced(const struct kapi *k)
{
	const struct kapi_watch *w;

	for (w = k->watches; w; w = w->next)
		if (!w->synced)
			return false;
	return true;
}

const struct kapi_stats *kapi_stats(const struct kapi *k)
{
	return &k->stats;
}
