// SPDX-License-Identifier: GPL-2.0 OR MIT
/* libkubelb message building and parsing, without a kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "libkubelb.h"
#include "tap.h"

#define FAM 0x1c

static const struct nlattr *find(const struct nlmsghdr *nlh, size_t off,
				 uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, off)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

static int count_attrs(const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *a;
	int n = 0;

	mnl_attr_for_each(a, nlh, off)
		n++;
	return n;
}

static const struct genlmsghdr *genl(const struct nlmsghdr *nlh)
{
	return mnl_nlmsg_get_payload(nlh);
}

#define GOFF sizeof(struct genlmsghdr)

static void v4(union kubelb_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	inet_pton(AF_INET, s, &a->v4);
}

static void v6(union kubelb_addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	inet_pton(AF_INET6, s, &a->v6);
}

static void test_getfamily(void)
{
	char buf[512];
	struct nlmsghdr *nlh;
	const struct nlattr *a, *grps, *g;
	uint16_t id = 0;
	uint32_t grp = 0, maxattr = 0;
	int ret;

	nlh = kubelb_build_getfamily(buf, sizeof(buf), 7, "kubelb");
	ok(nlh && nlh->nlmsg_type == GENL_ID_CTRL &&
	   genl(nlh)->cmd == CTRL_CMD_GETFAMILY && nlh->nlmsg_seq == 7 &&
	   (nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK)) ==
	   (NLM_F_REQUEST | NLM_F_ACK),
	   "getfamily: header (GENL_ID_CTRL, CTRL_CMD_GETFAMILY, seq, flags)");
	a = nlh ? find(nlh, GOFF, CTRL_ATTR_FAMILY_NAME) : NULL;
	ok(a && !strcmp(mnl_attr_get_str(a), "kubelb"),
	   "getfamily: CTRL_ATTR_FAMILY_NAME is \"kubelb\"");

	/* canned CTRL_CMD_NEWFAMILY reply with two groups */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	((struct genlmsghdr *)mnl_nlmsg_put_extra_header(nlh, GOFF))->cmd =
		CTRL_CMD_NEWFAMILY;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "kubelb");
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x21);
	grps = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
	g = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "other");
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 3);
	mnl_attr_nest_end(nlh, (struct nlattr *)g);
	g = mnl_attr_nest_start(nlh, 2);
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 9);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "events");
	mnl_attr_nest_end(nlh, (struct nlattr *)g);
	mnl_attr_nest_end(nlh, (struct nlattr *)grps);
	ret = kubelb_parse_getfamily(nlh, "events", &id, &grp, &maxattr);
	ok(ret == 0 && id == 0x21 && grp == 9 && maxattr == 0,
	   "getfamily reply: family id 0x21, events group 9, no MAXATTR (got %d, %#x, %u, %u)",
	   ret, id, grp, maxattr);
	mnl_attr_put_u32(nlh, CTRL_ATTR_MAXATTR, 19);
	ret = kubelb_parse_getfamily(nlh, "events", &id, &grp, &maxattr);
	ok(ret == 0 && maxattr == 19, "getfamily reply: MAXATTR 19 (got %u)",
	   maxattr);
	ok(kubelb_parse_getfamily(nlh, "nosuch", &id, &grp, &maxattr) == -ENOENT,
	   "getfamily reply: missing multicast group is -ENOENT");
}

static void test_vip_new(void)
{
	char buf[512];
	struct kubelb_vip v = { 0 };
	struct nlmsghdr *nlh;
	const struct nlattr *a;

	v.family = AF_INET;
	v4(&v.addr, "192.0.2.10");
	v.ifindex = 5;
	v.prefixlen = 24;
	v.mode = KUBELB_MODE_LOCAL;
	v.link = 2;
	strcpy(v.service, "default/web");
	v.owner = 42;
	v.present = KUBELB_HAS(KUBELB_A_PREFIXLEN) | KUBELB_HAS(KUBELB_A_MODE) |
		    KUBELB_HAS(KUBELB_A_LINK) | KUBELB_HAS(KUBELB_A_SERVICE) |
		    KUBELB_HAS(KUBELB_A_OWNER);
	nlh = kubelb_build_vip_new(buf, sizeof(buf), FAM, 100, &v, 0);
	ok(nlh != NULL, "vip new v4: built");
	if (!nlh)
		return;
	ok(nlh->nlmsg_type == FAM && genl(nlh)->cmd == KUBELB_CMD_VIP_NEW &&
	   genl(nlh)->version == KUBELB_GENL_VERSION && nlh->nlmsg_seq == 100,
	   "vip new v4: family id, cmd, version, seq");
	ok(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK),
	   "vip new v4: flags exactly REQUEST|ACK (genl rejects CREATE/EXCL)");
	a = find(nlh, GOFF, KUBELB_A_IFINDEX);
	ok(a && mnl_attr_get_payload_len(a) == 4 && mnl_attr_get_u32(a) == 5,
	   "vip new v4: IFINDEX u32 5");
	a = find(nlh, GOFF, KUBELB_A_FAMILY);
	ok(a && mnl_attr_get_payload_len(a) == 2 &&
	   mnl_attr_get_u16(a) == AF_INET, "vip new v4: FAMILY u16 AF_INET");
	a = find(nlh, GOFF, KUBELB_A_ADDR);
	ok(a && mnl_attr_get_payload_len(a) == 4 &&
	   !memcmp(mnl_attr_get_payload(a), v.addr.b, 4),
	   "vip new v4: ADDR is 4 bytes, network order");
	a = find(nlh, GOFF, KUBELB_A_PREFIXLEN);
	ok(a && mnl_attr_get_payload_len(a) == 1 && mnl_attr_get_u8(a) == 24,
	   "vip new v4: PREFIXLEN u8 24");
	a = find(nlh, GOFF, KUBELB_A_MODE);
	ok(a && mnl_attr_get_u8(a) == KUBELB_MODE_LOCAL, "vip new v4: MODE local");
	a = find(nlh, GOFF, KUBELB_A_LINK);
	ok(a && mnl_attr_get_u32(a) == 2, "vip new v4: LINK 2");
	a = find(nlh, GOFF, KUBELB_A_SERVICE);
	ok(a && mnl_attr_get_payload_len(a) == strlen("default/web") + 1 &&
	   !strcmp(mnl_attr_get_str(a), "default/web"),
	   "vip new v4: SERVICE NUL-terminated");
	a = find(nlh, GOFF, KUBELB_A_OWNER);
	ok(a && mnl_attr_get_u32(a) == 42, "vip new v4: OWNER 42");
	ok(!find(nlh, GOFF, KUBELB_A_FLAGS) && count_attrs(nlh, GOFF) == 8,
	   "vip new v4: exactly the 8 attributes asked for (no FLAGS)");

	v.present = 0;
	nlh = kubelb_build_vip_new(buf, sizeof(buf), FAM, 101, &v, KUBELB_NEW_REPLACE);
	ok(nlh && nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE),
	   "vip replace: flags REQUEST|ACK|REPLACE");
	ok(nlh && count_attrs(nlh, GOFF) == 3 &&
	   !find(nlh, GOFF, KUBELB_A_MODE) && !find(nlh, GOFF, KUBELB_A_PREFIXLEN),
	   "vip replace: only IFINDEX, FAMILY, ADDR when nothing else is set");
	ok(nlh && !find(nlh, GOFF, KUBELB_A_QUIET),
	   "vip replace: not QUIET unless asked");
	nlh = kubelb_build_vip_new(buf, sizeof(buf), FAM, 101, &v,
				   KUBELB_NEW_QUIET);
	a = nlh ? find(nlh, GOFF, KUBELB_A_QUIET) : NULL;
	ok(a && mnl_attr_get_payload_len(a) == 0 && count_attrs(nlh, GOFF) == 4 &&
	   nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK),
	   "vip new, quiet: an empty QUIET flag attribute, no REPLACE");

	v.family = AF_INET6;
	v6(&v.addr, "2001:db8::10");
	nlh = kubelb_build_vip_new(buf, sizeof(buf), FAM, 102, &v, 0);
	a = nlh ? find(nlh, GOFF, KUBELB_A_ADDR) : NULL;
	ok(a && mnl_attr_get_payload_len(a) == 16 &&
	   !memcmp(mnl_attr_get_payload(a), v.addr.b, 16) &&
	   mnl_attr_get_u16(find(nlh, GOFF, KUBELB_A_FAMILY)) == AF_INET6,
	   "vip new v6: ADDR is 16 bytes, FAMILY AF_INET6");

	ok(kubelb_build_vip_new(buf, 24, FAM, 1, &v, 0) == NULL,
	   "vip new: too small buffer gives NULL");
	v.family = 99;
	ok(kubelb_build_vip_new(buf, sizeof(buf), FAM, 1, &v, 0) == NULL,
	   "vip new: unknown family gives NULL");
}

static void test_vip_del_dump_flush(void)
{
	char buf[512];
	union kubelb_addr a4;
	struct nlmsghdr *nlh;
	struct kubelb_filter f = { .ifindex = 7, .family = AF_INET6,
				   .has_owner = true, .owner = 0 };

	v4(&a4, "198.51.100.1");
	nlh = kubelb_build_vip_del(buf, sizeof(buf), FAM, 5, AF_INET, &a4, 0);
	ok(nlh && genl(nlh)->cmd == KUBELB_CMD_VIP_DEL &&
	   (nlh->nlmsg_flags & NLM_F_ACK) && !find(nlh, GOFF, KUBELB_A_IFINDEX) &&
	   find(nlh, GOFF, KUBELB_A_ADDR) && find(nlh, GOFF, KUBELB_A_FAMILY),
	   "vip del without dev: FAMILY+ADDR, no IFINDEX");
	nlh = kubelb_build_vip_del(buf, sizeof(buf), FAM, 5, AF_INET, &a4, 3);
	ok(nlh && find(nlh, GOFF, KUBELB_A_IFINDEX) &&
	   mnl_attr_get_u32(find(nlh, GOFF, KUBELB_A_IFINDEX)) == 3,
	   "vip del with dev: IFINDEX 3");
	nlh = kubelb_build_vip_get(buf, sizeof(buf), FAM, 5, AF_INET, &a4);
	ok(nlh && genl(nlh)->cmd == KUBELB_CMD_VIP_GET &&
	   !(nlh->nlmsg_flags & NLM_F_DUMP) && count_attrs(nlh, GOFF) == 2,
	   "vip get: doit with FAMILY+ADDR");

	nlh = kubelb_build_vip_dump(buf, sizeof(buf), FAM, 6, NULL);
	ok(nlh && genl(nlh)->cmd == KUBELB_CMD_VIP_GET &&
	   (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP &&
	   count_attrs(nlh, GOFF) == 0, "vip dump: NLM_F_DUMP, no filter");
	nlh = kubelb_build_vip_dump(buf, sizeof(buf), FAM, 6, &f);
	ok(nlh && mnl_attr_get_u32(find(nlh, GOFF, KUBELB_A_IFINDEX)) == 7 &&
	   mnl_attr_get_u16(find(nlh, GOFF, KUBELB_A_FAMILY)) == AF_INET6 &&
	   find(nlh, GOFF, KUBELB_A_OWNER) &&
	   mnl_attr_get_u32(find(nlh, GOFF, KUBELB_A_OWNER)) == 0,
	   "vip dump: filters IFINDEX, FAMILY, OWNER (owner 0 is a filter)");
	f.family = 0;
	f.has_owner = false;
	nlh = kubelb_build_vip_flush(buf, sizeof(buf), FAM, 8, &f);
	ok(nlh && genl(nlh)->cmd == KUBELB_CMD_VIP_FLUSH &&
	   (nlh->nlmsg_flags & NLM_F_ACK) && count_attrs(nlh, GOFF) == 1 &&
	   mnl_attr_get_u32(find(nlh, GOFF, KUBELB_A_IFINDEX)) == 7,
	   "vip flush: IFINDEX only");
}

static void test_vip_announce_req(void)
{
	char buf[512];
	union kubelb_addr a4, a6;
	struct nlmsghdr *nlh;
	const struct nlattr *a;

	v4(&a4, "192.0.2.10");
	nlh = kubelb_build_vip_announce(buf, sizeof(buf), FAM, 9, AF_INET, &a4,
					0);
	ok(nlh && nlh->nlmsg_type == FAM &&
	   genl(nlh)->cmd == KUBELB_CMD_VIP_ANNOUNCE &&
	   genl(nlh)->version == KUBELB_GENL_VERSION && nlh->nlmsg_seq == 9 &&
	   nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK),
	   "vip announce: cmd 6, version, seq, flags exactly REQUEST|ACK");
	a = nlh ? find(nlh, GOFF, KUBELB_A_ADDR) : NULL;
	ok(a && mnl_attr_get_payload_len(a) == 4 &&
	   !memcmp(mnl_attr_get_payload(a), a4.b, 4) &&
	   mnl_attr_get_u16(find(nlh, GOFF, KUBELB_A_FAMILY)) == AF_INET &&
	   count_attrs(nlh, GOFF) == 2,
	   "vip announce without dev: FAMILY+ADDR only (any device)");
	nlh = kubelb_build_vip_announce(buf, sizeof(buf), FAM, 9, AF_INET, &a4,
					3);
	a = nlh ? find(nlh, GOFF, KUBELB_A_IFINDEX) : NULL;
	ok(a && mnl_attr_get_payload_len(a) == 4 && mnl_attr_get_u32(a) == 3 &&
	   count_attrs(nlh, GOFF) == 3,
	   "vip announce with dev: IFINDEX u32 3");
	v6(&a6, "2001:db8::10");
	nlh = kubelb_build_vip_announce(buf, sizeof(buf), FAM, 9, AF_INET6,
					&a6, 0);
	a = nlh ? find(nlh, GOFF, KUBELB_A_ADDR) : NULL;
	ok(a && mnl_attr_get_payload_len(a) == 16 &&
	   !memcmp(mnl_attr_get_payload(a), a6.b, 16) &&
	   mnl_attr_get_u16(find(nlh, GOFF, KUBELB_A_FAMILY)) == AF_INET6,
	   "vip announce v6: ADDR 16 bytes, FAMILY AF_INET6");
	ok(kubelb_build_vip_announce(buf, 24, FAM, 1, AF_INET, &a4, 0) == NULL,
	   "vip announce: too small buffer gives NULL");
	ok(kubelb_build_vip_announce(buf, sizeof(buf), FAM, 1, 99, &a4, 0) ==
	   NULL, "vip announce: unknown family gives NULL");
}

/* a canned kernel reply: NEW with stats, AGGR_REFS and PREV */
static struct nlmsghdr *canned_reply(char *buf, size_t len)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct nlattr *n;
	union kubelb_addr a;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAM;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = KUBELB_CMD_VIP_NEW;
	g->version = 1;
	v6(&a, "2001:db8::1:2");
	mnl_attr_put_u32(nlh, KUBELB_A_IFINDEX, 4);
	mnl_attr_put_u16(nlh, KUBELB_A_FAMILY, AF_INET6);
	mnl_attr_put(nlh, KUBELB_A_ADDR, 16, a.b);
	mnl_attr_put_u8(nlh, KUBELB_A_PREFIXLEN, 64);
	mnl_attr_put_u8(nlh, KUBELB_A_MODE, KUBELB_MODE_VIRTUAL);
	mnl_attr_put_strz(nlh, KUBELB_A_SERVICE, "kube-system/dns");
	mnl_attr_put_u32(nlh, KUBELB_A_FLAGS, 0);
	mnl_attr_put_u32(nlh, KUBELB_A_OWNER, 7);
	mnl_attr_put_u64(nlh, KUBELB_A_CREATED, 1764115200123456789ULL);
	n = mnl_attr_nest_start(nlh, KUBELB_A_STATS);
	mnl_attr_put_u64(nlh, KUBELB_STATS_REQ_ANSWERED, 11);
	mnl_attr_put_u64(nlh, KUBELB_STATS_REQ_SUPPRESSED, 22);
	mnl_attr_put_u64(nlh, KUBELB_STATS_ANNOUNCED, 33);
	mnl_attr_put_u64(nlh, KUBELB_STATS_SENDER_REWRITTEN, 44);
	mnl_attr_put_u64(nlh, 200, 1);	/* unknown stat: ignored */
	mnl_attr_nest_end(nlh, n);
	mnl_attr_put_u32(nlh, KUBELB_A_AGGR_REFS, 2);
	mnl_attr_put_u8(nlh, KUBELB_A_ANNOUNCE_STATE, KUBELB_ANNOUNCE_BURST);
	mnl_attr_put_u32(nlh, KUBELB_A_ANNOUNCE_LEFT, 2);
	n = mnl_attr_nest_start(nlh, KUBELB_A_PREV);
	mnl_attr_put_u32(nlh, KUBELB_A_IFINDEX, 3);
	mnl_attr_put_u16(nlh, KUBELB_A_FAMILY, AF_INET6);
	mnl_attr_put(nlh, KUBELB_A_ADDR, 16, a.b);
	mnl_attr_put_u8(nlh, KUBELB_A_PREFIXLEN, 48);
	mnl_attr_put_u8(nlh, KUBELB_A_MODE, KUBELB_MODE_LOCAL);
	mnl_attr_put_u32(nlh, KUBELB_A_LINK, 2);
	mnl_attr_put_u32(nlh, KUBELB_A_AGGR_REFS, 0);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_put_u32(nlh, 250, 1);	/* attribute from a newer kernel */
	return nlh;
}

static void test_parse_vip(void)
{
	char buf[1024];
	struct kubelb_vip v, p;
	struct nlmsghdr *nlh = canned_reply(buf, sizeof(buf));
	union kubelb_addr a;
	int cmd;

	v6(&a, "2001:db8::1:2");
	cmd = kubelb_parse_vip(nlh, &v, &p);
	ok(cmd == KUBELB_CMD_VIP_NEW, "parse reply: cmd VIP_NEW (got %d)", cmd);
	ok(v.family == AF_INET6 && !memcmp(v.addr.b, a.b, 16) &&
	   v.ifindex == 4 && v.prefixlen == 64 &&
	   v.mode == KUBELB_MODE_VIRTUAL && v.owner == 7 &&
	   !strcmp(v.service, "kube-system/dns"),
	   "parse reply: address, ifindex, prefixlen, mode, owner, service");
	ok(v.created == 1764115200123456789ULL, "parse reply: created u64");
	ok(v.stats[KUBELB_STATS_REQ_ANSWERED] == 11 &&
	   v.stats[KUBELB_STATS_REQ_SUPPRESSED] == 22 &&
	   v.stats[KUBELB_STATS_ANNOUNCED] == 33 &&
	   v.stats[KUBELB_STATS_SENDER_REWRITTEN] == 44,
	   "parse reply: stats nest (answered, suppressed, announced, rewritten)");
	ok((v.present & KUBELB_HAS(KUBELB_A_AGGR_REFS)) && v.aggr_refs == 2,
	   "parse reply: AGGR_REFS 2");
	ok(v.announce_state == KUBELB_ANNOUNCE_BURST && v.announce_left == 2 &&
	   (v.present & KUBELB_HAS(KUBELB_A_ANNOUNCE_STATE)) &&
	   (v.present & KUBELB_HAS(KUBELB_A_ANNOUNCE_LEFT)),
	   "parse reply: ANNOUNCE_STATE burst, ANNOUNCE_LEFT 2");
	ok(p.announce_state == KUBELB_ANNOUNCE_IDLE && p.announce_left == 0 &&
	   !(p.present & KUBELB_HAS(KUBELB_A_ANNOUNCE_STATE)),
	   "parse reply: PREV without announce attributes is idle");
	ok(p.present && p.ifindex == 3 && p.prefixlen == 48 &&
	   p.mode == KUBELB_MODE_LOCAL && p.link == 2 &&
	   (p.present & KUBELB_HAS(KUBELB_A_AGGR_REFS)) && p.aggr_refs == 0 &&
	   !memcmp(p.addr.b, a.b, 16),
	   "parse reply: PREV nest with its own AGGR_REFS 0");

	/* no PREV: prev->present stays 0; no PREFIXLEN: full length */
	{
		char b2[512];
		struct nlmsghdr *n2;
		struct genlmsghdr *g;
		union kubelb_addr a4;

		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		g = mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		g->cmd = KUBELB_CMD_VIP_DEL;
		v4(&a4, "10.0.0.1");
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		mnl_attr_put(n2, KUBELB_A_ADDR, 4, a4.b);
		mnl_attr_put_u32(n2, KUBELB_A_AGGR_REFS, 0);
		memset(&p, 0xaa, sizeof(p));
		memset(&v, 0xaa, sizeof(v));
		ok(kubelb_parse_vip(n2, &v, &p) == KUBELB_CMD_VIP_DEL &&
		   p.present == 0 && v.prefixlen == 32 && v.aggr_refs == 0,
		   "parse DEL reply: no PREV, default prefixlen 32");
		ok(v.announce_state == KUBELB_ANNOUNCE_IDLE &&
		   v.announce_left == 0 &&
		   !(v.present & (KUBELB_HAS(KUBELB_A_ANNOUNCE_STATE) |
				  KUBELB_HAS(KUBELB_A_ANNOUNCE_LEFT))),
		   "parse: no announce attributes (older kernel) is idle, 0 left");

		/* 16-byte address with AF_INET: rejected */
		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		g = mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		g->cmd = KUBELB_CMD_VIP_NEW;
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		mnl_attr_put(n2, KUBELB_A_ADDR, 16, a.b);
		ok(kubelb_parse_vip(n2, &v, NULL) == -EINVAL,
		   "parse: address length not matching family is -EINVAL");

		/* truncated u32 */
		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		g = mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		mnl_attr_put(n2, KUBELB_A_ADDR, 4, a4.b);
		mnl_attr_put_u16(n2, KUBELB_A_IFINDEX, 1);
		ok(kubelb_parse_vip(n2, &v, NULL) == -EINVAL,
		   "parse: IFINDEX of 2 bytes is -EINVAL");

		/* truncated announce attributes */
		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		g = mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		mnl_attr_put(n2, KUBELB_A_ADDR, 4, a4.b);
		mnl_attr_put_u16(n2, KUBELB_A_ANNOUNCE_LEFT, 1);
		ok(kubelb_parse_vip(n2, &v, NULL) == -EINVAL,
		   "parse: ANNOUNCE_LEFT of 2 bytes is -EINVAL");
		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		g = mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		mnl_attr_put(n2, KUBELB_A_ADDR, 4, a4.b);
		mnl_attr_put(n2, KUBELB_A_ANNOUNCE_STATE, 0, a4.b);
		ok(kubelb_parse_vip(n2, &v, NULL) == -EINVAL,
		   "parse: empty ANNOUNCE_STATE is -EINVAL");

		/* missing address */
		memset(b2, 0, sizeof(b2));
		n2 = mnl_nlmsg_put_header(b2);
		n2->nlmsg_type = FAM;
		mnl_nlmsg_put_extra_header(n2, sizeof(*g));
		mnl_attr_put_u16(n2, KUBELB_A_FAMILY, AF_INET);
		ok(kubelb_parse_vip(n2, &v, NULL) == -EINVAL,
		   "parse: missing ADDR is -EINVAL");
	}
}

/* The events group's notification that a VIP's announcements changed. */
static void test_parse_announce_event(void)
{
	char buf[512];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct kubelb_vip v;
	union kubelb_addr a;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAM;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = KUBELB_CMD_VIP_ANNOUNCE;
	g->version = KUBELB_GENL_VERSION;
	v4(&a, "192.0.2.77");
	mnl_attr_put_u32(nlh, KUBELB_A_IFINDEX, 4);
	mnl_attr_put_u16(nlh, KUBELB_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, KUBELB_A_ADDR, 4, a.b);
	mnl_attr_put_u8(nlh, KUBELB_A_MODE, KUBELB_MODE_LOCAL);
	mnl_attr_put_u32(nlh, KUBELB_A_LINK, 2);
	mnl_attr_put_u8(nlh, KUBELB_A_ANNOUNCE_STATE, KUBELB_ANNOUNCE_PERIODIC);
	mnl_attr_put_u32(nlh, KUBELB_A_ANNOUNCE_LEFT, 0);
	ok(kubelb_parse_vip(nlh, &v, NULL) == KUBELB_CMD_VIP_ANNOUNCE &&
	   v.announce_state == KUBELB_ANNOUNCE_PERIODIC &&
	   v.announce_left == 0 && v.mode == KUBELB_MODE_LOCAL && v.link == 2 &&
	   !memcmp(v.addr.b, a.b, 4),
	   "parse announce event: cmd VIP_ANNOUNCE, state periodic, the VIP");
	ok(!strcmp(kubelb_announce_name(KUBELB_ANNOUNCE_IDLE), "idle") &&
	   !strcmp(kubelb_announce_name(KUBELB_ANNOUNCE_BURST), "burst") &&
	   !strcmp(kubelb_announce_name(KUBELB_ANNOUNCE_PERIODIC), "periodic") &&
	   !kubelb_announce_name(KUBELB_ANNOUNCE_MAX + 1),
	   "announce state names; NULL for a state newer than the library");
}

/* Reply-only fields of a VIP taken from a dump never go back to the kernel. */
static void test_vip_new_reply_fields(void)
{
	char buf[512];
	struct kubelb_vip v = { 0 };
	struct nlmsghdr *nlh;

	v.family = AF_INET;
	v4(&v.addr, "192.0.2.10");
	v.ifindex = 5;
	v.announce_state = KUBELB_ANNOUNCE_BURST;
	v.announce_left = 2;
	v.present = KUBELB_HAS(KUBELB_A_ANNOUNCE_STATE) |
		    KUBELB_HAS(KUBELB_A_ANNOUNCE_LEFT);
	nlh = kubelb_build_vip_new(buf, sizeof(buf), FAM, 1, &v, KUBELB_NEW_REPLACE);
	ok(nlh && !find(nlh, GOFF, KUBELB_A_ANNOUNCE_STATE) &&
	   !find(nlh, GOFF, KUBELB_A_ANNOUNCE_LEFT) &&
	   count_attrs(nlh, GOFF) == 3,
	   "vip replace from a parsed VIP: announce state not sent");
}

/* an NLMSG_ERROR as the kernel builds it, optionally with extack */
static struct nlmsghdr *canned_err(char *buf, size_t len, int error,
				   bool capped, const char *msg,
				   int miss_type)
{
	struct nlmsghdr *nlh, req = { .nlmsg_len = 40, .nlmsg_type = FAM,
				      .nlmsg_seq = 77 };
	struct nlmsgerr *e;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = 77;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg = req;
	if (!capped) {
		/* the echoed request payload (24 bytes) */
		mnl_nlmsg_put_extra_header(nlh, 24);
	} else {
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	}
	if (msg || miss_type) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		if (msg)
			mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
		if (miss_type)
			mnl_attr_put_u32(nlh, NLMSGERR_ATTR_MISS_TYPE,
					 (uint32_t)miss_type);
	}
	return nlh;
}

static void test_parse_err(void)
{
	char buf[512];
	struct kubelb_err e;

	ok(kubelb_parse_err(canned_err(buf, sizeof(buf), 0, true, NULL, 0),
			    &e) == 0 && e.code == 0 && !e.msg[0],
	   "ack: error 0 is success");
	ok(kubelb_parse_err(canned_err(buf, sizeof(buf), -EEXIST, true,
				       "VIP already exists", 0), &e) == EEXIST &&
	   !strcmp(e.msg, "VIP already exists") &&
	   !strcmp(kubelb_err_str(&e), "VIP already exists"),
	   "error ack (capped): EEXIST with extack \"VIP already exists\"");
	ok(kubelb_parse_err(canned_err(buf, sizeof(buf), -EINVAL, false,
				       "prefix length out of range for IPv4 (0-32)",
				       0), &e) == EINVAL &&
	   !strcmp(e.msg, "prefix length out of range for IPv4 (0-32)"),
	   "error ack (request echoed): extack found after the echoed request");
	ok(kubelb_parse_err(canned_err(buf, sizeof(buf), -EINVAL, true,
				       "missing attribute: address (KUBELB_A_ADDR)",
				       KUBELB_A_ADDR), &e) == EINVAL &&
	   e.has_miss_type && e.miss_type == KUBELB_A_ADDR,
	   "error ack: NLMSGERR_ATTR_MISS_TYPE");
	ok(kubelb_parse_err(canned_err(buf, sizeof(buf), -ENOENT, true, NULL, 0),
			    &e) == ENOENT && !e.msg[0] &&
	   !strcmp(kubelb_err_str(&e), strerror(ENOENT)),
	   "error ack without extack: strerror text");
}

static void test_routes(void)
{
	char buf[256];
	struct kubelb_vip v = { 0 };
	struct kubelb_route r, p;
	struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	const size_t off = sizeof(struct rtmsg);
	union kubelb_addr m;

	v.family = AF_INET;
	v4(&v.addr, "10.1.2.3");
	v.ifindex = 9;
	v.prefixlen = 20;
	v.present = KUBELB_HAS(KUBELB_A_PREFIXLEN);

	kubelb_route_local(&v, &r);
	ok(r.family == AF_INET && r.dst_len == 32 && r.type == RTN_LOCAL &&
	   r.scope == RT_SCOPE_HOST && r.table == RT_TABLE_LOCAL &&
	   r.protocol == KUBELB_RTPROT && r.oif == 9 &&
	   !memcmp(r.dst.b, v.addr.b, 4),
	   "local route: local 10.1.2.3/32 table local proto 95 scope host dev 9");
	nlh = kubelb_build_route(buf, sizeof(buf), 3, RTM_NEWROUTE, &r);
	rtm = nlh ? mnl_nlmsg_get_payload(nlh) : NULL;
	ok(rtm && nlh->nlmsg_type == RTM_NEWROUTE &&
	   (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK)) ==
	   (NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK) &&
	   !(nlh->nlmsg_flags & (NLM_F_REPLACE | NLM_F_EXCL)) &&
	   rtm->rtm_family == AF_INET && rtm->rtm_dst_len == 32 &&
	   rtm->rtm_type == RTN_LOCAL && rtm->rtm_scope == RT_SCOPE_HOST &&
	   rtm->rtm_protocol == KUBELB_RTPROT &&
	   rtm->rtm_table == RT_TABLE_LOCAL,
	   "RTM_NEWROUTE local: flags CREATE|APPEND|ACK (never REPLACE), rtmsg fields");
	ok(nlh && mnl_attr_get_u32(find(nlh, off, RTA_OIF)) == 9 &&
	   mnl_attr_get_u32(find(nlh, off, RTA_TABLE)) == RT_TABLE_LOCAL &&
	   mnl_attr_get_payload_len(find(nlh, off, RTA_DST)) == 4,
	   "RTM_NEWROUTE local: RTA_DST, RTA_OIF, RTA_TABLE");

	kubelb_route_aggr(&v, &r);
	v4(&m, "10.1.0.0");
	ok(r.dst_len == 20 && !memcmp(r.dst.b, m.b, 4) && r.type == RTN_UNICAST &&
	   r.scope == RT_SCOPE_LINK && r.table == RT_TABLE_MAIN &&
	   r.protocol == KUBELB_RTPROT,
	   "aggregate route: 10.1.0.0/20 (masked) table main scope link proto 95");
	nlh = kubelb_build_route(buf, sizeof(buf), 4, RTM_DELROUTE, &r);
	ok(nlh && nlh->nlmsg_type == RTM_DELROUTE &&
	   !(nlh->nlmsg_flags & NLM_F_CREATE) && (nlh->nlmsg_flags & NLM_F_ACK),
	   "RTM_DELROUTE: ACK, no CREATE");
	ok(nlh && kubelb_parse_route(nlh, &p) == 0 && p.dst_len == 20 &&
	   p.table == RT_TABLE_MAIN && p.oif == 9 && p.protocol == KUBELB_RTPROT &&
	   !memcmp(p.dst.b, m.b, 4),
	   "route message round-trips through kubelb_parse_route");

	v.family = AF_INET6;
	v6(&v.addr, "2001:db8:1:2:3:4:5:6");
	v.prefixlen = 61;
	kubelb_route_aggr(&v, &r);
	v6(&m, "2001:db8:1:0::");
	ok(r.dst_len == 61 && !memcmp(r.dst.b, m.b, 16),
	   "aggregate v6: 2001:db8:1:2::/61 masks to 2001:db8:1::/61");
	kubelb_route_local(&v, &r);
	ok(r.dst_len == 128 && r.table == RT_TABLE_LOCAL,
	   "local route v6: /128 in table local");
	v.present = 0;
	kubelb_route_aggr(&v, &r);
	ok(r.dst_len == 128 && !memcmp(r.dst.b, v.addr.b, 16),
	   "aggregate without prefixlen: full length");

	nlh = kubelb_build_route_dump(buf, sizeof(buf), 5, AF_INET6, 0);
	rtm = nlh ? mnl_nlmsg_get_payload(nlh) : NULL;
	ok(rtm && nlh->nlmsg_type == RTM_GETROUTE &&
	   (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP &&
	   rtm->rtm_family == AF_INET6 && rtm->rtm_protocol == KUBELB_RTPROT &&
	   !rtm->rtm_dst_len && !rtm->rtm_scope && !rtm->rtm_type &&
	   !find(nlh, off, RTA_OIF),
	   "route dump: RTM_GETROUTE DUMP proto 95, strict-check-clean header");
	nlh = kubelb_build_route_dump(buf, sizeof(buf), 5, AF_INET, 9);
	ok(nlh && find(nlh, off, RTA_OIF) &&
	   mnl_attr_get_u32(find(nlh, off, RTA_OIF)) == 9,
	   "route dump: RTA_OIF filter");

	/* masks */
	{
		union kubelb_addr in, out, want;

		v4(&in, "255.255.255.255");
		kubelb_addr_mask(AF_INET, &in, 0, &out);
		v4(&want, "0.0.0.0");
		ok(!memcmp(out.b, want.b, 16), "mask /0 is 0.0.0.0");
		kubelb_addr_mask(AF_INET, &in, 25, &out);
		v4(&want, "255.255.255.128");
		ok(!memcmp(out.b, want.b, 16), "mask /25 is 255.255.255.128");
		kubelb_addr_mask(AF_INET, &in, 32, &out);
		ok(!memcmp(out.b, in.b, 16), "mask /32 keeps the address");
	}
}

static void test_plan(void)
{
	struct kubelb_route_op ops[KUBELB_ROUTE_OPS_MAX];
	struct kubelb_vip v = { 0 }, p = { 0 };
	size_t n;

	v.family = AF_INET;
	v4(&v.addr, "10.0.0.5");
	v.ifindex = 3;
	v.prefixlen = 24;
	v.present = KUBELB_HAS(KUBELB_A_FAMILY) | KUBELB_HAS(KUBELB_A_ADDR) |
		    KUBELB_HAS(KUBELB_A_PREFIXLEN) | KUBELB_HAS(KUBELB_A_AGGR_REFS);
	v.aggr_refs = 1;
	n = kubelb_plan_routes(KUBELB_OP_ADD, &v, NULL, ops);
	ok(n == 2 && ops[0].msg_type == RTM_NEWROUTE && !ops[0].aggr &&
	   ops[1].msg_type == RTM_NEWROUTE && ops[1].aggr &&
	   ops[1].r.dst_len == 24,
	   "plan add, AGGR_REFS 1: install local and aggregate");
	v.aggr_refs = 2;
	n = kubelb_plan_routes(KUBELB_OP_ADD, &v, NULL, ops);
	ok(n == 2 && !ops[0].aggr && ops[1].aggr &&
	   ops[1].msg_type == RTM_NEWROUTE,
	   "plan add, AGGR_REFS 2: shared aggregate asserted too (fails with its VIP)");
	v.present &= ~KUBELB_HAS(KUBELB_A_AGGR_REFS);
	n = kubelb_plan_routes(KUBELB_OP_ADD, &v, NULL, ops);
	ok(n == 2, "plan add, no AGGR_REFS in reply: install both (idempotent)");
	v.present |= KUBELB_HAS(KUBELB_A_AGGR_REFS);

	v.aggr_refs = 0;
	n = kubelb_plan_routes(KUBELB_OP_DEL, &v, NULL, ops);
	ok(n == 2 && ops[0].msg_type == RTM_DELROUTE && !ops[0].aggr &&
	   ops[1].msg_type == RTM_DELROUTE && ops[1].aggr,
	   "plan del, AGGR_REFS 0: remove local and aggregate");
	v.aggr_refs = 1;
	n = kubelb_plan_routes(KUBELB_OP_DEL, &v, NULL, ops);
	ok(n == 1 && !ops[0].aggr, "plan del, AGGR_REFS 1: keep the aggregate");

	/* replace: prefix /24 -> /16, old aggregate unused now */
	p = v;
	p.aggr_refs = 0;
	v.prefixlen = 16;
	v.aggr_refs = 1;
	n = kubelb_plan_routes(KUBELB_OP_REPLACE, &v, &p, ops);
	ok(n == 3 && ops[0].msg_type == RTM_NEWROUTE && !ops[0].aggr &&
	   ops[1].msg_type == RTM_NEWROUTE && ops[1].aggr &&
	   ops[1].r.dst_len == 16 &&
	   ops[2].msg_type == RTM_DELROUTE && ops[2].aggr &&
	   ops[2].r.dst_len == 24,
	   "plan replace /24 -> /16: install new aggregate, then remove old");
	/* replace with a shared aggregate: still re-asserted (repairs) */
	v.aggr_refs = 3;
	n = kubelb_plan_routes(KUBELB_OP_REPLACE, &v, NULL, ops);
	ok(n == 2 && ops[1].aggr && ops[1].msg_type == RTM_NEWROUTE,
	   "plan replace, AGGR_REFS 3: aggregate re-asserted anyway");
	v.aggr_refs = 1;
	/* replace with same aggregate: no removal */
	p = v;
	p.aggr_refs = 1;
	n = kubelb_plan_routes(KUBELB_OP_REPLACE, &v, &p, ops);
	ok(n == 2 && ops[0].msg_type == RTM_NEWROUTE &&
	   ops[1].msg_type == RTM_NEWROUTE,
	   "plan replace, same aggregate: re-assert local+aggregate, remove nothing");
	/* replace onto another device */
	p.ifindex = 8;
	p.aggr_refs = 0;
	v.aggr_refs = 1;
	n = kubelb_plan_routes(KUBELB_OP_REPLACE, &v, &p, ops);
	ok(n == 4 && ops[2].msg_type == RTM_DELROUTE && !ops[2].aggr &&
	   ops[2].r.oif == 8 && ops[3].aggr && ops[3].r.oif == 8,
	   "plan replace onto another device: remove old local and aggregate");
}

static void test_fib(void)
{
	struct kubelb_fib fib = { 0 };
	struct kubelb_vip v = { 0 }, w;
	struct kubelb_route r;
	int i;

	v.family = AF_INET;
	v4(&v.addr, "10.0.0.5");
	v.ifindex = 3;
	v.prefixlen = 24;
	v.present = KUBELB_HAS(KUBELB_A_PREFIXLEN);
	ok(kubelb_fib_missing(&fib, &v) ==
	   (KUBELB_FIB_LOCAL_MISSING | KUBELB_FIB_AGGR_MISSING),
	   "fib: empty FIB misses both routes");
	for (i = 0; i < 1000; i++) {
		w = v;
		w.addr.b[3] = (uint8_t)i;
		w.addr.b[2] = (uint8_t)(i >> 8);
		w.addr.b[1] = 1;
		kubelb_route_local(&w, &r);
		kubelb_fib_add(&fib, &r);
	}
	kubelb_route_local(&v, &r);
	kubelb_fib_add(&fib, &r);
	ok(kubelb_fib_missing(&fib, &v) == KUBELB_FIB_AGGR_MISSING,
	   "fib: local present, aggregate missing");
	kubelb_route_aggr(&v, &r);
	kubelb_fib_add(&fib, &r);
	ok(kubelb_fib_missing(&fib, &v) == 0, "fib: both present");
	w = v;
	w.ifindex = 4;
	ok(kubelb_fib_missing(&fib, &w) ==
	   (KUBELB_FIB_LOCAL_MISSING | KUBELB_FIB_AGGR_MISSING),
	   "fib: routes on another device do not count");
	kubelb_fib_free(&fib);
}

void test_msg(void)
{
	test_getfamily();
	test_vip_new();
	test_vip_del_dump_flush();
	test_vip_announce_req();
	test_vip_new_reply_fields();
	test_parse_vip();
	test_parse_announce_event();
	test_parse_err();
	test_routes();
	test_plan();
	test_fib();
}
