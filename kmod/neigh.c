// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: strict ARP and NDP for VIPs.
 *
 * Netfilter hooks in every namespace see ARP requests and Neighbor
 * Solicitations before the kernel does. One that asks for a VIP is
 * answered here when the VIP is local on the link it arrived on, and
 * dropped otherwise, so the answer depends on neither arp_ignore and
 * friends nor on where the address is configured. Outgoing ARP requests
 * never use a VIP as sender unless it is local on that link. Packets for
 * other addresses cost one RCU hash lookup (two for IPv4: addresses put on
 * kubelb devices by hand are strict too) and are left alone. IPv6 needs no
 * such second table: Linux answers solicitations, and solicits from, only
 * addresses of the interface concerned, never a kubelb device's.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/hashtable.h>
#include <linux/if_arp.h>
#include <linux/inetdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_arp.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/rhashtable.h>
#include <net/addrconf.h>
#include <net/arp.h>
#include <net/if_inet6.h>
#include <net/ipv6.h>
#include <net/ipv6_stubs.h>
#include <net/ndisc.h>
#include <net/neighbour.h>

#include "kubelb.h"
#include "trace.h"

/**
 * kubelb_decide - what to do with an ARP/NDP packet for an address
 * @pkt: what the packet is
 * @holder: who holds its target (sender, for KUBELB_PKT_ARP_OUT)
 * @link: the VIP's link ifindex, 0 when it is virtual
 * @ifindex: interface the packet arrived on or leaves by
 *
 * A VIP is answered only when it is local on the interface the request
 * came in on; everywhere else, and for addresses on kubelb devices that
 * kubelb did not add, the request is dropped. Someone else's gratuitous
 * ARP for the address is dropped too: the kernel would answer it as a
 * conflict. Outgoing requests keep the address as sender only where it
 * is local.
 */
enum kubelb_verdict kubelb_decide(enum kubelb_pkt pkt,
				  enum kubelb_holder holder, int link,
				  int ifindex)
{
	bool owner_here = holder == KUBELB_HOLDER_VIP && link &&
			  link == ifindex;

	if (holder == KUBELB_HOLDER_NONE)
		return KUBELB_PASS;

	switch (pkt) {
	case KUBELB_PKT_ARP_OUT:
		return owner_here ? KUBELB_PASS : KUBELB_REWRITE;
	case KUBELB_PKT_ARP_GRATUITOUS:
		return KUBELB_SUPPRESS;
	case KUBELB_PKT_ARP_REQUEST:
	case KUBELB_PKT_ARP_PROBE:
	case KUBELB_PKT_NS:
	case KUBELB_PKT_NS_DAD:
		return owner_here ? KUBELB_ANSWER : KUBELB_SUPPRESS;
	case KUBELB_PKT_NUM:
		break;
	}
	return KUBELB_PASS;
}

/*
 * An IPv4 address someone put on a kubelb device, see kubelb_net.foreign.
 * @ifindex names one kubelb device holding it, for the counters.
 */
struct kubelb_foreign {
	struct rhash_head	node;
	struct kubelb_key	key;
	int			ifindex;
	struct rcu_head		rcu;
};

static const struct rhashtable_params kubelb_foreign_params = {
	.key_len		= sizeof(struct kubelb_key),
	.key_offset		= offsetof(struct kubelb_foreign, key),
	.head_offset		= offsetof(struct kubelb_foreign, node),
	.automatic_shrinking	= true,
};

int kubelb_foreign_init(struct kubelb_net *kn)
{
	return rhashtable_init(&kn->foreign, &kubelb_foreign_params);
}

static void kubelb_foreign_free_fn(void *ptr, void *arg)
{
	kfree(ptr);
}

/* The namespace's devices, and so their addresses, are gone. */
void kubelb_foreign_destroy(struct kubelb_net *kn)
{
	rhashtable_free_and_destroy(&kn->foreign, kubelb_foreign_free_fn,
				    NULL);
}

/* A kubelb device of @net holding @addr, or NULL. RTNL held. */
static struct net_device *kubelb_foreign_holder(struct net *net, __be32 addr)
{
	const struct in_ifaddr *ifa;
	struct net_device *dev;

	for_each_netdev(net, dev) {
		const struct in_device *in_dev = __in_dev_get_rtnl(dev);

		if (!kubelb_dev_is_kubelb(dev) || !in_dev)
			continue;
		in_dev_for_each_ifa_rtnl(ifa, in_dev)
			if (ifa->ifa_local == addr)
				return dev;
	}
	return NULL;
}

/*
 * An address on a kubelb device came or went. Rather than counting events
 * (a promoted secondary gets a second NETDEV_UP), look at what is there:
 * on NETDEV_DOWN the address is already off its list. RTNL serialises us.
 */
static void kubelb_foreign_sync(struct net *net, __be32 addr)
{
	struct kubelb_net *kn = kubelb_pernet(net);
	struct net_device *holder;
	struct kubelb_foreign *f;
	struct kubelb_key key;

	ASSERT_RTNL();
	kubelb_key_init(&key, AF_INET, &addr);
	holder = kubelb_foreign_holder(net, addr);
	f = rhashtable_lookup_fast(&kn->foreign, &key, kubelb_foreign_params);
	if (f && holder) {
		WRITE_ONCE(f->ifindex, holder->ifindex);
	} else if (f) {
		rhashtable_remove_fast(&kn->foreign, &f->node,
				       kubelb_foreign_params);
		kfree_rcu(f, rcu);
	} else if (holder) {
		f = kzalloc(sizeof(*f), GFP_KERNEL);
		if (f) {
			f->key = key;
			f->ifindex = holder->ifindex;
			if (!rhashtable_insert_fast(&kn->foreign, &f->node,
						    kubelb_foreign_params))
				return;
			kfree(f);
		}
		net_warn_ratelimited("%s: out of memory: address %pI4 on it may be answered by ARP\n",
				     holder->name, &addr);
	}
}

/* Who holds an address, as the fast path sees it (RCU held). */
struct kubelb_hit {
	enum kubelb_holder	holder;
	struct kubelb_vip	*vip;
	struct net_device	*kdev;	/* kubelb device to count on */
	int			link;
};

static void kubelb_lookup(struct net *net, u16 family, const void *addr,
			  struct kubelb_hit *hit)
{
	struct kubelb_net *kn = kubelb_pernet(net);
	struct kubelb_foreign *f;
	struct kubelb_vip *vip;
	struct kubelb_key key;

	bool foreign = family == AF_INET && atomic_read(&kn->foreign.nelems);

	hit->vip = NULL;
	hit->link = 0;
	hit->holder = KUBELB_HOLDER_NONE;
	hit->kdev = NULL;
	/* Most namespaces hold nothing of ours: no hashing for their ARP/NDP. */
	if (!READ_ONCE(kn->count) && !foreign)
		return;
	kubelb_key_init(&key, family, addr);
	vip = __kubelb_vip_lookup_rcu(kn, &key);
	if (vip) {
		hit->holder = KUBELB_HOLDER_VIP;
		hit->vip = vip;
		hit->kdev = vip->cfg.dev;
		hit->link = READ_ONCE(vip->cfg.link);
		return;
	}
	if (!foreign)
		return;
	f = rhashtable_lookup(&kn->foreign, &key, kubelb_foreign_params);
	if (f) {
		struct net_device *dev;

		hit->holder = KUBELB_HOLDER_FOREIGN;
		/* A stale index finds no device, or one that is not ours. */
		dev = dev_get_by_index_rcu(net, READ_ONCE(f->ifindex));
		if (dev && kubelb_dev_is_kubelb(dev))
			hit->kdev = dev;
	}
}

static void kubelb_count(const struct kubelb_hit *hit, enum kubelb_stat stat,
			 enum kubelb_dev_stat dstat)
{
	if (hit->vip)
		kubelb_vip_stat_inc(hit->vip, stat);
	if (hit->kdev)
		kubelb_dev_stat_inc(hit->kdev, dstat);
}

/* Where an ARP packet's fields are, for Ethernet-like hardware. */
struct kubelb_arp {
	const struct arphdr	*hdr;
	const unsigned char	*sha;
	__be32			sip;
	__be32			tip;
};

static bool kubelb_arp_parse(const struct sk_buff *skb,
			     const struct net_device *dev,
			     struct kubelb_arp *a)
{
	const unsigned char *p;

	/* arp_rcv() and arp_create() made the whole header linear. */
	a->hdr = arp_hdr(skb);
	if (a->hdr->ar_op != htons(ARPOP_REQUEST) ||
	    a->hdr->ar_pro != htons(ETH_P_IP) || a->hdr->ar_pln != 4 ||
	    a->hdr->ar_hln != dev->addr_len || dev->addr_len != ETH_ALEN ||
	    (a->hdr->ar_hrd != htons(ARPHRD_ETHER) &&
	     a->hdr->ar_hrd != htons(ARPHRD_IEEE802)))
		return false;
	p = (const unsigned char *)(a->hdr + 1);
	a->sha = p;
	memcpy(&a->sip, p + ETH_ALEN, sizeof(a->sip));
	memcpy(&a->tip, p + 2 * ETH_ALEN + sizeof(a->sip), sizeof(a->tip));
	return true;
}

static unsigned int kubelb_arp_in(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct net_device *dev = state->in;
	enum kubelb_pkt pkt = KUBELB_PKT_ARP_REQUEST;
	struct kubelb_hit hit;
	struct kubelb_arp a;
	u8 sha[ETH_ALEN];

	if (!kubelb_arp_parse(skb, dev, &a) || ipv4_is_multicast(a.tip) ||
	    ipv4_is_loopback(a.tip))
		return NF_ACCEPT;

	kubelb_lookup(state->net, AF_INET, &a.tip, &hit);
	if (hit.holder == KUBELB_HOLDER_NONE)
		return NF_ACCEPT;

	if (!a.sip)
		pkt = KUBELB_PKT_ARP_PROBE;
	else if (a.sip == a.tip)
		pkt = KUBELB_PKT_ARP_GRATUITOUS;

	if (kubelb_decide(pkt, hit.holder, hit.link, dev->ifindex) !=
	    KUBELB_ANSWER) {
		kubelb_count(&hit, KUBELB_STAT_SUPPRESSED,
			     KUBELB_DSTAT_ARP_SUPPRESSED);
		trace_kubelb_suppress(AF_INET, &a.tip, dev, &a.sip);
		return NF_DROP;
	}

	/* Learn the requester as arp_process() does, then reply to it. */
	memcpy(sha, a.sha, ETH_ALEN);
	if (a.sip) {
		struct neighbour *n = neigh_event_ns(&arp_tbl, sha, &a.sip,
						     dev);

		if (n)
			neigh_release(n);
	}
	arp_send(ARPOP_REPLY, ETH_P_ARP, a.sip, dev, a.tip, sha,
		 dev->dev_addr, sha);
	kubelb_count(&hit, KUBELB_STAT_ANSWERED, KUBELB_DSTAT_ARP_ANSWERED);
	trace_kubelb_answer(AF_INET, &a.tip, dev, &a.sip);
	consume_skb(skb);
	return NF_STOLEN;
}

/*
 * What arp_solicit() picks with arp_announce=2: the interface's best
 * address for the target, or none, which makes the request a probe
 * that does not teach the neighbour anything.
 */
static unsigned int kubelb_arp_out(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	struct net_device *dev = state->out;
	unsigned char *sip_ptr;
	struct kubelb_hit hit;
	struct kubelb_arp a;
	__be32 sender;

	if (!kubelb_arp_parse(skb, dev, &a) || !a.sip)
		return NF_ACCEPT;

	kubelb_lookup(state->net, AF_INET, &a.sip, &hit);
	if (kubelb_decide(KUBELB_PKT_ARP_OUT, hit.holder, hit.link,
			  dev->ifindex) != KUBELB_REWRITE)
		return NF_ACCEPT;

	if (skb_ensure_writable(skb, skb_network_offset(skb) +
				arp_hdr_len(dev)))
		return NF_DROP;
	sender = inet_select_addr(dev, a.tip, RT_SCOPE_LINK);
	/* It may fall back to another device's address, even a VIP. */
	if (sender) {
		struct kubelb_hit other;

		kubelb_lookup(state->net, AF_INET, &sender, &other);
		if (other.holder != KUBELB_HOLDER_NONE)
			sender = 0;
	}
	sip_ptr = (unsigned char *)(arp_hdr(skb) + 1) + ETH_ALEN;
	memcpy(sip_ptr, &sender, sizeof(sender));

	kubelb_count(&hit, KUBELB_STAT_REWRITTEN,
		     KUBELB_DSTAT_ARP_SENDER_REWRITTEN);
	trace_kubelb_rewrite(a.sip, dev, a.tip, sender);
	return NF_ACCEPT;
}

#if IS_ENABLED(CONFIG_IPV6)
/**
 * kubelb_send_na - send a Neighbor Advertisement for a VIP
 * @dev: link to send it on (Ethernet), with IPv6 up
 * @daddr: the solicitor, or all-nodes for an unsolicited one
 * @target: the VIP
 * @solicited: an answer (else an announcement)
 *
 * From the VIP itself with the override flag and @dev's MAC, as the owner
 * of an address on @dev sends it. ndisc_send_na() would pick one of @dev's
 * own addresses as source, and tools such as ndisc6 discard those.
 * Returns false if nothing could be sent.
 */
bool kubelb_send_na(struct net_device *dev, const struct in6_addr *daddr,
		    const struct in6_addr *target, bool solicited)
{
	const int len = sizeof(struct nd_msg) + 8;	/* + target LL option */
	struct sock *sk = dev_net(dev)->ipv6.ndisc_sk;
	struct nd_msg *msg;
	struct sk_buff *skb;
	u8 *opt;

	if (!sk || dev->addr_len != ETH_ALEN || !__in6_dev_get(dev))
		return false;
	skb = alloc_skb(LL_RESERVED_SPACE(dev) + sizeof(struct ipv6hdr) + len +
			dev->needed_tailroom, GFP_ATOMIC);
	if (!skb)
		return false;
	skb->protocol = htons(ETH_P_IPV6);
	skb->dev = dev;
	skb_reserve(skb, LL_RESERVED_SPACE(dev) + sizeof(struct ipv6hdr));
	skb_reset_transport_header(skb);
	/* As ndisc does: NDP must not be limited by a socket's wmem. */
	skb_set_owner_w(skb, sk);

	msg = skb_put_zero(skb, sizeof(*msg));
	msg->icmph.icmp6_type = NDISC_NEIGHBOUR_ADVERTISEMENT;
	msg->icmph.icmp6_solicited = solicited;
	msg->icmph.icmp6_override = 1;
	msg->target = *target;
	opt = skb_put(skb, 8);
	opt[0] = ND_OPT_TARGET_LL_ADDR;
	opt[1] = 1;	/* in units of 8 octets */
	memcpy(opt + 2, dev->dev_addr, ETH_ALEN);

	ndisc_send_skb(skb, daddr, target);
	return true;
}

/*
 * Finds the source link-layer address option of a solicitation: 1 and
 * copied, 0 when there is none, -EINVAL when the options are malformed
 * (ndisc_recv_ns() drops those; so must we).
 */
static int kubelb_ns_lladdr(const struct sk_buff *skb, int off, int len,
			    u8 *lladdr)
{
	const struct nd_opt_hdr *opt;
	struct nd_opt_hdr ohdr;
	int olen, found = 0;

	while (len > 0) {
		opt = skb_header_pointer(skb, off, sizeof(ohdr), &ohdr);
		if (!opt || len < (int)sizeof(ohdr))
			return -EINVAL;
		olen = opt->nd_opt_len << 3;
		if (!olen || olen > len)
			return -EINVAL;
		if (opt->nd_opt_type == ND_OPT_SOURCE_LL_ADDR) {
			/* Ethernet: 2 bytes of header, 6 of address */
			if (olen != 8 || found ||
			    skb_copy_bits(skb, off + sizeof(ohdr), lladdr,
					  ETH_ALEN))
				return -EINVAL;
			found = 1;
		}
		off += olen;
		len -= olen;
	}
	return found;
}

/*
 * br_netfilter runs the IPv6 hooks for frames being bridged, with the
 * bridge as input device, and skips them when such a frame is then
 * delivered locally. Those frames must go on (to other ports too): we
 * answer what is ours but never drop.
 */
static bool kubelb_bridged(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	return nf_bridge_info_exists(skb);
#else
	return false;
#endif
}

static unsigned int kubelb_ns_in(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	const int off = sizeof(struct ipv6hdr);
	struct in6_addr saddr, target, daddr;
	struct net_device *dev = state->in;
	const struct ipv6hdr *ip6h;
	const struct nd_msg *msg;
	struct kubelb_hit hit;
	bool dad, bridged;
	u8 lladdr[ETH_ALEN];
	struct nd_msg buf;
	int len, has_lladdr;

	/* Solicitations carry no extension headers (RFC 4861 7.1.1). */
	ip6h = ipv6_hdr(skb);
	if (ip6h->nexthdr != IPPROTO_ICMPV6 || ip6h->hop_limit != 255 ||
	    dev->addr_len != ETH_ALEN)
		return NF_ACCEPT;
	msg = skb_header_pointer(skb, off, sizeof(buf), &buf);
	if (!msg || msg->icmph.icmp6_type != NDISC_NEIGHBOUR_SOLICITATION ||
	    msg->icmph.icmp6_code || ipv6_addr_is_multicast(&msg->target))
		return NF_ACCEPT;

	target = msg->target;
	kubelb_lookup(state->net, AF_INET6, &target, &hit);
	if (hit.holder == KUBELB_HOLDER_NONE)
		return NF_ACCEPT;

	/* Ours: check it as ndisc_rcv() would before acting on it. */
	len = skb->len - off;
	if (len < (int)sizeof(*msg) ||
	    nf_ip6_checksum(skb, state->hook, off, IPPROTO_ICMPV6))
		return NF_ACCEPT;

	/* As ndisc_recv_ns(): a DAD probe goes to a solicited-node group. */
	saddr = ip6h->saddr;
	dad = ipv6_addr_any(&saddr);
	has_lladdr = kubelb_ns_lladdr(skb, off + sizeof(*msg),
				      len - sizeof(*msg), lladdr);
	if (has_lladdr < 0 ||
	    (dad && (has_lladdr || !ipv6_addr_is_solict_mult(&ip6h->daddr))))
		return NF_ACCEPT;

	bridged = kubelb_bridged(skb);
	if (kubelb_decide(dad ? KUBELB_PKT_NS_DAD : KUBELB_PKT_NS, hit.holder,
			  hit.link, dev->ifindex) != KUBELB_ANSWER) {
		if (bridged)
			return NF_ACCEPT;
		kubelb_count(&hit, KUBELB_STAT_SUPPRESSED,
			     KUBELB_DSTAT_NS_SUPPRESSED);
		trace_kubelb_suppress(AF_INET6, &target, dev, &saddr);
		return NF_DROP;
	}

	daddr = dad ? in6addr_linklocal_allnodes : saddr;
	if (has_lladdr) {
		struct neighbour *n = neigh_event_ns(ipv6_stub->nd_tbl, lladdr,
						     &saddr, dev);

		if (n)
			neigh_release(n);
	}
	if (!kubelb_send_na(dev, &daddr, &target, !dad))
		return bridged ? NF_ACCEPT : NF_DROP;
	kubelb_count(&hit, KUBELB_STAT_ANSWERED, KUBELB_DSTAT_NS_ANSWERED);
	trace_kubelb_answer(AF_INET6, &target, dev, &saddr);
	if (bridged)
		return NF_ACCEPT;
	consume_skb(skb);
	return NF_STOLEN;
}
#endif

/*
 * After arptables/nft "arp filter" (priority 0), so the operator's rules
 * still see requests first; the rewrite goes before them so they see the
 * request as it will leave.
 */
static const struct nf_hook_ops kubelb_nf_ops[] = {
	{
		.hook		= kubelb_arp_in,
		.pf		= NFPROTO_ARP,
		.hooknum	= NF_ARP_IN,
		.priority	= NF_IP_PRI_FILTER + 1,
	},
	{
		.hook		= kubelb_arp_out,
		.pf		= NFPROTO_ARP,
		.hooknum	= NF_ARP_OUT,
		.priority	= NF_IP_PRI_FILTER - 1,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= kubelb_ns_in,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_FILTER + 1,
	},
#endif
};

int kubelb_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, kubelb_nf_ops,
				     ARRAY_SIZE(kubelb_nf_ops));
}

void kubelb_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, kubelb_nf_ops, ARRAY_SIZE(kubelb_nf_ops));
}

static int kubelb_inetaddr_event(struct notifier_block *nb,
				 unsigned long event, void *ptr)
{
	const struct in_ifaddr *ifa = ptr;
	struct net_device *dev = ifa->ifa_dev->dev;

	if (kubelb_dev_is_kubelb(dev) &&
	    (event == NETDEV_UP || event == NETDEV_DOWN))
		kubelb_foreign_sync(dev_net(dev), ifa->ifa_local);
	return NOTIFY_DONE;
}

static struct notifier_block kubelb_inetaddr_nb = {
	.notifier_call = kubelb_inetaddr_event,
};

/*
 * Any setlink or changelink that changes something (a bond's options, an
 * alias...) sends NETDEV_CHANGE too, like a carrier change does: the
 * carrier came back only when the link's carrier_up_count moved since we
 * last looked. One entry per link seen up, under RTNL like every netdev
 * event.
 */
struct kubelb_carrier {
	struct hlist_node	node;
	possible_net_t		net;
	int			ifindex;
	unsigned int		ups;
};

static DEFINE_HASHTABLE(kubelb_carriers, 8);

static struct kubelb_carrier *kubelb_carrier_find(struct net_device *dev)
{
	struct kubelb_carrier *c;

	hash_for_each_possible(kubelb_carriers, c, node, dev->ifindex)
		if (c->ifindex == dev->ifindex &&
		    net_eq(read_pnet(&c->net), dev_net(dev)))
			return c;
	return NULL;
}

/* Notes @dev's carrier; true if it came back since the last time. */
static bool kubelb_carrier_regained(struct net_device *dev)
{
	unsigned int ups = atomic_read(&dev->carrier_up_count);
	struct kubelb_carrier *c = kubelb_carrier_find(dev);

	if (!c) {
		c = kzalloc(sizeof(*c), GFP_KERNEL);
		/* Without a record, rather a burst too many than one missed. */
		if (!c)
			return true;
		write_pnet(&c->net, dev_net(dev));
		c->ifindex = dev->ifindex;
		hash_add(kubelb_carriers, &c->node, dev->ifindex);
	} else if (c->ups == ups) {
		return false;
	}
	c->ups = ups;
	return true;
}

static void kubelb_carrier_forget(struct net_device *dev)
{
	struct kubelb_carrier *c = kubelb_carrier_find(dev);

	if (c) {
		hash_del(&c->node);
		kfree(c);
	}
}

/* Links of local VIPs: announce when they come up, forget when gone. */
static int kubelb_netdev_event(struct notifier_block *nb, unsigned long event,
			       void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct kubelb_net *kn;

	if (kubelb_dev_is_kubelb(dev))
		return NOTIFY_DONE;
	kn = kubelb_pernet(dev_net(dev));
	switch (event) {
	case NETDEV_CHANGE:
		if (!netif_carrier_ok(dev) || !kubelb_carrier_regained(dev))
			break;
		kubelb_link_changed(kn, dev, false);
		break;
	case NETDEV_UP:
		/* Its carrier, if already there, is part of coming up. */
		kubelb_carrier_regained(dev);
		fallthrough;
	case NETDEV_CHANGEADDR:
	case NETDEV_NOTIFY_PEERS:
		kubelb_link_changed(kn, dev, false);
		break;
	case NETDEV_UNREGISTER:
		kubelb_carrier_forget(dev);
		kubelb_link_changed(kn, dev, true);
		break;
	}
	return NOTIFY_DONE;
}

/*
 * After ndisc's notifier (ADDRCONF_NOTIFY_PRIORITY - 5): on a MAC change it
 * flushes the link's neighbours, whose cached link-layer headers would
 * otherwise give the first NA of the new burst the old source MAC.
 */
static struct notifier_block kubelb_netdev_nb = {
	.notifier_call = kubelb_netdev_event,
	.priority = ADDRCONF_NOTIFY_PRIORITY - 10,
};

int __init kubelb_neigh_init_module(void)
{
	int err;

	err = register_netdevice_notifier(&kubelb_netdev_nb);
	if (err)
		return err;
	err = register_inetaddr_notifier(&kubelb_inetaddr_nb);
	if (err)
		goto err_netdev;
	return 0;

err_netdev:
	unregister_netdevice_notifier(&kubelb_netdev_nb);
	return err;
}

void kubelb_neigh_exit_module(void)
{
	struct kubelb_carrier *c;
	struct hlist_node *tmp;
	int bkt;

	unregister_inetaddr_notifier(&kubelb_inetaddr_nb);
	unregister_netdevice_notifier(&kubelb_netdev_nb);
	hash_for_each_safe(kubelb_carriers, bkt, tmp, c, node) {
		hash_del(&c->node);
		kfree(c);
	}
}
