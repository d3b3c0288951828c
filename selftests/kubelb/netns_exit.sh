#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Deleting a network namespace that holds kubelb devices with VIPs:
# the namespace is dismantled promptly, the VIPs go with it (traced as
# deletions), the kernel log stays clean, and other namespaces are untouched.

source "$(dirname "$0")/lib.sh"
require_base

N=${KUBELB_NETNS_N:-20000}
T=/sys/kernel/tracing

ns_create DOOMED
ns_create SURV
ns_create KEEP
ns_add_kubelb "$DOOMED" kube-lb0
ns_add_kubelb "$DOOMED" klb1
ns_add_kubelb "$KEEP" kube-lb0
veth_pair "$DOOMED" vd "$SURV" vs

awk -v n=$N 'BEGIN { for (i = 0; i < n; i++)
	printf "vip add 10.%d.%d.%d dev %s\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256,
		(i % 2) ? "klb1" : "kube-lb0" }' >"$TMPD/add"
echo "vip add 2001:db8:77::1/64" >>"$TMPD/add"
start=$(now)
check "add $N VIPs to the doomed namespace" klb "$DOOMED" -b "$TMPD/add"
log "added in $(elapsed "$start") s"
check "the same addresses in another namespace" klb "$KEEP" vip add 10.64.0.0
check "a VIP in a namespace that stays" klb "$KEEP" vip add 2001:db8:77::1

traced=0
if [ -d $T/events/kubelb/kubelb_vip_del ]; then
	echo >$T/trace
	echo 1 >$T/events/kubelb/kubelb_vip_del/enable
	on_exit "echo 0 > $T/events/kubelb/kubelb_vip_del/enable"
	traced=1
fi

start=$(now)
ns_del "$DOOMED"
if wait_for 60 link_gone "$SURV" vs; then
	pass "namespace with $N VIPs dismantled in $(elapsed "$start") s"
else
	fail "namespace with $N VIPs not dismantled after 60 s"
fi
if [ $traced = 1 ]; then
	wait_for 10 grep -q '2001:db8:77::1' $T/trace
	check_match "the namespace's VIPs were deleted (traced)" 'kubelb_vip_del: .*2001:db8:77::1' \
		"$(grep kubelb_vip_del $T/trace | tail -n 3)"
	echo 0 >$T/events/kubelb/kubelb_vip_del/enable
fi

check_eq "VIPs of other namespaces untouched" "10.64.0.0/32 dev kube-lb0 mode virtual
2001:db8:77::1/128 dev kube-lb0 mode virtual" "$(klb "$KEEP" vip show 2>&1)"

# Recreate a namespace and reuse the same addresses: the per-namespace
# state of the dead namespace must be gone.
ns_create AGAIN
ns_add_kubelb "$AGAIN" kube-lb0
check "same VIPs in a new namespace" klb "$AGAIN" vip add 10.64.0.1
check_eq "a new namespace starts empty" "10.64.0.1/32 dev kube-lb0 mode virtual" "$(klb "$AGAIN" vip show 2>&1)"

# Many namespaces with a few VIPs each, deleted together
for i in 1 2 3 4 5 6 7 8; do
	ns_create "M$i"
	eval "m=\$M$i"
	ns_add_kubelb "$m" kube-lb0
	printf 'vip add 10.0.0.%d\nvip add 2001:db8::%d\n' 1 1 2 2 3 3 | klb "$m" -b - || fail "batch in $m"
done
start=$(now)
for i in 1 2 3 4 5 6 7 8; do
	eval "ns_del \$M$i"
done
log "8 namespaces deleted in $(elapsed "$start") s"
check "kubelb still works after the namespace deletions" klb "$AGAIN" vip add 10.64.0.2

exit_test
