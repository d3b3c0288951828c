/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubelb: internal interfaces shared by the device, the VIP table and the
 * generic netlink family.
 */
#ifndef _KUBELB_H
#define _KUBELB_H

#include <linux/in6.h>
#include <linux/kubelb.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rhashtable-types.h>
#include <linux/types.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/netlink.h>

#include "compat.h"

#define KUBELB_DRV_NAME		"kubelb"
#define KUBELB_DRV_VERSION	"0.1.0"

struct net;
struct net_device;

/*
 * Hash key of a VIP. rhashtable hashes and compares the raw bytes, so
 * every byte (unused address bytes and @pad included) must be written;
 * kubelb_key_init() does that.
 */
struct kubelb_key {
	union {
		__be32		ip4;
		struct in6_addr	ip6;
	} addr;
	u16	family;
	u16	pad;
};

/* Hash key of an aggregate: the masked prefix plus its length. */
struct kubelb_aggr_key {
	struct kubelb_key	prefix;
	u32			prefixlen;
};

/* Per-VIP counters, one set per CPU; index + KUBELB_STATS_REQ_ANSWERED is the netlink attribute. */
enum kubelb_stat {
	KUBELB_STAT_ANSWERED,
	KUBELB_STAT_SUPPRESSED,
	KUBELB_STAT_ANNOUNCED,
	KUBELB_STAT_REWRITTEN,

	KUBELB_STAT_NUM
};

/*
 * A set of per-CPU u64 counters (a VIP's, a device's): kubelb_counters_*()
 * in vip.c. @cnt holds as many as the set was allocated with.
 */
struct kubelb_counters {
	struct u64_stats_sync	syncp;
	u64_stats_t		cnt[];
};

/* The largest set: enum kubelb_dev_stat. */
#define KUBELB_COUNTERS_MAX	8

/* Device-wide totals of a kubelb device, shown by ethtool -S. */
enum kubelb_dev_stat {
	KUBELB_DSTAT_ARP_ANSWERED,
	KUBELB_DSTAT_ARP_SUPPRESSED,
	KUBELB_DSTAT_NS_ANSWERED,
	KUBELB_DSTAT_NS_SUPPRESSED,
	KUBELB_DSTAT_GARP_SENT,
	KUBELB_DSTAT_UNSOL_NA_SENT,
	KUBELB_DSTAT_ARP_SENDER_REWRITTEN,
	KUBELB_DSTAT_ANNOUNCE_FAILED,

	KUBELB_DSTAT_NUM
};

/*
 * What userspace configures for a VIP. @link is non-zero exactly when
 * @mode is KUBELB_MODE_LOCAL, so the fast path needs to read only @link
 * (with READ_ONCE()) to know whether and where to answer. @dev is the
 * kubelb device @ifindex names (NULL in KUnit): a VIP never outlives it.
 */
struct kubelb_vip_cfg {
	struct kubelb_key	key;
	struct net_device	*dev;
	int			ifindex;
	int			link;
	u32			flags;
	u32			owner;
	u8			prefixlen;
	u8			mode;
	char			service[KUBELB_SERVICE_MAX];
};

struct kubelb_aggr {
	struct rhash_head	node;
	struct kubelb_aggr_key	key;
	unsigned int		refs;
	struct rcu_head		rcu;
};

struct kubelb_vip {
	struct rhash_head		node;
	struct kubelb_vip_cfg		cfg;
	u32				id;
	u64				created_ns;
	struct kubelb_aggr		*aggr;
	struct kubelb_counters __percpu *stats;
	/* Announcements, under kubelb_net.lock; see announce.c. */
	struct list_head		announce_node;
	unsigned long			announce_due;
	u32				announce_left;
	u8				announce_state;
	/* Link whose solicited-node group an IPv6 local VIP joined, or 0. */
	int				mc_link;
	struct rcu_head			rcu;
};

/*
 * Per network namespace state. @lock serialises every writer (netlink,
 * device teardown) and the dump; the fast path only does RCU lookups in
 * @vips. @by_id orders VIPs by creation so that a dump can resume after
 * the last id it reported.
 */
struct kubelb_net {
	struct mutex		lock;	/* see above */
	struct rhashtable	vips;
	struct rhashtable	aggrs;
	struct xarray		by_id;
	u32			next_id;
	unsigned int		count;
	unsigned int		local_count;

	struct net		*net;
	/* VIPs with announcements pending, and the work sending them. */
	struct list_head	announce_list;
	struct delayed_work	announce_work;
	bool			announce_armed;
	unsigned long		announce_next;

	/*
	 * IPv4 addresses other tools put on kubelb devices (ip addr add,
	 * kube-proxy IPVS): treated as virtual VIPs. Written under RTNL from
	 * the address notifier, read under RCU.
	 */
	struct rhashtable	foreign;
};

/* What the ARP/NDP hooks decide for a packet; see kubelb_decide(). */
enum kubelb_pkt {
	KUBELB_PKT_ARP_REQUEST,		/* who-has from an address */
	KUBELB_PKT_ARP_PROBE,		/* who-has from 0.0.0.0 (RFC 5227) */
	KUBELB_PKT_ARP_GRATUITOUS,	/* sender == target: someone's claim */
	KUBELB_PKT_NS,			/* Neighbor Solicitation from an address */
	KUBELB_PKT_NS_DAD,		/* from ::, duplicate address detection */
	KUBELB_PKT_ARP_OUT,		/* a request this node sends, from the address */

	KUBELB_PKT_NUM
};

enum kubelb_holder {
	KUBELB_HOLDER_NONE,	/* not ours: leave it to the kernel */
	KUBELB_HOLDER_VIP,	/* a VIP in the table */
	KUBELB_HOLDER_FOREIGN,	/* an address on a kubelb device */
};

enum kubelb_verdict {
	KUBELB_PASS,
	KUBELB_ANSWER,
	KUBELB_SUPPRESS,
	KUBELB_REWRITE,
};

/* Selects VIPs for flush and dump; zero fields match everything. */
struct kubelb_filter {
	int	ifindex;
	u16	family;
	bool	has_owner;
	u32	owner;
};

/* Outcome of kubelb_vip_add(), everything a reply needs. */
struct kubelb_result {
	struct kubelb_vip	*vip;
	unsigned int		aggr_refs;
	bool			replaced;
	struct kubelb_vip_cfg	prev;
	unsigned int		prev_aggr_refs;
};

typedef void (*kubelb_del_cb_t)(struct kubelb_net *kn, struct kubelb_vip *vip,
				unsigned int aggr_refs, void *arg);
typedef int (*kubelb_walk_fn_t)(struct kubelb_vip *vip, void *arg);

/* main.c */
extern unsigned int kubelb_net_id;
unsigned int kubelb_max_vips(void);
unsigned int kubelb_garp_count(void);
unsigned long kubelb_garp_interval(void);
unsigned long kubelb_garp_refresh(void);
struct kubelb_net *kubelb_pernet(const struct net *net);

/* vip.c */
int kubelb_addr_len(u16 family);
unsigned int kubelb_max_prefixlen(u16 family);
void kubelb_key_init(struct kubelb_key *key, u16 family, const void *addr);
int kubelb_table_init(struct kubelb_net *kn);
void kubelb_table_destroy(struct kubelb_net *kn);
struct kubelb_vip *kubelb_vip_find(struct kubelb_net *kn,
				   const struct kubelb_key *key);
struct kubelb_vip *__kubelb_vip_lookup_rcu(struct kubelb_net *kn,
					   const struct kubelb_key *key);
struct kubelb_vip *kubelb_vip_lookup_rcu(const struct net *net, u16 family,
					 const void *addr);
int kubelb_vip_add(struct kubelb_net *kn, const struct kubelb_vip_cfg *cfg,
		   bool replace, unsigned int max, struct kubelb_result *res,
		   struct netlink_ext_ack *extack);
unsigned int kubelb_vip_unlink(struct kubelb_net *kn, struct kubelb_vip *vip);
void kubelb_vip_make_virtual(struct kubelb_net *kn, struct kubelb_vip *vip);
void kubelb_vip_free(struct kubelb_vip *vip);
bool kubelb_filter_match(const struct kubelb_filter *f,
			 const struct kubelb_vip *vip);
unsigned int kubelb_vip_flush(struct kubelb_net *kn,
			      const struct kubelb_filter *f,
			      kubelb_del_cb_t cb, void *arg);
int kubelb_vip_walk(struct kubelb_net *kn, const struct kubelb_filter *f,
		    unsigned long *pos, kubelb_walk_fn_t fn, void *arg);
struct kubelb_counters __percpu *kubelb_counters_alloc(unsigned int n, gfp_t gfp);
void kubelb_counter_inc(struct kubelb_counters __percpu *c, unsigned int i);
void kubelb_counters_read(struct kubelb_counters __percpu *c, unsigned int n,
			  u64 *out);
void kubelb_vip_stat_inc(struct kubelb_vip *vip, enum kubelb_stat stat);
void kubelb_vip_stats_read(const struct kubelb_vip *vip,
			   u64 out[KUBELB_STAT_NUM]);

/* neigh.c */
enum kubelb_verdict kubelb_decide(enum kubelb_pkt pkt,
				  enum kubelb_holder holder, int link,
				  int ifindex);
#if IS_ENABLED(CONFIG_IPV6)
bool kubelb_send_na(struct net_device *dev, const struct in6_addr *daddr,
		    const struct in6_addr *target, bool solicited);
#else
static inline bool kubelb_send_na(struct net_device *dev,
				  const struct in6_addr *daddr,
				  const struct in6_addr *target, bool solicited)
{
	return false;
}
#endif
int kubelb_foreign_init(struct kubelb_net *kn);
void kubelb_foreign_destroy(struct kubelb_net *kn);
int kubelb_hooks_register(struct net *net);
void kubelb_hooks_unregister(struct net *net);
int kubelb_neigh_init_module(void);
void kubelb_neigh_exit_module(void);

/* announce.c */
void kubelb_announce_init(struct kubelb_net *kn);
void kubelb_announce_exit(struct kubelb_net *kn);
int kubelb_announce_start(struct kubelb_net *kn, struct kubelb_vip *vip,
			  unsigned int count);
void kubelb_announce_stop(struct kubelb_net *kn, struct kubelb_vip *vip);
void kubelb_link_changed(struct kubelb_net *kn, struct net_device *link,
			 bool gone);
void kubelb_mc_set(struct kubelb_vip *vip, struct net *net, int link);

/* device.c */
void kubelb_dev_stat_inc(struct net_device *dev, enum kubelb_dev_stat stat);
int kubelb_dev_init_module(void);
void kubelb_dev_exit_module(void);
bool kubelb_dev_is_kubelb(const struct net_device *dev);
bool kubelb_dev_dead(const struct net_device *dev);
void kubelb_dev_set_dead(struct net_device *dev);
int kubelb_dev_create(const char *name);

/* netlink.c */
extern const struct nla_policy kubelb_new_policy[KUBELB_A_MAX + 1];
extern const struct nla_policy kubelb_del_policy[KUBELB_A_MAX + 1];
extern const struct nla_policy kubelb_get_policy[KUBELB_A_MAX + 1];
extern const struct nla_policy kubelb_flush_policy[KUBELB_A_MAX + 1];
extern const struct nla_policy kubelb_announce_policy[KUBELB_A_MAX + 1];
int kubelb_nl_parse_vip(struct nlattr *const *attrs, u8 cmd,
			struct kubelb_vip_cfg *cfg,
			struct netlink_ext_ack *extack);
int kubelb_nl_parse_filter(struct nlattr *const *attrs, u8 cmd,
			   struct kubelb_filter *f,
			   struct netlink_ext_ack *extack);
void kubelb_nl_dev_uninit(struct net_device *dev);
void kubelb_nl_notify_vip(struct net *net, u8 cmd, struct kubelb_vip *vip,
			  const struct kubelb_vip_cfg *prev);
int kubelb_nl_init(void);
void kubelb_nl_exit(void);

#endif /* _KUBELB_H */
