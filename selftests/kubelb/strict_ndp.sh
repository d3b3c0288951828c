#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Strict NDP as a client on the LAN sees it (lan_setup), with ndisc6, the
# client's own DAD and NUD, ip neigh and tcpdump:
#  - baseline without kubelb: the VIP as an address on eth0 of both nodes
#    (Linux answers a Neighbor Solicitation only for addresses of the
#    interface it arrives on): 2 advertisements per solicitation, and the
#    client's DAD for the address fails;
#  - the same addresses, plus the VIP virtual on both nodes: no answer, and
#    the client's DAD succeeds;
#  - local VIP on node1 (link eth0), virtual on node2: exactly one NA per
#    solicitation, with node1's MAC as target link-layer address and the
#    override flag, also while node2 has the VIP as an address on its eth0;
#    none on node1's second interface; a DAD probe (from ::) is answered;
#    the client's entry goes STALE -> PROBE (a unicast NS to node1) ->
#    REACHABLE.

source "$(dirname "$0")/lib.sh"
require_base
require_cmd ndisc6 tcpdump ping

VIP=fd00:9::100

lan_setup
# client: fast NUD (REACHABLE 0.25..0.75 s, probe at once from STALE) and
# fast DAD (one NS, no initial random delay, 300 ms to wait for an answer)
nsexec "$NS_CLIENT" sysctl -q -w net.ipv6.neigh.eth0.base_reachable_time_ms=500 \
	net.ipv6.neigh.eth0.delay_first_probe_time=0 net.ipv6.neigh.eth0.retrans_time_ms=300 \
	net.ipv6.conf.eth0.router_solicitation_delay=0 net.ipv6.conf.eth0.dad_transmits=1 ||
	fail "client sysctls"

# nd_result NS ARGS...: ndisc6 -m -n ARGS in NS; prints "recv=N from: MAC*n..."
# (target link-layer addresses of the advertisements received, counted per
# MAC, node1 first); the output is kept in $TMPD/nd.out
nd_result() {
	local ns=$1 line mac from='' m n_=0
	local -A n=()
	local -a order=("$MAC_NODE1" "$MAC_NODE1_ETH1" "$MAC_NODE2")
	shift
	nsexec "$ns" ndisc6 -m -n "$@" >"$TMPD/nd.out" 2>&1
	while IFS= read -r line; do
		if [[ $line =~ ^Target\ link-layer\ address:\ ([0-9A-Fa-f:]+) ]]; then
			mac=${BASH_REMATCH[1],,}
			[ -z "${n[$mac]:-}" ] && [[ " ${order[*]} " != *" $mac "* ]] && order+=("$mac")
			n[$mac]=$((${n[$mac]:-0} + 1))
			n_=$((n_ + 1))
		fi
	done <"$TMPD/nd.out"
	for m in "${order[@]}"; do
		[ -n "${n[$m]:-}" ] && from+=" $m*${n[$m]}"
	done
	echo "recv=$n_ from:$from"
}
check_nd() {
	local desc=$1 expected=$2 res
	shift 2
	res=$(nd_result "$@")
	check_eq "$desc" "$expected" "$res"
	[ "$expected" = "$res" ] || log_file "$TMPD/nd.out"
}

# client_dad: the client adds the VIP (with DAD) to its eth0 and prints
# "dadfailed" or "ok" once DAD is over, then removes it again
client_dad() {
	local st=tentative i
	ip -n "$NS_CLIENT" addr add $VIP/128 dev eth0
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		st=$(ip -n "$NS_CLIENT" addr show dev eth0 to $VIP/128)
		[[ $st == *dadfailed* ]] && { st=dadfailed; break; }
		[[ $st != *tentative* ]] && { st=ok; break; }
		st=tentative
	done
	ip -n "$NS_CLIENT" addr del $VIP/128 dev eth0
	echo "$st"
}

lines_matching() {
	local re=$1 line
	while IFS= read -r line; do
		[[ $line =~ $re ]] && printf '%s\n' "$line"
	done <<<"$2"
}

# === baseline: the VIP as an address on both nodes' eth0, no kubelb VIP ========
ip -n "$NS_NODE1" addr add $VIP/128 dev eth0 nodad || fail "node1: VIP on eth0"
ip -n "$NS_NODE2" addr add $VIP/128 dev eth0 nodad || fail "node2: VIP on eth0"
check_nd "baseline (VIP an address of both nodes' eth0): 2 advertisements per solicitation" \
	"recv=2 from: $MAC_NODE1*1 $MAC_NODE2*1" "$NS_CLIENT" -r 1 -w 800 $VIP eth0
check_eq "baseline: the client's DAD for the VIP fails" "dadfailed" "$(client_dad)"

# === virtual on both nodes, the addresses still on eth0 ========================
check "node1: vip add $VIP (virtual)" klb "$NS_NODE1" vip add $VIP
check "node2: vip add $VIP (virtual)" klb "$NS_NODE2" vip add $VIP
check_nd "virtual VIP on both nodes: no advertisement (even where it is an address on eth0)" \
	"recv=0 from:" "$NS_CLIENT" -r 2 -w 500 $VIP eth0
check_nd "virtual: none on node1's second interface" \
	"recv=0 from:" "$NS_CLIENT" -r 2 -w 500 $VIP eth1
check_eq "virtual: the client's DAD for the VIP succeeds (nobody answers from ::)" \
	"ok" "$(client_dad)"
ip -n "$NS_NODE1" addr del $VIP/128 dev eth0
ip -n "$NS_NODE2" addr del $VIP/128 dev eth0
check "the VIP is deliverable on node1" nsexec "$NS_NODE1" ping -6 -c 1 -W 2 $VIP

# === local on node1 (link eth0), virtual on node2 ==============================
ip -n "$NS_CLIENT" neigh flush dev eth0
bg_start MON ip -n "$NS_CLIENT" monitor neigh >>"$TMPD/mon.out"
capture_start CAP "$NS_CLIENT" eth0 icmp6
capture_start CAP1 "$NS_CLIENT" eth1 icmp6
vip_mon_start MON1 "$NS_NODE1"
check "node1: vip replace $VIP mode local link eth0" \
	klb "$NS_NODE1" vip replace $VIP mode local link eth0
# ndisc6 counts node1's unsolicited NAs too, even those arriving on another
# interface: wait for the end of the announcement burst first
wait_for 20 announce_done MON1 $VIP || fail "node1's announcement burst for $VIP did not end"
for i in 1 2; do
	check_nd "local on node1: exactly one advertisement, node1's MAC (solicitation $i)" \
		"recv=1 from: $MAC_NODE1*1" "$NS_CLIENT" -r 1 -w 800 $VIP eth0
done
check_nd "local on node1 (link eth0): none on node1's second interface" \
	"recv=0 from:" "$NS_CLIENT" -r 2 -w 500 $VIP eth1
check "node2: ip -6 addr add $VIP/128 dev eth0 nodad" ip -n "$NS_NODE2" addr add $VIP/128 dev eth0 nodad
check_nd "VIP also an address on node2's eth0: still exactly one advertisement, node1's" \
	"recv=1 from: $MAC_NODE1*1" "$NS_CLIENT" -r 1 -w 800 $VIP eth0
ip -n "$NS_NODE2" addr del $VIP/128 dev eth0
check_eq "local: the client's DAD for the VIP fails (node1 answers a DAD probe)" \
	"dadfailed" "$(client_dad)"

# NUD, as in strict_arp.sh
mon_seq() {
	local line seq=
	while IFS= read -r line; do
		[[ $line == "$VIP dev eth0 "* ]] && seq+="${seq:+|}${line% }"
	done <"$TMPD/mon.out"
	echo "$seq"
}
mon_has() { [[ $(mon_seq) =~ $1 ]]; }
: >"$TMPD/mon.out"
check "client pings the VIP" nsexec "$NS_CLIENT" ping -6 -c 1 -W 2 $VIP
if wait_for 10 mon_has "lladdr $MAC_NODE1 STALE\$"; then
	pass "the client's entry for the VIP becomes STALE"
else
	fail "the client's entry for the VIP does not become STALE: $(mon_seq)"
fi
: >"$TMPD/mon.out"
check "client pings the VIP (STALE entry)" nsexec "$NS_CLIENT" ping -6 -c 1 -W 2 $VIP
wait_for 5 mon_has "REACHABLE"
check_eq "client's entry: PROBE, then REACHABLE, with node1's MAC" \
	"$VIP dev eth0 lladdr $MAC_NODE1 PROBE|$VIP dev eth0 lladdr $MAC_NODE1 REACHABLE" \
	"$(mon_seq)"
kill "$MON"

# probe_answered: the capture has the NUD probe's answer (the last packet)
probe_answered() {
	_has_line "^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, .*neighbor advertisement, .*tgt is $VIP, Flags \[solicited" \
		"$(capture_read CAP -v | sed -n "/ $MAC_CLIENT > $MAC_NODE1, .*neighbor solicitation, length [0-9]*, who has $VIP/,\$p")"
}
wait_for 10 probe_answered
capture_stop CAP
capture_stop CAP1
check_eq "no NA for the VIP on the second segment at all (answer or announcement)" "" \
	"$(lines_matching "neighbor advertisement, .*tgt is $VIP," "$(capture_read CAP1 -v)")"
pkts=$(capture_read CAP -v)
nas=$(lines_matching "neighbor advertisement, length [0-9]+, tgt is $VIP," "$pkts")
check_eq "while node1 holds the VIP local, node2 never advertises it" "" \
	"$(lines_matching "^[0-9.]+ $MAC_NODE2 > " "$nas")"
check_eq "every NA for the VIP has the override flag and node1's MAC as target link-layer address" "" \
	"$(grep -v -E "^[0-9.]+ $MAC_NODE1 > .*Flags \[[a-z, ]*override[a-z, ]*\].*destination link-address option \(2\), length 8 \(1\): $MAC_NODE1" <<<"$nas")"
check_match "answers to solicitations carry the solicited flag" \
	"^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, .*tgt is $VIP, Flags \[solicited, override\]" "$nas"
# the first NA after the client's DAD probe (from ::)
dadna=$(sed -n "/ :: > ff02::1:ff00:100: .*neighbor solicitation, .*who has $VIP/,\$p" <<<"$pkts" |
	grep -m 1 "tgt is $VIP,")
check_match "the DAD probe is answered to ff02::1, solicited flag clear" \
	"^[0-9.]+ $MAC_NODE1 > 33:33:00:00:00:01, .*> ff02::1: .*tgt is $VIP, Flags \[override\]" "$dadna"
probe=$(lines_matching "^[0-9.]+ $MAC_CLIENT > $MAC_NODE1, .*neighbor solicitation, length [0-9]+, who has $VIP" "$pkts")
check_match "NUD probe: unicast NS from the client to node1's MAC" . "$probe"
probe=${probe%%$'\n'*}
check_match "NUD probe: answered by node1 (solicited NA)" \
	"^[0-9.]+ $MAC_NODE1 > $MAC_CLIENT, .*neighbor advertisement, .*tgt is $VIP, Flags \[solicited" \
	"$(sed -n "\|^${probe%% *} |,\$p" <<<"$pkts" | grep -m 1 "tgt is $VIP,")"

if [ $RET != 0 ]; then
	log "client eth0 capture of the local phase:"
	head -n 80 <<<"$pkts" | log_file
fi

exit_test
