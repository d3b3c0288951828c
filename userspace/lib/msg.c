// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libkubelb: pure netlink message builders and parsers (no sockets).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "libkubelb.h"

size_t kubelb_addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

unsigned int kubelb_max_plen(uint16_t family)
{
	return kubelb_addr_len(family) * 8;
}

void kubelb_addr_mask(uint16_t family, const union kubelb_addr *in,
		      unsigned int plen, union kubelb_addr *out)
{
	size_t len = kubelb_addr_len(family);
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len; i++) {
		unsigned int bits = i * 8;

		if (plen >= bits + 8)
			out->b[i] = in->b[i];
		else if (plen > bits)
			out->b[i] = in->b[i] & (uint8_t)(0xff00u >> (plen - bits));
	}
}

const char *kubelb_mode_name(uint8_t mode)
{
	switch (mode) {
	case KUBELB_MODE_VIRTUAL:
		return "virtual";
	case KUBELB_MODE_LOCAL:
		return "local";
	}
	return NULL;
}

const char *kubelb_announce_name(uint8_t state)
{
	switch (state) {
	case KUBELB_ANNOUNCE_IDLE:
		return "idle";
	case KUBELB_ANNOUNCE_BURST:
		return "burst";
	case KUBELB_ANNOUNCE_PERIODIC:
		return "periodic";
	}
	return NULL;
}

const char *kubelb_err_str(const struct kubelb_err *e)
{
	if (e->msg[0])
		return e->msg;
	return strerror(e->code);
}

void kubelb_err_set(struct kubelb_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->code = code;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
}

/* ---------------------------------------------------------------------- */

static struct nlmsghdr *genl_hdr(void *buf, size_t len, uint16_t type,
				 uint16_t flags, uint32_t seq, uint8_t cmd,
				 uint8_t version)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*g)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

struct nlmsghdr *kubelb_build_getfamily(void *buf, size_t len, uint32_t seq,
					const char *name)
{
	struct nlmsghdr *nlh;

	nlh = genl_hdr(buf, len, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq,
		       CTRL_CMD_GETFAMILY, 1);
	if (!nlh || !mnl_attr_put_strz_check(nlh, len, CTRL_ATTR_FAMILY_NAME,
					     name))
		return NULL;
	return nlh;
}

static bool put_addr(struct nlmsghdr *nlh, size_t len, uint16_t family,
		     const union kubelb_addr *addr)
{
	size_t alen = kubelb_addr_len(family);

	if (!alen)
		return false;
	return mnl_attr_put_u16_check(nlh, len, KUBELB_A_FAMILY, family) &&
	       mnl_attr_put_check(nlh, len, KUBELB_A_ADDR, alen, addr->b);
}

struct nlmsghdr *kubelb_build_vip_new(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, const struct kubelb_vip *v,
				      unsigned int opts)
{
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	struct nlmsghdr *nlh;
	unsigned int p = v->present;

	/*
	 * Only NLM_F_REPLACE, as the ABI says: the generic netlink core
	 * rejects NLM_F_CREATE/NLM_F_EXCL ("ambiguous or reserved bits") for
	 * strictly validated commands.
	 */
	if (opts & KUBELB_NEW_REPLACE)
		flags |= NLM_F_REPLACE;
	nlh = genl_hdr(buf, len, fam_id, flags, seq, KUBELB_CMD_VIP_NEW,
		       KUBELB_GENL_VERSION);
	if (!nlh)
		return NULL;
	if (!mnl_attr_put_u32_check(nlh, len, KUBELB_A_IFINDEX, v->ifindex) ||
	    !put_addr(nlh, len, v->family, &v->addr))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_PREFIXLEN)) &&
	    !mnl_attr_put_u8_check(nlh, len, KUBELB_A_PREFIXLEN, v->prefixlen))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_MODE)) &&
	    !mnl_attr_put_u8_check(nlh, len, KUBELB_A_MODE, v->mode))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_LINK)) &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_LINK, v->link))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_SERVICE)) &&
	    !mnl_attr_put_strz_check(nlh, len, KUBELB_A_SERVICE, v->service))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_FLAGS)) &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_FLAGS, v->flags))
		return NULL;
	if ((p & KUBELB_HAS(KUBELB_A_OWNER)) &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_OWNER, v->owner))
		return NULL;
	if ((opts & KUBELB_NEW_QUIET) &&
	    !mnl_attr_put_check(nlh, len, KUBELB_A_QUIET, 0, NULL))
		return NULL;
	return nlh;
}

/* A request naming one VIP, optionally only if held by device ifindex. */
static struct nlmsghdr *build_vip_addressed(void *buf, size_t len,
					    uint16_t fam_id, uint32_t seq,
					    uint8_t cmd, uint16_t family,
					    const union kubelb_addr *addr,
					    uint32_t ifindex)
{
	struct nlmsghdr *nlh;

	nlh = genl_hdr(buf, len, fam_id, NLM_F_REQUEST | NLM_F_ACK, seq, cmd,
		       KUBELB_GENL_VERSION);
	if (!nlh || !put_addr(nlh, len, family, addr))
		return NULL;
	if (ifindex &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_IFINDEX, ifindex))
		return NULL;
	return nlh;
}

struct nlmsghdr *kubelb_build_vip_del(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, uint16_t family,
				      const union kubelb_addr *addr,
				      uint32_t ifindex)
{
	return build_vip_addressed(buf, len, fam_id, seq, KUBELB_CMD_VIP_DEL,
				   family, addr, ifindex);
}

struct nlmsghdr *kubelb_build_vip_announce(void *buf, size_t len,
					   uint16_t fam_id, uint32_t seq,
					   uint16_t family,
					   const union kubelb_addr *addr,
					   uint32_t ifindex)
{
	return build_vip_addressed(buf, len, fam_id, seq,
				   KUBELB_CMD_VIP_ANNOUNCE, family, addr,
				   ifindex);
}

struct nlmsghdr *kubelb_build_vip_get(void *buf, size_t len, uint16_t fam_id,
				      uint32_t seq, uint16_t family,
				      const union kubelb_addr *addr)
{
	struct nlmsghdr *nlh;

	nlh = genl_hdr(buf, len, fam_id, NLM_F_REQUEST | NLM_F_ACK, seq,
		       KUBELB_CMD_VIP_GET, KUBELB_GENL_VERSION);
	if (!nlh || !put_addr(nlh, len, family, addr))
		return NULL;
	return nlh;
}

static bool put_filter(struct nlmsghdr *nlh, size_t len,
		       const struct kubelb_filter *f)
{
	if (!f)
		return true;
	if (f->ifindex &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_IFINDEX, f->ifindex))
		return false;
	if (f->family &&
	    !mnl_attr_put_u16_check(nlh, len, KUBELB_A_FAMILY, f->family))
		return false;
	if (f->has_owner &&
	    !mnl_attr_put_u32_check(nlh, len, KUBELB_A_OWNER, f->owner))
		return false;
	return true;
}

struct nlmsghdr *kubelb_build_vip_dump(void *buf, size_t len, uint16_t fam_id,
				       uint32_t seq,
				       const struct kubelb_filter *f)
{
	struct nlmsghdr *nlh;

	nlh = genl_hdr(buf, len, fam_id, NLM_F_REQUEST | NLM_F_DUMP, seq,
		       KUBELB_CMD_VIP_GET, KUBELB_GENL_VERSION);
	if (!nlh || !put_filter(nlh, len, f))
		return NULL;
	return nlh;
}

struct nlmsghdr *kubelb_build_vip_flush(void *buf, size_t len, uint16_t fam_id,
					uint32_t seq,
					const struct kubelb_filter *f)
{
	struct nlmsghdr *nlh;

	nlh = genl_hdr(buf, len, fam_id, NLM_F_REQUEST | NLM_F_ACK, seq,
		       KUBELB_CMD_VIP_FLUSH, KUBELB_GENL_VERSION);
	if (!nlh || !put_filter(nlh, len, f))
		return NULL;
	return nlh;
}

struct nlmsghdr *kubelb_build_route(void *buf, size_t len, uint32_t seq,
				    uint16_t msg_type,
				    const struct kubelb_route *r)
{
	size_t alen = kubelb_addr_len(r->family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!alen || len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*rtm)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = msg_type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (msg_type == RTM_NEWROUTE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_APPEND;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = r->type;
	rtm->rtm_table = r->table < 256 ? r->table : RT_TABLE_UNSPEC;
	if (!mnl_attr_put_check(nlh, len, RTA_DST, alen, r->dst.b) ||
	    !mnl_attr_put_u32_check(nlh, len, RTA_OIF, r->oif) ||
	    !mnl_attr_put_u32_check(nlh, len, RTA_TABLE, r->table))
		return NULL;
	return nlh;
}

struct nlmsghdr *kubelb_build_route_dump(void *buf, size_t len, uint32_t seq,
					 uint16_t family, uint32_t oif)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*rtm)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_protocol = KUBELB_RTPROT;
	if (oif && !mnl_attr_put_u32_check(nlh, len, RTA_OIF, oif))
		return NULL;
	return nlh;
}

/* ---------------------------------------------------------------------- */

struct grp_ctx {
	const char *want;
	uint32_t id;
	bool found;
};

static int mcgrp_cb(const struct nlattr *a, void *data)
{
	struct grp_ctx *g = data;
	const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1] = { 0 };
	const struct nlattr *x;

	mnl_attr_for_each_nested(x, a) {
		uint16_t t = mnl_attr_get_type(x);

		if (t <= CTRL_ATTR_MCAST_GRP_MAX)
			tb[t] = x;
	}
	if (!tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID] ||
	    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_NAME], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[CTRL_ATTR_MCAST_GRP_ID], MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	if (!strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]), g->want)) {
		g->id = mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
		g->found = true;
	}
	return MNL_CB_OK;
}

int kubelb_parse_getfamily(const struct nlmsghdr *nlh, const char *grp,
			   uint16_t *fam_id, uint32_t *grp_id,
			   uint32_t *maxattr)
{
	struct grp_ctx g = { .want = grp };
	const struct nlattr *a;
	bool have_id = false;

	if (nlh->nlmsg_type != GENL_ID_CTRL ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EINVAL;
	*maxattr = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EINVAL;
			*fam_id = mnl_attr_get_u16(a);
			have_id = true;
			break;
		case CTRL_ATTR_MAXATTR:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EINVAL;
			*maxattr = mnl_attr_get_u32(a);
			break;
		case CTRL_ATTR_MCAST_GROUPS: {
			const struct nlattr *x;

			mnl_attr_for_each_nested(x, a)
				mcgrp_cb(x, &g);
			break;
		}
		}
	}
	if (!have_id)
		return -EINVAL;
	if (grp) {
		if (!g.found)
			return -ENOENT;
		*grp_id = g.id;
	}
	return 0;
}

static int parse_stats(const struct nlattr *nest, struct kubelb_vip *v)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		uint16_t t = mnl_attr_get_type(a);

		if (t < KUBELB_STATS_REQ_ANSWERED || t > KUBELB_STATS_MAX)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -EINVAL;
		v->stats[t] = mnl_attr_get_u64(a);
	}
	return 0;
}

static int parse_vip_attrs(const void *payload, size_t plen,
			   struct kubelb_vip *v, struct kubelb_vip *prev,
			   int depth)
{
	const struct nlattr *attr;
	size_t alen, addr_len = 0;

	memset(v, 0, sizeof(*v));
	mnl_attr_for_each_payload(payload, plen) {
		const struct nlattr *a = attr;
		uint16_t t = mnl_attr_get_type(a);
		int ok = 0;

		switch (t) {
		case KUBELB_A_IFINDEX:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->ifindex = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_FAMILY:
			ok = mnl_attr_validate(a, MNL_TYPE_U16);
			if (!ok)
				v->family = mnl_attr_get_u16(a);
			break;
		case KUBELB_A_ADDR:
			alen = mnl_attr_get_payload_len(a);
			if (alen != 4 && alen != 16)
				return -EINVAL;
			memcpy(v->addr.b, mnl_attr_get_payload(a), alen);
			addr_len = alen;
			break;
		case KUBELB_A_PREFIXLEN:
			ok = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!ok)
				v->prefixlen = mnl_attr_get_u8(a);
			break;
		case KUBELB_A_MODE:
			ok = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!ok)
				v->mode = mnl_attr_get_u8(a);
			break;
		case KUBELB_A_LINK:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->link = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_SERVICE:
			alen = mnl_attr_get_payload_len(a);
			if (alen >= sizeof(v->service))
				return -EINVAL;
			memcpy(v->service, mnl_attr_get_payload(a), alen);
			v->service[alen] = '\0';
			break;
		case KUBELB_A_FLAGS:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->flags = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_OWNER:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->owner = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_CREATED:
			ok = mnl_attr_validate(a, MNL_TYPE_U64);
			if (!ok)
				v->created = mnl_attr_get_u64(a);
			break;
		case KUBELB_A_STATS:
			ok = parse_stats(a, v);
			break;
		case KUBELB_A_AGGR_REFS:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->aggr_refs = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_ANNOUNCE_STATE:
			ok = mnl_attr_validate(a, MNL_TYPE_U8);
			if (!ok)
				v->announce_state = mnl_attr_get_u8(a);
			break;
		case KUBELB_A_ANNOUNCE_LEFT:
			ok = mnl_attr_validate(a, MNL_TYPE_U32);
			if (!ok)
				v->announce_left = mnl_attr_get_u32(a);
			break;
		case KUBELB_A_PREV:
			if (depth || !prev)
				break;
			ok = parse_vip_attrs(mnl_attr_get_payload(a),
					     mnl_attr_get_payload_len(a),
					     prev, NULL, depth + 1);
			break;
		default:
			continue;	/* newer kernel: ignore */
		}
		if (ok < 0)
			return -EINVAL;
		if (t != KUBELB_A_PREV)
			v->present |= KUBELB_HAS(t);
	}
	if (!(v->present & KUBELB_HAS(KUBELB_A_ADDR)) ||
	    !(v->present & KUBELB_HAS(KUBELB_A_FAMILY)))
		return -EINVAL;
	if (v->family != AF_INET && v->family != AF_INET6)
		return -EINVAL;
	if (kubelb_addr_len(v->family) != addr_len)
		return -EINVAL;
	if (!(v->present & KUBELB_HAS(KUBELB_A_PREFIXLEN)))
		v->prefixlen = kubelb_max_plen(v->family);
	return 0;
}

int kubelb_parse_vip(const struct nlmsghdr *nlh, struct kubelb_vip *v,
		     struct kubelb_vip *prev)
{
	const struct genlmsghdr *g;
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (prev)
		memset(prev, 0, sizeof(*prev));
	if (nlh->nlmsg_type < NLMSG_MIN_TYPE || len < sizeof(*g))
		return -EINVAL;
	g = mnl_nlmsg_get_payload(nlh);
	if (parse_vip_attrs((const char *)g + MNL_ALIGN(sizeof(*g)),
			    len - MNL_ALIGN(sizeof(*g)), v, prev, 0) < 0)
		return -EINVAL;
	if (prev && prev->present &&
	    (!(prev->present & KUBELB_HAS(KUBELB_A_ADDR)) ||
	     !(prev->present & KUBELB_HAS(KUBELB_A_FAMILY))))
		return -EINVAL;
	return g->cmd;
}

int kubelb_parse_err(const struct nlmsghdr *nlh, struct kubelb_err *e)
{
	const struct nlmsgerr *err;
	size_t len = mnl_nlmsg_get_payload_len(nlh);
	size_t off;

	memset(e, 0, sizeof(*e));
	if (nlh->nlmsg_type != NLMSG_ERROR || len < sizeof(*err)) {
		e->code = EBADMSG;
		return e->code;
	}
	err = mnl_nlmsg_get_payload(nlh);
	e->code = err->error < 0 ? -err->error : err->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->code;
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return e->code;
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	off = MNL_ALIGN(off);
	if (off >= len)
		return e->code;
	{
		const void *p = (const char *)err + off;
		const struct nlattr *attr;

		mnl_attr_for_each_payload(p, len - off) {
			const struct nlattr *a = attr;

			switch (mnl_attr_get_type(a)) {
			case NLMSGERR_ATTR_MSG:
				if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
					break;
				snprintf(e->msg, sizeof(e->msg), "%s",
					 mnl_attr_get_str(a));
				break;
			case NLMSGERR_ATTR_MISS_TYPE:
				if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
					break;
				e->miss_type = mnl_attr_get_u32(a);
				e->has_miss_type = true;
				break;
			}
		}
	}
	return e->code;
}

int kubelb_parse_route(const struct nlmsghdr *nlh, struct kubelb_route *r)
{
	const struct rtmsg *rtm;
	const struct nlattr *a;
	size_t alen;

	memset(r, 0, sizeof(*r));
	if ((nlh->nlmsg_type != RTM_NEWROUTE &&
	     nlh->nlmsg_type != RTM_DELROUTE) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EINVAL;
	rtm = mnl_nlmsg_get_payload(nlh);
	alen = kubelb_addr_len(rtm->rtm_family);
	if (!alen)
		return -EAFNOSUPPORT;
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->scope = rtm->rtm_scope;
	r->protocol = rtm->rtm_protocol;
	r->table = rtm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) != alen)
				return -EINVAL;
			memcpy(r->dst.b, mnl_attr_get_payload(a), alen);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EINVAL;
			r->oif = mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EINVAL;
			r->table = mnl_attr_get_u32(a);
			break;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

void kubelb_route_local(const struct kubelb_vip *v, struct kubelb_route *r)
{
	memset(r, 0, sizeof(*r));
	r->family = v->family;
	r->dst = v->addr;
	r->dst_len = kubelb_max_plen(v->family);
	r->type = RTN_LOCAL;
	r->scope = RT_SCOPE_HOST;
	r->protocol = KUBELB_RTPROT;
	r->table = RT_TABLE_LOCAL;
	r->oif = v->ifindex;
}

static unsigned int vip_plen(const struct kubelb_vip *v)
{
	unsigned int max = kubelb_max_plen(v->family);

	if (!(v->present & KUBELB_HAS(KUBELB_A_PREFIXLEN)) ||
	    v->prefixlen > max)
		return max;
	return v->prefixlen;
}

void kubelb_route_aggr(const struct kubelb_vip *v, struct kubelb_route *r)
{
	unsigned int plen = vip_plen(v);

	memset(r, 0, sizeof(*r));
	r->family = v->family;
	kubelb_addr_mask(v->family, &v->addr, plen, &r->dst);
	r->dst_len = plen;
	r->type = RTN_UNICAST;
	r->scope = RT_SCOPE_LINK;
	r->protocol = KUBELB_RTPROT;
	r->table = RT_TABLE_MAIN;
	r->oif = v->ifindex;
}

static int route_cmp(const void *pa, const void *pb)
{
	const struct kubelb_route *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->dst_len != b->dst_len)
		return a->dst_len < b->dst_len ? -1 : 1;
	if (a->oif != b->oif)
		return a->oif < b->oif ? -1 : 1;
	return memcmp(a->dst.b, b->dst.b, kubelb_addr_len(a->family));
}

bool kubelb_route_same_aggr(const struct kubelb_vip *a,
			    const struct kubelb_vip *b)
{
	struct kubelb_route ra, rb;

	kubelb_route_aggr(a, &ra);
	kubelb_route_aggr(b, &rb);
	return route_cmp(&ra, &rb) == 0;
}

int kubelb_fib_add(struct kubelb_fib *fib, const struct kubelb_route *r)
{
	if (fib->n == fib->cap) {
		size_t cap = fib->cap ? fib->cap * 2 : 256;
		struct kubelb_route *n = realloc(fib->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		fib->r = n;
		fib->cap = cap;
	}
	fib->r[fib->n] = *r;
	/* only the fields route_cmp() looks at matter; zero the rest */
	memset(fib->r[fib->n].dst.b + kubelb_addr_len(r->family), 0,
	       sizeof(r->dst) - kubelb_addr_len(r->family));
	fib->n++;
	fib->sorted = false;
	return 0;
}

bool kubelb_fib_has(struct kubelb_fib *fib, const struct kubelb_route *r)
{
	if (!fib->n)
		return false;
	if (!fib->sorted) {
		qsort(fib->r, fib->n, sizeof(*fib->r), route_cmp);
		fib->sorted = true;
	}
	return bsearch(r, fib->r, fib->n, sizeof(*fib->r), route_cmp) != NULL;
}

unsigned int kubelb_fib_missing(struct kubelb_fib *fib,
				const struct kubelb_vip *v)
{
	struct kubelb_route r;
	unsigned int m = 0;

	kubelb_route_local(v, &r);
	if (!kubelb_fib_has(fib, &r))
		m |= KUBELB_FIB_LOCAL_MISSING;
	kubelb_route_aggr(v, &r);
	if (!kubelb_fib_has(fib, &r))
		m |= KUBELB_FIB_AGGR_MISSING;
	return m;
}

void kubelb_fib_free(struct kubelb_fib *fib)
{
	free(fib->r);
	memset(fib, 0, sizeof(*fib));
}

static void add_op(struct kubelb_route_op *ops, size_t *n, uint16_t type,
		   bool aggr, const struct kubelb_vip *v)
{
	struct kubelb_route_op *o = &ops[(*n)++];

	o->msg_type = type;
	o->aggr = aggr;
	if (aggr)
		kubelb_route_aggr(v, &o->r);
	else
		kubelb_route_local(v, &o->r);
}

size_t kubelb_plan_routes(enum kubelb_op_kind kind, const struct kubelb_vip *v,
			  const struct kubelb_vip *prev,
			  struct kubelb_route_op ops[KUBELB_ROUTE_OPS_MAX])
{
	bool has_refs = v->present & KUBELB_HAS(KUBELB_A_AGGR_REFS);
	size_t n = 0;

	if (kind == KUBELB_OP_DEL) {
		add_op(ops, &n, RTM_DELROUTE, false, v);
		if (has_refs && v->aggr_refs == 0)
			add_op(ops, &n, RTM_DELROUTE, true, v);
		return n;
	}
	/*
	 * Installs first. Every add and replace asserts its aggregate even
	 * when AGGR_REFS says it is shared (EEXIST is fine): if installing a
	 * shared aggregate fails, each VIP sharing it fails and is rolled
	 * back on its own, and a missing shared aggregate gets repaired.
	 */
	add_op(ops, &n, RTM_NEWROUTE, false, v);
	add_op(ops, &n, RTM_NEWROUTE, true, v);
	if (!prev || !prev->present)
		return n;
	if (prev->ifindex != v->ifindex)
		add_op(ops, &n, RTM_DELROUTE, false, prev);
	if (!kubelb_route_same_aggr(v, prev) &&
	    (prev->present & KUBELB_HAS(KUBELB_A_AGGR_REFS)) &&
	    prev->aggr_refs == 0)
		add_op(ops, &n, RTM_DELROUTE, true, prev);
	return n;
}
