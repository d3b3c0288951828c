#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An unprivileged user that owns a user namespace with its own network
# namespace can create a kubelb device and manage VIPs there (the modifying
# commands are GENL_UNS_ADMIN_PERM), and is denied with EPERM, reported by
# kubelbctl, in the initial namespace and in namespaces it does not own.

source "$(dirname "$0")/lib.sh"
require_base
require_cmd setpriv unshare

# kubelbctl and the tools must be reachable for uid 65534
[ -x "$KUBELBCTL" ] && su -s /bin/sh nobody -c "test -x '$KUBELBCTL'" 2>/dev/null ||
	skip "$KUBELBCTL not executable by nobody"
AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
$AS_NOBODY unshare -Urn true 2>/dev/null || skip "unprivileged user namespaces are disabled"

cat >"$TMPD/inner.sh" <<EOF
set -x
ip link set lo up
ip link add kube-lb0 type kubelb || exit 10
ip link set kube-lb0 up || exit 11
ip -d link show kube-lb0 | grep -q kubelb || exit 12
"$KUBELBCTL" vip add 10.50.0.1/24 service userns/svc || exit 13
"$KUBELBCTL" vip add 2001:db8:50::1 || exit 14
"$KUBELBCTL" vip replace 10.50.0.1/24 service userns/svc2 || exit 15
"$KUBELBCTL" vip show >"$TMPD/u/inner.show" || exit 16
ip route show table local proto 95 >"$TMPD/u/inner.routes" || exit 17
ping -c 1 -W 2 10.50.0.1 >/dev/null || exit 18
"$KUBELBCTL" vip del 2001:db8:50::1 || exit 19
"$KUBELBCTL" vip flush || exit 20
test -z "\$("$KUBELBCTL" vip show)" || exit 21
exit 0
EOF
chmod 755 "$TMPD/inner.sh"
chmod 755 "$TMPD"
mkdir -m 777 "$TMPD/u"

$AS_NOBODY unshare -Urn bash "$TMPD/inner.sh" >"$TMPD/inner.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	pass "unprivileged user: own userns+netns: device, add, replace, show, ping, del, flush"
else
	fail "unprivileged user in own userns+netns: step exit $rc"
	tail -n 15 "$TMPD/inner.out" | log_file
fi
check_contains "VIP visible in the user's namespace" "10.50.0.1/24 dev kube-lb0 mode virtual service userns/svc2" \
	"$(cat "$TMPD/u/inner.show" 2>/dev/null)"
check_match "local route installed by the unprivileged user" "^local 10\.50\.0\.1 dev kube-lb0" \
	"$(cat "$TMPD/u/inner.routes" 2>/dev/null)"

# --- denied in the initial namespace -----------------------------------------------
IF0=$(cat /sys/module/kubelb/parameters/ifname)
if [ -z "$IF0" ] || ! ip link show "$IF0" >/dev/null 2>&1; then
	# no initial device (ifname=""): use one of our own in the initial netns
	IF0=klbus$$
	ip link add "$IF0" type kubelb && ip link set "$IF0" up
	on_exit "ip link del $IF0"
fi
"$KUBELBCTL" vip add 10.51.0.1 dev "$IF0" || fail "root could not add 10.51.0.1 to $IF0"
on_exit "$KUBELBCTL vip del 10.51.0.1 2>/dev/null"

KLB_PREFIX=($AS_NOBODY)
check_klb_fails "unprivileged add in the initial namespace" "Operation not permitted" - \
	vip add 10.51.0.2 dev "$IF0"
check_klb_fails "unprivileged del in the initial namespace" "Operation not permitted" - \
	vip del 10.51.0.1
check_klb_fails "unprivileged flush in the initial namespace" "Operation not permitted" - \
	vip flush dev "$IF0"
out=$(klb - vip show 10.51.0.1 2>&1)
check_eq "unprivileged show in the initial namespace is allowed" "10.51.0.1/32 dev $IF0 mode virtual" "$out"
KLB_PREFIX=($AS_NOBODY unshare -Ur)
check_klb_fails "root of an own user namespace: add in the initial netns" "Operation not permitted" - \
	vip add 10.51.0.3 dev "$IF0"
check_klb_fails "root of an own user namespace: del in the initial netns" "Operation not permitted" - \
	vip del 10.51.0.1
KLB_PREFIX=()
check "root's VIP survived the attempts" klb - vip show 10.51.0.1
check_klb_fails "no VIP was added by the attempts" "no such VIP" - vip show 10.51.0.2

exit_test
