#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent stops and starts without a traffic blip, as the kernel's
# event stream (`kubelbctl monitor` in each node) shows:
#  - --keep-on-exit: SIGTERM leaves the kernel state and the Lease; the
#    agent started again applies only what changed meanwhile (a deleted
#    Service's VIP goes, a new one comes) and neither withdraws nor re-adds
#    anything else; the peer never takes over;
#  - an agent that cannot reach the API server at start touches nothing
#    until it has listed everything;
#  - VIPs an operator added by hand (owner 0) are never touched;
#  - a plain SIGTERM of the only holder: nobody confirms a takeover, so it
#    waits (about 3 s) and then withdraws everything of its own; the peer
#    takes over once the Lease is gone.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

# a long lease: node1's restarts must fit in it easily under TCG (node2
# would rightly take over after it)
LEASE_S=20

agent_setup
api_start
node_add node1 && node_add node2 || exit_test

A=$(ip_with_order 10.9.0. 100 node1 node2)
A6=$(ip_with_order fd00:9:: 100 node1 node2)
G=$(ip_with_order 10.9.0. $((${A##*.} + 1)) node1 node2)
R=203.0.113.5
N=203.0.113.6
OP=10.9.0.250		# an operator's VIP on node1
log "VIPs: A=$A A6=$A6 G=$G (node1 first), routed R=$R, new N=$N"
svc_add default/web "$A,$A6,$R"
svc_add default/gone "$G"
check "operator: vip add $OP mode local link eth0 (owner 0)" \
	klb "$NS_NODE1" vip add $OP mode local link eth0

agent_start node1 --keep-on-exit
agent_start node2
LOCAL="mode local link eth0"
check_holders "$A held by node1" 30 $A node1 "$LOCAL"
check_holders "$A6 held by node1" 10 $A6 node1 "$LOCAL"
check_holders "$G held by node1" 10 $G node1 "$LOCAL"
check_holders "$R held by both" 10 $R "node1 node2" "mode virtual"
wait_log node2 'msg="synced' 10
check "the operator's $OP is still there, owner 0" \
	eval "[[ \"\$(vip_line node1 $OP)\" == *'mode local link eth0' ]]"
# table NODE: its `vip show`, announcement states aside (a burst may be on)
table() { klb "${NODE_NS[$1]}" vip show | sed 's/ announc.*//'; }
before1=$(table node1)
mon_mark node1
mon_mark node2

# --- --keep-on-exit ----------------------------------------------------------------------
t0=$(now)
agent_stop node1 TERM 10
log "node1's agent (--keep-on-exit) exited $(elapsed "$t0") s after SIGTERM"
check_eq "... with status 0" 0 "${AGENT_RC[node1]}"
check_eq "node1's kernel table unchanged" "$before1" "$(table node1)"
check "node1's Lease is still there" lease node1

# while it is down: one Service goes, one comes
svc_del default/gone
svc_add default/new "$N"
check_holders "node2 adds the new $N" 10 $N node2 "mode virtual"
t0=$(now)
agent_start node1 --keep-on-exit
check_holders "node1 restarted: $N added" 20 $N "node1 node2" "mode virtual"
check_holders "... $G (its Service deleted meanwhile) withdrawn" 10 $G ""
log "node1 converged $(elapsed "$t0") s after the restart"
mon_sync node1 node2 || fail "the monitors did not catch up"
for ip in $A $A6 $R $OP; do
	check_eq "node1's monitor: no event for $ip across the restart" "" "$(mon_lines node1 $ip)"
done
check_eq "node2's monitor: node2 never took $A or $A6 over" "" \
	"$(mon_lines node2 $A; mon_lines node2 $A6)"
check_contains "node1's monitor: del of $G" "del $G/32" "$(mon_lines node1 $G)"
check_contains "node1's monitor: add of $N" "add $N/32" "$(mon_lines node1 $N)"
check_eq "node1's monitor: nothing else (2 events)" 2 "$(mon_events node1 | wc -l)"

# --- start while the API server is unreachable ----------------------------------------
# SIGKILL leaves everything; node1 cannot reach the API server for longer
# than the start takes (well within node1's lease: node2 must not move);
# the new agent must wait, not withdraw
agent_stop node1 KILL
before2=$(table node1)
mon_mark node1
mon_mark node2
ip -n "$NS_NODE1" route add unreachable $API_ADDR/32
agent_start node1 --keep-on-exit
# what is tested: nothing is withdrawn while the API server stays away
sleep 2.5
check "node1's agent waits for the API server (still running)" agent_running node1
check "... and has not synced" eval '! agent_synced node1'
check_eq "... nothing withdrawn meanwhile" "$before2" "$(table node1)"
t0=$(now)
ip -n "$NS_NODE1" route del unreachable $API_ADDR/32
if wait_for 20 agent_synced node1; then
	pass "node1's agent syncs $(elapsed "$t0") s after the API server became reachable"
else
	fail "node1's agent did not sync within 20 s of the API server becoming reachable"
fi
mon_sync node1 node2 || fail "the monitors did not catch up"
check_eq "no event on node1 for $A $A6 $R $N $OP" "" \
	"$(for ip in $A $A6 $R $N $OP; do mon_lines node1 $ip; done)"
check_eq "no event on node2 for $A $A6 $R $N" "" \
	"$(for ip in $A $A6 $R $N; do mon_lines node2 $ip; done)"

# --- plain SIGTERM: withdraw ------------------------------------------------------------------
# node2 first: it holds no local VIP, so it withdraws at once
t0=$(now)
agent_stop node2 TERM 10
log "node2's agent exited $(elapsed "$t0") s after SIGTERM (no local VIP to hand over)"
check_eq "... with status 0" 0 "${AGENT_RC[node2]}"
check_eq "node2 withdrew everything of its own" "" \
	"$(klb "$NS_NODE2" vip show | grep " owner $AGENT_OWNER")"
check "node2's Lease is gone" lease_absent node2
check_holders "node1 keeps $R" 1 $R node1
# node1 restarted without --keep-on-exit, then stopped: no peer to take over
agent_stop node1 KILL
agent_start node1
wait_log node1 'msg="synced' 20
t0=$(now)
agent_stop node1 TERM 15
secs=$(elapsed "$t0")
check_eq "node1's agent exits 0 after SIGTERM" 0 "${AGENT_RC[node1]}"
check_match "... after waiting for a takeover nobody confirmed" 'peers did not confirm' \
	"$(<"${AGENT_LOG[node1]}")"
log "node1's agent, the only holder, exited $secs s after SIGTERM"
check "... within 2..6 s (it waits about 3 s for peers)" \
	eval "[ ${secs%.*} -ge 2 ] && [ ${secs%.*} -lt 6 ]"
check_eq "node1 withdrew everything of its own" "" \
	"$(klb "$NS_NODE1" vip show | grep " owner $AGENT_OWNER")"
check "the operator's $OP survived everything" eval "vip_line node1 $OP >/dev/null"

exit_test
