// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libkubelb: sockets, batched transactions, VIP operations with routes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "libkubelb.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define RBUF_SIZE	(64 * 1024)
#define GENL_MSG_MAX	512
#define ROUTE_MSG_MAX	128
#define RCVBUF_WANT	(4 * 1024 * 1024)
/* receive-buffer bytes (truesize) one request may need for replies+acks */
#define BYTES_PER_REQ	6144
#define BATCH_MIN	16
#define BATCH_MAX	256

struct nlsock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	size_t rcvbuf;
};

/*
 * A batch's working memory, allocated once per handle: per batch it would
 * be a few hundred KB that malloc maps and unmaps every time, and the
 * page faults cost more than building the messages.
 */
struct batch_mem {
	struct kop *kops;	/* batch */
	char *genl;		/* batch * GENL_MSG_MAX */
	struct rop *rops;	/* batch * ROPS_PER_KOP */
	char *route;		/* batch * ROPS_PER_KOP * ROUTE_MSG_MAX */
};
#define ROPS_PER_KOP	(KUBELB_ROUTE_OPS_MAX + 1)
static int batch_mem_alloc(struct kubelb *h);

struct kubelb {
	struct nlsock genl, rtnl, ev;
	uint16_t fam_id;
	uint32_t ev_grp;
	uint32_t maxattr;	/* the loaded module's KUBELB_A_MAX */
	size_t batch;
	char *rbuf;
	struct batch_mem mem;
};

static void set_sys_err(struct kubelb_err *e, const char *what)
{
	int code = errno ? errno : EIO;

	kubelb_err_set(e, code, "%s: %s", what, strerror(code));
}

static int sock_open(struct nlsock *s, int bus, struct kubelb_err *err)
{
	int one = 1, fd, sz = RCVBUF_WANT;
	socklen_t len = sizeof(sz);

	s->nl = mnl_socket_open(bus);
	if (!s->nl) {
		set_sys_err(err, "netlink socket");
		return -err->code;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		set_sys_err(err, "netlink bind");
		mnl_socket_close(s->nl);
		s->nl = NULL;
		return -err->code;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL) << 8;
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(s->nl, NETLINK_GET_STRICT_CHK, &one,
				      sizeof(one));
	fd = mnl_socket_get_fd(s->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &len) < 0)
		sz = 212992;
	s->rcvbuf = sz;
	return 0;
}

static void sock_close(struct nlsock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	s->nl = NULL;
}

/*
 * Which requests of a batch ask for an ack. Every ack is a message to
 * allocate, queue and receive, costing about as much as a small request,
 * so batches ask only for the last: the kernel handles the requests in
 * order and answers every failure, asked or not, so when the last one's
 * ack comes, those without an error have succeeded.
 */
enum txn_acks { TXN_ACK_EACH, TXN_ACK_LAST };

/*
 * Send n messages (seq0 .. seq0+n-1, built with NLM_F_ACK) in one sendmsg
 * and collect their replies and acks. on_reply gets every non-error
 * message, on_ack the final status of each request.
 */
struct txn_ops {
	void (*on_reply)(void *data, size_t idx, const struct nlmsghdr *nlh);
	void (*on_ack)(void *data, size_t idx, const struct kubelb_err *e);
	void *data;
	enum txn_acks acks;
};

static void txn_set_acks(void *buf, size_t len, enum txn_acks acks)
{
	struct nlmsghdr *nlh = buf;
	int rest = (int)len;

	if (acks == TXN_ACK_EACH)
		return;
	for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest))
		if (rest > (int)NLMSG_ALIGN(nlh->nlmsg_len))	/* not last */
			nlh->nlmsg_flags &= ~NLM_F_ACK;
}

/* Request idx of a batch is done with status e. */
static void txn_done(const struct txn_ops *ops, unsigned char *done,
		     size_t *pending, size_t idx, const struct kubelb_err *e)
{
	if (done[idx])
		return;
	done[idx] = 1;
	(*pending)--;
	if (ops->on_ack)
		ops->on_ack(ops->data, idx, e);
}

static int txn_run(struct kubelb *h, struct nlsock *s, void *buf,
		   size_t len, uint32_t seq0, size_t n,
		   const struct txn_ops *ops, struct kubelb_err *err)
{
	static const struct kubelb_err success;
	size_t pending = n, i;
	unsigned char *done;
	ssize_t ret;

	if (!n)
		return 0;
	done = calloc(n, 1);
	if (!done) {
		kubelb_err_set(err, ENOMEM, NULL);
		return -ENOMEM;
	}
	txn_set_acks(buf, len, ops->acks);
	ret = mnl_socket_sendto(s->nl, buf, len);
	if (ret < 0 || (size_t)ret != len) {
		set_sys_err(err, "netlink send");
		free(done);
		return -err->code;
	}
	while (pending) {
		const struct nlmsghdr *nlh;
		int rlen;

		ret = mnl_socket_recvfrom(s->nl, h->rbuf, RBUF_SIZE);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS)
				kubelb_err_set(err, ENOBUFS,
					       "netlink receive buffer overrun (replies lost)");
			else
				set_sys_err(err, "netlink receive");
			free(done);
			return -err->code;
		}
		rlen = (int)ret;
		for (nlh = (const struct nlmsghdr *)h->rbuf;
		     mnl_nlmsg_ok(nlh, rlen);
		     nlh = mnl_nlmsg_next(nlh, &rlen)) {
			size_t idx = (uint32_t)(nlh->nlmsg_seq - seq0);

			if (idx >= n)
				continue;	/* stale or foreign */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct kubelb_err e;

				kubelb_parse_err(nlh, &e);
				txn_done(ops, done, &pending, idx, &e);
				if (ops->acks == TXN_ACK_LAST && idx == n - 1)
					for (i = 0; i < n; i++)
						txn_done(ops, done, &pending, i,
							 &success);
			} else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
				if (ops->on_reply && !done[idx])
					ops->on_reply(ops->data, idx, nlh);
			}
		}
	}
	free(done);
	return 0;
}

/* Run a dump; cb gets each message. */
typedef int (*dump_cb)(const struct nlmsghdr *nlh, void *data);

static int dump_run(struct kubelb *h, struct nlsock *s, struct nlmsghdr *req,
		    dump_cb cb, void *data, struct kubelb_err *err)
{
	uint32_t seq = s->seq++;
	int cbret = 0;
	ssize_t ret;

	req->nlmsg_seq = seq;
	ret = mnl_socket_sendto(s->nl, req, req->nlmsg_len);
	if (ret < 0) {
		set_sys_err(err, "netlink send");
		return -err->code;
	}
	for (;;) {
		const struct nlmsghdr *nlh;
		int rlen;

		ret = mnl_socket_recvfrom(s->nl, h->rbuf, RBUF_SIZE);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			set_sys_err(err, "netlink receive");
			return -err->code;
		}
		rlen = (int)ret;
		for (nlh = (const struct nlmsghdr *)h->rbuf;
		     mnl_nlmsg_ok(nlh, rlen);
		     nlh = mnl_nlmsg_next(nlh, &rlen)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				const int *e = mnl_nlmsg_get_payload(nlh);

				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) &&
				    *e < 0) {
					kubelb_err_set(err, -*e, NULL);
					return *e;
				}
				return cbret;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				if (kubelb_parse_err(nlh, err))
					return -err->code;
				continue;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE || cbret)
				continue;	/* after a stop: drain */
			cbret = cb(nlh, data);
		}
	}
}

/* ---------------------------------------------------------------------- */

static void getfamily_reply(void *data, size_t idx, const struct nlmsghdr *nlh)
{
	struct kubelb *h = data;

	(void)idx;
	if (kubelb_parse_getfamily(nlh, KUBELB_MCGRP_EVENTS, &h->fam_id,
				   &h->ev_grp, &h->maxattr) < 0)
		h->fam_id = 0;
}

static void save_ack(void *data, size_t idx, const struct kubelb_err *e)
{
	struct kubelb_err *out = data;

	out[idx] = *e;
}

int kubelb_open(struct kubelb **hp, struct kubelb_err *err)
{
	char buf[256];
	struct kubelb *h;
	struct nlmsghdr *nlh;
	struct txn_ops ops = { getfamily_reply, NULL, NULL, TXN_ACK_EACH };
	uint32_t seq;
	size_t min;
	int ret;

	memset(err, 0, sizeof(*err));
	h = calloc(1, sizeof(*h));
	if (!h) {
		kubelb_err_set(err, ENOMEM, NULL);
		return -ENOMEM;
	}
	h->rbuf = malloc(RBUF_SIZE);
	if (!h->rbuf) {
		free(h);
		kubelb_err_set(err, ENOMEM, NULL);
		return -ENOMEM;
	}
	ret = sock_open(&h->genl, NETLINK_GENERIC, err);
	if (!ret)
		ret = sock_open(&h->rtnl, NETLINK_ROUTE, err);
	if (ret)
		goto fail;

	seq = h->genl.seq++;
	nlh = kubelb_build_getfamily(buf, sizeof(buf), seq, KUBELB_GENL_NAME);
	ops.data = h;
	ret = txn_run(h, &h->genl, nlh, nlh->nlmsg_len, seq, 1, &ops, err);
	if (ret)
		goto fail;
	if (!h->fam_id) {
		kubelb_err_set(err, ENOENT,
			       "generic netlink family \"%s\" not found (is the kubelb module loaded?)",
			       KUBELB_GENL_NAME);
		ret = -ENOENT;
		goto fail;
	}
	min = h->genl.rcvbuf < h->rtnl.rcvbuf ? h->genl.rcvbuf : h->rtnl.rcvbuf;
	h->batch = min / BYTES_PER_REQ;
	if (h->batch < BATCH_MIN)
		h->batch = BATCH_MIN;
	if (h->batch > BATCH_MAX)
		h->batch = BATCH_MAX;
	if (batch_mem_alloc(h)) {
		kubelb_err_set(err, ENOMEM, NULL);
		ret = -ENOMEM;
		goto fail;
	}
	*hp = h;
	return 0;
fail:
	kubelb_close(h);
	return ret;
}

void kubelb_close(struct kubelb *h)
{
	if (!h)
		return;
	sock_close(&h->genl);
	sock_close(&h->rtnl);
	sock_close(&h->ev);
	free(h->rbuf);
	free(h->mem.kops);
	free(h->mem.genl);
	free(h->mem.rops);
	free(h->mem.route);
	free(h);
}

size_t kubelb_batch_size(const struct kubelb *h)
{
	return h->batch;
}

/* ---------------------------------------------------------------------- */
/* Kernel phase: one genl request per kop */

struct kop {
	enum kubelb_op_kind kind;
	struct kubelb_vip in;	/* request */
	struct kubelb_vip out;	/* kernel reply */
	struct kubelb_vip prev;	/* KUBELB_A_PREV of the reply */
	struct kubelb_err err;	/* kernel result */
	bool got_reply;
	bool report;	/* an ADD whose reply is wanted */
	/* route phase */
	struct kubelb_err rerr;	/* first route failure */
	bool install_failed;
	bool ensure_aggr;	/* rollback of an add: keep shared aggregate */
};

static void kop_reply(void *data, size_t idx, const struct nlmsghdr *nlh)
{
	struct kop *k = &((struct kop *)data)[idx];

	if (kubelb_parse_vip(nlh, &k->out, &k->prev) >= 0)
		k->got_reply = true;
}

static void kop_ack(void *data, size_t idx, const struct kubelb_err *e)
{
	struct kop *k = &((struct kop *)data)[idx];

	k->err = *e;
}

static int kernel_phase(struct kubelb *h, struct kop *k, size_t n,
			struct kubelb_err *err)
{
	struct txn_ops ops = { kop_reply, kop_ack, k, TXN_ACK_LAST };
	char *buf = h->mem.genl;
	uint32_t seq0 = h->genl.seq;
	/* a module loaded before KUBELB_A_QUIET existed rejects it */
	unsigned int quiet = h->maxattr >= KUBELB_A_QUIET ?
			     KUBELB_NEW_QUIET : 0;
	size_t i, off = 0;

	for (i = 0; i < n; i++) {
		struct nlmsghdr *nlh;

		if (k[i].kind == KUBELB_OP_DEL)
			nlh = kubelb_build_vip_del(buf + off, GENL_MSG_MAX,
						   h->fam_id, seq0 + i,
						   k[i].in.family, &k[i].in.addr,
						   k[i].in.ifindex);
		else
			nlh = kubelb_build_vip_new(buf + off, GENL_MSG_MAX,
						   h->fam_id, seq0 + i, &k[i].in,
						   k[i].kind == KUBELB_OP_REPLACE ?
						   KUBELB_NEW_REPLACE :
						   k[i].report ? 0 : quiet);
		if (!nlh) {
			kubelb_err_set(err, EINVAL, "cannot build request");
			return -EINVAL;
		}
		off += nlh->nlmsg_len;
	}
	h->genl.seq += n;
	return txn_run(h, &h->genl, buf, off, seq0, n, &ops, err);
}

/* Route phase: the route changes each successful kop calls for */

struct rop {
	size_t kop;
	struct kubelb_route_op op;
};

struct rop_ctx {
	struct kop *k;
	struct rop *r;
};

static void rop_ack(void *data, size_t idx, const struct kubelb_err *e)
{
	struct rop_ctx *c = data;
	struct rop *r = &c->r[idx];
	struct kop *k = &c->k[r->kop];
	bool install = r->op.msg_type == RTM_NEWROUTE;
	const char *what = r->op.aggr ? "aggregate route" : "local route";

	if (!e->code)
		return;
	if (install && e->code == EEXIST)
		return;
	if (!install && (e->code == ENOENT || e->code == ESRCH))
		return;
	if (install)
		k->install_failed = true;
	if (!k->rerr.code)
		kubelb_err_set(&k->rerr, e->code, "%s%s: %s",
			       install ? "" : "removing ", what,
			       kubelb_err_str(e));
}

static int route_phase(struct kubelb *h, struct kop *k, size_t n,
		       struct kubelb_err *err)
{
	struct rop *r = h->mem.rops;
	char *buf = h->mem.route;
	struct rop_ctx ctx = { k, r };
	struct txn_ops ops = { NULL, rop_ack, &ctx, TXN_ACK_LAST };
	uint32_t seq0 = h->rtnl.seq;
	size_t i, nr = 0, off = 0;

	for (i = 0; i < n; i++) {
		struct kubelb_route_op ops4[KUBELB_ROUTE_OPS_MAX];
		const struct kubelb_vip *v;
		size_t j, m;

		if (k[i].err.code)
			continue;
		v = k[i].got_reply ? &k[i].out : &k[i].in;
		m = kubelb_plan_routes(k[i].kind, v,
				       k[i].got_reply ? &k[i].prev : NULL, ops4);
		for (j = 0; j < m; j++) {
			r[nr].kop = i;
			r[nr].op = ops4[j];
			nr++;
		}
		if (k[i].ensure_aggr && k[i].kind == KUBELB_OP_DEL &&
		    (v->present & KUBELB_HAS(KUBELB_A_AGGR_REFS)) &&
		    v->aggr_refs > 0) {
			r[nr].kop = i;
			r[nr].op.msg_type = RTM_NEWROUTE;
			r[nr].op.aggr = true;
			kubelb_route_aggr(v, &r[nr].op.r);
			nr++;
		}
	}
	for (i = 0; i < nr; i++) {
		struct nlmsghdr *nlh;

		nlh = kubelb_build_route(buf + off, ROUTE_MSG_MAX, seq0 + i,
					 r[i].op.msg_type, &r[i].op.r);
		if (!nlh) {
			kubelb_err_set(err, EINVAL, "cannot build route request");
			return -EINVAL;
		}
		off += nlh->nlmsg_len;
	}
	h->rtnl.seq += nr;
	return txn_run(h, &h->rtnl, buf, off, seq0, nr, &ops, err);
}

static int batch_mem_alloc(struct kubelb *h)
{
	h->mem.kops = calloc(h->batch, sizeof(*h->mem.kops));
	h->mem.genl = malloc(h->batch * GENL_MSG_MAX);
	h->mem.rops = calloc(h->batch * ROPS_PER_KOP, sizeof(*h->mem.rops));
	h->mem.route = malloc(h->batch * ROPS_PER_KOP * ROUTE_MSG_MAX);
	return h->mem.kops && h->mem.genl && h->mem.rops && h->mem.route ?
	       0 : -ENOMEM;
}

/* The configuration of a VIP as the kernel reported it, as a request. */
static void vip_as_request(const struct kubelb_vip *v, struct kubelb_vip *req)
{
	*req = *v;
	req->present &= KUBELB_HAS(KUBELB_A_IFINDEX) |
			KUBELB_HAS(KUBELB_A_FAMILY) |
			KUBELB_HAS(KUBELB_A_ADDR) |
			KUBELB_HAS(KUBELB_A_PREFIXLEN) |
			KUBELB_HAS(KUBELB_A_MODE) |
			KUBELB_HAS(KUBELB_A_LINK) |
			KUBELB_HAS(KUBELB_A_SERVICE) |
			KUBELB_HAS(KUBELB_A_FLAGS) |
			KUBELB_HAS(KUBELB_A_OWNER);
	req->aggr_refs = 0;
	req->announce_state = KUBELB_ANNOUNCE_IDLE;
	req->announce_left = 0;
	req->created = 0;
	memset(req->stats, 0, sizeof(req->stats));
}

static int apply_chunk(struct kubelb *h, struct kubelb_req *reqs, size_t n,
		       struct kubelb_err *err)
{
	struct kop *k = h->mem.kops, *rb = NULL;
	size_t *rb_of = NULL;
	size_t i, nrb = 0;
	int ret, failed = 0;

	memset(k, 0, n * sizeof(*k));
	for (i = 0; i < n; i++) {
		k[i].kind = reqs[i].op;
		k[i].in = reqs[i].vip;
		k[i].report = reqs[i].report;
		reqs[i].executed = true;
	}
	ret = kernel_phase(h, k, n, err);
	if (!ret)
		ret = route_phase(h, k, n, err);
	if (ret)
		goto out;

	/* undo the kernel change of every request whose routes failed */
	for (i = 0; i < n; i++)
		if (k[i].install_failed)
			nrb++;
	if (nrb) {
		size_t j = 0;

		rb = calloc(nrb, sizeof(*rb));
		rb_of = calloc(nrb, sizeof(*rb_of));
		if (!rb || !rb_of) {
			kubelb_err_set(err, ENOMEM, NULL);
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			const struct kubelb_vip *v;

			if (!k[i].install_failed)
				continue;
			v = k[i].got_reply ? &k[i].out : &k[i].in;
			rb_of[j] = i;
			if (k[i].got_reply && k[i].prev.present) {
				rb[j].kind = KUBELB_OP_REPLACE;
				vip_as_request(&k[i].prev, &rb[j].in);
			} else {
				rb[j].kind = KUBELB_OP_DEL;
				vip_as_request(v, &rb[j].in);
				rb[j].ensure_aggr = true;
			}
			j++;
		}
		ret = kernel_phase(h, rb, nrb, err);
		if (!ret)
			ret = route_phase(h, rb, nrb, err);
		if (ret)
			goto out;
	}
out:
	for (i = 0; i < n; i++) {
		struct kubelb_req *q = &reqs[i];

		if (ret && !k[i].err.code && !k[i].rerr.code) {
			q->err = *err;
			failed++;
			continue;
		}
		if (k[i].got_reply) {
			q->vip = k[i].out;
			q->prev = k[i].prev;
		}
		if (k[i].err.code)
			q->err = k[i].err;
		else if (k[i].rerr.code)
			q->err = k[i].rerr;
		if (q->err.code)
			failed++;
	}
	for (i = 0; i < nrb && rb_of; i++) {
		struct kubelb_req *q = &reqs[rb_of[i]];
		char m[KUBELB_ERRMSG_MAX];

		if (rb[i].err.code) {
			/* the kernel change could not be undone */
			snprintf(m, sizeof(m), "%.110s; rollback failed: %.110s",
				 kubelb_err_str(&q->err),
				 kubelb_err_str(&rb[i].err));
		} else {
			q->rolled_back = true;
			if (!rb[i].rerr.code)
				continue;
			/* undone in the kernel; its old routes did not return */
			snprintf(m, sizeof(m), "%.100s; undone, but %.110s",
				 kubelb_err_str(&q->err),
				 kubelb_err_str(&rb[i].rerr));
		}
		snprintf(q->err.msg, sizeof(q->err.msg), "%s", m);
	}
	free(rb);
	free(rb_of);
	return ret ? ret : failed;
}

int kubelb_apply(struct kubelb *h, struct kubelb_req *reqs, size_t n)
{
	struct kubelb_err err = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&reqs[i].err, 0, sizeof(reqs[i].err));
		memset(&reqs[i].prev, 0, sizeof(reqs[i].prev));
		reqs[i].executed = false;
		reqs[i].rolled_back = false;
	}
	for (i = 0; i < n; i += h->batch) {
		size_t m = n - i < h->batch ? n - i : h->batch;
		int ret = apply_chunk(h, reqs + i, m, &err);

		if (ret)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

struct vip_dump_ctx {
	kubelb_vip_cb cb;
	void *data;
};

static int vip_dump_msg(const struct nlmsghdr *nlh, void *data)
{
	struct vip_dump_ctx *c = data;
	struct kubelb_vip v;

	if (kubelb_parse_vip(nlh, &v, NULL) < 0)
		return 0;
	return c->cb(&v, c->data);
}

int kubelb_vip_dump(struct kubelb *h, const struct kubelb_filter *f,
		    kubelb_vip_cb cb, void *data, struct kubelb_err *err)
{
	char buf[GENL_MSG_MAX];
	struct vip_dump_ctx c = { cb, data };
	struct nlmsghdr *nlh;

	memset(err, 0, sizeof(*err));
	nlh = kubelb_build_vip_dump(buf, sizeof(buf), h->fam_id, 0, f);
	if (!nlh) {
		kubelb_err_set(err, EINVAL, "cannot build request");
		return -EINVAL;
	}
	return dump_run(h, &h->genl, nlh, vip_dump_msg, &c, err);
}

struct doit_ctx {
	struct kubelb_vip *out;
	bool got;
	struct kubelb_err err;
};

static void doit_reply(void *data, size_t idx, const struct nlmsghdr *nlh)
{
	struct doit_ctx *c = data;

	(void)idx;
	if (kubelb_parse_vip(nlh, c->out, NULL) >= 0)
		c->got = true;
}

static void doit_ack(void *data, size_t idx, const struct kubelb_err *e)
{
	struct doit_ctx *c = data;

	(void)idx;
	c->err = *e;
}

/* Send one request that the kernel answers with one VIP message. */
static int vip_doit(struct kubelb *h, struct nlmsghdr *nlh, uint32_t seq,
		    struct kubelb_vip *out, struct kubelb_err *err)
{
	struct kubelb_vip reply;
	struct doit_ctx c = { .out = out ? out : &reply };
	struct txn_ops ops = { doit_reply, doit_ack, &c, TXN_ACK_EACH };
	int ret;

	ret = txn_run(h, &h->genl, nlh, nlh->nlmsg_len, seq, 1, &ops, err);
	if (ret)
		return ret;
	if (c.err.code) {
		*err = c.err;
		return -err->code;
	}
	if (!c.got) {
		kubelb_err_set(err, EBADMSG, "no reply from the kernel");
		return -EBADMSG;
	}
	return 0;
}

int kubelb_vip_get(struct kubelb *h, uint16_t family,
		   const union kubelb_addr *addr, struct kubelb_vip *out,
		   struct kubelb_err *err)
{
	char buf[GENL_MSG_MAX];
	uint32_t seq = h->genl.seq++;
	struct nlmsghdr *nlh;

	memset(err, 0, sizeof(*err));
	nlh = kubelb_build_vip_get(buf, sizeof(buf), h->fam_id, seq, family,
				   addr);
	if (!nlh) {
		kubelb_err_set(err, EINVAL, "cannot build request");
		return -EINVAL;
	}
	return vip_doit(h, nlh, seq, out, err);
}

int kubelb_vip_announce(struct kubelb *h, uint16_t family,
			const union kubelb_addr *addr, uint32_t ifindex,
			struct kubelb_vip *out, struct kubelb_err *err)
{
	char buf[GENL_MSG_MAX];
	uint32_t seq = h->genl.seq++;
	struct nlmsghdr *nlh;
	int ret;

	memset(err, 0, sizeof(*err));
	nlh = kubelb_build_vip_announce(buf, sizeof(buf), h->fam_id, seq,
					family, addr, ifindex);
	if (!nlh) {
		kubelb_err_set(err, EINVAL, "cannot build request");
		return -EINVAL;
	}
	ret = vip_doit(h, nlh, seq, out, err);
	/*
	 * The generic netlink core rejects a command the family does not
	 * know with a bare -EOPNOTSUPP: "Operation not supported" alone would
	 * not tell the operator that the module is what is too old.
	 */
	if (ret == -EOPNOTSUPP && !err->msg[0])
		kubelb_err_set(err, EOPNOTSUPP,
			       "announcements not supported by this kubelb module (too old)");
	return ret;
}

struct fib_ctx {
	struct kubelb_fib *fib;
	uint32_t oif;
	int err;
};

static int fib_msg(const struct nlmsghdr *nlh, void *data)
{
	struct fib_ctx *c = data;
	struct kubelb_route r;

	if (kubelb_parse_route(nlh, &r) < 0)
		return 0;
	if (r.protocol != KUBELB_RTPROT || (c->oif && r.oif != c->oif))
		return 0;
	if (kubelb_fib_add(c->fib, &r) < 0) {
		c->err = -ENOMEM;
		return 1;
	}
	return 0;
}

static int fib_load_oif(struct kubelb *h, struct kubelb_fib *fib,
			uint32_t oif, struct kubelb_err *err)
{
	static const uint16_t fams[] = { AF_INET, AF_INET6 };
	struct fib_ctx c = { fib, oif, 0 };
	size_t i;

	memset(err, 0, sizeof(*err));
	for (i = 0; i < 2; i++) {
		char buf[ROUTE_MSG_MAX];
		struct nlmsghdr *nlh;
		int ret;

		nlh = kubelb_build_route_dump(buf, sizeof(buf), 0, fams[i], oif);
		ret = dump_run(h, &h->rtnl, nlh, fib_msg, &c, err);
		if (ret == -EAFNOSUPPORT && fams[i] == AF_INET6)
			continue;	/* IPv6 disabled */
		if (ret < 0) {
			if (!err->code)
				kubelb_err_set(err, -ret, NULL);
			{
				char m[KUBELB_ERRMSG_MAX];

				snprintf(m, sizeof(m), "route dump: %.200s",
					 kubelb_err_str(err));
				snprintf(err->msg, sizeof(err->msg), "%s", m);
			}
			return ret;
		}
		if (c.err) {
			kubelb_err_set(err, ENOMEM, NULL);
			return c.err;
		}
	}
	memset(err, 0, sizeof(*err));
	return 0;
}

int kubelb_fib_load(struct kubelb *h, struct kubelb_fib *fib,
		    struct kubelb_err *err)
{
	return fib_load_oif(h, fib, 0, err);
}

int kubelb_vip_flush(struct kubelb *h, uint32_t ifindex,
		     struct kubelb_err *err)
{
	struct kubelb_filter f = { .ifindex = ifindex };
	struct kubelb_err ack = { 0 };
	struct txn_ops ops = { NULL, save_ack, &ack, TXN_ACK_EACH };
	struct kubelb_fib fib = { 0 };
	char buf[GENL_MSG_MAX];
	uint32_t seq = h->genl.seq++;
	struct nlmsghdr *nlh;
	size_t i;
	int ret;

	memset(err, 0, sizeof(*err));
	nlh = kubelb_build_vip_flush(buf, sizeof(buf), h->fam_id, seq, &f);
	if (!nlh) {
		kubelb_err_set(err, EINVAL, "cannot build request");
		return -EINVAL;
	}
	ret = txn_run(h, &h->genl, nlh, nlh->nlmsg_len, seq, 1, &ops, err);
	if (ret)
		return ret;
	if (ack.code) {
		*err = ack;
		return -err->code;
	}
	ret = fib_load_oif(h, &fib, ifindex, err);
	if (ret)
		goto out;
	for (i = 0; i < fib.n; i += h->batch * 2) {
		size_t m = fib.n - i < h->batch * 2 ? fib.n - i : h->batch * 2;
		struct kubelb_err *acks = calloc(m, sizeof(*acks));
		char *rbuf = malloc(m * ROUTE_MSG_MAX);
		struct txn_ops o = { NULL, save_ack, acks, TXN_ACK_LAST };
		uint32_t seq0 = h->rtnl.seq;
		size_t j, off = 0;

		if (!acks || !rbuf) {
			free(acks);
			free(rbuf);
			kubelb_err_set(err, ENOMEM, NULL);
			ret = -ENOMEM;
			goto out;
		}
		for (j = 0; j < m; j++) {
			nlh = kubelb_build_route(rbuf + off, ROUTE_MSG_MAX,
						 seq0 + j, RTM_DELROUTE,
						 &fib.r[i + j]);
			if (!nlh)	/* cannot happen: parsed as v4/v6 */
				break;
			off += nlh->nlmsg_len;
		}
		m = j;
		h->rtnl.seq += m;
		ret = txn_run(h, &h->rtnl, rbuf, off, seq0, m, &o, err);
		for (j = 0; !ret && j < m; j++) {
			int c = acks[j].code;

			if (c && c != ENOENT && c != ESRCH) {
				kubelb_err_set(err, c, "removing route: %s",
					       kubelb_err_str(&acks[j]));
				ret = -c;
			}
		}
		free(acks);
		free(rbuf);
		if (ret)
			goto out;
	}
out:
	kubelb_fib_free(&fib);
	return ret;
}

/* ---------------------------------------------------------------------- */

int kubelb_events_subscribe(struct kubelb *h, struct kubelb_err *err)
{
	int grp = (int)h->ev_grp;

	memset(err, 0, sizeof(*err));
	if (!h->ev.nl) {
		int ret = sock_open(&h->ev, NETLINK_GENERIC, err);

		if (ret)
			return ret;
	}
	if (mnl_socket_setsockopt(h->ev.nl, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		set_sys_err(err, "join events group");
		return -err->code;
	}
	return 0;
}

int kubelb_events_run(struct kubelb *h, kubelb_event_cb cb, void *data,
		      struct kubelb_err *err)
{
	memset(err, 0, sizeof(*err));
	for (;;) {
		const struct nlmsghdr *nlh;
		ssize_t ret;
		int rlen;

		ret = mnl_socket_recvfrom(h->ev.nl, h->rbuf, RBUF_SIZE);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				kubelb_err_set(err, ENOBUFS,
					       "events lost (receive buffer overrun)");
				return -ENOBUFS;
			}
			set_sys_err(err, "netlink receive");
			return -err->code;
		}
		rlen = (int)ret;
		for (nlh = (const struct nlmsghdr *)h->rbuf;
		     mnl_nlmsg_ok(nlh, rlen);
		     nlh = mnl_nlmsg_next(nlh, &rlen)) {
			struct kubelb_vip v;
			int cmd;

			if (nlh->nlmsg_type != h->fam_id)
				continue;
			cmd = kubelb_parse_vip(nlh, &v, NULL);
			if (cmd < 0)
				continue;
			ret = cb(cmd, &v, data);
			if (ret)
				return (int)ret;
		}
	}
}
