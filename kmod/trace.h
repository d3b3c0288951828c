/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kubelb

#if !defined(_KUBELB_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KUBELB_TRACE_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/netdevice.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "kubelb.h"

#ifndef _KUBELB_TRACE_HELPERS
#define _KUBELB_TRACE_HELPERS
/*
 * The address is kept as a sockaddr so that one format (%pISc) prints
 * both families.
 */
static inline void kubelb_trace_sockaddr(u8 *buf, u16 family,
					 const void *addr)
{
	memset(buf, 0, sizeof(struct sockaddr_in6));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)buf;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)buf;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
}

static inline void kubelb_trace_addr(u8 *buf, const struct kubelb_key *key)
{
	kubelb_trace_sockaddr(buf, key->family, &key->addr);
}
#endif

/* Lets trace-cmd and perf, which see only the format, decode the mode. */
TRACE_DEFINE_ENUM(KUBELB_MODE_VIRTUAL);
TRACE_DEFINE_ENUM(KUBELB_MODE_LOCAL);

DECLARE_EVENT_CLASS(kubelb_vip_class,
		    TP_PROTO(const struct kubelb_vip *vip),
		    TP_ARGS(vip),
		    TP_STRUCT__entry(__field(int, ifindex)
				     __array(u8, addr,
					     sizeof(struct sockaddr_in6))
				     __field(u8, prefixlen)
				     __field(u8, mode)
				     __field(int, link)
				     __field(u32, owner)
				     __string(service, vip->cfg.service)),
		    TP_fast_assign(kubelb_trace_addr(__entry->addr,
						     &vip->cfg.key);
				   __entry->ifindex = vip->cfg.ifindex;
				   __entry->prefixlen = vip->cfg.prefixlen;
				   __entry->mode = vip->cfg.mode;
				   __entry->link = vip->cfg.link;
				   __entry->owner = vip->cfg.owner;
				   kubelb_assign_str(service, vip->cfg.service);),
		    TP_printk("ifindex=%d addr=%pISc/%u mode=%s link=%d owner=%u service=%s",
			      __entry->ifindex, __entry->addr,
			      __entry->prefixlen,
			      __print_symbolic(__entry->mode,
					       { KUBELB_MODE_VIRTUAL, "virtual" },
					       { KUBELB_MODE_LOCAL, "local" }),
			      __entry->link, __entry->owner,
			      __get_str(service))
);

DEFINE_EVENT(kubelb_vip_class, kubelb_vip_add,
	     TP_PROTO(const struct kubelb_vip *vip),
	     TP_ARGS(vip)
);

DEFINE_EVENT(kubelb_vip_class, kubelb_vip_del,
	     TP_PROTO(const struct kubelb_vip *vip),
	     TP_ARGS(vip)
);

DEFINE_EVENT(kubelb_vip_class, kubelb_vip_change,
	     TP_PROTO(const struct kubelb_vip *vip),
	     TP_ARGS(vip)
);

/*
 * ARP/NDP decisions. @peer is the requester's address (0.0.0.0 or :: for
 * a probe), or the target of a rewritten request.
 */
DECLARE_EVENT_CLASS(kubelb_neigh_class,
		    TP_PROTO(u16 family, const void *vip,
			     const struct net_device *dev, const void *peer),
		    TP_ARGS(family, vip, dev, peer),
		    TP_STRUCT__entry(__array(u8, vip,
					     sizeof(struct sockaddr_in6))
				     __array(u8, peer,
					     sizeof(struct sockaddr_in6))
				     __string(dev, dev->name)),
		    TP_fast_assign(kubelb_trace_sockaddr(__entry->vip, family,
							 vip);
				   kubelb_trace_sockaddr(__entry->peer, family,
							 peer);
				   kubelb_assign_str(dev, dev->name);),
		    TP_printk("vip=%pISc dev=%s peer=%pISc", __entry->vip,
			      __get_str(dev), __entry->peer)
);

DEFINE_EVENT(kubelb_neigh_class, kubelb_answer,
	     TP_PROTO(u16 family, const void *vip,
		      const struct net_device *dev, const void *peer),
	     TP_ARGS(family, vip, dev, peer)
);

DEFINE_EVENT(kubelb_neigh_class, kubelb_suppress,
	     TP_PROTO(u16 family, const void *vip,
		      const struct net_device *dev, const void *peer),
	     TP_ARGS(family, vip, dev, peer)
);

/* @vip was the sender of an ARP request for @peer; @sender replaced it. */
TRACE_EVENT(kubelb_rewrite,
	    TP_PROTO(__be32 vip, const struct net_device *dev, __be32 peer,
		     __be32 sender),
	    TP_ARGS(vip, dev, peer, sender),
	    /* u32, network order: sparse rejects __be32 trace fields. */
	    TP_STRUCT__entry(__field(u32, vip)
			     __field(u32, peer)
			     __field(u32, sender)
			     __string(dev, dev->name)),
	    TP_fast_assign(__entry->vip = (__force u32)vip;
			   __entry->peer = (__force u32)peer;
			   __entry->sender = (__force u32)sender;
			   kubelb_assign_str(dev, dev->name);),
	    TP_printk("vip=%pI4 dev=%s peer=%pI4 sender=%pI4", &__entry->vip,
		      __get_str(dev), &__entry->peer, &__entry->sender)
);

/* A gratuitous ARP or unsolicited NA was sent; @left more will follow. */
TRACE_EVENT(kubelb_announce,
	    TP_PROTO(const struct kubelb_key *vip,
		     const struct net_device *dev, u32 left),
	    TP_ARGS(vip, dev, left),
	    TP_STRUCT__entry(__array(u8, vip, sizeof(struct sockaddr_in6))
			     __field(u32, left)
			     __string(dev, dev->name)),
	    TP_fast_assign(kubelb_trace_addr(__entry->vip, vip);
			   __entry->left = left;
			   kubelb_assign_str(dev, dev->name);),
	    TP_printk("vip=%pISc dev=%s left=%u", __entry->vip,
		      __get_str(dev), __entry->left)
);

#endif /* _KUBELB_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
