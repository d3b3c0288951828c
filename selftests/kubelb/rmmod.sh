#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rmmod with 100,000 VIPs present (in the initial namespace, plus a child
# namespace with its own device) finishes promptly and takes devices, VIPs
# and their routes with it; then reloads: ifname="" creates no device,
# ifname=foo creates foo, max_vips= at load is honoured; finally the module
# is loaded again with the parameters it had, for the tests that follow.
# Run last: it reloads the module.

source "$(dirname "$0")/lib.sh"
require_base
require_ko
require_cmd rmmod insmod modinfo

N=${KUBELB_RMMOD_N:-100000}
P=/sys/module/kubelb/parameters
IFNAME0=$(cat $P/ifname)
MAX0=$(cat $P/max_vips)
module_restore_on_exit

kubelb_links() { ip -o link show type kubelb 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' '; }

# --- the module file describes itself ----------------------------------------------
check_eq "modinfo: name kubelb" "kubelb" "$(modinfo -F name "$KUBELB_KO" 2>&1)"
check_eq "modinfo: the parameters README documents" \
	"garp_count garp_interval_ms garp_refresh_ms ifname max_vips " \
	"$(modinfo -F parm "$KUBELB_KO" 2>&1 | sed 's/:.*//' | sort | tr '\n' ' ')"

# --- rmmod with VIPs present ----------------------------------------------------
DEV=$IFNAME0
if [ -z "$DEV" ]; then
	DEV=klbrm0
	ip link add $DEV type kubelb && ip link set $DEV up
fi
awk -v n=$N -v d="$DEV" 'BEGIN { for (i = 0; i < n; i++)
	printf "vip add 10.%d.%d.%d/16 dev %s\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256, d }' >"$TMPD/add"
start=$(now)
check_eq "add $N VIPs to $DEV in the initial namespace: no output" "" "$("$KUBELBCTL" -b "$TMPD/add" 2>&1)"
log "added in $(elapsed "$start") s"

ns_create C
ns_add_kubelb "$C" kube-lb0
printf 'vip add 10.1.0.%d\n' $(seq 1 200) | klb "$C" -b - || fail "adding 200 VIPs in $C"
ns_add_dummy "$C" d0

check_eq "$N VIPs present" "$N" "$("$KUBELBCTL" vip show dev "$DEV" | wc -l)"

start=$(now)
rmmod kubelb
rc=$?
t=$(elapsed "$start")
if [ $rc -eq 0 ]; then
	pass "rmmod kubelb with $N VIPs took $t s"
else
	fail "rmmod kubelb failed (exit $rc) after $t s"
	exit_test
fi
awk -v t="$t" 'BEGIN { exit !(t < 30) }' && pass "rmmod finished promptly (< 30 s)" ||
	fail "rmmod took $t s"
check "module gone from /sys/module" test ! -d /sys/module/kubelb
check_fails_with "initial device gone" "does not exist" ip link show "$DEV"
check_fails_with "child namespace's device gone" "does not exist" ip -n "$C" link show kube-lb0
check_match "child namespace still works: its dummy d0 is there, up" '^[0-9]+: d0: <[^>]*UP[^>]*>' \
	"$(ip -n "$C" -o link show d0 2>&1)"
check_eq "routes of the VIPs gone with the device" "0" "$(ip route show table all proto 95 | wc -l)"
check_fails_with "genl family gone" "family 'kubelb' not found" "$PYTHON" "$GENL_RAW" --dump get

# --- reload with ifname="" -------------------------------------------------------
start=$(now)
check_eq "insmod ifname=\"\": no output" "" "$(insmod "$KUBELB_KO" ifname= 2>&1)"
check_eq "ifname parameter reads empty" "" "$(cat $P/ifname)"
log "insmod took $(elapsed "$start") s"
check_eq "no kubelb device created with ifname=\"\"" "" "$(kubelb_links)"
check "ip link add still works without an initial device" ip link add klbx type kubelb
ip link set klbx up
check "VIPs work on it" "$KUBELBCTL" vip add 10.2.0.1 dev klbx
check_eq "... vip show lists it" "10.2.0.1/32 dev klbx mode virtual" "$("$KUBELBCTL" vip show dev klbx 2>&1)"
check "rmmod with a user-created device and a VIP" rmmod kubelb
check_fails_with "user-created device gone with the module" "does not exist" ip link show klbx

# --- reload with ifname=foo, max_vips=3 --------------------------------------------
check_eq "insmod ifname=foo max_vips=3: no output" "" "$(insmod "$KUBELB_KO" ifname=foo max_vips=3 2>&1)"
check_eq "only foo created" "foo " "$(kubelb_links)"
check_match "foo is kind kubelb" '^[[:space:]]+kubelb( |$)' "$(ip -d link show foo)"
check_match "foo is up" '<[^>]*UP[^>]*>' "$(ip link show foo)"
check_eq "ifname parameter reads foo" "foo" "$(cat $P/ifname)"
check_eq "max_vips parameter reads 3" "3" "$(cat $P/max_vips)"
check "foo takes VIPs (dev foo)" "$KUBELBCTL" -b - <<'EOF'
vip add 10.3.0.1 dev foo
vip add 10.3.0.2 dev foo
vip add 10.3.0.3 dev foo
EOF
check_eq "... vip show dev foo lists the three" \
	"10.3.0.1/32 dev foo mode virtual|10.3.0.2/32 dev foo mode virtual|10.3.0.3/32 dev foo mode virtual|" \
	"$("$KUBELBCTL" vip show dev foo 2>&1 | tr '\n' '|')"
check_klb_fails "max_vips=3 given at load is enforced" "VIP limit reached.*max_vips" - \
	vip add 10.3.0.4 dev foo
check "rmmod" rmmod kubelb

# --- back to the original parameters ------------------------------------------------
check_eq "insmod with the original parameters: no output" "" \
	"$(insmod "$KUBELB_KO" ifname="$IFNAME0" max_vips="$MAX0" 2>&1)"
check_eq "parameters read back as they were" "$IFNAME0 $MAX0" "$(cat $P/ifname) $(cat $P/max_vips)"
if [ -n "$IFNAME0" ]; then
	check_eq "only $IFNAME0 after reload" "$IFNAME0 " "$(kubelb_links)"
	check_match "$IFNAME0 is kind kubelb" '^[[:space:]]+kubelb( |$)' "$(ip -d link show "$IFNAME0")"
	check_eq "$IFNAME0 starts empty" "" "$("$KUBELBCTL" vip show 2>&1)"
fi

exit_test
