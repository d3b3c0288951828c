#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent on node1 and node2 (lease 2 s) while the API server
# misbehaves (POST /_fake/fault) or cannot be reached: after each fault a
# change made in the API (a new Service, an endpoint, a deleted Service)
# reaches both kernels in a bounded time (measured); and throughout,
# nothing that should stay is withdrawn or moved: the kernels' event
# streams show no event at all for the on-link VIP (node1's) and the
# routed one (both). Faults: the Leases watch cut again and again for 4 s
# (renewals work); 401 once on a Service re-watch; 500s on an
# EndpointSlice re-watch; 500s and a 401 on Lease renewals; every request
# stalled 4 s (longer than the lease: nobody may take over); the API
# server unreachable for 4 s (packets dropped); every watch cut, fed a
# non-JSON line; history expired (410 on re-watch, relist: a deletion
# must be noticed).

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

agent_setup
api_start
node_add node1 && node_add node2 || exit_test

A=$(ip_with_order 10.9.0. 100 node1 node2)
R=203.0.113.5
svc_add default/web "$A,$R"
agent_start node1
agent_start node2
check_holders "$A held by node1" 30 $A node1 "mode local link eth0"
check_holders "$R held by both" 10 $R "node1 node2" "mode virtual"
mon_mark node1
mon_mark node2

# fault_json JSON: POST /_fake/fault
fault_json() { api_ok "fault $1" POST /_fake/fault "$1" >/dev/null; }

# pending KEY: the fake's pending fault count (unauthorized, error)
pending() { API_QUERY="faults|$1" api GET /_fake/stats; }
none_pending() { [ "$(pending "$1")" = 0 ]; }

# change_reaches DESC BUDGET [T0]: add Service default/pN with the routed
# IP 203.0.113.N; both nodes must hold it within BUDGET seconds of T0
# (default: now); prints the time taken
N=30
change_reaches() {
	local desc=$1 budget=$2 t0=${3:-} ip
	[ -n "$t0" ] || t0=$(now)
	N=$((N + 1))
	ip=203.0.113.$N
	svc_add default/p$N $ip || return
	if wait_for "$budget" _holders_are $ip "node1 node2"; then
		pass "$desc: a Service added then reaches both kernels ($(elapsed "$t0") s)"
	else
		fail "$desc: new Service's $ip held by '$(holders $ip)' after $(elapsed "$t0") s"
	fi
}

# A watch whose stream breaks is resumed at once; failed requests go
# through the backoff (0.8 s doubling, per watch, reset after 2 minutes
# without an error): the faults aimed at one watch come first, the ones
# that break every watch last.

# --- the Leases watch broken again and again for 4 s ----------------------------------------
# Lease renewals (other requests) still work: the agents are in contact
# but blind to their peers' renewals. Nobody may be declared dead for it.
# (the repeated cuts over 4 s are what is tested: slept, not waited on)
t0=$(now)
while [ "$(elapsed "$t0" | cut -d. -f1)" -lt 4 ]; do
	fault_json '{"kind":"cut","path":"/apis/coordination.k8s.io"}'
	sleep 0.3
done
change_reaches "the Leases watch cut repeatedly for 4 s" 8
# a wrongly expired peer is taken over up to a lease duration later
sleep $LEASE_S
check_eq "... node2 did not take $A over meanwhile" "" "$(mon_lines node2 $A)"
mon_mark node2

# --- request faults on the re-watch of one resource ---------------------------------------------
fault_json '{"kind":"unauthorized","count":1,"path":"/api/v1/services"}'
fault_json '{"kind":"cut","path":"/api/v1/services"}'
wait_for 10 none_pending unauthorized ||
	fail "no Service re-watch met the 401: $(pending unauthorized) left"
change_reaches "401 once on a Service re-watch" 6

# an ETP Local Service with a routed IP, its endpoint on node1: the
# EndpointSlice watch must work for node2 to add it
E=203.0.113.29
svc_add default/e "$E" etp=Local
slice_set default/e node1
check_holders "ETP Local $E with an endpoint on node1: node1 only" 10 $E node1
fault_json '{"kind":"error","count":2,"status":500,"path":"/apis/discovery.k8s.io"}'
fault_json '{"kind":"cut","path":"/apis/discovery.k8s.io"}'
wait_for 10 none_pending error ||
	fail "the EndpointSlice re-watches did not meet the 500s: $(pending error) left"
t0=$(now)
slice_set default/e node1 node2
if wait_holders 8 $E "node1 node2"; then
	pass "500s on the EndpointSlice re-watch: an endpoint added then reaches node2 ($(elapsed "$t0") s)"
else
	fail "500s on the EndpointSlice re-watch: $E held by '$(holders $E)' after $(elapsed "$t0") s"
fi

# Lease writes: 500s, then a 401 (the renewals go on)
fault_json '{"kind":"error","count":2,"status":500,"path":"/apis/coordination.k8s.io/v1/namespaces/'$AGENT_NS'/leases/"}'
wait_for 5 none_pending error || fail "the Lease renewals did not meet the 500s"
change_reaches "500s on Lease renewals" 5
fault_json '{"kind":"unauthorized","count":1,"path":"/apis/coordination.k8s.io/v1/namespaces/'$AGENT_NS'/leases/"}'
wait_for 5 none_pending unauthorized || fail "no Lease renewal met the 401"
change_reaches "401 once on a Lease renewal" 5

# --- stalls: every request and watch hangs ------------------------------------------------------
t0=$(now)
fault_json '{"kind":"stall","seconds":4}'
# this request itself hangs until the stall is over
change_reaches "everything stalled 4 s (time from the stall's start)" 10 "$t0"

# --- the API server unreachable: packets dropped ------------------------------------------------
ip -n "$NS_LAN" addr del $API_ADDR/24 dev br0
# the 4 s without the server are what is tested
sleep 4
ip -n "$NS_LAN" addr add $API_ADDR/24 dev br0
t1=$(now)
change_reaches "the API server unreachable for 4 s (time from its return)" 15 "$t1"

# --- every watch at once ------------------------------------------------------------------------
fault_json '{"kind":"cut"}'
change_reaches "every watch cut" 6
fault_json '{"kind":"garbage"}'
change_reaches "a garbage line in every watch" 8

# expire: every re-watch gets the 410 ERROR event; the agents must list
# again, and notice from the list alone that a Service is gone
fault_json '{"kind":"expire","cut":true}'
svc_del default/p31
change_reaches "history expired (410 on re-watch)" 10
check_holders "... and the Service deleted meanwhile is withdrawn (relist)" 5 203.0.113.31 ""
check_match "the agents logged the 410" 'expired|410' \
	"$(cat "${AGENT_LOG[node1]}" "${AGENT_LOG[node2]}")"

# --- the kernels never changed for the VIPs that stayed ------------------------------------------
check_eq "node1's kernel: no event for $A or $R during all faults" "" \
	"$(mon_lines node1 $A; mon_lines node1 $R)"
check_eq "node2's kernel: no event for $A or $R after that (never took $A over)" "" \
	"$(mon_lines node2 $A; mon_lines node2 $R)"
check_holders "$A still held by node1 alone" 1 $A node1 "mode local link eth0"
check "node1's agent still running" agent_running node1
check "node2's agent still running" agent_running node2

exit_test
