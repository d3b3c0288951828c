// SPDX-License-Identifier: GPL-2.0
/*
 * kubelb: the per-namespace VIP table.
 *
 * Writers hold kubelb_net.lock; the fast path (ARP/NDP hooks) looks VIPs
 * up under RCU only. Nothing here knows about net_devices or netlink so
 * that KUnit can exercise the table on its own.
 */

#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>

#include "kubelb.h"
#include "trace.h"

static const struct rhashtable_params kubelb_vip_params = {
	.key_len		= sizeof(struct kubelb_key),
	.key_offset		= offsetof(struct kubelb_vip, cfg.key),
	.head_offset		= offsetof(struct kubelb_vip, node),
	.automatic_shrinking	= true,
};

static const struct rhashtable_params kubelb_aggr_params = {
	.key_len		= sizeof(struct kubelb_aggr_key),
	.key_offset		= offsetof(struct kubelb_aggr, key),
	.head_offset		= offsetof(struct kubelb_aggr, node),
	.automatic_shrinking	= true,
};

int kubelb_addr_len(u16 family)
{
	switch (family) {
	case AF_INET:
		return sizeof(struct in_addr);
	case AF_INET6:
		return sizeof(struct in6_addr);
	}
	return -EAFNOSUPPORT;
}

unsigned int kubelb_max_prefixlen(u16 family)
{
	return family == AF_INET6 ? 128 : 32;
}

void kubelb_key_init(struct kubelb_key *key, u16 family, const void *addr)
{
	memset(key, 0, sizeof(*key));
	key->family = family;
	if (family == AF_INET)
		memcpy(&key->addr.ip4, addr, sizeof(key->addr.ip4));
	else
		memcpy(&key->addr.ip6, addr, sizeof(key->addr.ip6));
}

int kubelb_table_init(struct kubelb_net *kn)
{
	int err;

	mutex_init(&kn->lock);
	xa_init_flags(&kn->by_id, XA_FLAGS_ALLOC);
	kn->next_id = 0;
	kn->count = 0;
	kn->local_count = 0;

	err = rhashtable_init(&kn->vips, &kubelb_vip_params);
	if (err)
		return err;
	err = rhashtable_init(&kn->aggrs, &kubelb_aggr_params);
	if (err) {
		rhashtable_destroy(&kn->vips);
		return err;
	}
	return 0;
}

static void kubelb_vip_free_rcu(struct rcu_head *head)
{
	struct kubelb_vip *vip = container_of(head, struct kubelb_vip, rcu);

	free_percpu(vip->stats);
	kfree(vip);
}

/*
 * Fast-path readers may still hold @vip (and its counters), so it goes
 * away after a grace period. call_rcu() rather than synchronize_rcu()
 * keeps tearing down 100,000 VIPs a matter of milliseconds.
 */
void kubelb_vip_free(struct kubelb_vip *vip)
{
	call_rcu(&vip->rcu, kubelb_vip_free_rcu);
}

static void kubelb_aggr_free_fn(void *ptr, void *arg)
{
	kfree(ptr);
}

/*
 * Called once nothing can reach @kn any more: its namespace is going away
 * after all of its devices (which is after the pre_exit grace period), or
 * a KUnit test is done with it. VIPs normally went with their devices;
 * whatever is left is freed without unlinking one by one.
 */
void kubelb_table_destroy(struct kubelb_net *kn)
{
	struct kubelb_vip *vip;
	unsigned long id;

	xa_for_each(&kn->by_id, id, vip)
		kubelb_vip_free(vip);
	xa_destroy(&kn->by_id);
	rhashtable_destroy(&kn->vips);
	rhashtable_free_and_destroy(&kn->aggrs, kubelb_aggr_free_fn, NULL);
	kn->count = 0;
	mutex_destroy(&kn->lock);
}

struct kubelb_vip *kubelb_vip_find(struct kubelb_net *kn,
				   const struct kubelb_key *key)
{
	lockdep_assert_held(&kn->lock);
	return rhashtable_lookup_fast(&kn->vips, key, kubelb_vip_params);
}

struct kubelb_vip *__kubelb_vip_lookup_rcu(struct kubelb_net *kn,
					   const struct kubelb_key *key)
{
	return rhashtable_lookup(&kn->vips, key, kubelb_vip_params);
}

/**
 * kubelb_vip_lookup_rcu - find the VIP holding an address
 * @net: namespace of the packet
 * @family: AF_INET or AF_INET6
 * @addr: &struct in_addr or &struct in6_addr, network order
 *
 * Must be called under rcu_read_lock(); the VIP stays valid until then.
 * Its mode and link may change concurrently (replace): read the link
 * with READ_ONCE() once and decide on that value.
 */
struct kubelb_vip *kubelb_vip_lookup_rcu(const struct net *net, u16 family,
					 const void *addr)
{
	struct kubelb_key key;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "kubelb lookup outside RCU");
	kubelb_key_init(&key, family, addr);
	return __kubelb_vip_lookup_rcu(kubelb_pernet(net), &key);
}

static void kubelb_aggr_key_init(struct kubelb_aggr_key *akey,
				 const struct kubelb_vip_cfg *cfg)
{
	const struct kubelb_key *key = &cfg->key;

	memset(akey, 0, sizeof(*akey));
	akey->prefix.family = key->family;
	akey->prefixlen = cfg->prefixlen;
	if (key->family == AF_INET)
		akey->prefix.addr.ip4 = key->addr.ip4 &
					inet_make_mask(cfg->prefixlen);
	else
		ipv6_addr_prefix(&akey->prefix.addr.ip6, &key->addr.ip6,
				 cfg->prefixlen);
}

static struct kubelb_aggr *kubelb_aggr_get(struct kubelb_net *kn,
					   const struct kubelb_vip_cfg *cfg)
{
	struct kubelb_aggr_key akey;
	struct kubelb_aggr *aggr;
	int err;

	kubelb_aggr_key_init(&akey, cfg);
	aggr = rhashtable_lookup_fast(&kn->aggrs, &akey, kubelb_aggr_params);
	if (aggr) {
		aggr->refs++;
		return aggr;
	}

	aggr = kzalloc(sizeof(*aggr), GFP_KERNEL_ACCOUNT);
	if (!aggr)
		return ERR_PTR(-ENOMEM);
	aggr->key = akey;
	aggr->refs = 1;
	err = rhashtable_insert_fast(&kn->aggrs, &aggr->node,
				     kubelb_aggr_params);
	if (err) {
		kfree(aggr);
		return ERR_PTR(err);
	}
	return aggr;
}

/* Returns how many VIPs still share the aggregate. */
static unsigned int kubelb_aggr_put(struct kubelb_net *kn,
				    struct kubelb_aggr *aggr)
{
	if (--aggr->refs)
		return aggr->refs;
	rhashtable_remove_fast(&kn->aggrs, &aggr->node, kubelb_aggr_params);
	kfree_rcu(aggr, rcu);
	return 0;
}

static void kubelb_vip_set(struct kubelb_net *kn, struct kubelb_vip *vip,
			   const struct kubelb_vip_cfg *cfg)
{
	/* Lets link events skip the walk when no VIP is local. */
	WRITE_ONCE(kn->local_count,
		   kn->local_count + !!cfg->link - !!vip->cfg.link);
	/* The fast path reads these two without the lock. */
	WRITE_ONCE(vip->cfg.link, cfg->link);
	WRITE_ONCE(vip->cfg.mode, cfg->mode);
	vip->cfg.prefixlen = cfg->prefixlen;
	vip->cfg.flags = cfg->flags;
	vip->cfg.owner = cfg->owner;
	strscpy(vip->cfg.service, cfg->service, sizeof(vip->cfg.service));
}

static int kubelb_vip_replace(struct kubelb_net *kn, struct kubelb_vip *vip,
			      const struct kubelb_vip_cfg *cfg,
			      struct kubelb_result *res,
			      struct netlink_ext_ack *extack)
{
	struct kubelb_aggr *old = vip->aggr;

	if (vip->cfg.ifindex != cfg->ifindex) {
		NL_SET_ERR_MSG(extack, "VIP belongs to another device");
		return -EEXIST;
	}

	res->prev = vip->cfg;
	if (cfg->prefixlen != vip->cfg.prefixlen) {
		/* Take the new reference first: the only step that can fail. */
		struct kubelb_aggr *aggr = kubelb_aggr_get(kn, cfg);

		if (IS_ERR(aggr))
			return PTR_ERR(aggr);
		vip->aggr = aggr;
		res->prev_aggr_refs = kubelb_aggr_put(kn, old);
	} else {
		res->prev_aggr_refs = old->refs;
	}

	kubelb_vip_set(kn, vip, cfg);
	res->vip = vip;
	res->replaced = true;
	res->aggr_refs = vip->aggr->refs;
	trace_kubelb_vip_change(vip);
	return 0;
}

/**
 * kubelb_vip_add - create a VIP, or replace it in place
 * @kn: table, lock held
 * @cfg: validated configuration
 * @replace: replace an existing VIP of the same device instead of failing
 * @max: most VIPs the table may hold
 * @res: filled on success
 * @extack: why it failed
 *
 * Either fully applies or leaves the table untouched.
 */
int kubelb_vip_add(struct kubelb_net *kn, const struct kubelb_vip_cfg *cfg,
		   bool replace, unsigned int max, struct kubelb_result *res,
		   struct netlink_ext_ack *extack)
{
	struct kubelb_vip *vip;
	int err;

	lockdep_assert_held(&kn->lock);
	memset(res, 0, sizeof(*res));

	vip = kubelb_vip_find(kn, &cfg->key);
	if (vip) {
		if (!replace) {
			NL_SET_ERR_MSG(extack, "VIP already exists");
			return -EEXIST;
		}
		return kubelb_vip_replace(kn, vip, cfg, res, extack);
	}

	if (kn->count >= max) {
		NL_SET_ERR_MSG(extack,
			       "VIP limit reached (see module parameter max_vips)");
		return -ENOSPC;
	}

	vip = kzalloc(sizeof(*vip), GFP_KERNEL_ACCOUNT);
	if (!vip)
		return -ENOMEM;
	vip->stats = kubelb_counters_alloc(KUBELB_STAT_NUM, GFP_KERNEL_ACCOUNT);
	if (!vip->stats) {
		err = -ENOMEM;
		goto err_free;
	}
	INIT_LIST_HEAD(&vip->announce_node);
	vip->cfg.key = cfg->key;
	vip->cfg.dev = cfg->dev;
	vip->cfg.ifindex = cfg->ifindex;
	kubelb_vip_set(kn, vip, cfg);

	vip->aggr = kubelb_aggr_get(kn, cfg);
	if (IS_ERR(vip->aggr)) {
		err = PTR_ERR(vip->aggr);
		goto err_free;
	}

	err = xa_alloc_cyclic(&kn->by_id, &vip->id, vip, xa_limit_32b,
			      &kn->next_id, GFP_KERNEL_ACCOUNT);
	if (err < 0)
		goto err_aggr;

	err = rhashtable_lookup_insert_fast(&kn->vips, &vip->node,
					    kubelb_vip_params);
	if (err)
		goto err_id;

	kn->count++;
	vip->created_ns = ktime_get_real_ns();
	res->vip = vip;
	res->aggr_refs = vip->aggr->refs;
	trace_kubelb_vip_add(vip);
	return 0;

err_id:
	xa_erase(&kn->by_id, vip->id);
err_aggr:
	kubelb_aggr_put(kn, vip->aggr);
err_free:
	if (vip->cfg.link)
		kn->local_count--;
	free_percpu(vip->stats);
	kfree(vip);
	return err;
}

/**
 * kubelb_vip_unlink - take a VIP out of the table
 * @kn: table, lock held
 * @vip: VIP in @kn
 *
 * The caller may still read @vip (to report it) and must then release it
 * with kubelb_vip_free(). Returns how many VIPs still share its aggregate.
 */
unsigned int kubelb_vip_unlink(struct kubelb_net *kn, struct kubelb_vip *vip)
{
	unsigned int refs;

	lockdep_assert_held(&kn->lock);
	WARN_ON_ONCE(rhashtable_remove_fast(&kn->vips, &vip->node,
					    kubelb_vip_params));
	xa_erase(&kn->by_id, vip->id);
	kn->count--;
	if (vip->cfg.link)
		WRITE_ONCE(kn->local_count, kn->local_count - 1);
	/* Pending announcements just stop; the deletion is the news. */
	list_del_init(&vip->announce_node);
	vip->announce_state = KUBELB_ANNOUNCE_IDLE;
	vip->announce_left = 0;
	refs = kubelb_aggr_put(kn, vip->aggr);
	vip->aggr = NULL;
	trace_kubelb_vip_del(vip);
	return refs;
}

/* Its link went away: the VIP stays deliverable but is answered nowhere. */
void kubelb_vip_make_virtual(struct kubelb_net *kn, struct kubelb_vip *vip)
{
	struct kubelb_vip_cfg cfg = vip->cfg;

	lockdep_assert_held(&kn->lock);
	cfg.mode = KUBELB_MODE_VIRTUAL;
	cfg.link = 0;
	kubelb_vip_set(kn, vip, &cfg);
	trace_kubelb_vip_change(vip);
}

bool kubelb_filter_match(const struct kubelb_filter *f,
			 const struct kubelb_vip *vip)
{
	if (f->ifindex && f->ifindex != vip->cfg.ifindex)
		return false;
	if (f->family && f->family != vip->cfg.key.family)
		return false;
	if (f->has_owner && f->owner != vip->cfg.owner)
		return false;
	return true;
}

/**
 * kubelb_vip_flush - delete every VIP matching a filter
 * @kn: table, lock held
 * @f: which VIPs
 * @cb: optional, told about each VIP after unlinking and before freeing
 * @arg: passed to @cb
 *
 * Returns the number of VIPs deleted.
 */
unsigned int kubelb_vip_flush(struct kubelb_net *kn,
			      const struct kubelb_filter *f,
			      kubelb_del_cb_t cb, void *arg)
{
	struct kubelb_vip *vip;
	unsigned int n = 0, refs;
	unsigned long id;

	lockdep_assert_held(&kn->lock);
	xa_for_each(&kn->by_id, id, vip) {
		if (!kubelb_filter_match(f, vip))
			continue;
		refs = kubelb_vip_unlink(kn, vip);
		if (cb)
			cb(kn, vip, refs, arg);
		kubelb_vip_free(vip);
		n++;
		/* A device may hold 100,000 VIPs; we only hold a mutex. */
		cond_resched();
	}
	return n;
}

/**
 * kubelb_counters_alloc - a zeroed set of per-CPU counters
 * @n: how many, at most KUBELB_COUNTERS_MAX
 * @gfp: allocation flags
 */
struct kubelb_counters __percpu *kubelb_counters_alloc(unsigned int n, gfp_t gfp)
{
	struct kubelb_counters __percpu *c;
	int cpu;

	if (WARN_ON_ONCE(n > KUBELB_COUNTERS_MAX))
		return NULL;
	c = __alloc_percpu_gfp(sizeof(*c) + n * sizeof(u64_stats_t),
			       __alignof__(struct kubelb_counters), gfp);
	if (!c)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(c, cpu)->syncp);
	return c;
}

/*
 * Counters are bumped from softirq (packet hooks) as well as from process
 * context, hence the irqsave variant for 32-bit seqcount writers.
 */
void kubelb_counter_inc(struct kubelb_counters __percpu *c, unsigned int i)
{
	struct kubelb_counters *st;
	unsigned long flags;

	st = get_cpu_ptr(c);
	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_inc(&st->cnt[i]);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(c);
}

/* Sums the first @n counters of the set over all CPUs into @out. */
void kubelb_counters_read(struct kubelb_counters __percpu *c, unsigned int n,
			  u64 *out)
{
	u64 snap[KUBELB_COUNTERS_MAX];
	unsigned int start, i;
	int cpu;

	memset(out, 0, sizeof(u64) * n);
	for_each_possible_cpu(cpu) {
		const struct kubelb_counters *st = per_cpu_ptr(c, cpu);

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			for (i = 0; i < n; i++)
				snap[i] = u64_stats_read(&st->cnt[i]);
		} while (u64_stats_fetch_retry(&st->syncp, start));

		for (i = 0; i < n; i++)
			out[i] += snap[i];
	}
}

void kubelb_vip_stat_inc(struct kubelb_vip *vip, enum kubelb_stat stat)
{
	kubelb_counter_inc(vip->stats, stat);
}

void kubelb_vip_stats_read(const struct kubelb_vip *vip,
			   u64 out[KUBELB_STAT_NUM])
{
	kubelb_counters_read(vip->stats, KUBELB_STAT_NUM, out);
}

/**
 * kubelb_vip_walk - visit VIPs in creation order, resumably
 * @kn: table, lock held
 * @f: which VIPs
 * @pos: in: first id to visit; out: id to resume at when @fn failed
 * @fn: called for each VIP; a non-zero return stops the walk
 * @arg: passed to @fn
 *
 * Ids only grow (until they wrap after 2^32 creations) and a VIP keeps
 * its id when replaced, so resuming at the first VIP not yet reported
 * reports every VIP present for the whole walk exactly once, whatever
 * was added or deleted in between. Returns 0 when all were visited,
 * else what @fn returned.
 */
int kubelb_vip_walk(struct kubelb_net *kn, const struct kubelb_filter *f,
		    unsigned long *pos, kubelb_walk_fn_t fn, void *arg)
{
	struct kubelb_vip *vip;
	unsigned long id;
	int err;

	lockdep_assert_held(&kn->lock);
	xa_for_each_start(&kn->by_id, id, vip, *pos) {
		if (!kubelb_filter_match(f, vip))
			continue;
		err = fn(vip, arg);
		if (err) {
			*pos = id;
			return err;
		}
	}
	return 0;
}
