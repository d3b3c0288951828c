// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the kubelb VIP table and netlink attribute parsing.
 */

#include <kunit/test.h>
#include <linux/inet.h>
#include <linux/skbuff.h>
#include <net/netlink.h>

#include "kubelb.h"

/* ---- VIP table ---- */

static int kt_table_init(struct kunit *test)
{
	struct kubelb_net *kn;

	kn = kunit_kzalloc(test, sizeof(*kn), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kn);
	KUNIT_ASSERT_EQ(test, kubelb_table_init(kn), 0);
	test->priv = kn;
	return 0;
}

static void kt_table_exit(struct kunit *test)
{
	kubelb_table_destroy(test->priv);
}

static void kt_cfg(struct kunit *test, struct kubelb_vip_cfg *cfg,
		   const char *addr, u8 prefixlen, int ifindex)
{
	u8 buf[sizeof(struct in6_addr)];
	u16 family = AF_INET;

	memset(cfg, 0, sizeof(*cfg));
	if (strchr(addr, ':')) {
		family = AF_INET6;
		KUNIT_ASSERT_TRUE(test, in6_pton(addr, -1, buf, -1, NULL));
	} else {
		KUNIT_ASSERT_TRUE(test, in4_pton(addr, -1, buf, -1, NULL));
	}
	kubelb_key_init(&cfg->key, family, buf);
	cfg->prefixlen = prefixlen;
	cfg->ifindex = ifindex;
	cfg->mode = KUBELB_MODE_VIRTUAL;
}

static int kt_add(struct kunit *test, const char *addr, u8 prefixlen,
		  int ifindex, bool replace, unsigned int max,
		  struct kubelb_result *res, struct netlink_ext_ack *extack)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip_cfg cfg;
	int err;

	kt_cfg(test, &cfg, addr, prefixlen, ifindex);
	mutex_lock(&kn->lock);
	err = kubelb_vip_add(kn, &cfg, replace, max, res, extack);
	mutex_unlock(&kn->lock);
	return err;
}

/* Adds a VIP that must succeed; returns its aggregate's reference count. */
static unsigned int kt_add_ok(struct kunit *test, const char *addr,
			      u8 prefixlen, int ifindex)
{
	struct kubelb_result res;

	KUNIT_ASSERT_EQ(test, kt_add(test, addr, prefixlen, ifindex, false,
				     UINT_MAX, &res, NULL), 0);
	KUNIT_EXPECT_FALSE(test, res.replaced);
	return res.aggr_refs;
}

static struct kubelb_vip *kt_lookup(struct kunit *test, const char *addr)
{
	struct kubelb_vip_cfg cfg;
	struct kubelb_vip *vip;

	kt_cfg(test, &cfg, addr, 0, 0);
	rcu_read_lock();
	vip = __kubelb_vip_lookup_rcu(test->priv, &cfg.key);
	rcu_read_unlock();
	return vip;
}

/* Deletes a VIP that must exist; returns its aggregate's remaining count. */
static unsigned int kt_del(struct kunit *test, const char *addr)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip_cfg cfg;
	struct kubelb_vip *vip;
	unsigned int refs;

	kt_cfg(test, &cfg, addr, 0, 0);
	mutex_lock(&kn->lock);
	vip = kubelb_vip_find(kn, &cfg.key);
	KUNIT_ASSERT_NOT_NULL(test, vip);
	refs = kubelb_vip_unlink(kn, vip);
	kubelb_vip_free(vip);
	mutex_unlock(&kn->lock);
	return refs;
}

static void kubelb_test_insert_lookup(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip *vip;

	kt_add_ok(test, "10.0.0.1", 32, 2);
	kt_add_ok(test, "2001:db8::1", 128, 2);
	KUNIT_EXPECT_EQ(test, kn->count, 2U);

	vip = kt_lookup(test, "10.0.0.1");
	KUNIT_ASSERT_NOT_NULL(test, vip);
	KUNIT_EXPECT_EQ(test, vip->cfg.key.family, AF_INET);
	KUNIT_EXPECT_EQ(test, vip->cfg.ifindex, 2);
	KUNIT_EXPECT_NE(test, vip->created_ns, 0ULL);

	vip = kt_lookup(test, "2001:db8::1");
	KUNIT_ASSERT_NOT_NULL(test, vip);
	KUNIT_EXPECT_EQ(test, vip->cfg.key.family, AF_INET6);

	KUNIT_EXPECT_NULL(test, kt_lookup(test, "10.0.0.2"));
	KUNIT_EXPECT_NULL(test, kt_lookup(test, "2001:db8::2"));
	/* Same leading bytes, other family: a different key. */
	KUNIT_EXPECT_NULL(test, kt_lookup(test, "a00:1::"));
}

static void kubelb_test_lookup_by_net_key(struct kunit *test)
{
	struct kubelb_vip_cfg a, b;

	/* Keys built from the same address must be byte-identical. */
	kt_cfg(test, &a, "192.0.2.7", 32, 1);
	memset(&b, 0xa5, sizeof(b));
	kubelb_key_init(&b.key, AF_INET, &a.key.addr.ip4);
	KUNIT_EXPECT_EQ(test, memcmp(&a.key, &b.key, sizeof(a.key)), 0);
}

static void kubelb_test_duplicate(struct kunit *test)
{
	struct netlink_ext_ack extack = {};
	struct kubelb_net *kn = test->priv;
	struct kubelb_result res;

	kt_add_ok(test, "10.0.0.1", 32, 2);
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.1", 24, 2, false, UINT_MAX,
				     &res, &extack), -EEXIST);
	KUNIT_EXPECT_STREQ(test, extack._msg, "VIP already exists");
	KUNIT_EXPECT_EQ(test, kn->count, 1U);
	/* The failed add must not have touched the VIP. */
	KUNIT_EXPECT_EQ(test, kt_lookup(test, "10.0.0.1")->cfg.prefixlen, 32);
}

static void kubelb_test_replace(struct kunit *test)
{
	struct netlink_ext_ack extack = {};
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip_cfg cfg;
	struct kubelb_result res;
	struct kubelb_vip *vip;
	u64 created;
	u32 id;

	kt_add_ok(test, "10.0.0.1", 24, 2);
	vip = kt_lookup(test, "10.0.0.1");
	created = vip->created_ns;
	id = vip->id;
	kubelb_vip_stat_inc(vip, KUBELB_STAT_ANSWERED);

	kt_cfg(test, &cfg, "10.0.0.1", 24, 2);
	cfg.mode = KUBELB_MODE_LOCAL;
	cfg.link = 7;
	cfg.owner = 42;
	strscpy(cfg.service, "default/web", sizeof(cfg.service));
	mutex_lock(&kn->lock);
	KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, true, 1, &res, NULL), 0);
	mutex_unlock(&kn->lock);

	KUNIT_EXPECT_TRUE(test, res.replaced);
	KUNIT_EXPECT_PTR_EQ(test, res.vip, vip);
	KUNIT_EXPECT_EQ(test, res.prev.mode, KUBELB_MODE_VIRTUAL);
	KUNIT_EXPECT_EQ(test, res.prev.link, 0);
	KUNIT_EXPECT_STREQ(test, res.prev.service, "");
	KUNIT_EXPECT_EQ(test, vip->cfg.mode, KUBELB_MODE_LOCAL);
	KUNIT_EXPECT_EQ(test, vip->cfg.link, 7);
	KUNIT_EXPECT_EQ(test, vip->cfg.owner, 42U);
	KUNIT_EXPECT_STREQ(test, vip->cfg.service, "default/web");
	/* Replaced in place: identity, age and counters survive. */
	KUNIT_EXPECT_EQ(test, vip->created_ns, created);
	KUNIT_EXPECT_EQ(test, vip->id, id);
	KUNIT_EXPECT_EQ(test, kn->count, 1U);
	KUNIT_EXPECT_EQ(test, res.aggr_refs, 1U);
	KUNIT_EXPECT_EQ(test, res.prev_aggr_refs, 1U);

	/* Replace may not move a VIP to another device. */
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.1", 24, 3, true, UINT_MAX,
				     &res, &extack), -EEXIST);
	KUNIT_EXPECT_STREQ(test, extack._msg, "VIP belongs to another device");
	KUNIT_EXPECT_EQ(test, vip->cfg.ifindex, 2);
	KUNIT_EXPECT_EQ(test, vip->cfg.link, 7);

	/* Replace of an absent VIP creates it. */
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.2", 24, 2, true, UINT_MAX,
				     &res, NULL), 0);
	KUNIT_EXPECT_FALSE(test, res.replaced);
	KUNIT_EXPECT_EQ(test, res.aggr_refs, 2U);
}

static void kubelb_test_delete(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;

	kt_add_ok(test, "10.0.0.1", 32, 2);
	kt_add_ok(test, "2001:db8::1", 64, 2);
	KUNIT_EXPECT_EQ(test, kt_del(test, "10.0.0.1"), 0U);
	KUNIT_EXPECT_NULL(test, kt_lookup(test, "10.0.0.1"));
	KUNIT_EXPECT_NOT_NULL(test, kt_lookup(test, "2001:db8::1"));
	KUNIT_EXPECT_EQ(test, kn->count, 1U);
	KUNIT_EXPECT_EQ(test, kt_del(test, "2001:db8::1"), 0U);
	KUNIT_EXPECT_EQ(test, kn->count, 0U);
	KUNIT_EXPECT_TRUE(test, xa_empty(&kn->by_id));
	KUNIT_EXPECT_EQ(test, atomic_read(&kn->aggrs.nelems), 0);
	/* The address can be used again. */
	kt_add_ok(test, "10.0.0.1", 32, 3);
}

static void kubelb_test_limit(struct kunit *test)
{
	struct netlink_ext_ack extack = {};
	struct kubelb_net *kn = test->priv;
	struct kubelb_result res;

	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.1", 32, 2, false, 2, &res,
				     NULL), 0);
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.2", 32, 2, false, 2, &res,
				     NULL), 0);
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.3", 32, 2, false, 2, &res,
				     &extack), -ENOSPC);
	KUNIT_EXPECT_STREQ(test, extack._msg,
			   "VIP limit reached (see module parameter max_vips)");
	KUNIT_EXPECT_EQ(test, kn->count, 2U);
	KUNIT_EXPECT_NULL(test, kt_lookup(test, "10.0.0.3"));
	/* A replace creates nothing, so it still works at the limit. */
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.2", 24, 2, true, 2, &res,
				     NULL), 0);
	KUNIT_EXPECT_TRUE(test, res.replaced);
	/* Room again after a delete. */
	kt_del(test, "10.0.0.1");
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.3", 32, 2, false, 2, &res,
				     NULL), 0);
	/* Limit 0: nothing at all. */
	KUNIT_EXPECT_EQ(test, kt_add(test, "10.0.0.9", 32, 2, false, 0, &res,
				     NULL), -ENOSPC);
}

static void kubelb_test_aggr_refs(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_result res;

	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "10.0.0.1", 24, 2), 1U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "10.0.0.200", 24, 2), 2U);
	/* Same network, other length: another aggregate. */
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "10.0.0.2", 25, 2), 1U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "10.0.1.1", 24, 2), 1U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "2001:db8::1", 64, 2), 1U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "2001:db8::ffff:1", 64, 2), 2U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "2001:db8:0:1::1", 64, 2), 1U);
	/* /0 and full-length prefixes are aggregates like any other. */
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "192.0.2.1", 0, 2), 1U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "198.51.100.1", 0, 2), 2U);
	KUNIT_EXPECT_EQ(test, kt_add_ok(test, "203.0.113.1", 32, 2), 1U);
	KUNIT_EXPECT_EQ(test, atomic_read(&kn->aggrs.nelems), 7);

	KUNIT_EXPECT_EQ(test, kt_del(test, "10.0.0.1"), 1U);
	KUNIT_EXPECT_EQ(test, kt_del(test, "2001:db8::1"), 1U);

	/* Moving to another prefix: new aggregate 1, old one now 0. */
	KUNIT_ASSERT_EQ(test, kt_add(test, "10.0.0.200", 16, 2, true, UINT_MAX,
				     &res, NULL), 0);
	KUNIT_EXPECT_EQ(test, res.aggr_refs, 1U);
	KUNIT_EXPECT_EQ(test, res.prev.prefixlen, 24);
	KUNIT_EXPECT_EQ(test, res.prev_aggr_refs, 0U);
	/* Moving onto a shared one. */
	KUNIT_ASSERT_EQ(test, kt_add(test, "10.0.1.1", 16, 2, true, UINT_MAX,
				     &res, NULL), 0);
	KUNIT_EXPECT_EQ(test, res.aggr_refs, 2U);
	KUNIT_EXPECT_EQ(test, res.prev_aggr_refs, 0U);

	KUNIT_EXPECT_EQ(test, kt_del(test, "10.0.0.200"), 1U);
	KUNIT_EXPECT_EQ(test, kt_del(test, "10.0.1.1"), 0U);
}

static int kt_collect(struct kubelb_vip *vip, void *arg)
{
	u32 *ids = arg;

	/* ids[0] is the budget of one "recvmsg", the rest the ids seen. */
	if (!ids[0])
		return -EMSGSIZE;
	ids[0]--;
	ids[++ids[1] + 1] = vip->id;
	return 0;
}

static void kubelb_test_id_order(struct kunit *test)
{
	static const char * const addrs[] = {
		"10.0.0.5", "10.0.0.1", "2001:db8::9", "10.0.0.3", "10.0.0.4",
	};
	struct kubelb_net *kn = test->priv;
	struct kubelb_filter f = {};
	unsigned long pos = 0;
	u32 ids[2 + 16] = { 100 };
	int i;

	for (i = 0; i < ARRAY_SIZE(addrs); i++)
		kt_add_ok(test, addrs[i], 32, 2);
	kt_del(test, "10.0.0.1");

	mutex_lock(&kn->lock);
	KUNIT_EXPECT_EQ(test, kubelb_vip_walk(kn, &f, &pos, kt_collect, ids),
			0);
	mutex_unlock(&kn->lock);
	KUNIT_ASSERT_EQ(test, ids[1], 4U);
	/* Creation order, whatever the hash order. */
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&kn->by_id, ids[2]),
			    (void *)kt_lookup(test, "10.0.0.5"));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&kn->by_id, ids[3]),
			    (void *)kt_lookup(test, "2001:db8::9"));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&kn->by_id, ids[4]),
			    (void *)kt_lookup(test, "10.0.0.3"));
	KUNIT_EXPECT_PTR_EQ(test, xa_load(&kn->by_id, ids[5]),
			    (void *)kt_lookup(test, "10.0.0.4"));
	/* A deleted id is not reused by the next VIP. */
	kt_add_ok(test, "10.0.0.1", 32, 2);
	KUNIT_EXPECT_GT(test, kt_lookup(test, "10.0.0.1")->id, ids[5]);
}

/*
 * Simulates a dump read two VIPs per recvmsg() while VIPs come and go
 * between reads: the ones present throughout are reported exactly once.
 */
static void kubelb_test_dump_resume(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_filter f = { .family = AF_INET };
	unsigned long pos = 0;
	u32 ids[2 + 64] = {};
	char addr[16];
	int i, err, rounds = 0;
	u32 seen[10] = {};

	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%d", i + 1);
		kt_add_ok(test, addr, 32, 2);
	}
	kt_add_ok(test, "2001:db8::1", 128, 2);	/* filtered out */

	do {
		ids[0] = 2;
		mutex_lock(&kn->lock);
		err = kubelb_vip_walk(kn, &f, &pos, kt_collect, ids);
		mutex_unlock(&kn->lock);
		KUNIT_ASSERT_TRUE(test, !err || err == -EMSGSIZE);
		/* Between two reads: churn behind and ahead of the cursor. */
		if (rounds == 1) {
			kt_del(test, "10.0.0.2");	/* already reported */
			kt_del(test, "10.0.0.8");	/* not yet reported */
			kt_add_ok(test, "10.0.1.1", 32, 2);
			kt_add_ok(test, "10.0.0.2", 32, 2);
		}
		rounds++;
	} while (err && rounds < 50);
	KUNIT_EXPECT_EQ(test, err, 0);

	/* Map reported ids back to the original ten addresses. */
	for (i = 0; i < ids[1]; i++) {
		struct kubelb_vip *vip = xa_load(&kn->by_id, ids[2 + i]);
		u32 host;

		if (!vip)	/* deleted after being reported */
			continue;
		host = ntohl(vip->cfg.key.addr.ip4);
		KUNIT_EXPECT_EQ(test, vip->cfg.key.family, AF_INET);
		if ((host >> 8) == 0x0a0000 && (host & 0xff) <= 10)
			seen[(host & 0xff) - 1]++;
	}
	for (i = 0; i < 10; i++) {
		/* 10.0.0.2 was deleted and re-added, 10.0.0.8 deleted. */
		if (i == 1 || i == 7)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, seen[i], 1U, "10.0.0.%d", i + 1);
	}
	/* Ids of the dump strictly increase: nothing seen twice. */
	for (i = 1; i < ids[1]; i++)
		KUNIT_EXPECT_GT(test, ids[2 + i], ids[1 + i]);
}

static int kt_count_dels;

static void kt_count_del(struct kubelb_net *kn, struct kubelb_vip *vip,
			 unsigned int aggr_refs, void *arg)
{
	kt_count_dels++;
	KUNIT_EXPECT_NULL((struct kunit *)arg, vip->aggr);
}

static void kubelb_test_flush(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_filter f = { .ifindex = 2 };
	struct kubelb_result res;
	struct kubelb_vip_cfg cfg;
	unsigned int n;

	kt_add_ok(test, "10.0.0.1", 24, 2);
	kt_add_ok(test, "10.0.0.2", 24, 3);
	kt_add_ok(test, "2001:db8::1", 64, 2);
	kt_cfg(test, &cfg, "10.0.0.3", 24, 2);
	cfg.owner = 7;
	mutex_lock(&kn->lock);
	KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, false, UINT_MAX, &res,
					     NULL), 0);

	/* Owner filter. */
	f.has_owner = true;
	f.owner = 7;
	kt_count_dels = 0;
	n = kubelb_vip_flush(kn, &f, kt_count_del, test);
	KUNIT_EXPECT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, kt_count_dels, 1);

	/* Family filter. */
	f.has_owner = false;
	f.family = AF_INET6;
	KUNIT_EXPECT_EQ(test, kubelb_vip_flush(kn, &f, NULL, NULL), 1U);

	/* Device: the other device's VIP stays. */
	f.family = 0;
	KUNIT_EXPECT_EQ(test, kubelb_vip_flush(kn, &f, NULL, NULL), 1U);
	KUNIT_EXPECT_EQ(test, kubelb_vip_flush(kn, &f, NULL, NULL), 0U);
	mutex_unlock(&kn->lock);
	KUNIT_EXPECT_EQ(test, kn->count, 1U);
	KUNIT_EXPECT_NOT_NULL(test, kt_lookup(test, "10.0.0.2"));
	KUNIT_EXPECT_EQ(test, atomic_read(&kn->aggrs.nelems), 1);
}

static void kubelb_test_stats(struct kunit *test)
{
	u64 cnt[KUBELB_STAT_NUM];
	struct kubelb_vip *vip;
	int i;

	kt_add_ok(test, "10.0.0.1", 32, 2);
	vip = kt_lookup(test, "10.0.0.1");
	for (i = 0; i < 3; i++)
		kubelb_vip_stat_inc(vip, KUBELB_STAT_SUPPRESSED);
	kubelb_vip_stat_inc(vip, KUBELB_STAT_REWRITTEN);
	kubelb_vip_stats_read(vip, cnt);
	KUNIT_EXPECT_EQ(test, cnt[KUBELB_STAT_ANSWERED], 0ULL);
	KUNIT_EXPECT_EQ(test, cnt[KUBELB_STAT_SUPPRESSED], 3ULL);
	KUNIT_EXPECT_EQ(test, cnt[KUBELB_STAT_ANNOUNCED], 0ULL);
	KUNIT_EXPECT_EQ(test, cnt[KUBELB_STAT_REWRITTEN], 1ULL);
}

/*
 * local_count lets link events skip the table walk; it must follow every
 * way a VIP becomes or stops being local.
 */
static void kubelb_test_local_count(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip_cfg cfg;
	struct kubelb_result res;

	kt_cfg(test, &cfg, "10.0.0.1", 32, 2);
	cfg.mode = KUBELB_MODE_LOCAL;
	cfg.link = 7;
	mutex_lock(&kn->lock);
	KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, false, UINT_MAX, &res,
					     NULL), 0);
	KUNIT_EXPECT_EQ(test, kn->local_count, 1U);
	/* local on another link: still one */
	cfg.link = 8;
	KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, true, UINT_MAX, &res,
					     NULL), 0);
	KUNIT_EXPECT_EQ(test, kn->local_count, 1U);
	KUNIT_EXPECT_EQ(test, res.prev.link, 7);
	/* the link went away */
	kubelb_vip_make_virtual(kn, res.vip);
	KUNIT_EXPECT_EQ(test, kn->local_count, 0U);
	KUNIT_EXPECT_EQ(test, res.vip->cfg.link, 0);
	KUNIT_EXPECT_EQ(test, res.vip->cfg.mode, KUBELB_MODE_VIRTUAL);
	/* local again, then deleted */
	KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, true, UINT_MAX, &res,
					     NULL), 0);
	KUNIT_EXPECT_EQ(test, kn->local_count, 1U);
	mutex_unlock(&kn->lock);
	kt_del(test, "10.0.0.1");
	KUNIT_EXPECT_EQ(test, kn->local_count, 0U);
}

/* Many VIPs, then the table is destroyed with them still in it. */
static void kubelb_test_many(struct kunit *test)
{
	struct kubelb_net *kn = test->priv;
	struct kubelb_vip_cfg cfg;
	struct kubelb_result res;
	__be32 a;
	int i;

	mutex_lock(&kn->lock);
	for (i = 0; i < 20000; i++) {
		a = htonl(0x0a000000 + i + 1);
		kt_cfg(test, &cfg, "10.0.0.1", 16, 2);
		kubelb_key_init(&cfg.key, AF_INET, &a);
		KUNIT_ASSERT_EQ(test, kubelb_vip_add(kn, &cfg, false, UINT_MAX,
						     &res, NULL), 0);
	}
	mutex_unlock(&kn->lock);
	KUNIT_EXPECT_EQ(test, kn->count, 20000U);
	KUNIT_EXPECT_EQ(test, atomic_read(&kn->aggrs.nelems), 1);
	KUNIT_EXPECT_NOT_NULL(test, kt_lookup(test, "10.0.78.32"));
}

static struct kunit_case kubelb_table_cases[] = {
	KUNIT_CASE(kubelb_test_insert_lookup),
	KUNIT_CASE(kubelb_test_lookup_by_net_key),
	KUNIT_CASE(kubelb_test_duplicate),
	KUNIT_CASE(kubelb_test_replace),
	KUNIT_CASE(kubelb_test_delete),
	KUNIT_CASE(kubelb_test_limit),
	KUNIT_CASE(kubelb_test_local_count),
	KUNIT_CASE(kubelb_test_aggr_refs),
	KUNIT_CASE(kubelb_test_id_order),
	KUNIT_CASE(kubelb_test_dump_resume),
	KUNIT_CASE(kubelb_test_flush),
	KUNIT_CASE(kubelb_test_stats),
	KUNIT_CASE(kubelb_test_many),
	{}
};

static struct kunit_suite kubelb_table_suite = {
	.name		= "kubelb_vip_table",
	.init		= kt_table_init,
	.exit		= kt_table_exit,
	.test_cases	= kubelb_table_cases,
};

/* ---- netlink attribute parsing ---- */

struct kt_attr {
	u16		type;
	u16		len;
	const void	*data;
};

struct kt_parse_case {
	const char	*name;
	u8		cmd;
	struct kt_attr	attrs[12];
	int		err;
	const char	*msg;
	/* attribute the error points at, or that is reported missing */
	int		bad_attr;
	int		miss_attr;
};

#define A_U32(t, v)	{ .type = (t), .len = 4, .data = &(u32){ v } }
#define A_U16(t, v)	{ .type = (t), .len = 2, .data = &(u16){ v } }
#define A_U8(t, v)	{ .type = (t), .len = 1, .data = &(u8){ v } }
#define A_RAW(t, ...)	{ .type = (t), .len = sizeof((u8[]){ __VA_ARGS__ }), \
			  .data = (u8[]){ __VA_ARGS__ } }
#define A_STR(t, s)	{ .type = (t), .len = sizeof(s), .data = (s) }
#define A_V4(a, b, c, d)	A_RAW(KUBELB_A_ADDR, a, b, c, d)
#define A_V6(...)	A_RAW(KUBELB_A_ADDR, __VA_ARGS__)
#define A_DEV		A_U32(KUBELB_A_IFINDEX, 2)
#define A_INET		A_U16(KUBELB_A_FAMILY, AF_INET)
#define A_INET6		A_U16(KUBELB_A_FAMILY, AF_INET6)
#define A_ADDR4		A_V4(192, 0, 2, 1)
#define A_ADDR6		A_V6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, \
			     0, 0, 0, 0, 0, 0, 0, 1)
#define A_LOCAL		A_U8(KUBELB_A_MODE, KUBELB_MODE_LOCAL)

#define KT_OK(n, c, ...)						\
	{ .name = n, .cmd = c, .attrs = { __VA_ARGS__ } }
#define KT_BAD(n, c, e, m, bad, ...)					\
	{ .name = n, .cmd = c, .err = e, .msg = m, .bad_attr = bad,	\
	  .attrs = { __VA_ARGS__ } }
#define KT_MISS(n, c, m, miss, ...)					\
	{ .name = n, .cmd = c, .err = -EINVAL, .msg = m,		\
	  .miss_attr = miss, .attrs = { __VA_ARGS__ } }

/* A namespace/name whose name is one character over 63. */
#define KT_LONG_SERVICE							\
	"default/a123456789b123456789c123456789d123456789e123456789f1234567890123"

/* A dump request is a GET with NLM_F_DUMP, parsed as a filter. */
#define KT_DUMP	0xff

static const struct kt_parse_case kt_parse_cases[] = {
	KT_OK("new v4 minimal", KUBELB_CMD_VIP_NEW, A_DEV, A_INET, A_ADDR4),
	KT_OK("new v6 everything", KUBELB_CMD_VIP_NEW, A_DEV, A_INET6, A_ADDR6,
	      A_U8(KUBELB_A_PREFIXLEN, 0), A_LOCAL, A_U32(KUBELB_A_LINK, 3),
	      A_STR(KUBELB_A_SERVICE, "kube-system/dns-1"),
	      A_U32(KUBELB_A_FLAGS, 0), A_U32(KUBELB_A_OWNER, 9)),
	KT_OK("new v4 quiet", KUBELB_CMD_VIP_NEW, A_DEV, A_INET, A_ADDR4,
	      { .type = KUBELB_A_QUIET }),
	KT_OK("del v4", KUBELB_CMD_VIP_DEL, A_INET, A_ADDR4),
	KT_OK("get v6 with device", KUBELB_CMD_VIP_GET, A_DEV, A_INET6,
	      A_ADDR6),
	KT_OK("flush all filters", KUBELB_CMD_VIP_FLUSH, A_DEV, A_INET6,
	      A_U32(KUBELB_A_OWNER, 1)),
	KT_OK("dump no filter", KT_DUMP),

	/* missing attributes */
	KT_MISS("new without device", KUBELB_CMD_VIP_NEW,
		"missing attribute: device (KUBELB_A_IFINDEX)",
		KUBELB_A_IFINDEX, A_INET, A_ADDR4),
	KT_MISS("new without family", KUBELB_CMD_VIP_NEW,
		"missing attribute: address family (KUBELB_A_FAMILY)",
		KUBELB_A_FAMILY, A_DEV, A_ADDR4),
	KT_MISS("new without address", KUBELB_CMD_VIP_NEW,
		"missing attribute: address (KUBELB_A_ADDR)",
		KUBELB_A_ADDR, A_DEV, A_INET),
	KT_MISS("del without family", KUBELB_CMD_VIP_DEL,
		"missing attribute: address family (KUBELB_A_FAMILY)",
		KUBELB_A_FAMILY, A_ADDR4),
	KT_MISS("get without address", KUBELB_CMD_VIP_GET,
		"missing attribute: address (KUBELB_A_ADDR)",
		KUBELB_A_ADDR, A_INET),
	KT_MISS("flush without device", KUBELB_CMD_VIP_FLUSH,
		"missing attribute: device (KUBELB_A_IFINDEX)",
		KUBELB_A_IFINDEX, A_INET),
	KT_MISS("local without link", KUBELB_CMD_VIP_NEW,
		"mode local requires a link", KUBELB_A_LINK, A_DEV, A_INET, A_ADDR4, A_LOCAL),

	/* device and link indexes */
	KT_BAD("device 0", KUBELB_CMD_VIP_NEW, -ENODEV, "no such device",
	       KUBELB_A_IFINDEX, A_U32(KUBELB_A_IFINDEX, 0), A_INET, A_ADDR4),
	KT_BAD("device > INT_MAX", KUBELB_CMD_VIP_DEL, -ENODEV,
	       "no such device", KUBELB_A_IFINDEX,
	       A_U32(KUBELB_A_IFINDEX, 0x80000000), A_INET, A_ADDR4),
	KT_BAD("flush device 0", KUBELB_CMD_VIP_FLUSH, -ENODEV,
	       "no such device", KUBELB_A_IFINDEX, A_U32(KUBELB_A_IFINDEX, 0)),
	KT_BAD("dump device 0", KT_DUMP, -ENODEV, "no such device",
	       KUBELB_A_IFINDEX, A_U32(KUBELB_A_IFINDEX, 0)),
	KT_BAD("link 0", KUBELB_CMD_VIP_NEW, -ENODEV, "no such link",
	       KUBELB_A_LINK, A_DEV, A_INET, A_ADDR4, A_LOCAL, A_U32(KUBELB_A_LINK, 0)),

	/* family and address */
	KT_BAD("family unknown", KUBELB_CMD_VIP_NEW, -EAFNOSUPPORT,
	       "unsupported address family", KUBELB_A_FAMILY, A_DEV,
	       A_U16(KUBELB_A_FAMILY, 99), A_ADDR4),
	KT_BAD("flush family unknown", KUBELB_CMD_VIP_FLUSH, -EAFNOSUPPORT,
	       "unsupported address family", KUBELB_A_FAMILY, A_DEV,
	       A_U16(KUBELB_A_FAMILY, AF_UNSPEC)),
	KT_BAD("dump family unknown", KT_DUMP, -EAFNOSUPPORT,
	       "unsupported address family", KUBELB_A_FAMILY,
	       A_U16(KUBELB_A_FAMILY, AF_PACKET)),
	KT_BAD("v4 family, v6 address", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address length does not match family", KUBELB_A_ADDR,
	       A_DEV, A_INET, A_ADDR6),
	KT_BAD("v6 family, v4 address", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "address length does not match family", KUBELB_A_ADDR,
	       A_INET6, A_ADDR4),
	KT_BAD("empty address", KUBELB_CMD_VIP_GET, -EINVAL,
	       "address length does not match family", KUBELB_A_ADDR,
	       A_INET, { .type = KUBELB_A_ADDR }),
	KT_BAD("0.0.0.0", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR,
	       A_DEV, A_INET, A_V4(0, 0, 0, 0)),
	KT_BAD("127.0.0.1", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR,
	       A_DEV, A_INET, A_V4(127, 0, 0, 1)),
	KT_BAD("224.0.0.1", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR,
	       A_DEV, A_INET, A_V4(224, 0, 0, 1)),
	KT_BAD("255.255.255.255", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR,
	       A_DEV, A_INET, A_V4(255, 255, 255, 255)),
	KT_BAD("::", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR, A_DEV,
	       A_INET6, A_V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
	KT_BAD("::1", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR, A_DEV,
	       A_INET6, A_V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
	KT_BAD("ff02::1", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "address is not a unicast address", KUBELB_A_ADDR, A_DEV,
	       A_INET6,
	       A_V6(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),

	/* prefix length, mode, link, service, flags */
	KT_BAD("v4 prefix 33", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "prefix length out of range for IPv4 (0-32)", KUBELB_A_PREFIXLEN,
	       A_DEV, A_INET, A_ADDR4, A_U8(KUBELB_A_PREFIXLEN, 33)),
	KT_BAD("v6 prefix 129", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "prefix length out of range for IPv6 (0-128)",
	       KUBELB_A_PREFIXLEN, A_DEV, A_INET6, A_ADDR6,
	       A_U8(KUBELB_A_PREFIXLEN, 129)),
	KT_BAD("mode 2", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "unknown mode (0 = virtual, 1 = local)", KUBELB_A_MODE,
	       A_DEV, A_INET, A_ADDR4, A_U8(KUBELB_A_MODE, 2)),
	KT_BAD("link with mode virtual", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "link is only allowed with mode local", KUBELB_A_LINK, A_DEV, A_INET, A_ADDR4,
	       A_U8(KUBELB_A_MODE, KUBELB_MODE_VIRTUAL),
	       A_U32(KUBELB_A_LINK, 3)),
	KT_BAD("link with default mode", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "link is only allowed with mode local", KUBELB_A_LINK, A_DEV, A_INET, A_ADDR4,
	       A_U32(KUBELB_A_LINK, 3)),
	KT_BAD("service without slash", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "web")),
	KT_BAD("service empty name", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "default/")),
	KT_BAD("service empty namespace", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "/web")),
	KT_BAD("service two slashes", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "a/b/c")),
	KT_BAD("service upper case", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "Default/web")),
	KT_BAD("service Latin-1 letter", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "caf\xe9/web")),
	KT_BAD("service leading dash", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "default/-web")),
	KT_BAD("service label too long", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, KT_LONG_SERVICE)),
	KT_BAD("service empty", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "service must be namespace/name", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "")),
	KT_BAD("service not NUL-terminated", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "Attribute failed policy validation", KUBELB_A_SERVICE, A_DEV, A_INET, A_ADDR4,
	       A_RAW(KUBELB_A_SERVICE, 'a', '/', 'b')),
	KT_BAD("flags", KUBELB_CMD_VIP_NEW, -EOPNOTSUPP, "unknown flags",
	       KUBELB_A_FLAGS, A_DEV, A_INET, A_ADDR4, A_U32(KUBELB_A_FLAGS, 1)),

	/* attributes a command does not take */
	KT_BAD("new with created", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "KUBELB_A_CREATED is only used in replies", KUBELB_A_CREATED,
	       A_DEV, A_INET, A_ADDR4, A_RAW(KUBELB_A_CREATED, 0, 0, 0, 0, 0, 0, 0, 0)),
	KT_BAD("new with stats", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "KUBELB_A_STATS is only used in replies", KUBELB_A_STATS,
	       A_DEV, A_INET, A_ADDR4, { .type = KUBELB_A_STATS }),
	KT_BAD("new with aggr refs", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "KUBELB_A_AGGR_REFS is only used in replies",
	       KUBELB_A_AGGR_REFS, A_DEV, A_INET, A_ADDR4, A_U32(KUBELB_A_AGGR_REFS, 1)),
	KT_BAD("del with prev", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "KUBELB_A_PREV is only used in replies", KUBELB_A_PREV,
	       A_INET, A_ADDR4, { .type = KUBELB_A_PREV }),
	/* The core's nesting check comes before the policy's message. */
	KT_BAD("del with nested prev", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "NLA_F_NESTED not expected", KUBELB_A_PREV,
	       A_INET, A_ADDR4, { .type = KUBELB_A_PREV | NLA_F_NESTED }),
	KT_BAD("del with mode", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "KUBELB_A_MODE is not valid for KUBELB_CMD_VIP_DEL",
	       KUBELB_A_MODE, A_INET, A_ADDR4, A_LOCAL),
	KT_BAD("del with owner", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "KUBELB_A_OWNER is not valid for KUBELB_CMD_VIP_DEL",
	       KUBELB_A_OWNER, A_INET, A_ADDR4, A_U32(KUBELB_A_OWNER, 1)),
	KT_BAD("del with quiet", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "KUBELB_A_QUIET is not valid for KUBELB_CMD_VIP_DEL",
	       KUBELB_A_QUIET, A_INET, A_ADDR4, { .type = KUBELB_A_QUIET }),
	KT_BAD("new with a quiet flag that has a value", KUBELB_CMD_VIP_NEW,
	       -ERANGE, "Attribute failed policy validation", KUBELB_A_QUIET,
	       A_DEV, A_INET, A_ADDR4, A_U32(KUBELB_A_QUIET, 1)),
	KT_BAD("get with service", KUBELB_CMD_VIP_GET, -EINVAL,
	       "KUBELB_A_SERVICE is not valid for KUBELB_CMD_VIP_GET",
	       KUBELB_A_SERVICE, A_INET, A_ADDR4,
	       A_STR(KUBELB_A_SERVICE, "a/b")),
	KT_BAD("flush with address", KUBELB_CMD_VIP_FLUSH, -EINVAL,
	       "KUBELB_A_ADDR is not valid for KUBELB_CMD_VIP_FLUSH",
	       KUBELB_A_ADDR, A_DEV, A_ADDR4),
	KT_BAD("flush with link", KUBELB_CMD_VIP_FLUSH, -EINVAL,
	       "KUBELB_A_LINK is not valid for KUBELB_CMD_VIP_FLUSH",
	       KUBELB_A_LINK, A_DEV, A_U32(KUBELB_A_LINK, 1)),
	KT_BAD("pad attribute", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "Unsupported attribute", KUBELB_A_PAD, A_DEV, A_INET, A_ADDR4,
	       A_U32(KUBELB_A_PAD, 0)),
	KT_BAD("unknown attribute", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "Unknown attribute type", KUBELB_A_MAX + 1, A_DEV, A_INET, A_ADDR4,
	       A_U32(KUBELB_A_MAX + 1, 0)),
	KT_BAD("short u32", KUBELB_CMD_VIP_NEW, -EINVAL,
	       "invalid attribute length", KUBELB_A_IFINDEX,
	       A_U16(KUBELB_A_IFINDEX, 2), A_INET, A_ADDR4),
	KT_BAD("nested flag on u16", KUBELB_CMD_VIP_DEL, -EINVAL,
	       "NLA_F_NESTED not expected", KUBELB_A_FAMILY,
	       { .type = KUBELB_A_FAMILY | NLA_F_NESTED, .len = 2,
		 .data = &(u16){ AF_INET } }, A_ADDR4),
};

static void kt_parse_desc(const struct kt_parse_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_parse, kt_parse_cases, kt_parse_desc);

static const struct nla_policy *kt_policy(u8 cmd)
{
	switch (cmd) {
	case KUBELB_CMD_VIP_NEW:
		return kubelb_new_policy;
	case KUBELB_CMD_VIP_DEL:
		return kubelb_del_policy;
	case KUBELB_CMD_VIP_FLUSH:
		return kubelb_flush_policy;
	}
	return kubelb_get_policy;
}

/*
 * Runs a request through the command's policy (as genetlink does, with
 * strict validation) and then the kubelb parser.
 */
static void kubelb_test_parse(struct kunit *test)
{
	const struct kt_parse_case *c = test->param_value;
	struct nlattr *tb[KUBELB_A_MAX + 1];
	struct netlink_ext_ack extack = {};
	struct kubelb_vip_cfg cfg;
	struct kubelb_filter f;
	const struct kt_attr *a;
	struct sk_buff *skb;
	int err;

	skb = alloc_skb(1024, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	for (a = c->attrs; a->type; a++)
		KUNIT_ASSERT_EQ(test, nla_put(skb, a->type, a->len, a->data),
				0);

	err = nla_parse(tb, KUBELB_A_MAX, (struct nlattr *)skb->data,
			skb->len, kt_policy(c->cmd), &extack);
	if (!err) {
		switch (c->cmd) {
		case KUBELB_CMD_VIP_FLUSH:
		case KT_DUMP:
			err = kubelb_nl_parse_filter(tb, c->cmd, &f, &extack);
			break;
		case KUBELB_CMD_VIP_GET:
			err = kubelb_nl_parse_vip(tb, c->cmd, &cfg, &extack);
			if (!err)
				err = kubelb_nl_parse_filter(tb, c->cmd, &f,
							     &extack);
			break;
		default:
			err = kubelb_nl_parse_vip(tb, c->cmd, &cfg, &extack);
		}
	}

	KUNIT_EXPECT_EQ(test, err, c->err);
	if (c->msg)
		KUNIT_EXPECT_STREQ(test, extack._msg, c->msg);
	else
		KUNIT_EXPECT_NULL(test, extack._msg);
	if (c->bad_attr) {
		KUNIT_ASSERT_NOT_NULL(test, extack.bad_attr);
		KUNIT_EXPECT_EQ(test, nla_type(extack.bad_attr), c->bad_attr);
	}
	if (c->miss_attr)
		KUNIT_EXPECT_EQ(test, extack.miss_type, c->miss_attr);
	if (!c->err && c->cmd == KUBELB_CMD_VIP_NEW) {
		/* A parsed request is fully formed, padding included. */
		KUNIT_EXPECT_EQ(test, cfg.key.pad, 0);
		KUNIT_EXPECT_NE(test, cfg.ifindex, 0);
	}
	kfree_skb(skb);
}

static void kubelb_test_parse_defaults(struct kunit *test)
{
	struct nlattr *tb[KUBELB_A_MAX + 1];
	struct kubelb_vip_cfg cfg;
	struct sk_buff *skb;
	__be32 a4 = htonl(0xc0000201);

	skb = alloc_skb(256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, nla_put_u32(skb, KUBELB_A_IFINDEX, 5), 0);
	KUNIT_ASSERT_EQ(test, nla_put_u16(skb, KUBELB_A_FAMILY, AF_INET), 0);
	KUNIT_ASSERT_EQ(test, nla_put(skb, KUBELB_A_ADDR, 4, &a4), 0);
	KUNIT_ASSERT_EQ(test, nla_parse(tb, KUBELB_A_MAX,
					(struct nlattr *)skb->data, skb->len,
					kubelb_new_policy, NULL), 0);
	KUNIT_ASSERT_EQ(test, kubelb_nl_parse_vip(tb, KUBELB_CMD_VIP_NEW, &cfg,
						  NULL), 0);
	KUNIT_EXPECT_EQ(test, cfg.ifindex, 5);
	KUNIT_EXPECT_EQ(test, cfg.key.family, AF_INET);
	KUNIT_EXPECT_EQ(test, ntohl(cfg.key.addr.ip4), 0xc0000201U);
	KUNIT_EXPECT_EQ(test, cfg.prefixlen, 32);
	KUNIT_EXPECT_EQ(test, cfg.mode, KUBELB_MODE_VIRTUAL);
	KUNIT_EXPECT_EQ(test, cfg.link, 0);
	KUNIT_EXPECT_EQ(test, cfg.owner, 0U);
	KUNIT_EXPECT_STREQ(test, cfg.service, "");
	kfree_skb(skb);
}

static struct kunit_case kubelb_parse_cases[] = {
	KUNIT_CASE_PARAM(kubelb_test_parse, kt_parse_gen_params),
	KUNIT_CASE(kubelb_test_parse_defaults),
	{}
};

static struct kunit_suite kubelb_parse_suite = {
	.name		= "kubelb_netlink_parse",
	.test_cases	= kubelb_parse_cases,
};

/* ---- ARP/NDP decisions ---- */

#define KT_LINK		2	/* the local VIP's link */
#define KT_OTHER	3	/* any other interface */

struct kt_decide_case {
	const char		*what;
	enum kubelb_holder	holder;
	int			link;
	int			ifindex;
	/*
	 * Per enum kubelb_pkt (request, probe, gratuitous, NS, DAD NS,
	 * outgoing request): P pass, A answer, S suppress, R rewrite.
	 */
	const char		*expect;
};

static const struct kt_decide_case kt_decide_cases[] = {
	{ "not a VIP, any link",	KUBELB_HOLDER_NONE, 0, KT_LINK, "PPPPPP" },
	{ "not a VIP, other link",	KUBELB_HOLDER_NONE, 0, KT_OTHER, "PPPPPP" },
	{ "virtual VIP",		KUBELB_HOLDER_VIP, 0, KT_LINK, "SSSSSR" },
	{ "virtual VIP, other link",	KUBELB_HOLDER_VIP, 0, KT_OTHER, "SSSSSR" },
	{ "local VIP on its link",	KUBELB_HOLDER_VIP, KT_LINK, KT_LINK, "AASAAP" },
	{ "local VIP, other link",	KUBELB_HOLDER_VIP, KT_LINK, KT_OTHER, "SSSSSR" },
	{ "address on a kubelb device",	KUBELB_HOLDER_FOREIGN, 0, KT_LINK, "SSSSSR" },
	{ "address on a kubelb device, other link",
					KUBELB_HOLDER_FOREIGN, 0, KT_OTHER, "SSSSSR" },
};

static void kt_decide_desc(const struct kt_decide_case *c, char *desc)
{
	strscpy(desc, c->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_decide, kt_decide_cases, kt_decide_desc);

static enum kubelb_verdict kt_verdict(char c)
{
	switch (c) {
	case 'A':
		return KUBELB_ANSWER;
	case 'S':
		return KUBELB_SUPPRESS;
	case 'R':
		return KUBELB_REWRITE;
	}
	return KUBELB_PASS;
}

static void kubelb_test_decide(struct kunit *test)
{
	const struct kt_decide_case *c = test->param_value;
	enum kubelb_pkt pkt;

	KUNIT_ASSERT_EQ(test, strlen(c->expect), (size_t)KUBELB_PKT_NUM);
	for (pkt = 0; pkt < KUBELB_PKT_NUM; pkt++)
		KUNIT_EXPECT_EQ_MSG(test,
				    kubelb_decide(pkt, c->holder, c->link,
						  c->ifindex),
				    kt_verdict(c->expect[pkt]),
				    "%s, packet kind %d", c->what, pkt);
}

static struct kunit_case kubelb_decide_cases[] = {
	KUNIT_CASE_PARAM(kubelb_test_decide, kt_decide_gen_params),
	{}
};

static struct kunit_suite kubelb_decide_suite = {
	.name		= "kubelb_arp_ndp_decision",
	.test_cases	= kubelb_decide_cases,
};

kunit_test_suites(&kubelb_table_suite, &kubelb_parse_suite,
		  &kubelb_decide_suite);
