#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent compares its view with the kernel every --resync-interval
# (here 2 s; 60 by default) and puts back what someone else removed: VIPs
# of its own deleted behind its back with `kubelbctl vip del` (a local
# IPv4, a local IPv6 and a routed one) come back as they were, owner,
# mode and link included; an operator's VIP (owner 0) deleted the same way
# is not the agent's business and stays deleted.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

agent_setup
api_start
node_add node1 || exit_test

A=10.9.0.100
A6=fd00:9::100
R=203.0.113.5
OP=10.9.0.250		# an operator's VIP
svc_add default/web "$A,$A6,$R"
check "operator: vip add $OP mode local link eth0 (owner 0)" \
	klb "$NS_NODE1" vip add $OP mode local link eth0

agent_start node1 --resync-interval 2
LOCAL="mode local link eth0"
check_holders "$A held by node1" 30 $A node1 "$LOCAL"
check_holders "$A6 held by node1" 10 $A6 node1 "$LOCAL"
check_holders "$R held by node1" 10 $R node1 "mode virtual"
wait_log node1 'msg="initial state applied' 10

mon_mark node1
printf 'vip del %s\n' $A $A6 $R $OP >"$TMPD/del.txt"
check "behind the agent's back: vip del $A, $A6, $R and the operator's $OP" \
	klb "$NS_NODE1" -b "$TMPD/del.txt"
check_holders "the resync puts $A back, local on eth0" 30 $A node1 "$LOCAL"
check_holders "the resync puts $A6 back, local on eth0" 30 $A6 node1 "$LOCAL"
check_holders "the resync puts $R back, virtual" 30 $R node1 "mode virtual"
for ip in $A $A6 $R; do
	check_match "node1's monitor: $ip deleted, then added again" \
		"^del ${ip//./\\.}/.*\\|add ${ip//./\\.}/" "$(mon_lines node1 $ip | tr '\n' '|')"
done
# two more resyncs: the operator's VIP must not come back
loads() { agent_log_count node1 'msg="kernel VIPs of ours loaded'; }
n0=$(loads)
t0=$(now)
wait_for 15 eval '[ "$(loads)" -ge $((n0 + 2)) ]' ||
	fail "the agent did not re-read the kernel's VIPs twice more in 15 s"
log "two more resyncs seen in $(elapsed "$t0") s"
check_eq "the operator's $OP stays deleted (owner 0: not the agent's)" "" \
	"$(vip_line_kernel node1 $OP)"

exit_test
