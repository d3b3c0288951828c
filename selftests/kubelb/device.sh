#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kubelb link kind: `ip link add NAME type kubelb` in several namespaces,
# what `ip -d link show` reports (kind, NOARP, MTU), that a device cannot
# leave its namespace, that it is destroyed with its namespace, and the
# device the module creates in the initial namespace at load.

source "$(dirname "$0")/lib.sh"

# kubelb_links NS: the names of NS's devices of kind kubelb, in ifindex order
kubelb_links() {
	ip -n "$1" -o link show type kubelb | awk -F': ' '{ sub("@.*", "", $2); printf "%s ", $2 }'
}
require_root
require_cmd ip
require_kubelb

# --- several namespaces, two devices each --------------------------------------
ns_create A
ns_create B
ns_create C
for ns in "$A" "$B" "$C"; do
	check "ip link add kube-lb0 type kubelb in $ns" ip -n "$ns" link add kube-lb0 type kubelb
	check "ip link add klb1 type kubelb in $ns" ip -n "$ns" link add klb1 type kubelb
	check_eq "$ns holds exactly its two kubelb devices" "kube-lb0 klb1 " "$(kubelb_links "$ns")"
done

out=$(ip -n "$A" -d link show kube-lb0)
log "$(echo "$out" | head -n 3)"
# second line of -d output: "    link/ether ... " then "    kubelb ..." (the kind)
check_match "ip -d link show reports kind kubelb" '^[[:space:]]+kubelb( |$)' "$out"
check_match "device is NOARP" '<[^>]*NOARP[^>]*>' "$out"
check_match "device is an ethernet-like link" 'link/ether ([0-9a-f]{2}:){5}[0-9a-f]{2}' "$out"
mtu=$(echo "$out" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -n1)
if [ -n "$mtu" ] && [ "$mtu" -ge 1280 ] && [ "$mtu" -le 65535 ]; then
	pass "MTU is sane ($mtu)"
else
	fail "MTU is not sane: '$mtu'"
fi
check_match "a new device starts down (like dummy)" 'state DOWN' "$out"

out=$(ip -n "$B" -d link show klb1)
check_match "second device in another namespace has kind kubelb" '^[[:space:]]+kubelb( |$)' "$out"

# ip -d -j: the kind as iproute2 decodes it
check_contains "ip -d -j link show: linkinfo.info_kind" '"info_kind":"kubelb"' \
	"$(ip -n "$C" -d -j link show klb1)"

# random MAC: two devices should not share one
m1=$(ip -n "$A" -br link show kube-lb0 | awk '{print $3}')
m2=$(ip -n "$A" -br link show klb1 | awk '{print $3}')
[ "$m1" != "$m2" ] && pass "each device gets its own MAC ($m1, $m2)" ||
	fail "two kubelb devices share MAC $m1"

check "device goes up" ip -n "$A" link set kube-lb0 up
out=$(ip -n "$A" link show kube-lb0)
check_match "device is UP after link set up" '<[^>]*UP[^>]*>' "$out"

check "device can be renamed" ip -n "$A" link set klb1 name klb-renamed
check_eq "the renamed device keeps its kind, the old name is gone" "kube-lb0 klb-renamed " "$(kubelb_links "$A")"
check "device can be deleted" ip -n "$A" link del klb-renamed
check_fails_with "deleted device is gone" "does not exist" ip -n "$A" link show klb-renamed

# invalid IFLA_ADDRESS (wrong length) is rejected, like dummy
check_fails_with "link add with a 3-byte address is rejected with the driver's reason" \
	"Error: invalid link address length." \
	ip -n "$A" link add klb-bad address 00:11:22 type kubelb
check "klb-bad was not created" link_gone "$A" klb-bad

# --- cannot be moved to another namespace --------------------------------------
check_fails_with "kubelb device cannot change namespace" "Invalid argument" \
	ip -n "$A" link set kube-lb0 netns "$B"
check_eq "device still in its namespace after the refused move" "kube-lb0 " "$(kubelb_links "$A")"
# B already has a kube-lb0: check with a name B does not have
ip -n "$A" link add klb-move type kubelb
check_fails_with "kubelb device cannot change namespace (no name clash)" "Invalid argument" \
	ip -n "$A" link set klb-move netns "$B"
check_eq "klb-move stayed in its namespace" "kube-lb0 klb-move " "$(kubelb_links "$A")"
check_eq "klb-move did not appear in the target namespace" "kube-lb0 klb1 " "$(kubelb_links "$B")"

# --- transmit never reaches a wire: tx is dropped and counted ------------------
ip -n "$A" addr add 198.51.100.1/24 dev kube-lb0
ip -n "$A" neigh add 198.51.100.2 lladdr 02:00:00:00:00:02 dev kube-lb0 2>/dev/null
nsexec "$A" ping -c 2 -i 0.2 -W 1 198.51.100.2 >/dev/null 2>&1
# TX: bytes packets errors dropped ...
drops=$(ip -n "$A" -s link show kube-lb0 | awk '/TX:/ { getline; print $4, $2 }')
log "tx dropped/packets after 2 pings out of the device: $drops"
if [ "${drops%% *}" -ge 1 ] 2>/dev/null; then
	pass "packets sent out of a kubelb device are dropped and counted"
else
	fail "tx_dropped did not count packets sent out of the device ($drops)"
fi

# --- deleting the namespace removes its devices --------------------------------
# A veth peer left in a surviving namespace disappears once the doomed
# namespace's devices have been dismantled; the kernel log must stay clean
# (no "unregister_netdevice: waiting for kube-lb0 to become free").
ns_create D
ns_create SURV
ns_add_kubelb "$D" kube-lb0
ns_add_kubelb "$D" klb1
veth_pair "$D" vd "$SURV" vs
start=$(now)
ns_del "$D"
if wait_for 20 link_gone "$SURV" vs; then
	pass "namespace with kubelb devices dismantled in $(elapsed "$start") s"
else
	fail "namespace with kubelb devices not dismantled after 20 s"
fi
# and a new device can be created again afterwards in a new namespace
ns_create E
check "kubelb device in a namespace created after a deletion" ns_add_kubelb "$E" kube-lb0
check_eq "... and it is there, of kind kubelb" "kube-lb0 " "$(kubelb_links "$E")"

# --- the device of the initial namespace ---------------------------------------
ifname=$(cat /sys/module/kubelb/parameters/ifname 2>/dev/null)
if [ -z "$ifname" ]; then
	log "module loaded with ifname=\"\" : no initial device expected"
else
	out=$(ip -d link show "$ifname" 2>&1)
	check_match "$ifname exists in the initial namespace with kind kubelb" '^[[:space:]]+kubelb( |$)' "$out"
	check_match "$ifname is up at load" '<[^>]*UP[^>]*>' "$out"
	check_match "$ifname is NOARP" '<[^>]*NOARP[^>]*>' "$out"
fi

# ethtool is installed by `make deps`: without it this is a broken setup,
# a failure, not a skip
if command -v ethtool >/dev/null; then
	drv=$(nsexec "$A" ethtool -i kube-lb0 2>&1 | sed -n 's/^driver: //p')
	check_eq "ethtool -i reports driver kubelb" "kubelb" "$drv"
else
	fail "ethtool not found (make deps installs it)"
fi

exit_test
