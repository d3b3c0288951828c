#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What an engineer debugging the LAN sees of kubelb's ARP/NDP work, for
# traffic generated with arping, ndisc6 and ping on the LAN topology:
#  - per-VIP counters (`kubelbctl -s vip show`, text and -j): answered
#    (arping / ndisc6 on the VIP's link), suppressed (wrong link, virtual
#    VIP), announced (gratuitous ARPs / unsolicited NAs, as captured by
#    tcpdump on the client), rewritten (node1 pings the client from a
#    virtual VIP; no ARP on the wire carries the VIP);
#  - device totals in `ethtool -S kube-lb0` equal to the sums of those;
#  - tracepoints kubelb_answer/suppress/rewrite/announce with vip, dev, peer;
#  - `kubelbctl vip announce`: garp_count more announcements, clear errors
#    for a virtual VIP, an unknown VIP and a link that is down;
#  - `kubelbctl monitor`: announcement bursts start and end; deleting the
#    link of a local VIP makes it virtual, with a change event.

source "$(dirname "$0")/lib.sh"
require_base
require_cmd arping ndisc6 tcpdump ethtool ping
require_python

P=/sys/module/kubelb/parameters
for p in garp_count garp_interval_ms garp_refresh_ms; do
	[ -w $P/$p ] || skip "no $p module parameter"
	on_exit "echo $(cat $P/$p) > $P/$p"
done
COUNT=3
INTERVAL=200
echo $COUNT >$P/garp_count
echo $INTERVAL >$P/garp_interval_ms
echo 0 >$P/garp_refresh_ms

T=/sys/kernel/tracing
if [ ! -d $T/events ]; then
	mount -t tracefs nodev $T 2>/dev/null
fi
TRACE_EVENTS="kubelb_answer kubelb_suppress kubelb_rewrite kubelb_announce"

L4=10.9.0.100		# local, link eth0
V4=10.9.0.101		# virtual
L6=fd00:9::100		# local, link eth0
V6=fd00:9::101		# virtual

lan_setup
# a virtual VIP is routed to its node (as BGP would): the client reaches it
# through node1 and never needs to resolve it
ip -n "$NS_CLIENT" route add $V4/32 via 10.9.0.11
ip -n "$NS_CLIENT" -6 route add $V6/128 via fd00:9::11

# lower-cased: arping and ndisc6 print MACs in capitals
mac1=${MAC_NODE1,,}

# counters NS ADDR: the -s line of `vip show ADDR`, without the indent
counters() {
	local out line
	out=$(klb "$1" -s vip show "$2" 2>&1)
	line=${out#*$'\n'}
	line=${line%%$'\n'*}
	echo "${line#"${line%%[![:space:]]*}"}"
}
counters_are() { [ "$(counters "$1" "$2")" = "$3" ]; }

# --- watchers: tcpdump on the client, monitor on node1, tracepoints ----------------
capture_start TD "$NS_CLIENT" eth0 || exit_test
bg_start MON nsexec "$NS_NODE1" "$KUBELBCTL" monitor >"$TMPD/mon.txt" 2>"$TMPD/mon.err"
# the monitor has subscribed once it prints a probe VIP
ready=0
for i in $(seq 1 30); do
	klb "$NS_NODE1" vip add "10.255.0.$i" >/dev/null 2>&1
	if grep -q "10.255.0.$i" "$TMPD/mon.txt" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.2
done
[ $ready = 1 ] || { fail "kubelbctl monitor printed nothing"; log_file "$TMPD/mon.err"; }
klb "$NS_NODE1" vip flush >/dev/null

tracing=0
if [ -d $T/events/kubelb ]; then
	tracing=1
	on_exit "echo 0 > $T/events/kubelb/enable; echo > $T/trace"
	echo 0 >$T/tracing_on
	echo >$T/trace
	for e in $TRACE_EVENTS; do
		if [ -d $T/events/kubelb/$e ]; then
			echo 1 >$T/events/kubelb/$e/enable
		else
			fail "tracepoint kubelb:$e missing"
		fi
	done
	echo 1 >$T/tracing_on
else
	fail "no kubelb trace events in $T"
fi

# --- announcements when VIPs become local ---------------------------------------------
check "add two local and two virtual VIPs on node1" klb "$NS_NODE1" -b - <<EOF
vip add $L4 mode local link eth0
vip add $L6 mode local link eth0
vip add $V4
vip add $V6
EOF
wait_for 5 counters_are "$NS_NODE1" $L4 "answered 0 suppressed 0 announced $COUNT rewritten 0"
wait_for 5 counters_are "$NS_NODE1" $L6 "answered 0 suppressed 0 announced $COUNT rewritten 0"
check_eq "IPv4 local VIP: announced $COUNT (garp_count) on add" \
	"answered 0 suppressed 0 announced $COUNT rewritten 0" "$(counters "$NS_NODE1" $L4)"
check_eq "IPv6 local VIP: announced $COUNT (garp_count) on add" \
	"answered 0 suppressed 0 announced $COUNT rewritten 0" "$(counters "$NS_NODE1" $L6)"

# --- IPv4: answered on the link, suppressed elsewhere and for a virtual VIP --------------
nsexec "$NS_CLIENT" arping -c 2 -I eth1 $L4 >"$TMPD/arp.eth1" 2>&1 &
p1=$!
nsexec "$NS_CLIENT" arping -c 2 -I eth0 $V4 >"$TMPD/arp.v4" 2>&1 &
p2=$!
nsexec "$NS_CLIENT" arping -c 3 -I eth0 $L4 >"$TMPD/arp.l4" 2>&1
wait $p1 $p2
out=$(<"$TMPD/arp.l4")
out=${out,,}
check_match "arping $L4 on its link: 3 replies" "^received 3 response" "$out"
check_eq "arping $L4 on its link: every reply from node1's eth0 MAC" "3" \
	"$(grep -c "reply from ${L4//./\\.} \[$mac1\]" <<<"$out")"
check_match "arping $L4 on node1's other link (eth1): no reply" "^Received 0 response" "$(<"$TMPD/arp.eth1")"
check_match "arping virtual $V4: no reply" "^Received 0 response" "$(<"$TMPD/arp.v4")"
check_eq "counters of $L4: 3 answered (eth0), 2 suppressed (eth1)" \
	"answered 3 suppressed 2 announced $COUNT rewritten 0" "$(counters "$NS_NODE1" $L4)"
check_eq "counters of virtual $V4: 2 suppressed, never announced" \
	"answered 0 suppressed 2 announced 0 rewritten 0" "$(counters "$NS_NODE1" $V4)"

# --- IPv6 with ndisc6 ---------------------------------------------------------------------
# (not the two of $L6 at once: ndisc6 on eth1 would take the answer
# that arrives on eth0 for its own)
nsexec "$NS_CLIENT" ndisc6 -n -r 2 -w 500 $V6 eth0 >"$TMPD/nd.v6" 2>&1 &
p1=$!
nsexec "$NS_CLIENT" ndisc6 -n -r 2 -w 500 $L6 eth1 >"$TMPD/nd.eth1" 2>&1
wait $p1
nsexec "$NS_CLIENT" ndisc6 -n -r 1 -w 3000 $L6 eth0 >"$TMPD/nd.l6" 2>&1
out=$(<"$TMPD/nd.l6")
check_match "ndisc6 $L6 on its link: answered with node1's eth0 MAC" \
	"^target link-layer address: $mac1" "${out,,}"
check_not_contains "ndisc6 $L6 on eth1: no answer" "ink-layer address" "$(<"$TMPD/nd.eth1")"
check_not_contains "ndisc6 virtual $V6: no answer" "ink-layer address" "$(<"$TMPD/nd.v6")"
check_eq "counters of $L6: 1 answered (eth0), 2 suppressed (eth1)" \
	"answered 1 suppressed 2 announced $COUNT rewritten 0" "$(counters "$NS_NODE1" $L6)"
check_eq "counters of virtual $V6: 2 suppressed" \
	"answered 0 suppressed 2 announced 0 rewritten 0" "$(counters "$NS_NODE1" $V6)"

# --- sender rewrite: node1 pings the client from the virtual VIP ---------------------------
ip -n "$NS_NODE1" neigh flush dev eth0
ip -n "$NS_CLIENT" neigh flush dev eth0
check "node1 pings the client from virtual $V4" \
	nsexec "$NS_NODE1" ping -c 1 -W 5 -I $V4 10.9.0.1
line=$(counters "$NS_NODE1" $V4)
REWRITTEN=${line##*rewritten }
if [[ $line =~ ^answered\ 0\ suppressed\ 2\ announced\ 0\ rewritten\ [1-9][0-9]*$ ]]; then
	pass "counters of $V4: the ARP request for the client was rewritten ($line)"
else
	fail "counters of $V4 after the ping: $line"
fi
[[ $REWRITTEN =~ ^[0-9]+$ ]] || REWRITTEN=none
check_eq "the client never maps virtual $V4 to a MAC" "" "$(ip -n "$NS_CLIENT" neigh show $V4)"

# --- kubelbctl vip announce ------------------------------------------------------------
# -s: the VIP as now held, a burst under way (the first one sent at once)
out=$(klb "$NS_NODE1" -s vip announce $L4 2>&1)
check_match "kubelbctl -s vip announce $L4: bursting, $((COUNT - 1)) left" \
	"^${L4//./\\.}/32 dev kube-lb0 mode local link eth0 announcing $((COUNT - 1)) left\$" "$out"
out=$(klb "$NS_NODE1" vip announce $L6 2>&1)
check_eq "kubelbctl vip announce $L6: succeeds silently" "0:" "$?:$out"
wait_for 5 counters_are "$NS_NODE1" $L4 "answered 3 suppressed 2 announced $((2 * COUNT)) rewritten 0"
wait_for 5 counters_are "$NS_NODE1" $L6 "answered 1 suppressed 2 announced $((2 * COUNT)) rewritten 0"
check_eq "counters of $L4 after vip announce: $COUNT more announced" \
	"answered 3 suppressed 2 announced $((2 * COUNT)) rewritten 0" "$(counters "$NS_NODE1" $L4)"
check_eq "counters of $L6 after vip announce: $COUNT more announced" \
	"answered 1 suppressed 2 announced $((2 * COUNT)) rewritten 0" "$(counters "$NS_NODE1" $L6)"
check_klb_fails "vip announce of a virtual VIP" "virtual" "$NS_NODE1" vip announce $V4
check_klb_fails "vip announce of an unknown VIP" "no such VIP" "$NS_NODE1" vip announce 10.9.0.222

# --- what tcpdump saw on the client ----------------------------------------------------------
# garps_seen: how many gratuitous ARPs for L4 from node1 $TMPD/c0.txt holds
garps_seen() {
	grep -cE "^[0-9:.]+ $MAC_NODE1 > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has ${L4//./\\.}( \([^)]*\))? tell ${L4//./\\.}," "$TMPD/c0.txt"
}
# every announcement the counters report has reached the capture
all_captured() {
	capture_read TD -v >"$TMPD/c0.txt"
	[ "$(garps_seen)" -ge $((2 * COUNT)) ] &&
		[ "$(grep -cE "neighbor advertisement.* tgt is $L6, Flags \[override\]" "$TMPD/c0.txt")" -ge $((2 * COUNT)) ]
}
wait_for 10 all_captured
capture_stop TD
capture_read TD -v >"$TMPD/c0.txt"
garps=$(garps_seen)
check_eq "client saw $((2 * COUNT)) gratuitous ARPs for $L4 from node1 (add + vip announce)" \
	"$((2 * COUNT))" "$garps"
nas=$(grep -E "^[0-9:.]+ $MAC_NODE1 > 33:33:00:00:00:01, .* > ff02::1: .*neighbor advertisement.* tgt is $L6, Flags \[override\]" "$TMPD/c0.txt" | grep -c .)
check_eq "client saw $((2 * COUNT)) unsolicited NAs (override, not solicited) for $L6 from node1" \
	"$((2 * COUNT))" "$nas"
check_eq "no ARP on the LAN carries virtual $V4 as sender" "0" \
	"$(grep -cE "ethertype ARP .*tell ${V4//./\\.}," "$TMPD/c0.txt")"
n=$(grep -cE "^[0-9:.]+ $MAC_NODE1 > .*ethertype ARP .*Request who-has 10\.9\.0\.1( \([^)]*\))? tell 10\.9\.0\.11," "$TMPD/c0.txt")
if [ "$n" -ge 1 ]; then
	pass "node1 resolved the client with its own address as sender ($n request(s))"
else
	fail "no ARP request from node1 for 10.9.0.1 with sender 10.9.0.11"
	grep 'ethertype ARP' "$TMPD/c0.txt" | tail -n 20 | log_file
fi

# --- ethtool -S: device totals ----------------------------------------------------------------
declare -A ES=()
nsexec "$NS_NODE1" ethtool -S kube-lb0 >"$TMPD/ethtool" 2>&1
while read -r k v; do
	[[ $k == *: ]] && ES[${k%:}]=$v
done <"$TMPD/ethtool"
want=(arp_answered=3 arp_suppressed=4 ns_answered=1 ns_suppressed=4
      garp_sent=$((2 * COUNT)) unsolicited_na_sent=$((2 * COUNT))
      arp_sender_rewritten=$REWRITTEN announce_failed=0)
got=
for w in "${want[@]}"; do
	got+="${w%%=*}=${ES[${w%%=*}]:-missing} "
done
check_eq "ethtool -S kube-lb0 on node1: totals equal the per-VIP counters" "${want[*]} " "$got"
ES=()
nsexec "$NS_NODE2" ethtool -S kube-lb0 >"$TMPD/ethtool2" 2>&1
while read -r k v; do
	[[ $k == *: ]] && ES[${k%:}]=$v
done <"$TMPD/ethtool2"
got=
for w in "${want[@]}"; do
	got+="${w%%=*}=${ES[${w%%=*}]:-missing} "
done
check_eq "ethtool -S kube-lb0 on node2 (no VIPs): all totals 0" \
	"$(printf '%s=0 ' "${want[@]%%=*}")" "$got"

# --- JSON counters ----------------------------------------------------------------------
klb "$NS_NODE1" -s -j vip show >"$TMPD/show.json" 2>&1
check_py "kubelbctl -s -j vip show: the same counters" "$TMPD/show.json" "$COUNT" "$REWRITTEN" <<'EOF'
import json, sys
c, r = int(sys.argv[2]), int(sys.argv[3])
got = {v["addr"]: {k: int(x) for k, x in v["stats"].items()} for v in json.load(open(sys.argv[1]))}
want = {"10.9.0.100": dict(answered=3, suppressed=2, announced=2 * c, rewritten=0),
        "fd00:9::100": dict(answered=1, suppressed=2, announced=2 * c, rewritten=0),
        "10.9.0.101": dict(answered=0, suppressed=2, announced=0, rewritten=r),
        "fd00:9::101": dict(answered=0, suppressed=2, announced=0, rewritten=0)}
assert got == want, got
EOF

# --- tracepoints -----------------------------------------------------------------------
if [ $tracing = 1 ]; then
	echo 0 >$T/tracing_on
	grep -E 'kubelb_(answer|suppress|rewrite|announce):' $T/trace >"$TMPD/trace.txt"
	log "trace (first lines):"
	head -n 12 "$TMPD/trace.txt" | log_file
	tcount() { grep -cE "$1" "$TMPD/trace.txt"; }
	check_eq "trace: 3 kubelb_answer for $L4 on eth0 from the client" "3" \
		"$(tcount "kubelb_answer: vip=10\.9\.0\.100 dev=eth0 peer=10\.9\.0\.1$")"
	check_eq "trace: 2 kubelb_suppress for $L4 on eth1 from the client's eth1" "2" \
		"$(tcount "kubelb_suppress: vip=10\.9\.0\.100 dev=eth1 peer=10\.9\.1\.1$")"
	check_eq "trace: 2 kubelb_suppress for virtual $V4 on eth0" "2" \
		"$(tcount "kubelb_suppress: vip=10\.9\.0\.101 dev=eth0 peer=10\.9\.0\.1$")"
	check_eq "trace: 1 kubelb_answer for $L6 on eth0 (ndisc6)" "1" \
		"$(tcount "kubelb_answer: vip=fd00:9::100 dev=eth0 peer=[0-9a-f:]+$")"
	check_eq "trace: 2 kubelb_suppress for $L6 on eth1" "2" \
		"$(tcount "kubelb_suppress: vip=fd00:9::100 dev=eth1 peer=[0-9a-f:]+$")"
	n=$(tcount "kubelb_rewrite: vip=10\.9\.0\.101 dev=eth0 peer=10\.9\.0\.1 sender=10\.9\.0\.11$")
	if [ "$n" -ge 1 ] && [ "$n" = "$REWRITTEN" ]; then
		pass "trace: $n kubelb_rewrite for $V4 -> 10.9.0.11, as many as counted"
	else
		fail "trace: $n kubelb_rewrite for $V4 -> 10.9.0.11, counted: $REWRITTEN"
	fi
	check_eq "trace: $((2 * COUNT)) kubelb_announce for $L4 on eth0" "$((2 * COUNT))" \
		"$(tcount "kubelb_announce: vip=10\.9\.0\.100 dev=eth0 left=[0-9]+$")"
	check_eq "trace: $((2 * COUNT)) kubelb_announce for $L6 on eth0" "$((2 * COUNT))" \
		"$(tcount "kubelb_announce: vip=fd00:9::100 dev=eth0 left=[0-9]+$")"
	check_eq "trace: kubelb_announce left= counts down 2, 1, 0 in a burst" "0 1 2 " \
		"$(grep -oE "kubelb_announce: vip=10\.9\.0\.100 .*left=[0-9]+" "$TMPD/trace.txt" |
			sed 's/.*left=//' | sort -n | uniq | tr '\n' ' ')"
	echo 0 >$T/events/kubelb/enable
	echo 1 >$T/tracing_on
fi

# --- announce on a link that is down --------------------------------------------------
ip -n "$NS_NODE1" link set eth1 down
klb "$NS_NODE1" vip add 10.9.1.100 mode local link eth1 >/dev/null 2>&1 ||
	fail "adding a local VIP on a down link"
check_klb_fails "vip announce with the link down" "down" "$NS_NODE1" vip announce 10.9.1.100

# --- the link of a local VIP goes away -------------------------------------------------
ip -n "$NS_NODE1" link del eth0
check_eq "deleting node1's eth0 turns $L4 virtual" "$L4/32 dev kube-lb0 mode virtual" \
	"$(klb "$NS_NODE1" vip show $L4 2>&1)"
check_eq "deleting node1's eth0 turns $L6 virtual" "$L6/128 dev kube-lb0 mode virtual" \
	"$(klb "$NS_NODE1" vip show $L6 2>&1)"

# --- monitor: announcement state and the change -------------------------------------
wait_for 5 grep -q "^change ${L6}/128 " "$TMPD/mon.txt"
kill "$MON" 2>/dev/null
mon=$(<"$TMPD/mon.txt")
log "monitor (announce/change lines):"
grep -E "^(announce|change) " <<<"$mon" | head -n 30 | log_file
check_match "monitor: change event, $L4 now virtual" "^change ${L4//./\\.}/32 dev kube-lb0 mode virtual\$" "$mon"
check_match "monitor: change event, $L6 now virtual" "^change $L6/128 dev kube-lb0 mode virtual\$" "$mon"
# bursts: add and vip announce each start one and end it
n_start=$(grep -cE "^announce ${L4//./\\.}/32 dev kube-lb0 mode local link eth0 announcing [0-9]+ left\$" <<<"$mon")
n_end=$(grep -cE "^announce ${L4//./\\.}/32 dev kube-lb0 mode local link eth0 announce idle\$" <<<"$mon")
check_eq "monitor: 2 ANNOUNCE burst-start events for $L4 (add, vip announce)" "2" "$n_start"
check_eq "monitor: 2 ANNOUNCE burst-end (idle) events for $L4" "2" "$n_end"
check_eq "monitor: no ANNOUNCE event for virtual $V4" "0" "$(grep -c "^announce ${V4//./\\.}/" <<<"$mon")"

exit_test
