/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Internals of log.c, lease.c, report.c, reconcile.c and metrics.c that
 * the unit tests reach: pure helpers, and the seam through which lease.c
 * and report.c talk to the API server and read the clock, so that their
 * state machines can be driven without one.
 */
#ifndef KUBELB_AGENT_INT_H
#define KUBELB_AGENT_INT_H

#include <time.h>

#include "agent.h"

/* ---------------------------------------------------------------- log.c */
/* RFC 3339 UTC with digits (0, 3, 6 or 9) of fractional seconds. */
void log_format_time(char *buf, size_t len, const struct timespec *ts,
		     int digits);

/* ------------------------------------------------- lease.c and report.c */
struct agent_io {
	/* kapi_request() semantics: cb runs once later, unless this
	 * returns non-zero */
	int (*request)(void *ctx, const char *method, const char *path,
		       const char *content_type, const char *body,
		       kapi_req_cb cb, void *data);
	uint64_t (*now)(void *ctx);	/* now_ms() */
	void *ctx;
};
/* The real one: kapi_request() on k, now_ms() (util.c). */
void agent_io_kapi(struct agent_io *io, struct kapi *k);

/* --------------------------------------------------------------- lease.c */
void lease_set_io(struct lease_mgr *l, const struct agent_io *io);
/* "10.0.0.0/24,fd00::/64": sorted, duplicates dropped; malloc'd. */
char *lease_subnets_string(const struct local_subnet *s, size_t n);
/*
 * The Lease to write: old (the server's copy, may be NULL) with spec and
 * our annotation set; everything else of old is kept. now_text is the
 * RFC 3339 microsecond time. NULL on allocation failure.
 */
cJSON *lease_body(const cJSON *old, const char *namespace,
		  const char *name, const char *node, int duration_s,
		  const char *subnets, const char *now_text);

/* -------------------------------------------------------------- report.c */
void reporter_set_io(struct reporter *r, const struct agent_io *io);
/*
 * What reporter_decision() does for one Service of the IP d: value is
 * "node,ifname" when we announce d, NULL when we do not. Exposed so the
 * queue can be tested without a model.
 */
void reporter_service(struct reporter *r, const struct k8s_service *s,
		      uint16_t family, const union kubelb_addr *addr,
		      const char *value);
size_t reporter_pending(const struct reporter *r);
/* Bodies of the writes, malloc'd JSON text. */
char *report_patch_body(uint16_t family, const char *value);
char *report_event_body(const char *namespace, const char *name,
			const char *node, const char *vip,
			const char *ifname, const struct timespec *now);

/* Token bucket: rate tokens per second, at most burst. */
struct token_bucket {
	double tokens, rate, burst;
	uint64_t last_ms;
};
void tb_init(struct token_bucket *tb, double rate, double burst,
	     uint64_t now);
bool tb_take(struct token_bucket *tb, uint64_t now);
/* When the next token is available (now if one is). */
uint64_t tb_next(struct token_bucket *tb, uint64_t now);

/* ----------------------------------------------------------- reconcile.c */
/* The part of a kernel VIP that the agent decides. */
struct rec_vip {
	uint32_t ifindex;	/* the kubelb device */
	uint8_t mode;
	uint32_t link;		/* local only */
	uint8_t prefixlen;
	char service[KUBELB_SERVICE_MAX];
};

enum rec_op {
	REC_NONE,
	REC_ADD,
	REC_REPLACE,
	REC_DEL,
	/* on another kubelb device: the kernel cannot replace across
	 * devices, so delete there and add here */
	REC_MOVE,
};

/* cur: the kernel's (NULL if absent); want: NULL when not held. */
enum rec_op reconcile_op(const struct rec_vip *cur,
			 const struct rec_vip *want);
void reconcile_vip_of(const struct decision *d, uint32_t dev_ifindex,
		      struct rec_vip *out);

/* ------------------------------------------------------------- metrics.c */
struct metrics_input {
	const struct model_stats *model;	/* NULL: omitted */
	const struct kapi_stats *kapi;
	const struct reconcile_stats *rec;
	bool have_announced;
	uint64_t announced;
};
/* Prometheus text format 0.0.4; malloc'd, *len set. */
char *metrics_render(const struct metrics_input *in, size_t *len);
/* Port actually bound (for ADDR:0). */
unsigned int metrics_port(const struct metrics *mx);

#endif /* KUBELB_AGENT_INT_H */
