#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What kubelb-agent holds for Services beyond the plain on-link case, with
# agents on node1 and node2 (both with --aggregate 192.0.2.0/24=/24):
#  - externalTrafficPolicy Local, on-link VIP: only nodes with a ready (or
#    serving) endpoint are eligible; the VIP follows the EndpointSlice;
#    no endpoint, nobody holds it;
#  - routed VIPs (not on a node subnet): virtual on kube-lb0 on every
#    eligible node; prefix from --aggregate (one 192.0.2.0/24 route for
#    several VIPs), else from the kubelb.io/aggregation annotation ("/24,/64"),
#    else /32 and /128; ETP Local: only endpoint nodes, always /32;
#  - an IP shared by several Services is one VIP whose eligibility is the
#    union of theirs, and it lives as long as one of them;
#  - loadBalancerClass: Services with a class are ignored by default;
#    an agent with --lb-class C handles exactly the Services of class C.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

agent_setup
api_start
node_add node1 && node_add node2 || exit_test

AGGR=(--aggregate 192.0.2.0/24=/24)
agent_start node1 "${AGGR[@]}"
agent_start node2 "${AGGR[@]}"
wait_log node1 'msg="synced' 30
wait_log node2 'msg="synced' 30
LOCAL="mode local link eth0"
VIRT="dev kube-lb0 mode virtual"

# routes NODE: the node's proto 95 routes in table main, one a line, sorted
routes() {
	ip -n "${NODE_NS[$1]}" route show table main proto 95 | sed 's/ *$//' | sort
	ip -n "${NODE_NS[$1]}" -6 route show table main proto 95 | sed 's/ *$//' | sort
}

# === ETP Local, on-link ===================================================================
L=$(ip_with_order 10.9.0. 100 node1 node2)
log "ETP Local VIP $L: node1 first, then node2"
svc_add default/loc "$L" etp=Local
slice_set default/loc node2
check_holders "ETP Local, endpoint on node2 only: node2 holds $L (though node1 comes first)" 15 $L node2 "$LOCAL"
slice_set default/loc node1 node2
check_holders "endpoints on both nodes: node1 (first) holds $L" 10 $L node1 "$LOCAL"
slice_set default/loc node1:notready node2
check_holders "node1's endpoint not ready: node2 holds $L" 10 $L node2 "$LOCAL"
slice_set default/loc node1:serving node2
check_holders "node1's endpoint terminating but serving: node1 holds $L" 10 $L node1 "$LOCAL"
slice_set default/loc
check_holders "no endpoints: nobody holds $L" 10 $L ""
svc_patch default/loc '{"spec":{"externalTrafficPolicy":"Cluster"}}'
check_holders "ETP changed to Cluster: node1 holds $L without endpoints" 10 $L node1 "$LOCAL"
svc_del default/loc

# === routed VIPs and aggregation ============================================================
svc_add default/r1 192.0.2.10
svc_add default/r2 192.0.2.20
check_holders "--aggregate 192.0.2.0/24=/24: 192.0.2.10 virtual /24 on both nodes" 15 192.0.2.10 "node1 node2" \
	"^192\.0\.2\.10/24 $VIRT "
check_holders "... 192.0.2.20 too" 10 192.0.2.20 "node1 node2" "^192\.0\.2\.20/24 $VIRT "
for n in node1 node2; do
	r=$(routes $n)
	check_eq "$n: one aggregate route 192.0.2.0/24 for both VIPs, no /32 route" \
		"192.0.2.0/24 dev kube-lb0 scope link" "$(grep -E '^192\.0\.2\.' <<<"$r")"
done
svc_add default/r3 "198.51.100.7,2001:db8:5::7" ann:kubelb.io/aggregation=/24,/64
check_holders "annotation kubelb.io/aggregation=/24,/64: 198.51.100.7/24 on both nodes" 10 198.51.100.7 "node1 node2" \
	"^198\.51\.100\.7/24 $VIRT "
check_holders "... 2001:db8:5::7/64 on both nodes" 10 2001:db8:5::7 "node1 node2" "^2001:db8:5::7/64 $VIRT "
svc_add default/r4 "203.0.113.5,2001:db8:6::5"
check_holders "no rule, no annotation: 203.0.113.5/32" 10 203.0.113.5 "node1 node2" "^203\.0\.113\.5/32 $VIRT "
check_holders "... 2001:db8:6::5/128" 10 2001:db8:6::5 "node1 node2" "^2001:db8:6::5/128 $VIRT "
r=$(routes node1)
check_contains "node1: route 198.51.100.0/24" "198.51.100.0/24 dev kube-lb0" "$r"
check_contains "node1: route 2001:db8:5::/64" "2001:db8:5::/64 dev kube-lb0" "$r"
check_match "node1: route 203.0.113.5 (/32)" "^203\.0\.113\.5 dev kube-lb0" "$r"
check "the client-facing VIP is deliverable on node1 (ping from node1)" \
	nsexec "$NS_NODE1" ping -c 1 -W 2 192.0.2.10

svc_add default/r5 192.0.2.30 etp=Local
slice_set default/r5 node2
check_holders "routed ETP Local: only node2 (its endpoint) holds 192.0.2.30, /32 despite the rule" 10 192.0.2.30 node2 \
	"^192\.0\.2\.30/32 $VIRT "
slice_set default/r5 node1 node2
check_holders "endpoints on both: both hold 192.0.2.30/32" 10 192.0.2.30 "node1 node2" "^192\.0\.2\.30/32 "
slice_set default/r5 node1
check_holders "endpoint moved to node1: node1 alone" 10 192.0.2.30 node1 "^192\.0\.2\.30/32 "
svc_del default/r1
check_holders "default/r1 deleted: 192.0.2.10 withdrawn" 10 192.0.2.10 ""
check_eq "node2: the /24 aggregate stays for 192.0.2.20" \
	"192.0.2.0/24 dev kube-lb0 scope link" "$(routes node2 | grep -E '^192\.0\.2\.')"
svc_del default/r2
check_holders "default/r2 deleted: 192.0.2.20 withdrawn" 10 192.0.2.20 ""
check_eq "node2: no route left in 192.0.2.0/24" "" "$(routes node2 | grep -E '^192\.0\.2\.')"

# === shared IPs ================================================================================
S=$(ip_with_order 10.9.0. 100 node1 node2)
svc_add default/s1 "$S" etp=Local
svc_add default/s2 "$S" etp=Local
slice_set default/s1 node2
check_holders "shared $S, s1 (Local) has an endpoint on node2, s2 none: node2 holds it" 15 $S node2 "$LOCAL"
slice_set default/s2 node1
check_holders "s2 gets an endpoint on node1: union, node1 (first) holds $S" 10 $S node1 "$LOCAL"
check_eq "node1 has one VIP $S" 1 "$(klb "$NS_NODE1" vip show | grep -c "^$S/")"
svc_del default/s2
check_holders "s2 deleted: back to node2 (s1's endpoint)" 10 $S node2 "$LOCAL"
svc_add default/s3 203.0.113.9
svc_add default/s4 203.0.113.9
check_holders "routed 203.0.113.9 shared by s3 and s4: one VIP on both nodes" 10 203.0.113.9 "node1 node2" "^203\.0\.113\.9/32 "
mon_mark node1
mon_mark node2
svc_del default/s3
# A Service added after the deletion, on the same watch: once both nodes
# hold its IP, the agents have acted on the deletion too.
svc_add default/after-s3 203.0.113.10
check_holders "a Service added after s3's deletion is held: the deletion was seen" 10 203.0.113.10 "node1 node2"
for n in node1 node2; do
	check_eq "s3 deleted: $n kept 203.0.113.9 for s4 (no VIP_DEL or VIP_NEW in the kernel)" "" \
		"$(mon_lines $n 203.0.113.9 'add|del')"
done
check_holders "... 203.0.113.9 still on both nodes" 1 203.0.113.9 "node1 node2" "^203\.0\.113\.9/32 "
svc_del default/after-s3
check_holders "default/after-s3 deleted: 203.0.113.10 withdrawn" 10 203.0.113.10 ""
svc_del default/s4
check_holders "s4 deleted too: 203.0.113.9 withdrawn" 10 203.0.113.9 ""
svc_del default/s1
check_holders "s1 deleted: $S withdrawn" 10 $S ""

# === loadBalancerClass ==========================================================================
svc_add default/c1 203.0.113.21 class=example.com/lb
svc_add default/c2 203.0.113.22 class=example.com/other
svc_add default/c0 203.0.113.20
check_holders "no class: 203.0.113.20 on both nodes" 10 203.0.113.20 "node1 node2"
check_eq "classes example.com/lb and /other: nobody holds 203.0.113.21/.22" "|" \
	"$(holders 203.0.113.21)|$(holders 203.0.113.22)"
agent_stop node2
agent_start node2 --lb-class example.com/lb "${AGGR[@]}"
check_holders "node2 with --lb-class example.com/lb holds 203.0.113.21" 20 203.0.113.21 node2 "$VIRT"
check_holders "... and no longer the classless 203.0.113.20 (node1 does)" 10 203.0.113.20 node1
check_holders "... nor 198.51.100.7" 10 198.51.100.7 node1
check_eq "nobody holds example.com/other's 203.0.113.22" "" "$(holders 203.0.113.22)"
svc_del default/c1
check_holders "default/c1 deleted: node2 withdraws 203.0.113.21" 10 203.0.113.21 ""

exit_test
