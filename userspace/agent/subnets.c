// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * This node's interface subnets, from rtnetlink: the on-link networks in
 * which a VIP is answered locally.
 *
 * Left out: kubelb devices (their addresses are VIPs, not networks),
 * loopback, host-scope and IPv6 link-local addresses, addresses whose
 * duplicate address detection failed, and host-length prefixes (/32,
 * /128: kube-proxy in IPVS mode puts every Service IP on kube-ipvs0 that
 * way, and a VIP "inside" its own /32 is no LAN to announce it on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "agent.h"

struct link_info {
	uint32_t ifindex;
	bool skip;		/* kubelb device or loopback */
	char name[IF_NAMESIZE];
};

struct read_ctx {
	struct link_info *links;
	size_t nlinks, caplinks;
	struct local_subnet *out;
	size_t n, cap;
	int err;
};

static int linkinfo_kind(const struct nlattr *nest, const char **kind)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			*kind = mnl_attr_get_str(a);
	}
	return 0;
}

static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *c = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *kind = NULL, *name = NULL;
	struct link_info *l;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				name = mnl_attr_get_str(a);
			break;
		case IFLA_LINKINFO:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
				linkinfo_kind(a, &kind);
			break;
		}
	}
	if (c->nlinks == c->caplinks) {
		size_t n = c->caplinks ? c->caplinks * 2 : 32;
		struct link_info *p = reallocarray(c->links, n, sizeof(*p));

		if (!p) {
			c->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		c->links = p;
		c->caplinks = n;
	}
	l = &c->links[c->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->skip = (ifi->ifi_flags & IFF_LOOPBACK) ||
		  (kind && !strcmp(kind, KUBELB_LINK_KIND));
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
	return MNL_CB_OK;
}

static const struct link_info *find_link(const struct read_ctx *c,
					 uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].ifindex == ifindex)
			return &c->links[i];
	return NULL;
}

static bool v6_link_local(const union kubelb_addr *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

static int addr_msg(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct link_info *l;
	const struct nlattr *a, *local = NULL, *address = NULL;
	uint32_t flags;
	struct local_subnet *s;
	union kubelb_addr addr;
	size_t alen, i;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	alen = kubelb_addr_len(ifa->ifa_family);
	if (!alen || ifa->ifa_scope == RT_SCOPE_HOST ||
	    ifa->ifa_prefixlen >= kubelb_max_plen(ifa->ifa_family))
		return MNL_CB_OK;
	flags = ifa->ifa_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			local = a;
			break;
		case IFA_ADDRESS:
			address = a;
			break;
		case IFA_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				flags = mnl_attr_get_u32(a);
			break;
		}
	}
	/* IFA_LOCAL is ours; IFA_ADDRESS is the peer on point-to-point */
	a = local ? local : address;
	if (!a || mnl_attr_get_payload_len(a) != alen ||
	    (flags & IFA_F_DADFAILED))
		return MNL_CB_OK;
	l = find_link(c, ifa->ifa_index);
	if (!l || l->skip)
		return MNL_CB_OK;
	memset(&addr, 0, sizeof(addr));
	memcpy(addr.b, mnl_attr_get_payload(a), alen);
	if (ifa->ifa_family == AF_INET6 && v6_link_local(&addr))
		return MNL_CB_OK;

	if (c->n == c->cap) {
		size_t n = c->cap ? c->cap * 2 : 16;
		struct local_subnet *p = reallocarray(c->out, n, sizeof(*p));

		if (!p) {
			c->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		c->out = p;
		c->cap = n;
	}
	s = &c->out[c->n];
	memset(s, 0, sizeof(*s));
	s->net.family = ifa->ifa_family;
	s->net.plen = ifa->ifa_prefixlen;
	kubelb_addr_mask(ifa->ifa_family, &addr, ifa->ifa_prefixlen,
			 &s->net.addr);
	s->ifindex = ifa->ifa_index;
	snprintf(s->ifname, sizeof(s->ifname), "%s", l->name);
	/* two addresses in one subnet on one link: one subnet */
	for (i = 0; i < c->n; i++)
		if (c->out[i].ifindex == s->ifindex &&
		    c->out[i].net.family == s->net.family &&
		    c->out[i].net.plen == s->net.plen &&
		    !memcmp(c->out[i].net.addr.b, s->net.addr.b, alen))
			return MNL_CB_OK;
	c->n++;
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint16_t type, mnl_cb_t cb,
		struct read_ctx *c, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE > 32768 ? MNL_SOCKET_BUFFER_SIZE :
		 32768];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = (uint32_t)time(NULL) + type;
	ssize_t n;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		return -errno;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
			return ret;
		}
		ret = mnl_cb_run(buf, n, seq, portid, cb, c);
	} while (ret == MNL_CB_OK);
	if (ret == MNL_CB_ERROR) {
		ret = c->err ? c->err : -errno;
		snprintf(err, errlen, "rtnetlink dump: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static int subnet_order(const void *a, const void *b)
{
	const struct local_subnet *x = a, *y = b;
	int c;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->net.family != y->net.family)
		return x->net.family < y->net.family ? -1 : 1;
	c = memcmp(x->net.addr.b, y->net.addr.b, 16);
	if (c)
		return c;
	return (int)x->net.plen - (int)y->net.plen;
}

int subnets_read(struct local_subnet **out, size_t *n, char *err,
		 size_t errlen)
{
	struct read_ctx c = { 0 };
	struct mnl_socket *nl;
	int ret;

	*out = NULL;
	*n = 0;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl) {
		snprintf(err, errlen, "rtnetlink socket: %s", strerror(errno));
		return -errno;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "rtnetlink bind: %s", strerror(errno));
		goto out;
	}
	/* links first: which ones are kubelb devices, and their names */
	ret = dump(nl, RTM_GETLINK, link_msg, &c, err, errlen);
	if (!ret)
		ret = dump(nl, RTM_GETADDR, addr_msg, &c, err, errlen);
out:
	mnl_socket_close(nl);
	free(c.links);
	if (ret) {
		free(c.out);
		return ret;
	}
	if (c.n)
		qsort(c.out, c.n, sizeof(*c.out), subnet_order);
	*out = c.out;
	*n = c.n;
	return 0;
}

int subnets_monitor_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
			     RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

void subnets_monitor_drain(int fd)
{
	char buf[8192];
	ssize_t n;

	/*
	 * The caller reads everything again, so the messages themselves do
	 * not matter; an overrun (ENOBUFS) only means we lost some of them.
	 */
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == ENOBUFS || errno == EINTR)))
			continue;
		break;
	}
}
