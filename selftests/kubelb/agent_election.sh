#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent on node1 and node2 against the fake API server: who holds an
# on-link VIP, as the client on the LAN sees it.
#  - each on-link VIP (IPv4 and IPv6) is held, local on eth0 with the
#    agent's owner mark, by exactly one node: the first by sha256(node#ip)
#    among the eligible ones (node3 is Ready but runs no agent: no Lease,
#    not eligible); arping gets exactly one reply, ndisc6 one
#    advertisement, from that node's MAC;
#  - the VIP moves when the winner stops being eligible and comes back:
#    NotReady, NetworkUnavailable, the exclude-from-external-load-balancers
#    label;
#  - node3 gets a Lease: on another subnet it changes nothing, on the
#    VIP's subnet it wins (nobody on the LAN holds the VIP), and when that
#    Lease is not renewed node1 takes the VIP back after the lease
#    duration;
#  - Service changes reach the kernel: new ingress IP, ipMode Proxy,
#    type ClusterIP, deletion.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api
require_cmd arping ndisc6

agent_setup
api_start
node_add node1 && node_add node2 && node_add node3 || exit_test

# A: node3 first, then node1: node1's (node3 is not alive)
A=$(ip_with_order 10.9.0. 100 node3 node1 node2)
B=$(ip_with_order 10.9.0. 100 node2 node1 node3)
A6=$(ip_with_order fd00:9:: 100 node1 node2)
log "VIPs: A=$A ($(sha_order $A node1 node2 node3)) B=$B ($(sha_order $B node1 node2 node3)) A6=$A6 ($(sha_order $A6 node1 node2))"
svc_add default/web "$A,$A6"
ns_add shop
svc_add shop/db "$B"

t0=$(now)
agent_start node1
agent_start node2
wait_log node1 'msg="synced' 30
wait_log node2 'msg="synced' 30
log "both agents synced $(elapsed "$t0") s after start"

LOCAL="mode local link eth0 service "
check_holders "$A is held by node1 only (node3 would win but has no Lease)" 10 $A node1 "$LOCAL"
check_holders "$B is held by node2 only" 10 $B node2 "$LOCAL"
check_holders "$A6 is held by node1 only" 10 $A6 node1 "$LOCAL"
check_match "node1's vip show: $A local on eth0, Service default/web, the agent's owner" \
	"^${A//./\\.}/32 dev kube-lb0 mode local link eth0 service default/web owner $AGENT_OWNER" \
	"$(vip_line node1 $A)"
check_match "node1 logs its decision for $A (hold, local, why)" \
	"msg=\"hold\" vip=${A//./\\.} mode=local link=eth0 .*why=" \
	"$(<"${AGENT_LOG[node1]}")"

# what the client sees
m1=${MAC_NODE1,,} m2=${MAC_NODE2,,}
check_eq "arping $A: exactly one reply per request, from node1" \
	"recv=2 from: $m1*2" "$(arp_replies $A)"
check_eq "arping $B: exactly one reply per request, from node2" \
	"recv=2 from: $m2*2" "$(arp_replies $B)"
wait_for 5 announce_idle node1 $A6
check_eq "ndisc6 $A6: one advertisement, from node1" "$m1" "$(ndisc_replies $A6)"

# --- eligibility ---------------------------------------------------------------------
# move_away WHAT CMD...: CMD makes node1 ineligible: A and A6 move to node2
move_away() {
	local what=$1
	shift
	"$@" || return
	check_holders "$what: $A moves to node2" 10 $A node2 "$LOCAL"
	check_holders "$what: $A6 moves to node2" 10 $A6 node2 "$LOCAL"
	check_holders "$what: $B stays on node2" 1 $B node2 "$LOCAL"
}
move_away "node1 NotReady" node_status node1 Ready False
check_eq "... arping $A: one reply per request, now from node2" \
	"recv=2 from: $m2*2" "$(arp_replies $A)"
check_match "node1 logs the release of $A with the winner and why" \
	"msg=\"release\" vip=${A//./\\.} node=node1 winner=node2 why=" "$(<"${AGENT_LOG[node1]}")"
node_status node1 Ready True
check_holders "node1 Ready again: $A back on node1" 10 $A node1 "$LOCAL"
check_holders "... and $A6" 10 $A6 node1 "$LOCAL"

move_away "node1 NetworkUnavailable" node_status node1 NetworkUnavailable True
node_status node1 NetworkUnavailable False
check_holders "node1 network available again: $A back on node1" 10 $A node1 "$LOCAL"

move_away "node1 labelled exclude-from-external-load-balancers" \
	node_label node1 node.kubernetes.io/exclude-from-external-load-balancers ""
node_label node1 node.kubernetes.io/exclude-from-external-load-balancers
check_holders "label removed: $A back on node1" 10 $A node1 "$LOCAL"
check_eq "arping $A: one reply per request, from node1 again" \
	"recv=2 from: $m1*2" "$(arp_replies $A)"

# --- a third node's Lease ---------------------------------------------------------------
# node3_lease SUBNETS: create or update node3's Lease, published subnets SUBNETS
LP=/apis/coordination.k8s.io/v1/namespaces/$AGENT_NS/leases
node3_lease() {
	local now body
	now=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
	body="{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"kubelb-node-node3\",\"namespace\":\"$AGENT_NS\",\"annotations\":{\"kubelb.io/subnets\":\"$1\"}},\"spec\":{\"holderIdentity\":\"node3\",\"leaseDurationSeconds\":$LEASE_S,\"renewTime\":\"$now\"}}"
	if lease node3 >/dev/null; then
		api_ok "node3's Lease ($1)" PATCH "$LP/kubelb-node-node3" "$body" \
			application/merge-patch+json >/dev/null
	else
		api_ok "node3's Lease ($1)" POST "$LP" "$body" >/dev/null
	fi
}
check "the agents' Leases exist (kubelb-node-node1, -node2)" lease node1
check_match "node1's Lease publishes its subnets (10.9.0.0/24 among them)" \
	'10\.9\.0\.0/24' "$(API_QUERY='metadata|annotations|kubelb.io/subnets' lease node1)"

# keep node3's Lease alive while checking that another subnet changes nothing
# (the 2 s of renewals are what is tested: slept, not waited on)
node3_lease "10.9.7.0/24,fd00:7::/64"
for i in 1 2 3 4; do
	sleep 0.5
	node3_lease "10.9.7.0/24,fd00:7::/64"
done
check_holders "node3 alive on another subnet: $A stays on node1" 1 $A node1 "$LOCAL"
t0=$(now)
node3_lease "10.9.0.0/24,fd00:9::/64"
renew_node3() { node3_lease "10.9.0.0/24,fd00:9::/64"; _holders_are $A ""; }
if wait_for 10 renew_node3; then
	pass "node3 alive on the LAN's subnet wins $A: neither node1 nor node2 holds it ($(elapsed "$t0") s)"
else
	fail "node3 alive on 10.9.0.0/24: $A still held by '$(holders $A)'"
fi
check_holders "... $B (node2 first) stays on node2" 1 $B node2 "$LOCAL"
# stop renewing: node3 expires after the lease duration, node1 takes over
t0=$(now)
if wait_holders 15 $A node1; then
	pass "node3's Lease not renewed: node1 holds $A again after ${WAITED}s (lease ${LEASE_S}s)"
	t=${WAITED%.*}
	[ "$t" -lt $((LEASE_S + 3)) ] || fail "... which is more than the lease duration + 3 s"
else
	fail "node3's Lease expired but $A is held by '$(holders $A)'"
fi

# --- Service changes -------------------------------------------------------------------
C=$(ip_with_order 10.9.0. 100 node1 node2)
while [ "$C" = "$A" ]; do C=$(ip_with_order 10.9.0. $((${C##*.} + 1)) node1 node2); done
svc_ips shop/db "$C"
check_holders "shop/db's ingress IP changed to $C: node1 holds it" 10 $C node1 "$LOCAL"
check_holders "... and nobody holds the old IP $B" 10 $B ""
svc_ips shop/db "$C!proxy"
check_holders "ipMode Proxy: $C is withdrawn" 10 $C ""
svc_ips shop/db "$C"
check_holders "ipMode VIP again: $C held by node1" 10 $C node1 "$LOCAL"
svc_patch shop/db '{"spec":{"type":"ClusterIP","externalTrafficPolicy":null}}'
check_holders "type ClusterIP: $C withdrawn" 10 $C ""
svc_del default/web
check_holders "default/web deleted: $A withdrawn" 10 $A ""
check_holders "... and $A6" 10 $A6 ""
check_eq "arping $A: no reply once withdrawn" "recv=0 from:" "$(arp_replies $A 1)"
check "node1's agent still running" agent_running node1
check "node2's agent still running" agent_running node2

exit_test
