// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: Kubernetes LoadBalancer VIPs held by a kernel network device.
 *
 * Module glue: parameters, per-namespace state and the order in which
 * the pieces come and go.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/rtnetlink.h>

#include "kubelb.h"

static char *ifname = "kube-lb0";
module_param(ifname, charp, 0444);
MODULE_PARM_DESC(ifname,
		 "kubelb device to create in the initial namespace at load (\"\" for none; default kube-lb0)");

static unsigned int max_vips = 1000000;
module_param(max_vips, uint, 0644);
MODULE_PARM_DESC(max_vips,
		 "Most VIPs per network namespace (default 1000000)");

static unsigned int garp_count = 3;
module_param(garp_count, uint, 0644);
MODULE_PARM_DESC(garp_count,
		 "Gratuitous ARPs / unsolicited NAs sent when a VIP becomes local on a link (0: none; default 3)");

static unsigned int garp_interval_ms = 500;
module_param(garp_interval_ms, uint, 0644);
MODULE_PARM_DESC(garp_interval_ms,
		 "Milliseconds between the announcements of a burst (default 500)");

static unsigned int garp_refresh_ms;
module_param(garp_refresh_ms, uint, 0644);
MODULE_PARM_DESC(garp_refresh_ms,
		 "Re-announce local VIPs every this many milliseconds after the burst, for switches that forget MACs before routers forget ARP entries (0: off; default 0)");

unsigned int kubelb_net_id __read_mostly;

unsigned int kubelb_max_vips(void)
{
	return READ_ONCE(max_vips);
}

unsigned int kubelb_garp_count(void)
{
	return READ_ONCE(garp_count);
}

/* In jiffies, at least one so that a burst never spins. */
unsigned long kubelb_garp_interval(void)
{
	return max(msecs_to_jiffies(READ_ONCE(garp_interval_ms)), 1UL);
}

/* In jiffies; 0 is off. */
unsigned long kubelb_garp_refresh(void)
{
	unsigned int ms = READ_ONCE(garp_refresh_ms);

	return ms ? max(msecs_to_jiffies(ms), 1UL) : 0;
}

struct kubelb_net *kubelb_pernet(const struct net *net)
{
	return net_generic(net, kubelb_net_id);
}

static int __net_init kubelb_net_init(struct net *net)
{
	struct kubelb_net *kn = kubelb_pernet(net);
	int err;

	kn->net = net;
	kubelb_announce_init(kn);
	err = kubelb_table_init(kn);
	if (err)
		return err;
	err = kubelb_foreign_init(kn);
	if (err)
		goto err_table;
	err = kubelb_hooks_register(net);
	if (err)
		goto err_foreign;
	return 0;

err_foreign:
	kubelb_foreign_destroy(kn);
err_table:
	kubelb_table_destroy(kn);
	return err;
}

/*
 * Runs after the namespace's devices were unregistered (they took their
 * VIPs, addresses and pending announcements with them). Unregistering
 * the hooks waits until no packet path can still look at the tables.
 */
static void __net_exit kubelb_net_exit(struct net *net)
{
	struct kubelb_net *kn = kubelb_pernet(net);

	kubelb_hooks_unregister(net);
	kubelb_announce_exit(kn);
	kubelb_foreign_destroy(kn);
	kubelb_table_destroy(kn);
}

static struct pernet_operations kubelb_net_ops = {
	.init	= kubelb_net_init,
	.exit	= kubelb_net_exit,
	.id	= &kubelb_net_id,
	.size	= sizeof(struct kubelb_net),
};

static int __init kubelb_init(void)
{
	int err;

	/* Tables first: a device (and so a VIP) may appear right after. */
	err = register_pernet_subsys(&kubelb_net_ops);
	if (err)
		return err;
	err = kubelb_neigh_init_module();
	if (err)
		goto err_pernet;
	err = kubelb_dev_init_module();
	if (err)
		goto err_neigh;
	err = kubelb_nl_init();
	if (err)
		goto err_dev;
	if (ifname && *ifname) {
		err = kubelb_dev_create(ifname);
		if (err)
			goto err_nl;
	}
	return 0;

err_nl:
	kubelb_nl_exit();
err_dev:
	kubelb_dev_exit_module();
err_neigh:
	kubelb_neigh_exit_module();
err_pernet:
	unregister_pernet_subsys(&kubelb_net_ops);
	/* VIPs added before a late failure are freed by call_rcu() here. */
	rcu_barrier();
	return err;
}

static void __exit kubelb_exit(void)
{
	/*
	 * Devices go first, while the family is still registered, so that
	 * listeners see every VIP deleted.
	 */
	kubelb_dev_exit_module();
	kubelb_nl_exit();
	kubelb_neigh_exit_module();
	unregister_pernet_subsys(&kubelb_net_ops);
	/* VIPs are freed by call_rcu() callbacks that live in this module. */
	rcu_barrier();
}

module_init(kubelb_init);
module_exit(kubelb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kubernetes LoadBalancer VIPs held by a network device");
MODULE_VERSION(KUBELB_DRV_VERSION);
MODULE_ALIAS_RTNL_LINK(KUBELB_LINK_KIND);
MODULE_ALIAS_GENL_FAMILY(KUBELB_GENL_NAME);
