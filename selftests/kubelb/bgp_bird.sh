#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# BIRD 2 advertises exactly kubelb's VIP routes, running the shipped
# deploy/routing/bird2/bird.conf (only its documented edit points changed:
# router id, AS numbers, the router's addresses, short timers). A node
# namespace peers over eBGP (IPv4 and IPv6 sessions) with a router
# namespace running BIRD too; a client sits behind the router (bgp_lib.sh).
# `kubelbctl vip add` makes the route appear on the router, `vip del`
# withdraws it; VIPs with a prefix length share one aggregate, a VIP at full
# length gets a host route and only it; the router learns nothing else of
# the node's (connected subnets, addresses, static and other programs'
# routes, the default route); the client reaches a listener on the VIPs;
# the node accepts nothing from the router.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bgp_lib.sh"
declare -F bgp_checks >/dev/null || { fail "bgp_lib.sh did not load"; exit_test; }
require_base
require_python
[ -x /usr/sbin/bird ] || skip "bird not installed (apt-get install bird2)"
require_cmd birdc

ROUTER_KPROTO=bird

# bird_start VAR NS CONF: BIRD in the foreground in NS (the trap stops it),
# its control socket $TMPD/VAR.ctl
bird_start() {
	local var=$1 ns=$2 conf=$3
	bg_daemon "$var" "$ns" /usr/sbin/bird -f -c "$conf" \
		-s "$TMPD/$var.ctl" -P "$TMPD/$var.pid" >"$TMPD/$var.err" 2>&1
}

birdc_at() {
	local var=$1
	shift
	birdc -s "$TMPD/$var.ctl" "$@"
}

# _route_nets: the prefixes of `birdc show route` output
_route_nets() {
	local p rest
	while read -r p rest; do
		[[ $p == */* ]] && printf '%s\n' "$p"
	done
}

# BGP routes: on the router all come from the node; the node must have none
router_learned() { birdc_at ROUTER show route where source = RTS_BGP | _route_nets; }
node_learned() { birdc_at NODE show route where source = RTS_BGP | _route_nets; }
router_offered() {
	birdc_at ROUTER show route export node4 | _route_nets
	birdc_at ROUTER show route export node6 | _route_nets
}

# established VAR PROTOCOL...: each BGP protocol of that BIRD is Established
established() {
	local var=$1 out p
	shift
	out=$(birdc_at "$var" show protocols) || return 1
	for p in "$@"; do
		_has_line "^$p +BGP .* Established" "$out" || return 1
	done
}

bgp_diag() {
	log "node's kernel before the VIPs:"
	log_file "$TMPD/node-routes"
	log "node's kernel now:"
	{ ip -n "$NS_NODE" route; ip -n "$NS_NODE" -6 route; } | log_file
	log "node's BIRD:"
	birdc_at NODE show route all | log_file
	birdc_at NODE show protocols all | log_file
	log "router's BIRD:"
	birdc_at ROUTER show route all | log_file
	birdc_at ROUTER show protocols all | log_file
}

bgp_setup
bgp_listener_start

# The router: learns everything from the node into its kernel, and offers
# the node its client subnet (which the node must refuse).
cat >"$TMPD/router.conf" <<EOF
router id $BGP_ROUTER4;
protocol device {
}
protocol direct {
	ipv4;
	ipv6;
	interface "eth1";
}
protocol kernel {
	ipv4 { import none; export where source = RTS_BGP; };
}
protocol kernel {
	ipv6 { import none; export where source = RTS_BGP; };
}
template bgp node {
	local as $BGP_ROUTER_AS;
	hold time 9;
	keepalive time 3;
	connect retry time 1;
	connect delay time 1;
	error wait time 1, 2;
}
protocol bgp node4 from node {
	neighbor $BGP_NODE4 as $BGP_NODE_AS;
	ipv4 { import all; export where source = RTS_DEVICE; };
}
protocol bgp node6 from node {
	neighbor $BGP_NODE6 as $BGP_NODE_AS;
	ipv6 { import all; export where source = RTS_DEVICE; };
}
EOF

# The node: the shipped file, its edit points set for this topology
bgp_render "$DEPLOY_DIR/bird2/bird.conf" "$TMPD/node.conf" \
	1 'router id .*' "router id $BGP_NODE4;" \
	1 'define NODE_AS = .*' "define NODE_AS = $BGP_NODE_AS;" \
	1 'define ROUTER_AS = .*' "define ROUTER_AS = $BGP_ROUTER_AS;" \
	1 'define ROUTER4 = .*' "define ROUTER4 = $BGP_ROUTER4;" \
	1 'define ROUTER6 = .*' "define ROUTER6 = $BGP_ROUTER6;" \
	1 'define HOLD_TIME = .*' 'define HOLD_TIME = 9;' \
	1 'define KEEPALIVE_TIME = .*' 'define KEEPALIVE_TIME = 3;' \
	1 'define CONNECT_RETRY = .*' 'define CONNECT_RETRY = 1;' ||
	exit_test

t0=$(now)
bird_start ROUTER "$NS_ROUTER" "$TMPD/router.conf"
bird_start NODE "$NS_NODE" "$TMPD/node.conf"
if wait_for 30 established ROUTER node4 node6; then
	pass "BGP sessions (IPv4, IPv6) established in $(elapsed "$t0") s"
else
	fail "BGP sessions not established within 30 s"
	bgp_diag
	log_file "$TMPD/ROUTER.err"
	log_file "$TMPD/NODE.err"
	exit_test
fi

bgp_checks
exit_test
