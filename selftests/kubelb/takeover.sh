#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Takeover node1 -> node2 as a client on the LAN sees it (lan_setup): the
# client knows the VIPs (IPv4 and IPv6) at node1's MAC; node1 makes them
# virtual, node2 adds them local on eth0; the client's existing neighbour
# entries switch to node2's MAC from node2's gratuitous ARPs / unsolicited
# NAs (override flag) alone, without the client sending a request; there
# are exactly garp_count of each, garp_interval_ms apart, the first at
# once; traffic then goes to node2. When a VIP stops being local during a
# burst, no more announcements are sent for it.

source "$(dirname "$0")/lib.sh"
require_base
require_cmd tcpdump ping

V4=10.9.0.100
V6=fd00:9::100
P=/sys/module/kubelb/parameters

# module parameters: set for this test, restored on exit
for p in garp_count garp_interval_ms; do
	if [ ! -w $P/$p ]; then
		fail "module parameter $p missing"
		exit_test
	fi
done
read -r OLD_COUNT <$P/garp_count
read -r OLD_INTERVAL <$P/garp_interval_ms
on_exit "echo $OLD_COUNT >$P/garp_count; echo $OLD_INTERVAL >$P/garp_interval_ms"
echo 4 >$P/garp_count
echo 200 >$P/garp_interval_ms

lan_setup

# client_lladdr ADDR: the MAC of the client's neighbour entry for ADDR
client_lladdr() {
	local out
	out=$(ip -n "$NS_CLIENT" neigh show "$1" dev eth0)
	[[ $out =~ lladdr\ ([0-9a-f:]+) ]] && echo "${BASH_REMATCH[1]}"
}
lladdr_is() { [ "$(client_lladdr "$1")" = "$2" ]; }

# === node1 owns both VIPs; the client learns them ==============================
vip_mon_start MON1 "$NS_NODE1"
vip_mon_start MON2 "$NS_NODE2"
check "node1: vip add $V4 and $V6 mode local link eth0" klb_batch "$NS_NODE1" \
	"vip add $V4 mode local link eth0" "vip add $V6 mode local link eth0"
wait_for 10 announce_done MON1 $V4 $V6 || fail "node1's announcement bursts did not end"
check "client reaches $V4 (node1)" nsexec "$NS_CLIENT" ping -c 1 -W 2 $V4
check "client reaches $V6 (node1)" nsexec "$NS_CLIENT" ping -6 -c 1 -W 2 $V6
check_eq "the client has $V4 at node1's MAC" "$MAC_NODE1" "$(client_lladdr $V4)"
check_eq "the client has $V6 at node1's MAC" "$MAC_NODE1" "$(client_lladdr $V6)"

# === takeover ===================================================================
capture_start CAP "$NS_CLIENT" eth0 arp or icmp6
check "node1: vip replace ... mode virtual (both VIPs)" klb_batch "$NS_NODE1" \
	"vip replace $V4 mode virtual" "vip replace $V6 mode virtual"
t_start=$EPOCHREALTIME
check "node2: vip add ... mode local link eth0 (both VIPs)" klb_batch "$NS_NODE2" \
	"vip add $V4 mode local link eth0" "vip add $V6 mode local link eth0"
t_added=$EPOCHREALTIME
# the client must not send anything during the burst
wait_for 10 announce_done MON2 $V4 $V6 || fail "node2's announcement bursts did not end"
wait_for 3 lladdr_is $V4 "$MAC_NODE2"
wait_for 3 lladdr_is $V6 "$MAC_NODE2"
capture_stop CAP
check_eq "the client's entry for $V4 switched to node2's MAC" "$MAC_NODE2" "$(client_lladdr $V4)"
check_eq "the client's entry for $V6 switched to node2's MAC" "$MAC_NODE2" "$(client_lladdr $V6)"

pkts=$(capture_read CAP -v)
check_eq "the client sent no ARP request (the GARPs alone switched it)" "" \
	"$(while IFS= read -r l; do [[ $l =~ ^[0-9.]+\ $MAC_CLIENT\ \>.*ethertype\ ARP.*Request ]] && echo "$l"; done <<<"$pkts")"
check_eq "the client sent no neighbor solicitation" "" \
	"$(while IFS= read -r l; do [[ $l =~ ^[0-9.]+\ $MAC_CLIENT\ \>.*neighbor\ solicitation ]] && echo "$l"; done <<<"$pkts")"

for vip in $V4 $V6; do
	if [ $vip = $V4 ]; then what="gratuitous ARPs for $V4"; else what="unsolicited NAs (override) for $V6"; fi
	read -r -a ts <<<"$(announce_times $vip "$MAC_NODE2" "$pkts")"
	check_eq "node2 sent exactly garp_count=4 $what" 4 "${#ts[@]}"
	gaps=$(gaps_ms "${ts[@]}")
	ok=1
	for g in $gaps; do
		[ "$g" -ge 120 ] && [ "$g" -le 600 ] || ok=0
	done
	if [ $ok = 1 ] && [ -n "$gaps" ]; then
		pass "$what ~garp_interval_ms=200 apart (gaps $gaps ms)"
	else
		fail "$what not ~200 ms apart (120..600): gaps '$gaps' ms"
	fi
	# the first one goes out while kubelbctl's request is processed
	if [ ${#ts[0]} -gt 0 ] && [ "${ts[0]/./}" -le $((${t_added/./} + 150000)) ]; then
		pass "the first of the $what at once (before node2's kubelbctl returned + 150 ms)"
	else
		fail "the first of the $what is late: ${ts[0]:-none}, kubelbctl started $t_start returned $t_added"
	fi
	check_eq "node1 sent none of the $what after going virtual" "" \
		"$(announce_times $vip "$MAC_NODE1" "$pkts")"
done
if [ $RET != 0 ]; then
	log "capture:"
	printf '%s\n' "$pkts" | head -n 60 | log_file
fi

check "the client reaches $V4 (now node2)" nsexec "$NS_CLIENT" ping -c 1 -W 2 $V4
check "the client reaches $V6 (now node2)" nsexec "$NS_CLIENT" ping -6 -c 1 -W 2 $V6
check_eq "... still at node2's MAC" "$MAC_NODE2 $MAC_NODE2" "$(client_lladdr $V4) $(client_lladdr $V6)"

# === a burst stops when the VIP stops being local ==============================
echo 20 >$P/garp_count
check "node2: both VIPs virtual" klb_batch "$NS_NODE2" \
	"vip replace $V4 mode virtual" "vip replace $V6 mode virtual"
capture_start CAP "$NS_CLIENT" eth0 arp or icmp6
check "node2: both VIPs local again (a 20 x 200 ms burst)" klb_batch "$NS_NODE2" \
	"vip replace $V4 mode local link eth0" "vip replace $V6 mode local link eth0"
# burst_seen: the client has seen the burst's first GARP and NA
burst_seen() {
	local p
	p=$(capture_read CAP -v)
	[ -n "$(announce_times $V4 "$MAC_NODE2" "$p")" ] && [ -n "$(announce_times $V6 "$MAC_NODE2" "$p")" ]
}
wait_for 10 burst_seen || fail "no announcement of the new burst reached the client"
check "node2: both VIPs virtual during the burst" klb_batch "$NS_NODE2" \
	"vip replace $V4 mode virtual" "vip replace $V6 mode virtual"
t_virtual=$EPOCHREALTIME
# what is tested: nothing more is announced during 6 intervals
sleep 1.2
capture_stop CAP
pkts=$(capture_read CAP -v)
for vip in $V4 $V6; do
	if [ $vip = $V4 ]; then what="gratuitous ARPs for $V4"; else what="unsolicited NAs for $V6"; fi
	read -r -a ts <<<"$(announce_times $vip "$MAC_NODE2" "$pkts")"
	if [ ${#ts[@]} -ge 1 ] && [ ${#ts[@]} -lt 20 ]; then
		pass "the burst of $what was cut short (${#ts[@]} of 20)"
	else
		fail "the burst of $what was not cut short: ${#ts[@]} of 20"
	fi
	late=
	for t in "${ts[@]}"; do
		[ "${t/./}" -gt $((${t_virtual/./} + 100000)) ] && late+=" $t"
	done
	check_eq "no $what once the VIP is virtual (replace returned at $t_virtual)" "" "$late"
done

exit_test
