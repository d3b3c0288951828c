#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tracepoints of trace system "kubelb": the events exist in tracefs, fire on
# add / change / del with the address, and `trace-cmd record -e kubelb`
# captures them.

source "$(dirname "$0")/lib.sh"
require_base

T=/sys/kernel/tracing
if [ ! -d $T/events ]; then
	mount -t tracefs nodev $T 2>/dev/null
	[ -d $T/events ] || skip "tracefs not available"
fi

for e in kubelb_vip_add kubelb_vip_del kubelb_vip_change; do
	if [ -d "$T/events/kubelb/$e" ]; then
		pass "$T/events/kubelb/$e exists"
	else
		fail "$T/events/kubelb/$e missing"
	fi
done
[ -d $T/events/kubelb ] || exit_test
log "format of kubelb_vip_add:"
sed -n 's/^print fmt: //p' $T/events/kubelb/kubelb_vip_add/format | log_file

ns_create NS
ns_add_kubelb "$NS" kube-lb0

# --- tracefs directly ------------------------------------------------------------
on_exit "echo 0 > $T/events/kubelb/enable; echo > $T/trace"
echo 0 >$T/tracing_on
echo >$T/trace
echo 1 >$T/events/kubelb/enable
echo 1 >$T/tracing_on
klb "$NS" vip add 10.20.30.40/24 service ns/traced
klb "$NS" vip add 2001:db8:aa::1
klb "$NS" vip replace 10.20.30.40/16
klb "$NS" vip del 10.20.30.40
klb "$NS" vip del 2001:db8:aa::1
echo 0 >$T/tracing_on
trace=$(grep kubelb_ $T/trace)
log "trace:"
echo "$trace" | log_file
check_match "add event with the IPv4 address" 'kubelb_vip_add: .*10\.20\.30\.40' "$trace"
check_match "add event with the IPv6 address (compressed)" 'kubelb_vip_add: .*2001:db8:aa::1([^0-9a-f:]|$)' "$trace"
check_match "add event names the service" 'kubelb_vip_add: .*ns/traced' "$trace"
check_match "change event on replace" 'kubelb_vip_change: .*10\.20\.30\.40' "$trace"
check_match "del event IPv4" 'kubelb_vip_del: .*10\.20\.30\.40' "$trace"
check_match "del event IPv6" 'kubelb_vip_del: .*2001:db8:aa::1([^0-9a-f:]|$)' "$trace"
IDX=$(ifindex "$NS" kube-lb0)
check_match "events name the device (name or ifindex)" "kubelb_vip_add: .*(kube-lb0|ifindex=$IDX)" "$trace"
check_eq "exactly 5 events" "5" "$(echo "$trace" | grep -c 'kubelb_vip_')"
echo 0 >$T/events/kubelb/enable

# the device deletion path also traces the VIPs it deletes
echo >$T/trace
echo 1 >$T/events/kubelb/kubelb_vip_del/enable
echo 1 >$T/tracing_on
klb "$NS" vip add 10.20.30.41
ip -n "$NS" link del kube-lb0
echo 0 >$T/tracing_on
check_match "deleting the device deletes (and traces) its VIPs" 'kubelb_vip_del: .*10\.20\.30\.41' \
	"$(grep kubelb_ $T/trace)"
echo 0 >$T/events/kubelb/kubelb_vip_del/enable
echo 1 >$T/tracing_on

# --- trace-cmd ---------------------------------------------------------------------
if ! command -v trace-cmd >/dev/null; then
	fail "trace-cmd not installed (make deps installs it)"
	exit_test
fi
ns_add_kubelb "$NS" kube-lb0
cd "$TMPD" || exit_test
trace-cmd record -q -e kubelb -o "$TMPD/trace.dat" \
	"${_KLB_NSENTER[@]}" --net="/run/netns/$NS" "$KUBELBCTL" -b - >"$TMPD/tc.out" 2>&1 <<'EOF'
vip add 192.0.2.77/24
vip replace 192.0.2.77/28
vip del 192.0.2.77
EOF
report=$(trace-cmd report -i "$TMPD/trace.dat" 2>&1 | grep kubelb_)
log "trace-cmd report:"
echo "$report" | log_file
[ -z "$report" ] && { log "trace-cmd record said:"; log_file "$TMPD/tc.out"; }
check_match "trace-cmd captured add" 'kubelb_vip_add: .*192\.0\.2\.77' "$report"
check_match "trace-cmd captured change" 'kubelb_vip_change: .*192\.0\.2\.77' "$report"
check_match "trace-cmd captured del" 'kubelb_vip_del: .*192\.0\.2\.77' "$report"
# trace-cmd decodes __print_symbolic() only if the enum values are exported
# with TRACE_DEFINE_ENUM(); otherwise it prints mode=0x0
check_match "trace-cmd report shows the mode by name" 'kubelb_vip_add: .*192\.0\.2\.77.*mode=virtual' "$report"

exit_test
