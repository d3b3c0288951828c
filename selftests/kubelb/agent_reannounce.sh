#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# After a restart, kubelb-agent announces the local VIPs the kernel kept:
# node1's agent stops with --keep-on-exit (the kernel keeps its VIPs);
# meanwhile the client's neighbour entries for them point elsewhere (as
# when a peer took over while the agent was away); the new agent adds
# nothing (the kernel's table is right) yet sends, for each local VIP, a
# burst of garp_count gratuitous ARPs (IPv4) or unsolicited NAs with the
# override flag (IPv6) from node1's MAC, tcpdump on the client sees them,
# and the client's entries move back to node1. A routed (virtual) VIP is
# never announced.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api
require_cmd tcpdump

# a long lease: nobody else may matter while node1's agent is away
LEASE_S=20

agent_setup
api_start
node_add node1 || exit_test

A=10.9.0.100
A6=fd00:9::100
R=203.0.113.5
svc_add default/web "$A,$A6,$R"
read -r GARP_COUNT </sys/module/kubelb/parameters/garp_count
[ "$GARP_COUNT" -gt 0 ] || skip "garp_count is 0: no announcements to see"

agent_start node1 --keep-on-exit
LOCAL="mode local link eth0"
check_holders "$A held by node1" 30 $A node1 "$LOCAL"
check_holders "$A6 held by node1" 10 $A6 node1 "$LOCAL"
check_holders "$R held by node1" 10 $R node1 "mode virtual"
wait_log node1 'msg="initial state applied' 10

# burst_over IP: since the monitor's mark, node1's kernel reported a burst
# for IP and then its end (`kubelbctl monitor`: "announce ... announce idle")
burst_over() {
	local lines
	lines=$(mon_lines node1 "$1" announce)
	[[ $lines == *" announcing "* ]] && [[ ${lines##*$'\n'} == *" announce idle"* ]]
}
# the start's own bursts must be over before the capture starts
wait_for 30 eval "burst_over $A && burst_over $A6" ||
	fail "the first agent's announcement bursts did not end"

agent_stop node1 TERM 10
check_eq "node1's agent (--keep-on-exit) exits 0" 0 "${AGENT_RC[node1]}"
check "... and the kernel kept $A and $A6" eval \
	"holds_kernel node1 $A '$LOCAL' && holds_kernel node1 $A6 '$LOCAL'"

# while the agent is away the client learns another MAC for both VIPs;
# locktime 0: an announcement may override an entry however young
nsexec "$NS_CLIENT" sysctl -qw net.ipv4.neigh.eth0.locktime=0
OTHER=02:00:00:00:99:99
ip -n "$NS_CLIENT" neigh replace $A lladdr $OTHER dev eth0 nud stale
ip -n "$NS_CLIENT" -6 neigh replace $A6 lladdr $OTHER dev eth0 nud stale
check_eq "the client has $A and $A6 at another MAC" "$OTHER $OTHER" \
	"$(client_lladdr $A) $(client_lladdr $A6)"

capture_start CAP "$NS_CLIENT" eth0 arp or icmp6 || exit_test
mon_mark node1
t_start=$(now)
agent_start node1 --keep-on-exit
wait_log node1 'msg="initial state applied' 30

burst_done() {
	local g u
	read -r -a g <<<"$(announce_times $A "$MAC_NODE1" "$(capture_read CAP -v)")"
	read -r -a u <<<"$(announce_times $A6 "$MAC_NODE1" "$(capture_read CAP -v)")"
	[ ${#g[@]} -ge "$GARP_COUNT" ] && [ ${#u[@]} -ge "$GARP_COUNT" ]
}
wait_for 30 burst_done
wait_for 30 eval "burst_over $A && burst_over $A6" ||
	fail "no complete announcement burst for $A and $A6 in node1's kernel after the restart"
capture_stop CAP
log "restart to the end of the bursts: $(elapsed "$t_start") s"

read -r -a g <<<"$(announce_times $A "$MAC_NODE1" "$(capture_read CAP -v)")"
read -r -a u <<<"$(announce_times $A6 "$MAC_NODE1" "$(capture_read CAP -v)")"
check_eq "the new agent: exactly garp_count=$GARP_COUNT gratuitous ARPs for $A from node1" \
	"$GARP_COUNT" "${#g[@]}"
check_eq "the new agent: exactly garp_count=$GARP_COUNT unsolicited NAs (override) for $A6 from node1" \
	"$GARP_COUNT" "${#u[@]}"
check_eq "... though nothing was added, changed or deleted in node1's kernel (it kept them)" \
	"" "$(mon_events node1)"
check_eq "no announcement for the routed $R" "" \
	"$(capture_read CAP | grep -E "(who-has|tgt is) ${R//./\\.}[ ,]")"
check "the client's entries for $A and $A6 are node1's again" eval \
	"wait_for 10 lladdr_is $A $MAC_NODE1 && wait_for 10 lladdr_is $A6 $MAC_NODE1"
if [ "$RET" != "$KSFT_PASS" ]; then
	log "capture:"
	capture_read CAP | head -n 40 | log_file
fi

exit_test
