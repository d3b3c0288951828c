#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# FRR advertises exactly kubelb's VIP routes, running the shipped
# deploy/routing/frr/frr.conf (only its documented edit points changed: AS
# numbers, router id, the router's addresses, short timers), loaded the way
# Debian's frr service loads it (daemons started, then vtysh applies the
# integrated config). A node namespace (zebra + bgpd) peers over eBGP (IPv4
# and IPv6 sessions) with a router namespace running FRR too; a client sits
# behind the router (bgp_lib.sh). `kubelbctl vip add` makes the route
# appear on the router, `vip del` withdraws it; VIPs with a prefix length
# share one aggregate, a VIP at full length gets a host route and only it;
# the router learns nothing else of the node's (connected subnets,
# addresses, static and other programs' routes, the default route); the
# client reaches a listener on the VIPs; the node accepts nothing from the
# router.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bgp_lib.sh"
declare -F bgp_checks >/dev/null || { fail "bgp_lib.sh did not load"; exit_test; }
require_base
require_python
FRR=/usr/lib/frr
[ -x $FRR/zebra ] && [ -x $FRR/bgpd ] || skip "FRR not installed (apt-get install frr)"
require_cmd vtysh

ROUTER_KPROTO=bgp

# The daemons drop root for the user frr: their directories must be theirs
# and reachable.
chmod 711 "$TMPD"
id frr >/dev/null 2>&1 || { fail "FRR is installed but there is no user frr"; exit_test; }

# frr_start NAME NS DAEMON [ARGS...]: DAEMON (zebra, bgpd) in NS, in the
# foreground (the trap stops it), everything of NAME's in $TMPD/NAME: vty
# sockets, zebra's API socket, pid files, logs. ARGS (default: no TCP vty,
# no config file) go to DAEMON. frr_wait NAME DAEMON returns when it listens
# on its vty socket.
frr_start() {
	local name=$1 ns=$2 d=$3 dir=$TMPD/$1
	shift 3
	[ $# -gt 0 ] || set -- -P 0 -f /dev/null
	mkdir -p "$dir" && chown frr:frr "$dir" || return 1
	bg_daemon "FRR_${name}_$d" "$ns" $FRR/$d "$@" \
		-i "$dir/$d.pid" -z "$dir/zserv.api" --vty_socket "$dir" \
		--log "file:$dir/$d.log" --log-level info >"$dir/$d.out" 2>&1
}

frr_wait() {
	local name=$1 d=$2 dir=$TMPD/$1
	if ! wait_for 60 test -S "$dir/$d.vty"; then
		fail "$name: $d did not open $dir/$d.vty"
		log_file "$dir/$d.out"
		return 1
	fi
}

# zebra_has_bgpd NAME: bgpd has registered with NAME's zebra
zebra_has_bgpd() { _file_has "$TMPD/$1/zebra.log" "bids fair to announce only bgp routes"; }

vty() {
	local name=$1
	shift
	vtysh --vty_socket "$TMPD/$name" "$@"
}

# frr_load NAME CONF: apply the integrated config CONF, as `vtysh -b` does
# with /etc/frr/frr.conf; any complaint fails
frr_load() {
	local out
	out=$(vty "$1" -f "$2" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		pass "$1: vtysh applied ${2##*/}"
	else
		fail "$1: vtysh -f ${2##*/}"
		printf '%s\n' "$out" | log_file
		return 1
	fi
}

# _bgp_nets: the prefixes of `show bgp ... unicast` output (route lines
# start with a status code; the first field with a slash is the network)
_bgp_nets() {
	local line f
	while IFS= read -r line; do
		[[ $line == [*sdhirSR]* ]] || continue
		for f in $line; do
			if [[ $f =~ ^[0-9a-f.:]+/[0-9]+$ ]]; then
				printf '%s\n' "$f"
				break
			fi
		done
	done
}

# the routes the router accepted from the node, the ones it offers the
# node, and the ones the node accepted from it. The router's bgpd is asked over its TCP vty (no login, loopback
# only) by a bash script: vtysh takes seconds to start under TCG.
cat >"$TMPD/vty-query.sh" <<'EOF'
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
shift
{ echo "terminal length 0"; printf '%s\n' "$@"; echo exit; } >&3
while IFS= read -r -t 10 line <&3; do
	printf '%s\n' "${line%$'\r'}"
done
EOF
router_learned() {
	nsexec "$NS_ROUTER" bash "$TMPD/vty-query.sh" 2605 \
		"show bgp ipv4 unicast neighbors $BGP_NODE4 routes" \
		"show bgp ipv6 unicast neighbors $BGP_NODE6 routes" | _bgp_nets
}
router_offered() {
	nsexec "$NS_ROUTER" bash "$TMPD/vty-query.sh" 2605 \
		"show bgp ipv4 unicast neighbors $BGP_NODE4 advertised-routes" \
		"show bgp ipv6 unicast neighbors $BGP_NODE6 advertised-routes" | _bgp_nets
}
node_learned() {
	vty NODE -c "show bgp ipv4 unicast neighbors $BGP_ROUTER4 routes" \
		-c "show bgp ipv6 unicast neighbors $BGP_ROUTER6 routes" | _bgp_nets
}

# established: the router's sessions to the node, both families, are up
# (bgpd logs neighbour changes: polling its log costs no process)
established() {
	local log=
	[ -f "$TMPD/ROUTER/bgpd.log" ] && _slurp log "$TMPD/ROUTER/bgpd.log"
	[[ $log == *"neighbor $BGP_NODE4"*" Up"* ]] &&
		[[ $log == *"neighbor $BGP_NODE6"*" Up"* ]]
}

bgp_diag() {
	log "node's kernel before the VIPs:"
	log_file "$TMPD/node-routes"
	log "node's kernel now:"
	{ ip -n "$NS_NODE" route; ip -n "$NS_NODE" -6 route; } | log_file
	log "node's FRR:"
	vty NODE -c 'show ip route' -c 'show ipv6 route' \
		-c 'show bgp ipv4 unicast' -c 'show bgp ipv6 unicast' \
		-c "show bgp ipv4 unicast neighbors $BGP_ROUTER4 advertised-routes" \
		-c "show bgp ipv6 unicast neighbors $BGP_ROUTER6 advertised-routes" \
		-c 'show bgp neighbors' | log_file
	log "router's FRR:"
	vty ROUTER -c 'show bgp summary' -c 'show bgp ipv4 unicast' \
		-c 'show bgp ipv6 unicast' | log_file
	log "logs:"
	tail -n 30 "$TMPD"/NODE/*.log "$TMPD"/ROUTER/*.log | log_file
}

bgp_setup
bgp_listener_start

# The router: learns everything from the node into its kernel, and offers
# the node its client subnet (which the node must refuse).
cat >"$TMPD/router.conf" <<EOF
frr defaults traditional
!
line vty
 no login
exit
!
route-map ALL permit 10
exit
!
route-map CLIENT-NET permit 10
 match interface eth1
exit
!
router bgp $BGP_ROUTER_AS
 bgp router-id $BGP_ROUTER4
 bgp log-neighbor-changes
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor $BGP_NODE4 remote-as $BGP_NODE_AS
 neighbor $BGP_NODE4 timers connect 1
 neighbor $BGP_NODE6 remote-as $BGP_NODE_AS
 neighbor $BGP_NODE6 timers connect 1
 !
 address-family ipv4 unicast
  redistribute connected route-map CLIENT-NET
  neighbor $BGP_NODE4 activate
  neighbor $BGP_NODE4 route-map ALL in
  neighbor $BGP_NODE4 route-map ALL out
 exit-address-family
 !
 address-family ipv6 unicast
  redistribute connected route-map CLIENT-NET
  neighbor $BGP_NODE6 activate
  neighbor $BGP_NODE6 route-map ALL in
  neighbor $BGP_NODE6 route-map ALL out
 exit-address-family
exit
EOF

# The node: the shipped file, its edit points set for this topology
bgp_render "$DEPLOY_DIR/frr/frr.conf" "$TMPD/node.conf" \
	1 'router bgp [0-9]+' "router bgp $BGP_NODE_AS" \
	1 ' bgp router-id .*' " bgp router-id $BGP_NODE4" \
	1 ' timers bgp [0-9]+ [0-9]+' ' timers bgp 3 9' \
	2 ' neighbor (UPLINK[46]) remote-as [0-9]+' " neighbor \\1 remote-as $BGP_ROUTER_AS" \
	2 ' neighbor (UPLINK[46]) timers connect [0-9]+' ' neighbor \1 timers connect 1' \
	1 ' neighbor [0-9.]+ peer-group UPLINK4' " neighbor $BGP_ROUTER4 peer-group UPLINK4" \
	1 ' neighbor [0-9a-f:]+ peer-group UPLINK6' " neighbor $BGP_ROUTER6 peer-group UPLINK6" ||
	exit_test
chmod 644 "$TMPD/node.conf" "$TMPD/router.conf"

t0=$(now)
# As Debian's frr service does: zebra first, then bgpd, then vtysh applies
# the config (the router's bgpd reads its own at start). bgpd should know
# the interfaces from zebra before a session comes up: it takes a
# session's IPv6 next hops from them. Each daemon takes seconds to start
# under TCG: both namespaces at once.
frr_start ROUTER "$NS_ROUTER" zebra && frr_start NODE "$NS_NODE" zebra &&
	frr_wait ROUTER zebra && frr_wait NODE zebra || exit_test
frr_start ROUTER "$NS_ROUTER" bgpd -P 2605 -A 127.0.0.1 -f "$TMPD/router.conf" &&
	frr_start NODE "$NS_NODE" bgpd &&
	frr_wait ROUTER bgpd && frr_wait NODE bgpd || exit_test
for n in ROUTER NODE; do
	wait_for 30 zebra_has_bgpd $n ||
		{ fail "$n: bgpd did not register with zebra"; log_file "$TMPD/$n/zebra.log"; exit_test; }
done
log "zebra and bgpd up in both namespaces in $(elapsed "$t0") s"
frr_load NODE "$TMPD/node.conf" || exit_test
if wait_for 30 established; then
	pass "BGP sessions (IPv4, IPv6) established in $(elapsed "$t0") s"
else
	fail "BGP sessions not established within 30 s"
	bgp_diag
	exit_test
fi

bgp_checks
exit_test
