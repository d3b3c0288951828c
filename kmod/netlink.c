// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: the "kubelb" generic netlink family (see <linux/kubelb.h>).
 */

#include <linux/netdevice.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/netlink.h>

#include "kubelb.h"

enum kubelb_nlgrp {
	KUBELB_NLGRP_EVENTS,
};

static const struct genl_multicast_group kubelb_mcgrps[] = {
	[KUBELB_NLGRP_EVENTS] = { .name = KUBELB_MCGRP_EVENTS },
};

static struct genl_family kubelb_family;

#define KUBELB_POLICY_REPLY_ONLY(attr)					\
	[attr] = { .type = NLA_REJECT,					\
		   .reject_message = #attr " is only used in replies" }

#define KUBELB_POLICY_NOT_FOR(attr, cmd)				\
	[attr] = { .type = NLA_REJECT,					\
		   .reject_message = #attr " is not valid for " #cmd }

/*
 * Only types are checked here; ranges that depend on other attributes,
 * and everything that deserves a precise message, are checked by
 * kubelb_nl_parse_vip() and kubelb_nl_parse_filter().
 */
const struct nla_policy kubelb_new_policy[KUBELB_A_MAX + 1] = {
	[KUBELB_A_IFINDEX]	= { .type = NLA_U32 },
	[KUBELB_A_FAMILY]	= { .type = NLA_U16 },
	[KUBELB_A_ADDR]		= { .type = NLA_BINARY },
	[KUBELB_A_PREFIXLEN]	= { .type = NLA_U8 },
	[KUBELB_A_MODE]		= { .type = NLA_U8 },
	[KUBELB_A_LINK]		= { .type = NLA_U32 },
	[KUBELB_A_SERVICE]	= { .type = NLA_NUL_STRING },
	[KUBELB_A_FLAGS]	= { .type = NLA_U32 },
	[KUBELB_A_OWNER]	= { .type = NLA_U32 },
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_CREATED),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_STATS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_AGGR_REFS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_PREV),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_STATE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_LEFT),
	[KUBELB_A_QUIET]	= { .type = NLA_FLAG },
};

const struct nla_policy kubelb_del_policy[KUBELB_A_MAX + 1] = {
	[KUBELB_A_IFINDEX]	= { .type = NLA_U32 },
	[KUBELB_A_FAMILY]	= { .type = NLA_U16 },
	[KUBELB_A_ADDR]		= { .type = NLA_BINARY },
	KUBELB_POLICY_NOT_FOR(KUBELB_A_PREFIXLEN, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_MODE, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_LINK, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_SERVICE, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_FLAGS, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_OWNER, KUBELB_CMD_VIP_DEL),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_CREATED),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_STATS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_AGGR_REFS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_PREV),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_STATE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_LEFT),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_QUIET, KUBELB_CMD_VIP_DEL),
};

const struct nla_policy kubelb_get_policy[KUBELB_A_MAX + 1] = {
	[KUBELB_A_IFINDEX]	= { .type = NLA_U32 },
	[KUBELB_A_FAMILY]	= { .type = NLA_U16 },
	[KUBELB_A_ADDR]		= { .type = NLA_BINARY },
	KUBELB_POLICY_NOT_FOR(KUBELB_A_PREFIXLEN, KUBELB_CMD_VIP_GET),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_MODE, KUBELB_CMD_VIP_GET),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_LINK, KUBELB_CMD_VIP_GET),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_SERVICE, KUBELB_CMD_VIP_GET),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_FLAGS, KUBELB_CMD_VIP_GET),
	[KUBELB_A_OWNER]	= { .type = NLA_U32 },
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_CREATED),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_STATS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_AGGR_REFS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_PREV),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_STATE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_LEFT),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_QUIET, KUBELB_CMD_VIP_GET),
};

const struct nla_policy kubelb_flush_policy[KUBELB_A_MAX + 1] = {
	[KUBELB_A_IFINDEX]	= { .type = NLA_U32 },
	[KUBELB_A_FAMILY]	= { .type = NLA_U16 },
	KUBELB_POLICY_NOT_FOR(KUBELB_A_ADDR, KUBELB_CMD_VIP_FLUSH),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_PREFIXLEN, KUBELB_CMD_VIP_FLUSH),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_MODE, KUBELB_CMD_VIP_FLUSH),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_LINK, KUBELB_CMD_VIP_FLUSH),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_SERVICE, KUBELB_CMD_VIP_FLUSH),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_FLAGS, KUBELB_CMD_VIP_FLUSH),
	[KUBELB_A_OWNER]	= { .type = NLA_U32 },
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_CREATED),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_STATS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_AGGR_REFS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_PREV),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_STATE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_LEFT),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_QUIET, KUBELB_CMD_VIP_FLUSH),
};

const struct nla_policy kubelb_announce_policy[KUBELB_A_MAX + 1] = {
	[KUBELB_A_IFINDEX]	= { .type = NLA_U32 },
	[KUBELB_A_FAMILY]	= { .type = NLA_U16 },
	[KUBELB_A_ADDR]		= { .type = NLA_BINARY },
	KUBELB_POLICY_NOT_FOR(KUBELB_A_PREFIXLEN, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_MODE, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_LINK, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_SERVICE, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_FLAGS, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_OWNER, KUBELB_CMD_VIP_ANNOUNCE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_CREATED),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_STATS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_AGGR_REFS),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_PREV),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_STATE),
	KUBELB_POLICY_REPLY_ONLY(KUBELB_A_ANNOUNCE_LEFT),
	KUBELB_POLICY_NOT_FOR(KUBELB_A_QUIET, KUBELB_CMD_VIP_ANNOUNCE),
};

/* Must be a macro: NL_SET_ERR_MSG() wants a string literal. */
#define KUBELB_MISSING(extack, attr, what)				\
	do {								\
		struct netlink_ext_ack *__ext = (extack);		\
									\
		NL_SET_ERR_MSG(__ext,					\
			       "missing attribute: " what " (" #attr ")");\
		NL_SET_ERR_ATTR_MISS(__ext, NULL, attr);		\
	} while (0)

/* Kubernetes namespaces and Service names are DNS-1123 labels. */
static bool kubelb_dns_label_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 63)
		return false;
	for (i = 0; i < len; i++) {
		/* not islower(): the kernel's ctype accepts Latin-1 letters */
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '-' && i != 0 && i != len - 1)
			continue;
		return false;
	}
	return true;
}

static bool kubelb_service_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash && kubelb_dns_label_ok(s, slash - s) &&
	       kubelb_dns_label_ok(slash + 1, strlen(slash + 1));
}

static bool kubelb_addr_unicast(const struct kubelb_key *key)
{
	if (key->family == AF_INET) {
		__be32 a = key->addr.ip4;

		return !ipv4_is_zeronet(a) && !ipv4_is_loopback(a) &&
		       !ipv4_is_multicast(a) && !ipv4_is_lbcast(a);
	}
	return !ipv6_addr_any(&key->addr.ip6) &&
	       !ipv6_addr_loopback(&key->addr.ip6) &&
	       !ipv6_addr_is_multicast(&key->addr.ip6);
}

/* ifindex values are positive ints; anything else names no device. */
static bool kubelb_ifindex_ok(u32 ifindex)
{
	return ifindex && ifindex <= INT_MAX;
}

static int kubelb_nl_parse_family(const struct nlattr *attr, u16 *family,
				  struct netlink_ext_ack *extack)
{
	u16 fam = nla_get_u16(attr);

	if (fam != AF_INET && fam != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "unsupported address family");
		return -EAFNOSUPPORT;
	}
	if (fam == AF_INET6 && !IS_ENABLED(CONFIG_IPV6)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "IPv6 is not enabled in this kernel");
		return -EAFNOSUPPORT;
	}
	*family = fam;
	return 0;
}

/**
 * kubelb_nl_parse_vip - turn request attributes into a VIP configuration
 * @attrs: attributes, already checked against the command's policy
 * @cmd: KUBELB_CMD_VIP_NEW, _DEL or _GET
 * @cfg: result; for NEW, absent attributes get their defaults
 * @extack: names the problem on failure
 *
 * Checks everything that needs no namespace lookup. Returns 0 or a
 * negative errno.
 */
int kubelb_nl_parse_vip(struct nlattr *const *attrs, u8 cmd,
			struct kubelb_vip_cfg *cfg,
			struct netlink_ext_ack *extack)
{
	const struct nlattr *attr;
	unsigned int maxlen;
	u16 family;
	int err;

	memset(cfg, 0, sizeof(*cfg));

	if (cmd == KUBELB_CMD_VIP_NEW && !attrs[KUBELB_A_IFINDEX]) {
		KUBELB_MISSING(extack, KUBELB_A_IFINDEX, "device");
		return -EINVAL;
	}
	if (!attrs[KUBELB_A_FAMILY]) {
		KUBELB_MISSING(extack, KUBELB_A_FAMILY, "address family");
		return -EINVAL;
	}
	if (!attrs[KUBELB_A_ADDR]) {
		KUBELB_MISSING(extack, KUBELB_A_ADDR, "address");
		return -EINVAL;
	}

	attr = attrs[KUBELB_A_IFINDEX];
	if (attr) {
		if (!kubelb_ifindex_ok(nla_get_u32(attr))) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "no such device");
			return -ENODEV;
		}
		cfg->ifindex = nla_get_u32(attr);
	}

	err = kubelb_nl_parse_family(attrs[KUBELB_A_FAMILY], &family, extack);
	if (err)
		return err;

	attr = attrs[KUBELB_A_ADDR];
	if (nla_len(attr) != kubelb_addr_len(family)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "address length does not match family");
		return -EINVAL;
	}
	kubelb_key_init(&cfg->key, family, nla_data(attr));
	if (!kubelb_addr_unicast(&cfg->key)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "address is not a unicast address");
		return -EINVAL;
	}

	if (cmd != KUBELB_CMD_VIP_NEW)
		return 0;

	maxlen = kubelb_max_prefixlen(family);
	cfg->prefixlen = maxlen;
	attr = attrs[KUBELB_A_PREFIXLEN];
	if (attr) {
		if (nla_get_u8(attr) > maxlen) {
			if (family == AF_INET)
				NL_SET_ERR_MSG_ATTR(extack, attr,
						    "prefix length out of range for IPv4 (0-32)");
			else
				NL_SET_ERR_MSG_ATTR(extack, attr,
						    "prefix length out of range for IPv6 (0-128)");
			return -EINVAL;
		}
		cfg->prefixlen = nla_get_u8(attr);
	}

	cfg->mode = KUBELB_MODE_VIRTUAL;
	attr = attrs[KUBELB_A_MODE];
	if (attr) {
		if (nla_get_u8(attr) > KUBELB_MODE_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "unknown mode (0 = virtual, 1 = local)");
			return -EINVAL;
		}
		cfg->mode = nla_get_u8(attr);
	}

	attr = attrs[KUBELB_A_LINK];
	if (cfg->mode == KUBELB_MODE_LOCAL && !attr) {
		NL_SET_ERR_MSG(extack, "mode local requires a link");
		NL_SET_ERR_ATTR_MISS(extack, NULL, KUBELB_A_LINK);
		return -EINVAL;
	}
	if (attr) {
		if (cfg->mode != KUBELB_MODE_LOCAL) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "link is only allowed with mode local");
			return -EINVAL;
		}
		if (!kubelb_ifindex_ok(nla_get_u32(attr))) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "no such link");
			return -ENODEV;
		}
		cfg->link = nla_get_u32(attr);
	}

	attr = attrs[KUBELB_A_SERVICE];
	if (attr) {
		/* The policy guarantees a NUL within the attribute. */
		if (!kubelb_service_ok(nla_data(attr))) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "service must be namespace/name");
			return -EINVAL;
		}
		strscpy(cfg->service, nla_data(attr), sizeof(cfg->service));
	}

	attr = attrs[KUBELB_A_FLAGS];
	if (attr) {
		if (nla_get_u32(attr) & ~KUBELB_VIP_F_ALL) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "unknown flags");
			return -EOPNOTSUPP;
		}
		cfg->flags = nla_get_u32(attr);
	}

	if (attrs[KUBELB_A_OWNER])
		cfg->owner = nla_get_u32(attrs[KUBELB_A_OWNER]);
	return 0;
}

/**
 * kubelb_nl_parse_filter - parse the selectors of FLUSH, GET and its dump
 * @attrs: attributes, already checked against the command's policy
 * @cmd: KUBELB_CMD_VIP_FLUSH (device required) or KUBELB_CMD_VIP_GET
 * @f: result
 * @extack: names the problem on failure
 */
int kubelb_nl_parse_filter(struct nlattr *const *attrs, u8 cmd,
			   struct kubelb_filter *f,
			   struct netlink_ext_ack *extack)
{
	const struct nlattr *attr;
	int err;

	memset(f, 0, sizeof(*f));

	attr = attrs[KUBELB_A_IFINDEX];
	if (!attr && cmd == KUBELB_CMD_VIP_FLUSH) {
		KUBELB_MISSING(extack, KUBELB_A_IFINDEX, "device");
		return -EINVAL;
	}
	if (attr) {
		if (!kubelb_ifindex_ok(nla_get_u32(attr))) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "no such device");
			return -ENODEV;
		}
		f->ifindex = nla_get_u32(attr);
	}

	if (attrs[KUBELB_A_FAMILY]) {
		err = kubelb_nl_parse_family(attrs[KUBELB_A_FAMILY],
					     &f->family, extack);
		if (err)
			return err;
	}

	if (attrs[KUBELB_A_OWNER]) {
		f->has_owner = true;
		f->owner = nla_get_u32(attrs[KUBELB_A_OWNER]);
	}
	return 0;
}

static size_t kubelb_nl_cfg_size(void)
{
	return nla_total_size(sizeof(u32))		/* IFINDEX */
	       + nla_total_size(sizeof(u16))		/* FAMILY */
	       + nla_total_size(sizeof(struct in6_addr))	/* ADDR */
	       + nla_total_size(sizeof(u8))		/* PREFIXLEN */
	       + nla_total_size(sizeof(u8))		/* MODE */
	       + nla_total_size(sizeof(u32))		/* LINK */
	       + nla_total_size(KUBELB_SERVICE_MAX)	/* SERVICE */
	       + nla_total_size(sizeof(u32))		/* FLAGS */
	       + nla_total_size(sizeof(u32))		/* OWNER */
	       + nla_total_size_64bit(sizeof(u64))	/* CREATED */
	       + nla_total_size(sizeof(u32));		/* AGGR_REFS */
}

static size_t kubelb_nl_msg_size(void)
{
	return kubelb_nl_cfg_size()
	       + nla_total_size(sizeof(u8))		/* ANNOUNCE_STATE */
	       + nla_total_size(sizeof(u32))		/* ANNOUNCE_LEFT */
	       + nla_total_size(0)			/* STATS */
	       + KUBELB_STAT_NUM * nla_total_size_64bit(sizeof(u64))
	       + nla_total_size(0)			/* PREV */
	       + kubelb_nl_cfg_size();
}

static int kubelb_nl_put_cfg(struct sk_buff *skb,
			     const struct kubelb_vip_cfg *cfg, u64 created,
			     unsigned int aggr_refs)
{
	const struct kubelb_key *key = &cfg->key;

	if (nla_put_u32(skb, KUBELB_A_IFINDEX, cfg->ifindex) ||
	    nla_put_u16(skb, KUBELB_A_FAMILY, key->family) ||
	    nla_put(skb, KUBELB_A_ADDR, kubelb_addr_len(key->family),
		    &key->addr) ||
	    nla_put_u8(skb, KUBELB_A_PREFIXLEN, cfg->prefixlen) ||
	    nla_put_u8(skb, KUBELB_A_MODE, cfg->mode) ||
	    (cfg->link && nla_put_u32(skb, KUBELB_A_LINK, cfg->link)) ||
	    (cfg->service[0] &&
	     nla_put_string(skb, KUBELB_A_SERVICE, cfg->service)) ||
	    nla_put_u32(skb, KUBELB_A_FLAGS, cfg->flags) ||
	    nla_put_u32(skb, KUBELB_A_OWNER, cfg->owner) ||
	    nla_put_u64_64bit(skb, KUBELB_A_CREATED, created, KUBELB_A_PAD) ||
	    nla_put_u32(skb, KUBELB_A_AGGR_REFS, aggr_refs))
		return -EMSGSIZE;
	return 0;
}

static int kubelb_nl_put_stats(struct sk_buff *skb,
			       const struct kubelb_vip *vip)
{
	u64 cnt[KUBELB_STAT_NUM];
	struct nlattr *nest;
	int i;

	kubelb_vip_stats_read(vip, cnt);
	nest = nla_nest_start(skb, KUBELB_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < KUBELB_STAT_NUM; i++) {
		if (nla_put_u64_64bit(skb, KUBELB_STATS_REQ_ANSWERED + i,
				      cnt[i], KUBELB_STATS_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* @res is only given for NEW, to report the replaced VIP as PREV. */
static int kubelb_nl_fill(struct sk_buff *skb, u32 portid, u32 seq,
			  int flags, u8 cmd, const struct kubelb_vip *vip,
			  unsigned int aggr_refs,
			  const struct kubelb_result *res)
{
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kubelb_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;

	if (kubelb_nl_put_cfg(skb, &vip->cfg, vip->created_ns, aggr_refs) ||
	    nla_put_u8(skb, KUBELB_A_ANNOUNCE_STATE, vip->announce_state) ||
	    nla_put_u32(skb, KUBELB_A_ANNOUNCE_LEFT, vip->announce_left) ||
	    kubelb_nl_put_stats(skb, vip))
		goto cancel;

	if (res && res->replaced) {
		nest = nla_nest_start(skb, KUBELB_A_PREV);
		if (!nest)
			goto cancel;
		if (kubelb_nl_put_cfg(skb, &res->prev, vip->created_ns,
				      res->prev_aggr_refs))
			goto cancel;
		nla_nest_end(skb, nest);
	}

	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static bool kubelb_nl_listening(struct net *net)
{
	return genl_has_listeners(&kubelb_family, net, KUBELB_NLGRP_EVENTS);
}

/*
 * Events are sent with the table lock held so that listeners see them in
 * the order the changes were made.
 */
static void kubelb_nl_notify(struct net *net, struct sk_buff *skb)
{
	genlmsg_multicast_netns(&kubelb_family, net, skb, 0,
				KUBELB_NLGRP_EVENTS, GFP_KERNEL);
}

/*
 * An event built when it happens, for changes nothing else waits on. A
 * lost one tells listeners they missed something: they must resync.
 */
static void kubelb_nl_event(struct net *net, u32 portid, u32 seq, u8 cmd,
			    const struct kubelb_vip *vip,
			    unsigned int aggr_refs,
			    const struct kubelb_result *res)
{
	struct sk_buff *skb;

	if (!kubelb_nl_listening(net))
		return;
	skb = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
	if (!skb) {
		genl_set_err(&kubelb_family, net, 0, KUBELB_NLGRP_EVENTS,
			     -ENOBUFS);
		return;
	}
	if (WARN_ON_ONCE(kubelb_nl_fill(skb, portid, seq, 0, cmd, vip,
					aggr_refs, res))) {
		nlmsg_free(skb);
		return;
	}
	kubelb_nl_notify(net, skb);
}

/**
 * kubelb_nl_notify_vip - tell listeners about a VIP the kernel changed
 * @net: its namespace
 * @cmd: KUBELB_CMD_VIP_CHANGE or KUBELB_CMD_VIP_ANNOUNCE
 * @vip: the VIP, in the table, lock held
 * @prev: for a change, the VIP as it was
 */
void kubelb_nl_notify_vip(struct net *net, u8 cmd, struct kubelb_vip *vip,
			  const struct kubelb_vip_cfg *prev)
{
	struct kubelb_result res = {};

	if (prev) {
		res.replaced = true;
		res.prev = *prev;
		res.prev_aggr_refs = vip->aggr->refs;
	}
	kubelb_nl_event(net, 0, 0, cmd, vip, vip->aggr->refs,
			prev ? &res : NULL);
}

struct kubelb_nl_del_arg {
	struct net	*net;
	u32		portid;
	u32		seq;
};

static void kubelb_nl_notify_del(struct kubelb_net *kn,
				 struct kubelb_vip *vip,
				 unsigned int aggr_refs, void *arg)
{
	struct kubelb_nl_del_arg *da = arg;

	kubelb_mc_set(vip, da->net, 0);
	kubelb_nl_event(da->net, da->portid, da->seq, KUBELB_CMD_VIP_DEL, vip,
			aggr_refs, NULL);
}

/*
 * Looks up the kubelb device a request names and takes a reference on
 * it. Whether it is still alive is checked later, under the table lock.
 */
static struct net_device *kubelb_nl_get_dev(struct net *net, int ifindex,
					    const struct nlattr *attr,
					    struct netlink_ext_ack *extack)
{
	struct net_device *dev;

	dev = dev_get_by_index(net, ifindex);
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such device");
		return ERR_PTR(-ENODEV);
	}
	if (!kubelb_dev_is_kubelb(dev)) {
		dev_put(dev);
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "device is not a kubelb device");
		return ERR_PTR(-EOPNOTSUPP);
	}
	return dev;
}

/* RTNL held, so the link cannot go away before the VIP records it. */
static int kubelb_nl_check_link(struct net *net, int link,
				const struct nlattr *attr,
				struct netlink_ext_ack *extack)
{
	struct net_device *dev = __dev_get_by_index(net, link);

	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such link");
		return -ENODEV;
	}
	if (kubelb_dev_is_kubelb(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "link must not be a kubelb device");
		return -EINVAL;
	}
	/* Their master receives the ARP and NDP traffic, not them. */
	if (netif_is_bridge_port(dev) || netif_is_bond_slave(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "link is a bridge port or bond slave: use the bridge or bond device");
		return -EINVAL;
	}
	return 0;
}

/*
 * Requests that touch a link take RTNL (before the table lock, as device
 * teardown does): the link must stay what it was checked to be, and IPv6
 * VIPs join and leave multicast groups on it.
 */
static void kubelb_nl_lock(struct kubelb_net *kn, bool rtnl)
{
	if (rtnl)
		rtnl_lock();
	mutex_lock(&kn->lock);
}

static void kubelb_nl_unlock(struct kubelb_net *kn, bool rtnl)
{
	mutex_unlock(&kn->lock);
	if (rtnl)
		rtnl_unlock();
}

/* After a NEW: follow the VIP's link with announcements and groups. */
static void kubelb_nl_new_link(struct kubelb_net *kn, struct net *net,
			       const struct kubelb_result *res)
{
	struct kubelb_vip *vip = res->vip;
	unsigned int count = kubelb_garp_count();

	/* A replace that keeps the link is no takeover: no new burst. */
	if (res->replaced && res->prev.link == vip->cfg.link)
		return;
	if (res->replaced)
		kubelb_announce_stop(kn, vip);
	kubelb_mc_set(vip, net, vip->cfg.link);
	/* The link may be down: it is announced when it comes up. */
	if (vip->cfg.link && count)
		kubelb_announce_start(kn, vip, count);
}

static int kubelb_nl_new(struct sk_buff *skb, struct genl_info *info)
{
	bool replace = info->nlhdr->nlmsg_flags & NLM_F_REPLACE;
	bool quiet = nla_get_flag(info->attrs[KUBELB_A_QUIET]);
	struct netlink_ext_ack *extack = info->extack;
	struct net *net = genl_info_net(info);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct sk_buff *reply = NULL, *event = NULL;
	struct kubelb_vip_cfg cfg;
	struct kubelb_result res;
	struct net_device *dev;
	bool rtnl;
	int err;

	err = kubelb_nl_parse_vip(info->attrs, KUBELB_CMD_VIP_NEW, &cfg,
				  extack);
	if (err)
		return err;

	dev = kubelb_nl_get_dev(net, cfg.ifindex, info->attrs[KUBELB_A_IFINDEX],
				extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	cfg.dev = dev;

	/* Allocate up front: once the table changed, nothing may fail. */
	err = -ENOMEM;
	if (!quiet) {
		reply = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
		if (!reply)
			goto out_dev;
	}
	if (kubelb_nl_listening(net)) {
		event = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
		if (!event)
			goto out_reply;
	}

	rtnl = cfg.key.family == AF_INET6 || cfg.link;
	kubelb_nl_lock(kn, rtnl);
	if (kubelb_dev_dead(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[KUBELB_A_IFINDEX],
				    "no such device");
		err = -ENODEV;
		goto out_unlock;
	}
	if (cfg.link) {
		err = kubelb_nl_check_link(net, cfg.link,
					   info->attrs[KUBELB_A_LINK], extack);
		if (err)
			goto out_unlock;
	}
	err = kubelb_vip_add(kn, &cfg, replace, kubelb_max_vips(), &res,
			     extack);
	if (err)
		goto out_unlock;

	if (event) {
		u8 cmd = res.replaced ? KUBELB_CMD_VIP_CHANGE :
					KUBELB_CMD_VIP_NEW;

		if (WARN_ON_ONCE(kubelb_nl_fill(event, info->snd_portid,
						info->snd_seq, 0, cmd, res.vip,
						res.aggr_refs, &res)))
			nlmsg_free(event);
		else
			kubelb_nl_notify(net, event);
		event = NULL;
	}
	kubelb_nl_new_link(kn, net, &res);
	if (reply)
		WARN_ON_ONCE(kubelb_nl_fill(reply, info->snd_portid,
					    info->snd_seq, 0,
					    KUBELB_CMD_VIP_NEW, res.vip,
					    res.aggr_refs, &res));
	kubelb_nl_unlock(kn, rtnl);
	dev_put(dev);
	return reply ? genlmsg_reply(reply, info) : 0;

out_unlock:
	kubelb_nl_unlock(kn, rtnl);
	nlmsg_free(event);
out_reply:
	nlmsg_free(reply);
out_dev:
	dev_put(dev);
	return err;
}

/* The VIP a DEL or ANNOUNCE names, lock held; NULL and *err on failure. */
static struct kubelb_vip *kubelb_nl_find(struct kubelb_net *kn,
					 const struct kubelb_vip_cfg *cfg,
					 struct genl_info *info, int *err)
{
	struct kubelb_vip *vip = kubelb_vip_find(kn, &cfg->key);

	if (!vip) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KUBELB_A_ADDR],
				    "no such VIP");
		*err = -ENOENT;
		return NULL;
	}
	if (cfg->ifindex && vip->cfg.ifindex != cfg->ifindex) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KUBELB_A_IFINDEX],
				    "VIP belongs to another device");
		*err = -ENOENT;
		return NULL;
	}
	return vip;
}

static int kubelb_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct net *net = genl_info_net(info);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct sk_buff *reply, *event = NULL;
	struct kubelb_vip_cfg cfg;
	struct kubelb_vip *vip;
	unsigned int refs;
	bool rtnl;
	int err;

	err = kubelb_nl_parse_vip(info->attrs, KUBELB_CMD_VIP_DEL, &cfg,
				  extack);
	if (err)
		return err;

	reply = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	if (kubelb_nl_listening(net)) {
		event = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
		if (!event) {
			nlmsg_free(reply);
			return -ENOMEM;
		}
	}

	rtnl = cfg.key.family == AF_INET6;
	kubelb_nl_lock(kn, rtnl);
	vip = kubelb_nl_find(kn, &cfg, info, &err);
	if (!vip)
		goto out_unlock;

	refs = kubelb_vip_unlink(kn, vip);
	kubelb_mc_set(vip, net, 0);
	WARN_ON_ONCE(kubelb_nl_fill(reply, info->snd_portid, info->snd_seq, 0,
				    KUBELB_CMD_VIP_DEL, vip, refs, NULL));
	if (event) {
		if (WARN_ON_ONCE(kubelb_nl_fill(event, info->snd_portid,
						info->snd_seq, 0,
						KUBELB_CMD_VIP_DEL, vip, refs,
						NULL)))
			nlmsg_free(event);
		else
			kubelb_nl_notify(net, event);
	}
	kubelb_vip_free(vip);
	kubelb_nl_unlock(kn, rtnl);
	return genlmsg_reply(reply, info);

out_unlock:
	kubelb_nl_unlock(kn, rtnl);
	nlmsg_free(event);
	nlmsg_free(reply);
	return err;
}

static int kubelb_nl_announce(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct net *net = genl_info_net(info);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct kubelb_vip_cfg cfg;
	struct kubelb_vip *vip;
	struct sk_buff *reply;
	int err;

	err = kubelb_nl_parse_vip(info->attrs, KUBELB_CMD_VIP_ANNOUNCE, &cfg,
				  extack);
	if (err)
		return err;

	reply = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	mutex_lock(&kn->lock);
	vip = kubelb_nl_find(kn, &cfg, info, &err);
	if (!vip)
		goto out_unlock;
	if (!vip->cfg.link) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[KUBELB_A_ADDR],
				    "VIP is virtual: only local VIPs are announced");
		err = -EINVAL;
		goto out_unlock;
	}
	err = kubelb_announce_start(kn, vip, max(kubelb_garp_count(), 1U));
	if (err) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[KUBELB_A_ADDR],
				    "the VIP's link is down: nothing was announced");
		goto out_unlock;
	}
	WARN_ON_ONCE(kubelb_nl_fill(reply, info->snd_portid, info->snd_seq, 0,
				    KUBELB_CMD_VIP_ANNOUNCE, vip,
				    vip->aggr->refs, NULL));
	mutex_unlock(&kn->lock);
	return genlmsg_reply(reply, info);

out_unlock:
	mutex_unlock(&kn->lock);
	nlmsg_free(reply);
	return err;
}

static int kubelb_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct net *net = genl_info_net(info);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct kubelb_vip_cfg cfg;
	struct kubelb_filter f;
	struct kubelb_vip *vip;
	struct sk_buff *reply;
	int err;

	err = kubelb_nl_parse_vip(info->attrs, KUBELB_CMD_VIP_GET, &cfg,
				  extack);
	if (err)
		return err;
	err = kubelb_nl_parse_filter(info->attrs, KUBELB_CMD_VIP_GET, &f,
				     extack);
	if (err)
		return err;

	reply = genlmsg_new(kubelb_nl_msg_size(), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	mutex_lock(&kn->lock);
	vip = kubelb_vip_find(kn, &cfg.key);
	if (!vip || !kubelb_filter_match(&f, vip)) {
		mutex_unlock(&kn->lock);
		nlmsg_free(reply);
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[KUBELB_A_ADDR],
				    "no such VIP");
		return -ENOENT;
	}
	WARN_ON_ONCE(kubelb_nl_fill(reply, info->snd_portid, info->snd_seq, 0,
				    KUBELB_CMD_VIP_GET, vip, vip->aggr->refs,
				    NULL));
	mutex_unlock(&kn->lock);
	return genlmsg_reply(reply, info);
}

/*
 * The core checks the header only of commands at or above resv_start_op,
 * and there it refuses NLM_F_REPLACE, which KUBELB_CMD_VIP_NEW takes. So
 * the commands of version 1 sit below resv_start_op and get the same
 * check here, with NLM_F_REPLACE allowed where it means something; later
 * ones (KUBELB_CMD_VIP_ANNOUNCE) get both.
 */
static int kubelb_nl_check_header(const struct nlmsghdr *nlh, u8 cmd,
				  struct netlink_ext_ack *extack)
{
	const struct genlmsghdr *hdr = nlmsg_data(nlh);
	u16 flags = nlh->nlmsg_flags;

	if (hdr->reserved) {
		NL_SET_ERR_MSG(extack, "genlmsghdr.reserved field is not 0");
		return -EINVAL;
	}
	if ((flags & NLM_F_DUMP) == NLM_F_DUMP)
		flags &= ~NLM_F_DUMP;
	flags &= ~(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO);
	if (cmd == KUBELB_CMD_VIP_NEW)
		flags &= ~NLM_F_REPLACE;
	if (flags) {
		NL_SET_ERR_MSG(extack,
			       "unsupported nlmsg_flags (only NLM_F_REPLACE, on KUBELB_CMD_VIP_NEW, is used)");
		return -EINVAL;
	}
	return 0;
}

/* Lives in cb->ctx for the whole dump. */
struct kubelb_dump_ctx {
	unsigned long		next_id;
	struct kubelb_filter	f;
	bool			done;
};

static int kubelb_nl_dump_start(struct netlink_callback *cb)
{
	struct nlattr **attrs = kubelb_dump_attrs(cb);
	struct kubelb_dump_ctx *ctx = (void *)cb->ctx;

	int err;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	memset(ctx, 0, sizeof(*ctx));

	err = kubelb_nl_check_header(cb->nlh, KUBELB_CMD_VIP_GET, cb->extack);
	if (err)
		return err;

	if (attrs[KUBELB_A_ADDR]) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attrs[KUBELB_A_ADDR],
				    "address is not a dump filter (request one VIP without NLM_F_DUMP)");
		return -EINVAL;
	}
	return kubelb_nl_parse_filter(attrs, KUBELB_CMD_VIP_GET,
				      &ctx->f, cb->extack);
}

struct kubelb_dump_arg {
	struct sk_buff			*skb;
	const struct netlink_callback	*cb;
};

static int kubelb_nl_dump_one(struct kubelb_vip *vip, void *arg)
{
	struct kubelb_dump_arg *da = arg;

	return kubelb_nl_fill(da->skb, NETLINK_CB(da->cb->skb).portid,
			      da->cb->nlh->nlmsg_seq, NLM_F_MULTI,
			      KUBELB_CMD_VIP_GET, vip, vip->aggr->refs, NULL);
}

/* One skb per call; kubelb_vip_walk() explains why resuming is exact. */
static int kubelb_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kubelb_dump_ctx *ctx = (void *)cb->ctx;
	struct kubelb_net *kn = kubelb_pernet(sock_net(skb->sk));
	struct kubelb_dump_arg da = { .skb = skb, .cb = cb };
	int err;

	if (ctx->done)
		return 0;

	mutex_lock(&kn->lock);
	err = kubelb_vip_walk(kn, &ctx->f, &ctx->next_id, kubelb_nl_dump_one,
			      &da);
	mutex_unlock(&kn->lock);

	if (!err)
		ctx->done = true;
	/* Not even one VIP fitted into an empty buffer. */
	else if (!skb->len)
		return err;
	return skb->len;
}

static int kubelb_nl_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct net *net = genl_info_net(info);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct kubelb_nl_del_arg da = {
		.net	= net,
		.portid	= info->snd_portid,
		.seq	= info->snd_seq,
	};
	struct kubelb_filter f;
	struct net_device *dev;
	int err;

	err = kubelb_nl_parse_filter(info->attrs, KUBELB_CMD_VIP_FLUSH, &f,
				     extack);
	if (err)
		return err;

	dev = kubelb_nl_get_dev(net, f.ifindex, info->attrs[KUBELB_A_IFINDEX],
				extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);

	kubelb_nl_lock(kn, true);
	/* A dying device has already lost its VIPs: nothing left to do. */
	if (!kubelb_dev_dead(dev))
		kubelb_vip_flush(kn, &f, kubelb_nl_notify_del, &da);
	kubelb_nl_unlock(kn, true);
	dev_put(dev);
	return 0;
}

/**
 * kubelb_nl_dev_uninit - delete the VIPs of a device being unregistered
 * @dev: kubelb device, RTNL held
 *
 * Also marks it dead so that a concurrent add cannot attach a VIP to it.
 */
void kubelb_nl_dev_uninit(struct net_device *dev)
{
	struct net *net = dev_net(dev);
	struct kubelb_net *kn = kubelb_pernet(net);
	struct kubelb_filter f = { .ifindex = dev->ifindex };
	struct kubelb_nl_del_arg da = { .net = net };

	mutex_lock(&kn->lock);
	kubelb_dev_set_dead(dev);
	kubelb_vip_flush(kn, &f, kubelb_nl_notify_del, &da);
	mutex_unlock(&kn->lock);
}

static int kubelb_nl_pre_doit(const struct kubelb_genl_doit_op *ops,
			      struct sk_buff *skb, struct genl_info *info)
{
	return kubelb_nl_check_header(info->nlhdr, ops->cmd, info->extack);
}

static const struct genl_ops kubelb_ops[] = {
	{
		.cmd		= KUBELB_CMD_VIP_GET,
		.start		= kubelb_nl_dump_start,
		.doit		= kubelb_nl_get,
		.dumpit		= kubelb_nl_dump,
		.policy		= kubelb_get_policy,
		.maxattr	= KUBELB_A_MAX,
	},
	{
		.cmd		= KUBELB_CMD_VIP_NEW,
		.doit		= kubelb_nl_new,
		.policy		= kubelb_new_policy,
		.maxattr	= KUBELB_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= KUBELB_CMD_VIP_DEL,
		.doit		= kubelb_nl_del,
		.policy		= kubelb_del_policy,
		.maxattr	= KUBELB_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= KUBELB_CMD_VIP_FLUSH,
		.doit		= kubelb_nl_flush,
		.policy		= kubelb_flush_policy,
		.maxattr	= KUBELB_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= KUBELB_CMD_VIP_ANNOUNCE,
		.doit		= kubelb_nl_announce,
		.policy		= kubelb_announce_policy,
		.maxattr	= KUBELB_A_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

/*
 * Attributes are validated strictly for every command (no op sets
 * GENL_DONT_VALIDATE_*); resv_start_op only exempts the commands from the
 * core's nlmsg_flags check, see kubelb_nl_check_header(). parallel_ops:
 * kubelb_net.lock is the only serialisation needed.
 */
static struct genl_family kubelb_family __ro_after_init = {
	.name		= KUBELB_GENL_NAME,
	.version	= KUBELB_GENL_VERSION,
	.maxattr	= KUBELB_A_MAX,
	.netnsok	= true,
	.parallel_ops	= true,
	.resv_start_op	= KUBELB_CMD_VIP_CHANGE + 1,
	.pre_doit	= kubelb_nl_pre_doit,
	.module		= THIS_MODULE,
	.ops		= kubelb_ops,
	.n_ops		= ARRAY_SIZE(kubelb_ops),
	.mcgrps		= kubelb_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(kubelb_mcgrps),
};

int __init kubelb_nl_init(void)
{
	return genl_register_family(&kubelb_family);
}

void kubelb_nl_exit(void)
{
	genl_unregister_family(&kubelb_family);
}
