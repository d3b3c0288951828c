// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: announcing local VIPs (gratuitous ARP, unsolicited NA).
 *
 * When a VIP becomes local on a link the first announcement leaves at
 * once, from the request that made it local, so a takeover is on the wire
 * before the request returns. The rest of the burst, and the optional
 * periodic refresh, come from one delayed work per namespace that walks
 * the VIPs with announcements pending. Everything here runs under
 * kubelb_net.lock, so a VIP that stops being local or goes away simply
 * leaves the list: nothing needs cancelling.
 */

#include <linux/if_arp.h>
#include <linux/jiffies.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/addrconf.h>
#include <net/arp.h>
#include <net/if_inet6.h>
#include <net/ndisc.h>

#include "kubelb.h"
#include "trace.h"

/* Sends one announcement of @vip on its link now; false if it could not. */
static bool kubelb_announce_send(struct kubelb_net *kn, struct kubelb_vip *vip)
{
	enum kubelb_dev_stat dstat = KUBELB_DSTAT_GARP_SENT;
	const struct kubelb_key *key = &vip->cfg.key;
	struct net_device *link;
	bool sent = false;

	rcu_read_lock();
	link = dev_get_by_index_rcu(kn->net, vip->cfg.link);
	if (!link || !netif_running(link) || !netif_carrier_ok(link) ||
	    (link->flags & IFF_NOARP))
		goto out;

	/* The packet paths below expect softirq-like context. */
	local_bh_disable();
	if (key->family == AF_INET) {
		arp_send(ARPOP_REQUEST, ETH_P_ARP, key->addr.ip4, link,
			 key->addr.ip4, NULL, link->dev_addr, NULL);
		sent = true;
	} else if (IS_ENABLED(CONFIG_IPV6) &&
		   kubelb_send_na(link, &in6addr_linklocal_allnodes,
				  &key->addr.ip6, false)) {
		dstat = KUBELB_DSTAT_UNSOL_NA_SENT;
		sent = true;
	}
	local_bh_enable();
	if (sent) {
		kubelb_vip_stat_inc(vip, KUBELB_STAT_ANNOUNCED);
		if (vip->cfg.dev)
			kubelb_dev_stat_inc(vip->cfg.dev, dstat);
		trace_kubelb_announce(key, link, vip->announce_left);
	}
out:
	rcu_read_unlock();
	if (!sent && vip->cfg.dev)
		kubelb_dev_stat_inc(vip->cfg.dev, KUBELB_DSTAT_ANNOUNCE_FAILED);
	return sent;
}

/* Makes the work run no later than @due. */
static void kubelb_announce_arm(struct kubelb_net *kn, unsigned long due)
{
	unsigned long now = jiffies;

	if (kn->announce_armed && !time_before(due, kn->announce_next))
		return;
	kn->announce_armed = true;
	kn->announce_next = due;
	mod_delayed_work(system_wq, &kn->announce_work,
			 time_after(due, now) ? due - now : 0);
}

static void kubelb_announce_set_state(struct kubelb_net *kn,
				      struct kubelb_vip *vip, u8 state)
{
	u8 old = vip->announce_state;

	vip->announce_state = state;
	if (state == KUBELB_ANNOUNCE_IDLE) {
		vip->announce_left = 0;
		list_del_init(&vip->announce_node);
	} else {
		if (list_empty(&vip->announce_node))
			list_add_tail(&vip->announce_node, &kn->announce_list);
		kubelb_announce_arm(kn, vip->announce_due);
	}
	if (state != old)
		kubelb_nl_notify_vip(kn->net, KUBELB_CMD_VIP_ANNOUNCE, vip,
				     NULL);
}

/* After an announcement: the rest of the burst, a refresh, or nothing. */
static void kubelb_announce_next(struct kubelb_net *kn, struct kubelb_vip *vip)
{
	unsigned long refresh = kubelb_garp_refresh();

	if (vip->announce_left) {
		vip->announce_due = jiffies + kubelb_garp_interval();
		kubelb_announce_set_state(kn, vip, KUBELB_ANNOUNCE_BURST);
	} else if (refresh) {
		vip->announce_due = jiffies + refresh;
		kubelb_announce_set_state(kn, vip, KUBELB_ANNOUNCE_PERIODIC);
	} else {
		kubelb_announce_set_state(kn, vip, KUBELB_ANNOUNCE_IDLE);
	}
}

/**
 * kubelb_announce_start - start a burst of announcements for a local VIP
 * @kn: table, lock held
 * @vip: local VIP
 * @count: how many, the first sent before returning
 *
 * Returns 0, or -ENETDOWN when the first could not be sent (the link is
 * missing, down or without carrier); the burst is then dropped: the link
 * coming up starts a new one.
 */
int kubelb_announce_start(struct kubelb_net *kn, struct kubelb_vip *vip,
			  unsigned int count)
{
	lockdep_assert_held(&kn->lock);
	if (WARN_ON_ONCE(!vip->cfg.link || !count))
		return -EINVAL;

	vip->announce_left = count - 1;
	if (!kubelb_announce_send(kn, vip)) {
		kubelb_announce_set_state(kn, vip, KUBELB_ANNOUNCE_IDLE);
		return -ENETDOWN;
	}
	kubelb_announce_next(kn, vip);
	return 0;
}

/* @vip is no longer local on the link it was announced on. */
void kubelb_announce_stop(struct kubelb_net *kn, struct kubelb_vip *vip)
{
	lockdep_assert_held(&kn->lock);
	kubelb_announce_set_state(kn, vip, KUBELB_ANNOUNCE_IDLE);
}

static void kubelb_announce_work(struct work_struct *work)
{
	struct kubelb_net *kn = container_of(to_delayed_work(work),
					     struct kubelb_net, announce_work);
	struct kubelb_vip *vip, *tmp;
	unsigned long now = jiffies;

	mutex_lock(&kn->lock);
	kn->announce_armed = false;
	list_for_each_entry_safe(vip, tmp, &kn->announce_list, announce_node) {
		if (time_before(now, vip->announce_due)) {
			kubelb_announce_arm(kn, vip->announce_due);
			continue;
		}
		if (vip->announce_left)
			vip->announce_left--;
		/* A failure is counted; the link may be back for the next. */
		kubelb_announce_send(kn, vip);
		kubelb_announce_next(kn, vip);
		cond_resched();
	}
	mutex_unlock(&kn->lock);
}

void kubelb_announce_init(struct kubelb_net *kn)
{
	INIT_LIST_HEAD(&kn->announce_list);
	INIT_DELAYED_WORK(&kn->announce_work, kubelb_announce_work);
	kn->announce_armed = false;
}

/* Every VIP is gone (so none can arm the work again). */
void kubelb_announce_exit(struct kubelb_net *kn)
{
	cancel_delayed_work_sync(&kn->announce_work);
}

/**
 * kubelb_mc_set - be in the solicited-node group of an IPv6 VIP on a link
 * @vip: VIP, table lock held
 * @net: its namespace
 * @link: the link (its local link), or 0 to leave
 *
 * Without it a NIC that filters multicast, or a switch snooping MLD,
 * never delivers the solicitations for the VIP. RTNL held for IPv6.
 */
void kubelb_mc_set(struct kubelb_vip *vip, struct net *net, int link)
{
#if IS_ENABLED(CONFIG_IPV6)
	int want = vip->cfg.key.family == AF_INET6 ? link : 0;
	struct net_device *dev;
	struct in6_addr maddr;

	if (vip->mc_link == want)
		return;
	ASSERT_RTNL();
	addrconf_addr_solict_mult(&vip->cfg.key.addr.ip6, &maddr);
	if (vip->mc_link) {
		/* A link being unregistered is already unlisted: its groups go with it. */
		dev = __dev_get_by_index(net, vip->mc_link);
		if (dev)
			ipv6_dev_mc_dec(dev, &maddr);
		vip->mc_link = 0;
	}
	if (want) {
		dev = __dev_get_by_index(net, want);
		if (dev && !ipv6_dev_mc_inc(dev, &maddr))
			vip->mc_link = want;
	}
#endif
}

/**
 * kubelb_link_changed - a link came up, changed address, or is going away
 * @kn: its namespace's table
 * @link: the link, RTNL held
 * @gone: being unregistered
 *
 * Local VIPs on a link that came up or got a new address are announced
 * again: neighbours must learn the (new) MAC. Local VIPs on a link that
 * goes away become virtual, which listeners hear as a change.
 */
void kubelb_link_changed(struct kubelb_net *kn, struct net_device *link,
			 bool gone)
{
	unsigned int count = kubelb_garp_count();
	struct kubelb_vip_cfg prev;
	struct kubelb_vip *vip;
	unsigned long id;

	ASSERT_RTNL();
	if (!READ_ONCE(kn->local_count) || (!gone && !count))
		return;

	mutex_lock(&kn->lock);
	xa_for_each(&kn->by_id, id, vip) {
		/* Up to max_vips entries, under RTNL: let others run. */
		cond_resched();
		if (vip->cfg.link != link->ifindex)
			continue;
		if (!gone) {
			kubelb_announce_start(kn, vip, count);
			continue;
		}
		prev = vip->cfg;
		kubelb_announce_stop(kn, vip);
		kubelb_vip_make_virtual(kn, vip);
		kubelb_mc_set(vip, kn->net, 0);
		kubelb_nl_notify_vip(kn->net, KUBELB_CMD_VIP_CHANGE, vip, &prev);
	}
	mutex_unlock(&kn->lock);
}
