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

unsigned int kubelb_net_id __read_mostly;

unsigned int kubelb_max_vips(void)
{
	return READ_ONCE(max_vips);
}

struct kubelb_net *kubelb_pernet(const struct net *net)
{
	return net_generic(net, kubelb_net_id);
}

static int __net_init kubelb_net_init(struct net *net)
{
	return kubelb_table_init(kubelb_pernet(net));
}

/*
 * Runs after the namespace's devices were unregistered (they took their
 * VIPs with them) and after the grace period that follows pre_exit, so
 * no packet path can still be looking at the table.
 */
static void __net_exit kubelb_net_exit(struct net *net)
{
	kubelb_table_destroy(kubelb_pernet(net));
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
	err = kubelb_dev_init_module();
	if (err)
		goto err_pernet;
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
