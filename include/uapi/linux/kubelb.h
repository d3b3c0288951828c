/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * kubelb: Kubernetes LoadBalancer VIPs held by a kernel network device.
 *
 * Generic netlink family "kubelb", version 1.
 *
 * This ABI is stable: commands and attributes are only ever appended,
 * never renumbered or given a new meaning.
 *
 * Objects
 * -------
 * A VIP is an IPv4 or IPv6 address held by one kubelb device (rtnl kind
 * "kubelb", e.g. kube-lb0) in one network namespace. VIPs are keyed by
 * address within the namespace: an address is held by at most one device.
 *
 * Commands
 * --------
 * KUBELB_CMD_VIP_GET
 *	doit (requires KUBELB_A_FAMILY, KUBELB_A_ADDR): replies with one
 *	KUBELB_CMD_VIP_GET message describing the VIP, or fails with -ENOENT.
 *	dumpit (NLM_F_DUMP): one KUBELB_CMD_VIP_GET message per VIP, in
 *	creation order. Optional filters: KUBELB_A_IFINDEX, KUBELB_A_FAMILY,
 *	KUBELB_A_OWNER. The dump is resumable across any number of recvmsg()
 *	calls; a VIP present for the whole dump is reported exactly once, even
 *	while other VIPs are added or deleted.
 *
 * KUBELB_CMD_VIP_NEW (CAP_NET_ADMIN over the namespace)
 *	Creates a VIP. Requires KUBELB_A_IFINDEX, KUBELB_A_FAMILY,
 *	KUBELB_A_ADDR; optional KUBELB_A_PREFIXLEN (default: full length),
 *	KUBELB_A_MODE (default virtual), KUBELB_A_LINK (required for, and only
 *	allowed with, mode local), KUBELB_A_SERVICE, KUBELB_A_FLAGS,
 *	KUBELB_A_OWNER.
 *	Without NLM_F_REPLACE an existing VIP with the same address fails
 *	with -EEXIST. With NLM_F_REPLACE it is created or replaced in place
 *	(its creation time and counters are kept).
 *	Replies with a KUBELB_CMD_VIP_NEW message: the VIP as now held, plus
 *	KUBELB_A_AGGR_REFS, and KUBELB_A_PREV (the replaced VIP) on replace.
 *	These let the caller keep the routing table in step (see "Routes").
 *	With KUBELB_A_QUIET a success is not answered (only an NLM_F_ACK
 *	ack, if asked for); a failure is answered as always.
 *	Also sent to the "events" group, as KUBELB_CMD_VIP_NEW when created
 *	and KUBELB_CMD_VIP_CHANGE when replaced.
 *
 * KUBELB_CMD_VIP_DEL (CAP_NET_ADMIN over the namespace)
 *	Deletes a VIP. Requires KUBELB_A_FAMILY, KUBELB_A_ADDR; if
 *	KUBELB_A_IFINDEX is given the VIP must belong to that device.
 *	Replies with a KUBELB_CMD_VIP_DEL message: the deleted VIP plus
 *	KUBELB_A_AGGR_REFS. Also sent to the "events" group.
 *
 * KUBELB_CMD_VIP_FLUSH (CAP_NET_ADMIN over the namespace)
 *	Deletes every VIP of the device KUBELB_A_IFINDEX (required),
 *	optionally only those of KUBELB_A_FAMILY and/or KUBELB_A_OWNER.
 *	Each deleted VIP is sent to the "events" group as KUBELB_CMD_VIP_DEL.
 *
 * KUBELB_CMD_VIP_CHANGE
 *	Notification only (never accepted as a request): a VIP was replaced,
 *	or the kernel changed it (a local VIP whose link was unregistered
 *	becomes virtual).
 *
 * KUBELB_CMD_VIP_ANNOUNCE (CAP_NET_ADMIN over the namespace)
 *	Starts a new burst of announcements for a local VIP: gratuitous ARP
 *	(IPv4) or unsolicited Neighbor Advertisements with the override flag
 *	(IPv6) on its link, the first at once, then every garp_interval_ms
 *	until garp_count were sent (module parameters). Requires
 *	KUBELB_A_FAMILY, KUBELB_A_ADDR; if KUBELB_A_IFINDEX is given the VIP
 *	must belong to that device. Fails with -EINVAL for a virtual VIP and
 *	-ENETDOWN when the link is down. Replies with a
 *	KUBELB_CMD_VIP_ANNOUNCE message describing the VIP.
 *	As a notification on the "events" group: the VIP's announcement state
 *	(KUBELB_A_ANNOUNCE_STATE) changed (a deleted VIP gets its
 *	KUBELB_CMD_VIP_DEL only). The kernel starts a burst by itself whenever
 *	a VIP becomes local on a link (created local, or replaced from virtual
 *	or from another link; a replace keeping the link starts none) and when
 *	that link comes up, regains carrier or changes its address.
 *
 * Routes
 * ------
 * The kernel table decides who answers for a VIP; the FIB makes it
 * deliverable and visible. For each VIP, userspace (libkubelb) installs
 *  - a local route ADDR/32 or /128, table local, dev <kubelb device>,
 *    protocol KUBELB_RTPROT, and
 *  - an aggregate route ADDR/PREFIXLEN (masked), table main,
 *    dev <kubelb device>, scope link, protocol KUBELB_RTPROT, shared by
 *    every VIP with the same masked prefix; routing daemons redistribute it.
 * KUBELB_A_AGGR_REFS tells how many VIPs share the aggregate after the
 * operation: 1 after NEW means "install it", 0 after DEL means "remove it".
 */
#ifndef _UAPI_LINUX_KUBELB_H
#define _UAPI_LINUX_KUBELB_H

#define KUBELB_GENL_NAME	"kubelb"
#define KUBELB_GENL_VERSION	1
#define KUBELB_MCGRP_EVENTS	"events"

/* rtnl link kind of kubelb devices. */
#define KUBELB_LINK_KIND	"kubelb"

/* Routing protocol number marking the routes kubelb installs. */
#define KUBELB_RTPROT		95

/*
 * Longest KUBELB_A_SERVICE, including the terminating NUL:
 * a namespace (63) + "/" + a name (63) + NUL.
 */
#define KUBELB_SERVICE_MAX	128

enum kubelb_cmd {
	KUBELB_CMD_UNSPEC,
	KUBELB_CMD_VIP_GET,
	KUBELB_CMD_VIP_NEW,
	KUBELB_CMD_VIP_DEL,
	KUBELB_CMD_VIP_FLUSH,
	KUBELB_CMD_VIP_CHANGE,
	KUBELB_CMD_VIP_ANNOUNCE,

	__KUBELB_CMD_MAX
};

#define KUBELB_CMD_MAX (__KUBELB_CMD_MAX - 1)

/*
 * enum kubelb_vip_mode - how a VIP is presented to the LAN
 * @KUBELB_MODE_VIRTUAL: routed to this node (e.g. by BGP); never answered
 *	by ARP or NDP on any interface.
 * @KUBELB_MODE_LOCAL: answered by this node, on the interface
 *	KUBELB_A_LINK only.
 */
enum kubelb_vip_mode {
	KUBELB_MODE_VIRTUAL,
	KUBELB_MODE_LOCAL,

	__KUBELB_MODE_MAX
};

#define KUBELB_MODE_MAX (__KUBELB_MODE_MAX - 1)

/*
 * enum kubelb_announce_state - where a local VIP's announcements stand
 * @KUBELB_ANNOUNCE_IDLE: none pending.
 * @KUBELB_ANNOUNCE_BURST: KUBELB_A_ANNOUNCE_LEFT more to send, one every
 *	garp_interval_ms.
 * @KUBELB_ANNOUNCE_PERIODIC: burst done; one every garp_refresh_ms.
 */
enum kubelb_announce_state {
	KUBELB_ANNOUNCE_IDLE,
	KUBELB_ANNOUNCE_BURST,
	KUBELB_ANNOUNCE_PERIODIC,

	__KUBELB_ANNOUNCE_MAX
};

#define KUBELB_ANNOUNCE_MAX (__KUBELB_ANNOUNCE_MAX - 1)

/*
 * KUBELB_A_FLAGS bits. No flag is defined yet; any set bit is rejected so
 * that flags added later cannot be silently ignored by an older kernel.
 */
#define KUBELB_VIP_F_ALL	0U

enum kubelb_attr {
	KUBELB_A_UNSPEC,
	KUBELB_A_PAD,
	/* u32: ifindex of the kubelb device holding the VIP */
	KUBELB_A_IFINDEX,
	/* u16: AF_INET or AF_INET6 */
	KUBELB_A_FAMILY,
	/* binary: 4 bytes (AF_INET) or 16 bytes (AF_INET6), network order */
	KUBELB_A_ADDR,
	/* u8: aggregation prefix length to advertise, 0..32 or 0..128 */
	KUBELB_A_PREFIXLEN,
	/* u8: enum kubelb_vip_mode */
	KUBELB_A_MODE,
	/* u32: ifindex of the link a local VIP is answered on */
	KUBELB_A_LINK,
	/* string: "namespace/name" of the Service, < KUBELB_SERVICE_MAX */
	KUBELB_A_SERVICE,
	/* u32: KUBELB_VIP_F_* */
	KUBELB_A_FLAGS,
	/*
	 * u32: who manages the VIP. 0 is an operator (kubelbctl by default);
	 * agents pick their own non-zero value and touch only their VIPs.
	 */
	KUBELB_A_OWNER,
	/* u64: creation time, nanoseconds since the epoch (reply only) */
	KUBELB_A_CREATED,
	/* nest: KUBELB_STATS_* (reply only) */
	KUBELB_A_STATS,
	/* u32: VIPs sharing this VIP's aggregate route after the operation */
	KUBELB_A_AGGR_REFS,
	/*
	 * nest of KUBELB_A_*: the VIP as it was before a replace, with its
	 * own KUBELB_A_AGGR_REFS (reply to KUBELB_CMD_VIP_NEW only)
	 */
	KUBELB_A_PREV,
	/* u8: enum kubelb_announce_state (reply only) */
	KUBELB_A_ANNOUNCE_STATE,
	/* u32: announcements left in the current burst (reply only) */
	KUBELB_A_ANNOUNCE_LEFT,
	/*
	 * flag: no reply to a KUBELB_CMD_VIP_NEW that succeeds (request to
	 * that command only). For batches of creates: a reply costs the
	 * kernel and the sender about as much as the create itself.
	 */
	KUBELB_A_QUIET,

	__KUBELB_A_MAX
};

#define KUBELB_A_MAX (__KUBELB_A_MAX - 1)

/* Per-VIP counters, u64 each, summed over CPUs. */
enum kubelb_stats_attr {
	KUBELB_STATS_UNSPEC,
	KUBELB_STATS_PAD,
	/* ARP requests and Neighbor Solicitations answered */
	KUBELB_STATS_REQ_ANSWERED,
	/* ARP requests and Neighbor Solicitations deliberately not answered */
	KUBELB_STATS_REQ_SUPPRESSED,
	/* gratuitous ARPs and unsolicited Neighbor Advertisements sent */
	KUBELB_STATS_ANNOUNCED,
	/* outgoing ARP requests whose sender address was replaced */
	KUBELB_STATS_SENDER_REWRITTEN,

	__KUBELB_STATS_MAX
};

#define KUBELB_STATS_MAX (__KUBELB_STATS_MAX - 1)

#endif /* _UAPI_LINUX_KUBELB_H */
