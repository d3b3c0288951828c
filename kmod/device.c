// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: the kubelb network device (rtnl kind "kubelb").
 *
 * Like dummy, it never puts anything on a wire. It exists to hold VIPs:
 * the local and aggregate routes userspace installs point at it, and
 * deleting it deletes its VIPs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/rtnetlink.h>

#include "kubelb.h"

struct kubelb_priv {
	/*
	 * Set under kubelb_net.lock once the device is being unregistered,
	 * so that a VIP add that looked the device up earlier cannot attach
	 * a VIP after the device's VIPs were flushed.
	 */
	bool dead;
	struct kubelb_counters __percpu *stats;
};

/* ethtool -S names, in enum kubelb_dev_stat order. */
static const char kubelb_dev_stat_names[KUBELB_DSTAT_NUM][ETH_GSTRING_LEN] = {
	[KUBELB_DSTAT_ARP_ANSWERED]		= "arp_answered",
	[KUBELB_DSTAT_ARP_SUPPRESSED]		= "arp_suppressed",
	[KUBELB_DSTAT_NS_ANSWERED]		= "ns_answered",
	[KUBELB_DSTAT_NS_SUPPRESSED]		= "ns_suppressed",
	[KUBELB_DSTAT_GARP_SENT]		= "garp_sent",
	[KUBELB_DSTAT_UNSOL_NA_SENT]		= "unsolicited_na_sent",
	[KUBELB_DSTAT_ARP_SENDER_REWRITTEN]	= "arp_sender_rewritten",
	[KUBELB_DSTAT_ANNOUNCE_FAILED]		= "announce_failed",
};

void kubelb_dev_stat_inc(struct net_device *dev, enum kubelb_dev_stat stat)
{
	struct kubelb_priv *priv = netdev_priv(dev);

	kubelb_counter_inc(priv->stats, stat);
}

static int kubelb_dev_init(struct net_device *dev)
{
	struct kubelb_priv *priv = netdev_priv(dev);

	BUILD_BUG_ON(KUBELB_DSTAT_NUM > KUBELB_COUNTERS_MAX);
	priv->stats = kubelb_counters_alloc(KUBELB_DSTAT_NUM, GFP_KERNEL);
	return priv->stats ? 0 : -ENOMEM;
}

/* Runs after the last reader: VIPs pointing here went with ndo_uninit. */
static void kubelb_dev_free(struct net_device *dev)
{
	struct kubelb_priv *priv = netdev_priv(dev);

	free_percpu(priv->stats);
}

/*
 * Traffic for a VIP is delivered locally and never reaches here; only
 * packets to unassigned addresses of an aggregate route do.
 */
static netdev_tx_t kubelb_xmit(struct sk_buff *skb, struct net_device *dev)
{
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static void kubelb_dev_uninit(struct net_device *dev)
{
	/*
	 * A failed register_netdevice() calls us too, maybe with the
	 * ifindex of another device: only a registered device has VIPs.
	 */
	if (dev->reg_state == NETREG_UNREGISTERING)
		kubelb_nl_dev_uninit(dev);
}

static void kubelb_set_rx_mode(struct net_device *dev)
{
}

static const struct net_device_ops kubelb_netdev_ops = {
	.ndo_init		= kubelb_dev_init,
	.ndo_uninit		= kubelb_dev_uninit,
	.ndo_start_xmit		= kubelb_xmit,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_set_rx_mode	= kubelb_set_rx_mode,
	.ndo_set_mac_address	= eth_mac_addr,
};

static void kubelb_get_drvinfo(struct net_device *dev,
			       struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KUBELB_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, KUBELB_DRV_VERSION, sizeof(info->version));
}

static int kubelb_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? KUBELB_DSTAT_NUM : -EOPNOTSUPP;
}

static void kubelb_get_strings(struct net_device *dev, u32 sset, u8 *buf)
{
	if (sset == ETH_SS_STATS)
		memcpy(buf, kubelb_dev_stat_names,
		       sizeof(kubelb_dev_stat_names));
}

static void kubelb_get_ethtool_stats(struct net_device *dev,
				     struct ethtool_stats *stats, u64 *data)
{
	struct kubelb_priv *priv = netdev_priv(dev);

	kubelb_counters_read(priv->stats, KUBELB_DSTAT_NUM, data);
}

static const struct ethtool_ops kubelb_ethtool_ops = {
	.get_drvinfo		= kubelb_get_drvinfo,
	.get_sset_count		= kubelb_get_sset_count,
	.get_strings		= kubelb_get_strings,
	.get_ethtool_stats	= kubelb_get_ethtool_stats,
};

bool kubelb_dev_is_kubelb(const struct net_device *dev)
{
	return dev->netdev_ops == &kubelb_netdev_ops;
}

bool kubelb_dev_dead(const struct net_device *dev)
{
	const struct kubelb_priv *priv = netdev_priv(dev);

	return priv->dead;
}

void kubelb_dev_set_dead(struct net_device *dev)
{
	struct kubelb_priv *priv = netdev_priv(dev);

	priv->dead = true;
}

static void kubelb_setup(struct net_device *dev)
{
	ether_setup(dev);

	dev->netdev_ops = &kubelb_netdev_ops;
	dev->ethtool_ops = &kubelb_ethtool_ops;
	dev->needs_free_netdev = true;
	dev->priv_destructor = kubelb_dev_free;

	dev->flags |= IFF_NOARP;
	dev->flags &= ~IFF_MULTICAST;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE | IFF_NO_QUEUE;
	dev->features |= NETIF_F_SG | NETIF_F_FRAGLIST | NETIF_F_GSO_SOFTWARE |
			 NETIF_F_HW_CSUM | NETIF_F_HIGHDMA;
	dev->hw_features |= dev->features;
	dev->hw_enc_features |= dev->features;
	/*
	 * VIPs live in the table of the device's namespace; moving the
	 * device would strand them there.
	 */
	kubelb_dev_set_lltx(dev);
	kubelb_dev_set_netns_local(dev);
	eth_hw_addr_random(dev);

	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU;
}

static int kubelb_validate(struct nlattr *tb[], struct nlattr *data[],
			   struct netlink_ext_ack *extack)
{
	if (tb[IFLA_ADDRESS]) {
		if (nla_len(tb[IFLA_ADDRESS]) != ETH_ALEN) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "invalid link address length");
			return -EINVAL;
		}
		if (!is_valid_ether_addr(nla_data(tb[IFLA_ADDRESS]))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "invalid link address");
			return -EADDRNOTAVAIL;
		}
	}
	return 0;
}

static struct rtnl_link_ops kubelb_link_ops __read_mostly = {
	.kind		= KUBELB_LINK_KIND,
	.priv_size	= sizeof(struct kubelb_priv),
	.setup		= kubelb_setup,
	.validate	= kubelb_validate,
};

int __init kubelb_dev_init_module(void)
{
	return rtnl_link_register(&kubelb_link_ops);
}

void kubelb_dev_exit_module(void)
{
	rtnl_link_unregister(&kubelb_link_ops);
}

/**
 * kubelb_dev_create - create and bring up the device named by "ifname"
 * @name: its name, non-empty
 *
 * It comes up at once (unlike "ip link add" ones, which start down like
 * dummy) so that routes can be attached to it right after modprobe.
 */
int __init kubelb_dev_create(const char *name)
{
	struct net_device *dev;
	int err;

	if (strlen(name) >= IFNAMSIZ) {
		pr_err("ifname \"%s\" is too long (max %d characters)\n",
		       name, IFNAMSIZ - 1);
		return -EINVAL;
	}

	dev = alloc_netdev(sizeof(struct kubelb_priv), name, NET_NAME_USER,
			   kubelb_setup);
	if (!dev)
		return -ENOMEM;
	dev->rtnl_link_ops = &kubelb_link_ops;

	rtnl_lock();
	err = register_netdevice(dev);
	if (err) {
		rtnl_unlock();
		free_netdev(dev);
		pr_err("cannot create device \"%s\": %d\n", name, err);
		return err;
	}
	err = dev_open(dev, NULL);
	if (err) {
		pr_err("cannot bring up device \"%s\": %d\n", name, err);
		unregister_netdevice(dev);
	}
	rtnl_unlock();
	return err;
}
