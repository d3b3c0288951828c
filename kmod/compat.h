/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubelb: the one place where differences between kernel APIs are bridged.
 *
 * Each choice follows what the kernel's headers offer, never a version
 * number: distributions backport interfaces (Debian's 6.1 has several of
 * 6.2+). Macros do where the preprocessor can tell; otherwise kmod/Makefile
 * greps the headers and defines KUBELB_HAVE_*. The kernel that first
 * changed an interface is named only to explain.
 */
#ifndef _KUBELB_COMPAT_H
#define _KUBELB_COMPAT_H

#include <linux/netdevice.h>
#include <net/genetlink.h>

/* 6.12 turned the LLTX feature bit into a net_device field. */
static inline void kubelb_dev_set_lltx(struct net_device *dev)
{
#ifdef NETIF_F_LLTX
	dev->features |= NETIF_F_LLTX;
#else
	dev->lltx = true;
#endif
}

/* The same for NETNS_LOCAL; 6.15 renamed the field netns_immutable. */
static inline void kubelb_dev_set_netns_local(struct net_device *dev)
{
#if defined(NETIF_F_NETNS_LOCAL)
	dev->features |= NETIF_F_NETNS_LOCAL;
#elif defined(KUBELB_HAVE_NETNS_IMMUTABLE)
	dev->netns_immutable = true;
#else
	dev->netns_local = true;
#endif
}

/*
 * genl_family.pre_doit gets the operation as struct genl_split_ops since
 * 6.2 (struct genl_ops before); kubelb reads only ->cmd, which both have.
 */
#ifdef KUBELB_HAVE_GENL_SPLIT_PRE_DOIT
#define kubelb_genl_doit_op genl_split_ops
#else
#define kubelb_genl_doit_op genl_ops
#endif

/* A dump's parsed request attributes: in a struct genl_info since 6.6. */
static inline struct nlattr **kubelb_dump_attrs(struct netlink_callback *cb)
{
#ifdef KUBELB_HAVE_GENL_INFO_DUMP
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * Trace events: since 6.10 __assign_str() copies from the source given to
 * __string() and takes only the field.
 */
#ifdef KUBELB_HAVE_ASSIGN_STR_ONE_ARG
#define kubelb_assign_str(field, src)	__assign_str(field)
#else
#define kubelb_assign_str(field, src)	__assign_str(field, src)
#endif

#endif /* _KUBELB_COMPAT_H */
