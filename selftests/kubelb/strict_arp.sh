#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Strict ARP as a client on the LAN sees it (lan_setup: client, node1,
# node2 on a bridge, node1 also on a second segment to the client), with
# iputils arping, ping, ip neigh and tcpdump:
#  - baseline without kubelb (the VIP on a dummy of both nodes): 2 replies
#    per request, node1 also answers on its second interface, and node2
#    leaks the address as the sender of its own ARP requests;
#  - virtual VIP on both nodes: no reply (broadcast, DAD, second segment),
#    and node2's requests use 10.9.0.12 as sender, not the VIP;
#  - local VIP on node1 (link eth0), virtual on node2: exactly one reply per
#    request, from node1's MAC, broadcast and unicast, also to a DAD probe,
#    whatever node1's arp_ignore/arp_announce/arp_filter/arp_accept, and
#    also when node2 has the VIP as an address on its eth0; none on the
#    second segment; the client's entry goes STALE -> PROBE (a unicast
#    request to node1) -> REACHABLE;
#  - addresses put on kubelb devices with `ip addr add` (kube-lb0 and a
#    kubelb device named kube-ipvs0): never answered, never an ARP sender.

source "$(dirname "$0")/lib.sh"
require_base
require_cmd arping tcpdump ping

VIP=10.9.0.100

lan_setup
# fast NUD on the client: REACHABLE for 0.25..0.75 s, then STALE; a packet
# to a STALE entry starts the unicast probe at once
nsexec "$NS_CLIENT" sysctl -q -w net.ipv4.neigh.eth0.base_reachable_time_ms=500 \
	net.ipv4.neigh.eth0.delay_first_probe_time=0 || fail "client neigh sysctls"

# --- arping ------------------------------------------------------------------
# arp_start NAME NS ARGS...: arping ARGS in NS, in the background
# arp_result NAME: once it is over, prints "sent=N bcast=B recv=R from: MAC*n ..."
# (replies counted per sender MAC, in the order node1 eth0, node1 eth1,
# node2, others), and keeps the output in $TMPD/NAME.arp
declare -A ARP_PID
arp_start() {
	local name=$1 ns=$2
	shift 2
	nsexec "$ns" arping "$@" >"$TMPD/$name.arp" 2>&1 &
	ARP_PID[$name]=$!
}
arp_result() {
	local name=$1 line sent='?' bcast='?' recv='?' mac from='' m
	local -A n=()
	local -a order=("$MAC_NODE1" "$MAC_NODE1_ETH1" "$MAC_NODE2")
	while IFS= read -r line; do
		if [[ $line =~ ^(Unicast|Broadcast)\ reply\ from\ [0-9.]+\ \[([0-9A-Fa-f:]+)\] ]]; then
			mac=${BASH_REMATCH[2],,}
			[ -z "${n[$mac]:-}" ] && [[ " ${order[*]} " != *" $mac "* ]] && order+=("$mac")
			n[$mac]=$((${n[$mac]:-0} + 1))
		elif [[ $line =~ ^Sent\ ([0-9]+)\ probes\ \(([0-9]+)\ broadcast ]]; then
			sent=${BASH_REMATCH[1]} bcast=${BASH_REMATCH[2]}
		elif [[ $line =~ ^Received\ ([0-9]+)\ response ]]; then
			recv=${BASH_REMATCH[1]}
		fi
	done <"$TMPD/$name.arp"
	for m in "${order[@]}"; do
		[ -n "${n[$m]:-}" ] && from+=" $m*${n[$m]}"
	done
	echo "sent=$sent bcast=$bcast recv=$recv from:$from"
}
# check_arp DESC EXPECTED NAME: arp_result NAME must be EXPECTED
check_arp() {
	local res
	wait "${ARP_PID[$3]}"
	res=$(arp_result "$3")
	check_eq "$1" "$2" "$res"
	[ "$2" = "$res" ] || log_file "$TMPD/$3.arp"
}

# lines of capture CAP that match ERE
cap_grep() {
	local re=$1 line
	while IFS= read -r line; do
		[[ $line =~ $re ]] && printf '%s\n' "$line"
	done <<<"$2"
}
# ERE for an ARP packet whose sender IP is $1 (request "tell $1" or
# reply "$1 is-at"), with Ethernet source $2
arp_sender_re() {
	local ip=${1//./\\.}
	echo "^[0-9.]+ $2 > .*ethertype ARP.*(tell $ip,|Reply $ip is-at)"
}

# client_neigh ADDR: the client's neighbour entry for ADDR on eth0
client_neigh() { ip -n "$NS_CLIENT" neigh show "$1" dev eth0; }

# node_ping_from NODE SRC: NODE pings the client from SRC, with an empty
# neighbour table (so that it sends an ARP request for 10.9.0.1 first);
# the ping itself fails unless the client can reach SRC
node_ping_from() {
	ip -n "$1" neigh flush dev eth0
	nsexec "$1" ping -c 1 -W 1 -I "$2" 10.9.0.1 >/dev/null 2>&1
}

# === baseline: the VIP as an ordinary address, no kubelb ====================
ip -n "$NS_NODE1" link add dummy0 type dummy &&
	ip -n "$NS_NODE1" link set dummy0 up &&
	ip -n "$NS_NODE1" addr add $VIP/32 dev dummy0 || fail "baseline dummy0 in node1"
ip -n "$NS_NODE2" link add dummy0 type dummy &&
	ip -n "$NS_NODE2" link set dummy0 up &&
	ip -n "$NS_NODE2" addr add $VIP/32 dev dummy0 || fail "baseline dummy0 in node2"

arp_start base "$NS_CLIENT" -b -c 2 -I eth0 $VIP
arp_start base1 "$NS_CLIENT" -b -c 2 -I eth1 -s 10.9.1.1 $VIP
check_arp "baseline (plain dummy0 on both nodes): arping gets 2 replies per request" \
	"sent=2 bcast=2 recv=4 from: $MAC_NODE1*2 $MAC_NODE2*2" base
check_arp "baseline: node1 answers on its second interface too" \
	"sent=2 bcast=2 recv=2 from: $MAC_NODE1_ETH1*2" base1

capture_start CAP "$NS_CLIENT" eth0 arp
node_ping_from "$NS_NODE2" $VIP
capture_stop CAP
pkts=$(capture_read CAP)
check_match "baseline: node2 sends its ARP request for the client with the VIP as sender" \
	"$(arp_sender_re $VIP "$MAC_NODE2")" "$pkts"
check_contains "baseline: ... and the client maps the VIP to node2's MAC" \
	"lladdr $MAC_NODE2" "$(client_neigh $VIP)"

ip -n "$NS_NODE1" link del dummy0
ip -n "$NS_NODE2" link del dummy0
ip -n "$NS_CLIENT" neigh flush dev eth0

# === virtual VIP on both nodes =================================================
check "node1: vip add $VIP (virtual)" klb "$NS_NODE1" vip add $VIP
check "node2: vip add $VIP (virtual)" klb "$NS_NODE2" vip add $VIP
check "the VIP is deliverable on node1" nsexec "$NS_NODE1" ping -c 1 -W 2 $VIP

arp_start virt "$NS_CLIENT" -b -c 3 -I eth0 $VIP
arp_start virt1 "$NS_CLIENT" -b -c 2 -I eth1 -s 10.9.1.1 $VIP
arp_start virtdad "$NS_CLIENT" -D -c 2 -I eth0 $VIP
check_arp "virtual VIP on both nodes: arping gets no reply" \
	"sent=3 bcast=3 recv=0 from:" virt
check_arp "virtual: no reply on node1's second interface" \
	"sent=2 bcast=2 recv=0 from:" virt1
check_arp "virtual: no reply to a DAD probe (sender 0.0.0.0)" \
	"sent=2 bcast=2 recv=0 from:" virtdad

# sender rewrite: node2 talks to the client from the VIP it holds virtual
capture_start CAP "$NS_CLIENT" eth0 arp
node_ping_from "$NS_NODE2" $VIP
capture_stop CAP
pkts=$(capture_read CAP)
check_match "virtual: node2's ARP request for the client has sender 10.9.0.12" \
	"^[0-9.]+ $MAC_NODE2 > ff:ff:ff:ff:ff:ff, ethertype ARP.*Request who-has 10\.9\.0\.1 tell 10\.9\.0\.12," "$pkts"
check_eq "virtual: the client sees no ARP packet with the VIP as sender" "" \
	"$(cap_grep "$(arp_sender_re $VIP '[0-9a-f:]+')" "$pkts")"
check_not_contains "virtual: the client does not map the VIP to node2's MAC" \
	"$MAC_NODE2" "$(client_neigh $VIP)"
ip -n "$NS_CLIENT" neigh flush dev eth0

# === local VIP on node1, link eth0; virtual on node2 ===========================
bg_start MON ip -n "$NS_CLIENT" monitor neigh >>"$TMPD/mon.out"
capture_start CAP "$NS_CLIENT" eth0 arp
check "node1: vip replace $VIP mode local link eth0" \
	klb "$NS_NODE1" vip replace $VIP mode local link eth0

arp_start loc "$NS_CLIENT" -b -c 3 -I eth0 $VIP
arp_start loc1 "$NS_CLIENT" -b -c 2 -I eth1 -s 10.9.1.1 $VIP
check_arp "local on node1: exactly one reply per broadcast request, from node1's MAC" \
	"sent=3 bcast=3 recv=3 from: $MAC_NODE1*3" loc
check_arp "local on node1 (link eth0): no reply on node1's second interface" \
	"sent=2 bcast=2 recv=0 from:" loc1
# without -b arping sends its requests after the first reply unicast to
# the MAC that answered
arp_start uni "$NS_CLIENT" -c 2 -I eth0 $VIP
check_arp "local: a unicast request is answered, once, by node1" \
	"sent=2 bcast=1 recv=2 from: $MAC_NODE1*2" uni
# after the announcement burst (a gratuitous ARP counts as a DAD reply)
arp_start dad "$NS_CLIENT" -D -c 2 -I eth0 $VIP
check_arp "local: a DAD probe (sender 0.0.0.0) is answered by node1" \
	"sent=1 bcast=1 recv=1 from: $MAC_NODE1*1" dad

# sysctls that change Linux's own ARP replies change nothing
nsexec "$NS_NODE1" sysctl -q -w net.ipv4.conf.all.arp_ignore=2 net.ipv4.conf.all.arp_announce=2 \
	net.ipv4.conf.all.arp_filter=1 net.ipv4.conf.all.arp_accept=1 || fail "node1 sysctls"
arp_start sys "$NS_CLIENT" -b -c 1 -I eth0 $VIP
check_arp "node1 with arp_ignore=2 arp_announce=2 arp_filter=1 arp_accept=1: same answer" \
	"sent=1 bcast=1 recv=1 from: $MAC_NODE1*1" sys
nsexec "$NS_NODE1" sysctl -q -w net.ipv4.conf.all.arp_ignore=8 || fail "node1 arp_ignore=8"
arp_start sys8 "$NS_CLIENT" -b -c 1 -I eth0 $VIP
check_arp "node1 with arp_ignore=8 (never reply): same answer" \
	"sent=1 bcast=1 recv=1 from: $MAC_NODE1*1" sys8

# the VIP as an ordinary address on node2's eth0, where node2 holds it virtual
check "node2: ip addr add $VIP/32 dev eth0" ip -n "$NS_NODE2" addr add $VIP/32 dev eth0
arp_start addr2 "$NS_CLIENT" -b -c 2 -I eth0 $VIP
check_arp "VIP also an address on node2's eth0: still only node1 answers" \
	"sent=2 bcast=2 recv=2 from: $MAC_NODE1*2" addr2
ip -n "$NS_NODE2" addr del $VIP/32 dev eth0

# NUD: REACHABLE (the ping) -> STALE (0.25..0.75 s later) -> a packet ->
# PROBE (a unicast request to node1) -> REACHABLE; `ip monitor neigh` shows
# each of these changes (not DELAY)
VIPRE=${VIP//./\\.}
# mon_seq: the client's changes to its entry for the VIP so far, "|"-joined
mon_seq() {
	local line seq=
	while IFS= read -r line; do
		[[ $line =~ ^$VIPRE\ dev\ eth0\  ]] && seq+="${seq:+|}${line% }"
	done <"$TMPD/mon.out"
	echo "$seq"
}
mon_has() { [[ $(mon_seq) =~ $1 ]]; }
check "client pings the VIP" nsexec "$NS_CLIENT" ping -c 1 -W 2 $VIP
if wait_for 10 mon_has "lladdr $MAC_NODE1 STALE\$"; then
	pass "the client's entry for the VIP becomes STALE"
else
	fail "the client's entry for the VIP does not become STALE: $(mon_seq)"
fi
: >"$TMPD/mon.out"
check "client pings the VIP (STALE entry)" nsexec "$NS_CLIENT" ping -c 1 -W 2 $VIP
wait_for 5 mon_has "REACHABLE"
check_eq "client's entry: PROBE, then REACHABLE, with node1's MAC" \
	"$VIP dev eth0 lladdr $MAC_NODE1 PROBE|$VIP dev eth0 lladdr $MAC_NODE1 REACHABLE" \
	"$(mon_seq)"
kill "$MON"

# probe_answered: the capture has the NUD probe's answer (the last packet)
probe_answered() {
	_has_line "^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, ethertype ARP.*Reply $VIPRE is-at $MAC_NODE1," \
		"$(capture_read CAP | sed -n "/ $MAC_CLIENT > $MAC_NODE1, ethertype ARP.*Request who-has $VIPRE tell /,\$p")"
}
wait_for 10 probe_answered
capture_stop CAP
pkts=$(capture_read CAP)
# the kernel's probe (arping's unicast requests name the target MAC)
probe=$(cap_grep "^[0-9.]+ $MAC_CLIENT > $MAC_NODE1, ethertype ARP.*Request who-has $VIPRE tell 10\.9\.0\.1," "$pkts")
check_match "NUD probe: unicast request from the client to node1's MAC" . "$probe"
probe=${probe%%$'\n'*}
check_match "NUD probe: answered by node1" \
	"^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, ethertype ARP.*Reply $VIPRE is-at $MAC_NODE1," \
	"$(sed -n "\|^${probe%% *} |,\$p" <<<"$pkts" | grep -m 1 "Reply $VIPRE is-at")"
check_match "DAD probe: node1 replies to it with an ARP reply" \
	"^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, ethertype ARP.*Reply $VIPRE is-at $MAC_NODE1," \
	"$(sed -n '/tell 0\.0\.0\.0/,$p' <<<"$pkts" | head -n 3)"
check_eq "while node1 holds the VIP local, node2 never answers for it" "" \
	"$(cap_grep "^[0-9.]+ $MAC_NODE2 > .*Reply $VIPRE is-at" "$pkts")"
check_eq "every ARP reply for the VIP carries node1's MAC" "" \
	"$(cap_grep "Reply $VIPRE is-at" "$pkts" | grep -v "is-at $MAC_NODE1,")"

if [ $RET != 0 ]; then
	log "client eth0 capture of the local phase:"
	head -n 80 <<<"$pkts" | log_file
fi

# === addresses put on kubelb devices by other tools ============================
ip -n "$NS_NODE1" -batch - <<EOF || fail "foreign addresses on node1"
addr add 10.9.0.200/32 dev kube-lb0
link add kube-ipvs0 type kubelb
link set kube-ipvs0 up
addr add 10.9.0.201/32 dev kube-ipvs0
EOF
check "10.9.0.200 on kube-lb0 is deliverable on node1" nsexec "$NS_NODE1" ping -c 1 -W 2 10.9.0.200
arp_start f0 "$NS_CLIENT" -b -c 2 -I eth0 10.9.0.200
arp_start f1 "$NS_CLIENT" -b -c 2 -I eth0 10.9.0.201
check_arp "ip addr add 10.9.0.200/32 dev kube-lb0: not answered on the LAN" \
	"sent=2 bcast=2 recv=0 from:" f0
check_arp "an address on a kubelb device named kube-ipvs0: not answered" \
	"sent=2 bcast=2 recv=0 from:" f1
capture_start CAP "$NS_CLIENT" eth0 arp
node_ping_from "$NS_NODE1" 10.9.0.200
node_ping_from "$NS_NODE1" 10.9.0.201
capture_stop CAP
pkts=$(capture_read CAP)
# One request per ping, or more when a reply is slow (TCG): count them all.
reqs=$(cap_grep "^[0-9.]+ $MAC_NODE1 > .*Request who-has 10\.9\.0\.1 tell " "$pkts" | wc -l)
check "node1 resolved the client once per ping at least (2 pings): $reqs requests" test "$reqs" -ge 2
check_eq "node1's requests for the client, pinging from both addresses, have sender 10.9.0.11" \
	"$reqs" "$(cap_grep "^[0-9.]+ $MAC_NODE1 > .*Request who-has 10\.9\.0\.1 tell 10\.9\.0\.11," "$pkts" | wc -l)"
check_eq "no ARP packet with either address as sender" "" \
	"$(cap_grep "(tell 10\.9\.0\.20[01],|Reply 10\.9\.0\.20[01] is-at)" "$pkts")"

exit_test
