/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libkubelb: manage kubelb VIPs over generic netlink and keep the FIB in
 * step with the kernel table.
 *
 * Two layers:
 *  - pure message builders and parsers (kubelb_build_*, kubelb_parse_*,
 *    kubelb_route_*, kubelb_fib_*): no sockets, unit-testable;
 *  - a handle (struct kubelb) with two netlink sockets (generic netlink for
 *    the "kubelb" family, rtnetlink for routes) that batches many requests
 *    per sendmsg() and matches replies and acks by sequence number.
 *
 * Errors are positive errno values in struct kubelb_err, together with the
 * kernel's extended ack message when there was one.
 */
#ifndef LIBKUBELB_H
#define LIBKUBELB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/kubelb.h>

#define KUBELB_ERRMSG_MAX	256
#define KUBELB_DEFAULT_DEV	"kube-lb0"

union kubelb_addr {
	uint8_t b[16];
	struct in_addr v4;
	struct in6_addr v6;
};

/* Bit for attribute KUBELB_A_x in struct kubelb_vip.present */
#define KUBELB_HAS(a)		(1u << (a))

struct kubelb_vip {
	unsigned int present;	/* KUBELB_HAS(KUBELB_A_*) of fields set */
	uint16_t family;
	union kubelb_addr addr;
	uint8_t prefixlen;
	uint8_t mode;
	uint32_t ifindex;
	uint32_t link;
	uint32_t flags;
	uint32_t owner;
	uint64_t created;
	uint32_t aggr_refs;
	/* enum kubelb_announce_state; idle from kernels that predate it */
	uint8_t announce_state;
	uint32_t announce_left;	/* announcements left in the burst */
	char service[KUBELB_SERVICE_MAX];
	uint64_t stats[KUBELB_STATS_MAX + 1];
};

struct kubelb_err {
	int code;			/* positive errno, 0 = success */
	char msg[KUBELB_ERRMSG_MAX];	/* extack text, or "" */
	uint32_t miss_type;		/* NLMSGERR_ATTR_MISS_TYPE if any */
	bool has_miss_type;
};

/* Filter for dump and flush; zero fields do not filter. */
struct kubelb_filter {
	uint32_t ifindex;
	uint16_t family;
	bool has_owner;
	uint32_t owner;
};

struct kubelb_route {
	uint16_t family;
	union kubelb_addr dst;
	uint8_t dst_len;
	uint8_t type;		/* RTN_* */
	uint8_t scope;		/* RT_SCOPE_* */
	uint8_t protocol;	/* RTPROT_* */
	uint32_t table;
	uint32_t oif;
};

/* Sorted set of routes, for finding VIPs whose FIB entries are missing. */
struct kubelb_fib {
	struct kubelb_route *r;
	size_t n, cap;
	bool sorted;
};

/* Bits returned by kubelb_fib_missing() */
#define KUBELB_FIB_LOCAL_MISSING	1u
#define KUBELB_FIB_AGGR_MISSING		2u

/* ---- helpers ---- */
size_t kubelb_addr_len(uint16_t family);	/* 4, 16, or 0 */
unsigned int kubelb_max_plen(uint16_t family);	/* 32, 128, or 0 */
void kubelb_addr_mask(uint16_t family, const union kubelb_addr *in,
		      unsigned int plen, union kubelb_addr *out);
const char *kubelb_mode_name(uint8_t mode);	/* "virtual", "local", NULL */
/* "idle", "burst", "periodic", or NULL for a state this library predates */
const char *kubelb_announce_name(uint8_t state);
/* The error as one human-readable reason: extack text or strerror. */
const char *kubelb_err_str(const struct kubelb_err *e);
void kubelb_err_set(struct kubelb_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum kubelb_op_kind {
	KUBELB_OP_ADD,
	KUBELB_OP_REPLACE,
	KUBELB_OP_DEL,
};

/* ---- pure message builders; return NULL if buf is too small ---- */
struct nlmsghdr *kubelb_build_getfamily(void *buf, size_t len, uint32_t seq,
					const char *name);
/* kubelb_build_vip_new() options */
enum kubelb_new_opt {
	KUBELB_NEW_REPLACE = 1 << 0,	/* NLM_F_REPLACE: create or replace */
	KUBELB_NEW_QUIET = 1 << 1,	/* KUBELB_A_QUIET: no reply on success */
};
/* NEW: NLM_F_REQUEST|NLM_F_ACK and opts (enum kubelb_new_opt). Puts
 * IFINDEX, FAMILY, ADDR and every other field whose bit is set in
 * v->present. */
struct nlmsghdr *kubelb_build_vip_new(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, const struct kubelb_vip *v,
				      unsigned int opts);
/* DEL: FAMILY, ADDR, and IFINDEX if ifindex != 0. */
struct nlmsghdr *kubelb_build_vip_del(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, uint16_t family,
				      const union kubelb_addr *addr,
				      uint32_t ifindex);
/* ANNOUNCE: FAMILY, ADDR, and IFINDEX if ifindex != 0. */
struct nlmsghdr *kubelb_build_vip_announce(void *buf, size_t len,
					   uint16_t fam_id, uint32_t seq,
					   uint16_t family,
					   const union kubelb_addr *addr,
					   uint32_t ifindex);
struct nlmsghdr *kubelb_build_vip_get(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, uint16_t family,
				      const union kubelb_addr *addr);
struct nlmsghdr *kubelb_build_vip_dump(void *buf, size_t len, uint16_t fam_id,
				       uint32_t seq,
				       const struct kubelb_filter *f);
struct nlmsghdr *kubelb_build_vip_flush(void *buf, size_t len, uint16_t fam_id,
					uint32_t seq,
					const struct kubelb_filter *f);
/* msg_type RTM_NEWROUTE (flags: NLM_F_CREATE|NLM_F_APPEND added) or
 * RTM_DELROUTE. */
struct nlmsghdr *kubelb_build_route(void *buf, size_t len, uint32_t seq,
				    uint16_t msg_type,
				    const struct kubelb_route *r);
/* Dump of KUBELB_RTPROT routes of one family (strict-checked filter). */
struct nlmsghdr *kubelb_build_route_dump(void *buf, size_t len, uint32_t seq,
					 uint16_t family, uint32_t oif);

/* ---- pure parsers ---- */
/* CTRL_CMD_NEWFAMILY reply: family id, the id of multicast group grp and
 * the highest attribute the family knows (0 if not told). */
int kubelb_parse_getfamily(const struct nlmsghdr *nlh, const char *grp,
			   uint16_t *fam_id, uint32_t *grp_id,
			   uint32_t *maxattr);
/* A kubelb genl message (reply or event). Returns the genl cmd, or
 * -EINVAL if malformed. prev (may be NULL) gets KUBELB_A_PREV, with
 * prev->present == 0 when absent. */
int kubelb_parse_vip(const struct nlmsghdr *nlh, struct kubelb_vip *v,
		     struct kubelb_vip *prev);
/* NLMSG_ERROR: returns e->code (0 for a plain ack), with the extack
 * message if present. */
int kubelb_parse_err(const struct nlmsghdr *nlh, struct kubelb_err *e);
int kubelb_parse_route(const struct nlmsghdr *nlh, struct kubelb_route *r);

/* ---- routes of a VIP ---- */
/* local ADDR/32|128 dev IFINDEX table local proto 95 scope host */
void kubelb_route_local(const struct kubelb_vip *v, struct kubelb_route *r);
/* ADDR/PLEN (masked) dev IFINDEX table main proto 95 scope link */
void kubelb_route_aggr(const struct kubelb_vip *v, struct kubelb_route *r);
bool kubelb_route_same_aggr(const struct kubelb_vip *a,
			    const struct kubelb_vip *b);

/* Route changes that keep the FIB in step after a kernel operation. */
struct kubelb_route_op {
	uint16_t msg_type;	/* RTM_NEWROUTE or RTM_DELROUTE */
	bool aggr;		/* aggregate (else local) route */
	struct kubelb_route r;
};
#define KUBELB_ROUTE_OPS_MAX	4
/*
 * v and prev as the kernel replied (prev->present == 0 if nothing was
 * replaced). Installs come before removals; ADD installs the aggregate
 * when AGGR_REFS is 1, REPLACE always (EEXIST counts as success), DEL
 * removes it when AGGR_REFS is 0. Returns the number of ops.
 */
size_t kubelb_plan_routes(enum kubelb_op_kind kind, const struct kubelb_vip *v,
			  const struct kubelb_vip *prev,
			  struct kubelb_route_op ops[KUBELB_ROUTE_OPS_MAX]);

/* ---- FIB index ---- */
int kubelb_fib_add(struct kubelb_fib *fib, const struct kubelb_route *r);
bool kubelb_fib_has(struct kubelb_fib *fib, const struct kubelb_route *r);
unsigned int kubelb_fib_missing(struct kubelb_fib *fib,
				const struct kubelb_vip *v);
void kubelb_fib_free(struct kubelb_fib *fib);

/* ---- handle ---- */
struct kubelb;

int kubelb_open(struct kubelb **hp, struct kubelb_err *err);
void kubelb_close(struct kubelb *h);
/* Requests per sendmsg the receive buffers allow (a few hundred). */
size_t kubelb_batch_size(const struct kubelb *h);

struct kubelb_req {
	enum kubelb_op_kind op;
	/* in: the VIP to add/replace (present bits) or delete (family, addr,
	 * ifindex 0 = any device); out: the VIP as the kernel reported it */
	struct kubelb_vip vip;
	struct kubelb_vip prev;	/* out: replaced VIP, prev.present == 0 if none */
	bool report;		/* in: ADD: have the kernel report the VIP
				 * (else it is created quietly, vip unchanged) */
	struct kubelb_err err;	/* out: err.code == 0 on success */
	bool executed;		/* out: sent to the kernel */
	bool rolled_back;	/* out: kernel change undone after an error */
};

/*
 * Apply reqs in order: kernel table first, then the routes, in batches.
 * If a route cannot be installed the kernel change is undone (delete, or
 * replace back to the previous VIP) and err says why. Processing stops
 * after the first batch in which a request failed; requests after it have
 * executed == false. Returns the number of failed requests, or -errno if
 * talking to the kernel failed (every unfinished req then has err set).
 */
int kubelb_apply(struct kubelb *h, struct kubelb_req *reqs, size_t n);

typedef int (*kubelb_vip_cb)(const struct kubelb_vip *v, void *data);
/* Dump VIPs (cb returning non-zero stops the walk and is returned). */
int kubelb_vip_dump(struct kubelb *h, const struct kubelb_filter *f,
		    kubelb_vip_cb cb, void *data, struct kubelb_err *err);
int kubelb_vip_get(struct kubelb *h, uint16_t family,
		   const union kubelb_addr *addr, struct kubelb_vip *out,
		   struct kubelb_err *err);
/*
 * Start a new burst of gratuitous ARPs / unsolicited Neighbor
 * Advertisements for a local VIP. ifindex 0: whichever device holds it;
 * otherwise the VIP must belong to that device. out (may be NULL) gets the
 * VIP as the kernel replied, with its new announcement state.
 */
int kubelb_vip_announce(struct kubelb *h, uint16_t family,
			const union kubelb_addr *addr, uint32_t ifindex,
			struct kubelb_vip *out, struct kubelb_err *err);
/* Kernel flush of ifindex, then delete every KUBELB_RTPROT route of it. */
int kubelb_vip_flush(struct kubelb *h, uint32_t ifindex,
		     struct kubelb_err *err);
/* Load every KUBELB_RTPROT route (both families, all tables). */
int kubelb_fib_load(struct kubelb *h, struct kubelb_fib *fib,
		    struct kubelb_err *err);

/* ---- events ---- */
/*
 * cmd is KUBELB_CMD_VIP_NEW, _DEL, _CHANGE, or KUBELB_CMD_VIP_ANNOUNCE
 * when the VIP's announcement state changed (v->announce_state is the new
 * one); commands added to the ABI later are passed on as well.
 */
typedef int (*kubelb_event_cb)(int cmd, const struct kubelb_vip *v,
			       void *data);
int kubelb_events_subscribe(struct kubelb *h, struct kubelb_err *err);
/* Blocks, calls cb for each event until cb returns non-zero. Returns
 * -ENOBUFS (and keeps the subscription) if events were lost. */
int kubelb_events_run(struct kubelb *h, kubelb_event_cb cb, void *data,
		      struct kubelb_err *err);

#endif /* LIBKUBELB_H */
