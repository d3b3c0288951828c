/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kubelb

#if !defined(_KUBELB_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KUBELB_TRACE_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "kubelb.h"

#ifndef _KUBELB_TRACE_HELPERS
#define _KUBELB_TRACE_HELPERS
/*
 * The address is kept as a sockaddr so that one format (%pISc) prints
 * both families.
 */
static inline void kubelb_trace_addr(u8 *buf, const struct kubelb_key *key)
{
	memset(buf, 0, sizeof(struct sockaddr_in6));
	if (key->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)buf;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = key->addr.ip4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)buf;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = key->addr.ip6;
	}
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
				   __assign_str(service, vip->cfg.service);),
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

#endif /* _KUBELB_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
