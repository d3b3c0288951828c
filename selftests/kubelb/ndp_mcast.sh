#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An IPv6 local VIP's solicited-node group (lan_setup, ip maddr, bridge mdb,
# ndisc6, tcpdump):
#  - the VIP's link lists the group (ip -6 maddr) while the VIP is local on
#    it, and only then: not when virtual, not after it moves to another
#    link (which lists it instead), not once deleted;
#  - on a bridge that snoops MLD (mcast_snooping on, the bridge as MLD
#    querier, its first query seen), a solicitation sent to the group (ndisc6: to the
#    solicited-node address, neither ff02::1 nor unicast) is forwarded to
#    no node before the VIP exists; once it is local on node1, the bridge
#    learns node1's membership from its MLD report, forwards the
#    solicitation to node1 only (node2 does not receive it) and node1
#    answers; the membership is withdrawn when the VIP is deleted;
#  - on a veth without promiscuity or allmulti (node1 eth1 - client eth1) a
#    solicitation to the group is answered (a veth filters no multicast:
#    this part does not depend on the join, the bridge's does).

source "$(dirname "$0")/lib.sh"
require_base
require_cmd ndisc6 tcpdump bridge

# groups shared with no address of lan_setup's hosts; the bridge's own
# (its table keeps a group left without a querier for 260 s)
VIP=fd00:9::5:abcd
GROUP=ff02::1:ff05:abcd
GROUP_MAC=33:33:ff:05:ab:cd
VIP_BR=fd00:9::7:abcd
GROUP_BR=ff02::1:ff07:abcd
GROUP_BR_MAC=33:33:ff:07:ab:cd
VIP1=fd00:9:1::6:abcd
GROUP1=ff02::1:ff06:abcd
GROUP1_MAC=33:33:ff:06:ab:cd

lan_setup

# maddr NS DEV: the link-layer and IP groups of DEV, one line
maddr() { ip -n "$1" maddr show dev "$2" | tr -s ' \t\n' ' '; }

lines_matching() {
	local re=$1 line
	while IFS= read -r line; do
		[[ $line =~ $re ]] && printf '%s\n' "$line"
	done <<<"$2"
}

# === the group on the VIP's link ================================================
check_not_contains "node1 eth0 is not in $GROUP before the VIP exists" \
	"$GROUP" "$(maddr "$NS_NODE1" eth0)"
check "node1: vip add $VIP mode local link eth0" klb "$NS_NODE1" vip add $VIP mode local link eth0
groups=$(maddr "$NS_NODE1" eth0)
check_contains "local on eth0: eth0 is in $GROUP" "inet6 $GROUP " "$groups"
check_contains "local on eth0: eth0 receives $GROUP_MAC" "link $GROUP_MAC " "$groups"
check_not_contains "local on eth0: eth1 is not in $GROUP" "$GROUP" "$(maddr "$NS_NODE1" eth1)"
check "node1: vip replace $VIP mode virtual" klb "$NS_NODE1" vip replace $VIP mode virtual
check_not_contains "virtual: eth0 left $GROUP" "$GROUP" "$(maddr "$NS_NODE1" eth0)"
check "node1: vip replace $VIP mode local link eth1" klb "$NS_NODE1" vip replace $VIP mode local link eth1
check_contains "local on eth1: eth1 is in $GROUP" "inet6 $GROUP " "$(maddr "$NS_NODE1" eth1)"
check_not_contains "local on eth1: eth0 is not" "$GROUP" "$(maddr "$NS_NODE1" eth0)"
check "node1: vip replace $VIP mode local link eth0" klb "$NS_NODE1" vip replace $VIP mode local link eth0
check_contains "local on eth0 again: eth0 is in $GROUP" "inet6 $GROUP " "$(maddr "$NS_NODE1" eth0)"
check_not_contains "local on eth0 again: eth1 left it" "$GROUP" "$(maddr "$NS_NODE1" eth1)"
check "node1: vip del $VIP" klb "$NS_NODE1" vip del $VIP
check_not_contains "deleted: eth0 left $GROUP" "$GROUP" "$(maddr "$NS_NODE1" eth0)"

# nd_ask VIP IF: the client solicits VIP on IF (ndisc6: to VIP's
# solicited-node group), one try, waits 1 s; nd_answer: its output, lower case
nd_ask() { nsexec "$NS_CLIENT" ndisc6 -n -r 1 -w 1000 "$@" >"$TMPD/nd.out" 2>&1; }
nd_answer() { local out; _slurp out "$TMPD/nd.out"; echo "${out,,}"; }

# burst_over NS VIP: VIP's announcements (unsolicited NAs, which ndisc6
# would count as answers) are over
burst_over() { [[ $(klb "$1" vip show "$2") != *announcing* ]]; }

# === a bridge snooping MLD =====================================================
# The bridge is the querier (it needs an IPv6 address for that); with a
# querier present it forwards a group only to the ports that reported it.
# It trusts its table once it has queried and the response interval (here
# 10 ms) has passed; a query it could not send (no address yet) would leave
# it flooding until the next one, 30 s later: wait for its first query
# (MLD has a hop-by-hop header: tcpdump's "icmp6" does not match it).
capture_start CAPQ "$NS_NODE2" eth0 ip6
ip -n "$NS_LAN" -batch - <<EOF || fail "bridge: snooping and querier"
link set br0 type bridge mcast_snooping 1 mcast_query_response_interval 1
addr add fe80::b/64 dev br0 nodad
link set br0 type bridge mcast_querier 1
EOF
check_match "br0 snoops MLD and is the querier" "mcast_snooping 1 .*mcast_querier 1 " \
	"$(ip -n "$NS_LAN" -d link show dev br0 | tr -s ' \n' ' ')"
bridge_queried() {
	_has_line "^[0-9.]+ [0-9a-f:]+ > 33:33:00:00:00:01, .* fe80::b > ff02::1: .*multicast listener query" \
		"$(capture_read CAPQ -v)"
}
check "the bridge's MLD query reaches node2" wait_for 20 bridge_queried
capture_stop CAPQ
# mdb_has PORT GROUP: the bridge forwards GROUP to PORT
mdb_has() { [[ $(bridge -n "$NS_LAN" mdb show dev br0) == *"port $1 grp $2 "* ]]; }
check "the bridge learns node2's own solicited-node group (fd00:9::12's) from its report" \
	wait_for 20 mdb_has lan-node2 ff02::1:ff00:12
check_eq "no port is in $GROUP_BR yet" "" \
	"$(bridge -n "$NS_LAN" mdb show dev br0 | grep "grp $GROUP_BR ")"

capture_start CAPC "$NS_CLIENT" eth0 icmp6
capture_start CAPN1 "$NS_NODE1" eth0 icmp6
capture_start CAPN2 "$NS_NODE2" eth0 icmp6
# before the VIP exists: nobody joined the group
nsexec "$NS_CLIENT" ndisc6 -n -r 1 -w 300 $VIP_BR eth0 >/dev/null 2>&1
t_join=$EPOCHREALTIME
check "node1: vip add $VIP_BR mode local link eth0" klb "$NS_NODE1" vip add $VIP_BR mode local link eth0
check "the bridge learns node1's membership of $GROUP_BR (its MLD report)" \
	wait_for 20 mdb_has lan-node1 $GROUP_BR
check_eq "... for lan-node1 only" "" \
	"$(bridge -n "$NS_LAN" mdb show dev br0 | grep "grp $GROUP_BR " | grep -v "port lan-node1 ")"
check "node1's announcements of $VIP_BR are over" wait_for 20 burst_over "$NS_NODE1" $VIP_BR
check "the client's solicitation for $VIP_BR is answered" \
	nd_ask $VIP_BR eth0
check_match "... by node1" "^target link-layer address: $MAC_NODE1" "$(nd_answer)"
capture_stop CAPC
capture_stop CAPN1
capture_stop CAPN2
pc=$(capture_read CAPC -v)
p1=$(capture_read CAPN1 -v)
p2=$(capture_read CAPN2 -v)
ns_re="neighbor solicitation, length [0-9]+, who has $VIP_BR"
check_match "the client's solicitations go to $GROUP_BR ($GROUP_BR_MAC)" \
	"^[0-9.]+ $MAC_CLIENT > $GROUP_BR_MAC, .* > $GROUP_BR: .*$ns_re" "$pc"
check_eq "... and nowhere else (not ff02::1, not unicast)" "" \
	"$(lines_matching "$ns_re" "$pc" | grep -v " $MAC_CLIENT > $GROUP_BR_MAC, ")"
# count_before_after T PKTS: "N M", the packets of PKTS before T and from T
# on (tcpdump -tt and $EPOCHREALTIME timestamps compare as strings)
count_before_after() {
	local line before=0 after=0
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		if [ "${line%% *}" \< "$1" ]; then
			before=$((before + 1))
		else
			after=$((after + 1))
		fi
	done <<<"$2"
	echo "$before $after"
}
check_eq "the client sent one solicitation before node1 joined, one after" "1 1" \
	"$(count_before_after "$t_join" "$(lines_matching "$ns_re" "$pc")")"
read -r n_before n_after <<<"$(count_before_after "$t_join" "$(lines_matching "$ns_re" "$p1")")"
check_eq "node1 did not receive the solicitation sent before it joined" 0 "$n_before"
check_eq "node1 received the one sent after it joined" 1 "$n_after"
check_eq "node2 (not a member) received no solicitation for $VIP_BR" "" \
	"$(lines_matching "$ns_re" "$p2")"
check_match "node1 answered the client (solicited NA, its MAC)" \
	"^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, .*tgt is $VIP_BR, Flags \[solicited, override\].*: $MAC_NODE1" "$pc"
if [ "$RET" != 0 ]; then
	log "client eth0:"
	log_file <<<"$pc"
	log "node1 eth0:"
	log_file <<<"$p1"
fi
check "node1: vip del $VIP_BR" klb "$NS_NODE1" vip del $VIP_BR
check "the bridge forgets node1's membership (its MLD done)" \
	wait_for 20 eval "! mdb_has lan-node1 $GROUP_BR"

# === a veth without promiscuity or allmulti ====================================
check "node1: vip add $VIP1 mode local link eth1" klb "$NS_NODE1" vip add $VIP1 mode local link eth1
check_contains "eth1 is in $GROUP1" "inet6 $GROUP1 " "$(maddr "$NS_NODE1" eth1)"
link=$(ip -n "$NS_NODE1" -d link show dev eth1 | tr -s ' \n' ' ')
check_match "node1 eth1 is a veth, neither promiscuous nor allmulti" \
	"^[0-9]+: eth1@[^ ]+ <[A-Z_,]+> .* promiscuity 0 .*veth" "$link"
check_not_contains "... (flags)" "PROMISC" "$link"
check_not_contains "... (flags)" "ALLMULTI" "$link"
check "node1's announcements of $VIP1 are over" wait_for 20 burst_over "$NS_NODE1" $VIP1
capture_start CAPC "$NS_CLIENT" eth1 icmp6
check "the client's solicitation for $VIP1 on eth1 is answered" \
	nd_ask $VIP1 eth1
check_match "... by node1's eth1" "^target link-layer address: $MAC_NODE1_ETH1" "$(nd_answer)"
capture_stop CAPC
pc=$(capture_read CAPC -v)
ns_re="neighbor solicitation, length [0-9]+, who has $VIP1"
check_match "the solicitation went to $GROUP1 ($GROUP1_MAC)" \
	"^[0-9.]+ $MAC_CLIENT1 > $GROUP1_MAC, .* > $GROUP1: .*$ns_re" "$pc"
check_eq "... and nowhere else" "" \
	"$(lines_matching "$ns_re" "$pc" | grep -v " $MAC_CLIENT1 > $GROUP1_MAC, ")"
if [ "$RET" != 0 ]; then
	log "client eth1:"
	log_file <<<"$pc"
fi

exit_test
