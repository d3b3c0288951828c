#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading, using and unloading kubelb leaves every net.ipv4.conf.*,
# net.ipv6.conf.*, net.ipv4.neigh.* and net.ipv6.neigh.* sysctl as it found
# it: snapshots taken with the module unloaded, before insmod and after
# rmmod, are byte-identical, in the initial namespace and in the LAN
# namespaces, which exist throughout (some of their values set away from the
# defaults beforehand). In between the module is used: local and virtual
# VIPs (IPv4 and IPv6), announcements, ARP/NDP traffic between namespaces,
# sender rewrite, a VIP in the initial namespace, and rmmod while a burst
# of announcements is pending. At the end the module is loaded again as the
# VM had it, whatever happened.

source "$(dirname "$0")/lib.sh"
require_base
require_ko
require_cmd rmmod insmod arping ndisc6 ping

P=/sys/module/kubelb/parameters
# the parameters the module has now, to load it again with them
PARAMS0=()
for f in $P/*; do
	[ -r "$f" ] && PARAMS0+=("$(basename "$f")=$(<"$f")")
done
log "module parameters now: ${PARAMS0[*]}"

restore_module() {
	local kv cur
	if [ ! -d /sys/module/kubelb ]; then
		insmod "$KUBELB_KO" "${PARAMS0[@]}" || log "FAIL: could not reload $KUBELB_KO"
	fi
	for kv in "${PARAMS0[@]}"; do
		cur=$(cat "$P/${kv%%=*}" 2>/dev/null)
		if [ "$cur" != "${kv#*=}" ] && [ -w "$P/${kv%%=*}" ]; then
			echo "${kv#*=}" >"$P/${kv%%=*}"
		fi
	done
}
on_exit restore_module

# snapshot NS OUT: every conf and neigh sysctl of NS ("-": this namespace),
# one "path=value" line each (values %q-quoted), read with shell builtins.
cat >"$TMPD/snap.sh" <<'EOF'
shopt -s nullglob
for f in /proc/sys/net/ipv4/conf/*/* /proc/sys/net/ipv6/conf/*/* \
	 /proc/sys/net/ipv4/neigh/*/* /proc/sys/net/ipv6/neigh/*/*; do
	v=
	IFS= read -r -d '' v <"$f" 2>/dev/null
	printf '%s=%q\n' "${f#/proc/sys/net/}" "${v%$'\n'}"
done
EOF
snapshot() { nsexec "$1" bash "$TMPD/snap.sh" >"$2"; }

# compare DESC BEFORE AFTER: identical on the devices present in both
compare() {
	local desc=$1 a=$2 b=$3 d n
	cut -d/ -f3 "$a" | sort -u >"$a.devs"
	cut -d/ -f3 "$b" | sort -u >"$b.devs"
	comm -12 "$a.devs" "$b.devs" >"$a.common"
	d=$(comm -3 "$a.devs" "$b.devs" | tr -d '\t' | tr '\n' ' ')
	[ -n "$d" ] && log "$desc: devices in one snapshot only (not compared): $d"
	awk -F/ 'NR == FNR { keep[$0] = 1; next } $3 in keep' "$a.common" "$a" >"$a.cmp"
	awk -F/ 'NR == FNR { keep[$0] = 1; next } $3 in keep' "$a.common" "$b" >"$b.cmp"
	n=$(grep -c . "$a.cmp")
	if [ "$n" -lt 100 ]; then
		fail "$desc: only $n sysctls to compare"
	elif diff -u "$a.cmp" "$b.cmp" >"$TMPD/diff"; then
		pass "$desc: $n sysctls of $(grep -c . "$a.common") devices (all, default, ...) byte-identical"
	else
		fail "$desc: sysctls changed"
		head -n 40 "$TMPD/diff" | log_file
	fi
}

# --- namespaces that exist throughout ----------------------------------------------
lan_setup
# values away from the defaults, which an unload must not "restore"
nsexec "$NS_NODE1" sysctl -q -w net.ipv4.conf.eth1.arp_ignore=2 \
	net.ipv4.conf.eth1.arp_announce=1 net.ipv4.conf.all.arp_filter=1 \
	net.ipv4.neigh.eth0.mcast_solicit=4 net.ipv6.conf.eth0.dad_transmits=2 >/dev/null ||
	fail "setting sysctls in node1"

# --- unloaded: before ----------------------------------------------------------------
if rmmod kubelb; then
	pass "rmmod kubelb (loaded at boot)"
else
	fail "rmmod kubelb"
	exit_test
fi
snapshot - "$TMPD/init.before"
snapshot "$NS_NODE1" "$TMPD/node1.before"
snapshot "$NS_CLIENT" "$TMPD/client.before"
# the snapshot covers what matters (else identical snapshots prove nothing)
for k in ipv4/conf/all/arp_ignore ipv4/conf/all/arp_announce ipv4/conf/default/arp_accept \
	 ipv4/conf/eth0/arp_filter ipv4/conf/eth0/proxy_arp ipv6/conf/all/forwarding \
	 ipv6/conf/eth0/accept_dad ipv4/neigh/eth0/gc_stale_time ipv6/neigh/eth0/retrans_time_ms; do
	grep -q "^$k=" "$TMPD/node1.before" || fail "snapshot lacks $k"
done
check_match "snapshot shows node1's non-default arp_ignore" '^ipv4/conf/eth1/arp_ignore=2$' \
	"$(<"$TMPD/node1.before")"

# --- loaded and used ------------------------------------------------------------------
if insmod "$KUBELB_KO" "${PARAMS0[@]}"; then
	pass "insmod with the parameters the VM had"
else
	fail "insmod $KUBELB_KO ${PARAMS0[*]}"
	exit_test
fi
ns_add_kubelb "$NS_NODE1" && ns_add_kubelb "$NS_NODE2" || fail "kubelb devices in the nodes"
# the initial namespace too: a device of our own, a local VIP on a dummy
ip link add klbsys0 type kubelb && ip link set klbsys0 up || fail "kubelb device in the initial namespace"
ip link add klbsysd0 type dummy && ip link set klbsysd0 up && ip addr add 192.0.2.1/24 dev klbsysd0
check "VIPs in the initial namespace" "$KUBELBCTL" -b - <<'EOF'
vip add 192.0.2.100 dev klbsys0 mode local link klbsysd0
vip add 192.0.2.101 dev klbsys0
vip add 2001:db8:5::1 dev klbsys0 mode local link klbsysd0
EOF

check "VIPs on node1: local (eth0) and virtual, IPv4 and IPv6" klb "$NS_NODE1" -b - <<'EOF'
vip add 10.9.0.100 mode local link eth0
vip add 10.9.0.101
vip add fd00:9::100 mode local link eth0
vip add fd00:9::101
EOF
check "the same addresses virtual on node2" klb "$NS_NODE2" -b - <<'EOF'
vip add 10.9.0.100
vip add fd00:9::100
EOF
ip -n "$NS_CLIENT" route add 10.9.0.101/32 via 10.9.0.11

out=$(nsexec "$NS_CLIENT" arping -c 2 -I eth0 10.9.0.100 2>&1)
check_match "client's arping of node1's local VIP: 2 replies" '^Received 2 response' "$out"
check_match "client's arping of the virtual VIP: none" '^Received 0 response' \
	"$(nsexec "$NS_CLIENT" arping -c 1 -I eth0 10.9.0.101 2>&1)"
out=$(nsexec "$NS_CLIENT" ndisc6 -n -r 2 -w 1000 fd00:9::100 eth0 2>&1)
check_match "client's ndisc6 of node1's local IPv6 VIP: answered by node1" \
	"^target link-layer address: ${MAC_NODE1,,}" "${out,,}"
ip -n "$NS_NODE1" neigh flush dev eth0
check "node1 pings the client from the virtual VIP (ARP sender rewritten)" \
	nsexec "$NS_NODE1" ping -c 1 -W 5 -I 10.9.0.101 10.9.0.1
check "takeover: 10.9.0.100 local on node2" klb "$NS_NODE2" vip replace 10.9.0.100 mode local link eth0
check "node1 gives it up" klb "$NS_NODE1" vip replace 10.9.0.100
klb "$NS_NODE2" vip announce 10.9.0.100 2>&1 | log_file	# (not asserted here)
# rmmod while announcements are pending
echo 5000 >$P/garp_interval_ms 2>/dev/null
klb "$NS_NODE1" vip replace 10.9.0.100 mode local link eth0 >/dev/null

# --- unloaded: after -------------------------------------------------------------------
if rmmod kubelb; then
	pass "rmmod kubelb with VIPs and pending announcements"
else
	fail "rmmod kubelb after use"
fi
ip link del klbsysd0 2>/dev/null
snapshot - "$TMPD/init.after"
snapshot "$NS_NODE1" "$TMPD/node1.after"
snapshot "$NS_CLIENT" "$TMPD/client.after"
compare "initial namespace" "$TMPD/init.before" "$TMPD/init.after"
compare "node namespace (VIPs, announcements, rewrite)" "$TMPD/node1.before" "$TMPD/node1.after"
compare "client namespace (the ARP/NDP peer)" "$TMPD/client.before" "$TMPD/client.after"

# the comparison can fail: the change a strictARP setup makes is caught
nsexec "$NS_NODE1" sysctl -q -w net.ipv4.conf.all.arp_announce=2 >/dev/null
snapshot "$NS_NODE1" "$TMPD/node1.changed"
if diff "$TMPD/node1.after" "$TMPD/node1.changed" >"$TMPD/diff2"; then
	fail "a changed arp_announce went unnoticed by the snapshot"
else
	check_eq "the snapshot catches arp_announce=2 on all" \
		"> ipv4/conf/all/arp_announce=2" "$(grep '^>' "$TMPD/diff2")"
fi

# --- back as the VM had it --------------------------------------------------------------
restore_module
for kv in "${PARAMS0[@]}"; do
	check_eq "module reloaded: ${kv%%=*}" "${kv#*=}" "$(cat "$P/${kv%%=*}" 2>&1)"
done

exit_test
